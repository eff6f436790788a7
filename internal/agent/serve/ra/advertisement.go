package ra

import (
	"net"
	"net/netip"
	"time"

	"github.com/mdlayher/ndp"
)

// Protocol constants of RFC 4861 section 10 (router side).
const (
	maxInitialRtrAdvertisements = 3
	maxRADelayTime              = 500 * time.Millisecond
	minDelayBetweenRAs          = 3 * time.Second
)

// initialRtrAdvertInterval spaces the first advertisements after Start or
// Apply. RFC 4861 6.2.4 caps them at MAX_INITIAL_RTR_ADVERT_INTERVAL (16 s);
// we use the smallest spacing multicast rate limiting allows so that booting
// clients that miss the first RA still configure within seconds.
const initialRtrAdvertInterval = minDelayBetweenRAs

// curHopLimit is what Linux and radvd advertise; 0 would leave hosts on
// their own default.
const curHopLimit = 64

// minLinkMTU is the IPv6 minimum (RFC 8200 section 5). Hosts ignore smaller
// MTU options (RFC 4861 6.3.4), so we do not send them.
const minLinkMTU = 1280

// Advertisement is the Router Advertisement the server sends for cfg from an
// interface with hardware address srcMAC and link MTU mtu.
//
// The source link-layer address option is included only for Ethernet-sized
// addresses (saving clients a Neighbor Solicitation), the MTU option only for
// a valid IPv6 link MTU, and RDNSS (RFC 8106) and DNSSL only when they list
// something.
func Advertisement(cfg Config, srcMAC net.HardwareAddr, mtu int) *ndp.RouterAdvertisement {
	ra := cfg.RA
	adv := &ndp.RouterAdvertisement{
		CurrentHopLimit:      curHopLimit,
		ManagedConfiguration: ra.Managed,
		OtherConfiguration:   ra.OtherConfig,
		RouterLifetime:       ra.RouterLifetime,
		// ReachableTime and RetransmitTimer stay 0: unspecified, hosts keep
		// their defaults.
	}
	if len(srcMAC) == 6 {
		adv.Options = append(adv.Options, &ndp.LinkLayerAddress{Direction: ndp.Source, Addr: srcMAC})
	}
	if mtu >= minLinkMTU {
		adv.Options = append(adv.Options, ndp.NewMTU(uint32(mtu)))
	}
	if p := cfg.Prefix; p.IsValid() && p.Addr().Is6() && !p.Addr().Is4In6() {
		adv.Options = append(adv.Options, &ndp.PrefixInformation{
			PrefixLength:                   uint8(p.Bits()),
			OnLink:                         ra.PrefixOnLink,
			AutonomousAddressConfiguration: ra.PrefixAutonomous,
			ValidLifetime:                  ra.PrefixValidLifetime,
			PreferredLifetime:              ra.PrefixPreferredLifetime,
			Prefix:                         p.Masked().Addr(),
		})
	}
	if len(ra.RDNSS) > 0 {
		adv.Options = append(adv.Options, &ndp.RecursiveDNSServer{
			Lifetime: ra.DNSLifetime,
			Servers:  append([]netip.Addr(nil), ra.RDNSS...),
		})
	}
	if len(ra.DNSSL) > 0 {
		adv.Options = append(adv.Options, &ndp.DNSSearchList{
			Lifetime:    ra.DNSLifetime,
			DomainNames: append([]string(nil), ra.DNSSL...),
		})
	}
	return adv
}

// FinalAdvertisement is the advertisement sent when the server stops
// advertising on an interface (RFC 4861 6.2.5): router lifetime 0, so hosts
// drop us as a default router at once. corerad stops there.
//
// We also withdraw what we handed out, since a stopped boot server should not
// linger in clients' configuration: prefix valid and preferred lifetimes 0
// (hosts drop the on-link route at once and deprecate their SLAAC addresses
// at once; RFC 4862 5.5.3 e keeps those addresses valid for at most two more
// hours) and RDNSS/DNSSL lifetime 0 (RFC 8106 5.1: stop using them). The M/O
// flags stay as they were: clearing them would not stop a running DHCPv6
// client.
func FinalAdvertisement(cfg Config, srcMAC net.HardwareAddr, mtu int) *ndp.RouterAdvertisement {
	adv := Advertisement(cfg, srcMAC, mtu)
	adv.RouterLifetime = 0
	for _, opt := range adv.Options {
		switch o := opt.(type) {
		case *ndp.PrefixInformation:
			o.ValidLifetime, o.PreferredLifetime = 0, 0
		case *ndp.RecursiveDNSServer:
			o.Lifetime = 0
		case *ndp.DNSSearchList:
			o.Lifetime = 0
		}
	}
	return adv
}
