package agentcli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
)

// TestLineBatcherOnFullFilesystem writes the agent log to a tmpfs of 64 KiB
// that a filler file has filled: the log lines wait, and once the filler is
// gone they reach the file whole, followed by nothing torn, and the
// failure (ENOSPC) is reported.
func TestLineBatcherOnFullFilesystem(t *testing.T) {
	dir := testlab.Tmpfs(t, "64k")
	logFile, err := os.Create(filepath.Join(dir, "agent.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	// Fill the filesystem, leaving part of a page that the first line
	// half fills.
	filler := testlab.FillFS(t, dir, 1<<20)

	var rep reports
	b := newLineBatcher(logFile, rep.add)
	b.retry = 20 * time.Millisecond
	var want strings.Builder
	for i := range 200 {
		line := fmt.Sprintf("level=ERROR msg=\"storing leases\" error=\"no space left on device\" n=%d\n", i)
		want.WriteString(line)
		b.Write([]byte(line))
		time.Sleep(100 * time.Microsecond)
	}
	time.Sleep(100 * time.Millisecond)
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(rep.all()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(logFile.Name())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, []byte(want.String())) {
		t.Errorf("agent.log holds %d bytes, want the %d of every line whole and in order:\n%.300s", len(got), want.Len(), got)
	}
	if r := rep.all(); len(r) != 1 || !errors.Is(r[0].err, syscall.ENOSPC) {
		t.Errorf("reports %+v; want the ENOSPC", r)
	}
}
