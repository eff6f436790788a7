package dhcp6

import (
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/link"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
)

var (
	t0         = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	serverMAC  = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x01}
	serverDUID = &dhcpv6.DUIDLL{HWType: iana.HWTypeEthernet, LinkLayerAddr: serverMAC}
	clientMAC  = net.HardwareAddr{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}
	clientDUID = &dhcpv6.DUIDLL{HWType: iana.HWTypeEthernet, LinkLayerAddr: clientMAC}
	clientLL   = netip.MustParseAddr("fe80::5054:ff:fe12:3456")
	otherDUID  = &dhcpv6.DUIDLL{HWType: iana.HWTypeEthernet, LinkLayerAddr: net.HardwareAddr{0x02, 0, 0, 0, 0, 0x99}}
)

func testConfig(mode config.DHCPv6Mode) Config {
	cfg := Config{
		Interface: link.Interface{Name: "eth0"},
		Prefix:    netip.MustParsePrefix("2001:db8:1::/64"),
		DHCPv6: config.DHCPv6{
			Mode:              mode,
			DNSServers:        []netip.Addr{netip.MustParseAddr("2001:db8:1::53")},
			DomainSearch:      []string{"boot.example"},
			Preference:        10,
			RenewTime:         30 * time.Minute,
			RebindTime:        48 * time.Minute,
			PreferredLifetime: time.Hour,
			ValidLifetime:     2 * time.Hour,
			RapidCommit:       true,
			InfoRefreshTime:   time.Hour,
		},
	}
	if mode == config.DHCPv6Stateful {
		cfg.DHCPv6.Ranges = []config.AddressRange{{
			Start: netip.MustParseAddr("2001:db8:1::100"),
			End:   netip.MustParseAddr("2001:db8:1::1ff"),
		}}
	}
	return cfg
}

// memStore is a LeaseStore in memory that can be told to fail.
type memStore struct {
	mu      sync.Mutex
	leases  map[netip.Addr]lease.Lease
	failPut error
}

func newMemStore() *memStore { return &memStore{leases: map[netip.Addr]lease.Lease{}} }

func (m *memStore) PutLeases(put []lease.Lease, del []netip.Addr) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failPut != nil {
		return m.failPut
	}
	for _, l := range put {
		m.leases[l.Address] = l
	}
	for _, a := range del {
		delete(m.leases, a)
	}
	return nil
}

func (m *memStore) Leases() ([]lease.Lease, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []lease.Lease
	for _, l := range m.leases {
		out = append(out, l)
	}
	return out, nil
}

func (m *memStore) get(a netip.Addr) (lease.Lease, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.leases[a]
	return l, ok
}

func (m *memStore) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.leases)
}

func newTestHandler(cfg Config) (*handler, *memStore) {
	store := newMemStore()
	return newHandler(serverDUID, cfg, lease.NewPool(spacesOf(cfg)), store, slog.New(slog.DiscardHandler)), store
}

// handleAlone runs req through h as the server does when req is the only
// message of its batch: a response that announces a lease is returned only
// once the batch is committed.
func (h *handler) handleAlone(req *dhcpv6.Message, peer netip.Addr, unicast bool, now time.Time) (*dhcpv6.Message, error) {
	var b batch
	resp, err := h.handle(&b, req, peer, unicast, now)
	if err != nil {
		return nil, err
	}
	if err := h.persist(&b); err != nil {
		h.abandon(&b, err, now)
		if b.puts > 0 {
			return nil, err
		}
	}
	h.stored(&b)
	return resp, nil
}

// apply does what Server.Apply does, without a socket.
func (h *handler) apply(cfg Config) {
	h.pool.Update(spacesOf(cfg))
	h.cfg.Store(&cfg)
}

func newSolicit(t testing.TB, mods ...dhcpv6.Modifier) *dhcpv6.Message {
	t.Helper()
	m, err := dhcpv6.NewSolicit(clientMAC, append([]dhcpv6.Modifier{dhcpv6.WithClientID(clientDUID)}, mods...)...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// clientMessage builds a message of typ from the client, optionally to
// server sid, carrying ias.
func clientMessage(t testing.TB, typ dhcpv6.MessageType, cid, sid dhcpv6.DUID, ias ...*dhcpv6.OptIANA) *dhcpv6.Message {
	t.Helper()
	m, err := dhcpv6.NewMessage()
	if err != nil {
		t.Fatal(err)
	}
	m.MessageType = typ
	if cid != nil {
		m.AddOption(dhcpv6.OptClientID(cid))
	}
	if sid != nil {
		m.AddOption(dhcpv6.OptServerID(sid))
	}
	m.AddOption(dhcpv6.OptElapsedTime(0))
	for _, ia := range ias {
		m.AddOption(ia)
	}
	return m
}

// clientIAID is the IAID NewSolicit derives from clientMAC's last 4 bytes.
const clientIAID = 0x00123456

func iaNA(iaid uint32, addrs ...string) *dhcpv6.OptIANA {
	o := &dhcpv6.OptIANA{}
	binary.BigEndian.PutUint32(o.IaId[:], iaid)
	for _, a := range addrs {
		o.Options.Add(&dhcpv6.OptIAAddress{IPv6Addr: net.ParseIP(a), PreferredLifetime: time.Hour, ValidLifetime: 2 * time.Hour})
	}
	return o
}

// exchange runs req through h and fails unless h answers.
func exchange(t testing.TB, h *handler, req *dhcpv6.Message, now time.Time) *dhcpv6.Message {
	t.Helper()
	resp, err := h.handleAlone(req, clientLL, false, now)
	if err != nil {
		t.Fatalf("%s: %v", req.MessageType, err)
	}
	// What goes on the wire must parse back.
	parsed, err := dhcpv6.MessageFromBytes(resp.ToBytes())
	if err != nil {
		t.Fatalf("%s response does not parse: %v", req.MessageType, err)
	}
	if parsed.TransactionID != req.TransactionID {
		t.Fatalf("transaction ID %s, want %s", parsed.TransactionID, req.TransactionID)
	}
	if sid := parsed.Options.ServerID(); sid == nil || !sid.Equal(serverDUID) {
		t.Fatalf("%s response has server ID %v, want %v", req.MessageType, sid, serverDUID)
	}
	return parsed
}

func mustDiscard(t *testing.T, h *handler, req *dhcpv6.Message, unicast bool) {
	t.Helper()
	resp, err := h.handleAlone(req, clientLL, unicast, t0)
	if !errors.Is(err, errDiscard) || resp != nil {
		t.Fatalf("%s: got response %v, error %v; want it discarded", req.MessageType, resp, err)
	}
}

// leased returns the one address in the first IA_NA with non-zero lifetimes.
func leased(t *testing.T, m *dhcpv6.Message) (netip.Addr, *dhcpv6.OptIANA, *dhcpv6.OptIAAddress) {
	t.Helper()
	ia := m.Options.OneIANA()
	if ia == nil {
		t.Fatalf("%s has no IA_NA: %s", m.MessageType, m.Summary())
	}
	for _, a := range ia.Options.Addresses() {
		if a.ValidLifetime > 0 {
			addr, _ := netip.AddrFromSlice(a.IPv6Addr)
			return addr, ia, a
		}
	}
	t.Fatalf("%s IA_NA holds no valid address: %s", m.MessageType, m.Summary())
	return netip.Addr{}, nil, nil
}

func status(m *dhcpv6.Message) iana.StatusCode {
	if s := m.Options.Status(); s != nil {
		return s.StatusCode
	}
	return iana.StatusSuccess
}

func iaStatusOf(m *dhcpv6.Message) iana.StatusCode {
	if ia := m.Options.OneIANA(); ia != nil {
		if s := ia.Options.Status(); s != nil {
			return s.StatusCode
		}
	}
	return iana.StatusSuccess
}

func inRange(a netip.Addr) bool {
	return testConfig(config.DHCPv6Stateful).DHCPv6.Ranges[0].Contains(a)
}

func hasDNSOptions(m *dhcpv6.Message) bool {
	dns := m.Options.DNS()
	ds := m.Options.DomainSearchList()
	return len(dns) == 1 && dns[0].Equal(net.ParseIP("2001:db8:1::53")) && ds != nil && slices.Equal(ds.Labels, []string{"boot.example"})
}

func TestSolicit(t *testing.T) {
	noRapid := testConfig(config.DHCPv6Stateful)
	noRapid.DHCPv6.RapidCommit = false
	tests := []struct {
		name       string
		cfg        Config
		mods       []dhcpv6.Modifier
		wantType   dhcpv6.MessageType
		wantStored bool
	}{
		{name: "advertise", cfg: testConfig(config.DHCPv6Stateful), wantType: dhcpv6.MessageTypeAdvertise},
		{name: "rapid commit", cfg: testConfig(config.DHCPv6Stateful), mods: []dhcpv6.Modifier{dhcpv6.WithRapidCommit}, wantType: dhcpv6.MessageTypeReply, wantStored: true},
		{name: "rapid commit not configured", cfg: noRapid, mods: []dhcpv6.Modifier{dhcpv6.WithRapidCommit}, wantType: dhcpv6.MessageTypeAdvertise},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, store := newTestHandler(tt.cfg)
			resp := exchange(t, h, newSolicit(t, tt.mods...), t0)
			if resp.MessageType != tt.wantType {
				t.Fatalf("got %s, want %s", resp.MessageType, tt.wantType)
			}
			if cid := resp.Options.ClientID(); cid == nil || !cid.Equal(clientDUID) {
				t.Errorf("client ID %v, want %v", cid, clientDUID)
			}
			addr, ia, ad := leased(t, resp)
			if !inRange(addr) {
				t.Errorf("address %s outside the range", addr)
			}
			if ia.T1 != 30*time.Minute || ia.T2 != 48*time.Minute || ad.PreferredLifetime != time.Hour || ad.ValidLifetime != 2*time.Hour {
				t.Errorf("T1/T2 %s/%s, lifetimes %s/%s; want 30m/48m, 1h/2h", ia.T1, ia.T2, ad.PreferredLifetime, ad.ValidLifetime)
			}
			if !hasDNSOptions(resp) {
				t.Errorf("DNS options missing: %s", resp.Summary())
			}
			rapid := resp.GetOneOption(dhcpv6.OptionRapidCommit) != nil
			if rapid != (tt.wantType == dhcpv6.MessageTypeReply) {
				t.Errorf("rapid commit option present: %v", rapid)
			}
			pref := resp.GetOneOption(dhcpv6.OptionPreference) != nil
			if pref != (tt.wantType == dhcpv6.MessageTypeAdvertise) {
				t.Errorf("preference option present: %v, want it only in Advertise", pref)
			}
			if _, stored := store.get(addr); stored != tt.wantStored {
				t.Errorf("lease stored: %v, want %v (offers are not persisted)", stored, tt.wantStored)
			}
			if got := exchange(t, h, newSolicit(t, tt.mods...), t0.Add(time.Second)); !got.Options.OneIANA().Options.OneAddress().IPv6Addr.Equal(addr.AsSlice()) {
				t.Errorf("a second Solicit got another address: %s", got.Summary())
			}
		})
	}
}

func TestSolicitWithoutAddresses(t *testing.T) {
	oneAddress := testConfig(config.DHCPv6Stateful)
	oneAddress.DHCPv6.Ranges[0].End = oneAddress.DHCPv6.Ranges[0].Start
	tests := []struct {
		name  string
		cfg   Config
		setup func(t *testing.T, h *handler)
		req   func(t *testing.T) *dhcpv6.Message
	}{
		{name: "stateless", cfg: testConfig(config.DHCPv6Stateless), req: func(t *testing.T) *dhcpv6.Message { return newSolicit(t) }},
		{name: "stateless with rapid commit", cfg: testConfig(config.DHCPv6Stateless), req: func(t *testing.T) *dhcpv6.Message { return newSolicit(t, dhcpv6.WithRapidCommit) }},
		{name: "no IA_NA", cfg: testConfig(config.DHCPv6Stateful), req: func(t *testing.T) *dhcpv6.Message {
			return clientMessage(t, dhcpv6.MessageTypeSolicit, clientDUID, nil)
		}},
		// Leased, not merely offered: an offer gives way to another client.
		{name: "pool exhausted", cfg: oneAddress, setup: func(t *testing.T, h *handler) {
			if _, _, err := h.pool.Bind(lease.Lease{Kind: lease.NA, DUID: otherDUID.ToBytes(), IAID: 1, ValidUntil: t0.Add(time.Hour)}, t0); err != nil {
				t.Fatal(err)
			}
		}, req: func(t *testing.T) *dhcpv6.Message { return newSolicit(t) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := newTestHandler(tt.cfg)
			if tt.setup != nil {
				tt.setup(t, h)
			}
			resp := exchange(t, h, tt.req(t), t0)
			// RFC 8415 section 18.3.9: only the status and the identifiers.
			if resp.MessageType != dhcpv6.MessageTypeAdvertise || status(resp) != iana.StatusNoAddrsAvail || len(resp.Options.Options) != 3 {
				t.Errorf("got %s, want an Advertise with only NoAddrsAvail and the identifiers", resp.Summary())
			}
		})
	}
}

func TestDiscarded(t *testing.T) {
	h, _ := newTestHandler(testConfig(config.DHCPv6Stateful))
	withServerID := newSolicit(t)
	withServerID.AddOption(dhcpv6.OptServerID(serverDUID))
	tests := []struct {
		name    string
		req     *dhcpv6.Message
		unicast bool
	}{
		{"Solicit with server ID", withServerID, false},
		{"Solicit without client ID", clientMessage(t, dhcpv6.MessageTypeSolicit, nil, nil, iaNA(1)), false},
		{"Solicit by unicast", newSolicit(t), true},
		{"Request for another server", clientMessage(t, dhcpv6.MessageTypeRequest, clientDUID, otherDUID, iaNA(1)), false},
		{"Request without server ID", clientMessage(t, dhcpv6.MessageTypeRequest, clientDUID, nil, iaNA(1)), false},
		{"Request without client ID", clientMessage(t, dhcpv6.MessageTypeRequest, nil, serverDUID, iaNA(1)), false},
		{"Renew for another server", clientMessage(t, dhcpv6.MessageTypeRenew, clientDUID, otherDUID, iaNA(1, "2001:db8:1::100")), false},
		{"Release for another server", clientMessage(t, dhcpv6.MessageTypeRelease, clientDUID, otherDUID, iaNA(1, "2001:db8:1::100")), false},
		{"Decline for another server", clientMessage(t, dhcpv6.MessageTypeDecline, clientDUID, otherDUID, iaNA(1, "2001:db8:1::100")), false},
		{"Rebind with server ID", clientMessage(t, dhcpv6.MessageTypeRebind, clientDUID, serverDUID, iaNA(1, "2001:db8:1::100")), false},
		{"Confirm with server ID", clientMessage(t, dhcpv6.MessageTypeConfirm, clientDUID, serverDUID, iaNA(1, "2001:db8:1::100")), false},
		{"Confirm without addresses", clientMessage(t, dhcpv6.MessageTypeConfirm, clientDUID, nil, iaNA(1)), false},
		{"Information-request for another server", clientMessage(t, dhcpv6.MessageTypeInformationRequest, clientDUID, otherDUID), false},
		{"Information-request with IA_NA", clientMessage(t, dhcpv6.MessageTypeInformationRequest, clientDUID, nil, iaNA(1)), false},
		{"Information-request by unicast", clientMessage(t, dhcpv6.MessageTypeInformationRequest, clientDUID, nil), true},
		{"Advertise", clientMessage(t, dhcpv6.MessageTypeAdvertise, clientDUID, serverDUID), false},
		{"Reply", clientMessage(t, dhcpv6.MessageTypeReply, clientDUID, serverDUID), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { mustDiscard(t, h, tt.req, tt.unicast) })
	}
}

func TestUnicastGetsUseMulticast(t *testing.T) {
	h, store := newTestHandler(testConfig(config.DHCPv6Stateful))
	for _, typ := range []dhcpv6.MessageType{dhcpv6.MessageTypeRequest, dhcpv6.MessageTypeRenew, dhcpv6.MessageTypeRelease, dhcpv6.MessageTypeDecline} {
		resp, err := h.handleAlone(clientMessage(t, typ, clientDUID, serverDUID, iaNA(1, "2001:db8:1::100")), clientLL, true, t0)
		if err != nil || resp == nil || status(resp) != iana.StatusUseMulticast || resp.Options.OneIANA() != nil {
			t.Errorf("unicast %s: got %v, %v; want a Reply with only UseMulticast", typ, resp, err)
		}
	}
	if store.len() != 0 {
		t.Error("a unicast message changed the leases")
	}
}

// request runs Solicit, then Request for the advertised address, as a
// client would, and returns the Reply.
func request(t *testing.T, h *handler, now time.Time, mods ...dhcpv6.Modifier) *dhcpv6.Message {
	t.Helper()
	adv := exchange(t, h, newSolicit(t, mods...), now)
	req, err := dhcpv6.NewRequestFromAdvertise(adv, mods...)
	if err != nil {
		t.Fatal(err)
	}
	return exchange(t, h, req, now)
}

func TestRequestStoresLeaseWithClientDetails(t *testing.T) {
	h, store := newTestHandler(testConfig(config.DHCPv6Stateful))
	uuid := &dhcpv6.DUIDUUID{UUID: [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}}
	ipxe := []dhcpv6.Modifier{dhcpv6.WithClientID(uuid), dhcpv6.WithArchType(iana.EFI_X86_64), dhcpv6.WithUserClass([]byte("iPXE"))}
	adv := exchange(t, h, newSolicit(t, ipxe...), t0)
	offered, _, _ := leased(t, adv)
	req, err := dhcpv6.NewRequestFromAdvertise(adv, ipxe...)
	if err != nil {
		t.Fatal(err)
	}
	reply := exchange(t, h, req, t0)
	if reply.MessageType != dhcpv6.MessageTypeReply || reply.GetOneOption(dhcpv6.OptionPreference) != nil || !hasDNSOptions(reply) {
		t.Errorf("got %s, want a Reply with DNS options and no preference", reply.Summary())
	}
	addr, _, _ := leased(t, reply)
	if addr != offered {
		t.Errorf("Reply leased %s, Advertise offered %s", addr, offered)
	}
	l, ok := store.get(addr)
	switch {
	case !ok:
		t.Fatalf("lease of %s not stored before the Reply", addr)
	case l.ClientArch == nil || *l.ClientArch != uint16(iana.EFI_X86_64):
		t.Errorf("stored arch %v, want 7", l.ClientArch)
	case l.UserClass != "iPXE":
		t.Errorf("stored user class %q, want iPXE", l.UserClass)
	case l.HardwareAddr != clientMAC.String() || l.HardwareAddrSource != "link-local":
		t.Errorf("stored hardware address %q from %q, want %s from the link-local address", l.HardwareAddr, l.HardwareAddrSource, clientMAC)
	case !l.ValidUntil.Equal(t0.Add(2*time.Hour)) || !l.PreferredUntil.Equal(t0.Add(time.Hour)):
		t.Errorf("stored lifetimes %s/%s", l.PreferredUntil, l.ValidUntil)
	case string(l.DUID) != string(uuid.ToBytes()) || l.IAID != clientIAID:
		t.Errorf("stored identity %x/%d", l.DUID, l.IAID)
	}
}

func TestRequest(t *testing.T) {
	tests := []struct {
		name       string
		cfg        Config
		ias        []*dhcpv6.OptIANA
		wantStatus iana.StatusCode
		wantAddr   string // leased address, if any
		wantZero   []string
	}{
		{name: "honours a free address from the client", cfg: testConfig(config.DHCPv6Stateful), ias: []*dhcpv6.OptIANA{iaNA(1, "2001:db8:1::1a0")}, wantAddr: "2001:db8:1::1a0"},
		{name: "addresses outside the ranges get lifetimes 0", cfg: testConfig(config.DHCPv6Stateful), ias: []*dhcpv6.OptIANA{iaNA(1, "2001:db8:99::1", "2001:db8:1::1a0")}, wantZero: []string{"2001:db8:99::1"}},
		{name: "stateless", cfg: testConfig(config.DHCPv6Stateless), ias: []*dhcpv6.OptIANA{iaNA(1)}, wantStatus: iana.StatusNoAddrsAvail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, store := newTestHandler(tt.cfg)
			reply := exchange(t, h, clientMessage(t, dhcpv6.MessageTypeRequest, clientDUID, serverDUID, tt.ias...), t0)
			if got := iaStatusOf(reply); got != tt.wantStatus {
				t.Fatalf("IA status %s, want %s: %s", got, tt.wantStatus, reply.Summary())
			}
			if tt.wantStatus != iana.StatusSuccess {
				if store.len() != 0 {
					t.Error("lease stored")
				}
				return
			}
			addr, ia, _ := leased(t, reply)
			if tt.wantAddr != "" && addr != netip.MustParseAddr(tt.wantAddr) {
				t.Errorf("leased %s, want %s", addr, tt.wantAddr)
			}
			var zero []string
			for _, a := range ia.Options.Addresses() {
				if a.ValidLifetime == 0 {
					zero = append(zero, a.IPv6Addr.String())
				}
			}
			if !slices.Equal(zero, tt.wantZero) {
				t.Errorf("addresses with lifetimes 0: %v, want %v", zero, tt.wantZero)
			}
		})
	}
}

func TestRequestNotRepliedWhenStoreFails(t *testing.T) {
	h, store := newTestHandler(testConfig(config.DHCPv6Stateful))
	store.failPut = errors.New("disk full")
	resp, err := h.handleAlone(clientMessage(t, dhcpv6.MessageTypeRequest, clientDUID, serverDUID, iaNA(1)), clientLL, false, t0)
	if resp != nil || err == nil || errors.Is(err, errDiscard) {
		t.Fatalf("got %v, %v; want no Reply and a storage error", resp, err)
	}
	store.failPut = nil
	if reply := exchange(t, h, clientMessage(t, dhcpv6.MessageTypeRequest, clientDUID, serverDUID, iaNA(1)), t0); store.len() != 1 {
		t.Fatalf("retransmitted Request: %s, %d leases stored", reply.Summary(), store.len())
	}
}

func TestRenewAndRebind(t *testing.T) {
	narrowed := testConfig(config.DHCPv6Stateful)
	narrowed.DHCPv6.Ranges[0].Start = netip.MustParseAddr("2001:db8:1::180")
	tests := []struct {
		name       string
		typ        dhcpv6.MessageType
		bound      bool   // run Solicit/Request first
		apply      Config // applied after binding, if set
		addr       string // address in the Renew's IA, if not the leased one
		wantStatus iana.StatusCode
		wantValid  bool // a lease extended
	}{
		{name: "renew extends", typ: dhcpv6.MessageTypeRenew, bound: true, wantValid: true},
		{name: "rebind extends", typ: dhcpv6.MessageTypeRebind, bound: true, wantValid: true},
		{name: "renew without lease", typ: dhcpv6.MessageTypeRenew, addr: "2001:db8:1::150", wantStatus: iana.StatusNoBinding},
		{name: "rebind without lease", typ: dhcpv6.MessageTypeRebind, addr: "2001:db8:1::150", wantStatus: iana.StatusNoBinding},
		{name: "rebind of an address not for this link", typ: dhcpv6.MessageTypeRebind, addr: "2001:db8:99::1"},
		{name: "renew after the range moved", typ: dhcpv6.MessageTypeRenew, bound: true, apply: narrowed},
		{name: "renew after switching to stateless", typ: dhcpv6.MessageTypeRenew, bound: true, apply: testConfig(config.DHCPv6Stateless)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(config.DHCPv6Stateful)
			cfg.DHCPv6.Ranges[0].End = netip.MustParseAddr("2001:db8:1::17f") // so "narrowed" excludes every lease
			h, store := newTestHandler(cfg)
			addr := tt.addr
			if tt.bound {
				a, _, _ := leased(t, request(t, h, t0))
				addr = a.String()
			}
			if tt.apply.Interface.Name != "" {
				h.apply(tt.apply)
			}
			var sid dhcpv6.DUID
			if tt.typ == dhcpv6.MessageTypeRenew {
				sid = serverDUID
			}
			later := t0.Add(40 * time.Minute)
			reply := exchange(t, h, clientMessage(t, tt.typ, clientDUID, sid, iaNA(clientIAID, addr)), later)
			if got := iaStatusOf(reply); got != tt.wantStatus {
				t.Fatalf("IA status %s, want %s: %s", got, tt.wantStatus, reply.Summary())
			}
			stored, ok := store.get(netip.MustParseAddr(addr))
			if tt.wantValid {
				got, _, _ := leased(t, reply)
				if got.String() != addr || !ok || !stored.ValidUntil.Equal(later.Add(2*time.Hour)) {
					t.Errorf("got %s, stored %+v; want %s extended to %s", got, stored, addr, later.Add(2*time.Hour))
				}
				return
			}
			if tt.wantStatus == iana.StatusSuccess {
				// The address is withdrawn: listed with lifetimes 0.
				as := reply.Options.OneIANA().Options.Addresses()
				if len(as) != 1 || as[0].IPv6Addr.String() != addr || as[0].ValidLifetime != 0 || as[0].PreferredLifetime != 0 {
					t.Errorf("got %s, want %s with lifetimes 0", reply.Summary(), addr)
				}
			}
			if ok {
				t.Errorf("lease of %s still stored", addr)
			}
		})
	}
}

func TestNewSolicitIAID(t *testing.T) {
	if got := iasOf(newSolicit(t))[0].iaid(); got != clientIAID {
		t.Fatalf("NewSolicit IAID = %#x, want clientIAID %#x", got, clientIAID)
	}
}

func TestReleaseAndDecline(t *testing.T) {
	oneAddress := testConfig(config.DHCPv6Stateful)
	oneAddress.DHCPv6.Ranges[0].End = oneAddress.DHCPv6.Ranges[0].Start
	tests := []struct {
		name            string
		typ             dhcpv6.MessageType
		bound           bool
		wantIAStatus    iana.StatusCode
		wantReusableNow bool
	}{
		{name: "release", typ: dhcpv6.MessageTypeRelease, bound: true, wantReusableNow: true},
		{name: "decline", typ: dhcpv6.MessageTypeDecline, bound: true},
		{name: "release without lease", typ: dhcpv6.MessageTypeRelease, wantIAStatus: iana.StatusNoBinding, wantReusableNow: true},
		{name: "decline without lease", typ: dhcpv6.MessageTypeDecline, wantIAStatus: iana.StatusNoBinding, wantReusableNow: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, store := newTestHandler(oneAddress)
			addr := oneAddress.DHCPv6.Ranges[0].Start
			if tt.bound {
				leased(t, request(t, h, t0))
			}
			reply := exchange(t, h, clientMessage(t, tt.typ, clientDUID, serverDUID, iaNA(clientIAID, addr.String())), t0)
			if status(reply) != iana.StatusSuccess || reply.Options.Status() == nil {
				t.Errorf("got %s, want a top-level Success status", reply.Summary())
			}
			if got := iaStatusOf(reply); got != tt.wantIAStatus {
				t.Errorf("IA status %s, want %s", got, tt.wantIAStatus)
			}
			if store.len() != 0 {
				t.Error("lease still stored")
			}
			other := clientMessage(t, dhcpv6.MessageTypeSolicit, otherDUID, nil, iaNA(1))
			adv := exchange(t, h, other, t0.Add(time.Minute))
			if reusable := status(adv) == iana.StatusSuccess; reusable != tt.wantReusableNow {
				t.Errorf("address offered to another client right away: %v, want %v", reusable, tt.wantReusableNow)
			}
		})
	}
}

func TestConfirm(t *testing.T) {
	h, _ := newTestHandler(testConfig(config.DHCPv6Stateful))
	tests := []struct {
		addrs []string
		want  iana.StatusCode
	}{
		{[]string{"2001:db8:1::123"}, iana.StatusSuccess},
		{[]string{"2001:db8:1::123", "2001:db8:2::1"}, iana.StatusNotOnLink},
	}
	for _, tt := range tests {
		reply := exchange(t, h, clientMessage(t, dhcpv6.MessageTypeConfirm, clientDUID, nil, iaNA(1, tt.addrs...)), t0)
		if reply.MessageType != dhcpv6.MessageTypeReply || reply.Options.Status() == nil || status(reply) != tt.want {
			t.Errorf("Confirm %v: got %s, want %s", tt.addrs, reply.Summary(), tt.want)
		}
	}
}

func TestInformationRequest(t *testing.T) {
	noRefresh := testConfig(config.DHCPv6Stateless)
	noRefresh.DHCPv6.InfoRefreshTime = 0
	tests := []struct {
		name        string
		cfg         Config
		cid, sid    dhcpv6.DUID
		wantRefresh time.Duration
	}{
		{"stateless", testConfig(config.DHCPv6Stateless), clientDUID, nil, time.Hour},
		{"stateful", testConfig(config.DHCPv6Stateful), clientDUID, nil, time.Hour},
		{"without client ID, to this server", testConfig(config.DHCPv6Stateless), nil, serverDUID, time.Hour},
		{"no refresh time configured", noRefresh, clientDUID, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := newTestHandler(tt.cfg)
			reply := exchange(t, h, clientMessage(t, dhcpv6.MessageTypeInformationRequest, tt.cid, tt.sid), t0)
			if reply.MessageType != dhcpv6.MessageTypeReply || !hasDNSOptions(reply) || reply.Options.OneIANA() != nil {
				t.Errorf("got %s, want a Reply with the DNS options", reply.Summary())
			}
			if got := reply.Options.InformationRefreshTime(0); got != tt.wantRefresh {
				t.Errorf("information refresh time %s, want %s", got, tt.wantRefresh)
			}
		})
	}
}

func TestApplyKeepsLeases(t *testing.T) {
	h, store := newTestHandler(testConfig(config.DHCPv6Stateful))
	addr, _, _ := leased(t, request(t, h, t0))
	wider := testConfig(config.DHCPv6Stateful)
	wider.DHCPv6.Ranges[0].End = netip.MustParseAddr("2001:db8:1::ffff")
	wider.DHCPv6.DNSServers = []netip.Addr{netip.MustParseAddr("2001:db8:1::54")}
	h.apply(wider)
	reply := exchange(t, h, clientMessage(t, dhcpv6.MessageTypeRenew, clientDUID, serverDUID, iaNA(clientIAID, addr.String())), t0.Add(time.Minute))
	if got, _, _ := leased(t, reply); got != addr {
		t.Errorf("renewed %s, want %s", got, addr)
	}
	if dns := reply.Options.DNS(); len(dns) != 1 || dns[0].String() != "2001:db8:1::54" {
		t.Errorf("DNS %v, want the applied 2001:db8:1::54", dns)
	}
	if _, ok := store.get(addr); !ok {
		t.Error("lease lost by Apply")
	}
}

func TestHardwareAddr(t *testing.T) {
	mac := "52:54:00:12:34:56"
	tests := []struct {
		name       string
		duid       dhcpv6.DUID
		peer       string
		wantAddr   string
		wantSource string
	}{
		{"DUID-LL", clientDUID, "fe80::1", mac, "duid"},
		{"DUID-LLT", &dhcpv6.DUIDLLT{HWType: iana.HWTypeEthernet, Time: 1, LinkLayerAddr: clientMAC}, "fe80::1", mac, "duid"},
		{"DUID-UUID with EUI-64 link-local", &dhcpv6.DUIDUUID{}, "fe80::5054:ff:fe12:3456", mac, "link-local"},
		{"DUID-EN with stable-privacy link-local", &dhcpv6.DUIDEN{EnterpriseNumber: 1}, "fe80::1c2b:3a4d:5e6f:7081", "", ""},
		{"EUI-64 in a global source address", &dhcpv6.DUIDUUID{}, "2001:db8::5054:ff:fe12:3456", "", ""},
		{"no DUID", nil, "fe80::5054:ff:fe12:3456", mac, "link-local"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, source := hardwareAddr(tt.duid, netip.MustParseAddr(tt.peer))
			if addr != tt.wantAddr || source != tt.wantSource {
				t.Errorf("got %q from %q, want %q from %q", addr, source, tt.wantAddr, tt.wantSource)
			}
		})
	}
}

func BenchmarkHandle(b *testing.B) {
	cfg := testConfig(config.DHCPv6Stateful)
	cfg.DHCPv6.Ranges[0].End = netip.MustParseAddr("2001:db8:1::ffff:ffff:ffff")
	b.Run("Solicit to Advertise", func(b *testing.B) {
		h, _ := newTestHandler(cfg)
		sol := newSolicit(b)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			sol.Options.Update(dhcpv6.OptClientID(&dhcpv6.DUIDEN{EnterpriseNumber: 1, EnterpriseIdentifier: []byte{byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}}))
			if _, err := h.handleAlone(sol, clientLL, false, t0); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Request to Reply", func(b *testing.B) {
		h, _ := newTestHandler(cfg)
		req := clientMessage(b, dhcpv6.MessageTypeRequest, clientDUID, serverDUID, iaNA(1))
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			req.Options.Update(dhcpv6.OptClientID(&dhcpv6.DUIDEN{EnterpriseNumber: 1, EnterpriseIdentifier: []byte{byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}}))
			if _, err := h.handleAlone(req, clientLL, false, t0); err != nil {
				b.Fatal(err)
			}
		}
	})
}
