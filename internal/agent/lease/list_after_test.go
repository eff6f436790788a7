package lease

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
)

// TestListAfterPagesLiveLeases: pages of ListAfter, each after the last
// address of the one before, add up to List: every live lease once, in
// address order, without offers, declined addresses or expired leases.
func TestListAfterPagesLiveLeases(t *testing.T) {
	p := NewPool(Spaces{Addresses: []config.AddressRange{rng("2001:db8::100", "2001:db8::1ff")}})
	for i := range 40 {
		mustBind(t, p, req(i, "", t0), t0)
	}
	short := req(40, "", t0)
	short.ValidUntil = t0.Add(time.Minute)
	mustBind(t, p, short, t0)
	if _, err := p.Offer(NA, duid(41), 41, netip.Addr{}, t0); err != nil {
		t.Fatal(err)
	}
	declined := mustBind(t, p, req(42, "", t0), t0)
	if _, ok := p.Decline(NA, duid(42), 42, declined.Address, t0.Add(time.Hour)); !ok {
		t.Fatal("Decline found no lease")
	}
	now := t0.Add(2 * time.Minute) // the short lease has ended
	want := p.List(now)
	if len(want) != 40 {
		t.Fatalf("List holds %d leases, want the 40 live ones", len(want))
	}
	for _, size := range []int{1, 7, 40, 100} {
		var got []Lease
		after := netip.Addr{}
		for {
			page := p.ListAfter(after, size, now)
			if len(page) > size {
				t.Fatalf("page of %d holds %d leases", size, len(page))
			}
			got = append(got, page...)
			if len(page) < size {
				break
			}
			after = page[len(page)-1].Address
		}
		if !slices.EqualFunc(got, want, func(a, b Lease) bool { return a.Address == b.Address && string(a.DUID) == string(b.DUID) }) {
			t.Errorf("pages of %d = %v, want %v", size, got, want)
		}
	}
}
