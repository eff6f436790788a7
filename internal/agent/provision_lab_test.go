package agent_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/pglease"
	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/agentclient"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// TestAgentServesEachMachineItsOwnConfig: two machines, known by their
// DUIDs, lease an address each with dhclient on one link and get one
// cloud-config template. From its own address each machine's menu carries
// its own NoCloud URL and curl fetches its own rendering. From the other
// machine's address, its menu (asked for by its MAC address) carries no
// token, and its config is refused (403) with its token, with the
// neighbour's, without one; so it is from the client's SLAAC address,
// which is no machine's. The agent logs each refusal with its reason and
// notes each machine's last boot file and config.
func TestAgentServesEachMachineItsOwnConfig(t *testing.T) {
	lab, stateDir, conn, _ := provisioningLab(t, "curl", "dhclient")
	ctx := context.Background()
	for _, e := range []*netbootv1.BootEntry{
		{Name: "install", Kind: "linux", Linux: &netbootv1.LinuxBoot{Kernel: "vmlinuz",
			Args: `ds=nocloud;s={{ .ConfigURL "" }} meta={{ .ConfigURL "meta-data" }}`}},
	} {
		if _, err := conn.PutBootEntry(ctx, &netbootv1.PutBootEntryRequest{Entry: e}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.PutBootMenu(ctx, &netbootv1.PutBootMenuRequest{Menu: &netbootv1.BootMenu{
		Name: "install", Items: []*netbootv1.MenuItem{{Entry: "install"}}}}); err != nil {
		t.Fatal(err)
	}
	type labMachine struct{ mac, duid, addr, token string }
	machines := map[string]*labMachine{
		"web1": {mac: "52:54:00:aa:bb:01", duid: "000200000009000000000001"},
		"web2": {mac: "52:54:00:aa:bb:02", duid: "000200000009000000000002"},
	}
	for name, m := range machines {
		pb, err := conn.PutMachine(ctx, &netbootv1.PutMachineRequest{Machine: &netbootv1.Machine{
			Name: name, Macs: []string{m.mac}, Duids: []string{m.duid}, Labels: map[string]string{"role": "web"}, Menu: "install",
			Metadata: map[string]string{"greeting": "hello from " + name}}})
		if err != nil {
			t.Fatal(err)
		}
		m.token = pb.GetConfigToken()
	}
	for _, c := range []*netbootv1.MachineConfig{
		{Name: "user-data", Kind: "cloud-config", MatchLabels: map[string]string{"role": "web"},
			Template:        "#cloud-config\nhostname: {{ .Hostname }}\nbootcmd:\n  - echo {{ toJSON .Metadata.greeting }}\npassword: {{ .Sensitive.pw }}\n",
			SensitiveValues: map[string]string{"pw": "s3cret"}},
		{Name: "meta-data", Kind: "meta-data", Template: "instance-id: {{ .Name }}\n"},
	} {
		if _, err := conn.PutMachineConfig(ctx, &netbootv1.PutMachineConfigRequest{Config: c}); err != nil {
			t.Fatal(err)
		}
	}
	// Each machine's client leases an address by its DUID and uses it.
	for _, m := range machines {
		m.addr = leaseFor(t, lab, m.duid)
		lab.MustExec(t, lab.ClientNS, "ip", "-6", "addr", "add", m.addr+"/128", "dev", lab.ClientIf, "nodad")
	}
	web1, web2 := machines["web1"], machines["web2"]

	base := "http://[" + lab.ServerAddr + "]"
	get := func(from, url string) string {
		t.Helper()
		return lab.MustExec(t, lab.ClientNS, "curl", "-g", "-sS", "--fail", "--interface", from, url)
	}
	status := func(from, url string) string {
		t.Helper()
		return lab.MustExec(t, lab.ClientNS, "curl", "-g", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--interface", from, url)
	}
	hostPath := func(mac string) string {
		return base + "/netboot/host/mac-" + strings.ReplaceAll(mac, ":", "-") + "/uuid-/arch-x86_64/platform-efi/menu.ipxe"
	}
	nocloud := regexp.MustCompile(`ds=nocloud;s=(\S+/) meta=(\S+)`)
	for name, m := range machines {
		script := get(m.addr, hostPath(m.mac))
		found := nocloud.FindStringSubmatch(script)
		if found == nil || found[1] != base+"/netboot/config/"+name+"/"+m.token+"/" || found[2] != found[1]+"meta-data" {
			t.Fatalf("%s's menu has no NoCloud URL of its own:\n%s", name, script)
		}
		userData := get(m.addr, found[1]+"user-data")
		want := "#cloud-config\nhostname: " + name + "\nbootcmd:\n  - echo \"hello from " + name + "\"\npassword: s3cret\n"
		if userData != want {
			t.Errorf("%s's user-data:\n%s\nwant:\n%s", name, userData, want)
		}
		if got := get(m.addr, found[2]); got != "instance-id: "+name+"\n" {
			t.Errorf("%s's meta-data: %q", name, got)
		}
	}

	// web1's menu asked for from web2's address, twice: no token of
	// web1's, and one warning.
	for range 2 {
		if script := get(web2.addr, hostPath(web1.mac)); strings.Contains(script, web1.token) || strings.Contains(script, "ds=nocloud") {
			t.Errorf("web1's menu from web2's address %s carries web1's config URL:\n%s", web2.addr, script)
		}
	}
	slaac := slaacAddress(t, lab)
	web1URL := base + "/netboot/config/web1/" + web1.token + "/user-data"
	for _, tc := range []struct {
		name, from, url, want string
	}{
		{"own, from its address", web1.addr, web1URL, "200"},
		{"web1's with its token, from web2's address", web2.addr, web1URL, "403"},
		{"web1's without token, from web2's address", web2.addr, base + "/netboot/config/web1/user-data", "403"},
		{"web1's with web2's token, from web2's address", web2.addr, base + "/netboot/config/web1/" + web2.token + "/user-data", "403"},
		{"web1's with its token, from an address of no machine", slaac, web1URL, "403"},
		{"web2's with web1's token, from web1's address", web1.addr, base + "/netboot/config/web2/" + web1.token + "/user-data", "403"},
		{"web2's with a guess", web1.addr, base + "/netboot/config/web2/" + strings.Repeat("0", 32) + "/user-data", "403"},
		{"no such machine", web1.addr, base + "/netboot/config/web3/" + web1.token + "/user-data", "404"},
		{"no such file for web1", web1.addr, base + "/netboot/config/web1/" + web1.token + "/network-config", "404"},
	} {
		if got := status(tc.from, tc.url); got != tc.want {
			t.Errorf("%s: GET %s from %s: %s, want %s", tc.name, tc.url, tc.from, got, tc.want)
		}
	}
	waitForLog(t, stateDir,
		`status=403`,
		`machine \"web1\", requested from `+web2.addr+` (machine \"web2\"'s, by lease): the request does not come from the machine's address`,
		`machine \"web2\", requested from `+web1.addr+` (machine \"web1\"'s, by lease): the URL does not carry the machine's token`,
		`claimed_machine=web1 client=`+web2.addr+` client_machine=web2`,
	)
	log, _ := os.ReadFile(filepath.Join(stateDir, "agent-test.log"))
	if n := strings.Count(string(log), "claimed_machine=web1"); n != 1 {
		t.Errorf("%d warnings for web1's menu asked for twice from web2's address, want 1", n)
	}
	metrics := lab.MustExec(t, lab.ServerNS, "curl", "-g", "-sS", "--fail", "http://[::1]:9447/metrics")
	if n := metricValue(metrics, `netboot_claimed_machine_warnings_suppressed_total{boot_server="lab"}`); n != 1 {
		t.Errorf("netboot_claimed_machine_warnings_suppressed_total %d, want 1", n)
	}
	// What each machine fetched last, by its address.
	got, err := conn.GetMachine(ctx, &netbootv1.GetMachineRequest{Name: "web1"})
	if err != nil {
		t.Fatal(err)
	}
	if c := got.GetLastConfig(); c.GetFile() != "user-data" || c.GetAddress() != web1.addr || c.GetProtocol() != "http" || c.GetBootServer() != "lab" || c.GetTimeUnix() == 0 {
		t.Errorf("web1's last config: %v", c)
	}
	if b := got.GetLastBootFile(); b.GetFile() != strings.TrimPrefix(hostPath(web1.mac), base+"/") || b.GetAddress() != web1.addr {
		t.Errorf("web1's last boot file: %v", b)
	}
	// agent objects shows them, and no token.
	for _, args := range [][]string{{"objects"}, {"objects", "--json"}} {
		out := runOps(t, stateDir, args...)
		if !strings.Contains(out, "user-data") || !strings.Contains(out, web1.addr) || strings.Contains(out, web1.token) {
			t.Errorf("agent %s: want web1's last config from %s and no token:\n%s", strings.Join(args, " "), web1.addr, out)
		}
	}
}

// leaseFor runs dhclient -6 in the lab's client namespace with DUID duid
// (hex) and returns the address it leased.
func leaseFor(t *testing.T, lab *testlab.Lab, duid string, extra ...string) string {
	t.Helper()
	dir := t.TempDir()
	if duid != "" {
		// dhclient takes its DUID from the lease file, octal-escaped.
		var esc strings.Builder
		for i := 0; i+1 < len(duid); i += 2 {
			var b byte
			fmt.Sscanf(duid[i:i+2], "%02x", &b)
			fmt.Fprintf(&esc, "\\%03o", b)
		}
		if err := os.WriteFile(filepath.Join(dir, "dhclient6.leases"), []byte("default-duid \""+esc.String()+"\";\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := dhclient(t, lab, dir, extra...)
	m := iaaddrPattern.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("dhclient leased no address:\n%s", out)
	}
	return m[1]
}

// slaacAddress is the address the lab's client configured from the
// agent's Router Advertisement (its EUI-64 under the lab's prefix).
func slaacAddress(t *testing.T, lab *testlab.Lab) string {
	t.Helper()
	mac := strings.TrimSpace(lab.MustExec(t, lab.ClientNS, "cat", "/sys/class/net/"+lab.ClientIf+"/address"))
	hw, err := net.ParseMAC(mac)
	if err != nil {
		t.Fatal(err)
	}
	a := netip.MustParsePrefix(lab.Prefix).Addr().As16()
	copy(a[8:], []byte{hw[0] ^ 2, hw[1], hw[2], 0xff, 0xfe, hw[3], hw[4], hw[5]})
	addr := netip.AddrFrom16(a).String()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(lab.MustExec(t, lab.ClientNS, "ip", "-6", "addr", "show", "dev", lab.ClientIf), addr+"/64") {
		if time.Now().After(deadline) {
			t.Fatalf("the client has no SLAAC address %s", addr)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return addr
}

// waitForLog waits until the agent's log holds every one of wants.
func waitForLog(t *testing.T, stateDir string, wants ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		log, _ := os.ReadFile(filepath.Join(stateDir, "agent-test.log"))
		missing := ""
		for _, w := range wants {
			if !strings.Contains(string(log), w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent's log lacks %s:\n%s", missing, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// provisioningLab starts an agent in a new lab with the "lab" boot server
// (stateful DHCPv6, HTTP on, metrics on [::1]:9447 in the server's
// namespace) and returns its connection.
func provisioningLab(t *testing.T, tools ...string) (*testlab.Lab, string, *agentclient.Conn, *netbootv1.BootServer) {
	t.Helper()
	testlab.RequireRoot(t, tools...)
	lab := testlab.New(t)
	stateDir := t.TempDir()
	lab.StartAgent(t, stateDir, "--metrics-listen", "[::1]:9447")
	conn := connect(t, stateDir)
	bs := labBootServer(lab, "stateful")
	if _, err := conn.PutBootServer(context.Background(), &netbootv1.PutBootServerRequest{BootServer: bs}); err != nil {
		t.Fatal(err)
	}
	return lab, stateDir, conn, bs
}

// TestConfigToAMachineLeasedByAPeer: with the leases in PostgreSQL, a
// machine whose address another agent leased (a row this agent's DHCPv6
// server never saw) fetches its config from it; the client's SLAAC
// address, which is no machine's, gets 403 with the same URL.
func TestConfigToAMachineLeasedByAPeer(t *testing.T) {
	testlab.RequireRoot(t, "curl")
	lab := testlab.New(t)
	pg := testlab.StartPostgreSQL(t)
	stateDir := t.TempDir()
	lab.StartAgent(t, stateDir, "--lease-db", pg.URL)
	conn := connect(t, stateDir)
	ctx := context.Background()
	if _, err := conn.PutBootServer(ctx, &netbootv1.PutBootServerRequest{BootServer: labBootServer(lab, "stateful")}); err != nil {
		t.Fatal(err)
	}
	duid := []byte{0, 2, 0, 0, 0, 9, 0xbe, 0xef}
	m, err := conn.PutMachine(ctx, &netbootv1.PutMachineRequest{Machine: &netbootv1.Machine{Name: "web1", Duids: []string{hex.EncodeToString(duid)}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.PutMachineConfig(ctx, &netbootv1.PutMachineConfigRequest{Config: &netbootv1.MachineConfig{
		Name: "user-data", Kind: "cloud-config", Template: "#cloud-config\nhostname: {{ .Name }}\n"}}); err != nil {
		t.Fatal(err)
	}
	peer, err := pglease.Open(ctx, pg.URL, "peer", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(peer.Close)
	const addr = "2001:db8:1::1abc"
	now := time.Now()
	if err := peer.Leases("lab").PutLeases([]lease.Lease{{Kind: lease.NA, Address: netip.MustParseAddr(addr), DUID: duid, IAID: 1,
		PreferredUntil: now.Add(time.Hour), ValidUntil: now.Add(2 * time.Hour)}}, nil); err != nil {
		t.Fatal(err)
	}
	lab.MustExec(t, lab.ClientNS, "ip", "-6", "addr", "add", addr+"/128", "dev", lab.ClientIf, "nodad")
	url := "http://[" + lab.ServerAddr + "]/netboot/config/web1/" + m.GetConfigToken() + "/user-data"
	if body := lab.MustExec(t, lab.ClientNS, "curl", "-g", "-sS", "--fail", "--interface", addr, url); body != "#cloud-config\nhostname: web1\n" {
		t.Errorf("web1's user-data from its lease %s:\n%s", addr, body)
	}
	slaac := slaacAddress(t, lab)
	if code := lab.MustExec(t, lab.ClientNS, "curl", "-g", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--interface", slaac, url); code != "403" {
		t.Errorf("web1's user-data from %s: %s, want 403", slaac, code)
	}
}
