// Package peerlimit counts what a server has in flight (TFTP transfers,
// DNS-over-TCP connections) overall and per peer address, so one client,
// or a flood of requests from one address, cannot take every slot.
package peerlimit

import (
	"errors"
	"net/netip"
	"sync"
)

// Errors Acquire returns; callers word them for their protocol.
var (
	ErrTotal   = errors.New("total limit reached")
	ErrPerPeer = errors.New("limit per peer address reached")
)

// Counter counts slots in use. The zero value is ready to use.
type Counter struct {
	mu      sync.Mutex
	total   int
	perPeer map[netip.Addr]int
}

// Acquire takes a slot for peer under the given limits, which are read per
// call so a server can change them live, and says how many slots are in
// use with this one. A zone or an IPv4-mapped form does not make another
// peer. The returned release gives the slot back; calling it more than
// once is harmless.
func (c *Counter) Acquire(peer netip.Addr, maxTotal, maxPerPeer int) (release func(), active int, err error) {
	peer = peer.Unmap().WithZone("")
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.total >= maxTotal {
		return nil, 0, ErrTotal
	}
	if c.perPeer[peer] >= maxPerPeer {
		return nil, 0, ErrPerPeer
	}
	if c.perPeer == nil {
		c.perPeer = make(map[netip.Addr]int)
	}
	c.total++
	c.perPeer[peer]++
	active = c.total
	return sync.OnceFunc(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.total--
		if c.perPeer[peer]--; c.perPeer[peer] == 0 {
			delete(c.perPeer, peer)
		}
	}), active, nil
}
