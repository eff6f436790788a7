package dhcp6

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/bootfile"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
)

// The seed dhcpd6.conf's temporary range and delegated prefixes, placed
// on the test link: range6 2001:db8:1::2000 2001:db8:1::20ff temporary;
// prefix6 2001:db8:1:100:: 2001:db8:1:111:: /64.
var (
	seedTemporary = config.AddressRange{Start: netip.MustParseAddr("2001:db8:1::2000"), End: netip.MustParseAddr("2001:db8:1::20ff")}
	seedPD        = config.PrefixDelegation{Start: netip.MustParseAddr("2001:db8:1:100::"), End: netip.MustParseAddr("2001:db8:1:111::"), Length: 64}
)

// seedConfig is testConfig in stateful mode with temporary addresses and
// prefix delegation.
func seedConfig() Config {
	cfg := testConfig(config.DHCPv6Stateful)
	cfg.DHCPv6.TemporaryRanges = []config.AddressRange{seedTemporary}
	pd := seedPD
	cfg.DHCPv6.PrefixDelegation = &pd
	cfg.DHCPv6.AllowLeasequery = true // the seed's "allow leasequery"
	return cfg
}

func iaTA(iaid uint32, addrs ...string) *dhcpv6.OptIATA {
	o := &dhcpv6.OptIATA{}
	binary.BigEndian.PutUint32(o.IaId[:], iaid)
	for _, a := range addrs {
		o.Options.Add(&dhcpv6.OptIAAddress{IPv6Addr: net.ParseIP(a), PreferredLifetime: time.Hour, ValidLifetime: 2 * time.Hour})
	}
	return o
}

// iaPD is an IA_PD listing prefixes such as "2001:db8:1:100::/64" (or
// "::/56", a length hint).
func iaPD(iaid uint32, prefixes ...string) *dhcpv6.OptIAPD {
	o := &dhcpv6.OptIAPD{}
	binary.BigEndian.PutUint32(o.IaId[:], iaid)
	for _, s := range prefixes {
		p := netip.MustParsePrefix(s)
		o.Options.Add(&dhcpv6.OptIAPrefix{Prefix: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), 128)}})
	}
	return o
}

// withIAs is a client message of typ from the client carrying opts (IA
// options) and no IA_NA unless opts has one.
func withIAs(t testing.TB, typ dhcpv6.MessageType, sid dhcpv6.DUID, opts ...dhcpv6.Option) *dhcpv6.Message {
	t.Helper()
	m := clientMessage(t, typ, clientDUID, sid)
	for _, o := range opts {
		m.AddOption(o)
	}
	return m
}

// granted returns the one address of the IA_TA, or the one prefix of the
// IA_PD, in m with non-zero lifetimes, and its lifetimes.
func granted(t *testing.T, m *dhcpv6.Message, kind lease.Kind) (p netip.Prefix, preferred, valid time.Duration) {
	t.Helper()
	switch kind {
	case lease.TA:
		ta := m.Options.OneIATA()
		if ta == nil {
			t.Fatalf("%s has no IA_TA: %s", m.MessageType, m.Summary())
		}
		for _, a := range ta.Options.Addresses() {
			if a.ValidLifetime > 0 {
				addr, _ := netip.AddrFromSlice(a.IPv6Addr)
				return netip.PrefixFrom(addr, 128), a.PreferredLifetime, a.ValidLifetime
			}
		}
	case lease.PD:
		pd := m.Options.OneIAPD()
		if pd == nil {
			t.Fatalf("%s has no IA_PD: %s", m.MessageType, m.Summary())
		}
		for _, o := range pd.Options.Prefixes() {
			if o.ValidLifetime > 0 && o.Prefix != nil {
				addr, _ := netip.AddrFromSlice(o.Prefix.IP)
				bits, _ := o.Prefix.Mask.Size()
				return netip.PrefixFrom(addr, bits), o.PreferredLifetime, o.ValidLifetime
			}
		}
	}
	t.Fatalf("%s grants no %s: %s", m.MessageType, iaNames[kind], m.Summary())
	return netip.Prefix{}, 0, 0
}

func TestTemporaryAddresses(t *testing.T) {
	h, store := newTestHandler(seedConfig())
	adv := exchange(t, h, withIAs(t, dhcpv6.MessageTypeSolicit, nil, iaTA(7)), t0)
	offered, pref, valid := granted(t, adv, lease.TA)
	if adv.MessageType != dhcpv6.MessageTypeAdvertise || !seedTemporary.Contains(offered.Addr()) || adv.Options.OneIANA() != nil {
		t.Fatalf("Advertise %s offers %s, want an address of %v and no IA_NA", adv.Summary(), offered, seedTemporary)
	}
	if pref != time.Hour || valid != 2*time.Hour {
		t.Errorf("lifetimes %s/%s, want the configured 1h/2h", pref, valid)
	}
	reply := exchange(t, h, withIAs(t, dhcpv6.MessageTypeRequest, serverDUID, iaTA(7, offered.Addr().String())), t0)
	if got, _, _ := granted(t, reply, lease.TA); got != offered {
		t.Fatalf("Request got %s, want the offered %s", got, offered)
	}
	l, ok := store.get(offered.Addr())
	if !ok || l.Kind != lease.TA || l.IAID != 7 || !l.LastTransaction.Equal(t0) {
		t.Fatalf("stored %+v %v, want an IA_TA lease with its last transaction", l, ok)
	}

	// IA_NA and IA_TA of one client, in one Solicit: one address each.
	both := exchange(t, h, withIAs(t, dhcpv6.MessageTypeSolicit, nil, iaNA(clientIAID), iaTA(7)), t0)
	na, _, _ := leased(t, both)
	ta, _, _ := granted(t, both, lease.TA)
	if !inRange(na) || ta != offered {
		t.Errorf("IA_NA %s and IA_TA %s, want a range address and the leased temporary %s", na, ta, offered)
	}

	// Renew extends it; Release ends it.
	later := t0.Add(10 * time.Minute)
	exchange(t, h, withIAs(t, dhcpv6.MessageTypeRenew, serverDUID, iaTA(7, offered.Addr().String())), later)
	if l, _ := store.get(offered.Addr()); !l.ValidUntil.Equal(later.Add(2 * time.Hour)) {
		t.Errorf("renewed lease valid until %s", l.ValidUntil)
	}
	exchange(t, h, withIAs(t, dhcpv6.MessageTypeRelease, serverDUID, iaTA(7, offered.Addr().String())), later)
	if _, ok := store.get(offered.Addr()); ok {
		t.Error("released temporary address still stored")
	}

	// Decline quarantines it like an IA_NA address.
	reply = exchange(t, h, withIAs(t, dhcpv6.MessageTypeRequest, serverDUID, iaTA(8)), later)
	declined, _, _ := granted(t, reply, lease.TA)
	exchange(t, h, withIAs(t, dhcpv6.MessageTypeDecline, serverDUID, iaTA(8, declined.Addr().String())), later)
	again := exchange(t, h, withIAs(t, dhcpv6.MessageTypeRequest, serverDUID, iaTA(8, declined.Addr().String())), later)
	if got, _, _ := granted(t, again, lease.TA); got == declined {
		t.Errorf("declined %s leased again at once", declined)
	}
}

func TestWithoutTemporaryRanges(t *testing.T) {
	h, _ := newTestHandler(testConfig(config.DHCPv6Stateful))
	only := exchange(t, h, withIAs(t, dhcpv6.MessageTypeSolicit, nil, iaTA(7)), t0)
	if status(only) != iana.StatusNoAddrsAvail || only.Options.OneIATA() != nil {
		t.Errorf("Solicit for IA_TA only: %s, want NoAddrsAvail", only.Summary())
	}
	both := exchange(t, h, withIAs(t, dhcpv6.MessageTypeRequest, serverDUID, iaNA(clientIAID), iaTA(7)), t0)
	leased(t, both)
	if ta := both.Options.OneIATA(); ta == nil || ta.Options.Status() == nil || ta.Options.Status().StatusCode != iana.StatusNoAddrsAvail {
		t.Errorf("Request for IA_NA and IA_TA: %s, want the IA_TA with NoAddrsAvail", both.Summary())
	}
}

func TestPrefixDelegationExchange(t *testing.T) {
	cfg := seedConfig()
	h, store := newTestHandler(cfg)
	adv := exchange(t, h, withIAs(t, dhcpv6.MessageTypeSolicit, nil, iaPD(3, "::/56")), t0)
	offered, pref, valid := granted(t, adv, lease.PD)
	if !seedPD.Contains(offered) || adv.Options.OneIANA() != nil {
		t.Fatalf("Advertise %s delegates %s, want one of the /64s of %v (the /56 hint cannot be met)", adv.Summary(), offered, seedPD)
	}
	if pd := adv.Options.OneIAPD(); pd.T1 != 30*time.Minute || pd.T2 != 48*time.Minute || pref != time.Hour || valid != 2*time.Hour {
		t.Errorf("IA_PD T1 %s T2 %s lifetimes %s/%s, want the configured times", pd.T1, pd.T2, pref, valid)
	}
	if adv.Options.Preference() != 10 {
		t.Errorf("preference %d, want 10", adv.Options.Preference())
	}
	reply := exchange(t, h, withIAs(t, dhcpv6.MessageTypeRequest, serverDUID, iaPD(3, offered.String())), t0)
	if got, _, _ := granted(t, reply, lease.PD); got != offered {
		t.Fatalf("Request got %s, want the offered %s", got, offered)
	}
	l, ok := store.get(offered.Addr())
	if !ok || l.Kind != lease.PD || l.PrefixLength != 64 || l.Prefix() != offered {
		t.Fatalf("stored %+v %v, want the delegated prefix", l, ok)
	}

	// Renew extends it.
	later := t0.Add(30 * time.Minute)
	renewed := exchange(t, h, withIAs(t, dhcpv6.MessageTypeRenew, serverDUID, iaPD(3, offered.String())), later)
	if got, _, _ := granted(t, renewed, lease.PD); got != offered {
		t.Errorf("Renew got %s, want %s", got, offered)
	}
	if l, _ := store.get(offered.Addr()); !l.ValidUntil.Equal(later.Add(2 * time.Hour)) {
		t.Errorf("renewed delegation valid until %s", l.ValidUntil)
	}
	// A Rebind for a prefix this server does not delegate ends it; one
	// for a prefix of the pool it holds no binding for gets NoBinding.
	h2, _ := newTestHandler(cfg)
	foreign := exchange(t, h2, withIAs(t, dhcpv6.MessageTypeRebind, nil, iaPD(3, "2001:db8:9::/64")), later)
	if pd := foreign.Options.OneIAPD(); pd == nil || len(pd.Options.Prefixes()) != 1 || pd.Options.Prefixes()[0].ValidLifetime != 0 {
		t.Errorf("Rebind of a foreign prefix: %s, want it with lifetimes 0", foreign.Summary())
	}
	unknown := exchange(t, h2, withIAs(t, dhcpv6.MessageTypeRenew, serverDUID, iaPD(3, offered.String())), later)
	if pd := unknown.Options.OneIAPD(); pd == nil || pd.Options.Status() == nil || pd.Options.Status().StatusCode != iana.StatusNoBinding {
		t.Errorf("Renew without a binding: %s, want NoBinding", unknown.Summary())
	}

	// A new length ends the old delegation at its next Renew.
	shorter := seedConfig()
	shorter.DHCPv6.PrefixDelegation = &config.PrefixDelegation{Start: netip.MustParseAddr("2001:db8:1:100::"), End: netip.MustParseAddr("2001:db8:1:1ff::"), Length: 60}
	h.apply(shorter)
	ended := exchange(t, h, withIAs(t, dhcpv6.MessageTypeRenew, serverDUID, iaPD(3, offered.String())), later)
	if pd := ended.Options.OneIAPD(); pd == nil || len(pd.Options.Prefixes()) != 1 || pd.Options.Prefixes()[0].ValidLifetime != 0 {
		t.Errorf("Renew after the length changed: %s, want the /64 with lifetimes 0", ended.Summary())
	}
	if _, ok := store.get(offered.Addr()); ok {
		t.Error("ended delegation still stored")
	}
	h.apply(cfg)

	// Release.
	reply = exchange(t, h, withIAs(t, dhcpv6.MessageTypeRequest, serverDUID, iaPD(4)), later)
	p, _, _ := granted(t, reply, lease.PD)
	rel := exchange(t, h, withIAs(t, dhcpv6.MessageTypeRelease, serverDUID, iaPD(4, p.String())), later)
	if status(rel) != iana.StatusSuccess || rel.Options.OneIAPD() != nil {
		t.Errorf("Release: %s", rel.Summary())
	}
	if _, ok := store.get(p.Addr()); ok {
		t.Error("released prefix still stored")
	}
}

// TestAddressAndPrefix is what perfdhcp -e address-and-prefix and CPE
// routers send: an IA_NA and an IA_PD in one exchange.
func TestAddressAndPrefix(t *testing.T) {
	h, store := newTestHandler(seedConfig())
	reply := exchange(t, h, newSolicit(t, dhcpv6.WithRapidCommit, dhcpv6.WithOption(iaPD(1))), t0)
	addr, _, _ := leased(t, reply)
	p, _, _ := granted(t, reply, lease.PD)
	if !inRange(addr) || !seedPD.Contains(p) || store.len() != 2 {
		t.Errorf("rapid commit for IA_NA and IA_PD: %s; %d stored", reply.Summary(), store.len())
	}

	// Without prefix delegation the IA_NA still gets its address.
	h, _ = newTestHandler(testConfig(config.DHCPv6Stateful))
	adv := exchange(t, h, newSolicit(t, dhcpv6.WithOption(iaPD(1))), t0)
	leased(t, adv)
	if pd := adv.Options.OneIAPD(); pd == nil || pd.Options.Status() == nil || pd.Options.Status().StatusCode != iana.StatusNoPrefixAvail {
		t.Errorf("Advertise: %s, want the IA_PD with NoPrefixAvail", adv.Summary())
	}
	only := exchange(t, h, withIAs(t, dhcpv6.MessageTypeSolicit, nil, iaPD(1)), t0)
	if status(only) != iana.StatusNoAddrsAvail || len(only.Options.Options) != 3 {
		t.Errorf("Solicit for IA_PD only: %s, want only NoAddrsAvail and the identifiers", only.Summary())
	}
}

func TestPrefixPoolExhausted(t *testing.T) {
	cfg := seedConfig()
	cfg.DHCPv6.PrefixDelegation = &config.PrefixDelegation{Start: netip.MustParseAddr("2001:db8:1:100::"), End: netip.MustParseAddr("2001:db8:1:100::"), Length: 64}
	h, _ := newTestHandler(cfg)
	exchange(t, h, withIAs(t, dhcpv6.MessageTypeRequest, serverDUID, iaPD(1)), t0)
	reply := exchange(t, h, withIAs(t, dhcpv6.MessageTypeRequest, serverDUID, iaPD(2)), t0)
	if pd := reply.Options.OneIAPD(); pd == nil || pd.Options.Status() == nil || pd.Options.Status().StatusCode != iana.StatusNoPrefixAvail {
		t.Errorf("Request with every prefix delegated: %s, want NoPrefixAvail", reply.Summary())
	}
}

// TestSeedOptions checks the seed's "option dhcp6.preference 255" and
// "option dhcp6.info-refresh-time 21600".
func TestSeedOptions(t *testing.T) {
	cfg := seedConfig()
	cfg.DHCPv6.Preference = 255
	cfg.DHCPv6.InfoRefreshTime = 21600 * time.Second
	h, _ := newTestHandler(cfg)
	adv := exchange(t, h, newSolicit(t), t0)
	if adv.MessageType != dhcpv6.MessageTypeAdvertise || adv.Options.Preference() != 255 {
		t.Errorf("Advertise %s, want preference 255", adv.Summary())
	}
	if rapid := exchange(t, h, newSolicit(t, dhcpv6.WithRapidCommit), t0); rapid.GetOneOption(dhcpv6.OptionPreference) != nil {
		t.Errorf("a rapid-commit Reply carries a preference: %s", rapid.Summary())
	}
	stateless := testConfig(config.DHCPv6Stateless)
	stateless.DHCPv6.InfoRefreshTime = 21600 * time.Second
	h, _ = newTestHandler(stateless)
	reply := exchange(t, h, clientMessage(t, dhcpv6.MessageTypeInformationRequest, clientDUID, nil), t0)
	if got := reply.Options.InformationRefreshTime(0); got != 21600*time.Second {
		t.Errorf("stateless Reply information refresh time %s, want 21600 s", got)
	}
}

// TestBootRulesByHost picks boot files per host by DUID and by MAC, the
// latter found in a DUID-LL or, for iPXE's DUID-UUID, in the EUI-64 of the
// link-local source address.
func TestBootRulesByHost(t *testing.T) {
	cfg := bootConfig(config.DHCPv6Stateless)
	uuid := &dhcpv6.DUIDUUID{UUID: [16]byte{15: 1}}
	cfg.Boot.Rules = append([]bootfile.Rule{
		{DUIDs: []string{hex.EncodeToString(uuid.ToBytes())}, URL: "http://boot.example/by-duid.ipxe"},
		{MACs: []string{"52:54:00:AB:CD:EF"}, URL: "http://boot.example/by-mac.ipxe"},
	}, cfg.Boot.Rules...)
	h, _ := newTestHandler(cfg)
	tests := []struct {
		name string
		duid dhcpv6.DUID
		peer string
		want string
	}{
		{"DUID-UUID by DUID", uuid, "fe80::1", "http://boot.example/by-duid.ipxe"},
		{"DUID-UUID by link-local MAC", &dhcpv6.DUIDUUID{UUID: [16]byte{15: 2}}, "fe80::5054:ff:feab:cdef", "http://boot.example/by-mac.ipxe"},
		{"DUID-LL by MAC", &dhcpv6.DUIDLL{HWType: iana.HWTypeEthernet, LinkLayerAddr: net.HardwareAddr{0x52, 0x54, 0, 0xab, 0xcd, 0xef}}, "fe80::1", "http://boot.example/by-mac.ipxe"},
		{"other host", &dhcpv6.DUIDUUID{UUID: [16]byte{15: 3}}, "fe80::5054:ff:fe00:1", "tftp://[2001:db8:1::1]/ipxe.efi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := withMods(clientMessage(t, dhcpv6.MessageTypeInformationRequest, tt.duid, nil), []dhcpv6.Modifier{wantBoot, withArch(7)})
			resp, err := h.handleAlone(req, netip.MustParseAddr(tt.peer), false, t0)
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.Options.BootFileURL(); got != tt.want {
				t.Errorf("boot-file URL %q, want %q", got, tt.want)
			}
		})
	}
}

// iaStatuses counts the IAs of m by kind and status: "ok" for those that
// hold a lease with a valid lifetime.
func iaStatuses(m *dhcpv6.Message) map[string]int {
	out := map[string]int{}
	count := func(kind string, opts dhcpv6.Options) {
		if s, ok := opts.GetOne(dhcpv6.OptionStatusCode).(*dhcpv6.OptStatusCode); ok {
			out[kind+" "+s.StatusCode.String()]++
			return
		}
		out[kind+" ok"]++
	}
	for _, o := range m.Options.IANA() {
		count("IA_NA", o.Options.Options)
	}
	for _, o := range m.Options.IATA() {
		count("IA_TA", o.Options.Options)
	}
	for _, o := range m.Options.IAPD() {
		count("IA_PD", o.Options.Options)
	}
	return out
}

// TestClientLimits sends what one client should not get: a Request of 500
// IA_NAs gets max_ias_per_message addresses and NoAddrsAvail for the rest,
// and the client's leases stop at max_leases_per_client, for every kind
// (IA_PD: NoPrefixAvail), while it keeps renewing those it holds.
func TestClientLimits(t *testing.T) {
	cfg := seedConfig()
	cfg.DHCPv6.MaxIAsPerMessage = 8
	cfg.DHCPv6.MaxLeasesPerClient = 16
	var logs bytes.Buffer
	h, store := newTestHandler(cfg)
	h.logger = jsonLogger(&logs)
	ias := func(first, n int) []dhcpv6.Option {
		var out []dhcpv6.Option
		for i := range n {
			out = append(out, iaNA(uint32(first+i)))
		}
		return out
	}
	flood := withIAs(t, dhcpv6.MessageTypeRequest, serverDUID, ias(0, 500)...)
	if len(flood.ToBytes()) < 8000 {
		t.Fatalf("the Request is %d bytes", len(flood.ToBytes()))
	}
	for _, step := range []struct {
		name   string
		req    *dhcpv6.Message
		want   map[string]int
		leases int
	}{
		{"500 IA_NAs in one Request", flood, map[string]int{"IA_NA ok": 8, "IA_NA NoAddrsAvail": 492}, 8},
		{"a Solicit of 500 gets 8 offers", withIAs(t, dhcpv6.MessageTypeSolicit, nil, ias(1000, 500)...), map[string]int{"IA_NA ok": 8, "IA_NA NoAddrsAvail": 492}, 8},
		{"8 more", withIAs(t, dhcpv6.MessageTypeRequest, serverDUID, ias(100, 8)...), map[string]int{"IA_NA ok": 8}, 16},
		{"the client holds 16", withIAs(t, dhcpv6.MessageTypeRequest, serverDUID, iaNA(200), iaTA(1), iaPD(1)),
			map[string]int{"IA_NA NoAddrsAvail": 1, "IA_TA NoAddrsAvail": 1, "IA_PD NoPrefixAvail": 1}, 16},
		{"renewing what it holds", withIAs(t, dhcpv6.MessageTypeRenew, serverDUID, ias(0, 8)...), map[string]int{"IA_NA ok": 8}, 16},
		{"binding again what it holds", withIAs(t, dhcpv6.MessageTypeRequest, serverDUID, ias(100, 8)...), map[string]int{"IA_NA ok": 8}, 16},
	} {
		resp := exchange(t, h, step.req, t0)
		if got := iaStatuses(resp); fmt.Sprint(got) != fmt.Sprint(step.want) {
			t.Errorf("%s: IAs %v, want %v", step.name, got, step.want)
		}
		if store.len() != step.leases {
			t.Errorf("%s: %d leases stored, want %d", step.name, store.len(), step.leases)
		}
	}
	// Another client is not held back by the first one's leases.
	other := clientMessage(t, dhcpv6.MessageTypeRequest, otherDUID, serverDUID, iaNA(1))
	if got := iaStatuses(exchange(t, h, other, t0)); got["IA_NA ok"] != 1 {
		t.Errorf("another client's Request: %v", got)
	}
	// One line per message, not one per IA.
	if n := strings.Count(logs.String(), "refusing IAs over the per-client limits"); n != 3 {
		t.Errorf("%d log lines about the limits, want 3 (one per refusing message)", n)
	}
}
