package agent_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/agentclient"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

func labBootServer(lab *testlab.Lab, mode string) *netbootv1.BootServer {
	bs := &netbootv1.BootServer{
		Name:      "lab",
		Interface: lab.ServerIf,
		Prefix:    lab.Prefix,
		RouterAdvertisement: &netbootv1.RouterAdvertisement{
			Managed: mode == "stateful", OtherConfig: true,
			MinIntervalSeconds: 30, MaxIntervalSeconds: 60,
			PrefixOnLink: true, PrefixAutonomous: true,
			PrefixValidLifetimeSeconds: 86400, PrefixPreferredLifetimeSeconds: 14400,
			Rdnss: []string{"2001:db8:1::53"}, Dnssl: []string{"lab.example"}, DnsLifetimeSeconds: 180,
		},
		Dhcpv6: &netbootv1.DHCPv6{
			Mode:       mode,
			DnsServers: []string{"2001:db8:1::53"}, DomainSearch: []string{"lab.example"},
			Preference: 255, RenewTimeSeconds: 1800, RebindTimeSeconds: 2880,
			PreferredLifetimeSeconds: 3600, ValidLifetimeSeconds: 7200,
		},
	}
	if mode == "stateful" {
		bs.Dhcpv6.Ranges = []*netbootv1.AddressRange{{Start: "2001:db8:1::1000", End: "2001:db8:1::1fff"}}
	}
	return bs
}

func connect(t *testing.T, stateDir string) *agentclient.Conn {
	t.Helper()
	conn, err := agentclient.Connect(context.Background(), agentclient.Options{StateDir: stateDir, NoLaunch: true, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// dhclient runs ISC dhclient -6 once in the client namespace, asking for the
// DNS options, and returns what it recorded (see dhclientWithConf).
func dhclient(t *testing.T, lab *testlab.Lab, dir string, extra ...string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "dhclient6.conf"), []byte("also request dhcp6.name-servers, dhcp6.domain-search;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dhclientWithConf(t, lab, dir, extra...)
}

// dhclientWithConf runs dhclient -6 once with dir/dhclient6.conf and returns
// its lease file plus the environment it gave its script. The script only
// writes into dir, so no resolv.conf is ever touched.
func dhclientWithConf(t *testing.T, lab *testlab.Lab, dir string, extra ...string) string {
	t.Helper()
	return dhclientOn(t, lab, lab.ClientNS, lab.ClientIf, dir, extra...)
}

// dhclientOn is dhclientWithConf on interface ifname of namespace ns, such
// as a client's on a link behind a relay.
func dhclientOn(t *testing.T, lab *testlab.Lab, ns, ifname, dir string, extra ...string) string {
	t.Helper()
	script := filepath.Join(dir, "record.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nenv >> \""+filepath.Join(dir, "script.env")+"\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cf := filepath.Join(dir, "dhclient6.conf")
	lf := filepath.Join(dir, "dhclient6.leases")
	pf := filepath.Join(dir, "dhclient6.pid")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append([]string{"dhclient", "-6", "-1", "-v", "-cf", cf, "-lf", lf, "-pf", pf, "-sf", script}, extra...)
	out, err := lab.Exec(ctx, ns, append(args, ifname)...)
	// dhclient forks into the background once bound: stop it (by its pid file).
	if pid, perr := os.ReadFile(pf); perr == nil {
		if n, cerr := strconv.Atoi(strings.TrimSpace(string(pid))); cerr == nil {
			if p, ferr := os.FindProcess(n); ferr == nil {
				_ = p.Kill()
			}
		}
	}
	if err != nil {
		t.Fatalf("dhclient: %v\n%s", err, out)
	}
	lease, _ := os.ReadFile(lf)
	env, _ := os.ReadFile(filepath.Join(dir, "script.env"))
	if len(lease) == 0 && len(env) == 0 {
		t.Fatalf("dhclient recorded nothing:\n%s", out)
	}
	return string(lease) + string(env)
}

var iaaddrPattern = regexp.MustCompile(`iaaddr ([0-9a-f:]+) \{`)

func TestAgentServesRealClientsAndKeepsLeasesAcrossKill9(t *testing.T) {
	testlab.RequireRoot(t, "rdisc6", "dhclient")
	lab := testlab.New(t)
	stateDir := t.TempDir()
	agent := lab.StartAgent(t, stateDir)
	conn := connect(t, stateDir)
	ctx := context.Background()

	state, err := conn.PutBootServer(ctx, &netbootv1.PutBootServerRequest{BootServer: labBootServer(lab, "stateful")})
	if err != nil {
		t.Fatal(err)
	}
	if !state.GetStatus().GetServing() || !strings.HasPrefix(state.GetStatus().GetLinkLocalAddress(), "fe80:") {
		t.Fatalf("status after put = %v", state.GetStatus())
	}

	ra := lab.MustExec(t, lab.ClientNS, "rdisc6", "-1", "-w", "3000", lab.ClientIf)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`Stateful address conf\.\s*:\s*Yes`),
		regexp.MustCompile(`Stateful other conf\.\s*:\s*Yes`),
		regexp.MustCompile(`Prefix\s*:\s*2001:db8:1::/64`),
		regexp.MustCompile(`Recursive DNS server\s*:\s*2001:db8:1::53`),
		regexp.MustCompile(`DNS search list\s*:\s*lab\.example`),
	} {
		if !want.MatchString(ra) {
			t.Errorf("rdisc6 output lacks %s:\n%s", want, ra)
		}
	}

	leaseFile := dhclient(t, lab, t.TempDir())
	m := iaaddrPattern.FindStringSubmatch(leaseFile)
	if m == nil {
		t.Fatalf("no iaaddr in dhclient lease:\n%s", leaseFile)
	}
	leased := m[1]
	if !strings.HasPrefix(leased, "2001:db8:1::1") || len(leased) != len("2001:db8:1::1000") {
		t.Fatalf("leased %s, outside 2001:db8:1::1000-1fff", leased)
	}
	assertLeaseHeld(t, conn, leased)

	// A crash: no shutdown code runs. The lease must come back from disk.
	agent.Kill9(t)
	agent.Restart(t)
	conn = connect(t, stateDir)
	assertLeaseHeld(t, conn, leased)

	// Stateless: the same link now only answers Information-Request.
	if _, err := conn.PutBootServer(ctx, &netbootv1.PutBootServerRequest{BootServer: labBootServer(lab, "stateless")}); err != nil {
		t.Fatal(err)
	}
	info := dhclient(t, lab, t.TempDir(), "-S")
	if !strings.Contains(info, "new_dhcp6_name_servers=2001:db8:1::53") || !strings.Contains(info, "new_dhcp6_domain_search=lab.example.") {
		t.Errorf("stateless reply lacks DNS options:\n%s", info)
	}

	if _, err := conn.DeleteBootServer(ctx, &netbootv1.DeleteBootServerRequest{Name: "lab"}); err != nil {
		t.Fatal(err)
	}
	_, err = conn.GetBootServer(ctx, &netbootv1.GetBootServerRequest{Name: "lab"})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("GetBootServer after delete: %v, want NotFound", err)
	}
}

func assertLeaseHeld(t *testing.T, conn *agentclient.Conn, address string) {
	t.Helper()
	leases, err := conn.ListLeases(context.Background(), &netbootv1.ListLeasesRequest{BootServer: "lab"})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range leases.GetLeases() {
		if l.GetAddress() == address {
			return
		}
	}
	t.Fatalf("agent does not hold the lease of %s; it has %v", address, leases.GetLeases())
}

func TestPutBootServerRejectsBadInputWithFieldNames(t *testing.T) {
	testlab.RequireRoot(t)
	lab := testlab.New(t)
	stateDir := t.TempDir()
	lab.StartAgent(t, stateDir)
	conn := connect(t, stateDir)

	bad := labBootServer(lab, "stateful")
	bad.Dhcpv6.Ranges[0].End = "2001:db8:2::1"
	_, err := conn.PutBootServer(context.Background(), &netbootv1.PutBootServerRequest{BootServer: bad})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "dhcpv6.ranges[0].end") {
		t.Fatalf("range outside prefix: %v, want InvalidArgument naming dhcpv6.ranges[0].end", err)
	}

	missing := labBootServer(lab, "stateful")
	missing.Interface = "nb-missing0"
	_, err = conn.PutBootServer(context.Background(), &netbootv1.PutBootServerRequest{BootServer: missing})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), `"nb-missing0"`) {
		t.Fatalf("missing interface: %v, want FailedPrecondition naming it", err)
	}
	if _, err := conn.PutBootServer(context.Background(), &netbootv1.PutBootServerRequest{BootServer: labBootServer(lab, "stateful")}); err != nil {
		t.Fatal(err)
	}
	twin := labBootServer(lab, "stateful")
	twin.Name = "twin"
	_, err = conn.PutBootServer(context.Background(), &netbootv1.PutBootServerRequest{BootServer: twin})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), `already served by boot server "lab"`) {
		t.Fatalf("second server on one interface: %v, want FailedPrecondition", err)
	}
	if _, err := conn.DeleteBootServer(context.Background(), &netbootv1.DeleteBootServerRequest{Name: "lab"}); err != nil {
		t.Fatal(err)
	}
	list, err := conn.ListBootServers(context.Background(), &netbootv1.ListBootServersRequest{})
	if err != nil || len(list.GetBootServers()) != 0 {
		t.Fatalf("a rejected put left state behind: %v, %v", list, err)
	}
}
