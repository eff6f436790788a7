package lease

import (
	"bytes"
	"container/list"
	"encoding/binary"
	"errors"
	"hash/fnv"
	"iter"
	"math"
	"net/netip"
	"slices"
	"sort"
	"strings"
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
	// Reservations are addresses and prefixes for one client each, inside
	// the ranges (or the prefix delegation pool) or not: no other client
	// gets one, and one held by another is not renewed. A reserved prefix
	// counts only when Prefixes delegates prefixes of its length.
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
	tab      table
	byAddr   map[[16]byte]uint32 // entries by address
	// byDUID is the first of each client's bound and offered entries,
	// which chain on (entry.next); longDUID of DUIDs too long to be inline.
	byDUID   map[duidKey]uint32
	longDUID map[string]uint32
	// byMAC is the first (place plus one) of the entries with each 6-byte
	// hardware address, which chain on (entry.macNext).
	byMAC map[[6]byte]uint32
	// macUpTo is where byMAC ends: it indexes the entries at places
	// below, every entry when math.MaxUint32 (see Loader).
	macUpTo uint32
	extras  map[uint32]extra
	// stored is what storage holds of unstored entries, by place: none
	// for nothing.
	stored map[uint32]*Lease
	// offerAt is each offer's element in offers.
	offerAt map[uint32]*list.Element
	// due lists the places of entries by when they end (in dueStep units),
	// so Expire looks at those that ended, not at every lease. An entry
	// whose end moved is listed again; Expire passes over stale places.
	due map[int64][]uint32
	// offers are the entries in state offered, oldest first: at most
	// MaxOffers of them, and the first to give way when a kind's ranges
	// are otherwise full, since an offer binds nobody (RFC 8415 section
	// 18.3.2 lets a Request get another address).
	offers    list.List
	dropped   []Lease // bindings removed internally, reported by Expire
	perClient int     // Spaces.LeasesPerClient
	res       reservations
}

// NewPool returns an empty pool over s.
func NewPool(s Spaces) *Pool {
	p := &Pool{
		byAddr:   make(map[[16]byte]uint32),
		byDUID:   make(map[duidKey]uint32),
		longDUID: make(map[string]uint32),
		byMAC:    make(map[[6]byte]uint32),
		extras:   make(map[uint32]extra),
		stored:   make(map[uint32]*Lease),
		offerAt:  make(map[uint32]*list.Element),
		due:      make(map[int64][]uint32),
		macUpTo:  math.MaxUint32,
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
	for e := range p.entries() {
		if e.state == offered && !p.fitsEntry(e) {
			p.remove(e)
		}
	}
}

func (p *Pool) setSpaces(s Spaces) {
	p.perClient = s.LeasesPerClient
	p.na.set(s.Addresses, 128)
	p.ta.set(s.Temporary, 128)
	pdBits := 0
	if pd := s.Prefixes; pd != nil {
		p.pd.set([]config.AddressRange{{Start: pd.Start, End: pd.End}}, pd.Length)
		pdBits = pd.Length
	} else {
		p.pd.set(nil, 128)
	}
	p.res = indexReservations(s.Reservations, pdBits)
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
	e := p.at(a.As16())
	return e == nil || e.ended(now)
}

// remove forgets e and frees its place: the caller reads what it needs
// of e first. A binding removed for a reason the caller did not ask for
// (expiry, replacement) is queued for Expire so storage can follow.
func (p *Pool) remove(e *entry) {
	if el := p.offerAt[e.idx]; el != nil {
		p.offers.Remove(el)
		delete(p.offerAt, e.idx)
	}
	if i, ok := p.byAddr[e.addr]; ok && i == e.idx {
		delete(p.byAddr, e.addr)
	}
	if e.state != declined {
		id := p.id(e)
		if p.client(id) == e {
			p.deleteClient(id, e)
		}
	}
	p.free(e)
}

// held is how many bound entries id's DUID has.
func (p *Pool) held(id clientID) int {
	n := 0
	for e := range p.chain(id) {
		if e.state == bound {
			n++
		}
	}
	return n
}

// atLimit reports whether the client of id may bind no further IA: it
// holds as many leases as one client may, none of them id's.
func (p *Pool) atLimit(id clientID) bool {
	if p.perClient <= 0 || p.held(id) < p.perClient {
		return false
	}
	e := p.client(id)
	return e == nil || e.state != bound
}

// install records e, evicting whatever expired entry held its address.
func (p *Pool) install(e *entry) {
	if old := p.at(e.addr); old != nil {
		if old.state == bound {
			p.dropped = append(p.dropped, p.lease(old))
		}
		p.remove(old)
	}
	p.insert(e)
}

// insert indexes e, whose address and client IA are free.
func (p *Pool) insert(e *entry) {
	p.byAddr[e.addr] = e.idx
	if e.state != declined {
		id := p.id(e)
		p.setClient(id, e)
	}
	if e.state == offered {
		p.offerAt[e.idx] = p.offers.PushBack(e.idx)
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
		e := p.tab.at(el.Value.(uint32))
		a := e.address()
		if _, excluded := p.excluded[a]; s.contains(a) && !excluded && !s.reserved(a) && p.res.byAddr[a] == nil {
			p.remove(e)
			return a, nil
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
func (p *Pool) current(id clientID, now time.Time) *entry {
	e := p.client(id)
	if e != nil && e.ended(now) {
		if e.state == bound {
			p.dropped = append(p.dropped, p.lease(e))
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
	res := p.reservedFor(kind, k, duid, mac, now)
	if e := p.current(k, now); e != nil {
		if p.fitsEntry(e) && (!res.IsValid() || e.address() == res) {
			if e.state == offered {
				e.until = now.Add(OfferTTL).UnixNano()
				p.schedule(e)
				p.offers.MoveToBack(p.offerAt[e.idx])
			}
			return e.address(), nil
		}
		if e.state == bound {
			// The lease left the ranges; the client is starting over, so
			// let it go and let storage follow at the next Expire.
			p.dropped = append(p.dropped, p.lease(e))
		}
		p.remove(e)
	}
	if p.atLimit(k) {
		return netip.Addr{}, ErrClientLimit
	}
	if p.offers.Len() >= MaxOffers {
		p.remove(p.tab.at(p.offers.Front().Value.(uint32)))
	}
	s := p.space(kind)
	a := res
	if !a.IsValid() {
		var err error
		if a, err = p.allocate(s, duid, iaid, hint.WithZone(""), now); err != nil {
			return netip.Addr{}, err
		}
	}
	p.install(p.newEntry(s.shape(Lease{Kind: kind, Address: a, DUID: duid, IAID: iaid, HardwareAddr: mac}), offered, now.Add(OfferTTL).UnixNano()))
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

// fitsEntry is fits for the lease of e.
func (p *Pool) fitsEntry(e *entry) bool {
	k := Kind(kinds.name(e.key.kind))
	s := p.space(k)
	a := e.address()
	if p.res.byAddr[a] != nil {
		return p.res.owns(p.lease(e)) // its owner's, wherever it is
	}
	_, excluded := p.excluded[a]
	return s.contains(a) && !excluded && (k != PD || int(e.plen) == s.bits)
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
	res := p.reservedFor(req.Kind, k, req.DUID, req.HardwareAddr, now)
	if e != nil {
		if p.fitsEntry(e) && (!res.IsValid() || e.address() == res) {
			addr = e.address()
			if e.state == bound {
				stored = p.storedLease(e)
			}
		} else if e.state == bound {
			old := p.lease(e)
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
	e = p.newEntry(l, bound, nanos(l.ValidUntil))
	p.setStored(e, true, stored)
	p.install(e)
	return l, replaced, nil
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
	if !p.fitsEntry(e) {
		l := p.lease(e)
		p.remove(e)
		return l, ErrOutOfRange
	}
	l := p.space(req.Kind).shape(clone(req))
	l.Address = e.address()
	stored := p.storedLease(e)
	p.fill(e, l, bound, nanos(l.ValidUntil))
	p.setStored(e, true, stored)
	return l, nil
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
		if e.sameVersion(l) {
			p.setStored(e, false, nil)
		} else {
			c := clone(l)
			p.setStored(e, true, &c)
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
		case p.stored[e.idx] == nil:
			p.remove(e)
		default:
			p.fill(e, *p.stored[e.idx], bound, nanos(p.stored[e.idx].ValidUntil))
			p.setStored(e, false, nil)
		}
	}
}

// unstoredEntry is the binding of l's client IA on l's address, if storage
// has yet to confirm it.
func (p *Pool) unstoredEntry(l Lease) *entry {
	e := p.client(keyOf(l.Kind, l.DUID, l.IAID))
	if e == nil || e.state != bound || !e.unstored || e.address() != l.Address.WithZone("") {
		return nil
	}
	return e
}

// setStored marks e as confirmed by storage or not, and what storage
// holds of it meanwhile (nil: nothing).
func (p *Pool) setStored(e *entry, unstored bool, stored *Lease) {
	e.unstored = unstored
	if unstored && stored != nil {
		p.stored[e.idx] = stored
	} else {
		delete(p.stored, e.idx)
	}
}

// Release ends the client's lease of kind on addr (RFC 8415 section
// 18.3.7). It reports false when the client holds no such lease.
func (p *Pool) Release(kind Kind, duid []byte, iaid uint32, addr netip.Addr) (Lease, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.client(keyOf(kind, duid, iaid))
	if e == nil || e.address() != addr.WithZone("") {
		return Lease{}, false
	}
	l, wasBound := p.lease(e), e.state == bound
	p.remove(e)
	return l, wasBound
}

// Decline ends the client's lease on addr because the client found the
// address in use (RFC 8415 section 18.3.8) and quarantines the address until
// the given time, so it is not offered again meanwhile. It reports false
// when the client holds no such lease or offer.
func (p *Pool) Decline(kind Kind, duid []byte, iaid uint32, addr netip.Addr, until time.Time) (Lease, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.client(keyOf(kind, duid, iaid))
	if e == nil || e.address() != addr.WithZone("") {
		return Lease{}, false
	}
	l := p.lease(e)
	p.remove(e)
	q := p.tab.alloc()
	q.key.kind, q.addr, q.state, q.until = kinds.code(string(l.Kind)), l.Address.As16(), declined, nanos(until)
	p.schedule(q)
	p.byAddr[q.addr] = q.idx
	return l, true
}

// Lookup returns the client's live lease of kind for the IA as the pool
// decided it, whether or not storage has confirmed it yet.
func (p *Pool) Lookup(kind Kind, duid []byte, iaid uint32, now time.Time) (Lease, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.client(keyOf(kind, duid, iaid))
	if e == nil || e.state != bound || e.ended(now) {
		return Lease{}, false
	}
	return p.lease(e), true
}

// LookupAddress returns the live lease on addr, or of the delegated
// prefix addr lies in, as storage holds it, for RFC 5007 leasequery.
func (p *Pool) LookupAddress(addr netip.Addr, now time.Time) (Lease, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	addr = addr.WithZone("")
	if !addr.Is6() {
		return Lease{}, false
	}
	e := p.at(addr.As16())
	if e == nil && p.pd.bits < 128 {
		e = p.at(netip.PrefixFrom(addr, p.pd.bits).Masked().Addr().As16())
		if e != nil && (Kind(kinds.name(e.key.kind)) != PD || !netip.PrefixFrom(e.address(), int(e.plen)).Contains(addr)) {
			e = nil
		}
	}
	if e == nil {
		return Lease{}, false
	}
	l, ok := p.live(e, now)
	if !ok {
		return Lease{}, false
	}
	return clone(*l), true
}

// Count is how many live leases the pool holds.
func (p *Pool) Count(now time.Time) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for e := range p.entries() {
		if e.state == bound && !e.ended(now) {
			n++
		}
	}
	return n
}

// LookupClient returns the client's live leases of every kind as storage
// holds them, sorted by address, for RFC 5007 leasequery.
func (p *Pool) LookupClient(duid []byte, now time.Time) []Lease {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Lease
	for e := range p.chain(keyOf(NA, duid, 0)) {
		if l, ok := p.live(e, now); ok {
			out = append(out, clone(*l))
		}
	}
	slices.SortFunc(out, func(a, b Lease) int { return a.Address.Compare(b.Address) })
	return out
}

// LookupHardware returns the live leases of every client whose hardware
// address is mac (as Lease.HardwareAddr holds it: from a DUID-LL or
// DUID-LLT, a relay's option 79 or an EUI-64 link-local address), as
// storage holds them, sorted by address. A machine known by its MAC is
// found this way whatever DUID its firmware or operating system sends.
func (p *Pool) LookupHardware(mac string, now time.Time) []Lease {
	var key [8]byte
	if n, ok := parseMAC(mac, &key); !ok || n != 6 {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.indexMACUpTo(math.MaxUint32)
	var out []Lease
	for i := p.byMAC[[6]byte(key[:6])]; i != 0; {
		e := p.tab.at(i - 1)
		i = e.macNext
		if l, ok := p.live(e, now); ok {
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
	for e := range p.entries() {
		if l, ok := p.live(e, now); ok {
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
	var from [16]byte
	if after.IsValid() {
		from = after.As16()
	}
	cmp := func(a, b [16]byte) int { return bytes.Compare(a[:], b[:]) }
	page := keyset.New[[16]byte, *entry](limit, cmp)
	for a, i := range p.byAddr {
		if after.IsValid() && cmp(a, from) <= 0 || page.Full() && cmp(a, page.Max()) >= 0 {
			continue
		}
		if e := p.tab.at(i); e.state == bound && !e.ended(now) {
			page.Offer(a, e)
		}
	}
	addrs, entries := page.Sorted()
	out := make([]Lease, len(addrs))
	for i, a := range addrs {
		out[i] = p.lease(entries[a])
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
		for e := range p.entries() {
			if e.state == bound && !e.ended(now) && !yield(p.view(e)) {
				return
			}
		}
	}
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
		if e := p.at(l.Address.As16()); e != nil && e.state == bound {
			continue
		}
		gone = append(gone, l)
	}
	p.dropped = nil
	last := now.UnixNano() / dueStep
	for step, places := range p.due {
		if step > last {
			continue
		}
		var keep []uint32
		for _, i := range places {
			e := p.tab.at(i)
			switch {
			case e.state == 0 || !e.ended(now) && e.until/dueStep != step:
				// Freed, or ends later and is due then.
			case !e.ended(now):
				keep = append(keep, i)
			default:
				if e.state == bound {
					gone = append(gone, p.lease(e))
				}
				p.remove(e)
			}
		}
		if keep != nil {
			p.due[step] = keep
		} else {
			delete(p.due, step)
		}
	}
	return gone
}

// dueStep is the span of end times (ns) that share a list in Pool.due.
const dueStep = int64(10 * time.Second)

// schedule notes when e ends, for Expire.
func (p *Pool) schedule(e *entry) {
	step := e.until / dueStep
	p.due[step] = append(p.due[step], e.idx)
}

// own is a copy of l that shares no memory with it, strings included.
func own(l Lease) Lease {
	l = clone(l)
	l.Kind = Kind(strings.Clone(string(l.Kind)))
	l.UserClass, l.HardwareAddr, l.HardwareAddrSource = strings.Clone(l.UserClass), strings.Clone(l.HardwareAddr), strings.Clone(l.HardwareAddrSource)
	return l
}

func clone(l Lease) Lease {
	l.DUID = bytes.Clone(l.DUID)
	if l.ClientArch != nil {
		arch := *l.ClientArch
		l.ClientArch = &arch
	}
	return l
}
