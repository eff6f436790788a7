package dnsserve

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

var (
	bootAddr     = netip.MustParseAddr("2001:db8:1::1")
	bootV4       = netip.MustParseAddr("192.0.2.1")
	reservedAddr = netip.MustParseAddr("2001:db8:1::10")
	leasedAddr   = netip.MustParseAddr("2001:db8:1::8a2e:370:7334")
)

// fakeLeases is a Resolver with one leased machine.
type fakeLeases map[string]netip.Addr

func (f fakeLeases) Addresses(name string) []netip.Addr {
	if a, ok := f[name]; ok {
		return []netip.Addr{a}
	}
	return nil
}

func (f fakeLeases) Name(a netip.Addr) string {
	for n, b := range f {
		if a == b {
			return n
		}
	}
	return ""
}

var testLeases = fakeLeases{"web2.netboot.test.": leasedAddr, "boot.netboot.test.": netip.MustParseAddr("2001:db8:1::99")}

// Reverse names of the test addresses, as dig -x writes them.
const (
	reservedPTR = "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa."
	leasedPTR   = "4.3.3.7.0.7.3.0.e.2.a.8.0.0.0.0.0.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa."
)

func testZone(t testing.TB) zone {
	t.Helper()
	many := make([]netip.Addr, 60)
	for i := range many {
		many[i] = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i + 1)})
	}
	z, err := newZone(Config{Records: map[string][]netip.Addr{
		"boot.netboot.test":   {bootAddr},
		"Dual.Netboot.Test.":  {bootAddr, netip.MustParseAddr("::ffff:192.0.2.1")},
		"empty.netboot.test.": nil,
		"many.netboot.test":   many,
		"web1.netboot.test":   {reservedAddr},
	}, Pointers: map[netip.Addr]string{reservedAddr: "Web1.netboot.test"}, Dynamic: testLeases})
	if err != nil {
		t.Fatal(err)
	}
	return z
}

// query is a query's parts the tests vary.
type query struct {
	id         uint16
	name       string
	qtype      dnsmessage.Type
	class      dnsmessage.Class
	opcode     dnsmessage.OpCode
	edns       bool
	ednsSize   int
	ednsVer    uint32
	twoOPT     bool
	questions  int // 0 means 1; -1 means none
	response   bool
	noRecurse  bool
	truncateTo int // cut the packed query to this many bytes
}

func (q query) pack(t testing.TB) []byte {
	t.Helper()
	if q.class == 0 {
		q.class = dnsmessage.ClassINET
	}
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: q.id, OpCode: q.opcode, Response: q.response, RecursionDesired: !q.noRecurse})
	if err := b.StartQuestions(); err != nil {
		t.Fatal(err)
	}
	n := q.questions
	if n == 0 {
		n = 1
	}
	for range max(n, 0) {
		if err := b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(q.name), Type: q.qtype, Class: q.class}); err != nil {
			t.Fatal(err)
		}
	}
	if q.edns || q.twoOPT {
		if err := b.StartAdditionals(); err != nil {
			t.Fatal(err)
		}
		for range 1 + btoi(q.twoOPT) {
			size := q.ednsSize
			if size == 0 {
				size = 1232
			}
			var h dnsmessage.ResourceHeader
			if err := h.SetEDNS0(size, dnsmessage.RCodeSuccess, false); err != nil {
				t.Fatal(err)
			}
			h.TTL |= q.ednsVer << 16
			if err := b.OPTResource(h, dnsmessage.OPTResource{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	msg, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if q.truncateTo > 0 {
		msg = msg[:q.truncateTo]
	}
	return msg
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestAnswer(t *testing.T) {
	z := testZone(t)
	tests := []struct {
		name    string
		q       query
		overTCP bool
		// want
		rcode     dnsmessage.RCode
		aa, tc    bool
		addrs     []string
		questions int
		opt       bool
	}{
		{name: "AAAA", q: query{name: "boot.netboot.test.", qtype: dnsmessage.TypeAAAA}, aa: true, addrs: []string{"2001:db8:1::1"}, questions: 1},
		{name: "case-insensitive", q: query{name: "BoOt.NetBoot.TEST.", qtype: dnsmessage.TypeAAAA}, aa: true, addrs: []string{"2001:db8:1::1"}, questions: 1},
		{name: "configured in capitals", q: query{name: "dual.netboot.test.", qtype: dnsmessage.TypeAAAA}, aa: true, addrs: []string{"2001:db8:1::1"}, questions: 1},
		{name: "A from a mapped address", q: query{name: "dual.netboot.test.", qtype: dnsmessage.TypeA}, aa: true, addrs: []string{"192.0.2.1"}, questions: 1},
		{name: "ANY", q: query{name: "dual.netboot.test.", qtype: dnsmessage.TypeALL}, aa: true, addrs: []string{"2001:db8:1::1", "192.0.2.1"}, questions: 1},
		{name: "class ANY", q: query{name: "boot.netboot.test.", qtype: dnsmessage.TypeAAAA, class: dnsmessage.ClassANY}, aa: true, addrs: []string{"2001:db8:1::1"}, questions: 1},
		{name: "A of an IPv6-only name: NODATA", q: query{name: "boot.netboot.test.", qtype: dnsmessage.TypeA}, aa: true, questions: 1},
		{name: "MX: NODATA", q: query{name: "boot.netboot.test.", qtype: dnsmessage.TypeMX}, aa: true, questions: 1},
		{name: "owned without addresses: NODATA", q: query{name: "empty.netboot.test.", qtype: dnsmessage.TypeAAAA}, aa: true, questions: 1},
		{name: "other name", q: query{name: "debian.org.", qtype: dnsmessage.TypeAAAA}, rcode: dnsmessage.RCodeRefused, questions: 1},
		{name: "below an owned name", q: query{name: "x.boot.netboot.test.", qtype: dnsmessage.TypeAAAA}, rcode: dnsmessage.RCodeRefused, questions: 1},
		{name: "parent of an owned name", q: query{name: "netboot.test.", qtype: dnsmessage.TypeSOA}, rcode: dnsmessage.RCodeRefused, questions: 1},
		{name: "root", q: query{name: ".", qtype: dnsmessage.TypeNS}, rcode: dnsmessage.RCodeRefused, questions: 1},
		{name: "CHAOS class", q: query{name: "boot.netboot.test.", qtype: dnsmessage.TypeTXT, class: dnsmessage.ClassCHAOS}, rcode: dnsmessage.RCodeRefused, questions: 1},
		{name: "EDNS echoed", q: query{name: "boot.netboot.test.", qtype: dnsmessage.TypeAAAA, edns: true}, aa: true, addrs: []string{"2001:db8:1::1"}, questions: 1, opt: true},
		{name: "EDNS on refusal", q: query{name: "debian.org.", qtype: dnsmessage.TypeAAAA, edns: true}, rcode: dnsmessage.RCodeRefused, questions: 1, opt: true},
		{name: "EDNS version 1", q: query{name: "boot.netboot.test.", qtype: dnsmessage.TypeAAAA, edns: true, ednsVer: 1}, rcode: rcodeBadVers, questions: 1, opt: true},
		{name: "two OPT records", q: query{name: "boot.netboot.test.", qtype: dnsmessage.TypeAAAA, twoOPT: true}, rcode: dnsmessage.RCodeFormatError},
		{name: "no question", q: query{questions: -1}, rcode: dnsmessage.RCodeFormatError},
		{name: "two questions", q: query{name: "boot.netboot.test.", qtype: dnsmessage.TypeAAAA, questions: 2}, rcode: dnsmessage.RCodeFormatError},
		{name: "cut question", q: query{name: "boot.netboot.test.", qtype: dnsmessage.TypeAAAA, truncateTo: 20}, rcode: dnsmessage.RCodeFormatError},
		{name: "NOTIFY", q: query{name: "boot.netboot.test.", qtype: dnsmessage.TypeSOA, opcode: 4}, rcode: dnsmessage.RCodeNotImplemented},
		{name: "many over UDP: truncated", q: query{name: "many.netboot.test.", qtype: dnsmessage.TypeAAAA}, aa: true, tc: true, questions: 1},
		{name: "many over UDP with EDNS 4096: truncated at 1232", q: query{name: "many.netboot.test.", qtype: dnsmessage.TypeAAAA, edns: true, ednsSize: 4096}, aa: true, tc: true, questions: 1, opt: true},
		{name: "PTR of a reserved address", q: query{name: reservedPTR, qtype: dnsmessage.TypePTR}, aa: true, addrs: []string{"web1.netboot.test."}, questions: 1},
		{name: "PTR in capitals", q: query{name: strings.ToUpper(reservedPTR), qtype: dnsmessage.TypePTR}, aa: true, addrs: []string{"web1.netboot.test."}, questions: 1},
		{name: "ANY of a reverse name", q: query{name: reservedPTR, qtype: dnsmessage.TypeALL}, aa: true, addrs: []string{"web1.netboot.test."}, questions: 1},
		{name: "AAAA of a reverse name: NODATA", q: query{name: reservedPTR, qtype: dnsmessage.TypeAAAA}, aa: true, questions: 1},
		{name: "PTR of a leased address", q: query{name: leasedPTR, qtype: dnsmessage.TypePTR}, aa: true, addrs: []string{"web2.netboot.test."}, questions: 1},
		{name: "AAAA of a leased name", q: query{name: "web2.netboot.test.", qtype: dnsmessage.TypeAAAA}, aa: true, addrs: []string{"2001:db8:1::8a2e:370:7334"}, questions: 1},
		{name: "records before leases", q: query{name: "boot.netboot.test.", qtype: dnsmessage.TypeAAAA}, aa: true, addrs: []string{"2001:db8:1::1"}, questions: 1},
		{name: "PTR of an address nobody's", q: query{name: "f" + reservedPTR[1:], qtype: dnsmessage.TypePTR}, rcode: dnsmessage.RCodeRefused, questions: 1},
		{name: "PTR of a /64: not an address", q: query{name: reservedPTR[32:], qtype: dnsmessage.TypePTR}, rcode: dnsmessage.RCodeRefused, questions: 1},
		{name: "PTR of 33 nibbles", q: query{name: "0." + reservedPTR, qtype: dnsmessage.TypePTR}, rcode: dnsmessage.RCodeRefused, questions: 1},
		{name: "PTR with a two-digit label", q: query{name: "10" + reservedPTR[3:], qtype: dnsmessage.TypePTR}, rcode: dnsmessage.RCodeRefused, questions: 1},
		{name: "PTR with a non-hex label", q: query{name: "g" + reservedPTR[1:], qtype: dnsmessage.TypePTR}, rcode: dnsmessage.RCodeRefused, questions: 1},
		{name: "ip6.arpa itself", q: query{name: "ip6.arpa.", qtype: dnsmessage.TypePTR}, rcode: dnsmessage.RCodeRefused, questions: 1},
		{name: "in-addr.arpa", q: query{name: "1.2.0.192.in-addr.arpa.", qtype: dnsmessage.TypePTR}, rcode: dnsmessage.RCodeRefused, questions: 1},
		{name: "many over TCP", q: query{name: "many.netboot.test.", qtype: dnsmessage.TypeAAAA}, overTCP: true, aa: true, addrs: manyAddrs(), questions: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.q.id = 0xbeef
			msg := tt.q.pack(t)
			reply, res := answer(msg, z, tt.overTCP)
			if reply == nil {
				t.Fatal("no reply")
			}
			var m dnsmessage.Message
			if err := m.Unpack(reply); err != nil {
				t.Fatalf("reply does not parse: %v", err)
			}
			rcode := m.Header.RCode
			var opt *dnsmessage.ResourceHeader
			for i, a := range m.Additionals {
				if a.Header.Type == dnsmessage.TypeOPT {
					opt = &m.Additionals[i].Header
					rcode = opt.ExtendedRCode(rcode)
				}
			}
			if m.Header.ID != 0xbeef || !m.Header.Response || m.Header.RecursionAvailable || !m.Header.RecursionDesired {
				t.Errorf("header = %+v", m.Header)
			}
			if rcode != tt.rcode || res.rcode != tt.rcode {
				t.Errorf("rcode = %v (result %v), want %v", rcode, res.rcode, tt.rcode)
			}
			if m.Header.Authoritative != tt.aa || m.Header.Truncated != tt.tc || res.truncated != tt.tc {
				t.Errorf("AA %v TC %v, want AA %v TC %v", m.Header.Authoritative, m.Header.Truncated, tt.aa, tt.tc)
			}
			if got := answerAddrs(t, m); !slices.Equal(got, tt.addrs) {
				t.Errorf("answers = %v, want %v", got, tt.addrs)
			}
			if len(m.Questions) != tt.questions {
				t.Errorf("%d questions echoed, want %d", len(m.Questions), tt.questions)
			} else if tt.questions == 1 && m.Questions[0].Name.String() != tt.q.name {
				t.Errorf("question %s echoed, want %s as sent", m.Questions[0].Name, tt.q.name)
			}
			if (opt != nil) != tt.opt {
				t.Errorf("OPT in reply: %v, want %v", opt != nil, tt.opt)
			} else if opt != nil && (opt.Class != maxUDPPayload || opt.DNSSECAllowed()) {
				t.Errorf("OPT = %+v", opt)
			}
			limit := maxTCPMessage
			if !tt.overTCP {
				limit = minUDPPayload
				if tt.q.edns {
					limit = maxUDPPayload
				}
			}
			if len(reply) > limit {
				t.Errorf("reply of %d bytes, over %d", len(reply), limit)
			}
		})
	}
}

func manyAddrs() []string {
	out := make([]string, 60)
	for i := range out {
		out[i] = fmt.Sprintf("2001:db8::%x", i+1)
	}
	return out
}

func answerAddrs(t *testing.T, m dnsmessage.Message) []string {
	t.Helper()
	var out []string
	for _, a := range m.Answers {
		if a.Header.TTL != ttl || a.Header.Class != dnsmessage.ClassINET {
			t.Errorf("answer header = %+v", a.Header)
		}
		switch r := a.Body.(type) {
		case *dnsmessage.AAAAResource:
			out = append(out, netip.AddrFrom16(r.AAAA).String())
		case *dnsmessage.AResource:
			out = append(out, netip.AddrFrom4(r.A).String())
		case *dnsmessage.PTRResource:
			out = append(out, r.PTR.String())
		default:
			t.Errorf("unexpected answer %v", a)
		}
	}
	return out
}

func TestAnswerDrops(t *testing.T) {
	z := testZone(t)
	for name, msg := range map[string][]byte{
		"empty":      nil,
		"short":      {0xbe, 0xef, 1},
		"a response": query{name: "boot.netboot.test.", qtype: dnsmessage.TypeAAAA, response: true}.pack(t),
	} {
		if reply, _ := answer(msg, z, false); reply != nil {
			t.Errorf("%s: replied %x", name, reply)
		}
	}
}

func TestNewZone(t *testing.T) {
	for _, tt := range []struct {
		name    string
		records map[string][]netip.Addr
		want    string
	}{
		{"empty name", map[string][]netip.Addr{"": nil}, "not a host name"},
		{"only a dot", map[string][]netip.Addr{".": nil}, "not a host name"},
		{"empty label", map[string][]netip.Addr{"a..b": nil}, "empty label"},
		{"long label", map[string][]netip.Addr{strings.Repeat("a", 64) + ".test": nil}, "over 63"},
		{"long name", map[string][]netip.Addr{strings.Repeat("a.", 127) + "test": nil}, "not a host name"},
		{"space", map[string][]netip.Addr{"a b.test": nil}, "not allowed"},
		{"wildcard", map[string][]netip.Addr{"*.test": nil}, "not allowed"},
		{"duplicate by case", map[string][]netip.Addr{"a.test": nil, "A.test.": nil}, "given twice"},
		{"zero address", map[string][]netip.Addr{"a.test": {{}}}, "invalid"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := newZone(Config{Records: tt.records}); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("newZone: %v, want an error saying %q", err, tt.want)
			}
		})
	}
	for _, p := range []struct {
		addr netip.Addr
		name string
		want string
	}{
		{netip.MustParseAddr("fe80::1%eth0"), "a.test", "without a zone"},
		{bootV4, "a.test", "not an IPv6 address"},
		{netip.MustParseAddr("::ffff:192.0.2.1"), "a.test", "not an IPv6 address"},
		{bootAddr, "a b.test", "not allowed"},
	} {
		if _, err := newZone(Config{Pointers: map[netip.Addr]string{p.addr: p.name}}); err == nil || !strings.Contains(err.Error(), p.want) {
			t.Errorf("newZone(pointer %v to %q): %v, want an error saying %q", p.addr, p.name, err, p.want)
		}
	}
	z, err := newZone(Config{Records: map[string][]netip.Addr{"Boot.Test": {
		netip.MustParseAddr("fe80::1%eth0"), netip.MustParseAddr("fe80::1"), netip.MustParseAddr("::ffff:192.0.2.1"),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := z.names["boot.test."]; len(got) != 2 || got[0] != netip.MustParseAddr("fe80::1") || got[1] != bootV4 {
		t.Errorf("boot.test. = %v", got)
	}
}

// FuzzAnswer: no query makes answer panic, and every reply is a DNS
// response to that query's ID that fits its transport.
func FuzzAnswer(f *testing.F) {
	for _, q := range []query{
		{name: "boot.netboot.test.", qtype: dnsmessage.TypeAAAA},
		{name: "many.netboot.test.", qtype: dnsmessage.TypeAAAA, edns: true, ednsSize: 600},
		{name: "dual.netboot.test.", qtype: dnsmessage.TypeALL, twoOPT: true},
		{name: "other.", qtype: dnsmessage.TypeA, edns: true, ednsVer: 3},
		{name: reservedPTR, qtype: dnsmessage.TypePTR},
		{name: leasedPTR[4:], qtype: dnsmessage.TypePTR},
	} {
		f.Add(q.pack(f), false)
	}
	f.Add([]byte{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 28, 0, 1}, true) // a pointer loop
	z := testZone(f)
	f.Fuzz(func(t *testing.T, msg []byte, overTCP bool) {
		reply, _ := answer(msg, z, overTCP)
		if reply == nil {
			return
		}
		var p dnsmessage.Parser
		h, err := p.Start(reply)
		if err != nil {
			t.Fatalf("reply does not parse: %v", err)
		}
		if !h.Response || h.ID != uint16(msg[0])<<8|uint16(msg[1]) {
			t.Fatalf("reply header %+v to query %x", h, msg[:2])
		}
		if !overTCP && len(reply) > maxUDPPayload {
			t.Fatalf("UDP reply of %d bytes", len(reply))
		}
	})
}

// reverseName is the ip6.arpa name of a (RFC 3596 section 2.5).
func reverseName(a netip.Addr) string {
	const hex = "0123456789abcdef"
	b := a.As16()
	var s strings.Builder
	for i := 15; i >= 0; i-- {
		s.WriteByte(hex[b[i]&0xf])
		s.WriteByte('.')
		s.WriteByte(hex[b[i]>>4])
		s.WriteByte('.')
	}
	return s.String() + reverseSuffix
}

func TestReverseAddr(t *testing.T) {
	for _, tt := range []struct {
		name string
		want string // "" for no address
	}{
		{reservedPTR, "2001:db8:1::10"},
		{leasedPTR, "2001:db8:1::8a2e:370:7334"},
		{strings.Repeat("0.", 32) + "ip6.arpa.", "::"},
		{strings.Repeat("f.", 32) + "ip6.arpa.", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
		{reservedPTR[2:], ""},                             // 31 nibbles
		{"0." + reservedPTR, ""},                          // 33
		{strings.Repeat("0.", 32) + "ip6.arpb.", ""},      // another zone
		{strings.Repeat("0.", 31) + "00ip6.arpa.", ""},    // a missing dot
		{strings.Repeat("0.", 31) + "A.ip6.arpa.", ""},    // not folded
		{strings.Repeat("0.", 30) + "00.0.ip6.arpa.", ""}, // a two-digit label
		{strings.Repeat("0.", 16) + "ip6.arpa.", ""},      // a /64
		{"ip6.arpa.", ""},
		{"", ""},
	} {
		a, ok := reverseAddr(tt.name)
		if got := map[bool]string{true: a.String(), false: ""}[ok]; got != tt.want {
			t.Errorf("reverseAddr(%q) = %q, want %q", tt.name, got, tt.want)
		}
		if ok && reverseName(a) != tt.name {
			t.Errorf("reverseName(%s) = %q, want %q", a, reverseName(a), tt.name)
		}
	}
}

// FuzzReverseAddr: no name makes reverseAddr panic, and what it reads as
// an address is exactly that address's reverse name.
func FuzzReverseAddr(f *testing.F) {
	f.Add(reservedPTR)
	f.Add(leasedPTR[2:])
	f.Add("ip6.arpa.")
	f.Fuzz(func(t *testing.T, name string) {
		a, ok := reverseAddr(name)
		if ok && reverseName(a) != name {
			t.Fatalf("reverseAddr(%q) = %s, whose name is %q", name, a, reverseName(a))
		}
	})
}
