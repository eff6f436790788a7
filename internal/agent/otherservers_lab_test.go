package agent_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/agentcli"
	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// TestAgentReportsOtherServersOnItsLink: with a real radvd that contradicts
// the agent's RA and a real Kea on the boot link, `agent status` lists both
// with their addresses, DUID, offers and the RA's contradictions, the
// metrics count them, agent.log warns once about each however many
// messages they send, and the probe Solicits leave no lease at Kea or at
// the agent's own DHCPv6 server.
func TestAgentReportsOtherServersOnItsLink(t *testing.T) {
	testlab.RequireRoot(t, "radvd", "kea-dhcp6", "ss", "curl")
	lab := testlab.New(t)
	dir := t.TempDir()

	// The other servers run on the client side of the link: another host.
	vars := struct{ Interface, Prefix, Dir string }{lab.ClientIf, lab.Prefix, dir}
	lab.StartRadvd(t, lab.ClientNS, fillTemplate(t, "radvd.conf.tmpl", vars), dir)
	lab.StartKea6(t, lab.ClientNS, fillTemplate(t, "kea6.json.tmpl", vars), dir)

	stateDir := t.TempDir()
	// One probe at start, then only those `agent status --probe` asks for.
	agent := lab.StartAgent(t, stateDir, "--metrics-listen", "[::1]:9447", "--dhcpv6-probe-interval", "1h")
	conn := connect(t, stateDir)
	ctx := context.Background()
	if _, err := conn.PutBootServer(ctx, &netbootv1.PutBootServerRequest{BootServer: labBootServer(lab, "stateful")}); err != nil {
		t.Fatal(err)
	}

	clientLL := linkLocal(t, lab, lab.ClientNS, lab.ClientIf)
	clientMAC := strings.TrimSpace(lab.MustExec(t, lab.ClientNS, "cat", "/sys/class/net/"+lab.ClientIf+"/address"))

	// Wait until radvd has been heard three times (it advertises every 3-4
	// s), then probe twice on demand: with the probe at start, Kea has
	// answered three times.
	var others []otherServerJSON
	deadline := time.Now().Add(40 * time.Second)
	for {
		others = statusOtherServers(t, stateDir)
		if len(others) >= 1 && others[0].messages() >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 40 s, other servers in agent status --json: %+v; want radvd's, heard 3 times or more", others)
		}
		time.Sleep(time.Second)
	}
	runOps(t, stateDir, "status", "--probe")
	runOps(t, stateDir, "status", "--probe")
	others = statusOtherServers(t, stateDir)
	if len(others) != 2 || others[1].messages() != 3 {
		t.Fatalf("other servers after two probes on demand: %+v; want radvd's and Kea's, Kea's heard 3 times", others)
	}

	ra, dhcp := others[0], others[1] // routers first
	if dhcp.Protocol != "dhcpv6" || ra.Protocol != "router_advertisement" {
		t.Fatalf("other servers %+v: want one dhcpv6 and one router_advertisement", others)
	}
	for _, o := range others {
		if o.SourceAddress != clientLL || o.LinkLayerAddress != clientMAC {
			t.Errorf("%s server at %s (MAC %q), want %s (MAC %s)", o.Protocol, o.SourceAddress, o.LinkLayerAddress, clientLL, clientMAC)
		}
	}
	// Kea's DUID-LLT: type 1, hardware type 1, time, then the MAC.
	if !strings.HasPrefix(dhcp.Duid, "00010001") || !strings.HasSuffix(dhcp.Duid, strings.ReplaceAll(clientMAC, ":", "")) {
		t.Errorf("Kea's DUID %q: want a DUID-LLT ending in %s", dhcp.Duid, clientMAC)
	}
	wantItems(t, "Kea's offers", dhcp.Offers,
		"IA_NA address 2001:db8:1::1:", "DNS servers 2001:db8:1::99", "boot-file URL tftp://[2001:db8:1::99]/pxelinux.0")
	if len(dhcp.Conflicts) != 0 {
		t.Errorf("Kea's conflicts %q: want none (conflicts are for RAs)", dhcp.Conflicts)
	}
	wantItems(t, "radvd's conflicts", ra.Conflicts,
		"M flag (managed address configuration): ours true, theirs false",
		"O flag (other configuration): ours true, theirs false",
		"MTU: ours 1500, theirs 1400",
		"prefix 2001:db8:1::/64 valid lifetime: ours 86400 s, theirs 7200 s",
		"prefix 2001:db8:1::/64 preferred lifetime: ours 14400 s, theirs 3600 s",
		"prefix 2001:db8:99::/64: theirs only, with autonomous (SLAAC) flag")
	if len(ra.Conflicts) != 6 {
		t.Errorf("radvd's conflicts %q: want exactly the 6 above", ra.Conflicts)
	}
	wantItems(t, "radvd's offers", ra.Offers,
		"M flag (managed address configuration): false", "MTU: 1400",
		"prefix 2001:db8:99::/64: on-link true, autonomous true", "RDNSS 2001:db8:99::53")

	table := runOps(t, stateDir, "status")
	for _, want := range []string{"OTHER SERVERS ON SERVED LINKS (2)", "lab: router_advertisement from " + clientLL,
		"lab: dhcpv6 from " + clientLL, "conflicts: MTU: ours 1500, theirs 1400", "offers:    IA_NA address 2001:db8:1::1:"} {
		if !strings.Contains(table, want) {
			t.Errorf("agent status lacks %q:\n%s", want, table)
		}
	}

	metrics := lab.MustExec(t, lab.ServerNS, "curl", "-g", "-sS", "--fail", "http://[::1]:9447/metrics")
	for _, want := range []string{
		`netboot_other_servers{boot_server="lab",protocol="dhcpv6"} 1`,
		`netboot_other_servers{boot_server="lab",protocol="router_advertisement"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	for _, counter := range []string{"netboot_ra_inconsistent_advertisements_total", "netboot_dhcpv6_probe_foreign_answers_total", "netboot_dhcpv6_probe_solicits_sent_total"} {
		if n := metricValue(metrics, counter+`{boot_server="lab"}`); n < 3 {
			t.Errorf("%s = %d, want 3 or more", counter, n)
		}
	}
	// Multicast loopback is off: our own server never saw a probe.
	if n := metricValue(metrics, `netboot_dhcpv6_received_total{boot_server="lab",message_type="SOLICIT"}`); n > 0 {
		t.Errorf("the agent's DHCPv6 server received %d Solicits, want 0: the probe reached it", n)
	}

	// One warning per server, however many messages each sent.
	log, err := os.ReadFile(agent.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range []string{"another router advertises a conflicting configuration on this link", "another DHCPv6 server answers on this link"} {
		if n := strings.Count(string(log), msg); n != 1 {
			t.Errorf("agent log has %d warnings %q, want 1", n, msg)
		}
	}

	// The probes committed nothing: no lease at Kea, none at the agent.
	if b, err := os.ReadFile(filepath.Join(dir, "leases6.csv")); err == nil && strings.Count(strings.TrimSpace(string(b)), "\n") > 0 {
		t.Errorf("Kea stored leases for the probe:\n%s", b)
	}
	if leases, err := conn.ListLeases(ctx, &netbootv1.ListLeasesRequest{}); err != nil || len(leases.GetLeases()) != 0 {
		t.Errorf("agent leases %v (%v), want none", leases.GetLeases(), err)
	}
}

type otherServerJSON struct {
	Protocol         string   `json:"protocol"`
	SourceAddress    string   `json:"source_address"`
	LinkLayerAddress string   `json:"link_layer_address"`
	Duid             string   `json:"duid"`
	Offers           []string `json:"offers"`
	Conflicts        []string `json:"conflicts"`
	Messages         string   `json:"messages"` // protojson writes 64-bit integers as strings
}

func (o otherServerJSON) messages() int {
	n, _ := strconv.Atoi(o.Messages)
	return n
}

// statusOtherServers is the lab boot server's other_servers in
// `agent status --json`.
func statusOtherServers(t *testing.T, stateDir string) []otherServerJSON {
	t.Helper()
	var status struct {
		BootServers struct {
			BootServers []struct {
				Status struct {
					OtherServers []otherServerJSON `json:"other_servers"`
				} `json:"status"`
			} `json:"boot_servers"`
		} `json:"boot_servers"`
	}
	out := runOps(t, stateDir, "status", "--json")
	if err := json.Unmarshal([]byte(out), &status); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	if len(status.BootServers.BootServers) != 1 {
		t.Fatalf("status --json: want one boot server:\n%s", out)
	}
	return status.BootServers.BootServers[0].Status.OtherServers
}

func fillTemplate(t *testing.T, name string, vars any) string {
	t.Helper()
	tmpl, err := template.ParseFiles(filepath.Join("testdata", "other-servers", name))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := tmpl.Execute(&b, vars); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// linkLocal is the link-local address of ifname in namespace ns.
func linkLocal(t *testing.T, lab *testlab.Lab, ns, ifname string) string {
	t.Helper()
	out := lab.MustExec(t, ns, "ip", "-6", "-o", "addr", "show", "dev", ifname, "scope", "link")
	for _, f := range strings.Fields(out) {
		if strings.HasPrefix(f, "fe80:") {
			return strings.Split(f, "/")[0]
		}
	}
	t.Fatalf("no link-local address on %s in %s:\n%s", ifname, ns, out)
	return ""
}

// wantItems checks that every want is a prefix of one of got.
func wantItems(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, w) }) {
			t.Errorf("%s lack %q:\n%s", what, w, strings.Join(got, "\n"))
		}
	}
}

// metricValue is the value of one sample in Prometheus text, or -1.
func metricValue(metrics, sample string) int {
	for _, line := range strings.Split(metrics, "\n") {
		if v, ok := strings.CutPrefix(line, sample+" "); ok {
			// client_golang writes values as floats (1e+06).
			f, err := strconv.ParseFloat(v, 64)
			if err == nil {
				return int(f)
			}
		}
	}
	return -1
}

// TestAgentProbeYieldsPort546: while another socket on the agent host holds
// the DHCPv6 client port (a DHCPv6 client on the served interface), the
// probe does not share it and is skipped with one warning; once the port
// is free, a probe on demand finds Kea.
func TestAgentProbeYieldsPort546(t *testing.T) {
	testlab.RequireRoot(t, "kea-dhcp6", "python3")
	lab := testlab.New(t)
	dir := t.TempDir()
	vars := struct{ Interface, Prefix, Dir string }{lab.ClientIf, lab.Prefix, dir}
	lab.StartKea6(t, lab.ClientNS, fillTemplate(t, "kea6.json.tmpl", vars), dir)

	holder := lab.Command(t, lab.ServerNS, "python3", "-c",
		"import socket, sys, time\n"+
			"s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\n"+
			"s.bind(('::', 546))\n"+
			"print('bound', flush=True)\n"+
			"time.sleep(300)\n")
	out, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "bound\n" {
		t.Fatalf("python did not bind port 546: %q %v", line, err)
	}

	stateDir := t.TempDir()
	daemon := lab.StartAgent(t, stateDir, "--dhcpv6-probe-interval", "1h")
	conn := connect(t, stateDir)
	if _, err := conn.PutBootServer(context.Background(), &netbootv1.PutBootServerRequest{BootServer: labBootServer(lab, "stateful")}); err != nil {
		t.Fatal(err)
	}
	probe := func() string {
		var stdout, stderr bytes.Buffer
		if code := agentcli.Main([]string{"status", "--probe", "--state-dir", stateDir}, &stdout, &stderr); code != 0 {
			t.Fatalf("agent status --probe: exit %d\n%s", code, stderr.String())
		}
		return stderr.String()
	}
	if msg := probe(); !strings.Contains(msg, "probing lab: probing the link of boot server \"lab\": port 546 is held") {
		t.Errorf("agent status --probe with port 546 held: stderr %q, want the reason", msg)
	}
	if others := statusOtherServers(t, stateDir); len(others) != 0 {
		t.Errorf("other servers while the probe could not run: %+v", others)
	}

	_ = holder.Process.Kill()
	_ = holder.Wait()
	if msg := probe(); msg != "" {
		t.Errorf("agent status --probe with port 546 free: stderr %q", msg)
	}
	if others := statusOtherServers(t, stateDir); len(others) != 1 || others[0].Protocol != "dhcpv6" {
		t.Errorf("other servers once the port is free: %+v, want Kea", others)
	}
	log, err := os.ReadFile(daemon.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(log), "DHCPv6 probe skipped until port 546 is free"); n != 1 {
		t.Errorf("agent log has %d warnings about port 546, want 1", n)
	}
	if !strings.Contains(string(log), "DHCPv6 probe resumed") {
		t.Error("agent log does not say the probe resumed")
	}
}
