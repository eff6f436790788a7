package agentcli

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
		{"boot-server", "--dir", dir, "--name", "boot", "--host", "::1"},
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
	for _, f := range []string{"agent.pem", "admin.pem", "boot.pem"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("%s was written", f)
		}
	}
}

// Each certs command takes only its own flags, says what it wrote, and a
// server certificate needs the names and addresses clients dial.
func TestCertsCommandsSayWhatTheyWrote(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"init", "--dir", dir}, 0, "ca-key.pem private"},
		{[]string{"server", "--dir", dir, "--name", "agent", "--host", "2001:db8::2"}, 0, "--tls-cert " + filepath.Join(dir, "agent.pem")},
		{[]string{"server", "--dir", dir, "--name", "nohost"}, 2, "--host is required"},
		{[]string{"boot-server", "--dir", dir, "--name", "lab-https", "--host", "2001:db8:1::1,boot.example"}, 0,
			"boot.https.certificate_pem = file(\"" + filepath.Join(dir, "lab-https.pem") + "\")"},
		{[]string{"boot-server", "--dir", dir, "--name", "nohost"}, 2, "certs boot-server: --host is required"},
		{[]string{"boot-server", "--dir", dir, "--name", "byname", "--host", "boot.example"}, 2, "names no IP address"},
		{[]string{"boot-server", "--dir", dir, "--name", "x", "--read-only"}, 2, "flag provided but not defined: -read-only"},
		{[]string{"client", "--dir", dir, "--name", "viewer", "--read-only"}, 0, "(read-only)"},
		{[]string{"init", "--dir", dir, "--name", "x"}, 2, "flag provided but not defined: -name"},
		{[]string{"client", "--dir", dir, "--name", "x", "--host", "h"}, 2, "flag provided but not defined: -host"},
	} {
		var out bytes.Buffer
		if code := certsMain(tc.args, &out, &out); code != tc.code || !strings.Contains(out.String(), tc.want) {
			t.Errorf("certs %s: exit %d, %q; want %d and %q", strings.Join(tc.args, " "), code, out.String(), tc.code, tc.want)
		}
	}
}
