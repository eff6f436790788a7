package testlab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// StartRadvd runs radvd in the foreground in namespace ns with the
// configuration conf, its files in dir; the Lab kills it at cleanup and, if
// the test failed, logs what it wrote.
func (l *Lab) StartRadvd(t testing.TB, ns, conf, dir string) {
	t.Helper()
	RequireRoot(t, "radvd")
	path := filepath.Join(dir, "radvd.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	l.startPeer(t, ns, dir, "radvd", nil, "radvd", "-n", "-C", path, "-p", filepath.Join(dir, "radvd.pid"),
		"-m", "logfile", "-l", filepath.Join(dir, "radvd.log"))
}

// StartKea6 runs kea-dhcp6 in namespace ns with the JSON configuration conf,
// its PID and lock files in dir, and waits until it listens on port 547.
func (l *Lab) StartKea6(t testing.TB, ns, conf, dir string) {
	t.Helper()
	RequireRoot(t, "kea-dhcp6", "ss")
	path := filepath.Join(dir, "kea6.json")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	l.startPeer(t, ns, dir, "kea6", []string{"KEA_PIDFILE_DIR=" + dir, "KEA_LOCKFILE_DIR=" + dir}, "kea-dhcp6", "-c", path)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		out, err := l.Exec(context.Background(), ns, "ss", "-Hlun", "sport = :547")
		if err == nil && strings.TrimSpace(out) != "" {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("kea-dhcp6 does not listen on UDP port 547 in %s after 15 s", ns)
}

// startPeer starts a third-party daemon, its output in dir/name.out.
func (l *Lab) startPeer(t testing.TB, ns, dir, name string, env []string, args ...string) {
	t.Helper()
	out, err := os.Create(filepath.Join(dir, name+".out"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { out.Close() })
	cmd := l.Command(t, ns, args...)
	cmd.Stdout, cmd.Stderr = out, out
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", args[0], err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		files, _ := filepath.Glob(filepath.Join(dir, name+"*"))
		for _, f := range files {
			if strings.HasSuffix(f, ".out") || strings.HasSuffix(f, ".log") {
				b, _ := os.ReadFile(f)
				t.Logf("%s:\n%s", f, b)
			}
		}
	})
	fmt.Fprintf(out, "%s\n", strings.Join(args, " "))
}
