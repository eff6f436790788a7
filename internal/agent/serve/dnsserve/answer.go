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

// zone is the records served: lowercase names with the trailing dot, each
// with its addresses (IPv4 ones unmapped).
type zone map[string][]netip.Addr

// newZone checks and normalizes Config.Records.
func newZone(records map[string][]netip.Addr) (zone, error) {
	z := make(zone, len(records))
	for name, addrs := range records {
		key, err := canonicalName(name)
		if err != nil {
			return nil, err
		}
		if _, dup := z[key]; dup {
			return nil, fmt.Errorf("dns: name %q given twice (names are case-insensitive)", name)
		}
		out := make([]netip.Addr, 0, len(addrs))
		for _, a := range addrs {
			if !a.IsValid() {
				return nil, fmt.Errorf("dns: name %q: invalid (zero) address", name)
			}
			a = a.Unmap().WithZone("") // AAAA records carry no zone
			if !containsAddr(out, a) {
				out = append(out, a)
			}
		}
		z[key] = out
	}
	return z, nil
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
//     ANY), authoritatively (AA);
//   - another type of an owned name gets NODATA: NOERROR, AA, no records
//     (and no SOA: there is no zone, so resolvers do not cache it);
//   - any other name, or a class other than IN, gets REFUSED;
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

	var records []netip.Addr
	switch addrs, owned := z[asciiLower(res.name)]; {
	case edns.present && edns.version != 0:
		res.rcode = rcodeBadVers
	case q.Class != dnsmessage.ClassINET && q.Class != dnsmessage.ClassANY, !owned:
		res.rcode = dnsmessage.RCodeRefused
	default:
		reply.Authoritative = true
		for _, a := range addrs {
			if a.Is6() && (q.Type == dnsmessage.TypeAAAA || q.Type == dnsmessage.TypeALL) ||
				a.Is4() && (q.Type == dnsmessage.TypeA || q.Type == dnsmessage.TypeALL) {
				records = append(records, a)
			}
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

// build packs a reply echoing the question, with records as AAAA or A.
func build(h dnsmessage.Header, rcode dnsmessage.RCode, q dnsmessage.Question, records []netip.Addr, edns ednsInfo) ([]byte, error) {
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
	for _, a := range records {
		var err error
		if a.Is4() {
			err = b.AResource(rh, dnsmessage.AResource{A: a.As4()})
		} else {
			err = b.AAAAResource(rh, dnsmessage.AAAAResource{AAAA: a.As16()})
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
