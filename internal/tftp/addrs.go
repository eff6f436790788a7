package tftp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
)

// bindAddrs returns the addresses to serve on and the interface's MTU (0
// when no interface is named). Without explicit addresses it takes every
// global and unique-local IPv6 address the interface has now.
//
// Link-local addresses are left out, and refused when given: boot file
// URLs name the server's global address.
func bindAddrs(ifname string, addrs []netip.Addr) ([]netip.Addr, int, error) {
	var ifi *net.Interface
	if ifname != "" {
		var err error
		if ifi, err = net.InterfaceByName(ifname); err != nil {
			return nil, 0, fmt.Errorf("looking up interface %q: %w", ifname, err)
		}
	}
	mtu := 0
	if ifi != nil {
		mtu = ifi.MTU
	}
	if len(addrs) == 0 {
		if ifi == nil {
			return nil, 0, errors.New("no addresses given and no interface to take them from")
		}
		ifaddrs, err := ifi.Addrs()
		if err != nil {
			return nil, 0, fmt.Errorf("listing addresses of interface %s: %w", ifname, err)
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
			return nil, 0, fmt.Errorf("interface %s has no global or unique-local IPv6 address", ifname)
		}
	}
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		if !a.IsValid() {
			return nil, 0, errors.New("invalid (zero) address")
		}
		if a.IsLinkLocalUnicast() {
			return nil, 0, fmt.Errorf("link-local address %s: boot file URLs need a global address", a)
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out, mtu, nil
}
