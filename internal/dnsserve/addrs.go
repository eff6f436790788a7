package dnsserve

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
)

// bindAddrs returns the addresses to serve on. Without explicit addresses it
// takes every global and unique-local IPv6 address the interface has now:
// clients are told one of those (RDNSS). A link-local address given
// explicitly gets the interface as its zone: the kernel cannot bind
// fe80::/10 without one.
func bindAddrs(ifname string, addrs []netip.Addr) ([]netip.Addr, error) {
	if len(addrs) == 0 {
		if ifname == "" {
			return nil, errors.New("no addresses given and no interface to take them from")
		}
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return nil, fmt.Errorf("looking up interface %q: %w", ifname, err)
		}
		ifaddrs, err := ifi.Addrs()
		if err != nil {
			return nil, fmt.Errorf("listing addresses of interface %s: %w", ifname, err)
		}
		for _, a := range ifaddrs {
			ipnet, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(ipnet.IP)
			if ok && ip.Is6() && !ip.Is4In6() && ip.IsGlobalUnicast() {
				addrs = append(addrs, ip)
			}
		}
		if len(addrs) == 0 {
			return nil, fmt.Errorf("interface %s has no global or unique-local IPv6 address", ifname)
		}
	}
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		if !a.IsValid() {
			return nil, errors.New("invalid (zero) address")
		}
		if a.IsLinkLocalUnicast() && a.Zone() == "" {
			if ifname == "" {
				return nil, fmt.Errorf("link-local address %s needs an interface for its zone", a)
			}
			a = a.WithZone(ifname)
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out, nil
}
