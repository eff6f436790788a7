package agent_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/agentclient"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// TestEditingOneRelayedLinkKeepsTheOthersServing is what `terraform apply`
// does when only one VLAN's range changes: one PutBootServer. The other
// link keeps being served by the same server, its leases and the relays
// heard from it (a restarted DHCPv6 server would have heard none and
// counted from zero), and its client renews the same address.
func TestEditingOneRelayedLinkKeepsTheOthersServing(t *testing.T) {
	testlab.RequireRoot(t, "dhclient", "dhcrelay", "curl")
	lab := testlab.New(t)
	links := []*testlab.RoutedLink{lab.AddRoutedLink(t, 1), lab.AddRoutedLink(t, 2)}
	stateDir := t.TempDir()
	lab.StartAgent(t, stateDir, "--metrics-listen", "[::1]:9447", "--dhcpv6-probe-interval", "1h")
	conn := connect(t, stateDir)
	ctx := context.Background()

	bs := labBootServer(lab, "stateful")
	bs.Dhcpv6.RelayedLinks = map[string]*netbootv1.RelayedLink{
		"link1": {Prefix: links[0].Prefix, Ranges: []*netbootv1.AddressRange{{Start: "2001:db8:10::100", End: "2001:db8:10::1ff"}}},
		"link2": {Prefix: links[1].Prefix, Ranges: []*netbootv1.AddressRange{{Start: "2001:db8:20::100", End: "2001:db8:20::1ff"}}},
	}
	if _, err := conn.PutBootServer(ctx, &netbootv1.PutBootServerRequest{BootServer: bs}); err != nil {
		t.Fatal(err)
	}
	lab.StartDhcrelay(t, links...)

	dirs := []string{t.TempDir(), t.TempDir()}
	var leased []string
	for i, l := range links {
		if err := os.WriteFile(filepath.Join(dirs[i], "dhclient6.conf"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		m := iaaddrPattern.FindStringSubmatch(dhclientOn(t, lab, l.NS, l.ClientIf, dirs[i]))
		if m == nil {
			t.Fatalf("no lease for the client on %s", l.Prefix)
		}
		leased = append(leased, m[1])
	}
	before := relayedLinkStatus(t, conn, "link1")
	relayForwards := func() int {
		metrics := lab.MustExec(t, lab.ServerNS, "curl", "-g", "-sS", "--fail", "http://[::1]:9447/metrics")
		return metricValue(metrics, `netboot_dhcpv6_received_total{boot_server="lab",message_type="RELAY-FORW"}`)
	}
	counted := relayForwards()
	if before.GetActiveLeases() != 1 || len(before.GetRelayAddresses()) != 1 || counted < 2 {
		t.Fatalf("before the edit: link1 %v, %d Relay-Forwards counted", before, counted)
	}

	// Only link2's range moves.
	bs.Dhcpv6.RelayedLinks["link2"].Ranges[0] = &netbootv1.AddressRange{Start: "2001:db8:20::200", End: "2001:db8:20::2ff"}
	if _, err := conn.PutBootServer(ctx, &netbootv1.PutBootServerRequest{BootServer: bs}); err != nil {
		t.Fatal(err)
	}

	after := relayedLinkStatus(t, conn, "link1")
	if after.GetActiveLeases() != 1 || !slices.Equal(after.GetRelayAddresses(), before.GetRelayAddresses()) {
		t.Errorf("link1 after editing link2: %v, want as before: %v", after, before)
	}
	if n := relayForwards(); n < counted {
		t.Errorf("Relay-Forwards counted fell from %d to %d: the DHCPv6 server restarted", counted, n)
	}
	assertLeaseHeld(t, conn, leased[0])
	assertLeaseHeld(t, conn, leased[1]) // until its client renews outside the new range

	m := iaaddrPattern.FindStringSubmatch(dhclientOn(t, lab, links[0].NS, links[0].ClientIf, dirs[0]))
	if m == nil || m[1] != leased[0] {
		t.Errorf("link1's client came back with %v, want its lease of %s", m, leased[0])
	}
}

// relayedLinkStatus is what the agent's status says of one relayed link of
// the boot server "lab".
func relayedLinkStatus(t *testing.T, conn *agentclient.Conn, name string) *netbootv1.RelayedLinkStatus {
	t.Helper()
	st, err := conn.GetBootServer(context.Background(), &netbootv1.GetBootServerRequest{Name: "lab"})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range st.GetStatus().GetRelayedLinks() {
		if l.GetName() == name {
			return l
		}
	}
	t.Fatalf("no relayed link %q in the status: %v", name, st.GetStatus())
	return nil
}
