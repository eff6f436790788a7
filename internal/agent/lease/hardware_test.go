package lease

import (
	"net"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"

	"net/netip"
	"slices"
	"testing"
	"time"
)

// LookupHardware finds every client showing a MAC, whatever its DUID, and
// forgets a lease when it is released, replaced or expired, wherever it
// sits in the MAC's chain.
func TestLookupHardware(t *testing.T) {
	mac, other := "02:00:00:00:00:07", "02:00:00:00:00:08"
	p := NewPool(Spaces{Addresses: []config.AddressRange{rng("2001:db8::10", "2001:db8::ff")}})
	bind := func(i int, hw string, now time.Time) Lease {
		r := req(i, "", now)
		r.HardwareAddr = hw
		return mustBind(t, p, r, now)
	}
	addrs := func(ls []Lease) []netip.Addr {
		var out []netip.Addr
		for _, l := range ls {
			out = append(out, l.Address)
		}
		return out
	}
	a, b, c := bind(1, mac, t0), bind(2, mac, t0), bind(3, mac, t0)
	d := bind(4, other, t0)
	bind(5, "", t0)
	want := []netip.Addr{a.Address, b.Address, c.Address}
	slices.SortFunc(want, netip.Addr.Compare)
	if got := addrs(p.LookupHardware(mac, t0)); !slices.Equal(got, want) {
		t.Fatalf("LookupHardware(%s) = %v, want %v", mac, got, want)
	}
	// Out of the middle of the chain, then its head.
	if _, ok := p.Release(NA, b.DUID, b.IAID, b.Address); !ok {
		t.Fatal("Release failed")
	}
	if _, ok := p.Release(NA, c.DUID, c.IAID, c.Address); !ok {
		t.Fatal("Release failed")
	}
	if got := addrs(p.LookupHardware(mac, t0)); !slices.Equal(got, []netip.Addr{a.Address}) {
		t.Fatalf("after releases: %v, want [%s]", got, a.Address)
	}
	if got := addrs(p.LookupHardware(other, t0)); !slices.Equal(got, []netip.Addr{d.Address}) {
		t.Fatalf("LookupHardware(%s) = %v, want [%s]", other, got, d.Address)
	}
	// A renewal that shows another MAC moves the lease to it.
	r := req(1, "", t0)
	r.HardwareAddr = other
	mustBind(t, p, r, t0)
	if got := p.LookupHardware(mac, t0); len(got) != 0 {
		t.Fatalf("old MAC still finds %v", addrs(got))
	}
	if got := p.LookupHardware(other, t0); len(got) != 2 {
		t.Fatalf("new MAC finds %v, want 2 leases", addrs(got))
	}
	// Expired leases are not found, and Expire empties the index.
	later := t0.Add(2 * time.Hour)
	if got := p.LookupHardware(other, later); len(got) != 0 {
		t.Fatalf("expired leases found: %v", addrs(got))
	}
	p.Expire(later)
	if len(p.byMAC) != 0 {
		t.Fatalf("index holds %d MACs after every lease expired", len(p.byMAC))
	}
	for _, bad := range []string{"", "02:00:00:00:00", "02:00:00:00:00:07:01", "zz:00:00:00:00:07"} {
		if got := p.LookupHardware(bad, t0); got != nil {
			t.Errorf("LookupHardware(%q) = %v", bad, got)
		}
	}
}

// BenchmarkMachineLookup is what a DNS query for a machine's name costs
// in a pool of a million leases: its DUID's leases and its MAC's, through
// the indexes; and what a PTR query costs, by address.
func BenchmarkMachineLookup(b *testing.B) {
	const n = 1 << 20
	p := NewPool(Spaces{Addresses: []config.AddressRange{rng("2001:db8::", "2001:db8::ffff:ffff:ffff:ffff")}})
	leases := make([]Lease, 0, n)
	for i := range n {
		mac := [6]byte{0x52, 0x54, 0, byte(i >> 16), byte(i >> 8), byte(i)}
		l := Lease{Kind: NA, Address: netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 11: 1, 13: byte(i >> 16), 14: byte(i >> 8), 15: byte(i)}),
			DUID: append([]byte{0, 3, 0, 1}, mac[:]...), IAID: 1, ValidUntil: t0.Add(time.Hour),
			HardwareAddr: net.HardwareAddr(mac[:]).String(), HardwareAddrSource: "duid"}
		leases = append(leases, l)
	}
	p.Load(leases, t0)
	probe := leases[n/3]
	b.Run("by DUID and MAC", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if len(p.LookupClient(probe.DUID, t0)) != 1 || len(p.LookupHardware(probe.HardwareAddr, t0)) != 1 {
				b.Fatal("lease not found")
			}
		}
	})
	b.Run("by address", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := p.LookupAddress(probe.Address, t0); !ok {
				b.Fatal("lease not found")
			}
		}
	})
}
