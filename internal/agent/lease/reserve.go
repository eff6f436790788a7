package lease

import (
	"net/netip"
	"time"
)

// Reservation is an address only one machine may lease (a host
// reservation, as dhcpd's host blocks and Kea's reservations are): the
// client showing one of DUIDs, or one of MACs as its hardware address
// (from its DUID, its link-local address or a relay's option 79).
type Reservation struct {
	// Owner names the machine, for logs.
	Owner   string
	Address netip.Addr
	// DUIDs are lowercase hex; MACs lowercase with colons, as
	// Lease.HardwareAddr holds them.
	DUIDs []string
	MACs  []string
}

// reservations index Spaces.Reservations for the pool.
type reservations struct {
	byAddr  map[netip.Addr]*Reservation
	clients ClientIndex[*Reservation]
}

func indexReservations(rs []Reservation) reservations {
	idx := reservations{byAddr: map[netip.Addr]*Reservation{}}
	for i := range rs {
		r := &rs[i]
		idx.byAddr[r.Address.WithZone("")] = r
		idx.clients.Add(r.DUIDs, r.MACs, r)
	}
	return idx
}

// of returns the reservation of the client with duid and hardware address
// mac, or nil.
func (idx *reservations) of(duid []byte, mac string) *Reservation {
	r, _ := idx.clients.Of(duid, mac)
	return r
}

// owns reports whether l's client is the one address a is reserved for, or
// true when a is reserved for nobody.
func (idx *reservations) owns(l Lease) bool {
	r := idx.byAddr[l.Address]
	return r == nil || (kindOf(l.Kind) == NA && idx.of(l.DUID, l.HardwareAddr) == r)
}

// reservedFor is the address reserved for the client id (of kind, with
// duid and hardware address mac), when it has one that no other client
// holds; a reservation made while another client held the address waits
// until that lease ends (it cannot be renewed, see fits). An offer to
// another client gives way.
func (p *Pool) reservedFor(kind Kind, id clientID, duid []byte, mac string, now time.Time) netip.Addr {
	if kindOf(kind) != NA || len(p.res.byAddr) == 0 {
		return netip.Addr{}
	}
	r := p.res.of(duid, mac)
	if r == nil {
		return netip.Addr{}
	}
	if _, excluded := p.excluded[r.Address]; excluded {
		return netip.Addr{} // the server's own address: nobody's
	}
	if e := p.at(r.Address.As16()); e != nil && !e.ended(now) && p.id(e) != id {
		if e.state != offered {
			return netip.Addr{}
		}
		p.remove(e)
	}
	return r.Address
}

// Reserved returns the reservation of addr, if it has one.
func (p *Pool) Reserved(addr netip.Addr) (Reservation, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r := p.res.byAddr[addr.WithZone("")]; r != nil {
		return *r, true
	}
	return Reservation{}, false
}
