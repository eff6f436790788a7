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
