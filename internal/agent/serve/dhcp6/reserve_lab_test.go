package dhcp6

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
)

// TestDhclientGetsItsReservedPrefix: dhclient -6 -P on a machine with a
// reserved prefix (by the MAC of its interface, which its DUID-LLT
// holds) is delegated that prefix, outside the pool, on the directly
// attached link and behind dhcrelay.
func TestDhclientGetsItsReservedPrefix(t *testing.T) {
	macOf := func(t *testing.T, lab *testlab.Lab, ns, ifname string) string {
		return strings.TrimSpace(lab.MustExec(t, ns, "cat", "/sys/class/net/"+ifname+"/address"))
	}
	check := func(t *testing.T, srv *Server, d *dhclient, reserved netip.Prefix) {
		t.Helper()
		env := d.waitEvent(t, 60*time.Second, "BOUND6")
		p := netip.MustParsePrefix(d.leaseFileMatch(t, iaprefPattern))
		if p != reserved {
			t.Fatalf("dhclient got prefix %s, want its reserved %s", p, reserved)
		}
		if got := env["new_ip6_prefix"]; got != p.String() {
			t.Errorf("script got new_ip6_prefix=%q, lease file says %s", got, p)
		}
		if l, ok := findLease(srv.Leases(), p.Addr()); !ok || l.Kind != lease.PD || l.Prefix() != p {
			t.Fatalf("server leases %v, want the delegation of %s", srv.Leases(), p)
		}
	}
	t.Run("direct", func(t *testing.T) {
		lab := newLab(t)
		cfg := seedLabConfig(t, lab)
		reserved := netip.MustParsePrefix("2001:db8:1:4200::/64")
		cfg.Reservations = []lease.Reservation{{Owner: "rtr1", Prefix: reserved, MACs: []string{macOf(t, lab, lab.ClientNS, lab.ClientIf)}}}
		srv := startIn(t, lab.ServerNS, cfg, newMemStore())
		d := newDhclient(t)
		d.run(t, lab, "-P")
		check(t, srv, d, reserved)
	})
	t.Run("relayed", func(t *testing.T) {
		lab, links, cfg := relayLab(t)
		cfg.DHCPv6.RelayedLinks[0].PrefixDelegation = &config.PrefixDelegation{
			Start: netip.MustParseAddr("2001:db8:1000::"), End: netip.MustParseAddr("2001:db8:1000:ff00::"), Length: 56}
		reserved := netip.MustParsePrefix("2001:db8:2000:4200::/56")
		cfg.Reservations = []lease.Reservation{{Owner: "rtr1", Prefix: reserved, MACs: []string{macOf(t, lab, links[0].NS, links[0].ClientIf)}}}
		srv := startIn(t, lab.ServerNS, cfg, newMemStore())
		lab.StartDhcrelay(t, links...)
		d := newDhclient(t)
		d.runOn(t, lab, links[0].NS, links[0].ClientIf, "-P")
		check(t, srv, d, reserved)
	})
}
