package tftp

import (
	"errors"
	"net/netip"
	"sync"
)

var (
	errServerBusy = errors.New("too many transfers in progress")
	errClientBusy = errors.New("too many transfers in progress for this client")
)

// transferLimiter counts transfers in flight, overall and per client
// address, so one client (or a flood of spoofed requests from it) cannot
// take every slot. pin/tftp has no such limit; it is applied in the read
// handler, before a file is opened.
type transferLimiter struct {
	mu        sync.Mutex
	total     int
	perClient map[netip.Addr]int
}

// acquire takes a slot for client under the given limits, which are read
// per call so Apply can change them live, and says how many transfers are
// in flight with this one. The returned release gives the slot back;
// calling it more than once is harmless.
func (l *transferLimiter) acquire(client netip.Addr, maxTotal, maxPerClient int) (release func(), active int, err error) {
	client = client.Unmap().WithZone("")
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.total >= maxTotal {
		return nil, 0, errServerBusy
	}
	if l.perClient[client] >= maxPerClient {
		return nil, 0, errClientBusy
	}
	if l.perClient == nil {
		l.perClient = make(map[netip.Addr]int)
	}
	l.total++
	l.perClient[client]++
	active = l.total
	return sync.OnceFunc(func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.total--
		if l.perClient[client]--; l.perClient[client] == 0 {
			delete(l.perClient, client)
		}
	}), active, nil
}
