package ra

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/mdlayher/ndp"
)

// errNotRouterDiscovery marks ICMPv6 messages that are not ours to handle
// (the socket filter lets only RS and RA through, so this is rare).
var errNotRouterDiscovery = errors.New("not a router solicitation or advertisement")

// parseInbound validates one received ICMPv6 message per RFC 4861 6.1.1
// (Router Solicitation) and 6.1.2 (Router Advertisement) and returns it as
// *ndp.RouterSolicitation or *ndp.RouterAdvertisement. src is the IPv6
// source address and hopLimit the IPv6 hop limit the packet arrived with.
// Invalid messages must be silently discarded; the error says why, for logs.
func parseInbound(b []byte, src netip.Addr, hopLimit int) (ndp.Message, error) {
	src = src.WithZone("") // "::%eth0" is not IsUnspecified
	// A hop limit of 255 proves the sender is on this link: routers
	// decrement it, so nothing forwarded can still have it.
	if hopLimit != ndp.HopLimit {
		return nil, fmt.Errorf("IPv6 hop limit %d, want %d (not from this link)", hopLimit, ndp.HopLimit)
	}
	if len(b) >= 2 && b[1] != 0 {
		return nil, fmt.Errorf("ICMPv6 code %d, want 0", b[1])
	}
	msg, err := ndp.ParseMessage(b)
	if err != nil {
		return nil, err
	}
	switch m := msg.(type) {
	case *ndp.RouterSolicitation:
		// An unspecified source cannot be answered by unicast and must not
		// carry a source link-layer address (6.1.1): it would poison the
		// neighbor cache entry for "::".
		if src.IsUnspecified() && sourceLinkLayerAddress(m.Options) != nil {
			return nil, errors.New("router solicitation from :: carries a source link-layer address option")
		}
		return m, nil
	case *ndp.RouterAdvertisement:
		if !src.IsLinkLocalUnicast() {
			return nil, fmt.Errorf("router advertisement from %s, want a link-local source", src)
		}
		return m, nil
	default:
		return nil, fmt.Errorf("%s: %w", msg.Type(), errNotRouterDiscovery)
	}
}

func sourceLinkLayerAddress(opts []ndp.Option) *ndp.LinkLayerAddress {
	for _, o := range opts {
		if lla, ok := o.(*ndp.LinkLayerAddress); ok && lla.Direction == ndp.Source {
			return lla
		}
	}
	return nil
}

// inconsistencies lists how another router's advertisement theirs
// contradicts ours, using RFC 4861 6.2.7's checks (hop limit, M/O flags,
// reachable time, retransmit timer, MTU, lifetimes of a shared prefix; zero
// means unspecified and matches anything). It also reports autonomous
// prefixes we do not advertise: not an RFC inconsistency, but on a boot
// network it means clients configure addresses we did not plan for.
func inconsistencies(ours, theirs *ndp.RouterAdvertisement) []string {
	var out []string
	differ := func(field string, a, b any) {
		out = append(out, fmt.Sprintf("%s: ours %v, theirs %v", field, a, b))
	}
	if ours.CurrentHopLimit != 0 && theirs.CurrentHopLimit != 0 && ours.CurrentHopLimit != theirs.CurrentHopLimit {
		differ("cur hop limit", ours.CurrentHopLimit, theirs.CurrentHopLimit)
	}
	if ours.ManagedConfiguration != theirs.ManagedConfiguration {
		differ("M flag (managed address configuration)", ours.ManagedConfiguration, theirs.ManagedConfiguration)
	}
	if ours.OtherConfiguration != theirs.OtherConfiguration {
		differ("O flag (other configuration)", ours.OtherConfiguration, theirs.OtherConfiguration)
	}
	if ours.ReachableTime != 0 && theirs.ReachableTime != 0 && ours.ReachableTime != theirs.ReachableTime {
		differ("reachable time", ours.ReachableTime, theirs.ReachableTime)
	}
	if ours.RetransmitTimer != 0 && theirs.RetransmitTimer != 0 && ours.RetransmitTimer != theirs.RetransmitTimer {
		differ("retrans timer", ours.RetransmitTimer, theirs.RetransmitTimer)
	}
	if a, b := linkMTU(ours.Options), linkMTU(theirs.Options); a != 0 && b != 0 && a != b {
		differ("MTU", a, b)
	}
	ourPrefixes := prefixInformation(ours.Options)
	for _, their := range prefixInformation(theirs.Options) {
		p := netip.PrefixFrom(their.Prefix, int(their.PrefixLength))
		i := slices.IndexFunc(ourPrefixes, func(our *ndp.PrefixInformation) bool {
			return our.Prefix == their.Prefix && our.PrefixLength == their.PrefixLength
		})
		if i < 0 {
			if their.AutonomousAddressConfiguration {
				out = append(out, fmt.Sprintf("prefix %s: theirs only, with autonomous (SLAAC) flag", p))
			}
			continue
		}
		our := ourPrefixes[i]
		if our.ValidLifetime != their.ValidLifetime {
			differ("prefix "+p.String()+" valid lifetime", lifetime(our.ValidLifetime), lifetime(their.ValidLifetime))
		}
		if our.PreferredLifetime != their.PreferredLifetime {
			differ("prefix "+p.String()+" preferred lifetime", lifetime(our.PreferredLifetime), lifetime(their.PreferredLifetime))
		}
	}
	return out
}

func linkMTU(opts []ndp.Option) uint32 {
	for _, o := range opts {
		if m, ok := o.(*ndp.MTU); ok {
			return m.MTU
		}
	}
	return 0
}

func prefixInformation(opts []ndp.Option) []*ndp.PrefixInformation {
	var out []*ndp.PrefixInformation
	for _, o := range opts {
		if p, ok := o.(*ndp.PrefixInformation); ok {
			out = append(out, p)
		}
	}
	return out
}

// offersOf lists what another router's advertisement offers, one item per
// flag, lifetime and option, for `agent status` and the logs.
func offersOf(ra *ndp.RouterAdvertisement) []string {
	out := []string{
		fmt.Sprintf("M flag (managed address configuration): %t", ra.ManagedConfiguration),
		fmt.Sprintf("O flag (other configuration): %t", ra.OtherConfiguration),
		fmt.Sprintf("router lifetime: %s", lifetime(ra.RouterLifetime)),
	}
	if ra.CurrentHopLimit != 0 {
		out = append(out, fmt.Sprintf("cur hop limit: %d", ra.CurrentHopLimit))
	}
	if ra.ReachableTime != 0 {
		out = append(out, fmt.Sprintf("reachable time: %s", ra.ReachableTime))
	}
	if ra.RetransmitTimer != 0 {
		out = append(out, fmt.Sprintf("retrans timer: %s", ra.RetransmitTimer))
	}
	for _, o := range ra.Options {
		switch o := o.(type) {
		case *ndp.MTU:
			out = append(out, fmt.Sprintf("MTU: %d", o.MTU))
		case *ndp.PrefixInformation:
			p := netip.PrefixFrom(o.Prefix, int(o.PrefixLength))
			out = append(out, fmt.Sprintf("prefix %s: on-link %t, autonomous %t, valid lifetime %s, preferred lifetime %s",
				p, o.OnLink, o.AutonomousAddressConfiguration, lifetime(o.ValidLifetime), lifetime(o.PreferredLifetime)))
		case *ndp.RecursiveDNSServer:
			out = append(out, fmt.Sprintf("RDNSS %s (lifetime %s)", joinAddrs(o.Servers), lifetime(o.Lifetime)))
		case *ndp.DNSSearchList:
			out = append(out, fmt.Sprintf("DNSSL %s (lifetime %s)", strings.Join(o.DomainNames, ", "), lifetime(o.Lifetime)))
		case *ndp.RouteInformation:
			out = append(out, fmt.Sprintf("route %s (lifetime %s)", netip.PrefixFrom(o.Prefix, int(o.PrefixLength)), lifetime(o.RouteLifetime)))
		}
	}
	return out
}

func joinAddrs(addrs []netip.Addr) string {
	s := make([]string, len(addrs))
	for i, a := range addrs {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

// lifetime prints a lifetime as RFC 4861 and radvd do, in seconds, with
// all ones as infinity.
func lifetime(d time.Duration) string {
	if d == ndp.Infinity {
		return "infinity"
	}
	return fmt.Sprintf("%d s", int64(d/time.Second))
}
