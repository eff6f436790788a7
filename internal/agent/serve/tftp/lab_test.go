package tftp

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/link"
	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
)

// TestLabRealClients serves a directory inside the lab's server namespace
// and fetches from the client namespace with tftp-hpa and curl.
func TestLabRealClients(t *testing.T) {
	testlab.RequireRoot(t, "tftp", "curl")
	lab := testlab.New(t)
	// The server opens its sockets where its process runs, as the agent
	// does: the rest of this test runs again in the server namespace.
	if !lab.RunIn(t, lab.ServerNS) {
		return
	}

	dir := t.TempDir()
	small := []byte("#!ipxe\nchain http://[2001:db8:1::1]/boot.ipxe\n")
	writeFile(t, filepath.Join(dir, "undionly.kpxe"), small)
	writeFile(t, filepath.Join(dir, "boot", "big.bin"), randomBytes(t, 50<<20))
	writeFile(t, filepath.Join(dir, "..", "outside"), []byte("must not be served"))

	// The lab leaves addressing the client to an RA server; give it one.
	lab.MustExec(t, lab.ClientNS, "ip", "-6", "addr", "add", "2001:db8:1::2/64", "dev", lab.ClientIf, "nodad")

	var logs testlab.SyncBuffer
	ifi, err := link.Resolve(lab.ServerIf)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Start(context.Background(), Config{Addresses: link.Link{Interface: &ifi}.ServeAddresses(), MTU: ifi.MTU,
		Port: DefaultPort, Files: os.DirFS(dir)},
		slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	t.Logf("serving on %v", s.Addrs())
	out := t.TempDir()

	t.Run("tftp-hpa", func(t *testing.T) {
		dest := filepath.Join(out, "undionly.kpxe")
		lab.MustExec(t, lab.ClientNS, "tftp", "-6", "-v", lab.ServerAddr, "-m", "binary", "-c", "get", "/undionly.kpxe", dest)
		assertSameFile(t, filepath.Join(dir, "undionly.kpxe"), dest)
	})

	t.Run("curl 50 MiB with blksize 1428", func(t *testing.T) {
		dest := filepath.Join(out, "big.bin")
		got := lab.MustExec(t, lab.ClientNS, "curl", "-sS", "-v", "-g", "-6", "--tftp-blksize", "1428",
			"-o", dest, "tftp://["+lab.ServerAddr+"]/boot/big.bin")
		assertSameFile(t, filepath.Join(dir, "boot", "big.bin"), dest)
		if !regexp.MustCompile(`blksize parsed from OACK \(1428\)`).MatchString(got) {
			t.Errorf("curl did not report blksize 1428 from the OACK:\n%s", tail(got))
		}
		if !strings.Contains(got, "tsize parsed from OACK (52428800)") {
			t.Errorf("curl did not report tsize from the OACK:\n%s", tail(got))
		}
	})

	t.Run("tftp-hpa 50 MiB in 512-byte blocks, past block 65535", func(t *testing.T) {
		dest := filepath.Join(out, "big-512.bin")
		lab.MustExec(t, lab.ClientNS, "tftp", "-6", lab.ServerAddr, "-m", "binary", "-c", "get", "boot/big.bin", dest)
		assertSameFile(t, filepath.Join(dir, "boot", "big.bin"), dest)
	})

	t.Run("traversal refused", func(t *testing.T) {
		for _, name := range []string{"../outside", "../../etc/passwd", "/../../../../etc/passwd", `..\outside`} {
			dest := filepath.Join(out, "stolen")
			got, _ := lab.Exec(context.Background(), lab.ClientNS, "tftp", "-6", "-v", lab.ServerAddr, "-m", "binary", "-c", "get", name, dest)
			if !strings.Contains(got, "invalid file name") {
				t.Errorf("get %q: tftp said %q, want the server's refusal", name, got)
			}
			if b, err := os.ReadFile(dest); err == nil && len(b) > 0 {
				t.Errorf("get %q wrote %d bytes", name, len(b))
			}
		}
	})

	waitFor(t, func() bool { return s.Stats().TransfersOK == 3 })
	if st := s.Stats(); st.RefusedBadPath != 4 || st.TransfersFailed != 0 {
		t.Errorf("stats = %+v", st)
	}
	if !strings.Contains(logs.String(), fmt.Sprintf("file=/undionly.kpxe bytes=%d", len(small))) {
		t.Errorf("no transfer log line for undionly.kpxe:\n%s", logs.String())
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func assertSameFile(t *testing.T, want, got string) {
	t.Helper()
	hash := func(p string) [32]byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return sha256.Sum256(b)
	}
	if hash(want) != hash(got) {
		t.Errorf("%s differs from %s (sha256)", got, want)
	}
}

func tail(s string) string {
	if len(s) > 2000 {
		return s[len(s)-2000:]
	}
	return s
}
