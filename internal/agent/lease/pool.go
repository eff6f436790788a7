package lease

import (
	"bytes"
	"container/list"
	"encoding/binary"
	"errors"
	"hash/fnv"
	"iter"
	"net/netip"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/keyset"
)

// OfferTTL is how long an address offered in an Advertise stays reserved for
// the client's Request. Offers are not persisted: a lost offer only costs the
// client another Solicit.
const OfferTTL = 60 * time.Second

// MaxOffers bounds the offers held at once, so a flood of Solicits from
// made-up DUIDs costs a fixed amount of memory (a few MB) instead of one
// entry per Solicit for OfferTTL. Beyond it the oldest offer is withdrawn:
// its client still gets an address when it sends its Request. Real clients
// Request within a second or two of their Solicit, so a boot storm of
// thousands of clients a second stays far below it.
const MaxOffers = 8192

// maxProbes bounds the hash-derived candidates tried before the sequential
// scan. In a sparse pool the first candidate is almost always free, so a
// client keeps getting the same address back across Solicits and restarts.
const maxProbes = 32

var (
	// ErrPoolExhausted means every address (or prefix) of the kind's ranges
	// is leased, offered, declined or reserved (RFC 8415 status NoAddrsAvail
	// or NoPrefixAvail).
	ErrPoolExhausted = errors.New("no free address or prefix left in the DHCPv6 ranges")
	// ErrNoBinding means the server holds no lease for the client's IA
	// (RFC 8415 status NoBinding).
	ErrNoBinding = errors.New("no lease for this client identity association")
	// ErrClientLimit means the client already holds as many leases as
	// Spaces.LeasesPerClient allows (RFC 8415 status NoAddrsAvail or
	// NoPrefixAvail for its further IAs).
	ErrClientLimit = errors.New("the client holds as many leases as one client may")
	// ErrOutOfRange means the client's lease lies outside the current ranges,
	// typically after a configuration change; the pool has dropped it.
	ErrOutOfRange = errors.New("leased address or prefix is no longer inside the DHCPv6 ranges")
)

type state uint8

const (
	offered  state = iota + 1 // tentative, for an Advertise
	bound                     // a lease the client holds
	declined                  // quarantined after a Decline (RFC 8415 section 18.3.8)
)

type entry struct {
	lease Lease
	state state
	until time.Time // end of the offer, quarantine or lease
	// offer is the entry's place in Pool.offers while it is an offer.
	offer *list.Element
	// unstored: Bind or Renew changed the lease and storage has not
	// confirmed it yet (Stored). stored is then what storage holds of it,
	// nil for nothing: lists show that, and Revert goes back to it.
	unstored bool
	stored   *Lease
}

// storedLease is what storage holds of bound e, nil for nothing.
func (e *entry) storedLease() *Lease {
	if e.unstored {
		return e.stored
	}
	l := e.lease
	return &l
}

// live is what storage holds of e while it binds at now.
func (e *entry) live(now time.Time) (*Lease, bool) {
	if e.state != bound || !now.Before(e.until) {
		return nil, false
	}
	l := e.storedLease()
	return l, l != nil && now.Before(l.ValidUntil)
}

// clientKey identifies one IA of one client (RFC 8415 section 12).
type clientKey struct {
	kind Kind
	duid string
	iaid uint32
}

func keyOf(kind Kind, duid []byte, iaid uint32) clientKey {
	return clientKey{kindOf(kind), string(duid), iaid}
}

// kindOf reads an unset kind as NA, as stored records without one are.
func kindOf(k Kind) Kind {
	if k == "" {
		return NA
	}
	return k
}

// Spaces are what a pool leases from, by kind: addresses for IA_NA and
// IA_TA, prefixes for IA_PD (nil: none). They are inclusive and validated
// by config: the address ranges inside one /64, no two overlapping, the
// prefixes aligned to their length and outside that /64.
type Spaces struct {
	Addresses []config.AddressRange
	Temporary []config.AddressRange
	Prefixes  *config.PrefixDelegation
	// LeasesPerClient bounds the leases of every kind one DUID holds at
	// once (0: no bound): Bind and Offer refuse a further IA with
	// ErrClientLimit. Leases held when it is lowered stay.
	LeasesPerClient int
	// Reservations are addresses for one client each, inside the ranges
	// or not: no other client gets one, and one held by another is not
	// renewed.
	Reservations []Reservation
}

// span is one range placed in its space's offset space [0, total), in
// units of the space: addresses, or prefixes of the space's length.
type span struct {
	start, end u128
	base       u128
}

// space is what one kind leases from: its spans in order, how far they
// reach and where the sequential scan resumes.
type space struct {
	spans  []span
	total  u128
	slack  uint64 // upper bound on reserved anycast addresses in the ranges
	cursor u128
	// shift turns an address into its unit number: 0 for addresses,
	// 128 - bits for prefixes of bits.
	shift uint
	bits  int // length of each leased prefix: 128 for addresses
}

// Pool hands out addresses and delegated prefixes from a boot server's
// ranges to DHCPv6 clients. It holds only what is leased, offered or
// declined, never the ranges themselves, so a /64 costs no more than a
// /120. Leases of every kind share one index by address, so no address is
// leased twice even when a configuration change moves ranges between
// kinds. It is safe for concurrent use. Methods that depend on the time
// take it as an argument, so tests control the clock.
//
// Bind and Renew decide at once, but what the pool shows (List, the
// leasequery lookups) is only what the caller has confirmed as stored
// (Stored); a failed store is undone with Revert.
type Pool struct {
	mu       sync.Mutex
	na       space
	ta       space
	pd       space
	excluded map[netip.Addr]struct{}
	byAddr   map[netip.Addr]*entry
	byClient map[clientKey]*entry
	// offers are the entries in state offered, oldest first: at most
	// MaxOffers of them, and the first to give way when a kind's ranges
	// are otherwise full, since an offer binds nobody (RFC 8415 section
	// 18.3.2 lets a Request get another address).
	offers  list.List
	dropped []Lease // bindings removed internally, reported by Expire
	// perClient is Spaces.LeasesPerClient; held counts the bound entries
	// of each DUID, for it.
	perClient int
	held      map[string]int
	res       reservations
}

// NewPool returns an empty pool over s.
func NewPool(s Spaces) *Pool {
	p := &Pool{
		byAddr:   make(map[netip.Addr]*entry),
		byClient: make(map[clientKey]*entry),
		held:     make(map[string]int),
	}
	p.setSpaces(s)
	return p
}

// Update switches to new ranges. Pending offers outside them are
// withdrawn; leases outside them stay until the client's next Renew or
// Rebind, which then fails with ErrOutOfRange so the server can tell the
// client (RFC 8415 section 18.3.4: lifetimes 0).
func (p *Pool) Update(s Spaces) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.setSpaces(s)
	for _, e := range p.byAddr {
		if e.state == offered && !p.fits(e.lease) {
			p.remove(e)
		}
	}
}

func (p *Pool) setSpaces(s Spaces) {
	p.perClient = s.LeasesPerClient
	p.res = indexReservations(s.Reservations)
	p.na.set(s.Addresses, 128)
	p.ta.set(s.Temporary, 128)
	if pd := s.Prefixes; pd != nil {
		p.pd.set([]config.AddressRange{{Start: pd.Start, End: pd.End}}, pd.Length)
	} else {
		p.pd.set(nil, 128)
	}
}

// space is the space of kind k.
func (p *Pool) space(k Kind) *space {
	switch kindOf(k) {
	case TA:
		return &p.ta
	case PD:
		return &p.pd
	}
	return &p.na
}

// Exclude replaces the set of addresses never to lease, such as the server's
// own addresses on the link. A lease already on one ends at its next renewal.
func (p *Pool) Exclude(addrs ...netip.Addr) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.excluded = make(map[netip.Addr]struct{}, len(addrs))
	for _, a := range addrs {
		p.excluded[a.WithZone("")] = struct{}{}
	}
}

// set places ranges of prefixes of bits (128: addresses) in s.
func (s *space) set(ranges []config.AddressRange, bits int) {
	sorted := slices.Clone(ranges)
	slices.SortFunc(sorted, func(a, b config.AddressRange) int { return a.Start.Compare(b.Start) })
	s.spans = s.spans[:0]
	s.total = u128{}
	s.slack = 0
	s.cursor = u128{}
	s.bits = bits
	s.shift = uint(128 - bits)
	for _, r := range sorted {
		if !r.Start.Is6() || !r.End.Is6() || r.End.Less(r.Start) {
			continue
		}
		sp := span{start: u128From(r.Start).shr(s.shift), end: u128From(r.End).shr(s.shift), base: s.total}
		s.spans = append(s.spans, sp)
		s.total = s.total.add(sp.end.sub(sp.start).add64(1))
		if s.shift == 0 {
			// Each /64 the range touches holds at most 129 reserved addresses.
			s.slack += 129 * min(sp.end.hi-sp.start.hi+1, 1<<16)
		}
	}
}

// contains reports whether a is an address of the ranges, or the first
// address of one of their prefixes.
func (s *space) contains(a netip.Addr) bool {
	if !a.Is6() {
		return false
	}
	u := u128From(a)
	n := u.shr(s.shift)
	if n.shl(s.shift) != u {
		return false // not aligned to the prefix length
	}
	i := sort.Search(len(s.spans), func(i int) bool { return s.spans[i].start.cmp(n) > 0 }) - 1
	return i >= 0 && n.cmp(s.spans[i].end) <= 0
}

// addrAt maps an offset in [0, total) to its address or prefix address.
func (s *space) addrAt(off u128) netip.Addr {
	i := sort.Search(len(s.spans), func(i int) bool { return s.spans[i].base.cmp(off) > 0 }) - 1
	sp := s.spans[i]
	return sp.start.add(off.sub(sp.base)).shl(s.shift).addr()
}

// reserved reports what the space must never lease: for addresses, those
// reserved() names; delegated prefixes have none.
func (s *space) reserved(a netip.Addr) bool { return s.shift == 0 && reserved(a) }

// reserved reports addresses a server must not assign: the Subnet-Router
// anycast address (RFC 4291 section 2.6.1) and the reserved subnet anycast
// addresses (RFC 2526) of the address's /64.
func reserved(a netip.Addr) bool {
	iid := u128From(a).lo
	return iid == 0 || iid&^0x7f == 0xfdffffffffffff80
}

// leasable reports whether a may be assigned from s to a client at now.
func (p *Pool) leasable(s *space, a netip.Addr, now time.Time) bool {
	if s.reserved(a) {
		return false
	}
	if _, ok := p.excluded[a]; ok {
		return false
	}
	if p.res.byAddr[a] != nil {
		return false // only ever given through reservedFor
	}
	e := p.byAddr[a]
	return e == nil || !now.Before(e.until)
}

// remove forgets e. A binding removed for a reason the caller did not ask
// for (expiry, replacement) is queued for Expire so storage can follow.
func (p *Pool) remove(e *entry) {
	if e.offer != nil {
		p.offers.Remove(e.offer)
		e.offer = nil
	}
	if p.byAddr[e.lease.Address] == e {
		delete(p.byAddr, e.lease.Address)
	}
	if e.state != declined {
		k := keyOf(e.lease.Kind, e.lease.DUID, e.lease.IAID)
		if p.byClient[k] == e {
			delete(p.byClient, k)
			if e.state == bound {
				p.countHeld(k.duid, -1)
			}
		}
	}
}

// countHeld adds n to the bound entries of duid.
func (p *Pool) countHeld(duid string, n int) {
	if c := p.held[duid] + n; c > 0 {
		p.held[duid] = c
	} else {
		delete(p.held, duid)
	}
}

// atLimit reports whether the client of k may bind no further IA: it
// holds as many leases as one client may, none of them k's.
func (p *Pool) atLimit(k clientKey) bool {
	if p.perClient <= 0 || p.held[k.duid] < p.perClient {
		return false
	}
	e := p.byClient[k]
	return e == nil || e.state != bound
}

// install records e, evicting whatever expired entry held its address.
func (p *Pool) install(e *entry) {
	if old := p.byAddr[e.lease.Address]; old != nil {
		if old.state == bound {
			p.dropped = append(p.dropped, clone(old.lease))
		}
		p.remove(old)
	}
	p.byAddr[e.lease.Address] = e
	if e.state != declined {
		k := keyOf(e.lease.Kind, e.lease.DUID, e.lease.IAID)
		p.byClient[k] = e
		if e.state == bound {
			p.countHeld(k.duid, 1)
		}
	}
	if e.state == offered {
		e.offer = p.offers.PushBack(e)
	}
}

// phi128 is 2^128 divided by the golden ratio: stepping by it visits
// well-spread offsets (a Weyl sequence).
var phi128 = u128{0x9e3779b97f4a7c15, 0xf39cc0605cedc834}

// allocate picks a free address (or prefix) of s for the client: its hint
// if free, then up to maxProbes offsets derived from a hash of DUID and
// IAID, then a sequential scan from the cursor. The scan is bounded by the
// number of units that can be taken (entries, exclusions, reserved anycast)
// plus one, so by the pigeonhole principle it finds a free one whenever one
// exists, without ever walking a large range.
func (p *Pool) allocate(s *space, duid []byte, iaid uint32, hint netip.Addr, now time.Time) (netip.Addr, error) {
	if s.total.isZero() {
		return netip.Addr{}, ErrPoolExhausted
	}
	if hint.IsValid() && s.contains(hint) && p.leasable(s, hint, now) {
		return hint, nil
	}
	h := clientHash(duid, iaid)
	for range maxProbes {
		if a := s.addrAt(h.mod(s.total)); p.leasable(s, a, now) {
			return a, nil
		}
		h = h.add(phi128)
	}
	n := s.total.min64(uint64(len(p.byAddr)) + uint64(len(p.excluded)) + s.slack + 1)
	for i := range n {
		off := s.cursor.add64(i).mod(s.total)
		if a := s.addrAt(off); p.leasable(s, a, now) {
			s.cursor = off.add64(1).mod(s.total)
			return a, nil
		}
	}
	// Everything is leased, offered or quarantined: take the oldest offer
	// of this space, so Solicits alone can never lock clients out.
	for el := p.offers.Front(); el != nil; el = el.Next() {
		e := el.Value.(*entry)
		if _, excluded := p.excluded[e.lease.Address]; s.contains(e.lease.Address) && !excluded && !s.reserved(e.lease.Address) && p.res.byAddr[e.lease.Address] == nil {
			p.remove(e)
			return e.lease.Address, nil
		}
	}
	return netip.Addr{}, ErrPoolExhausted
}

// clientHash is stable across restarts (unlike hash/maphash), so a client's
// first candidate address is too.
func clientHash(duid []byte, iaid uint32) u128 {
	h := fnv.New128a()
	h.Write(duid)
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], iaid)
	h.Write(b[:])
	var sum [16]byte
	h.Sum(sum[:0])
	return u128{binary.BigEndian.Uint64(sum[:8]), binary.BigEndian.Uint64(sum[8:])}
}

// current returns the client's live entry, dropping one that has expired.
func (p *Pool) current(k clientKey, now time.Time) *entry {
	e := p.byClient[k]
	if e != nil && !now.Before(e.until) {
		if e.state == bound {
			p.dropped = append(p.dropped, clone(e.lease))
		}
		p.remove(e)
		return nil
	}
	return e
}

// Offer reserves an address (or prefix, by its first address) of kind for
// an Advertise (RFC 8415 section 18.3.9) for OfferTTL. A client that
// already holds an offer or a lease of the IA inside the ranges gets it
// again; otherwise hint (from the client's IA) if it is free, otherwise a
// newly allocated one.
func (p *Pool) Offer(kind Kind, duid []byte, iaid uint32, hint netip.Addr, now time.Time) (netip.Addr, error) {
	return p.OfferTo(kind, duid, "", iaid, hint, now)
}

// OfferTo is Offer for a client whose hardware address is mac (""
// unknown): a client with a reservation is offered its reserved address.
func (p *Pool) OfferTo(kind Kind, duid []byte, mac string, iaid uint32, hint netip.Addr, now time.Time) (netip.Addr, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	kind = kindOf(kind)
	k := keyOf(kind, duid, iaid)
	res := p.reservedFor(k, mac, now)
	if e := p.current(k, now); e != nil {
		if p.fits(e.lease) && (!res.IsValid() || e.lease.Address == res) {
			if e.state == offered {
				e.until = now.Add(OfferTTL)
				p.offers.MoveToBack(e.offer)
			}
			return e.lease.Address, nil
		}
		if e.state == bound {
			// The lease left the ranges; the client is starting over, so
			// let it go and let storage follow at the next Expire.
			p.dropped = append(p.dropped, clone(e.lease))
		}
		p.remove(e)
	}
	if p.atLimit(k) {
		return netip.Addr{}, ErrClientLimit
	}
	if p.offers.Len() >= MaxOffers {
		p.remove(p.offers.Front().Value.(*entry))
	}
	s := p.space(kind)
	a := res
	if !a.IsValid() {
		var err error
		if a, err = p.allocate(s, duid, iaid, hint.WithZone(""), now); err != nil {
			return netip.Addr{}, err
		}
	}
	p.install(&entry{
		lease: s.shape(Lease{Kind: kind, Address: a, DUID: bytes.Clone(duid), IAID: iaid, HardwareAddr: mac}),
		state: offered,
		until: now.Add(OfferTTL),
	})
	return a, nil
}

// shape sets what the space decides of a lease: its prefix length.
func (s *space) shape(l Lease) Lease {
	l.PrefixLength = 0
	if l.Kind == PD {
		l.PrefixLength = s.bits
	}
	return l
}

// fits reports whether a held lease may stay with its client: inside its
// kind's ranges, of their prefix length, and not excluded.
func (p *Pool) fits(l Lease) bool {
	if !p.res.owns(l) {
		return false
	}
	if p.res.byAddr[l.Address] != nil {
		return true // its owner's, wherever it is
	}
	s := p.space(l.Kind)
	_, excluded := p.excluded[l.Address]
	return s.contains(l.Address) && !excluded && (l.Kind != PD || l.PrefixLength == s.bits)
}

// Bind commits a lease for req.Kind, req.DUID and req.IAID (Request, or
// Solicit with Rapid Commit): the client's offered or leased address (or
// prefix) if still inside the ranges, else req.Address as a hint if free,
// else a new one. req's lifetimes and client details are stored as given;
// the prefix length is the ranges'. When the client's old lease had left
// the ranges, Bind drops it and returns it as replaced so the caller can
// delete it from storage and tell the client (lifetimes 0).
func (p *Pool) Bind(req Lease, now time.Time) (l Lease, replaced *Lease, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	req.Kind = kindOf(req.Kind)
	k := keyOf(req.Kind, req.DUID, req.IAID)
	s := p.space(req.Kind)
	var addr netip.Addr
	var stored *Lease
	e := p.current(k, now)
	if p.atLimit(k) {
		return Lease{}, nil, ErrClientLimit
	}
	res := p.reservedFor(k, req.HardwareAddr, now)
	if e != nil {
		if p.fits(e.lease) && (!res.IsValid() || e.lease.Address == res) {
			addr = e.lease.Address
			if e.state == bound {
				stored = e.storedLease()
			}
		} else if e.state == bound {
			old := clone(e.lease)
			replaced = &old
		}
		p.remove(e)
	}
	if !addr.IsValid() && res.IsValid() {
		addr = res
	}
	if !addr.IsValid() {
		if addr, err = p.allocate(s, req.DUID, req.IAID, req.Address.WithZone(""), now); err != nil {
			return Lease{}, replaced, err
		}
	}
	l = s.shape(clone(req))
	l.Address = addr
	p.install(&entry{lease: l, state: bound, until: l.ValidUntil, unstored: true, stored: stored})
	return clone(l), replaced, nil
}

// Renew extends the client's lease (Renew or Rebind, RFC 8415 sections
// 18.3.4 and 18.3.5) with req's lifetimes and client details; req.Address is
// ignored. It fails with ErrNoBinding when the client holds no live lease,
// and with ErrOutOfRange when the lease has left the ranges: the pool then
// drops it and returns it so the caller can delete it from storage.
func (p *Pool) Renew(req Lease, now time.Time) (Lease, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	req.Kind = kindOf(req.Kind)
	e := p.current(keyOf(req.Kind, req.DUID, req.IAID), now)
	if e == nil || e.state != bound {
		return Lease{}, ErrNoBinding
	}
	if !p.fits(e.lease) {
		p.remove(e)
		return clone(e.lease), ErrOutOfRange
	}
	e.stored, e.unstored = e.storedLease(), true
	addr := e.lease.Address
	e.lease = p.space(req.Kind).shape(clone(req))
	e.lease.Address = addr
	e.until = e.lease.ValidUntil
	return clone(e.lease), nil
}

// Stored confirms that storage now holds leases, as Bind or Renew returned
// them: lists show them from now on. A lease changed again since keeps its
// newer version unconfirmed, with ls's as the one storage holds.
func (p *Pool) Stored(leases []Lease) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range leases {
		e := p.unstoredEntry(l)
		if e == nil {
			continue
		}
		if sameVersion(e.lease, l) {
			e.unstored, e.stored = false, nil
		} else {
			c := clone(l)
			e.stored = &c
		}
	}
}

// Revert undoes what Bind and Renew did for leases when storing them
// failed: a binding storage never held is released, a renewal goes back
// to the lifetimes storage holds. The clients, told nothing, retransmit.
func (p *Pool) Revert(leases []Lease) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range leases {
		e := p.unstoredEntry(l)
		switch {
		case e == nil:
		case e.stored == nil:
			p.remove(e)
		default:
			e.lease, e.until = *e.stored, e.stored.ValidUntil
			e.unstored, e.stored = false, nil
		}
	}
}

// unstoredEntry is the binding of l's client IA on l's address, if storage
// has yet to confirm it.
func (p *Pool) unstoredEntry(l Lease) *entry {
	e := p.byClient[keyOf(l.Kind, l.DUID, l.IAID)]
	if e == nil || e.state != bound || !e.unstored || e.lease.Address != l.Address.WithZone("") {
		return nil
	}
	return e
}

// sameVersion reports whether a and b are one outcome of Bind or Renew:
// each stamps the lease with the time of the client's message.
func sameVersion(a, b Lease) bool {
	return a.ValidUntil.Equal(b.ValidUntil) && a.PreferredUntil.Equal(b.PreferredUntil) && a.LastTransaction.Equal(b.LastTransaction)
}

// Release ends the client's lease of kind on addr (RFC 8415 section
// 18.3.7). It reports false when the client holds no such lease.
func (p *Pool) Release(kind Kind, duid []byte, iaid uint32, addr netip.Addr) (Lease, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.byClient[keyOf(kind, duid, iaid)]
	if e == nil || e.lease.Address != addr.WithZone("") {
		return Lease{}, false
	}
	p.remove(e)
	return clone(e.lease), e.state == bound
}

// Decline ends the client's lease on addr because the client found the
// address in use (RFC 8415 section 18.3.8) and quarantines the address until
// the given time, so it is not offered again meanwhile. It reports false
// when the client holds no such lease or offer.
func (p *Pool) Decline(kind Kind, duid []byte, iaid uint32, addr netip.Addr, until time.Time) (Lease, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.byClient[keyOf(kind, duid, iaid)]
	if e == nil || e.lease.Address != addr.WithZone("") {
		return Lease{}, false
	}
	p.remove(e)
	p.byAddr[e.lease.Address] = &entry{lease: Lease{Kind: e.lease.Kind, Address: e.lease.Address}, state: declined, until: until}
	return clone(e.lease), true
}

// Lookup returns the client's live lease of kind for the IA as the pool
// decided it, whether or not storage has confirmed it yet.
func (p *Pool) Lookup(kind Kind, duid []byte, iaid uint32, now time.Time) (Lease, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.byClient[keyOf(kind, duid, iaid)]
	if e == nil || e.state != bound || !now.Before(e.until) {
		return Lease{}, false
	}
	return clone(e.lease), true
}

// LookupAddress returns the live lease on addr, or of the delegated
// prefix addr lies in, as storage holds it, for RFC 5007 leasequery.
func (p *Pool) LookupAddress(addr netip.Addr, now time.Time) (Lease, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	addr = addr.WithZone("")
	e := p.byAddr[addr]
	if e == nil && p.pd.bits < 128 && addr.Is6() {
		e = p.byAddr[netip.PrefixFrom(addr, p.pd.bits).Masked().Addr()]
		if e != nil && (e.lease.Kind != PD || !e.lease.Prefix().Contains(addr)) {
			e = nil
		}
	}
	if e == nil {
		return Lease{}, false
	}
	l, ok := e.live(now)
	if !ok {
		return Lease{}, false
	}
	return clone(*l), true
}

// LookupClient returns the client's live leases of every kind as storage
// holds them, sorted by address, for RFC 5007 leasequery. It walks every entry: leasequeries are
// rare, and an index by DUID alone would cost every lease a second entry.
func (p *Pool) LookupClient(duid []byte, now time.Time) []Lease {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Lease
	for k, e := range p.byClient {
		if k.duid != string(duid) {
			continue
		}
		if l, ok := e.live(now); ok {
			out = append(out, clone(*l))
		}
	}
	slices.SortFunc(out, func(a, b Lease) int { return a.Address.Compare(b.Address) })
	return out
}

// List returns the live leases of every kind sorted by address, as
// storage holds them: a binding not yet confirmed by Stored is left out,
// a renewal shows the lifetimes stored before it.
func (p *Pool) List(now time.Time) []Lease {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Lease
	for _, e := range p.byAddr {
		if l, ok := e.live(now); ok {
			out = append(out, clone(*l))
		}
	}
	slices.SortFunc(out, func(a, b Lease) int { return a.Address.Compare(b.Address) })
	return out
}

// ListAfter returns, sorted by address, the first limit live leases whose
// address is above after (from the lowest when after is invalid): one page
// of a listing. It passes over the index's keys once and looks at a lease
// only when its address could be on the page, so a page of a million
// leases costs no sort and few cache misses.
func (p *Pool) ListAfter(after netip.Addr, limit int, now time.Time) []Lease {
	p.mu.Lock()
	defer p.mu.Unlock()
	page := keyset.New[netip.Addr, *entry](limit, netip.Addr.Compare)
	for a, e := range p.byAddr {
		if after.IsValid() && a.Compare(after) <= 0 || page.Full() && a.Compare(page.Max()) >= 0 {
			continue
		}
		if e.state == bound && now.Before(e.until) {
			page.Offer(a, e)
		}
	}
	addrs, entries := page.Sorted()
	out := make([]Lease, len(addrs))
	for i, a := range addrs {
		out[i] = clone(entries[a].lease)
	}
	return out
}

// Live yields every live lease, in no particular order, while holding the
// pool's lock: the loop body must be quick and must not call the pool. A
// lease's DUID is the pool's own: read it, never change it.
func (p *Pool) Live(now time.Time) iter.Seq[Lease] {
	return func(yield func(Lease) bool) {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, e := range p.byAddr {
			if e.state == bound && now.Before(e.until) && !yield(e.lease) {
				return
			}
		}
	}
}

// Load adds leases read from storage at startup. It skips, and returns so the
// caller can delete them from storage, leases of an unknown kind, leases
// that have expired, lie outside their kind's ranges or on an excluded or
// reserved address, and the older of two leases that claim the same address
// or the same client IA.
func (p *Pool) Load(leases []Lease, now time.Time) (dropped []Lease) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range leases {
		l.Address = l.Address.WithZone("")
		l.Kind = kindOf(l.Kind)
		if !l.Kind.valid() || l.Expired(now) || !p.fits(l) || p.space(l.Kind).reserved(l.Address) {
			dropped = append(dropped, clone(l))
			continue
		}
		keep := true
		byAddr, byClient := p.byAddr[l.Address], p.byClient[keyOf(l.Kind, l.DUID, l.IAID)]
		if byClient == byAddr {
			byClient = nil
		}
		for _, old := range []*entry{byAddr, byClient} {
			if old == nil || !keep {
				continue
			}
			if !old.lease.ValidUntil.Before(l.ValidUntil) {
				keep = false
				continue
			}
			if old.state == bound {
				dropped = append(dropped, clone(old.lease))
			}
			p.remove(old)
		}
		if !keep {
			dropped = append(dropped, clone(l))
			continue
		}
		l = clone(l)
		p.install(&entry{lease: l, state: bound, until: l.ValidUntil})
	}
	return dropped
}

// Expire forgets offers, quarantines and leases that ended by now. It returns
// the leases that ended, together with any the pool dropped on its own since
// the last call (expired leases reused, leases that left the ranges), so the
// caller can delete them from storage.
func (p *Pool) Expire(now time.Time) []Lease {
	p.mu.Lock()
	defer p.mu.Unlock()
	var gone []Lease
	for _, l := range p.dropped {
		// The store deletes by address: an address bound again since it was
		// dropped must not lose its new record.
		if e, ok := p.byAddr[l.Address]; ok && e.state == bound {
			continue
		}
		gone = append(gone, l)
	}
	p.dropped = nil
	for _, e := range p.byAddr {
		if now.Before(e.until) {
			continue
		}
		if e.state == bound {
			gone = append(gone, clone(e.lease))
		}
		p.remove(e)
	}
	return gone
}

func clone(l Lease) Lease {
	l.DUID = bytes.Clone(l.DUID)
	if l.ClientArch != nil {
		arch := *l.ClientArch
		l.ClientArch = &arch
	}
	return l
}
