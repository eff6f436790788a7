package lease

import (
	"math"
	"sync"
	"time"
)

// Load adds leases read from storage; it keeps nothing of them, so they
// may be views (DecodeView) of storage's memory. It skips, and returns so
// the caller can delete them from storage, leases of an unknown kind,
// leases that have expired, lie outside their kind's ranges or on an
// excluded or reserved address, and the older of two leases that claim
// the same address or the same client IA. A Loader does the same for a
// whole store at start-up, faster.
func (p *Pool) Load(leases []Lease, now time.Time) (dropped []Lease) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range leases {
		l.Address = l.Address.WithZone("")
		l.Kind = kindOf(l.Kind)
		if !storable(l, now) {
			dropped = append(dropped, own(l))
			continue
		}
		dropped = p.admitLease(l, dropped)
	}
	return dropped
}

// storable reports whether l, as read from storage, may be held at now
// as far as l alone tells: of a known kind and prefix length, not expired.
func storable(l Lease, now time.Time) bool {
	return l.Kind.valid() && 0 <= l.PrefixLength && l.PrefixLength <= 128 && !l.Expired(now)
}

// admit indexes e, a stored lease just put in the table but in no index,
// unless an indexed entry claims its address or client IA and ends no
// sooner: then it frees e. An older claimant is removed. The lease that
// gives way is appended to dropped.
func (p *Pool) admit(e *entry, dropped []Lease) []Lease {
	p.indexMAC(e)
	id := p.id(e)
	byAddr, byClient := p.at(e.addr), p.client(id)
	if byClient == byAddr {
		byClient = nil
	}
	for _, old := range []*entry{byAddr, byClient} {
		if old == nil {
			continue
		}
		if old.valid >= e.valid {
			dropped = append(dropped, p.lease(e))
			p.free(e)
			return dropped
		}
		if old.state == bound {
			dropped = append(dropped, p.lease(old))
		}
		p.remove(old)
	}
	p.insert(e)
	p.schedule(e)
	return dropped
}

// A Loader adds the leases of a store to a pool at start-up in bulk, as
// Load would add them one at a time. Add holds each lease in the loader's
// own table, touching neither the pool nor a map; Done then indexes them
// all under one hold of the pool's lock, in maps made for their number,
// and leaves the hardware address index (which no answer to a client
// needs) to IndexHardware. A Loader is used by one goroutine.
type Loader struct {
	p       *Pool
	now     time.Time
	tab     table
	extras  map[uint32]extra
	dropped []Lease
}

// Loader returns a Loader that adds leases to p as stored at now.
func (p *Pool) Loader(now time.Time) *Loader {
	return &Loader{p: p, now: now, extras: make(map[uint32]extra)}
}

// Add takes l, read from storage. It keeps nothing of l, which may be a
// view (DecodeView) of storage's memory.
func (ld *Loader) Add(l Lease) {
	l.Address = l.Address.WithZone("")
	l.Kind = kindOf(l.Kind)
	if !storable(l, ld.now) {
		ld.dropped = append(ld.dropped, own(l))
		return
	}
	e := ld.tab.alloc()
	if x := setEntry(e, l, bound, nanos(l.ValidUntil)); x != (extra{}) {
		ld.extras[e.idx] = x
	}
}

// Done adds the leases Add took to the pool and returns those Load would
// have skipped, so the caller can delete them from storage. From then on
// the pool answers as if Load had added them; only LookupHardware may
// first have to finish the hardware address index.
func (ld *Loader) Done() (dropped []Lease) {
	p := ld.p
	p.mu.Lock()
	defer p.mu.Unlock()
	dropped, ld.dropped = ld.dropped, nil
	if p.tab.used != 0 {
		// Not at start-up: the pool holds entries in the places the
		// loader's table uses. Add the leases one by one.
		for i := range ld.tab.used {
			e := ld.tab.at(i)
			dropped = p.admitLease(viewWith(e, ld.extras[i]), dropped)
		}
		ld.tab = table{}
		return dropped
	}
	n := int(ld.tab.used)
	if n == 0 {
		return dropped
	}
	p.tab, ld.tab = ld.tab, table{}
	p.extras, ld.extras = ld.extras, nil
	p.macUpTo = 0
	macs := 0
	for e := range p.entries() {
		if !p.fitsEntry(e) || p.space(Kind(kinds.name(e.key.kind))).reserved(e.address()) {
			dropped = append(dropped, p.lease(e))
			p.free(e)
		} else if _, ok := e.mac(); ok {
			macs++
		}
	}
	p.byMAC = make(map[[6]byte]uint32, macs)
	if p.indexDistinct(n) {
		return dropped
	}
	// Two leases claim one address or one client IA, as a store written
	// by an older agent or mended by hand may hold: settle each claim in
	// the order of the leases, as Load does.
	p.byAddr, p.byDUID, p.longDUID, p.due = make(map[[16]byte]uint32, n), make(map[duidKey]uint32, n), make(map[string]uint32), make(map[int64][]uint32)
	for e := range p.entries() {
		e.next = 0
	}
	for e := range p.entries() {
		dropped = p.admit(e, dropped)
	}
	return dropped
}

// indexDistinct indexes every entry of the table, of at most n leases
// just loaded, by address (with when each ends) and by client, one index
// on each of two goroutines, as the bulk of a start-up's work. It
// reports false, the indexes part built, when two entries claim one
// address or one client IA.
func (p *Pool) indexDistinct(n int) bool {
	p.byAddr = make(map[[16]byte]uint32, n)
	p.byDUID = make(map[duidKey]uint32, n)
	// The goroutines write different maps and different fields of the
	// entries (next by client; nothing by address).
	distinctClients := true
	var byClient sync.WaitGroup
	byClient.Go(func() {
		for e := range p.entries() {
			id := p.id(e)
			if p.client(id) != nil {
				distinctClients = false
				return
			}
			p.setClient(id, e)
		}
	})
	distinctAddrs := true
	for e := range p.entries() {
		if _, taken := p.byAddr[e.addr]; taken {
			distinctAddrs = false
			break
		}
		p.byAddr[e.addr] = e.idx
		p.schedule(e)
	}
	byClient.Wait()
	return distinctAddrs && distinctClients
}

// admitLease is Load of the one lease l, under the pool's lock.
func (p *Pool) admitLease(l Lease, dropped []Lease) []Lease {
	if !p.fits(l) || p.space(l.Kind).reserved(l.Address) {
		return append(dropped, own(l))
	}
	e := p.tab.alloc()
	if x := setEntry(e, l, bound, nanos(l.ValidUntil)); x != (extra{}) {
		p.extras[e.idx] = x
	}
	return p.admit(e, dropped)
}

// IndexHardware finishes the hardware address index a Loader left to
// build, a bounded number of entries per hold of the pool's lock, so
// that answers to clients meanwhile wait for it only briefly. It returns
// at once when the index is complete.
func (p *Pool) IndexHardware() {
	for {
		p.mu.Lock()
		p.indexMACUpTo(p.macUpTo + min(macIndexStep, math.MaxUint32-p.macUpTo))
		done := p.macUpTo == math.MaxUint32
		p.mu.Unlock()
		if done {
			return
		}
	}
}
