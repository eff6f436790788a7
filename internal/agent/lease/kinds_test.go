package lease

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
)

// seedSpaces are the seed dhcpd6.conf's: range6, range6 … temporary and
// prefix6 3ffe:501:ffff:100:: 3ffe:501:ffff:111:: /64 (moved off the link's
// /64, as config requires).
func seedSpaces() Spaces {
	return Spaces{
		Addresses: []config.AddressRange{rng("3ffe:501:ffff:100::10", "3ffe:501:ffff:100::11")},
		Temporary: []config.AddressRange{rng("3ffe:501:ffff:100::100", "3ffe:501:ffff:100::1ff")},
		Prefixes:  &config.PrefixDelegation{Start: netip.MustParseAddr("3ffe:501:ffff:101::"), End: netip.MustParseAddr("3ffe:501:ffff:111::"), Length: 64},
	}
}

func kindReq(kind Kind, i int, hint string, now time.Time) Lease {
	l := req(i, hint, now)
	l.Kind = kind
	return l
}

func TestKindsLeaseFromTheirOwnRanges(t *testing.T) {
	s := seedSpaces()
	p := NewPool(s)
	// One client, one IAID per kind: three independent leases.
	na := mustBind(t, p, kindReq(NA, 1, "", t0), t0)
	ta := mustBind(t, p, kindReq(TA, 1, "", t0), t0)
	pd := mustBind(t, p, kindReq(PD, 1, "", t0), t0)
	if na.Kind != NA || !inRanges(na.Address, s.Addresses) || na.PrefixLength != 0 {
		t.Errorf("IA_NA lease %+v", na)
	}
	if ta.Kind != TA || !inRanges(ta.Address, s.Temporary) || ta.PrefixLength != 0 {
		t.Errorf("IA_TA lease %+v", ta)
	}
	if pd.Kind != PD || pd.PrefixLength != 64 || !s.Prefixes.Contains(pd.Prefix()) {
		t.Errorf("IA_PD lease %+v (prefix %s)", pd, pd.Prefix())
	}
	if got := len(p.List(t0)); got != 3 {
		t.Errorf("List has %d leases, want 3", got)
	}
	for _, k := range []Kind{NA, TA, PD} {
		if l, ok := p.Lookup(k, duid(1), 1, t0); !ok || l.Kind != k {
			t.Errorf("Lookup(%s) = %+v %v", k, l, ok)
		}
	}
	// Renewing one kind leaves the others alone.
	later := t0.Add(10 * time.Minute)
	if l, err := p.Renew(kindReq(TA, 1, "", later), later); err != nil || l.Address != ta.Address || !l.ValidUntil.Equal(later.Add(time.Hour)) {
		t.Errorf("Renew IA_TA = %+v, %v", l, err)
	}
	if l, _ := p.Lookup(NA, duid(1), 1, later); !l.ValidUntil.Equal(na.ValidUntil) {
		t.Errorf("renewing IA_TA changed IA_NA: %+v", l)
	}
	if _, ok := p.Release(NA, duid(1), 1, pd.Address); ok {
		t.Error("Release of the prefix as an IA_NA address succeeded")
	}
	if _, ok := p.Release(PD, duid(1), 1, pd.Address); !ok {
		t.Error("Release of the prefix failed")
	}
}

func TestPrefixDelegation(t *testing.T) {
	tests := []struct {
		name  string
		pd    config.PrefixDelegation
		count int
	}{
		{"seed /64s", config.PrefixDelegation{Start: netip.MustParseAddr("3ffe:501:ffff:100::"), End: netip.MustParseAddr("3ffe:501:ffff:111::"), Length: 64}, 0x12},
		{"/56s", config.PrefixDelegation{Start: netip.MustParseAddr("2001:db8:100::"), End: netip.MustParseAddr("2001:db8:107:ff00::"), Length: 56}, 8 * 256},
		{"one /48", config.PrefixDelegation{Start: netip.MustParseAddr("2001:db8::"), End: netip.MustParseAddr("2001:db8::"), Length: 48}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPool(Spaces{Prefixes: &tt.pd})
			seen := map[netip.Prefix]bool{}
			for i := range tt.count {
				l := mustBind(t, p, kindReq(PD, i, "", t0), t0)
				if seen[l.Prefix()] || !tt.pd.Contains(l.Prefix()) {
					t.Fatalf("client %d got %s: duplicate or not one of the delegated prefixes", i, l.Prefix())
				}
				seen[l.Prefix()] = true
			}
			if _, err := p.Offer(PD, duid(99999), 1, netip.Addr{}, t0); !errors.Is(err, ErrPoolExhausted) {
				t.Fatalf("Offer with every prefix delegated = %v, want ErrPoolExhausted", err)
			}
		})
	}
}

func TestPrefixHint(t *testing.T) {
	pd := config.PrefixDelegation{Start: netip.MustParseAddr("2001:db8:100::"), End: netip.MustParseAddr("2001:db8:1ff::"), Length: 64}
	for hint, want := range map[string]bool{
		"2001:db8:123::":  true,
		"2001:db8:123::1": false, // not a prefix address
		"2001:db8:200::":  false, // outside
	} {
		p := NewPool(Spaces{Prefixes: &pd})
		a, err := p.Offer(PD, duid(1), 1, netip.MustParseAddr(hint), t0)
		if err != nil || (a == netip.MustParseAddr(hint)) != want || !pd.Contains(netip.PrefixFrom(a, 64)) {
			t.Errorf("Offer with hint %s = %s %v, want hint used: %v", hint, a, err, want)
		}
	}
}

func TestPrefixLengthChangeEndsDelegation(t *testing.T) {
	s := Spaces{Prefixes: &config.PrefixDelegation{Start: netip.MustParseAddr("2001:db8:100::"), End: netip.MustParseAddr("2001:db8:1ff::"), Length: 64}}
	p := NewPool(s)
	l := mustBind(t, p, kindReq(PD, 1, "2001:db8:100::", t0), t0)
	s.Prefixes = &config.PrefixDelegation{Start: netip.MustParseAddr("2001:db8:100::"), End: netip.MustParseAddr("2001:db8:1ff::"), Length: 56}
	p.Update(s)
	if got, err := p.Renew(kindReq(PD, 1, "", t0), t0); !errors.Is(err, ErrOutOfRange) || got.Prefix() != l.Prefix() {
		t.Fatalf("Renew of a /64 after the length became /56 = %+v %v, want ErrOutOfRange for %s", got, err, l.Prefix())
	}
	if again := mustBind(t, p, kindReq(PD, 1, "", t0), t0); again.PrefixLength != 56 {
		t.Errorf("new delegation %s, want a /56", again.Prefix())
	}
	p.Update(Spaces{})
	if _, err := p.Offer(PD, duid(2), 1, netip.Addr{}, t0); !errors.Is(err, ErrPoolExhausted) {
		t.Errorf("Offer without prefix delegation = %v, want ErrPoolExhausted", err)
	}
}

// TestKindsShareAddresses: when a configuration change makes an address
// leased as IA_NA part of the temporary ranges, it is not leased again
// before the IA_NA lease ends: storage keys leases by address.
func TestKindsShareAddresses(t *testing.T) {
	p := NewPool(Spaces{Addresses: []config.AddressRange{rng("2001:db8::10", "2001:db8::10")}})
	na := mustBind(t, p, kindReq(NA, 1, "", t0), t0)
	p.Update(Spaces{Addresses: []config.AddressRange{rng("2001:db8::20", "2001:db8::20")}, Temporary: []config.AddressRange{rng("2001:db8::10", "2001:db8::11")}})
	for i := 2; i < 4; i++ {
		a, err := p.Offer(TA, duid(i), 1, na.Address, t0)
		if i == 2 && (err != nil || a != netip.MustParseAddr("2001:db8::11")) {
			t.Fatalf("Offer(TA) = %s %v, want 2001:db8::11: ::10 is still leased as IA_NA", a, err)
		}
		// The second takes over the first one's offer, never the lease.
		if i == 3 && (err != nil || a != netip.MustParseAddr("2001:db8::11")) {
			t.Fatalf("second Offer(TA) = %s %v, want the offered 2001:db8::11", a, err)
		}
	}
}

func TestLookupAddressAndClient(t *testing.T) {
	p := NewPool(seedSpaces())
	na := mustBind(t, p, kindReq(NA, 1, "", t0), t0)
	pd := mustBind(t, p, kindReq(PD, 1, "3ffe:501:ffff:105::", t0), t0)
	mustBind(t, p, kindReq(NA, 2, "", t0), t0)
	_, _ = p.Offer(TA, duid(1), 1, netip.Addr{}, t0)
	for addr, want := range map[string]netip.Addr{
		na.Address.String():        na.Address,
		"3ffe:501:ffff:105::":      pd.Address,
		"3ffe:501:ffff:105:1:2::3": pd.Address, // inside the delegated prefix
		"3ffe:501:ffff:106::":      {},
		"3ffe:501:ffff:100::1ff":   {},
	} {
		l, ok := p.LookupAddress(netip.MustParseAddr(addr), t0)
		if ok != want.IsValid() || l.Address != want {
			t.Errorf("LookupAddress(%s) = %s %v, want %s", addr, l.Address, ok, want)
		}
	}
	got := p.LookupClient(duid(1), t0)
	if fmt.Sprint(addrs(got)) != fmt.Sprint([]string{na.Address.String(), pd.Address.String()}) {
		t.Errorf("LookupClient = %v, want its IA_NA and IA_PD leases (not the offer)", addrs(got))
	}
	if got := p.LookupClient(duid(1), t0.Add(2*time.Hour)); len(got) != 0 {
		t.Errorf("LookupClient after expiry = %v", got)
	}
	if _, ok := p.LookupAddress(na.Address, t0.Add(2*time.Hour)); ok {
		t.Error("LookupAddress found an expired lease")
	}
}

func TestLoadKinds(t *testing.T) {
	p := NewPool(seedSpaces())
	n := 0
	mk := func(kind Kind, addr string, length int) Lease {
		n++
		return Lease{Kind: kind, Address: netip.MustParseAddr(addr), PrefixLength: length, DUID: duid(n), IAID: 1, ValidUntil: t0.Add(time.Hour)}
	}
	dropped := p.Load([]Lease{
		mk(NA, "3ffe:501:ffff:100::10", 0),
		mk("", "3ffe:501:ffff:100::11", 0), // an old record: IA_NA
		mk(TA, "3ffe:501:ffff:100::180", 0),
		mk(PD, "3ffe:501:ffff:10f::", 64),
		mk(PD, "3ffe:501:ffff:110::", 56),   // the length changed
		mk(NA, "3ffe:501:ffff:100::181", 0), // a temporary address as IA_NA
		mk(TA, "3ffe:501:ffff:100::10", 0),  // an address as IA_TA
		mk("xx", "3ffe:501:ffff:100::1", 0),
	}, t0)
	if got := fmt.Sprint(addrs(p.List(t0))); got != "[3ffe:501:ffff:100::10 3ffe:501:ffff:100::11 3ffe:501:ffff:100::180 3ffe:501:ffff:10f::]" {
		t.Errorf("kept %s", got)
	}
	if got := fmt.Sprint(addrs(dropped)); got != "[3ffe:501:ffff:110:: 3ffe:501:ffff:100::181 3ffe:501:ffff:100::10 3ffe:501:ffff:100::1]" {
		t.Errorf("dropped %s", got)
	}
	if l, ok := p.LookupAddress(netip.MustParseAddr("3ffe:501:ffff:100::11"), t0); !ok || l.Kind != NA {
		t.Errorf("old record loaded as %+v", l)
	}
}

func TestLeaseJSON(t *testing.T) {
	// A record written before leases had a kind.
	var old Lease
	if err := json.Unmarshal([]byte(`{"address":"2001:db8::10","duid":"AAMAAQ==","iaid":7,"preferred_until":"2030-01-02T03:04:05Z","valid_until":"2030-01-02T04:04:05Z"}`), &old); err != nil {
		t.Fatal(err)
	}
	if old.Kind != NA || old.Address != netip.MustParseAddr("2001:db8::10") || old.IAID != 7 || old.Prefix() != netip.MustParsePrefix("2001:db8::10/128") {
		t.Errorf("old record = %+v", old)
	}
	pd := Lease{Kind: PD, Address: netip.MustParseAddr("2001:db8:100::"), PrefixLength: 56, DUID: []byte{0, 4, 1}, IAID: 1,
		PreferredUntil: t0, ValidUntil: t0.Add(time.Hour), LastTransaction: t0.Add(-time.Minute)}
	b, err := json.Marshal(pd)
	if err != nil {
		t.Fatal(err)
	}
	var back Lease
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, pd) {
		t.Errorf("round trip of %s = %+v, %v", b, back, err)
	}
	if back.Prefix() != netip.MustParsePrefix("2001:db8:100::/56") {
		t.Errorf("Prefix() = %s", back.Prefix())
	}
	if err := json.Unmarshal([]byte(`{"address":12}`), &back); err == nil {
		t.Error("malformed record decoded")
	}
}
