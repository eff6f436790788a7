package link

import (
	"net"
	"net/netip"
	"slices"
	"testing"
)

// Lines as the kernel writes them: address, index, prefix length, scope,
// flags, name.
const ifInet6 = `00000000000000000000000000000001 01 80 10 80       lo
20010db8000100000000000000000001 03 40 00 80   nbs0
20010db800010000a8bbccfffe000001 03 40 00 00   nbs0
20010db800010000123456789abcdef0 03 40 00 01   nbs0
20010db8000100000000000000000002 03 40 00 c0   nbs0
20010db8000100000000000000000003 03 40 00 a0   nbs0
fd000000000000000000000000000001 03 30 00 80   nbs0
fe80000000000000a8bbccfffe000001 03 40 20 80   nbs0
20010db8000200000000000000000001 04 40 00 80   other
not-hex-at-all-not-hex-at-all-xx 03 40 00 80   nbs0
20010db8000100000000000000000009 03 zz 00 80   nbs0
20010db8000100000000000000000009 03 40 00 80
`

func TestParseIfInet6(t *testing.T) {
	got := ParseIfInet6([]byte(ifInet6), "nbs0")
	want := []Addr{
		{Addr: netip.MustParseAddr("2001:db8:1::1"), PrefixLen: 64, Permanent: true},
		{Addr: netip.MustParseAddr("2001:db8:1:0:a8bb:ccff:fe00:1"), PrefixLen: 64},
		{Addr: netip.MustParseAddr("2001:db8:1:0:1234:5678:9abc:def0"), PrefixLen: 64, Temporary: true},
		{Addr: netip.MustParseAddr("2001:db8:1::2"), PrefixLen: 64, Permanent: true, Tentative: true},
		{Addr: netip.MustParseAddr("2001:db8:1::3"), PrefixLen: 64, Permanent: true, Deprecated: true},
		{Addr: netip.MustParseAddr("fd00::1"), PrefixLen: 48, Permanent: true},
		{Addr: netip.MustParseAddr("fe80::a8bb:ccff:fe00:1"), PrefixLen: 64, Permanent: true},
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
}

func FuzzParseIfInet6(f *testing.F) {
	f.Add([]byte(ifInet6), "nbs0")
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		for _, a := range ParseIfInet6(data, name) {
			if !a.Addr.Is6() || a.PrefixLen > 128 {
				t.Errorf("parsed %+v", a)
			}
		}
	})
}

func testInterface() *Interface {
	return &Interface{Name: "nbs0", Index: 3, MTU: 1500, Addrs: ParseIfInet6([]byte(ifInet6), "nbs0")}
}

func TestInterfaceAddresses(t *testing.T) {
	ifi := testInterface()
	if got, want := ifi.LinkLocal(), netip.MustParseAddr("fe80::a8bb:ccff:fe00:1"); got != want {
		t.Errorf("LinkLocal = %v, want %v", got, want)
	}
	// Not temporary, tentative, deprecated, autoconfigured or link-local.
	wantPermanent := addrs("2001:db8:1::1", "fd00::1")
	if got := ifi.PermanentGlobal(); !slices.Equal(got, wantPermanent) {
		t.Errorf("PermanentGlobal = %v, want %v", got, wantPermanent)
	}
	// Permanent first, then autoconfigured; never temporary.
	wantGlobal := addrs("2001:db8:1::1", "2001:db8:1::2", "2001:db8:1::3", "fd00::1", "2001:db8:1:0:a8bb:ccff:fe00:1")
	if got := ifi.Global(); !slices.Equal(got, wantGlobal) {
		t.Errorf("Global = %v, want %v", got, wantGlobal)
	}
	if got := (Interface{}).LinkLocal(); got.IsValid() {
		t.Errorf("no addresses: LinkLocal = %v", got)
	}
}

// The address rules: which address boot URLs name, which the file servers
// bind.
func TestLinkAddressRules(t *testing.T) {
	prefix := netip.MustParsePrefix("2001:db8:1::/64")
	onlyAutoconf := &Interface{Name: "nbs0", Addrs: []Addr{
		{Addr: netip.MustParseAddr("2001:db8:1::abcd"), PrefixLen: 64},
		{Addr: netip.MustParseAddr("fe80::1"), PrefixLen: 64, Permanent: true},
	}}
	outside := &Interface{Name: "nbs0", Addrs: []Addr{{Addr: netip.MustParseAddr("2001:db8:9::1"), PrefixLen: 64, Permanent: true}}}
	service := netip.MustParseAddr("2001:db8:ff::1")
	for _, tt := range []struct {
		name      string
		link      Link
		wantBoot  string
		wantServe []netip.Addr
	}{
		{"permanent address in the prefix", Link{Prefix: prefix, Interface: testInterface()}, "2001:db8:1::1", addrs("2001:db8:1::1", "fd00::1")},
		{"service address wins", Link{Prefix: prefix, Interface: testInterface(), ServiceAddress: service}, "2001:db8:ff::1", []netip.Addr{service}},
		{"only autoconfigured: wait", Link{Prefix: prefix, Interface: onlyAutoconf}, "", nil},
		{"permanent address outside the prefix: served, not named", Link{Prefix: prefix, Interface: outside}, "", addrs("2001:db8:9::1")},
		{"interface missing", Link{Prefix: prefix}, "", nil},
		{"relayed link with a service address", Link{Prefix: prefix, ServiceAddress: service}, "2001:db8:ff::1", []netip.Addr{service}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			boot := tt.link.BootAddress()
			if (tt.wantBoot == "" && boot.IsValid()) || (tt.wantBoot != "" && boot != netip.MustParseAddr(tt.wantBoot)) {
				t.Errorf("BootAddress = %v, want %q", boot, tt.wantBoot)
			}
			if got := tt.link.ServeAddresses(); !slices.Equal(got, tt.wantServe) {
				t.Errorf("ServeAddresses = %v, want %v", got, tt.wantServe)
			}
		})
	}
}

func TestResolveLoopback(t *testing.T) {
	ifi, err := Resolve("lo")
	if err != nil {
		t.Fatal(err)
	}
	if n := ifi.Net(); ifi.Index == 0 || ifi.MTU == 0 || n.Index != ifi.Index || n.Name != "lo" || n.Flags&net.FlagLoopback == 0 {
		t.Errorf("lo: %+v, as net.Interface %+v", ifi, n)
	}
	if !slices.ContainsFunc(ifi.Addrs, func(a Addr) bool { return a.Addr == netip.IPv6Loopback() && a.Permanent }) {
		t.Logf("lo has no ::1 (IPv6 off?): %+v", ifi.Addrs)
	}
}

func TestResolveMissing(t *testing.T) {
	_, err := Resolve("nb-missing0")
	if err == nil || !containsAll(err.Error(), `"nb-missing0" does not exist on the agent host`, "lo") {
		t.Errorf("Resolve(missing) = %v, want an error naming it and the interfaces that exist", err)
	}
}

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}
