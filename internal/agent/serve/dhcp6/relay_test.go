package dhcp6

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"
	"golang.org/x/net/ipv6"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
)

// Two links behind one relay, as in the relays guide.
var (
	vlan10 = config.RelayedLink{Name: "vlan10", Prefix: netip.MustParsePrefix("2001:db8:10::/64"),
		Ranges: []config.AddressRange{{Start: netip.MustParseAddr("2001:db8:10::100"), End: netip.MustParseAddr("2001:db8:10::1ff")}}}
	vlan20 = config.RelayedLink{Name: "vlan20", Prefix: netip.MustParsePrefix("2001:db8:20::/64"),
		Ranges:     []config.AddressRange{{Start: netip.MustParseAddr("2001:db8:20::100"), End: netip.MustParseAddr("2001:db8:20::1ff")}},
		DNSServers: []netip.Addr{netip.MustParseAddr("2001:db8:20::53")}}
	relayAddr = netip.MustParseAddr("2001:db8:1::fe")
	relayMAC  = net.HardwareAddr{0x02, 0, 0, 0, 0x10, 0x01}
)

// relayHop is one relay a client message passes on its way to the server.
type relayHop struct {
	linkAddr    string
	interfaceID string
	mac         net.HardwareAddr // option 79, when the relay sends it
	sourcePort  bool             // RFC 8357 Relay Source Port option
}

// relayed wraps m as the relays of hops would, innermost first.
func relayed(t testing.TB, m dhcpv6.DHCPv6, hops ...relayHop) *dhcpv6.RelayMessage {
	t.Helper()
	peer := net.ParseIP("fe80::5054:ff:fe00:1")
	var rm *dhcpv6.RelayMessage
	for i, hop := range hops {
		var err error
		rm, err = dhcpv6.EncapsulateRelay(m, dhcpv6.MessageTypeRelayForward, net.ParseIP(hop.linkAddr), peer)
		if err != nil {
			t.Fatal(err)
		}
		rm.HopCount = uint8(i)
		if hop.interfaceID != "" {
			rm.AddOption(dhcpv6.OptInterfaceID([]byte(hop.interfaceID)))
		}
		if hop.mac != nil {
			rm.AddOption(dhcpv6.OptClientLinkLayerAddress(iana.HWTypeEthernet, hop.mac))
		}
		if hop.sourcePort {
			rm.AddOption(dhcpv6.OptRelayPort(0))
		}
		m, peer = rm, net.ParseIP(hop.linkAddr)
	}
	return rm
}

// rawConn records what the server sends, undecoded, and where to.
type rawConn struct {
	mu   sync.Mutex
	sent [][]byte
	dsts []*net.UDPAddr
}

func (c *rawConn) ReadBatch([]ipv6.Message, int) (int, error) { return 0, net.ErrClosed }
func (c *rawConn) WriteBatch(ms []ipv6.Message, _ int) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range ms {
		c.sent = append(c.sent, bytes.Clone(m.Buffers[0]))
		c.dsts = append(c.dsts, m.Addr.(*net.UDPAddr))
	}
	return len(ms), nil
}

// relayServer serves the direct link of testConfig and vlan10 and vlan20
// behind relays.
func relayServer(t *testing.T) (*Server, *rawConn, *memStore) {
	t.Helper()
	cfg := testConfig(config.DHCPv6Stateful)
	cfg.DHCPv6.RelayedLinks = []config.RelayedLink{vlan10, vlan20}
	cfg.DHCPv6.AllowLeasequery = true
	st := newMemStore()
	conn := &rawConn{}
	now := t0
	srv := newTestServer(t, cfg, st, conn, &now)
	if err := srv.applyRelayedLinks(cfg, true); err != nil {
		t.Fatal(err)
	}
	return srv, conn, st
}

// relayDatagram is rm as ReadBatch returns it from the relay's srcPort.
func relayDatagram(rm *dhcpv6.RelayMessage, srcPort int) ipv6.Message {
	b := rm.ToBytes()
	return ipv6.Message{Buffers: [][]byte{b}, N: len(b), Addr: &net.UDPAddr{IP: relayAddr.AsSlice(), Port: srcPort}}
}

// sendRelayed runs one Relay-Forward through srv and returns the Relay-Reply
// layers it sent, outermost first, and the client's Reply inside; nil when
// srv sent nothing.
func sendRelayed(t *testing.T, srv *Server, conn *rawConn, rm *dhcpv6.RelayMessage, srcPort int) ([]*dhcpv6.RelayMessage, *dhcpv6.Message, *net.UDPAddr) {
	t.Helper()
	conn.sent, conn.dsts = nil, nil
	var b batch
	srv.serveBatch([]ipv6.Message{relayDatagram(rm, srcPort)}, &b)
	if len(conn.sent) == 0 {
		return nil, nil, nil
	}
	parsed, err := dhcpv6.FromBytes(conn.sent[0])
	if err != nil {
		t.Fatalf("sent response does not parse: %v", err)
	}
	rr, ok := parsed.(*dhcpv6.RelayMessage)
	if !ok || rr.MessageType != dhcpv6.MessageTypeRelayReply {
		t.Fatalf("sent %s, want a Relay-Reply", parsed.Type())
	}
	layers, inner, err := unwrapReply(rr)
	if err != nil {
		t.Fatal(err)
	}
	return layers, inner, conn.dsts[0]
}

// unwrapReply is unwrapRelay for Relay-Replies.
func unwrapReply(rr *dhcpv6.RelayMessage) ([]*dhcpv6.RelayMessage, *dhcpv6.Message, error) {
	var layers []*dhcpv6.RelayMessage
	var cur dhcpv6.DHCPv6 = rr
	for {
		r, ok := cur.(*dhcpv6.RelayMessage)
		if !ok {
			return layers, cur.(*dhcpv6.Message), nil
		}
		if r.MessageType != dhcpv6.MessageTypeRelayReply {
			return nil, nil, errors.New("not a Relay-Reply")
		}
		layers = append(layers, r)
		if cur = r.Options.RelayMessage(); cur == nil {
			return nil, nil, errors.New("Relay-Reply without a message")
		}
	}
}

// leaseRelayed has client n lease an address by a Request relayed from
// linkAddr, and returns its DUID and the address.
func leaseRelayed(t *testing.T, srv *Server, conn *rawConn, n int, linkAddr string) (dhcpv6.DUID, netip.Addr) {
	t.Helper()
	cid, _ := batchClient(n)
	req := clientMessage(t, dhcpv6.MessageTypeRequest, cid, serverDUID, iaNA(1))
	_, reply, _ := sendRelayed(t, srv, conn, relayed(t, req, relayHop{linkAddr: linkAddr}), dhcpv6.DefaultServerPort)
	if reply == nil {
		t.Fatal("no Relay-Reply")
	}
	addr, _, _ := leased(t, reply)
	return cid, addr
}

func inRanges(a netip.Addr, ranges []config.AddressRange) bool {
	for _, r := range ranges {
		if r.Contains(a) {
			return true
		}
	}
	return false
}

// TestRelayedLinkSelection checks that the innermost relay's link-address
// alone picks the pool and options, whatever else the message says, and
// that the Reply goes back through every relay with its Interface-Id.
func TestRelayedLinkSelection(t *testing.T) {
	cid, _ := batchClient(7)
	tests := []struct {
		name    string
		hops    []relayHop
		hint    string // an address the client asks for
		want    config.RelayedLink
		wantDNS string
	}{
		{"vlan10", []relayHop{{linkAddr: "2001:db8:10::1", interfaceID: "eth1.10"}}, "", vlan10, "2001:db8:1::53"},
		{"vlan20 with its own DNS", []relayHop{{linkAddr: "2001:db8:20::1", interfaceID: "eth1.20"}}, "", vlan20, "2001:db8:20::53"},
		{"hint from another link", []relayHop{{linkAddr: "2001:db8:20::1"}}, "2001:db8:10::150", vlan20, "2001:db8:20::53"},
		{"hint from the direct link", []relayHop{{linkAddr: "2001:db8:10::1"}}, "2001:db8:1::150", vlan10, "2001:db8:1::53"},
		{"two relays: the innermost decides", []relayHop{
			{linkAddr: "2001:db8:20::1", interfaceID: "inner"},
			{linkAddr: "2001:db8:10::1", interfaceID: "outer"},
		}, "", vlan20, "2001:db8:20::53"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, conn, st := relayServer(t)
			var hints []string
			if tt.hint != "" {
				hints = append(hints, tt.hint)
			}
			req := clientMessage(t, dhcpv6.MessageTypeRequest, cid, serverDUID, iaNA(1, hints...))
			req.AddOption(dhcpv6.OptRequestedOption(dhcpv6.OptionDNSRecursiveNameServer))
			layers, reply, dst := sendRelayed(t, srv, conn, relayed(t, req, tt.hops...), dhcpv6.DefaultServerPort)
			if reply == nil {
				t.Fatal("no Relay-Reply")
			}
			if dst.Port != dhcpv6.DefaultServerPort || !dst.IP.Equal(relayAddr.AsSlice()) {
				t.Errorf("Relay-Reply sent to %s, want [%s]:547", dst, relayAddr)
			}
			if len(layers) != len(tt.hops) {
				t.Fatalf("%d Relay-Reply layers, want %d", len(layers), len(tt.hops))
			}
			for i, hop := range tt.hops {
				layer := layers[len(layers)-1-i]
				if got := string(layer.Options.InterfaceID()); got != hop.interfaceID {
					t.Errorf("relay %d: Interface-Id %q, want %q echoed", i, got, hop.interfaceID)
				}
				if !layer.LinkAddr.Equal(net.ParseIP(hop.linkAddr)) {
					t.Errorf("relay %d: link-address %s, want %s", i, layer.LinkAddr, hop.linkAddr)
				}
			}
			if reply.MessageType != dhcpv6.MessageTypeReply || reply.TransactionID != req.TransactionID {
				t.Fatalf("inner message %s, want the Reply to the Request", reply.Summary())
			}
			addr, _, _ := leased(t, reply)
			if !inRanges(addr, tt.want.Ranges) {
				t.Errorf("leased %s, want an address of %s's ranges", addr, tt.want.Name)
			}
			if dns := reply.Options.DNS(); len(dns) != 1 || dns[0].String() != tt.wantDNS {
				t.Errorf("DNS servers %v, want [%s]", dns, tt.wantDNS)
			}
			if _, ok := st.get(addr); !ok {
				t.Errorf("lease of %s not stored", addr)
			}
			if ls := srv.Leases(); len(ls) != 1 || ls[0].Address != addr {
				t.Errorf("Leases() = %+v, want the one of %s", ls, addr)
			}
		})
	}
}

// TestRelayedClientHardwareAddr checks that the link-layer address a relay
// reports (option 79) identifies a client whose DUID holds none (iPXE's
// DUID-UUID), for MAC selectors.
func TestRelayedClientHardwareAddr(t *testing.T) {
	srv, conn, st := relayServer(t)
	uuid := &dhcpv6.DUIDUUID{UUID: [16]byte{1, 2, 3}}
	req := clientMessage(t, dhcpv6.MessageTypeRequest, uuid, serverDUID, iaNA(1))
	_, reply, _ := sendRelayed(t, srv, conn, relayed(t, req, relayHop{linkAddr: "2001:db8:10::1", mac: relayMAC}), dhcpv6.DefaultServerPort)
	if reply == nil {
		t.Fatal("no Relay-Reply")
	}
	addr, _, _ := leased(t, reply)
	l, _ := st.get(addr)
	if l.HardwareAddr != relayMAC.String() || l.HardwareAddrSource != "relay" {
		t.Errorf("lease hardware address %q from %q, want %s from the relay", l.HardwareAddr, l.HardwareAddrSource, relayMAC)
	}
}

// TestRelayReplyPort checks RFC 8357: a relay that says it sends from
// another port gets its Relay-Reply there; one that does not, on 547.
func TestRelayReplyPort(t *testing.T) {
	cid, _ := batchClient(8)
	for _, tt := range []struct {
		sourcePort bool
		from, want int
	}{{false, 547, 547}, {true, 10547, 10547}, {false, 10547, 547}} {
		srv, conn, _ := relayServer(t)
		sol := clientMessage(t, dhcpv6.MessageTypeSolicit, cid, nil, iaNA(1))
		_, reply, dst := sendRelayed(t, srv, conn, relayed(t, sol, relayHop{linkAddr: "2001:db8:10::1", sourcePort: tt.sourcePort}), tt.from)
		if reply == nil {
			t.Fatalf("source port option %v from %d: no Relay-Reply", tt.sourcePort, tt.from)
		}
		if dst.Port != tt.want {
			t.Errorf("source port option %v from %d: sent to port %d, want %d", tt.sourcePort, tt.from, dst.Port, tt.want)
		}
	}
}

// TestRelayDrops checks what the server does not answer, and counts.
func TestRelayDrops(t *testing.T) {
	cid, _ := batchClient(9)
	sol := clientMessage(t, dhcpv6.MessageTypeSolicit, cid, nil, iaNA(1))
	hops := func(n int) []relayHop {
		hs := make([]relayHop, n)
		for i := range hs {
			hs[i] = relayHop{linkAddr: "2001:db8:10::1"}
		}
		return hs
	}
	tests := []struct {
		name          string
		rm            *dhcpv6.RelayMessage
		unknown, hops uint64
	}{
		{"link-address on no served link", relayed(t, sol, relayHop{linkAddr: "2001:db8:99::1"}), 1, 0},
		{"no link-address", relayed(t, sol, relayHop{linkAddr: "::"}), 1, 0},
		{"beyond the hop limit", relayed(t, sol, hops(hopLimit+1)...), 0, 1},
		{"hop-count at the limit", func() *dhcpv6.RelayMessage {
			rm := relayed(t, sol, relayHop{linkAddr: "2001:db8:10::1"})
			rm.HopCount = hopLimit
			return rm
		}(), 0, 1},
		{"a Relay-Reply", func() *dhcpv6.RelayMessage {
			rm := relayed(t, sol, relayHop{linkAddr: "2001:db8:10::1"})
			rm.MessageType = dhcpv6.MessageTypeRelayReply
			return rm
		}(), 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, conn, _ := relayServer(t)
			if _, reply, _ := sendRelayed(t, srv, conn, tt.rm, dhcpv6.DefaultServerPort); reply != nil {
				t.Fatalf("answered with %s", reply.Summary())
			}
			st := srv.Stats()
			if st.RelayUnknownLink != tt.unknown || st.RelayHopLimit != tt.hops {
				t.Errorf("unknown link %d, hop limit %d; want %d, %d", st.RelayUnknownLink, st.RelayHopLimit, tt.unknown, tt.hops)
			}
			typ := tt.rm.MessageType.String()
			if c := st.ByType[typ]; c.Received != 1 || c.Dropped != 1 {
				t.Errorf("%s counted %+v, want received and dropped", typ, c)
			}
		})
	}
	// At the limit is still served.
	srv, conn, _ := relayServer(t)
	if _, reply, _ := sendRelayed(t, srv, conn, relayed(t, sol, hops(hopLimit)...), dhcpv6.DefaultServerPort); reply == nil {
		t.Errorf("no answer through %d relays", hopLimit)
	}
}

// TestRelayedLeasesLoadPerLink checks that stored leases go back to their
// own link's pool at Start, and only those in no link's ranges are dropped.
func TestRelayedLeasesLoadPerLink(t *testing.T) {
	srv, _, _ := relayServer(t)
	mk := func(a string) lease.Lease {
		cid, _ := batchClient(int(netip.MustParseAddr(a).As16()[15]))
		return lease.Lease{Kind: lease.NA, Address: netip.MustParseAddr(a), DUID: cid.ToBytes(), IAID: 1, ValidUntil: t0.Add(time.Hour), PreferredUntil: t0.Add(time.Hour)}
	}
	stored := newMemStore()
	if err := stored.PutLeases([]lease.Lease{mk("2001:db8:1::101"), mk("2001:db8:10::102"), mk("2001:db8:20::103"), mk("2001:db8:30::104")}, nil); err != nil {
		t.Fatal(err)
	}
	var stale batch
	if err := srv.loadLeases(stored, &stale); err != nil {
		t.Fatal(err)
	}
	if _, gone := stale.writes[netip.MustParseAddr("2001:db8:30::104")]; len(stale.writes) != 1 || !gone {
		t.Errorf("deleted %v, want only the lease in no range", stale.writes)
	}
	if got := len(srv.Leases()); got != 3 {
		t.Errorf("%d leases listed, want 3", got)
	}
	h, rl, _ := srv.handlerFor(netip.MustParseAddr("2001:db8:10::1"))
	if _, ok := h.pool.LookupAddress(netip.MustParseAddr("2001:db8:10::102"), t0); !ok || rl == nil || rl.name != "vlan10" {
		t.Errorf("lease of vlan10 not in vlan10's pool")
	}
}

// TestApplyRelayedLinks checks that Apply keeps a link's leases when it
// stays, and a Relay-Forward for a removed link is dropped.
func TestApplyRelayedLinks(t *testing.T) {
	srv, conn, _ := relayServer(t)
	cid, _ := batchClient(5)
	req := clientMessage(t, dhcpv6.MessageTypeRequest, cid, serverDUID, iaNA(1))
	if _, reply, _ := sendRelayed(t, srv, conn, relayed(t, req, relayHop{linkAddr: "2001:db8:10::1"}), 547); reply == nil {
		t.Fatal("no Relay-Reply")
	}
	cfg := testConfig(config.DHCPv6Stateful)
	cfg.DHCPv6.RelayedLinks = []config.RelayedLink{vlan10}
	if err := srv.applyRelayedLinks(cfg, true); err != nil {
		t.Fatal(err)
	}
	if ls := srv.Leases(); len(ls) != 1 {
		t.Errorf("leases after Apply: %+v, want vlan10's kept", ls)
	}
	if _, reply, _ := sendRelayed(t, srv, conn, relayed(t, req, relayHop{linkAddr: "2001:db8:20::1"}), 547); reply != nil {
		t.Errorf("answered a client of the removed vlan20: %s", reply.Summary())
	}
}

// TestLeasequeryForRelayedLink checks that a leasequery sent straight to
// the server (RFC 5007, as relays send them) is answered from the link it
// names, or, naming none, from the link of the address or client.
func TestLeasequeryForRelayedLink(t *testing.T) {
	srv, conn, _ := relayServer(t)
	cid, addr := leaseRelayed(t, srv, conn, 11, "2001:db8:10::1")
	for _, tt := range []struct {
		name  string
		query dhcpv6.Option
		found bool
	}{
		{"by address", byAddress(addr.String()), true},
		{"by client", byClientID(cid), true},
		{"by address on its link", lqQueryOption(lqQueryByAddress, netip.MustParseAddr("2001:db8:10::1"), &dhcpv6.OptIAAddress{IPv6Addr: addr.AsSlice()}), true},
		{"by client on its link", lqQueryOption(lqQueryByClientID, netip.MustParseAddr("2001:db8:10::1"), dhcpv6.OptClientID(cid)), true},
		{"by client on another link", lqQueryOption(lqQueryByClientID, netip.MustParseAddr("2001:db8:20::1"), dhcpv6.OptClientID(cid)), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conn.sent = nil
			lq := newLeasequery(t, requestorDUID, tt.query)
			var b batch
			b.reset()
			d := datagram(lq, relayAddr)
			srv.serveBatch([]ipv6.Message{d}, &b)
			if len(conn.sent) != 1 {
				t.Fatalf("%d responses", len(conn.sent))
			}
			m, err := dhcpv6.MessageFromBytes(conn.sent[0])
			if err != nil {
				t.Fatal(err)
			}
			if got := m.GetOneOption(dhcpv6.OptionClientData) != nil; got != tt.found {
				t.Errorf("client data in the reply: %v, want %v (%s)", got, tt.found, m.Summary())
			}
		})
	}
}

// TestRelayedLinksStatus checks what the operator sees per link: the
// relays heard, the most recent last and at most maxRelaysSeen, and the
// leases held.
func TestRelayedLinksStatus(t *testing.T) {
	srv, conn, _ := relayServer(t)
	cid, _ := batchClient(12)
	req := clientMessage(t, dhcpv6.MessageTypeRequest, cid, serverDUID, iaNA(1))
	if _, reply, _ := sendRelayed(t, srv, conn, relayed(t, req, relayHop{linkAddr: "2001:db8:10::1"}), 547); reply == nil {
		t.Fatal("no Relay-Reply")
	}
	st := srv.RelayedLinks()
	if len(st) != 2 || st[0].Name != "vlan10" || st[0].Leases != 1 || len(st[0].Relays) != 1 || st[0].Relays[0] != relayAddr ||
		st[1].Name != "vlan20" || st[1].Leases != 0 || len(st[1].Relays) != 0 {
		t.Fatalf("RelayedLinks() = %+v", st)
	}

	var seen relaysSeen
	for i := range maxRelaysSeen + 3 {
		seen.note(netip.AddrFrom16([16]byte{0x20, 0x01, 15: byte(i)}))
	}
	seen.note(netip.AddrFrom16([16]byte{0x20, 0x01, 15: 5}))
	got := seen.list()
	if len(got) != maxRelaysSeen || got[0].As16()[15] != 3 || got[len(got)-1].As16()[15] != 5 {
		t.Errorf("relays seen %v, want the last %d, the one heard again last", got, maxRelaysSeen)
	}
}

// unreadableStore is a memStore whose leases cannot be read.
type unreadableStore struct{ *memStore }

func (unreadableStore) Leases() ([]lease.Lease, error) { return nil, errors.New("disk gone") }

// TestApplyRelayedLinksUnreadableStore checks that a new link whose stored
// leases cannot be read fails Apply whole: no link added, none changed.
func TestApplyRelayedLinksUnreadableStore(t *testing.T) {
	cfg := testConfig(config.DHCPv6Stateful)
	cfg.DHCPv6.RelayedLinks = []config.RelayedLink{vlan10}
	now := t0
	srv := newTestServer(t, cfg, unreadableStore{newMemStore()}, &rawConn{}, &now)
	if err := srv.applyRelayedLinks(cfg, false); err != nil {
		t.Fatal(err)
	}
	next := cfg
	moved := vlan10
	moved.Ranges = vlan20.Ranges
	next.DHCPv6.RelayedLinks = []config.RelayedLink{moved, vlan20}
	if err := srv.applyRelayedLinks(next, true); err == nil {
		t.Fatal("Apply with unreadable leases succeeded")
	}
	st := srv.RelayedLinks()
	if len(st) != 1 || st[0].Name != "vlan10" {
		t.Fatalf("links after a failed Apply: %+v", st)
	}
	h, _, _ := srv.handlerFor(netip.MustParseAddr("2001:db8:10::1"))
	if got := h.cfg.Load().DHCPv6.Ranges; got[0] != vlan10.Ranges[0] {
		t.Errorf("vlan10's ranges changed to %v by a failed Apply", got)
	}
}

// TestRelayedLinkByInterfaceID checks that a relay sending no
// link-address names the link by Interface-Id, and that a relay sending
// one cannot pick another link by Interface-Id.
func TestRelayedLinkByInterfaceID(t *testing.T) {
	cfg := testConfig(config.DHCPv6Stateful)
	byID := vlan10
	byID.InterfaceID = "eth1.10"
	cfg.DHCPv6.RelayedLinks = []config.RelayedLink{byID, vlan20}
	cid, _ := batchClient(13)
	for _, tt := range []struct {
		name string
		hop  relayHop
		want *config.RelayedLink // nil: dropped
	}{
		{"no link-address, its Interface-Id", relayHop{linkAddr: "::", interfaceID: "eth1.10"}, &vlan10},
		{"a link-address wins over Interface-Id", relayHop{linkAddr: "2001:db8:20::1", interfaceID: "eth1.10"}, &vlan20},
		{"no link-address, unknown Interface-Id", relayHop{linkAddr: "::", interfaceID: "eth1.99"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			now := t0
			conn := &rawConn{}
			srv := newTestServer(t, cfg, newMemStore(), conn, &now)
			if err := srv.applyRelayedLinks(cfg, true); err != nil {
				t.Fatal(err)
			}
			req := clientMessage(t, dhcpv6.MessageTypeRequest, cid, serverDUID, iaNA(1))
			_, reply, _ := sendRelayed(t, srv, conn, relayed(t, req, tt.hop), 547)
			if tt.want == nil {
				if reply != nil || srv.Stats().RelayUnknownLink != 1 {
					t.Fatalf("reply %v, unknown-link drops %d; want it dropped and counted", reply, srv.Stats().RelayUnknownLink)
				}
				return
			}
			if reply == nil {
				t.Fatal("no Relay-Reply")
			}
			if addr, _, _ := leased(t, reply); !inRanges(addr, tt.want.Ranges) {
				t.Errorf("leased %s, want one of %s's", addr, tt.want.Name)
			}
		})
	}
}

// TestApplyEditingOneRelayedLink checks that Apply changing one link's
// range changes that link in place and leaves every other link as it was:
// the same handler and pool, its leases and the relays heard.
func TestApplyEditingOneRelayedLink(t *testing.T) {
	srv, conn, _ := relayServer(t)
	_, addr := leaseRelayed(t, srv, conn, 31, "2001:db8:10::1")
	h10, _, _ := srv.handlerFor(netip.MustParseAddr("2001:db8:10::1"))
	h20, _, _ := srv.handlerFor(netip.MustParseAddr("2001:db8:20::1"))
	pool10 := h10.pool

	moved := vlan20
	moved.Ranges = []config.AddressRange{{Start: netip.MustParseAddr("2001:db8:20::200"), End: netip.MustParseAddr("2001:db8:20::2ff")}}
	cfg := testConfig(config.DHCPv6Stateful)
	cfg.DHCPv6.RelayedLinks = []config.RelayedLink{vlan10, moved}
	cfg.Interface.Index = srv.link.ifi.Index
	if err := srv.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	if h, _, _ := srv.handlerFor(netip.MustParseAddr("2001:db8:10::1")); h != h10 || h.pool != pool10 {
		t.Error("vlan10 got a new handler or pool when only vlan20 changed")
	}
	if h, _, _ := srv.handlerFor(netip.MustParseAddr("2001:db8:20::1")); h != h20 || h.cfg.Load().DHCPv6.Ranges[0] != moved.Ranges[0] {
		t.Error("vlan20 was not changed in place")
	}
	if _, ok := h10.pool.LookupAddress(addr, t0); !ok {
		t.Errorf("vlan10's lease of %s dropped", addr)
	}
	if st := srv.RelayedLinks(); st[0].Leases != 1 || len(st[0].Relays) != 1 {
		t.Errorf("vlan10's status after the edit: %+v", st[0])
	}
}
