package lease

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func rng(start, end string) config.AddressRange {
	return config.AddressRange{Start: netip.MustParseAddr(start), End: netip.MustParseAddr(end)}
}

func duid(i int) []byte { return []byte{0, 3, 0, 1, 0x02, 0, 0, 0, byte(i >> 8), byte(i)} }

func req(i int, hint string, now time.Time) Lease {
	l := Lease{DUID: duid(i), IAID: uint32(i), PreferredUntil: now.Add(30 * time.Minute), ValidUntil: now.Add(time.Hour)}
	if hint != "" {
		l.Address = netip.MustParseAddr(hint)
	}
	return l
}

// mustBind binds r and confirms it stored, as the DHCPv6 server does once
// its batch is on disk.
func mustBind(t *testing.T, p *Pool, r Lease, now time.Time) Lease {
	t.Helper()
	l, _, err := p.Bind(r, now)
	if err != nil {
		t.Fatalf("Bind(client %x/%d): %v", r.DUID, r.IAID, err)
	}
	p.Stored([]Lease{l})
	return l
}

func inRanges(a netip.Addr, ranges []config.AddressRange) bool {
	for _, r := range ranges {
		if r.Contains(a) {
			return true
		}
	}
	return false
}

func TestOfferStaysInRangesAndIsStable(t *testing.T) {
	tests := []struct {
		name   string
		ranges []config.AddressRange
	}{
		{"small", []config.AddressRange{rng("2001:db8::10", "2001:db8::1f")}},
		{"single address", []config.AddressRange{rng("2001:db8::10", "2001:db8::10")}},
		{"several ranges", []config.AddressRange{rng("2001:db8::100", "2001:db8::101"), rng("2001:db8::10", "2001:db8::11"), rng("2001:db8::ffff", "2001:db8::1:0")}},
		{"/96", []config.AddressRange{rng("2001:db8::1:0:0", "2001:db8::1:ffff:ffff")}},
		{"whole /64", []config.AddressRange{rng("2001:db8::", "2001:db8::ffff:ffff:ffff:ffff")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPool(Spaces{Addresses: tt.ranges})
			a, err := p.Offer(NA, duid(1), 1, netip.Addr{}, t0)
			if err != nil {
				t.Fatal(err)
			}
			if !inRanges(a, tt.ranges) || reserved(a) {
				t.Fatalf("offered %s, outside %v or reserved", a, tt.ranges)
			}
			if again, _ := p.Offer(NA, duid(1), 1, netip.Addr{}, t0.Add(time.Second)); again != a {
				t.Errorf("second Offer = %s, want the pending offer %s", again, a)
			}
			// After the offer lapses, and in a fresh pool (a restart), the
			// hash-derived first candidate brings the same address back.
			if later, _ := p.Offer(NA, duid(1), 1, netip.Addr{}, t0.Add(2*OfferTTL)); later != a {
				t.Errorf("Offer after the offer expired = %s, want %s", later, a)
			}
			if fresh, _ := NewPool(Spaces{Addresses: tt.ranges}).Offer(NA, duid(1), 1, netip.Addr{}, t0); fresh != a {
				t.Errorf("Offer from a new pool = %s, want %s", fresh, a)
			}
		})
	}
}

func TestOfferHint(t *testing.T) {
	ranges := []config.AddressRange{rng("2001:db8::10", "2001:db8::1f")}
	tests := []struct {
		name      string
		hint      string
		takenBy2  bool
		wantHint  bool
		wantError error
	}{
		{name: "free hint in range", hint: "2001:db8::15", wantHint: true},
		{name: "hint outside ranges", hint: "2001:db8::99"},
		{name: "hint leased to another client", hint: "2001:db8::15", takenBy2: true},
		{name: "reserved anycast hint", hint: "2001:db8::"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPool(Spaces{Addresses: ranges})
			hint := netip.MustParseAddr(tt.hint)
			if tt.takenBy2 {
				mustBind(t, p, req(2, tt.hint, t0), t0)
			}
			a, err := p.Offer(NA, duid(1), 1, hint, t0)
			if err != nil {
				t.Fatal(err)
			}
			if (a == hint) != tt.wantHint {
				t.Errorf("Offer with hint %s = %s, want hint used: %v", hint, a, tt.wantHint)
			}
			if !inRanges(a, ranges) {
				t.Errorf("Offer = %s, outside ranges", a)
			}
		})
	}
}

func TestBindKeepsOfferedAddress(t *testing.T) {
	p := NewPool(Spaces{Addresses: []config.AddressRange{rng("2001:db8::10", "2001:db8::ff")}})
	a, err := p.Offer(NA, duid(1), 7, netip.Addr{}, t0)
	if err != nil {
		t.Fatal(err)
	}
	arch := uint16(7)
	r := req(1, "", t0)
	r.IAID, r.ClientArch, r.UserClass = 7, &arch, "iPXE"
	l, replaced, err := p.Bind(r, t0)
	if err != nil || replaced != nil {
		t.Fatalf("Bind = %v, replaced %v", err, replaced)
	}
	if l.Address != a || l.UserClass != "iPXE" || *l.ClientArch != 7 {
		t.Errorf("Bind = %+v, want address %s with client details", l, a)
	}
	got, ok := p.Lookup(NA, duid(1), 7, t0)
	if !ok || got.Address != a {
		t.Errorf("Lookup = %+v %v, want %s", got, ok, a)
	}
	// A repeated Request keeps the lease.
	r.Address = netip.MustParseAddr("2001:db8::99")
	if again := mustBind(t, p, r, t0); again.Address != a {
		t.Errorf("second Bind = %s, want %s", again.Address, a)
	}
}

func TestExhaustion(t *testing.T) {
	tests := []struct {
		name   string
		ranges []config.AddressRange
		size   int
	}{
		{"one address", []config.AddressRange{rng("2001:db8::5", "2001:db8::5")}, 1},
		{"ten addresses", []config.AddressRange{rng("2001:db8::10", "2001:db8::19")}, 10},
		{"two ranges", []config.AddressRange{rng("2001:db8::10", "2001:db8::12"), rng("2001:db8::20", "2001:db8::21")}, 5},
		{"subnet-router anycast skipped", []config.AddressRange{rng("2001:db8::", "2001:db8::2")}, 2},
		{"RFC 2526 anycast skipped", []config.AddressRange{rng("2001:db8::fdff:ffff:ffff:ff7e", "2001:db8::fdff:ffff:ffff:ffff")}, 2},
		{"no ranges (stateless)", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPool(Spaces{Addresses: tt.ranges})
			seen := map[netip.Addr]bool{}
			for i := range tt.size {
				l := mustBind(t, p, req(i, "", t0), t0)
				if seen[l.Address] || !inRanges(l.Address, tt.ranges) || reserved(l.Address) {
					t.Fatalf("client %d got %s: duplicate, reserved or outside ranges", i, l.Address)
				}
				seen[l.Address] = true
			}
			if _, err := p.Offer(NA, duid(999), 1, netip.Addr{}, t0); !errors.Is(err, ErrPoolExhausted) {
				t.Fatalf("Offer to a full pool = %v, want ErrPoolExhausted", err)
			}
			if _, _, err := p.Bind(req(999, "", t0), t0); !errors.Is(err, ErrPoolExhausted) {
				t.Fatalf("Bind in a full pool = %v, want ErrPoolExhausted", err)
			}
			if tt.size == 0 {
				return
			}
			// Releasing one lease frees exactly that address.
			l, _ := p.Lookup(NA, duid(0), 0, t0)
			if _, ok := p.Release(NA, duid(0), 0, l.Address); !ok {
				t.Fatal("Release reported no lease")
			}
			if got := mustBind(t, p, req(999, "", t0), t0); got.Address != l.Address {
				t.Errorf("after Release got %s, want the released %s", got.Address, l.Address)
			}
			// Leases that expired are reused.
			later := t0.Add(2 * time.Hour)
			if _, err := p.Offer(NA, duid(1000), 1, netip.Addr{}, later); err != nil {
				t.Errorf("Offer after every lease expired: %v", err)
			}
		})
	}
}

func TestExclude(t *testing.T) {
	p := NewPool(Spaces{Addresses: []config.AddressRange{rng("2001:db8::1", "2001:db8::3")}})
	l := mustBind(t, p, req(1, "2001:db8::1", t0), t0)
	p.Exclude(netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2"))
	// The lease on a now-excluded address ends at the next renewal.
	if _, err := p.Renew(req(1, "", t0), t0); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("Renew of %s after excluding it = %v, want ErrOutOfRange", l.Address, err)
	}
	for i := 2; i < 4; i++ {
		a, err := p.Offer(NA, duid(i), 1, netip.MustParseAddr("2001:db8::2"), t0)
		if i == 2 && (err != nil || a != netip.MustParseAddr("2001:db8::3")) {
			t.Fatalf("Offer = %s %v, want the only non-excluded address", a, err)
		}
		// The second takes over the first one's offer.
		if i == 3 && (err != nil || a != netip.MustParseAddr("2001:db8::3")) {
			t.Fatalf("second Offer = %s %v, want the offered 2001:db8::3", a, err)
		}
	}
}

func TestDeclineQuarantines(t *testing.T) {
	p := NewPool(Spaces{Addresses: []config.AddressRange{rng("2001:db8::10", "2001:db8::11")}})
	l := mustBind(t, p, req(1, "2001:db8::10", t0), t0)
	if _, ok := p.Decline(NA, duid(2), 2, l.Address, t0.Add(time.Hour)); ok {
		t.Fatal("Decline by a client not holding the address succeeded")
	}
	if _, ok := p.Decline(NA, duid(1), 1, l.Address, t0.Add(time.Hour)); !ok {
		t.Fatal("Decline by the lease holder failed")
	}
	if _, ok := p.Lookup(NA, duid(1), 1, t0); ok {
		t.Error("lease still there after Decline")
	}
	if a, err := p.Offer(NA, duid(1), 1, l.Address, t0.Add(time.Minute)); err != nil || a == l.Address {
		t.Fatalf("Offer during quarantine = %s %v, want the other address", a, err)
	}
	// Another client takes over that offer, but not the quarantined address.
	if a, err := p.Offer(NA, duid(3), 1, netip.Addr{}, t0.Add(time.Minute)); err != nil || a == l.Address {
		t.Fatalf("Offer = %s %v, want the offered address while the declined one is quarantined", a, err)
	}
	if _, _, err := p.Bind(req(4, "", t0.Add(time.Minute)), t0.Add(time.Minute)); err != nil {
		t.Fatalf("Bind over an offer: %v", err)
	}
	if _, err := p.Offer(NA, duid(5), 1, netip.Addr{}, t0.Add(time.Minute)); !errors.Is(err, ErrPoolExhausted) {
		t.Fatalf("Offer = %v, want ErrPoolExhausted: one address bound, the other quarantined", err)
	}
	if a, err := p.Offer(NA, duid(3), 1, l.Address, t0.Add(2*time.Hour)); err != nil || a != l.Address {
		t.Fatalf("Offer after quarantine = %s %v, want %s", a, err, l.Address)
	}
}

func TestRenew(t *testing.T) {
	ranges := []config.AddressRange{rng("2001:db8::10", "2001:db8::1f")}
	tests := []struct {
		name    string
		setup   func(t *testing.T, p *Pool)
		at      time.Duration
		wantErr error
	}{
		{name: "extends a live lease", setup: func(t *testing.T, p *Pool) { mustBind(t, p, req(1, "2001:db8::12", t0), t0) }, at: 50 * time.Minute},
		{name: "unknown client", setup: func(t *testing.T, p *Pool) {}, wantErr: ErrNoBinding},
		{name: "only an offer", setup: func(t *testing.T, p *Pool) { _, _ = p.Offer(NA, duid(1), 1, netip.Addr{}, t0) }, wantErr: ErrNoBinding},
		{name: "expired lease", setup: func(t *testing.T, p *Pool) { mustBind(t, p, req(1, "", t0), t0) }, at: 2 * time.Hour, wantErr: ErrNoBinding},
		{name: "lease outside new ranges", setup: func(t *testing.T, p *Pool) {
			mustBind(t, p, req(1, "2001:db8::12", t0), t0)
			p.Update(Spaces{Addresses: []config.AddressRange{rng("2001:db8::20", "2001:db8::2f")}})
		}, wantErr: ErrOutOfRange},
		{name: "stateless: no ranges left", setup: func(t *testing.T, p *Pool) {
			mustBind(t, p, req(1, "", t0), t0)
			p.Update(Spaces{})
		}, wantErr: ErrOutOfRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPool(Spaces{Addresses: ranges})
			tt.setup(t, p)
			now := t0.Add(tt.at)
			l, err := p.Renew(req(1, "", now), now)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Renew = %v, want %v", err, tt.wantErr)
			}
			switch {
			case err == nil:
				if l.Address != netip.MustParseAddr("2001:db8::12") || !l.ValidUntil.Equal(now.Add(time.Hour)) {
					t.Errorf("Renew = %+v, want 2001:db8::12 valid until %s", l, now.Add(time.Hour))
				}
			case errors.Is(err, ErrOutOfRange):
				if !l.Address.IsValid() {
					t.Error("ErrOutOfRange without the dropped lease")
				}
				if got := p.List(now); len(got) != 0 {
					t.Errorf("List after drop = %v, want none", got)
				}
			}
		})
	}
}

func TestBindReplacesLeaseOutsideRanges(t *testing.T) {
	p := NewPool(Spaces{Addresses: []config.AddressRange{rng("2001:db8::10", "2001:db8::1f")}})
	old := mustBind(t, p, req(1, "", t0), t0)
	p.Update(Spaces{Addresses: []config.AddressRange{rng("2001:db8::20", "2001:db8::2f")}})
	if got := p.List(t0); len(got) != 1 {
		t.Fatalf("UpdateRanges dropped a lease before its renewal: %v", got)
	}
	l, replaced, err := p.Bind(req(1, "", t0), t0)
	if err != nil {
		t.Fatal(err)
	}
	if replaced == nil || replaced.Address != old.Address {
		t.Errorf("replaced = %v, want the old lease %s", replaced, old.Address)
	}
	if !inRanges(l.Address, []config.AddressRange{rng("2001:db8::20", "2001:db8::2f")}) {
		t.Errorf("new lease %s outside the new range", l.Address)
	}
}

func TestUpdateRangesWithdrawsOffers(t *testing.T) {
	p := NewPool(Spaces{Addresses: []config.AddressRange{rng("2001:db8::10", "2001:db8::10")}})
	a, _ := p.Offer(NA, duid(1), 1, netip.Addr{}, t0)
	p.Update(Spaces{Addresses: []config.AddressRange{rng("2001:db8::20", "2001:db8::20")}})
	b, err := p.Offer(NA, duid(1), 1, netip.Addr{}, t0)
	if err != nil || b == a || b != netip.MustParseAddr("2001:db8::20") {
		t.Fatalf("Offer after UpdateRanges = %s %v, want 2001:db8::20", b, err)
	}
}

func TestLoad(t *testing.T) {
	ranges := []config.AddressRange{rng("2001:db8::10", "2001:db8::1f")}
	lease := func(i int, addr string, valid time.Duration) Lease {
		return Lease{Address: netip.MustParseAddr(addr), DUID: duid(i), IAID: 1, ValidUntil: t0.Add(valid)}
	}
	tests := []struct {
		name        string
		in          []Lease
		wantKept    []string
		wantDropped []string
	}{
		{"live leases", []Lease{lease(1, "2001:db8::11", time.Hour), lease(2, "2001:db8::10", time.Hour)}, []string{"2001:db8::10", "2001:db8::11"}, nil},
		{"expired", []Lease{lease(1, "2001:db8::11", -time.Second)}, nil, []string{"2001:db8::11"}},
		{"outside ranges", []Lease{lease(1, "2001:db8::99", time.Hour)}, nil, []string{"2001:db8::99"}},
		{"same address twice keeps the newer", []Lease{lease(1, "2001:db8::11", time.Hour), lease(2, "2001:db8::11", 2*time.Hour)}, []string{"2001:db8::11"}, []string{"2001:db8::11"}},
		{"same client twice keeps the newer", []Lease{lease(1, "2001:db8::11", 2*time.Hour), lease(1, "2001:db8::12", time.Hour)}, []string{"2001:db8::11"}, []string{"2001:db8::12"}},
		{"same lease twice", []Lease{lease(1, "2001:db8::11", time.Hour), lease(1, "2001:db8::11", time.Hour)}, []string{"2001:db8::11"}, []string{"2001:db8::11"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPool(Spaces{Addresses: ranges})
			dropped := p.Load(tt.in, t0)
			if got := addrs(p.List(t0)); fmt.Sprint(got) != fmt.Sprint(tt.wantKept) {
				t.Errorf("kept %v, want %v", got, tt.wantKept)
			}
			if got := addrs(dropped); fmt.Sprint(got) != fmt.Sprint(tt.wantDropped) {
				t.Errorf("dropped %v, want %v", got, tt.wantDropped)
			}
		})
	}
}

func addrs(ls []Lease) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Address.String())
	}
	return out
}

func TestLoadedLeaseIsNotOfferedToOthers(t *testing.T) {
	p := NewPool(Spaces{Addresses: []config.AddressRange{rng("2001:db8::10", "2001:db8::11")}})
	p.Load([]Lease{{Address: netip.MustParseAddr("2001:db8::10"), DUID: duid(1), IAID: 1, ValidUntil: t0.Add(time.Hour)}}, t0)
	if a, _ := p.Offer(NA, duid(2), 1, netip.MustParseAddr("2001:db8::10"), t0); a != netip.MustParseAddr("2001:db8::11") {
		t.Errorf("Offer to another client = %s, want 2001:db8::11", a)
	}
	if a, _ := p.Offer(NA, duid(1), 1, netip.Addr{}, t0); a != netip.MustParseAddr("2001:db8::10") {
		t.Errorf("Offer to the lease holder = %s, want its lease 2001:db8::10", a)
	}
}

func TestListAndExpire(t *testing.T) {
	p := NewPool(Spaces{Addresses: []config.AddressRange{rng("2001:db8::10", "2001:db8::1f")}})
	short := req(1, "2001:db8::1f", t0)
	short.ValidUntil = t0.Add(time.Minute)
	mustBind(t, p, short, t0)
	mustBind(t, p, req(2, "2001:db8::10", t0), t0)
	mustBind(t, p, req(3, "2001:db8::15", t0), t0)
	_, _ = p.Offer(NA, duid(4), 1, netip.Addr{}, t0)
	if got := fmt.Sprint(addrs(p.List(t0))); got != "[2001:db8::10 2001:db8::15 2001:db8::1f]" {
		t.Errorf("List = %s, want the three leases sorted by address", got)
	}
	later := t0.Add(2 * time.Minute)
	if got := fmt.Sprint(addrs(p.Expire(later))); got != "[2001:db8::1f]" {
		t.Errorf("Expire = %s, want the one lease that ended", got)
	}
	if got := len(p.List(later)); got != 2 {
		t.Errorf("List after Expire has %d leases, want 2", got)
	}
	// An address reused lazily after expiry is not reported: the store
	// deletes by address, and the new client's record replaced the old one.
	p2 := NewPool(Spaces{Addresses: []config.AddressRange{rng("2001:db8::10", "2001:db8::10")}})
	mustBind(t, p2, short, t0)
	mustBind(t, p2, req(5, "", later), later)
	if got := fmt.Sprint(addrs(p2.Expire(later))); got != "[]" {
		t.Errorf("Expire after lazy reuse = %s, want nothing: deleting 2001:db8::10 would lose client 5's lease", got)
	}
}

func TestReturnedLeasesAreCopies(t *testing.T) {
	p := NewPool(Spaces{Addresses: []config.AddressRange{rng("2001:db8::10", "2001:db8::1f")}})
	l := mustBind(t, p, req(1, "", t0), t0)
	l.DUID[0] = 0xff
	if _, ok := p.Lookup(NA, duid(1), 1, t0); !ok {
		t.Fatal("changing a returned lease changed the pool")
	}
}

// TestConcurrentClientsNeverShareAnAddress is meant for -race.
func TestConcurrentClientsNeverShareAnAddress(t *testing.T) {
	tests := []struct {
		name    string
		size    int
		clients int
	}{
		{"room for all", 512, 256},
		{"more clients than addresses", 100, 300},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rng("2001:db8::1:0", "2001:db8::1:0")
			r.End = netip.MustParseAddr(fmt.Sprintf("2001:db8::1:%x", tt.size-1))
			p := NewPool(Spaces{Addresses: []config.AddressRange{r}})
			var (
				mu     sync.Mutex
				owner  = map[netip.Addr]int{}
				failed int
				wg     sync.WaitGroup
			)
			for i := range tt.clients {
				wg.Go(func() {
					if _, err := p.Offer(NA, duid(i), uint32(i), netip.Addr{}, t0); err != nil && !errors.Is(err, ErrPoolExhausted) {
						t.Error(err)
					}
					l, _, err := p.Bind(req(i, "", t0), t0)
					if err == nil {
						l, err = p.Renew(req(i, "", t0), t0)
					}
					if err == nil {
						p.Stored([]Lease{l})
					}
					mu.Lock()
					defer mu.Unlock()
					if errors.Is(err, ErrPoolExhausted) {
						failed++
						return
					}
					if err != nil {
						t.Errorf("client %d: %v", i, err)
						return
					}
					if o, dup := owner[l.Address]; dup {
						t.Errorf("clients %d and %d both got %s", o, i, l.Address)
					}
					owner[l.Address] = i
				})
			}
			wg.Wait()
			want := min(tt.size, tt.clients)
			if len(owner) != want || len(owner)+failed != tt.clients {
				t.Errorf("%d clients got addresses and %d were refused, want %d and %d", len(owner), failed, want, tt.clients-want)
			}
			if got := len(p.List(t0)); got != want {
				t.Errorf("List has %d leases, want %d", got, want)
			}
		})
	}
}

// BenchmarkAllocate measures Offer+Bind for new clients in a sparse /64 (the
// hash probe path) and in a small pool that is nearly full (the bounded
// sequential scan).
func BenchmarkAllocate(b *testing.B) {
	b.Run("sparse /64", func(b *testing.B) {
		p := NewPool(Spaces{Addresses: []config.AddressRange{rng("2001:db8::", "2001:db8::ffff:ffff:ffff:ffff")}})
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			d := []byte{0, 4, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}
			if _, err := p.Offer(NA, d, 1, netip.Addr{}, t0); err != nil {
				b.Fatal(err)
			}
			if _, _, err := p.Bind(Lease{DUID: d, IAID: 1, ValidUntil: t0.Add(time.Hour)}, t0); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("nearly full /118", func(b *testing.B) {
		p := NewPool(Spaces{Addresses: []config.AddressRange{rng("2001:db8::1:0", "2001:db8::1:3ff")}})
		for i := range 1023 {
			if _, _, err := p.Bind(req(i, "", t0), t0); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		for b.Loop() {
			l, _, err := p.Bind(req(5000, "", t0), t0)
			if err != nil {
				b.Fatal(err)
			}
			p.Release(NA, l.DUID, l.IAID, l.Address)
		}
	})
}

// TestOffersBounded: a flood of Solicits from distinct DUIDs holds at most
// MaxOffers offers, the oldest giving way, and bound leases are never
// touched.
func TestOffersBounded(t *testing.T) {
	p := NewPool(Spaces{Addresses: []config.AddressRange{rng("2001:db8::1:0", "2001:db8::ffff:ffff")}})
	held := mustBind(t, p, req(0, "", t0), t0)
	for i := 1; i <= MaxOffers+1000; i++ {
		if _, err := p.Offer(NA, duid(i), 1, netip.Addr{}, t0); err != nil {
			t.Fatal(err)
		}
	}
	if p.offers.Len() != MaxOffers || len(p.byAddr) != MaxOffers+1 || len(p.byDUID) != MaxOffers+1 {
		t.Fatalf("%d offers, %d entries by address, %d by client; want %d offers and the lease", p.offers.Len(), len(p.byAddr), len(p.byDUID), MaxOffers)
	}
	if l, ok := p.Lookup(NA, duid(0), 0, t0); !ok || l.Address != held.Address {
		t.Fatal("the bound lease was withdrawn with the offers")
	}
	// The newest offers stand; their clients bind the offered address.
	last := duid(MaxOffers + 1000)
	a, _ := p.Offer(NA, last, 1, netip.Addr{}, t0)
	if l := mustBind(t, p, Lease{Kind: NA, DUID: last, IAID: 1, ValidUntil: t0.Add(time.Hour)}, t0); l.Address != a {
		t.Errorf("bound %s, want the offered %s", l.Address, a)
	}
	if p.offers.Len() != MaxOffers-1 {
		t.Errorf("%d offers after one was bound, want %d", p.offers.Len(), MaxOffers-1)
	}
	p.Expire(t0.Add(OfferTTL))
	if p.offers.Len() != 0 || len(p.byAddr) != 2 {
		t.Errorf("after OfferTTL: %d offers, %d entries; want 0 and the 2 leases", p.offers.Len(), len(p.byAddr))
	}
}

// TestOffersNeverLockOut: when Solicits from made-up DUIDs have offered
// every address of a small range, a real client's Request still binds.
func TestOffersNeverLockOut(t *testing.T) {
	p := NewPool(Spaces{Addresses: []config.AddressRange{rng("2001:db8::10", "2001:db8::13")}})
	for i := 1; i <= 100; i++ {
		if _, err := p.Offer(NA, duid(i), 1, netip.Addr{}, t0); err != nil {
			t.Fatalf("Offer %d to a range full of offers: %v", i, err)
		}
	}
	for i := range 4 {
		if _, _, err := p.Bind(req(1000+i, "", t0), t0); err != nil {
			t.Fatalf("Bind %d over offers: %v", i, err)
		}
	}
	if _, _, err := p.Bind(req(2000, "", t0), t0); !errors.Is(err, ErrPoolExhausted) {
		t.Fatalf("Bind with every address bound = %v, want ErrPoolExhausted", err)
	}
	if p.offers.Len() != 0 {
		t.Errorf("%d offers left, want none: every address is bound", p.offers.Len())
	}
}

// TestListShowsOnlyStored checks that List and the leasequery lookups show
// what storage holds: a binding once Stored confirms it, a renewal with its
// stored lifetimes until then, and that Revert goes back to them.
func TestListShowsOnlyStored(t *testing.T) {
	later := t0.Add(10 * time.Minute)
	listed := func(p *Pool) string {
		var out []string
		for _, l := range p.List(later) {
			out = append(out, fmt.Sprintf("%s until %s", l.Address, l.ValidUntil.Sub(t0)))
		}
		return fmt.Sprint(out)
	}
	for _, tt := range []struct {
		name string
		run  func(p *Pool)
		want string
	}{
		{"bound, not stored", func(p *Pool) { _, _, _ = p.Bind(req(1, "2001:db8::10", t0), t0) }, "[]"},
		{"bound and stored", func(p *Pool) { mustBind(t, p, req(1, "2001:db8::10", t0), t0) }, "[2001:db8::10 until 1h0m0s]"},
		{"bound, store failed", func(p *Pool) {
			l, _, _ := p.Bind(req(1, "2001:db8::10", t0), t0)
			p.Revert([]Lease{l})
			// The address is free again.
			if l := mustBind(t, p, req(2, "2001:db8::10", t0), t0); l.Address != netip.MustParseAddr("2001:db8::10") {
				t.Errorf("address after Revert went to %s", l.Address)
			}
		}, "[2001:db8::10 until 1h0m0s]"},
		{"renewed, not stored", func(p *Pool) {
			mustBind(t, p, req(1, "2001:db8::10", t0), t0)
			_, _ = p.Renew(req(1, "", later), later)
		}, "[2001:db8::10 until 1h0m0s]"},
		{"renewed and stored", func(p *Pool) {
			mustBind(t, p, req(1, "2001:db8::10", t0), t0)
			l, _ := p.Renew(req(1, "", later), later)
			p.Stored([]Lease{l})
		}, "[2001:db8::10 until 1h10m0s]"},
		{"renewed, store failed", func(p *Pool) {
			mustBind(t, p, req(1, "2001:db8::10", t0), t0)
			l, _ := p.Renew(req(1, "", later), later)
			p.Revert([]Lease{l})
			if got, _ := p.Lookup(NA, duid(1), 1, later); !got.ValidUntil.Equal(t0.Add(time.Hour)) {
				t.Errorf("after Revert the pool holds the lease until %s", got.ValidUntil)
			}
		}, "[2001:db8::10 until 1h0m0s]"},
		{"renewed by a Request, not stored", func(p *Pool) {
			mustBind(t, p, req(1, "2001:db8::10", t0), t0)
			_, _, _ = p.Bind(req(1, "", later), later)
		}, "[2001:db8::10 until 1h0m0s]"},
		// A batch is stored while the next one renews the lease again: the
		// first is what storage holds, and the second's failure goes back
		// to it.
		{"stored while changed again", func(p *Pool) {
			first, _, _ := p.Bind(req(1, "2001:db8::10", t0), t0)
			second, _ := p.Renew(req(1, "", later), later)
			p.Stored([]Lease{first})
			if got := len(p.List(later)); got != 1 {
				t.Errorf("List has %d leases after the first store", got)
			}
			p.Revert([]Lease{second})
		}, "[2001:db8::10 until 1h0m0s]"},
		{"both stores failed", func(p *Pool) {
			first, _, _ := p.Bind(req(1, "2001:db8::10", t0), t0)
			second, _ := p.Renew(req(1, "", later), later)
			p.Revert([]Lease{first})
			p.Revert([]Lease{second})
		}, "[]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPool(Spaces{Addresses: []config.AddressRange{rng("2001:db8::10", "2001:db8::1f")}})
			tt.run(p)
			if got := listed(p); got != tt.want {
				t.Errorf("List = %s, want %s", got, tt.want)
			}
			if got := len(p.LookupClient(duid(1), later)) + len(p.LookupClient(duid(2), later)); got != len(p.List(later)) {
				t.Errorf("LookupClient finds %d leases, List %d", got, len(p.List(later)))
			}
		})
	}
}

// TestLeasesPerClient checks Spaces.LeasesPerClient: a client at the limit
// gets no further lease or offer of any kind, keeps renewing what it
// holds, and may bind again once it lets one go or it expires.
func TestLeasesPerClient(t *testing.T) {
	s := seedSpaces()
	s.LeasesPerClient = 3
	p := NewPool(s)
	held := []Lease{
		mustBind(t, p, kindReq(NA, 1, "", t0), t0),
		mustBind(t, p, kindReq(TA, 1, "", t0), t0),
	}
	short := kindReq(PD, 1, "", t0)
	short.ValidUntil = t0.Add(time.Minute)
	held = append(held, mustBind(t, p, short, t0))
	more := kindReq(NA, 1, "", t0)
	more.IAID = 2
	if _, _, err := p.Bind(more, t0); !errors.Is(err, ErrClientLimit) {
		t.Fatalf("fourth Bind: %v, want ErrClientLimit", err)
	}
	if _, err := p.Offer(NA, more.DUID, more.IAID, netip.Addr{}, t0); !errors.Is(err, ErrClientLimit) {
		t.Fatalf("Offer over the limit: %v, want ErrClientLimit", err)
	}
	// What it holds is still its own: renewed, and bound again by Request.
	if _, err := p.Renew(kindReq(NA, 1, "", t0), t0); err != nil {
		t.Errorf("Renew at the limit: %v", err)
	}
	if _, _, err := p.Bind(kindReq(TA, 1, "", t0), t0); err != nil {
		t.Errorf("Bind of a held IA at the limit: %v", err)
	}
	// Another client is not affected.
	mustBind(t, p, kindReq(NA, 2, "", t0), t0)
	// Released: room for one more.
	if _, ok := p.Release(NA, held[0].DUID, held[0].IAID, held[0].Address); !ok {
		t.Fatal("Release failed")
	}
	mustBind(t, p, more, t0)
	if _, _, err := p.Bind(kindReq(NA, 1, "", t0), t0); !errors.Is(err, ErrClientLimit) {
		t.Fatalf("Bind after the freed place was taken: %v, want ErrClientLimit", err)
	}
	// Expired: room again.
	later := t0.Add(2 * time.Minute)
	p.Expire(later)
	third := kindReq(TA, 1, "", later)
	third.IAID = 3
	if _, _, err := p.Bind(third, later); err != nil {
		t.Errorf("Bind after a lease expired: %v", err)
	}
	// No limit.
	s.LeasesPerClient = 0
	p.Update(s)
	for i := range 5 {
		r := kindReq(TA, 1, "", later)
		r.IAID = uint32(10 + i)
		mustBind(t, p, r, later)
	}
}
