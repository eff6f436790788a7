package store

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
)

// TestLeasesAfterPagesByAddress: leases stored in random order (as a
// boot storm's are, its addresses spread by a hash of the client) come
// back in address order, a page after the last address of the one before.
func TestLeasesAfterPagesByAddress(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ls := s.Leases("lab")
	if got, err := ls.LeasesAfter(netip.Addr{}, 10); err != nil || len(got) != 0 {
		t.Fatalf("LeasesAfter of an empty bucket = %v, %v", got, err)
	}
	var stored []lease.Lease
	for _, i := range rand.New(rand.NewPCG(3, 4)).Perm(50) {
		a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i + 1)})
		stored = append(stored, lease.Lease{Address: a, DUID: []byte{byte(i)}, ValidUntil: time.Unix(int64(i), 0).UTC()})
	}
	if err := ls.PutLeases(stored, nil); err != nil {
		t.Fatal(err)
	}
	want, err := ls.Leases()
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{1, 7, 50, 60} {
		var got []lease.Lease
		after := netip.Addr{}
		for {
			page, err := ls.LeasesAfter(after, size)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, page...)
			if len(page) < size {
				break
			}
			after = page[len(page)-1].Address
		}
		if !slices.EqualFunc(got, want, func(a, b lease.Lease) bool { return a.Address == b.Address && a.ValidUntil.Equal(b.ValidUntil) }) {
			t.Errorf("pages of %d = %v, want %v", size, got, want)
		}
	}
}
