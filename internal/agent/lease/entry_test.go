package lease

import (
	"bytes"
	"strings"
	"testing"
	"time"

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
	if len(p.byAddr)+len(p.byClient)+len(p.long)+len(p.extras)+len(p.stored)+len(p.offerAt) != 0 {
		t.Errorf("released pool still holds %d, %d, %d, %d, %d, %d", len(p.byAddr), len(p.byClient), len(p.long), len(p.extras), len(p.stored), len(p.offerAt))
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
