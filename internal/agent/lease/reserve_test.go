package lease

import (
	"encoding/hex"
	"errors"
	"net/netip"
	"testing"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
)

// A reserved address goes to its owner only (by DUID, or by hardware
// address), inside the ranges or outside them, and never to anyone else,
// even when the ranges are full or another client asks for it.
func TestReservations(t *testing.T) {
	inside, outside := netip.MustParseAddr("2001:db8::11"), netip.MustParseAddr("2001:db8::99")
	byMAC := "02:00:00:00:00:07"
	p := NewPool(Spaces{
		Addresses: []config.AddressRange{rng("2001:db8::10", "2001:db8::12")},
		Reservations: []Reservation{
			{Owner: "web1", Address: inside, DUIDs: []string{hex.EncodeToString(duid(1))}},
			{Owner: "web2", Address: outside, MACs: []string{byMAC}},
		},
	})
	// Others fill the ranges, and the reserved address is not among them,
	// even when asked for by hint.
	a := mustBind(t, p, req(3, "2001:db8::11", t0), t0)
	b := mustBind(t, p, req(4, "", t0), t0)
	if a.Address == inside || b.Address == inside {
		t.Fatalf("others got the reserved address: %s, %s", a.Address, b.Address)
	}
	if _, err := p.Offer(NA, duid(5), 5, inside, t0); !errors.Is(err, ErrPoolExhausted) {
		t.Fatalf("a third client with the ranges full: %v, want ErrPoolExhausted", err)
	}
	// The owners get theirs: by DUID inside the ranges, by MAC outside.
	if got, err := p.Offer(NA, duid(1), 1, netip.Addr{}, t0); err != nil || got != inside {
		t.Fatalf("web1 offered %s, %v; want %s", got, err, inside)
	}
	if l := mustBind(t, p, req(1, "", t0), t0); l.Address != inside {
		t.Fatalf("web1 bound %s, want %s", l.Address, inside)
	}
	r2 := req(2, "", t0)
	r2.HardwareAddr = byMAC
	if got, err := p.OfferTo(NA, r2.DUID, byMAC, r2.IAID, netip.Addr{}, t0); err != nil || got != outside {
		t.Fatalf("web2 offered %s, %v; want %s", got, err, outside)
	}
	l2 := mustBind(t, p, r2, t0)
	if l2.Address != outside {
		t.Fatalf("web2 bound %s, want %s", l2.Address, outside)
	}
	// It renews, and survives a restart (Load), outside the ranges.
	if _, err := p.Renew(r2, t0); err != nil {
		t.Fatalf("web2 renewing its reservation: %v", err)
	}
	q := NewPool(Spaces{Addresses: []config.AddressRange{rng("2001:db8::10", "2001:db8::12")},
		Reservations: []Reservation{{Owner: "web2", Address: outside, MACs: []string{byMAC}}}})
	if dropped := q.Load([]Lease{l2}, t0); len(dropped) != 0 {
		t.Fatalf("Load dropped the owner's lease: %v", dropped)
	}
	// A reservation made while another client holds the address: that
	// client keeps it until its next renewal, which fails; the owner then
	// gets it.
	p.Update(Spaces{Addresses: []config.AddressRange{rng("2001:db8::10", "2001:db8::12")},
		Reservations: []Reservation{{Owner: "db1", Address: a.Address, DUIDs: []string{hex.EncodeToString(duid(6))}}}})
	if got, err := p.Offer(NA, duid(6), 6, netip.Addr{}, t0); err == nil && got == a.Address {
		t.Fatalf("db1 offered %s while client 3 still holds it", got)
	}
	if _, err := p.Renew(req(3, "", t0), t0); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("client 3 renewing db1's address: %v, want ErrOutOfRange", err)
	}
	if l := mustBind(t, p, req(6, "", t0), t0); l.Address != a.Address {
		t.Fatalf("db1 bound %s, want %s", l.Address, a.Address)
	}
	// web1's reservation is gone with the Update: its address is leasable
	// again, to anyone.
	if r, ok := p.Reserved(inside); ok {
		t.Fatalf("reservation still there: %+v", r)
	}
}

// A reserved prefix is delegated to its owner only, inside the pool or
// outside it, by DUID or by MAC, alongside its reserved address; another
// client never gets it, and a pool of another length ignores it.
func TestReservedPrefixes(t *testing.T) {
	mac := "02:00:00:00:00:07"
	inPool, outside := netip.MustParsePrefix("2001:db8:100:100::/56"), netip.MustParsePrefix("2001:db8:900::/56")
	spaces := Spaces{
		Addresses: []config.AddressRange{rng("2001:db8::10", "2001:db8::12")},
		// Two /56 prefixes: 2001:db8:100::/56 and 2001:db8:100:100::/56.
		Prefixes: &config.PrefixDelegation{Start: netip.MustParseAddr("2001:db8:100::"), End: netip.MustParseAddr("2001:db8:100:100::"), Length: 56},
		Reservations: []Reservation{
			{Owner: "rtr1", Address: netip.MustParseAddr("2001:db8::99"), DUIDs: []string{hex.EncodeToString(duid(1))}},
			{Owner: "rtr1", Prefix: inPool, DUIDs: []string{hex.EncodeToString(duid(1))}},
			{Owner: "rtr2", Prefix: outside, MACs: []string{mac}},
		},
	}
	p := NewPool(spaces)
	pd := func(i int) Lease {
		r := req(i, "", t0)
		r.Kind = PD
		return r
	}
	// Another client asking for the reserved prefix by hint gets the
	// other; with it taken, a third gets nothing.
	hint := pd(3)
	hint.Address = inPool.Addr()
	if l := mustBind(t, p, hint, t0); l.Prefix() == inPool {
		t.Fatalf("client 3 got rtr1's prefix %s", l.Prefix())
	}
	if l, _, err := p.Bind(pd(4), t0); !errors.Is(err, ErrPoolExhausted) {
		t.Fatalf("client 4 with the pool full: %s, %v, want ErrPoolExhausted", l.Prefix(), err)
	}
	// The owners get theirs, and rtr1 its address too.
	if l := mustBind(t, p, pd(1), t0); l.Prefix() != inPool {
		t.Fatalf("rtr1 got %s, want %s", l.Prefix(), inPool)
	}
	if l := mustBind(t, p, req(1, "", t0), t0); l.Address != netip.MustParseAddr("2001:db8::99") {
		t.Fatalf("rtr1's address: %s", l.Address)
	}
	r2 := pd(2)
	r2.HardwareAddr = mac
	if got, err := p.OfferTo(PD, r2.DUID, mac, r2.IAID, netip.Addr{}, t0); err != nil || got != outside.Addr() {
		t.Fatalf("rtr2 offered %s, %v; want %s", got, err, outside.Addr())
	}
	l2 := mustBind(t, p, r2, t0)
	if l2.Prefix() != outside {
		t.Fatalf("rtr2 got %s, want %s", l2.Prefix(), outside)
	}
	if _, err := p.Renew(r2, t0); err != nil {
		t.Fatalf("rtr2 renewing its prefix outside the pool: %v", err)
	}
	// rtr2 asking for an address is no reservation: a range address.
	if got, err := p.OfferTo(NA, r2.DUID, mac, r2.IAID, netip.Addr{}, t0); err != nil || got == netip.MustParseAddr("2001:db8::99") {
		t.Fatalf("rtr2's address offer: %s, %v", got, err)
	}
	// A pool of /60 prefixes does not delegate the reserved /56s.
	spaces.Prefixes = &config.PrefixDelegation{Start: netip.MustParseAddr("2001:db8:900::"), End: netip.MustParseAddr("2001:db8:900:f0::"), Length: 60}
	q := NewPool(spaces)
	if l := mustBind(t, q, r2, t0); l.PrefixLength != 60 || !outside.Contains(l.Address) {
		t.Fatalf("rtr2 in a /60 pool got %s", l.Prefix())
	}
	if _, ok := q.Reserved(outside.Addr()); ok {
		t.Fatal("a /60 pool holds a /56 reservation")
	}
}

// A machine known only by its system UUID gets its reserved address
// when iPXE asks with the DUID-UUID built from that UUID; a client with
// another UUID does not.
func TestReservationByUUID(t *testing.T) {
	reserved := netip.MustParseAddr("2001:db8::99")
	p := NewPool(Spaces{
		Addresses:    []config.AddressRange{rng("2001:db8::10", "2001:db8::12")},
		Reservations: []Reservation{{Owner: "vm", Address: reserved, UUIDs: []string{"01234567-89ab-cdef-0011-223344556677"}}},
	})
	other := req(2, "2001:db8::99", t0)
	other.DUID = duidUUIDOf(t, "0123456789abcdef0011223344556678")
	if l := mustBind(t, p, other, t0); l.Address == reserved {
		t.Fatalf("a client of another UUID got the reserved address")
	}
	vm := req(1, "", t0)
	vm.DUID = duidUUIDOf(t, "0123456789abcdef0011223344556677")
	if l := mustBind(t, p, vm, t0); l.Address != reserved {
		t.Fatalf("the machine's DUID-UUID bound %s, want %s", l.Address, reserved)
	}
}
