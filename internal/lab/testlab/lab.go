// Package testlab builds throwaway IPv6 links between network namespaces for
// protocol and acceptance tests: a server namespace and a client namespace
// joined by a veth pair. Everything a Lab creates is removed in t.Cleanup,
// by name, even when the test fails.
package testlab

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Lab is one IPv6-only link. The server side has ServerAddr/64 configured;
// the client side has only its link-local address and accepts RAs.
type Lab struct {
	ID         string
	ServerNS   string
	ClientNS   string
	ServerIf   string
	ClientIf   string
	Prefix     string // e.g. "2001:db8:1::/64"
	ServerAddr string // e.g. "2001:db8:1::1"
	// Servers are the namespaces AddServer added, beside ServerNS.
	Servers []Server

	taps map[string]int // bridge → taps attachTap has put on it
}

// StrictEnv set to "1" (as .ci/run does) turns every "this machine lacks
// what the test needs" skip into a failure, so CI cannot pass by skipping
// the protocol tests.
const StrictEnv = "NETBOOT_LAB_STRICT"

// Unavailable skips the test because the machine lacks something it needs,
// or fails it when StrictEnv is set.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv(StrictEnv) == "1" {
		t.Fatalf(format+" ("+StrictEnv+"=1: not skipping)", args...)
	}
	t.Skipf(format, args...)
}

// KernelLacks skips the test because the running kernel lacks a feature
// (a module, a file system) that installing packages cannot add; format
// names it. It stays a skip under StrictEnv, saying so: CI runs on
// whatever kernel its host has.
func KernelLacks(t testing.TB, format string, args ...any) {
	t.Helper()
	t.Skipf("the running kernel lacks "+format+" (a skip even with "+StrictEnv+"=1)", args...)
}

// UnitOnlyEnv set to "1" (as `make unit` does) skips every test that
// needs root, even when run as root: the quick tier.
const UnitOnlyEnv = "NETBOOT_UNIT_ONLY"

// RequireRoot skips the test unless it runs as root with the named tools.
func RequireRoot(t testing.TB, tools ...string) {
	t.Helper()
	if os.Getenv(UnitOnlyEnv) == "1" {
		t.Skip("needs root and network namespaces: " + UnitOnlyEnv + "=1 (make unit) runs only the tests that need neither")
	}
	if os.Geteuid() != 0 {
		Unavailable(t, "needs root to create network namespaces (run as root, e.g. in .ci/run)")
	}
	for _, tool := range append([]string{"ip"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			Unavailable(t, "needs %s on PATH (.ci/run installs it with apt-get)", tool)
		}
	}
}

// New creates the two namespaces and the veth pair between them. In a test
// that RunIn started again inside a namespace it returns the parent's Lab.
func New(t testing.TB) *Lab {
	t.Helper()
	RequireRoot(t)
	if l := childLab(t); l != nil {
		return l
	}
	id := randomID()
	l := &Lab{
		ID:         id,
		ServerNS:   "nbt-" + id + "-srv",
		ClientNS:   "nbt-" + id + "-cli",
		ServerIf:   "nb" + id + "s",
		ClientIf:   "nb" + id + "c",
		Prefix:     "2001:db8:1::/64",
		ServerAddr: "2001:db8:1::1",
	}
	t.Cleanup(l.destroy)
	for _, ns := range []string{l.ServerNS, l.ClientNS} {
		l.addNamespace(t, ns)
	}
	mustRun(t, "ip", "link", "add", l.ServerIf, "netns", l.ServerNS, "type", "veth", "peer", "name", l.ClientIf, "netns", l.ClientNS)
	l.MustExec(t, l.ClientNS, "sysctl", "-qw", "net.ipv6.conf.all.accept_ra=2", "net.ipv6.conf.default.accept_ra=2", "net.ipv6.conf."+l.ClientIf+".accept_ra=2")
	l.MustExec(t, l.ServerNS, "ip", "link", "set", l.ServerIf, "up")
	l.MustExec(t, l.ClientNS, "ip", "link", "set", l.ClientIf, "up")
	l.MustExec(t, l.ServerNS, "ip", "-6", "addr", "add", l.ServerAddr+"/64", "dev", l.ServerIf, "nodad")
	l.waitNotTentative(t)
	return l
}

// addNamespace creates network namespace ns with lo up and no duplicate
// address detection; the caller removes it.
func (l *Lab) addNamespace(t testing.TB, ns string) {
	t.Helper()
	mustRun(t, "ip", "netns", "add", ns)
	// `ip netns exec` bind-mounts /etc/netns/NS/* over /etc, so a client's
	// resolv.conf writes stay inside the namespace.
	dir := filepath.Join("/etc/netns", ns)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "resolv.conf"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	l.MustExec(t, ns, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0")
	l.MustExec(t, ns, "ip", "link", "set", "lo", "up")
}

// waitNotTentative waits until both ends have usable link-local addresses:
// a server cannot bind port 547 to a tentative address.
func (l *Lab) waitNotTentative(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		s := l.MustExec(t, l.ServerNS, "ip", "-6", "addr", "show", "dev", l.ServerIf)
		c := l.MustExec(t, l.ClientNS, "ip", "-6", "addr", "show", "dev", l.ClientIf)
		if strings.Contains(s, "fe80") && strings.Contains(c, "fe80") && !strings.Contains(s+c, "tentative") {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("link-local addresses on %s/%s still tentative after 10 s", l.ServerIf, l.ClientIf)
}

// Exec runs a command inside namespace ns and returns its combined output.
func (l *Lab) Exec(ctx context.Context, ns string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("%s in %s: %w\n%s", strings.Join(args, " "), ns, err, out.String())
	}
	return out.String(), nil
}

// MustExec is Exec with a 60 s limit that fails the test on error.
func (l *Lab) MustExec(t testing.TB, ns string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := l.Exec(ctx, ns, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Command prepares a long-running command in namespace ns; Start it and the
// Lab kills it (by PID) at cleanup.
func (l *Lab) Command(t testing.TB, ns string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...)
	t.Cleanup(func() {
		if cmd.Process != nil && cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd
}

func (l *Lab) destroy() {
	namespaces := []string{l.ClientNS, l.ServerNS}
	for _, s := range l.Servers {
		namespaces = append(namespaces, s.NS)
	}
	destroyNamespaces(namespaces...)
}

// destroyNamespaces kills what runs in the namespaces and deletes them.
func destroyNamespaces(names ...string) {
	for _, ns := range names {
		// Processes left in our namespaces are ours: a test started them.
		if out, err := exec.Command("ip", "netns", "pids", ns).Output(); err == nil {
			for _, pid := range strings.Fields(string(out)) {
				_ = exec.Command("kill", "-9", pid).Run()
			}
		}
		// A thread of the test process that a server moved into the
		// namespace may still be exiting: retry for a moment.
		for try := 0; try < 20; try++ {
			if exec.Command("ip", "netns", "del", ns).Run() == nil {
				break
			}
			if _, err := os.Stat(filepath.Join("/run/netns", ns)); os.IsNotExist(err) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		_ = os.RemoveAll(filepath.Join("/etc/netns", ns))
	}
}

func mustRun(t testing.TB, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func randomID() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// SyncBuffer is a log destination a test reads while a server writes to it.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
