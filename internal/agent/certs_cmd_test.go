package agent

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A certificate valid for less than a day (or already expired) is refused
// by every certs subcommand, and nothing is written.
func TestCertsRefuseDaysBelowOne(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if code := certsMain([]string{"init", "--dir", dir}, &out, &out); code != 0 {
		t.Fatalf("certs init: exit %d: %s", code, out.String())
	}
	for _, cmd := range [][]string{
		{"init", "--dir", t.TempDir()},
		{"server", "--dir", dir, "--name", "agent", "--host", "::1"},
		{"client", "--dir", dir, "--name", "admin"},
	} {
		for _, days := range []string{"0", "-1"} {
			out.Reset()
			args := append(append([]string{}, cmd...), "--days", days)
			if code := certsMain(args, &out, &out); code != 2 || !strings.Contains(out.String(), "--days "+days+": a certificate must be valid for at least 1 day") {
				t.Errorf("certs %s: exit %d, %q; want 2 and the reason", strings.Join(args, " "), code, out.String())
			}
		}
	}
	for _, f := range []string{"agent.pem", "admin.pem"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("%s was written", f)
		}
	}
}
