package link

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
)

// Listener is one bound address of a server.
type Listener interface {
	// Addr is the address and port as bound (the port resolved when 0
	// was asked for).
	Addr() netip.AddrPort
}

// Listeners is the set of addresses a server listens on, all on one port:
// TFTP, HTTP, DNS and NFS each keep one. It is not safe for concurrent
// use: the server's own lock guards it.
type Listeners[L Listener] struct {
	bind func(netip.AddrPort) (L, error)
	stop func(L)
	port int // as last asked for; 0 means "any free port"
	ls   []L
}

// NewListeners returns an empty set that opens a listener with bind and
// closes one with stop (several at once, in parallel).
func NewListeners[L Listener](bind func(netip.AddrPort) (L, error), stop func(L)) *Listeners[L] {
	return &Listeners[L]{bind: bind, stop: stop}
}

// Bind makes the set listen on exactly addrs at port (0: the first bind
// picks a free port and the others share it). Listeners whose address and
// port stay are kept; new ones are bound before old ones close, so on error
// the set is as it was. commit, when not nil, runs once the new ones are
// bound and before the old ones close: a server swaps its settings there.
// Bind reports whether any listener was opened or closed.
//
// A link-local address must carry its zone: the kernel cannot bind
// fe80::/10 without one.
func (s *Listeners[L]) Bind(addrs []netip.Addr, port int, commit func()) (changed bool, err error) {
	if port < 0 || port > 65535 {
		return false, fmt.Errorf("port %d out of range", port)
	}
	if len(addrs) == 0 {
		return false, errors.New("no addresses to listen on")
	}
	var want []netip.Addr
	for _, a := range addrs {
		if !a.IsValid() {
			return false, errors.New("invalid (zero) address")
		}
		if a.IsLinkLocalUnicast() && a.Zone() == "" {
			return false, fmt.Errorf("link-local address %s needs its interface as zone", a)
		}
		if !slices.Contains(want, a) {
			want = append(want, a)
		}
	}
	var keep, drop []L
	for _, l := range s.ls {
		bound := l.Addr()
		// A listener stays when the port asked for is the one asked for
		// before or the one it has.
		samePort := port == s.port || port == int(bound.Port())
		if samePort && slices.Contains(want, bound.Addr()) {
			keep = append(keep, l)
		} else {
			drop = append(drop, l)
		}
	}
	bindPort := port
	if bindPort == 0 && len(keep) > 0 {
		bindPort = int(keep[0].Addr().Port())
	}
	var added []L
	for _, a := range want {
		if slices.ContainsFunc(keep, func(l L) bool { return l.Addr().Addr() == a }) {
			continue
		}
		l, err := s.bind(netip.AddrPortFrom(a, uint16(bindPort)))
		if err != nil {
			s.stopAll(added)
			return false, err
		}
		bindPort = int(l.Addr().Port())
		added = append(added, l)
	}
	if commit != nil {
		commit()
	}
	s.stopAll(drop)
	s.ls = append(keep, added...)
	s.port = port
	return len(added) > 0 || len(drop) > 0, nil
}

// Stop closes every listener. Addrs still reports where they were; the
// set is not used again.
func (s *Listeners[L]) Stop() {
	s.stopAll(s.ls)
}

// Addrs are the bound addresses with their port; with port 0 this is how a
// test learns the port.
func (s *Listeners[L]) Addrs() []netip.AddrPort {
	out := make([]netip.AddrPort, len(s.ls))
	for i, l := range s.ls {
		out[i] = l.Addr()
	}
	return out
}

// All are the listeners, in a slice of the caller's own.
func (s *Listeners[L]) All() []L { return slices.Clone(s.ls) }

func (s *Listeners[L]) stopAll(ls []L) {
	var wg sync.WaitGroup
	for _, l := range ls {
		wg.Go(func() { s.stop(l) })
	}
	wg.Wait()
}
