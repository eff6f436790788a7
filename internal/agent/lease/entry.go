package lease

import (
	"iter"
	"math"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// entry is one address the pool holds. A pool may hold millions, so an
// entry is a fixed-size record without pointers (times as Unix
// nanoseconds, small enums as codes, short strings inline), kept in chunks
// of the pool's table and indexed by maps of plain keys and numbers: the
// garbage collector has nothing in them to scan, and a lease costs about a
// hundred bytes plus its two index slots. What does not fit inline (a DUID
// longer than maxInlineDUID, a long user class, an unusual hardware
// address) is in Pool.extras, and what only a few entries need at a time
// (an offer's place in the queue, what storage holds of a changed lease)
// in small maps of their own. Pool.lease rebuilds the Lease.
type entry struct {
	key  clientKey
	addr [16]byte
	idx  uint32 // place in the table
	// next is the place plus one of the next entry of the same DUID (0:
	// none): the entries of one client are a chain from Pool.byDUID.
	next uint32
	// macNext and macPrev are the places plus one of the neighbours in
	// the chain of entries with the same 6-byte hardware address, from
	// Pool.byMAC (0: none).
	macNext, macPrev uint32
	// userClass and hwAddr hold up to 8 bytes inline; a length of
	// outOfLine means the value is in extras.
	userClass    [8]byte
	userClassLen uint8
	hwAddr       [8]byte // the bytes of a canonical MAC string
	hwAddrLen    uint8
	hwSource     uint8 // code in sources
	plen         uint8
	state        state
	hasArch      bool
	// unstored: Bind or Renew changed the lease and storage has not
	// confirmed it yet (Stored). Pool.stored then holds what storage holds
	// of it, none for nothing: lists show that, and Revert goes back to it.
	unstored bool
	arch     uint16
	// Unix nanoseconds, 0 for the zero time.
	preferred, valid, lastTx int64
	until                    int64 // end of the offer, quarantine or lease
}

// maxInlineDUID is the longest DUID an entry holds inline: DUID-LLT of
// Ethernet is 14 bytes, DUID-UUID 18.
const maxInlineDUID = 20

const outOfLine = math.MaxUint8

// clientKey identifies one IA of one client (RFC 8415 section 12). A DUID
// longer than maxInlineDUID is held by its first bytes and length
// outOfLine, and identified by clientID.long.
type clientKey struct {
	duid duidKey
	kind uint8 // code in kinds
	iaid uint32
}

// duidKey is a DUID as a map key without pointers: inline up to
// maxInlineDUID bytes.
type duidKey struct {
	duid [maxInlineDUID]byte
	n    uint8
}

// clientID is a clientKey with the whole DUID when it is too long to be
// inline.
type clientID struct {
	key  clientKey
	long string
}

func keyOf(kind Kind, duid []byte, iaid uint32) clientID {
	id := clientID{key: clientKey{kind: kinds.code(string(kindOf(kind))), iaid: iaid}}
	if len(duid) > maxInlineDUID {
		id.key.duid.n = outOfLine
		id.long = string(duid)
	} else {
		id.key.duid.n = uint8(copy(id.key.duid.duid[:], duid))
	}
	return id
}

// extra is what an entry holds out of line.
type extra struct {
	duid, userClass, hwAddr string
}

// chunkSize is how many entries a chunk of the table holds.
const chunkSize = 4096

// table holds the entries in chunks that never move, so an *entry stays
// valid until freed; a freed slot is reused. It keeps the chunks of the
// most entries it ever held: memory follows the peak of the live set.
type table struct {
	chunks [][]entry
	free   []uint32
	used   uint32
}

func (t *table) at(i uint32) *entry { return &t.chunks[i/chunkSize][i%chunkSize] }

func (t *table) alloc() *entry {
	var i uint32
	if n := len(t.free); n > 0 {
		i, t.free = t.free[n-1], t.free[:n-1]
	} else {
		if int(t.used) == len(t.chunks)*chunkSize {
			t.chunks = append(t.chunks, make([]entry, chunkSize))
		}
		i = t.used
		t.used++
	}
	e := t.at(i)
	*e = entry{idx: i}
	return e
}

func (t *table) release(e *entry) {
	i := e.idx
	*e = entry{}
	t.free = append(t.free, i)
}

// newEntry holds l (its address without a zone) in state st until until.
func (p *Pool) newEntry(l Lease, st state, until int64) *entry {
	e := p.tab.alloc()
	p.fill(e, l, st, until)
	return e
}

// fill sets e, keeping its place and its chain, to hold l. It keeps none
// of l's memory: l may be a view of storage's (DecodeView).
func (p *Pool) fill(e *entry, l Lease, st state, until int64) {
	p.unindexMAC(e)
	if x := setEntry(e, l, st, until); x != (extra{}) {
		p.extras[e.idx] = x
	} else {
		delete(p.extras, e.idx)
	}
	p.indexMAC(e)
	p.schedule(e)
}

// setEntry sets e, keeping its place and its chain, to hold l, and
// returns what does not fit in it; it touches no index.
func setEntry(e *entry, l Lease, st state, until int64) extra {
	id := keyOf(l.Kind, l.DUID, l.IAID)
	*e = entry{
		key: id.key, addr: l.Address.As16(), idx: e.idx, next: e.next, plen: uint8(l.PrefixLength), state: st,
		hwSource:  sources.code(l.HardwareAddrSource),
		preferred: nanos(l.PreferredUntil), valid: nanos(l.ValidUntil), lastTx: nanos(l.LastTransaction), until: until,
	}
	if l.ClientArch != nil {
		e.arch, e.hasArch = *l.ClientArch, true
	}
	var x extra
	x.duid = id.long
	if len(l.UserClass) <= len(e.userClass) {
		e.userClassLen = uint8(copy(e.userClass[:], l.UserClass))
	} else {
		e.userClassLen, x.userClass = outOfLine, strings.Clone(l.UserClass)
	}
	if n, ok := parseMAC(l.HardwareAddr, &e.hwAddr); ok {
		e.hwAddrLen = uint8(n)
	} else if l.HardwareAddr != "" {
		e.hwAddrLen, x.hwAddr = outOfLine, strings.Clone(l.HardwareAddr)
	}
	return x
}

// mac is e's hardware address when it is a 6-byte one (Ethernet), the
// kind Pool.byMAC indexes.
func (e *entry) mac() ([6]byte, bool) {
	if e.hwAddrLen != 6 {
		return [6]byte{}, false
	}
	return [6]byte(e.hwAddr[:6]), true
}

// indexMAC puts e first in its hardware address's chain, if the index
// covers e's place yet.
func (p *Pool) indexMAC(e *entry) {
	if e.idx < p.macUpTo {
		p.linkMAC(e)
	}
}

// linkMAC puts e first in its hardware address's chain.
func (p *Pool) linkMAC(e *entry) {
	m, ok := e.mac()
	if !ok {
		return
	}
	head := p.byMAC[m]
	e.macNext, e.macPrev = head, 0
	if head != 0 {
		p.tab.at(head - 1).macPrev = e.idx + 1
	}
	p.byMAC[m] = e.idx + 1
}

// unindexMAC takes e out of its hardware address's chain, in constant
// time: many DUIDs may show one MAC.
func (p *Pool) unindexMAC(e *entry) {
	m, ok := e.mac()
	if !ok || e.idx >= p.macUpTo {
		return
	}
	if e.macNext != 0 {
		p.tab.at(e.macNext - 1).macPrev = e.macPrev
	}
	switch {
	case e.macPrev != 0:
		p.tab.at(e.macPrev - 1).macNext = e.macNext
	case e.macNext != 0:
		p.byMAC[m] = e.macNext
	default:
		delete(p.byMAC, m)
	}
	e.macNext, e.macPrev = 0, 0
}

// macIndexStep is how many places of the table IndexHardware indexes
// per hold of the pool's lock, so answers wait for it at most briefly.
const macIndexStep = 1 << 12

// indexMACUpTo extends the hardware address index to the places below
// end, or to every place (and those yet to be made) when end is past
// the table.
func (p *Pool) indexMACUpTo(end uint32) {
	if p.macUpTo == math.MaxUint32 {
		return
	}
	end = min(max(end, p.macUpTo), p.tab.used)
	for i := p.macUpTo; i < end; i++ {
		// A free place (state 0) holds no lease; one freed and filled
		// again while unindexed is indexed here like any other.
		if e := p.tab.at(i); e.state != 0 {
			p.linkMAC(e)
		}
	}
	p.macUpTo = end
	if end == p.tab.used {
		p.macUpTo = math.MaxUint32
	}
}

// parseMAC reads s into b if it is what net.HardwareAddr.String writes of
// at most len(b) bytes (lower-case hex pairs joined by colons), so that
// writing b back gives s again.
func parseMAC(s string, b *[8]byte) (int, bool) {
	n := (len(s) + 1) / 3
	if n == 0 || n > len(b) || len(s) != 3*n-1 {
		return 0, false
	}
	for i := range n {
		if i > 0 && s[3*i-1] != ':' {
			return 0, false
		}
		hi, ok1 := hexDigit(s[3*i])
		lo, ok2 := hexDigit(s[3*i+1])
		if !ok1 || !ok2 {
			return 0, false
		}
		b[i] = hi<<4 | lo
	}
	return n, true
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// free forgets e's lease and its slot.
func (p *Pool) free(e *entry) {
	p.unindexMAC(e)
	delete(p.extras, e.idx)
	delete(p.stored, e.idx)
	p.tab.release(e)
}

// lease is the lease e holds, its own copy.
func (p *Pool) lease(e *entry) Lease {
	l := p.view(e)
	l.DUID = slices.Clone(l.DUID)
	return l
}

// view is the lease e holds; its DUID is the pool's own bytes, to be read
// only while the pool's lock is held.
func (p *Pool) view(e *entry) Lease { return viewWith(e, p.extras[e.idx]) }

// viewWith is the lease e holds, with x what it holds out of line.
func viewWith(e *entry, x extra) Lease {
	l := Lease{
		Kind: Kind(kinds.name(e.key.kind)), Address: netip.AddrFrom16(e.addr), PrefixLength: int(e.plen),
		IAID: e.key.iaid, PreferredUntil: fromNanos(e.preferred), ValidUntil: fromNanos(e.valid), LastTransaction: fromNanos(e.lastTx),
		HardwareAddrSource: sources.name(e.hwSource),
	}
	if d := &e.key.duid; d.n == outOfLine {
		l.DUID = []byte(x.duid)
	} else {
		l.DUID = d.duid[:d.n:d.n]
	}
	if e.userClassLen == outOfLine {
		l.UserClass = x.userClass
	} else if e.userClassLen > 0 {
		l.UserClass = string(e.userClass[:e.userClassLen])
	}
	switch e.hwAddrLen {
	case 0:
	case outOfLine:
		l.HardwareAddr = x.hwAddr
	default:
		l.HardwareAddr = net.HardwareAddr(e.hwAddr[:e.hwAddrLen]).String()
	}
	if e.hasArch {
		arch := e.arch
		l.ClientArch = &arch
	}
	return l
}

func (e *entry) address() netip.Addr { return netip.AddrFrom16(e.addr) }

// id is the client IA of e.
func (p *Pool) id(e *entry) clientID {
	id := clientID{key: e.key}
	if e.key.duid.n == outOfLine {
		id.long = p.extras[e.idx].duid
	}
	return id
}

// duid is the DUID of e as a string.
func (p *Pool) duid(e *entry) string {
	if d := &e.key.duid; d.n == outOfLine {
		return p.extras[e.idx].duid
	}
	return string(e.key.duid.duid[:e.key.duid.n])
}

// ended reports whether e's offer, quarantine or lease is over at now.
func (e *entry) ended(now time.Time) bool { return now.UnixNano() >= e.until }

// storedLease is what storage holds of bound e, nil for nothing.
func (p *Pool) storedLease(e *entry) *Lease {
	if e.unstored {
		return p.stored[e.idx]
	}
	l := p.lease(e)
	return &l
}

// live is what storage holds of e while it binds at now.
func (p *Pool) live(e *entry, now time.Time) (*Lease, bool) {
	if e.state != bound || e.ended(now) {
		return nil, false
	}
	l := p.storedLease(e)
	return l, l != nil && now.Before(l.ValidUntil)
}

// sameVersion reports whether e's lease and l are one outcome of Bind or
// Renew: each stamps the lease with the time of the client's message.
func (e *entry) sameVersion(l Lease) bool {
	return e.valid == nanos(l.ValidUntil) && e.preferred == nanos(l.PreferredUntil) && e.lastTx == nanos(l.LastTransaction)
}

// at is the entry on address a, nil for none.
func (p *Pool) at(a [16]byte) *entry {
	if i, ok := p.byAddr[a]; ok {
		return p.tab.at(i)
	}
	return nil
}

// duid is the client's DUID as a string.
func (id clientID) duid() string {
	if id.long != "" {
		return id.long
	}
	return string(id.key.duid.duid[:id.key.duid.n])
}

// head is the place plus one of the first entry of id's DUID, 0 for none.
func (p *Pool) head(id clientID) uint32 {
	var i uint32
	var ok bool
	if id.long != "" {
		i, ok = p.longDUID[id.long]
	} else {
		i, ok = p.byDUID[id.key.duid]
	}
	if !ok {
		return 0
	}
	return i + 1
}

// chain yields the entries of id's DUID, of every kind and IA.
func (p *Pool) chain(id clientID) iter.Seq[*entry] {
	return func(yield func(*entry) bool) {
		for i := p.head(id); i != 0; {
			e := p.tab.at(i - 1)
			i = e.next
			if !yield(e) {
				return
			}
		}
	}
}

// client is the entry of the client IA id, nil for none.
func (p *Pool) client(id clientID) *entry {
	for e := range p.chain(id) {
		if e.key.kind == id.key.kind && e.key.iaid == id.key.iaid {
			return e
		}
	}
	return nil
}

// setHead makes i (plus one; 0: none) the first entry of id's DUID.
func (p *Pool) setHead(id clientID, i uint32) {
	switch {
	case i == 0 && id.long != "":
		delete(p.longDUID, id.long)
	case i == 0:
		delete(p.byDUID, id.key.duid)
	case id.long != "":
		p.longDUID[id.long] = i - 1
	default:
		p.byDUID[id.key.duid] = i - 1
	}
}

// setClient adds e, of a client IA the pool has no entry for, to its
// DUID's chain.
func (p *Pool) setClient(id clientID, e *entry) {
	e.next = p.head(id)
	p.setHead(id, e.idx+1)
}

// deleteClient takes e out of its DUID's chain.
func (p *Pool) deleteClient(id clientID, e *entry) {
	var prev *entry
	for c := range p.chain(id) {
		if c == e {
			break
		}
		prev = c
	}
	if prev == nil {
		p.setHead(id, e.next)
	} else {
		prev.next = e.next
	}
	e.next = 0
}

// entries yields every entry the pool holds, in the table's order: a
// place in use (state other than 0) holds an entry of byAddr, and
// reading the table in order is much faster than looking up each place.
func (p *Pool) entries() iter.Seq[*entry] {
	return func(yield func(*entry) bool) {
		for i := range p.tab.used {
			if e := p.tab.at(i); e.state != 0 && !yield(e) {
				return
			}
		}
	}
}

// nanos is t in Unix nanoseconds, 0 for the zero time; times beyond what
// int64 nanoseconds hold (after 2262) are clamped to the last one.
func nanos(t time.Time) int64 {
	switch {
	case t.IsZero():
		return 0
	case t.After(maxNanos):
		return math.MaxInt64
	case t.Before(minNanos):
		return math.MinInt64 + 1
	}
	return t.UnixNano()
}

var (
	maxNanos = time.Unix(0, math.MaxInt64)
	minNanos = time.Unix(0, math.MinInt64+1)
)

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// codes numbers the few distinct values of a string field (lease kinds,
// hardware address sources) so an entry holds a byte instead of a string.
// Only the agent's own constants reach it; past 255 values a new one
// reads back as "". The names only grow, each time as a new slice, so
// reading them takes no lock: a pool reads them for every lease it loads.
type codes struct {
	mu    sync.Mutex // held to add a name
	names atomic.Pointer[[]string]
}

func newCodes(names ...string) *codes {
	c := &codes{}
	c.names.Store(&names)
	return c
}

var (
	kinds   = newCodes(string(NA), string(TA), string(PD))
	sources = newCodes("", "duid", "relay", "link-local")
)

func (c *codes) code(s string) uint8 {
	if i := slices.Index(*c.names.Load(), s); i >= 0 {
		return uint8(i)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	names := *c.names.Load()
	if i := slices.Index(names, s); i >= 0 {
		return uint8(i)
	}
	if len(names) >= math.MaxUint8 {
		return uint8(slices.Index(names, ""))
	}
	grown := append(slices.Clip(names), strings.Clone(s))
	c.names.Store(&grown)
	return uint8(len(grown) - 1)
}

func (c *codes) name(code uint8) string {
	if names := *c.names.Load(); int(code) < len(names) {
		return names[code]
	}
	return ""
}
