package lease

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
)

// randomStored are n leases as a damaged or old store may hold them:
// some collide by address or by client IA, some expired, of unknown kind
// or outside the ranges, on a reserved address, with long DUIDs and user
// classes and shared MACs.
func randomStored(r *rand.Rand, n int) []Lease {
	kinds := []Kind{NA, NA, TA, PD, "", "xx"}
	long := bytes.Repeat([]byte{9}, 30)
	out := make([]Lease, n)
	for i := range out {
		k := kinds[r.IntN(len(kinds))]
		l := Lease{Kind: k, DUID: duid(r.IntN(40)), IAID: uint32(r.IntN(2)),
			PreferredUntil: t0.Add(time.Minute), ValidUntil: t0.Add(time.Duration(r.IntN(7200)-600) * time.Second),
			HardwareAddr: fmt.Sprintf("02:00:00:00:00:%02x", r.IntN(8)), HardwareAddrSource: "duid"}
		switch k {
		case PD:
			l.Address, l.PrefixLength = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 1, byte(r.IntN(20))}), 48+8*r.IntN(2)
		case TA:
			l.Address = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: 2, 15: byte(r.IntN(40))})
		default:
			l.Address = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: 1, 15: byte(r.IntN(80))})
		}
		if r.IntN(10) == 0 {
			l.DUID = long
		}
		if r.IntN(10) == 0 {
			l.UserClass = "a user class longer than the entry holds"
		}
		out[i] = l
	}
	return out
}

// distinct is the first of ls on each address and of each client IA.
func distinct(ls []Lease) []Lease {
	addrs, clients := map[netip.Addr]bool{}, map[string]bool{}
	var out []Lease
	for _, l := range ls {
		c := fmt.Sprintf("%s %x %d", kindOf(l.Kind), l.DUID, l.IAID)
		if !addrs[l.Address] && !clients[c] {
			addrs[l.Address], clients[c] = true, true
			out = append(out, l)
		}
	}
	return out
}

// TestLoaderLoadsAsLoad: a Loader keeps and drops what Load keeps and
// drops, in bulk into an empty pool and one by one into a pool that
// already holds leases, and leaves the pool's indexes whole; the
// hardware address index is whole once IndexHardware returns.
func TestLoaderLoadsAsLoad(t *testing.T) {
	spaces := Spaces{
		Addresses: []config.AddressRange{rng("2001:db8::100", "2001:db8::13f")},
		Temporary: []config.AddressRange{rng("2001:db8::200", "2001:db8::21f")},
		Prefixes:  &config.PrefixDelegation{Start: netip.MustParseAddr("2001:db8:100::"), End: netip.MustParseAddr("2001:db8:10f::"), Length: 48},
		Reservations: []Reservation{{Owner: "m", Address: netip.MustParseAddr("2001:db8::101"), DUIDs: []string{fmt.Sprintf("%x", duid(3))}},
			{Owner: "n", Address: netip.MustParseAddr("2001:db8::1:1"), MACs: []string{"02:00:00:00:00:01"}}},
	}
	r := rand.New(rand.NewPCG(3, 4))
	for round := range 200 {
		in, held := randomStored(r, r.IntN(150)), randomStored(r, r.IntN(20))
		if round%2 == 0 {
			in = distinct(in)
		}
		for _, before := range [][]Lease{nil, held} {
			want, got := NewPool(spaces), NewPool(spaces)
			want.Load(before, t0)
			got.Load(before, t0)
			wantDropped := want.Load(in, t0)
			ld := got.Loader(t0)
			for _, l := range in {
				ld.Add(l)
			}
			gotDropped := ld.Done()
			name := fmt.Sprintf("round %d, %d leases held before", round, len(before))
			if w, g := want.List(t0), got.List(t0); !slices.EqualFunc(w, g, sameLease) {
				t.Fatalf("%s: Loader kept %v, Load %v", name, addrs(g), addrs(w))
			}
			w, g := addrs(wantDropped), addrs(gotDropped)
			slices.Sort(w)
			slices.Sort(g)
			if !slices.Equal(w, g) {
				t.Fatalf("%s: Loader dropped %v, Load %v", name, g, w)
			}
			checkIndexes(t, got, round)
			got.IndexHardware()
			checkIndexes(t, got, round)
			if got.macUpTo != ^uint32(0) {
				t.Fatalf("%s: MAC index covers places below %d after IndexHardware", name, got.macUpTo)
			}
			for i := range 8 {
				mac := fmt.Sprintf("02:00:00:00:00:%02x", i)
				if w, g := want.LookupHardware(mac, t0), got.LookupHardware(mac, t0); !slices.EqualFunc(w, g, sameLease) {
					t.Fatalf("%s: LookupHardware(%s) = %v, want %v", name, mac, addrs(g), addrs(w))
				}
			}
		}
	}
}

// TestPoolServesWhileMACIndexIsBuilt: between a Loader's Done and the
// end of IndexHardware the pool binds, renews, releases and expires
// leases, loaded ones and new ones, with the index half built; it stays
// consistent at every step, and a lookup by MAC meanwhile finds what a
// pool loaded with Load finds.
func TestPoolServesWhileMACIndexIsBuilt(t *testing.T) {
	spaces := Spaces{Addresses: []config.AddressRange{rng("2001:db8::100", "2001:db8::1ff")}}
	r := rand.New(rand.NewPCG(5, 6))
	in := make([]Lease, 120)
	for i := range in {
		in[i] = Lease{Kind: NA, Address: netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: 1, 15: byte(i)}), DUID: duid(i), IAID: 1,
			ValidUntil: t0.Add(time.Duration(30+r.IntN(120)) * time.Second), HardwareAddr: fmt.Sprintf("02:00:00:00:00:%02x", i%6)}
	}
	p, ref := NewPool(spaces), NewPool(spaces)
	ref.Load(in, t0)
	ld := p.Loader(t0)
	for _, l := range in {
		ld.Add(l)
	}
	if dropped := ld.Done(); len(dropped) != 0 {
		t.Fatalf("Done dropped %v", addrs(dropped))
	}
	now := t0
	for step := 0; p.macUpTo != ^uint32(0); step++ {
		c := r.IntN(200)
		req := Lease{Kind: NA, DUID: duid(c), IAID: 1, ValidUntil: now.Add(time.Minute), HardwareAddr: fmt.Sprintf("02:00:00:00:00:%02x", c%6)}
		for _, q := range []*Pool{p, ref} {
			switch step % 4 {
			case 0:
				if l, _, err := q.Bind(req, now); err == nil {
					q.Stored([]Lease{l})
				}
			case 1:
				if l, ok := q.Lookup(NA, req.DUID, 1, now); ok {
					q.Release(NA, req.DUID, 1, l.Address)
				}
			case 2:
				q.Expire(now)
			case 3:
				if l, err := q.Renew(req, now); err == nil {
					q.Stored([]Lease{l})
				}
			}
		}
		now = now.Add(time.Second)
		checkIndexes(t, p, step)
		if step%5 == 4 {
			p.mu.Lock()
			p.indexMACUpTo(p.macUpTo + 3)
			p.mu.Unlock()
			checkIndexes(t, p, step)
		}
		if step == 60 {
			mac := "02:00:00:00:00:02"
			if w, g := ref.LookupHardware(mac, now), p.LookupHardware(mac, now); !slices.EqualFunc(w, g, sameLease) {
				t.Fatalf("LookupHardware(%s) with the index half built = %v, want %v", mac, addrs(g), addrs(w))
			}
		}
	}
}
