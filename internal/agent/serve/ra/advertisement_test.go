package ra

import (
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/ndp"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/link"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
)

var testMAC = net.HardwareAddr{0x02, 0x00, 0x5e, 0x10, 0x00, 0x01}

func stateful() Config {
	return Config{
		Interface: link.Interface{Name: "eth0"},
		Prefix:    netip.MustParsePrefix("2001:db8:1::/64"),
		RA: config.RouterAdvertisement{
			Managed:                 true,
			OtherConfig:             true,
			MinInterval:             200 * time.Second,
			MaxInterval:             600 * time.Second,
			RouterLifetime:          1800 * time.Second,
			PrefixOnLink:            true,
			PrefixAutonomous:        false,
			PrefixValidLifetime:     86400 * time.Second,
			PrefixPreferredLifetime: 14400 * time.Second,
			RDNSS:                   []netip.Addr{netip.MustParseAddr("2001:db8:1::53"), netip.MustParseAddr("2001:db8:1::54")},
			DNSSL:                   []string{"boot.example", "example.org"},
			DNSLifetime:             1800 * time.Second,
		},
	}
}

// roundTrip marshals adv and parses it back, as a client would see it.
func roundTrip(t testing.TB, adv *ndp.RouterAdvertisement) *ndp.RouterAdvertisement {
	t.Helper()
	b, err := ndp.MarshalMessage(adv)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	msg, err := ndp.ParseMessage(b)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	got, ok := msg.(*ndp.RouterAdvertisement)
	if !ok {
		t.Fatalf("parsed %T, want *ndp.RouterAdvertisement", msg)
	}
	return got
}

func describe(ra *ndp.RouterAdvertisement) string {
	var b strings.Builder
	fmt.Fprintf(&b, "hop=%d M=%t O=%t lifetime=%s reach=%s retrans=%s",
		ra.CurrentHopLimit, ra.ManagedConfiguration, ra.OtherConfiguration, ra.RouterLifetime, ra.ReachableTime, ra.RetransmitTimer)
	for _, o := range ra.Options {
		fmt.Fprintf(&b, "\n  %T %+v", o, reflect.ValueOf(o).Elem().Interface())
	}
	return b.String()
}

func TestAdvertisement(t *testing.T) {
	slaacOnly := stateful()
	slaacOnly.RA.Managed, slaacOnly.RA.OtherConfig = false, false
	slaacOnly.RA.PrefixAutonomous = true
	slaacOnly.RA.RDNSS, slaacOnly.RA.DNSSL = nil, nil
	slaacOnly.RA.RouterLifetime = 0
	slaacOnly.RA.PrefixValidLifetime, slaacOnly.RA.PrefixPreferredLifetime = ndp.Infinity, ndp.Infinity

	stateless := stateful()
	stateless.RA.Managed = false
	stateless.RA.DNSSL = nil

	noPrefix := stateful()
	noPrefix.Prefix = netip.Prefix{}
	noPrefix.RA.RDNSS = nil

	tests := []struct {
		name string
		cfg  Config
		mac  net.HardwareAddr
		mtu  int
		want *ndp.RouterAdvertisement
	}{
		{
			name: "stateful with DNS",
			cfg:  stateful(),
			mac:  testMAC,
			mtu:  1500,
			want: &ndp.RouterAdvertisement{
				CurrentHopLimit:      64,
				ManagedConfiguration: true,
				OtherConfiguration:   true,
				RouterLifetime:       1800 * time.Second,
				Options: []ndp.Option{
					&ndp.LinkLayerAddress{Direction: ndp.Source, Addr: testMAC},
					ndp.NewMTU(1500),
					&ndp.PrefixInformation{
						PrefixLength:      64,
						OnLink:            true,
						ValidLifetime:     86400 * time.Second,
						PreferredLifetime: 14400 * time.Second,
						Prefix:            netip.MustParseAddr("2001:db8:1::"),
					},
					&ndp.RecursiveDNSServer{
						Lifetime: 1800 * time.Second,
						Servers:  []netip.Addr{netip.MustParseAddr("2001:db8:1::53"), netip.MustParseAddr("2001:db8:1::54")},
					},
					&ndp.DNSSearchList{Lifetime: 1800 * time.Second, DomainNames: []string{"boot.example", "example.org"}},
				},
			},
		},
		{
			name: "SLAAC only, infinite prefix, not a default router, no DNS options",
			cfg:  slaacOnly,
			mac:  testMAC,
			mtu:  9000,
			want: &ndp.RouterAdvertisement{
				CurrentHopLimit: 64,
				Options: []ndp.Option{
					&ndp.LinkLayerAddress{Direction: ndp.Source, Addr: testMAC},
					ndp.NewMTU(9000),
					&ndp.PrefixInformation{
						PrefixLength:                   64,
						OnLink:                         true,
						AutonomousAddressConfiguration: true,
						ValidLifetime:                  ndp.Infinity,
						PreferredLifetime:              ndp.Infinity,
						Prefix:                         netip.MustParseAddr("2001:db8:1::"),
					},
				},
			},
		},
		{
			name: "stateless, no MAC and MTU below IPv6 minimum are omitted",
			cfg:  stateless,
			mac:  nil,
			mtu:  576,
			want: &ndp.RouterAdvertisement{
				CurrentHopLimit:    64,
				OtherConfiguration: true,
				RouterLifetime:     1800 * time.Second,
				Options: []ndp.Option{
					&ndp.PrefixInformation{
						PrefixLength:      64,
						OnLink:            true,
						ValidLifetime:     86400 * time.Second,
						PreferredLifetime: 14400 * time.Second,
						Prefix:            netip.MustParseAddr("2001:db8:1::"),
					},
					&ndp.RecursiveDNSServer{
						Lifetime: 1800 * time.Second,
						Servers:  []netip.Addr{netip.MustParseAddr("2001:db8:1::53"), netip.MustParseAddr("2001:db8:1::54")},
					},
				},
			},
		},
		{
			name: "no prefix configured, only DNSSL",
			cfg:  noPrefix,
			mac:  testMAC,
			mtu:  0,
			want: &ndp.RouterAdvertisement{
				CurrentHopLimit:      64,
				ManagedConfiguration: true,
				OtherConfiguration:   true,
				RouterLifetime:       1800 * time.Second,
				Options: []ndp.Option{
					&ndp.LinkLayerAddress{Direction: ndp.Source, Addr: testMAC},
					&ndp.DNSSearchList{Lifetime: 1800 * time.Second, DomainNames: []string{"boot.example", "example.org"}},
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := roundTrip(t, Advertisement(tt.cfg, tt.mac, tt.mtu))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("on the wire:\n%s\nwant:\n%s", describe(got), describe(tt.want))
			}
		})
	}
}

func TestAdvertisementDoesNotAliasConfig(t *testing.T) {
	cfg := stateful()
	adv := Advertisement(cfg, testMAC, 1500)
	for _, o := range adv.Options {
		switch o := o.(type) {
		case *ndp.RecursiveDNSServer:
			o.Servers[0] = netip.MustParseAddr("2001:db8::bad")
		case *ndp.DNSSearchList:
			o.DomainNames[0] = "bad.example"
		}
	}
	if cfg.RA.RDNSS[0] != netip.MustParseAddr("2001:db8:1::53") || cfg.RA.DNSSL[0] != "boot.example" {
		t.Errorf("editing the advertisement changed the config: %v %v", cfg.RA.RDNSS, cfg.RA.DNSSL)
	}
}

func TestFinalAdvertisement(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{name: "stateful with DNS", cfg: stateful()},
		{name: "no DNS options", cfg: func() Config {
			c := stateful()
			c.RA.RDNSS, c.RA.DNSSL = nil, nil
			return c
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := roundTrip(t, FinalAdvertisement(tt.cfg, testMAC, 1500))
			regular := Advertisement(tt.cfg, testMAC, 1500)
			if got.RouterLifetime != 0 {
				t.Errorf("router lifetime %s, want 0", got.RouterLifetime)
			}
			if got.ManagedConfiguration != tt.cfg.RA.Managed || got.OtherConfiguration != tt.cfg.RA.OtherConfig {
				t.Errorf("M/O = %t/%t, want them unchanged", got.ManagedConfiguration, got.OtherConfiguration)
			}
			if len(got.Options) != len(regular.Options) {
				t.Fatalf("final RA has %d options, regular %d: it should withdraw the same ones\n%s", len(got.Options), len(regular.Options), describe(got))
			}
			for _, o := range got.Options {
				switch o := o.(type) {
				case *ndp.PrefixInformation:
					if o.ValidLifetime != 0 || o.PreferredLifetime != 0 {
						t.Errorf("prefix %s lifetimes valid %s preferred %s, want 0", o.Prefix, o.ValidLifetime, o.PreferredLifetime)
					}
					if !o.OnLink {
						t.Error("prefix lost its L flag: hosts would not remove the on-link route")
					}
				case *ndp.RecursiveDNSServer:
					if o.Lifetime != 0 {
						t.Errorf("RDNSS lifetime %s, want 0", o.Lifetime)
					}
				case *ndp.DNSSearchList:
					if o.Lifetime != 0 {
						t.Errorf("DNSSL lifetime %s, want 0", o.Lifetime)
					}
				}
			}
		})
	}
}
