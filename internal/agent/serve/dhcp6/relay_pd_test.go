package dhcp6

import (
	"net/netip"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"
	"golang.org/x/net/ipv6"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
)

// vlan10PD is vlan10 delegating /56s of 2001:db8:1000::/48.
var vlan10PD = func() config.RelayedLink {
	l := vlan10
	l.PrefixDelegation = &config.PrefixDelegation{Start: netip.MustParseAddr("2001:db8:1000::"), End: netip.MustParseAddr("2001:db8:1000:ff00::"), Length: 56}
	return l
}()

// relayPDServer serves vlan10 with prefix delegation and vlan20 without,
// keeping its leases in st; as Start, it leaves loading them to
// loadLeases.
func relayPDServer(t *testing.T, st LeaseStore) (*Server, *rawConn) {
	t.Helper()
	cfg := testConfig(config.DHCPv6Stateful)
	cfg.DHCPv6.RelayedLinks = []config.RelayedLink{vlan10PD, vlan20}
	cfg.DHCPv6.AllowLeasequery = true
	conn := &rawConn{}
	now := t0
	srv := newTestServer(t, cfg, st, conn, &now)
	if err := srv.applyRelayedLinks(cfg, false); err != nil {
		t.Fatal(err)
	}
	return srv, conn
}

// TestRelayedPrefixDelegation checks that a router behind a relay gets a
// prefix from its own link's pool, a link without one answers
// NoPrefixAvail, and the delegation goes back to its link's pool at the
// next start and is found by leasequery.
func TestRelayedPrefixDelegation(t *testing.T) {
	st := newMemStore()
	srv, conn := relayPDServer(t, st)
	cid, _ := batchClient(21)
	req := clientMessage(t, dhcpv6.MessageTypeRequest, cid, serverDUID)
	req.AddOption(iaPD(1))
	_, reply, _ := sendRelayed(t, srv, conn, relayed(t, req, relayHop{linkAddr: "2001:db8:10::1"}), dhcpv6.DefaultServerPort)
	if reply == nil {
		t.Fatal("no Relay-Reply")
	}
	p, _, _ := granted(t, reply, lease.PD)
	if !vlan10PD.PrefixDelegation.Contains(p) {
		t.Fatalf("delegated %s, want a /56 of vlan10's pool", p)
	}
	if l, ok := st.get(p.Addr()); !ok || l.Kind != lease.PD {
		t.Errorf("delegation of %s not stored", p)
	}
	if ls := srv.RelayedLinks(); ls[0].Leases != 1 || ls[1].Leases != 0 {
		t.Errorf("RelayedLinks() = %+v, want the delegation counted on vlan10", ls)
	}

	other, _ := batchClient(22)
	req = clientMessage(t, dhcpv6.MessageTypeRequest, other, serverDUID)
	req.AddOption(iaPD(1, p.String()))
	_, reply, _ = sendRelayed(t, srv, conn, relayed(t, req, relayHop{linkAddr: "2001:db8:20::1"}), dhcpv6.DefaultServerPort)
	if reply == nil {
		t.Fatal("no Relay-Reply from vlan20")
	}
	if pd := reply.Options.OneIAPD(); pd == nil || pd.Options.Status() == nil || pd.Options.Status().StatusCode != iana.StatusNoPrefixAvail {
		t.Errorf("vlan20, which delegates nothing, answered %s; want NoPrefixAvail", reply.Summary())
	}

	restarted, conn := relayPDServer(t, st)
	var stale batch
	if err := restarted.loadLeases(st, &stale); err != nil {
		t.Fatal(err)
	}
	if len(stale.writes) != 0 {
		t.Errorf("a restart deletes %v, want vlan10's delegation kept", stale.writes)
	}
	h, _, _ := restarted.handlerFor(netip.MustParseAddr("2001:db8:10::1"))
	if _, ok := h.pool.LookupAddress(p.Addr(), t0); !ok {
		t.Errorf("delegation of %s not back in vlan10's pool", p)
	}

	lq := newLeasequery(t, requestorDUID, byAddress(p.Addr().String()))
	var b batch
	restarted.serveBatch([]ipv6.Message{datagram(lq, relayAddr)}, &b)
	if len(conn.sent) != 1 {
		t.Fatalf("%d leasequery responses", len(conn.sent))
	}
	m, err := dhcpv6.MessageFromBytes(conn.sent[0])
	if err != nil {
		t.Fatal(err)
	}
	if m.GetOneOption(dhcpv6.OptionClientData) == nil {
		t.Errorf("leasequery for the delegated %s found nothing: %s", p, m.Summary())
	}
}

// TestRelayedRouterGetsItsReservedPrefix: a router behind a relay,
// recognised by the MAC the relay reports (option 79), is delegated the
// prefix reserved for it outside vlan10's pool; another router on the link
// asking for that prefix gets one of the pool; after a restart the
// reserved delegation is vlan10's again.
func TestRelayedRouterGetsItsReservedPrefix(t *testing.T) {
	reserved := netip.MustParsePrefix("2001:db8:2000:4200::/56")
	st := newMemStore()
	start := func() (*Server, *rawConn) {
		cfg := testConfig(config.DHCPv6Stateful)
		cfg.DHCPv6.RelayedLinks = []config.RelayedLink{vlan10PD, vlan20}
		cfg.Reservations = []lease.Reservation{{Owner: "rtr1", Prefix: reserved, MACs: []string{relayMAC.String()}}}
		conn := &rawConn{}
		now := t0
		srv := newTestServer(t, cfg, st, conn, &now)
		if err := srv.applyRelayedLinks(cfg, false); err != nil {
			t.Fatal(err)
		}
		return srv, conn
	}
	srv, conn := start()
	for _, tc := range []struct {
		name string
		uuid byte
		mac  []byte
		want bool
	}{
		{"the machine", 1, relayMAC, true},
		{"another router asking for it", 2, []byte{0x02, 0, 0, 0, 0x10, 0x02}, false},
	} {
		req := clientMessage(t, dhcpv6.MessageTypeRequest, &dhcpv6.DUIDUUID{UUID: [16]byte{tc.uuid}}, serverDUID)
		req.AddOption(iaPD(1, reserved.String()))
		_, reply, _ := sendRelayed(t, srv, conn, relayed(t, req, relayHop{linkAddr: "2001:db8:10::1", mac: tc.mac}), dhcpv6.DefaultServerPort)
		if reply == nil {
			t.Fatalf("%s: no Relay-Reply", tc.name)
		}
		p, _, _ := granted(t, reply, lease.PD)
		if got := p == reserved; got != tc.want {
			t.Errorf("%s delegated %s; reserved %s: want %v", tc.name, p, reserved, tc.want)
		}
		if !tc.want && !vlan10PD.PrefixDelegation.Contains(p) {
			t.Errorf("%s delegated %s, outside vlan10's pool", tc.name, p)
		}
	}
	restarted, _ := start()
	var stale batch
	if err := restarted.loadLeases(st, &stale); err != nil {
		t.Fatal(err)
	}
	if len(stale.writes) != 0 {
		t.Errorf("a restart deletes %v, want the reserved delegation kept", stale.writes)
	}
	h, _, _ := restarted.handlerFor(netip.MustParseAddr("2001:db8:10::1"))
	if l, ok := h.pool.LookupAddress(reserved.Addr(), t0); !ok || l.Prefix() != reserved {
		t.Errorf("reserved delegation of %s not back in vlan10's pool", reserved)
	}
}
