package lease

import (
	"net/netip"
	"time"
)

// Reservation is an address, or a delegated prefix, only one machine may
// lease (a host reservation, as dhcpd's host blocks and Kea's
// reservations are): the client showing one of DUIDs, one of MACs as
// its hardware address (from its DUID, its link-local address or a
// relay's option 79), or a DUID-UUID of one of UUIDs (ClientIndex).
type Reservation struct {
	// Owner names the machine, for logs.
	Owner string
	// Address is reserved for IA_NA; when Prefix is set instead, it is
	// reserved for IA_PD, in a pool of its length.
	Address netip.Addr
	Prefix  netip.Prefix
	// DUIDs are lowercase hex; MACs lowercase with colons, as
	// Lease.HardwareAddr holds them; UUIDs lowercase 8-4-4-4-12.
	DUIDs []string
	MACs  []string
	UUIDs []string
}

// first is what the pool's index holds r by: its address, or its prefix's
// first address, as entries are held.
func (r *Reservation) first() netip.Addr {
	if r.Prefix.IsValid() {
		return r.Prefix.Addr()
	}
	return r.Address.WithZone("")
}

// kind is the kind of lease r reserves.
func (r *Reservation) kind() Kind {
	if r.Prefix.IsValid() {
		return PD
	}
	return NA
}

// reservations index Spaces.Reservations for the pool. Addresses and
// prefixes share byAddr, as leases share the pool's index; a client may
// have one of each kind, so each kind has its own ClientIndex.
type reservations struct {
	byAddr map[netip.Addr]*Reservation
	na, pd ClientIndex[*Reservation]
}

func (idx *reservations) clients(kind Kind) *ClientIndex[*Reservation] {
	if kind == PD {
		return &idx.pd
	}
	return &idx.na
}

func indexReservations(rs []Reservation, pdBits int) reservations {
	idx := reservations{byAddr: map[netip.Addr]*Reservation{}}
	for i := range rs {
		r := &rs[i]
		if r.Prefix.IsValid() && r.Prefix.Bits() != pdBits {
			continue // delegated only where prefixes of its length are
		}
		idx.byAddr[r.first()] = r
		idx.clients(r.kind()).Add(r.DUIDs, r.MACs, r.UUIDs, r)
	}
	return idx
}

// of returns the reservation of kind of the client with duid and hardware
// address mac, or nil.
func (idx *reservations) of(kind Kind, duid []byte, mac string) *Reservation {
	r, _ := idx.clients(kind).Of(duid, mac)
	return r
}

// owns reports whether l's client is the one its address or prefix is
// reserved for, or true when it is reserved for nobody.
func (idx *reservations) owns(l Lease) bool {
	r := idx.byAddr[l.Address]
	if r == nil {
		return true
	}
	k := kindOf(l.Kind)
	return k == r.kind() && (k != PD || l.PrefixLength == r.Prefix.Bits()) && idx.of(k, l.DUID, l.HardwareAddr) == r
}

// reservedFor is the address (or prefix's first address) reserved for the
// client id (of kind, with duid and hardware address mac), when it has one
// that no other client holds; a reservation made while another client
// held it waits until that lease ends (it cannot be renewed, see fits). An
// offer to another client gives way.
func (p *Pool) reservedFor(kind Kind, id clientID, duid []byte, mac string, now time.Time) netip.Addr {
	kind = kindOf(kind)
	if kind == TA || len(p.res.byAddr) == 0 {
		return netip.Addr{}
	}
	r := p.res.of(kind, duid, mac)
	if r == nil {
		return netip.Addr{}
	}
	a := r.first()
	if _, excluded := p.excluded[a]; excluded {
		return netip.Addr{} // the server's own address: nobody's
	}
	if e := p.at(a.As16()); e != nil && !e.ended(now) && p.id(e) != id {
		if e.state != offered {
			return netip.Addr{}
		}
		p.remove(e)
	}
	return a
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
