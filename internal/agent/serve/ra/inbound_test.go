package ra

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/ndp"
)

var (
	routerMAC = net.HardwareAddr{0x02, 0x00, 0x5e, 0x10, 0x00, 0x99}
	clientLL  = netip.MustParseAddr("fe80::1234")
	routerLL  = netip.MustParseAddr("fe80::99")
	globalSrc = netip.MustParseAddr("2001:db8:1::7")
)

func mustMarshal(t testing.TB, m ndp.Message) []byte {
	t.Helper()
	b, err := ndp.MarshalMessage(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseInbound(t *testing.T) {
	rs := mustMarshal(t, &ndp.RouterSolicitation{})
	rsWithSLLA := mustMarshal(t, &ndp.RouterSolicitation{Options: []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Source, Addr: testMAC}}})
	ra := mustMarshal(t, Advertisement(stateful(), testMAC, 1500))
	ns := mustMarshal(t, &ndp.NeighborSolicitation{TargetAddress: clientLL})
	withCode := slices.Clone(rs)
	withCode[1] = 1

	tests := []struct {
		name     string
		b        []byte
		src      netip.Addr
		hopLimit int
		want     string // "RS", "RA" or a substring of the error
	}{
		{name: "RS from link-local", b: rsWithSLLA, src: clientLL, hopLimit: 255, want: "RS"},
		{name: "RS from global address", b: rs, src: globalSrc, hopLimit: 255, want: "RS"},
		{name: "RS from :: without SLLA", b: rs, src: netip.IPv6Unspecified(), hopLimit: 255, want: "RS"},
		{name: "RS from :: with SLLA", b: rsWithSLLA, src: netip.IPv6Unspecified(), hopLimit: 255, want: "source link-layer address"},
		{name: "RS from ::%eth0 with SLLA", b: rsWithSLLA, src: netip.IPv6Unspecified().WithZone("eth0"), hopLimit: 255, want: "source link-layer address"},
		{name: "RA from zoned link-local", b: mustMarshal(t, Advertisement(stateful(), testMAC, 1500)), src: routerLL.WithZone("eth0"), hopLimit: 255, want: "RA"},
		{name: "RS forwarded by a router", b: rs, src: clientLL, hopLimit: 254, want: "hop limit 254"},
		{name: "RS without hop limit", b: rs, src: clientLL, hopLimit: 0, want: "hop limit 0"},
		{name: "RS with ICMPv6 code 1", b: withCode, src: clientLL, hopLimit: 255, want: "code 1"},
		{name: "RS truncated", b: rs[:5], src: clientLL, hopLimit: 255, want: "failed to unmarshal"},
		{name: "empty", b: nil, src: clientLL, hopLimit: 255, want: "too short"},
		{name: "RA from link-local", b: ra, src: routerLL, hopLimit: 255, want: "RA"},
		{name: "RA from global address", b: ra, src: globalSrc, hopLimit: 255, want: "want a link-local source"},
		{name: "neighbor solicitation", b: ns, src: clientLL, hopLimit: 255, want: "not a router solicitation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := parseInbound(tt.b, tt.src, tt.hopLimit)
			var got string
			switch msg.(type) {
			case nil:
				got = err.Error()
			case *ndp.RouterSolicitation:
				got = "RS"
			case *ndp.RouterAdvertisement:
				got = "RA"
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("parseInbound = %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := parseInbound(ns, clientLL, 255); !errors.Is(err, errNotRouterDiscovery) {
		t.Errorf("neighbor solicitation error %v, want errNotRouterDiscovery", err)
	}
}

func TestInconsistencies(t *testing.T) {
	ours := Advertisement(stateful(), testMAC, 1500)
	other := func(edit func(ra *ndp.RouterAdvertisement)) *ndp.RouterAdvertisement {
		// Parse a fresh copy so edits never touch ours.
		ra := roundTrip(t, Advertisement(stateful(), routerMAC, 1500))
		edit(ra)
		return ra
	}
	tests := []struct {
		name   string
		theirs *ndp.RouterAdvertisement
		want   []string // substrings, one per reported inconsistency
	}{
		{name: "identical apart from router", theirs: other(func(*ndp.RouterAdvertisement) {})},
		{name: "unspecified values match anything", theirs: other(func(ra *ndp.RouterAdvertisement) {
			ra.CurrentHopLimit = 0
			ra.ReachableTime = 30 * time.Second
			ra.Options = slices.DeleteFunc(ra.Options, func(o ndp.Option) bool { _, ok := o.(*ndp.MTU); return ok })
		})},
		{name: "different router lifetime is fine", theirs: other(func(ra *ndp.RouterAdvertisement) { ra.RouterLifetime = 0 })},
		{name: "M and O flags", theirs: other(func(ra *ndp.RouterAdvertisement) {
			ra.ManagedConfiguration, ra.OtherConfiguration = false, false
		}), want: []string{"M flag", "O flag"}},
		{name: "hop limit and MTU", theirs: other(func(ra *ndp.RouterAdvertisement) {
			ra.CurrentHopLimit = 255
			for _, o := range ra.Options {
				if m, ok := o.(*ndp.MTU); ok {
					m.MTU = 1280
				}
			}
		}), want: []string{"cur hop limit", "MTU: ours 1500, theirs 1280"}},
		{name: "shared prefix lifetimes", theirs: other(func(ra *ndp.RouterAdvertisement) {
			for _, p := range prefixInformation(ra.Options) {
				p.ValidLifetime, p.PreferredLifetime = time.Hour, time.Minute
			}
		}), want: []string{"2001:db8:1::/64 valid lifetime", "2001:db8:1::/64 preferred lifetime"}},
		{name: "foreign SLAAC prefix", theirs: other(func(ra *ndp.RouterAdvertisement) {
			ra.Options = append(ra.Options, &ndp.PrefixInformation{
				PrefixLength: 64, OnLink: true, AutonomousAddressConfiguration: true,
				ValidLifetime: time.Hour, PreferredLifetime: time.Hour, Prefix: netip.MustParseAddr("2001:db8:99::"),
			})
		}), want: []string{"prefix 2001:db8:99::/64: theirs only"}},
		{name: "foreign on-link-only prefix is fine", theirs: other(func(ra *ndp.RouterAdvertisement) {
			ra.Options = append(ra.Options, &ndp.PrefixInformation{
				PrefixLength: 64, OnLink: true, ValidLifetime: time.Hour, Prefix: netip.MustParseAddr("2001:db8:99::"),
			})
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := inconsistencies(ours, tt.theirs)
			if len(got) != len(tt.want) {
				t.Fatalf("inconsistencies = %q, want %d matching %q", got, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("inconsistency %d = %q, want it to mention %q", i, got[i], w)
				}
			}
		})
	}
}

// FuzzParseInbound feeds arbitrary packets through everything the server
// does with a received packet before it touches a socket: validation, the
// consistency check against our advertisement, and scheduling a reply.
func FuzzParseInbound(f *testing.F) {
	f.Add(mustMarshal(f, &ndp.RouterSolicitation{Options: []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Source, Addr: testMAC}}}), clientLL.AsSlice(), uint8(255))
	f.Add(mustMarshal(f, &ndp.RouterSolicitation{}), netip.IPv6Unspecified().AsSlice(), uint8(255))
	f.Add(mustMarshal(f, Advertisement(stateful(), testMAC, 1500)), routerLL.AsSlice(), uint8(255))
	f.Add(mustMarshal(f, FinalAdvertisement(stateful(), testMAC, 1500)), routerLL.AsSlice(), uint8(255))
	f.Add([]byte{133, 0, 0, 0, 0, 0, 0, 0, 1, 0}, clientLL.AsSlice(), uint8(255))
	f.Add([]byte{134, 0, 0, 0, 64, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 4}, routerLL.AsSlice(), uint8(255))
	f.Add([]byte{}, []byte{}, uint8(0))

	ours := Advertisement(stateful(), testMAC, 1500)
	f.Fuzz(func(t *testing.T, b, srcBytes []byte, hopLimit uint8) {
		src, ok := netip.AddrFromSlice(srcBytes)
		if !ok {
			src = netip.IPv6Unspecified()
		}
		if len(b)%2 == 1 {
			src = src.WithZone("eth0") // as the socket reports it
		}
		msg, err := parseInbound(b, src, int(hopLimit))
		if err != nil {
			if msg != nil {
				t.Fatalf("both a message and an error: %v", err)
			}
			return
		}
		if hopLimit != 255 {
			t.Fatalf("accepted hop limit %d", hopLimit)
		}
		switch m := msg.(type) {
		case *ndp.RouterSolicitation:
			src = src.WithZone("") // as the server keys replies
			if src.IsUnspecified() && sourceLinkLayerAddress(m.Options) != nil {
				t.Fatal("accepted RS from :: with a source link-layer address")
			}
			var s schedule
			s.restart(time.Unix(0, 0))
			s.solicit(time.Unix(1, 0), src, maxRADelayTime)
			if s.next().After(time.Unix(1, 0).Add(maxRADelayTime)) && !src.IsUnspecified() {
				t.Fatalf("reply to %s scheduled at %v, later than MAX_RA_DELAY_TIME", src, s.next())
			}
		case *ndp.RouterAdvertisement:
			if !src.IsLinkLocalUnicast() {
				t.Fatalf("accepted RA from %s", src)
			}
			_ = inconsistencies(ours, m)
		default:
			t.Fatalf("accepted %T", msg)
		}
	})
}

func TestOffersOf(t *testing.T) {
	cfg := stateful()
	cfg.RA.PrefixValidLifetime = ndp.Infinity
	got := offersOf(roundTrip(t, Advertisement(cfg, routerMAC, 1400)))
	want := []string{
		"M flag (managed address configuration): true",
		"O flag (other configuration): true",
		fmt.Sprintf("router lifetime: %d s", int(cfg.RA.RouterLifetime/time.Second)),
		"cur hop limit: 64",
		"MTU: 1400",
		fmt.Sprintf("prefix 2001:db8:1::/64: on-link true, autonomous false, valid lifetime infinity, preferred lifetime %d s", int(cfg.RA.PrefixPreferredLifetime/time.Second)),
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("offers lack %q:\n%s", w, strings.Join(got, "\n"))
		}
	}
	if !slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, "RDNSS ") }) {
		t.Errorf("offers lack the RDNSS option:\n%s", strings.Join(got, "\n"))
	}
}
