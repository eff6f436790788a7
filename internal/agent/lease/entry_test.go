package lease

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
)

// TestEntriesKeepEveryField: whatever an entry holds inline or out of
// line, the pool gives back the lease it was given, field for field, and
// finds the client by its whole DUID.
func TestEntriesKeepEveryField(t *testing.T) {
	arch := uint16(16)
	long := bytes.Repeat([]byte{0xab}, 40)
	cases := []struct {
		name string
		l    Lease
	}{
		{"plain", Lease{DUID: duid(1), IAID: 1}},
		{"every field inline", Lease{DUID: []byte{0, 1, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, IAID: 2, ClientArch: &arch,
			UserClass: "iPXE", HardwareAddr: "52:54:00:12:34:56", HardwareAddrSource: "duid", LastTransaction: t0.Add(-time.Second)}},
		{"DUID too long to be inline", Lease{DUID: long, IAID: 3}},
		{"long user class", Lease{DUID: duid(4), IAID: 4, UserClass: "a user class of many bytes"}},
		{"hardware address not a MAC string", Lease{DUID: duid(5), IAID: 5, HardwareAddr: "00:00:5E:00:53:01", HardwareAddrSource: "relay"}},
		{"long hardware address", Lease{DUID: duid(6), IAID: 6, HardwareAddr: strings.Repeat("01:", 19) + "01", HardwareAddrSource: "link-local"}},
		{"unknown source", Lease{DUID: duid(7), IAID: 7, HardwareAddr: "02:00:00:00:00:01", HardwareAddrSource: "elsewhere"}},
	}
	p := NewPool(Spaces{Addresses: []config.AddressRange{rng("2001:db8::100", "2001:db8::1ff")}})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := c.l
			r.Kind, r.PreferredUntil, r.ValidUntil = NA, t0.Add(30*time.Minute), t0.Add(time.Hour)
			got := mustBind(t, p, r, t0)
			want := r
			want.Address = got.Address
			check := func(what string, l Lease, ok bool) {
				t.Helper()
				if !ok || !sameLease(l, want) {
					t.Errorf("%s = %+v (%t), want %+v", what, l, ok, want)
				}
			}
			check("Bind", got, true)
			l, ok := p.Lookup(NA, r.DUID, r.IAID, t0)
			check("Lookup", l, ok)
			l, ok = p.LookupAddress(got.Address, t0)
			check("LookupAddress", l, ok)
			ls := p.LookupClient(r.DUID, t0)
			check("LookupClient", first(ls), len(ls) == 1)
			ls = p.ListAfter(got.Address.Prev(), 1, t0)
			check("ListAfter", first(ls), len(ls) == 1)
			if c.l.DUID[0] == 0xab {
				if _, ok := p.Lookup(NA, long[:39], r.IAID, t0); ok {
					t.Error("a DUID's first bytes find the lease of the whole DUID")
				}
			}
		})
	}
	if n := p.Count(t0); n != len(cases) {
		t.Errorf("Count = %d, want %d", n, len(cases))
	}
	for _, l := range p.List(t0) {
		if _, ok := p.Release(NA, l.DUID, l.IAID, l.Address); !ok {
			t.Errorf("Release of %s failed", l.Address)
		}
	}
	if len(p.byAddr)+len(p.byDUID)+len(p.longDUID)+len(p.extras)+len(p.stored)+len(p.offerAt) != 0 {
		t.Errorf("released pool still holds %d, %d, %d, %d, %d, %d", len(p.byAddr), len(p.byDUID), len(p.longDUID), len(p.extras), len(p.stored), len(p.offerAt))
	}
}

func first(ls []Lease) Lease {
	if len(ls) == 0 {
		return Lease{}
	}
	return ls[0]
}

func sameLease(a, b Lease) bool {
	arch := func(p *uint16) int {
		if p == nil {
			return -1
		}
		return int(*p)
	}
	return a.Kind == b.Kind && a.Address == b.Address && a.PrefixLength == b.PrefixLength && bytes.Equal(a.DUID, b.DUID) && a.IAID == b.IAID &&
		a.PreferredUntil.Equal(b.PreferredUntil) && a.ValidUntil.Equal(b.ValidUntil) && a.LastTransaction.Equal(b.LastTransaction) &&
		a.LastTransaction.IsZero() == b.LastTransaction.IsZero() && arch(a.ClientArch) == arch(b.ClientArch) &&
		a.UserClass == b.UserClass && a.HardwareAddr == b.HardwareAddr && a.HardwareAddrSource == b.HardwareAddrSource
}

// TestIndexesStayConsistent drives a pool with random operations from
// clients holding several IAs of several kinds and checks its indexes
// after each: every entry is on its own address once, every offer and
// binding in its client's chain once, and a chain names each IA once.
func TestIndexesStayConsistent(t *testing.T) {
	p := NewPool(Spaces{
		Addresses:       []config.AddressRange{rng("2001:db8::100", "2001:db8::11f")},
		Temporary:       []config.AddressRange{rng("2001:db8::200", "2001:db8::20f")},
		Prefixes:        &config.PrefixDelegation{Start: netip.MustParseAddr("2001:db8:100::"), End: netip.MustParseAddr("2001:db8:1ff::"), Length: 56},
		LeasesPerClient: 3,
	})
	r := rand.New(rand.NewPCG(1, 2))
	kinds := []Kind{NA, TA, PD}
	long := bytes.Repeat([]byte{7}, 30)
	now := t0
	for i := range 20000 {
		c := r.IntN(12)
		d := duid(c)
		if c == 11 {
			d = long
		}
		k, iaid := kinds[r.IntN(3)], uint32(r.IntN(3))
		req := Lease{Kind: k, DUID: d, IAID: iaid, PreferredUntil: now.Add(time.Minute), ValidUntil: now.Add(time.Duration(1+r.IntN(120)) * time.Second),
			HardwareAddr: fmt.Sprintf("02:00:00:00:00:%02x", c%5)}
		switch r.IntN(7) {
		case 0:
			_, _ = p.Offer(k, d, iaid, netip.Addr{}, now)
		case 1:
			if l, _, err := p.Bind(req, now); err == nil && r.IntN(4) > 0 {
				p.Stored([]Lease{l})
			} else if err == nil {
				p.Revert([]Lease{l})
			}
		case 2:
			if l, err := p.Renew(req, now); err == nil {
				p.Stored([]Lease{l})
			}
		case 3:
			if l, ok := p.Lookup(k, d, iaid, now); ok {
				p.Release(k, d, iaid, l.Address)
			}
		case 4:
			if l, ok := p.Lookup(k, d, iaid, now); ok {
				p.Decline(k, d, iaid, l.Address, now.Add(30*time.Second))
			}
		case 5:
			p.Expire(now)
			for e := range p.entries() {
				if e.ended(now) {
					t.Fatalf("step %d: Expire left %+v, ended", i, e)
				}
			}
		case 6:
			now = now.Add(time.Duration(r.IntN(20)) * time.Second)
		}
		checkIndexes(t, p, i)
	}
}

func checkIndexes(t *testing.T, p *Pool, step int) {
	t.Helper()
	inChains := 0
	for _, heads := range []func(yield func(clientID) bool){
		func(yield func(clientID) bool) {
			for d := range p.byDUID {
				if !yield(clientID{key: clientKey{duid: d}}) {
					return
				}
			}
		},
		func(yield func(clientID) bool) {
			for d := range p.longDUID {
				if !yield(clientID{key: clientKey{duid: duidKey{n: outOfLine}}, long: d}) {
					return
				}
			}
		},
	} {
		for id := range heads {
			seen := map[[2]uint32]bool{}
			for e := range p.chain(id) {
				inChains++
				ia := [2]uint32{uint32(e.key.kind), e.key.iaid}
				if seen[ia] || e.state == declined || p.at(e.addr) != e || p.duid(e) != id.duid() {
					t.Fatalf("step %d: chain of %x holds %+v twice, declined or off its address", step, id.duid(), e)
				}
				seen[ia] = true
			}
		}
	}
	onAddrs := 0
	for a, i := range p.byAddr {
		e := p.tab.at(i)
		if e.addr != a || e.idx != i {
			t.Fatalf("step %d: %x indexes entry %+v", step, a, e)
		}
		if !slices.Contains(p.due[e.until/dueStep], i) {
			t.Fatalf("step %d: %+v is not listed for when it ends", step, e)
		}
		if e.state != declined {
			onAddrs++
		}
	}
	if onAddrs != inChains {
		t.Fatalf("step %d: %d offers and bindings by address, %d in chains", step, onAddrs, inChains)
	}
	inTable := 0
	for e := range p.entries() {
		if inTable++; p.at(e.addr) != e {
			t.Fatalf("step %d: place %d in use by %+v, not on its address", step, e.idx, e)
		}
	}
	if inTable != len(p.byAddr) {
		t.Fatalf("step %d: %d places in use, %d addresses indexed", step, inTable, len(p.byAddr))
	}
	checkMACIndex(t, p, step)
}

// checkMACIndex checks that byMAC chains, both ways, exactly the entries
// with a 6-byte hardware address at places it covers (below macUpTo).
func checkMACIndex(t *testing.T, p *Pool, step int) {
	t.Helper()
	want := 0
	for e := range p.entries() {
		if _, ok := e.mac(); ok && e.idx < p.macUpTo {
			want++
		}
	}
	got := 0
	for m, head := range p.byMAC {
		var prev uint32
		for i := head; i != 0; {
			e := p.tab.at(i - 1)
			if mac, ok := e.mac(); !ok || mac != m || e.state == 0 || e.idx >= p.macUpTo || e.macPrev != prev {
				t.Fatalf("step %d: chain of %x holds %+v (up to %d)", step, m, e, p.macUpTo)
			}
			got++
			prev, i = i, e.macNext
		}
	}
	if got != want {
		t.Fatalf("step %d: MAC index holds %d entries, want %d", step, got, want)
	}
}

// TestLoadKeepsNoMemoryOfItsInput: leases loaded as views of storage's
// memory (DecodeView) stay whole once that memory changes, whatever the
// pool holds inline or out of line.
func TestLoadKeepsNoMemoryOfItsInput(t *testing.T) {
	buf := []byte("a user class of many bytes|00:00:5E:00:53:01|somewhere|" + string(bytes.Repeat([]byte{0xab}, 30)))
	view := func(from, to int) string { return unsafe.String(&buf[from], to-from) }
	l := Lease{Kind: NA, Address: netip.MustParseAddr("2001:db8::100"), DUID: buf[55:85], IAID: 1,
		ValidUntil: t0.Add(time.Hour), UserClass: view(0, 26), HardwareAddr: view(27, 44), HardwareAddrSource: view(45, 54)}
	want := own(l)
	p := NewPool(Spaces{Addresses: []config.AddressRange{rng("2001:db8::100", "2001:db8::1ff")}})
	if dropped := p.Load([]Lease{l}, t0); len(dropped) != 0 {
		t.Fatalf("Load dropped %v", dropped)
	}
	for i := range buf {
		buf[i] = 'X'
	}
	if got, ok := p.Lookup(NA, want.DUID, 1, t0); !ok || !sameLease(got, want) {
		t.Errorf("after the loaded memory changed: %+v (%t), want %+v", got, ok, want)
	}
}

// TestParseMAC: what parseMAC takes, net.HardwareAddr writes back the
// same, and it takes every MAC as net.HardwareAddr writes one.
func TestParseMAC(t *testing.T) {
	for _, s := range []string{"52:54:00:12:34:56", "02:00:5e:10:00:00:00:01", "ab", "", "52:54:00:12:34:5", "52-54-00-12-34-56",
		"52:54:00:12:34:5G", "52:54:00:12:34:56:", "00:00:5E:00:53:01", "01:02:03:04:05:06:07:08:09", "5254.0012.3456"} {
		var b [8]byte
		n, ok := parseMAC(s, &b)
		mac, err := net.ParseMAC(s)
		canonical := err == nil && len(mac) <= 8 && mac.String() == s
		if ok && net.HardwareAddr(b[:n]).String() != s || canonical && !ok {
			t.Errorf("parseMAC(%q) = %x, %t; want what writes back as %q", s, b[:n], ok, s)
		}
	}
}
