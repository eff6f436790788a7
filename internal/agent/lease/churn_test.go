package lease

import (
	"encoding/binary"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
)

// TestPoolMemoryFollowsLiveSet: new clients arrive at a steady rate and
// never renew, so the live set is flat while the leases ever granted grow;
// after ten more lifetimes of churn the pool's heap and its expiry lists
// must be what they were after the first two.
func TestPoolMemoryFollowsLiveSet(t *testing.T) {
	const (
		perSecond = 100
		lifetime  = 60 * time.Second
	)
	p := NewPool(Spaces{Addresses: []config.AddressRange{rng("2001:db8::1:0:0", "2001:db8::1:ffff:ffff")}})
	now, client := t0, 0
	churn := func(d time.Duration) {
		for end := now.Add(d); now.Before(end); now = now.Add(time.Second) {
			for range perSecond {
				client++
				id := binary.BigEndian.AppendUint32([]byte{0, 4, 0xaa}, uint32(client))
				addr, err := p.Offer(NA, id, 1, netip.Addr{}, now)
				if err != nil {
					t.Fatalf("Offer to client %d: %v", client, err)
				}
				mustBind(t, p, Lease{DUID: id, IAID: 1, Address: addr, PreferredUntil: now.Add(lifetime / 2), ValidUntil: now.Add(lifetime)}, now)
			}
			p.Expire(now)
		}
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	churn(2 * lifetime)
	live, due, before := len(p.List(now)), len(p.due), heap()
	churn(10 * lifetime)
	liveAfter, dueAfter, after := len(p.List(now)), len(p.due), heap()
	runtime.KeepAlive(p)
	t.Logf("live %d→%d, due %d→%d, heap %d→%d", live, liveAfter, due, dueAfter, before, after)
	if liveAfter > live+perSecond || liveAfter < live-perSecond {
		t.Fatalf("live leases went from %d to %d: the load is not steady", live, liveAfter)
	}
	if dueAfter > due+1 {
		t.Errorf("expiry lists went from %d to %d with a steady live set", due, dueAfter)
	}
	// A lease costs a few hundred bytes at most: growth of a tenth of the
	// live set's worth would be leases ever granted kept somewhere.
	if after > before+uint64(live)*32 {
		t.Errorf("heap went from %d to %d bytes (%+d per live lease) over 10 lifetimes of churn with %d live leases",
			before, after, (int64(after)-int64(before))/int64(live), live)
	}
}
