package dhcp6

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/link"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
)

// startIn starts a server inside the lab's server namespace; it stops at
// cleanup.
func startIn(t *testing.T, ns string, cfg Config, store LeaseStore) *Server {
	t.Helper()
	var (
		srv *Server
		err error
	)
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	testlab.InNetns(t, ns, func() { srv, err = Start(context.Background(), cfg, store, logger) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return srv
}

// testWriter sends server logs to the test log, shown with -v or on failure.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func labConfig(t testing.TB, lab *testlab.Lab, mode config.DHCPv6Mode) Config {
	cfg := Config{
		Interface: testlab.Interface(t, lab.ServerNS, lab.ServerIf),
		Prefix:    netip.MustParsePrefix(lab.Prefix),
		DHCPv6: config.DHCPv6{
			Mode:              mode,
			DNSServers:        []netip.Addr{netip.MustParseAddr("2001:db8:1::53")},
			DomainSearch:      []string{"boot.example"},
			RenewTime:         2 * time.Second,
			RebindTime:        3 * time.Second,
			PreferredLifetime: 5 * time.Minute,
			ValidLifetime:     10 * time.Minute,
			InfoRefreshTime:   600 * time.Second,
			RateLimit:         config.Defaults.RateLimit,
		},
	}
	if mode == config.DHCPv6Stateful {
		cfg.DHCPv6.Ranges = []config.AddressRange{{
			Start: netip.MustParseAddr("2001:db8:1::1000"),
			End:   netip.MustParseAddr("2001:db8:1::1fff"),
		}}
	}
	return cfg
}

// dhclient is one ISC dhclient run in the client namespace. Its script
// only writes the environment of each event into dir, so it can never
// touch the host's resolv.conf.
type dhclient struct {
	dir       string
	leaseFile string
	out       *bytes.Buffer
}

func newDhclient(t *testing.T) *dhclient {
	dir := t.TempDir()
	d := &dhclient{dir: dir, leaseFile: filepath.Join(dir, "dhclient6.leases")}
	conf := "also request dhcp6.name-servers;\nalso request dhcp6.domain-search;\n"
	if err := os.WriteFile(filepath.Join(dir, "dhclient.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\nenv > \"" + dir + "/env.$reason\"\n"
	if err := os.WriteFile(filepath.Join(dir, "script.sh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

// run starts dhclient in the foreground on the lab's client interface; it
// is killed at cleanup or by stop.
func (d *dhclient) run(t *testing.T, lab *testlab.Lab, extra ...string) func() {
	t.Helper()
	return d.runOn(t, lab, lab.ClientNS, lab.ClientIf, extra...)
}

// runOn is run on interface ifname of namespace ns.
func (d *dhclient) runOn(t *testing.T, lab *testlab.Lab, ns, ifname string, extra ...string) func() {
	t.Helper()
	pidFile := filepath.Join(d.dir, "dhclient6.pid")
	args := append([]string{"dhclient", "-6", "-d", "-1", "-v"}, extra...)
	args = append(args, "-cf", filepath.Join(d.dir, "dhclient.conf"), "-lf", d.leaseFile, "-pf", pidFile,
		"-sf", filepath.Join(d.dir, "script.sh"), ifname)
	cmd := lab.Command(t, ns, args...)
	d.out = &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = d.out, d.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	stop := func() {
		// `ip netns exec` execs dhclient, so this PID is dhclient's; the
		// pidfile names the same process.
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
	}
	t.Cleanup(func() {
		stop()
		if b, err := os.ReadFile(pidFile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid != cmd.Process.Pid {
				if comm, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm"); strings.TrimSpace(string(comm)) == "dhclient" {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
		if t.Failed() {
			t.Logf("dhclient output:\n%s", d.out)
		}
	})
	return stop
}

// waitEvent waits until the script ran for one of reasons and returns the
// environment it got.
func (d *dhclient) waitEvent(t *testing.T, timeout time.Duration, reasons ...string) map[string]string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, r := range reasons {
			b, err := os.ReadFile(filepath.Join(d.dir, "env."+r))
			if err != nil || !bytes.HasSuffix(b, []byte("\n")) {
				continue
			}
			env := map[string]string{}
			for _, line := range strings.Split(string(b), "\n") {
				if k, v, ok := strings.Cut(line, "="); ok {
					env[k] = strings.Trim(v, "'")
				}
			}
			return env
		}
		time.Sleep(100 * time.Millisecond)
	}
	entries, _ := os.ReadDir(d.dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	t.Fatalf("dhclient reported none of %v within %s (files: %v); output:\n%s", reasons, timeout, names, d.out)
	return nil
}

var iaaddrPattern = regexp.MustCompile(`iaaddr ([0-9a-f:]+) \{`)

func (d *dhclient) leasedAddr(t *testing.T) netip.Addr {
	t.Helper()
	b, err := os.ReadFile(d.leaseFile)
	if err != nil {
		t.Fatal(err)
	}
	m := iaaddrPattern.FindSubmatch(b)
	if m == nil {
		t.Fatalf("no iaaddr in lease file:\n%s", b)
	}
	return netip.MustParseAddr(string(m[1]))
}

func findLease(leases []lease.Lease, a netip.Addr) (lease.Lease, bool) {
	for _, l := range leases {
		if l.Address == a {
			return l, true
		}
	}
	return lease.Lease{}, false
}

func newLab(t *testing.T) *testlab.Lab {
	testlab.RequireRoot(t, "dhclient")
	return testlab.New(t)
}

func TestDhclientStateful(t *testing.T) {
	lab := newLab(t)
	cfg := labConfig(t, lab, config.DHCPv6Stateful)
	store := newMemStore()
	srv := startIn(t, lab.ServerNS, cfg, store)

	d := newDhclient(t)
	d.run(t, lab)
	env := d.waitEvent(t, 30*time.Second, "BOUND6")
	addr := d.leasedAddr(t)
	if !cfg.DHCPv6.Ranges[0].Contains(addr) {
		t.Fatalf("dhclient leased %s, outside %v", addr, cfg.DHCPv6.Ranges[0])
	}
	if env["new_ip6_address"] != addr.String() {
		t.Errorf("script got new_ip6_address=%q, lease file says %s", env["new_ip6_address"], addr)
	}
	if !strings.Contains(env["new_dhcp6_name_servers"], "2001:db8:1::53") || !strings.Contains(env["new_dhcp6_domain_search"], "boot.example") {
		t.Errorf("DNS options not received: name servers %q, search %q", env["new_dhcp6_name_servers"], env["new_dhcp6_domain_search"])
	}
	l, ok := findLease(srv.Leases(), addr)
	if !ok {
		t.Fatalf("server leases %v do not include %s", srv.Leases(), addr)
	}
	if _, ok := store.get(addr); !ok {
		t.Error("lease not in the store")
	}
	mac := strings.TrimSpace(lab.MustExec(t, lab.ClientNS, "cat", "/sys/class/net/"+lab.ClientIf+"/address"))
	if l.HardwareAddr != mac {
		t.Errorf("lease hardware address %q (from %s), want the client's %s", l.HardwareAddr, l.HardwareAddrSource, mac)
	}
	stats := srv.Stats()
	for _, typ := range []string{"SOLICIT", "REQUEST"} {
		if s := stats.ByType[typ]; s.Received == 0 || s.Replied == 0 {
			t.Errorf("stats for %s: %+v", typ, s)
		}
	}
	if !bytes.Contains(mustRead(t, d.leaseFile), []byte(colonHex(srv.ServerDUID()))) {
		t.Errorf("lease file does not name server DUID %s", colonHex(srv.ServerDUID()))
	}
}

func TestDhclientStateless(t *testing.T) {
	lab := newLab(t)
	srv := startIn(t, lab.ServerNS, labConfig(t, lab, config.DHCPv6Stateless), newMemStore())

	d := newDhclient(t)
	d.run(t, lab, "-S")
	// dhclient 4.4 reports a stateless reply as RENEW6.
	env := d.waitEvent(t, 30*time.Second, "INFORM6", "RENEW6")
	if got := env["new_dhcp6_name_servers"]; got != "2001:db8:1::53" {
		t.Errorf("name servers %q, want 2001:db8:1::53", got)
	}
	if got := env["new_dhcp6_domain_search"]; !strings.Contains(got, "boot.example") {
		t.Errorf("domain search %q, want boot.example", got)
	}
	if s := srv.Stats().ByType["INFORMATION-REQUEST"]; s.Replied == 0 {
		t.Errorf("Information-request stats %+v", s)
	}
	if len(srv.Leases()) != 0 {
		t.Errorf("stateless server holds leases: %v", srv.Leases())
	}
}

// TestDhclientLeaseSurvivesRestart checks that a lease stored before Stop is
// loaded by the next Start and that the same client then renews the same
// address (T1 is 2 s, so the restarted dhclient renews at once).
func TestDhclientLeaseSurvivesRestart(t *testing.T) {
	lab := newLab(t)
	cfg := labConfig(t, lab, config.DHCPv6Stateful)
	store := newMemStore()
	first := startIn(t, lab.ServerNS, cfg, store)
	duid := first.ServerDUID()

	d := newDhclient(t)
	stop := d.run(t, lab)
	d.waitEvent(t, 30*time.Second, "BOUND6")
	addr := d.leasedAddr(t)
	stop()
	first.Stop()
	before, ok := store.get(addr)
	if !ok {
		t.Fatalf("lease of %s not in the store after Stop", addr)
	}

	second := startIn(t, lab.ServerNS, cfg, store)
	if !bytes.Equal(second.ServerDUID(), duid) {
		t.Errorf("server DUID changed across restart: %x then %x", duid, second.ServerDUID())
	}
	if _, ok := findLease(second.Leases(), addr); !ok {
		t.Fatalf("restarted server leases %v do not include %s", second.Leases(), addr)
	}
	for _, f := range []string{"env.BOUND6", "env.RENEW6"} {
		_ = os.Remove(filepath.Join(d.dir, f))
	}
	d.run(t, lab)
	env := d.waitEvent(t, 30*time.Second, "RENEW6")
	if env["new_ip6_address"] != addr.String() {
		t.Errorf("renewed %q, want %s", env["new_ip6_address"], addr)
	}
	if s := second.Stats().ByType["RENEW"]; s.Replied == 0 {
		t.Errorf("restarted server replied to no Renew: %+v", second.Stats())
	}
	after, ok := store.get(addr)
	if !ok || !after.ValidUntil.After(before.ValidUntil) {
		t.Errorf("stored lease %+v not extended beyond %s", after, before.ValidUntil)
	}
}

func TestStartErrors(t *testing.T) {
	_, err := Start(context.Background(), Config{Interface: link.Interface{Name: "nb-missing0"}, DHCPv6: config.DHCPv6{Mode: config.DHCPv6Stateless}}, newMemStore(), nil)
	if err == nil || !strings.Contains(err.Error(), "nb-missing0") {
		t.Errorf("Start on an interface without a hardware address: %v, want an error naming it", err)
	}
	t.Log(err)

	lab := newLab(t)
	addLink(t, lab, "nbnoll0", "nbnoll1")
	lab.MustExec(t, lab.ServerNS, "ip", "link", "set", "nbnoll0", "addrgenmode", "none")
	lab.MustExec(t, lab.ServerNS, "ip", "link", "set", "nbnoll0", "up")
	noLL := labConfig(t, lab, config.DHCPv6Stateless)
	noLL.Interface = testlab.Interface(t, lab.ServerNS, "nbnoll0")
	testlab.InNetns(t, lab.ServerNS, func() { _, err = Start(context.Background(), noLL, newMemStore(), nil) })
	if err == nil || !strings.Contains(err.Error(), "nbnoll0") || !strings.Contains(err.Error(), "link-local") {
		t.Errorf("Start without a link-local address: %v", err)
	}
	t.Log(err)

	// Another program holding port 547 without SO_REUSEADDR.
	var fd int
	testlab.InNetns(t, lab.ServerNS, func() {
		fd, err = unix.Socket(unix.AF_INET6, unix.SOCK_DGRAM, 0)
		if err == nil {
			err = unix.Bind(fd, &unix.SockaddrInet6{Port: 547})
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	testlab.InNetns(t, lab.ServerNS, func() {
		_, err = Start(context.Background(), labConfig(t, lab, config.DHCPv6Stateless), newMemStore(), nil)
	})
	if err == nil || !strings.Contains(err.Error(), lab.ServerIf) || !strings.Contains(err.Error(), "547") {
		t.Errorf("Start with port 547 taken: %v", err)
	}
	t.Log(err)
}

// TestServersOnTwoInterfaces checks that SO_BINDTODEVICE lets boot servers
// on different links share port 547 in one process, and that Stop is
// idempotent.
func TestServersOnTwoInterfaces(t *testing.T) {
	lab := newLab(t)
	addLink(t, lab, "nbsecond0", "nbsecond1")
	lab.MustExec(t, lab.ServerNS, "ip", "link", "set", "nbsecond0", "up")
	waitLinkLocal(t, lab, "nbsecond0")
	second := labConfig(t, lab, config.DHCPv6Stateless)
	second.Interface = testlab.Interface(t, lab.ServerNS, "nbsecond0")
	a := startIn(t, lab.ServerNS, labConfig(t, lab, config.DHCPv6Stateless), newMemStore())
	b := startIn(t, lab.ServerNS, second, newMemStore())
	if bytes.Equal(a.ServerDUID(), b.ServerDUID()) {
		t.Error("servers on two interfaces share a DUID")
	}
	d := newDhclient(t)
	d.run(t, lab, "-S")
	d.waitEvent(t, 30*time.Second, "INFORM6", "RENEW6")
	if a.Stats().ByType["INFORMATION-REQUEST"].Replied == 0 || b.Stats().ByType["INFORMATION-REQUEST"].Received != 0 {
		t.Errorf("stats: link server %+v, other server %+v; want only the link's server to see the client", a.Stats(), b.Stats())
	}
	b.Stop()
	b.Stop()
}

// addLink adds a second link inside the server namespace (a veth pair with
// both ends there: the kernel may lack the dummy module); the lab removes
// it with the namespace.
func addLink(t *testing.T, lab *testlab.Lab, name, peer string) {
	t.Helper()
	lab.MustExec(t, lab.ServerNS, "ip", "link", "add", name, "type", "veth", "peer", "name", peer)
	lab.MustExec(t, lab.ServerNS, "ip", "link", "set", peer, "up")
}

func waitLinkLocal(t *testing.T, lab *testlab.Lab, ifname string) {
	t.Helper()
	for range 100 {
		out := lab.MustExec(t, lab.ServerNS, "ip", "-6", "addr", "show", "dev", ifname)
		if strings.Contains(out, "fe80") && !strings.Contains(out, "tentative") {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s has no usable link-local address", ifname)
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// colonHex writes b the way dhclient's lease file does: "0:3:0:1:2:...".
func colonHex(b []byte) string {
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = strconv.FormatUint(uint64(c), 16)
	}
	return strings.Join(parts, ":")
}
