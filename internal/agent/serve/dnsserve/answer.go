package dnsserve

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"golang.org/x/net/dns/dnsmessage"
)

// What the answers carry.
const (
	// ttl is short: the agent may change an address with Apply, and a
	// client asks rarely (once per mount).
	ttl = 60
	// maxUDPPayload is the EDNS(0) payload size advertised, and the cap on
	// UDP replies to EDNS queries: the DNS flag day 2020 value, which fits
	// an IPv6 packet in a 1280-byte minimum MTU without fragmenting.
	maxUDPPayload = 1232
	// minUDPPayload is what a query without EDNS may receive (RFC 1035).
	minUDPPayload = 512
	// maxTCPMessage is what fits the 2-byte length of DNS over TCP.
	maxTCPMessage = 65535
)

// rcodeBadVers is BADVERS (RFC 6891): the query's EDNS version is not 0.
// The header carries its low 4 bits (0), the OPT record the rest.
const rcodeBadVers dnsmessage.RCode = 16

// zone is what is served: names (lowercase, with the trailing dot) with
// their addresses (IPv4 ones unmapped), the names of addresses for PTR
// queries, and what leases add at query time.
type zone struct {
	names    map[string][]netip.Addr
	pointers map[netip.Addr]string
	dynamic  Resolver
}

// newZone checks and normalizes cfg's Records and Pointers.
func newZone(cfg Config) (zone, error) {
	z := zone{names: make(map[string][]netip.Addr, len(cfg.Records)), pointers: make(map[netip.Addr]string, len(cfg.Pointers)), dynamic: cfg.Dynamic}
	for name, addrs := range cfg.Records {
		key, err := canonicalName(name)
		if err != nil {
			return zone{}, err
		}
		if _, dup := z.names[key]; dup {
			return zone{}, fmt.Errorf("dns: name %q given twice (names are case-insensitive)", name)
		}
		out := make([]netip.Addr, 0, len(addrs))
		for _, a := range addrs {
			if !a.IsValid() {
				return zone{}, fmt.Errorf("dns: name %q: invalid (zero) address", name)
			}
			a = a.Unmap().WithZone("") // AAAA records carry no zone
			if !containsAddr(out, a) {
				out = append(out, a)
			}
		}
		z.names[key] = out
	}
	for a, name := range cfg.Pointers {
		if !a.Is6() || a.Is4In6() || a.Zone() != "" {
			return zone{}, fmt.Errorf("dns: pointer to %q: %v is not an IPv6 address without a zone", name, a)
		}
		key, err := canonicalName(name)
		if err != nil {
			return zone{}, err
		}
		z.pointers[a] = key
	}
	return z, nil
}

// lookup returns the records of name (lowercase, with the trailing dot)
// of type t, and whether name is owned: a full ip6.arpa name of an address
// with a pointer gets PTR, any other owned name its AAAA or A records.
// Records and Pointers come before the dynamic resolver.
func (z *zone) lookup(name string, t dnsmessage.Type) (rrs []record, owned bool) {
	if a, ok := reverseAddr(name); ok {
		target := z.pointers[a]
		if target == "" && z.dynamic != nil {
			target = z.dynamic.Name(a)
		}
		if target == "" {
			return nil, false
		}
		if t == dnsmessage.TypePTR || t == dnsmessage.TypeALL {
			rrs = append(rrs, record{ptr: target})
		}
		return rrs, true
	}
	addrs, owned := z.names[name]
	if !owned && z.dynamic != nil {
		addrs = z.dynamic.Addresses(name)
		owned = len(addrs) > 0
	}
	for _, a := range addrs {
		if a.Is6() && (t == dnsmessage.TypeAAAA || t == dnsmessage.TypeALL) ||
			a.Is4() && (t == dnsmessage.TypeA || t == dnsmessage.TypeALL) {
			rrs = append(rrs, record{addr: a})
		}
	}
	return rrs, owned
}

// record is one answer: an address (AAAA or A) or, when ptr is set, a PTR
// record naming ptr.
type record struct {
	addr netip.Addr
	ptr  string
}

// reverseSuffix is the zone of IPv6 reverse names (RFC 3596 section 2.5).
const reverseSuffix = "ip6.arpa."

// reverseAddr reads a lowercase name of the form RFC 3596 gives an IPv6
// address in ip6.arpa: 32 one-digit hex labels, least significant nibble
// first. Any other name (fewer or more labels, a label of two digits or
// not hex) is no address.
func reverseAddr(name string) (netip.Addr, bool) {
	if len(name) != 64+len(reverseSuffix) || name[64:] != reverseSuffix {
		return netip.Addr{}, false
	}
	var b [16]byte
	for i := range 32 {
		c := name[2*i]
		if name[2*i+1] != '.' {
			return netip.Addr{}, false
		}
		var n byte
		switch {
		case '0' <= c && c <= '9':
			n = c - '0'
		case 'a' <= c && c <= 'f':
			n = c - 'a' + 10
		default:
			return netip.Addr{}, false
		}
		// Label i is nibble 31-i of the address.
		if j := 31 - i; j%2 == 0 {
			b[j/2] |= n << 4
		} else {
			b[j/2] |= n
		}
	}
	return netip.AddrFrom16(b), true
}

func containsAddr(as []netip.Addr, a netip.Addr) bool {
	for _, b := range as {
		if a == b {
			return true
		}
	}
	return false
}

// canonicalName checks that name is a fully qualified host name (letters,
// digits, hyphens and underscores in labels of 1 to 63 bytes, 253 bytes in
// all; the trailing dot optional) and returns it lowercase with the dot.
func canonicalName(name string) (string, error) {
	n := strings.TrimSuffix(name, ".")
	if n == "" || len(n) > 253 {
		return "", fmt.Errorf("dns: name %q: not a host name of 1 to 253 bytes", name)
	}
	for _, label := range strings.Split(n, ".") {
		if label == "" || len(label) > 63 {
			return "", fmt.Errorf("dns: name %q: empty label or label over 63 bytes", name)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("dns: name %q: byte %q not allowed in a host name", name, c)
			}
		}
	}
	return asciiLower(n) + ".", nil
}

// asciiLower folds A-Z only: DNS names compare case-insensitively in ASCII
// (RFC 4343), and other bytes must stay as they are.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// result says what answer did, for counters and logs.
type result struct {
	rcode     dnsmessage.RCode // extended: BADVERS is 16
	name      string           // as asked, "" when the question was unreadable
	qtype     dnsmessage.Type
	answers   int // records found; not sent when truncated
	truncated bool
}

// answer is the whole responder: the reply to one query received over UDP
// or TCP, or nil when no reply is due (not a query, or too short to carry
// an ID to reply to). It never recurses:
//
//   - an owned name (case-insensitive) gets its AAAA or A records (both for
//     ANY), authoritatively (AA); so does the ip6.arpa name of an address
//     with a name (RFC 3596 nibble format), its PTR record;
//   - another type of an owned name gets NODATA: NOERROR, AA, no records
//     (and no SOA: there is no zone, so resolvers do not cache it);
//   - any other name, or a class other than IN, gets REFUSED: also an
//     ip6.arpa name that is not a whole address (shorter, longer,
//     malformed), since the responder is authoritative for no zone of the
//     reverse tree, and an address nobody's name points to;
//   - a malformed query gets FORMERR, an opcode other than QUERY NOTIMP,
//     an EDNS version other than 0 BADVERS.
//
// An EDNS(0) OPT record in the query is answered with one. A UDP reply
// larger than the client can take (512 bytes without EDNS, its advertised
// size up to maxUDPPayload with it) is sent without records and with TC
// set, so the client retries over TCP.
func answer(query []byte, z zone, overTCP bool) ([]byte, result) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil || h.Response {
		return nil, result{}
	}
	reply := dnsmessage.Header{ID: h.ID, Response: true, OpCode: h.OpCode, RecursionDesired: h.RecursionDesired}
	if h.OpCode != 0 {
		return headerOnly(reply, dnsmessage.RCodeNotImplemented)
	}
	q, err := p.Question()
	if err != nil {
		return headerOnly(reply, dnsmessage.RCodeFormatError)
	}
	if _, err := p.Question(); !errors.Is(err, dnsmessage.ErrSectionDone) {
		return headerOnly(reply, dnsmessage.RCodeFormatError)
	}
	edns, err := readEDNS(&p)
	if err != nil {
		return headerOnly(reply, dnsmessage.RCodeFormatError)
	}
	res := result{name: q.Name.String(), qtype: q.Type}

	var records []record
	switch {
	case edns.present && edns.version != 0:
		res.rcode = rcodeBadVers
	case q.Class != dnsmessage.ClassINET && q.Class != dnsmessage.ClassANY:
		res.rcode = dnsmessage.RCodeRefused
	default:
		var owned bool
		records, owned = z.lookup(asciiLower(res.name), q.Type)
		if owned {
			reply.Authoritative = true
		} else {
			res.rcode = dnsmessage.RCodeRefused
		}
	}

	limit := maxTCPMessage
	if !overTCP {
		limit = minUDPPayload
		if edns.present {
			limit = min(max(edns.udpSize, minUDPPayload), maxUDPPayload)
		}
	}
	res.answers = len(records)
	msg, err := build(reply, res.rcode, q, records, edns)
	if err == nil && len(msg) > limit {
		reply.Truncated, res.truncated = true, true
		msg, err = build(reply, res.rcode, q, nil, edns)
	}
	if err != nil {
		// Only a bug gets here: every part was parsed or checked.
		return headerOnly(reply, dnsmessage.RCodeServerFailure)
	}
	return msg, res
}

// ednsInfo is what a query's OPT record says.
type ednsInfo struct {
	present bool
	version int
	udpSize int
}

// readEDNS skips the answer and authority sections and finds the OPT
// record among the additional ones; more than one is a format error.
func readEDNS(p *dnsmessage.Parser) (ednsInfo, error) {
	var e ednsInfo
	if err := p.SkipAllAnswers(); err != nil {
		return e, err
	}
	if err := p.SkipAllAuthorities(); err != nil {
		return e, err
	}
	for {
		h, err := p.AdditionalHeader()
		if errors.Is(err, dnsmessage.ErrSectionDone) {
			return e, nil
		}
		if err != nil {
			return e, err
		}
		if h.Type == dnsmessage.TypeOPT {
			if e.present {
				return e, errors.New("two OPT records")
			}
			e = ednsInfo{present: true, version: int(h.TTL >> 16 & 0xff), udpSize: int(h.Class)}
		}
		if err := p.SkipAdditional(); err != nil {
			return e, err
		}
	}
}

// build packs a reply echoing the question, with records.
func build(h dnsmessage.Header, rcode dnsmessage.RCode, q dnsmessage.Question, records []record, edns ednsInfo) ([]byte, error) {
	h.RCode = rcode & 0xf
	b := dnsmessage.NewBuilder(make([]byte, 0, minUDPPayload), h)
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	rh := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: ttl}
	for _, r := range records {
		var err error
		switch {
		case r.ptr != "":
			var target dnsmessage.Name
			if target, err = dnsmessage.NewName(r.ptr); err == nil {
				err = b.PTRResource(rh, dnsmessage.PTRResource{PTR: target})
			}
		case r.addr.Is4():
			err = b.AResource(rh, dnsmessage.AResource{A: r.addr.As4()})
		default:
			err = b.AAAAResource(rh, dnsmessage.AAAAResource{AAAA: r.addr.As16()})
		}
		if err != nil {
			return nil, err
		}
	}
	if edns.present {
		if err := b.StartAdditionals(); err != nil {
			return nil, err
		}
		var opt dnsmessage.ResourceHeader
		if err := opt.SetEDNS0(maxUDPPayload, rcode&^0xf, false); err != nil {
			return nil, err
		}
		if err := b.OPTResource(opt, dnsmessage.OPTResource{}); err != nil {
			return nil, err
		}
	}
	return b.Finish()
}

// headerOnly is the reply to a query whose question cannot be trusted.
func headerOnly(h dnsmessage.Header, rcode dnsmessage.RCode) ([]byte, result) {
	h.RCode = rcode
	b := dnsmessage.NewBuilder(nil, h)
	msg, err := b.Finish()
	if err != nil {
		return nil, result{}
	}
	return msg, result{rcode: rcode}
}
