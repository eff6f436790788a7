// Package link resolves the link a boot server serves, once, and holds the
// one rule for which of the link's addresses each protocol server uses.
//
// Address rules (the only place they are decided):
//
//   - Boot address, named in boot-file URLs (DHCPv6 option 59), in rendered
//     scripts and in DNS answers for NFS root host names: the configured
//     service address (boot.server_address) when set, else the first
//     permanent global address inside the link's prefix that is neither
//     tentative (not bindable until duplicate address detection ends) nor
//     deprecated. Clients keep a
//     boot URL for as long as they run, so it never names an address the
//     host autoconfigured (it may come from our own RA and go with it) or
//     a temporary privacy address; nor a link-local one, whose zone a client
//     on another link, or in a URL, cannot name.
//   - Serve addresses, which TFTP, HTTP, DNS and NFS bind: the service
//     address alone when set, else every permanent global address of the
//     interface (unique-local included). Until the interface has one, those
//     servers wait.
//   - Status addresses, shown to the operator: the link-local address and
//     every global address except temporary ones, permanent ones first.
//
// RA and DHCPv6 need the interface itself (multicast on the link, a
// link-local source), not a global address: they take the Interface.
package link

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
)

// Link is the link the clients are on, as one boot server serves it.
//
// A directly attached link has the agent's Interface on it. A link behind a
// DHCPv6 relay has none: the agent knows it by Prefix and is reached at
// ServiceAddress, an address on some local interface that clients on the
// remote link can route to.
type Link struct {
	// Prefix is the clients' prefix on the link.
	Prefix netip.Prefix
	// Interface is the agent's interface on the link; nil for a link
	// reached only through a relay.
	Interface *Interface
	// ServiceAddress, when valid, is the address boot URLs name and the
	// file servers bind (boot.server_address).
	ServiceAddress netip.Addr
}

// BootAddress is the address clients are told to fetch boot files from;
// invalid when there is none yet (see the package comment).
func (l Link) BootAddress() netip.Addr {
	if l.ServiceAddress.IsValid() {
		return l.ServiceAddress
	}
	if l.Interface == nil {
		return netip.Addr{}
	}
	for _, a := range l.Interface.PermanentGlobal() {
		if l.Prefix.Contains(a) {
			return a
		}
	}
	return netip.Addr{}
}

// ServeAddresses are where TFTP, HTTP, DNS and NFS listen, sorted; empty
// until there is an address to serve on (see the package comment).
func (l Link) ServeAddresses() []netip.Addr {
	if l.ServiceAddress.IsValid() {
		return []netip.Addr{l.ServiceAddress}
	}
	if l.Interface == nil {
		return nil
	}
	return l.Interface.PermanentGlobal()
}

// Interface is a local network interface as resolved at one moment.
type Interface struct {
	Name  string
	Index int
	// MTU in bytes: TFTP fits its block size to it, RA advertises it.
	MTU          int
	HardwareAddr net.HardwareAddr
	Flags        net.Flags
	// Addrs are the interface's IPv6 addresses with their flags, in the
	// kernel's order.
	Addrs []Addr
}

// Addr is one IPv6 address of an interface, without zone.
type Addr struct {
	Addr      netip.Addr
	PrefixLen int
	// Permanent: configured by the operator, not autoconfigured.
	Permanent bool
	// Temporary: a privacy address (RFC 8981), replaced every few hours.
	Temporary bool
	// Tentative: duplicate address detection has not finished; the kernel
	// does not let a socket bind it yet.
	Tentative bool
	// Deprecated: its preferred lifetime has ended.
	Deprecated bool
}

// usableGlobal is a global (or unique-local) address that is neither
// temporary nor link-local.
func (a Addr) usableGlobal() bool {
	return a.Addr.IsGlobalUnicast() && !a.Addr.IsLinkLocalUnicast() && !a.Temporary
}

// Net is the interface as the net package describes it, for sockets bound
// to it (multicast, SO_BINDTODEVICE).
func (i Interface) Net() *net.Interface {
	return &net.Interface{Index: i.Index, MTU: i.MTU, Name: i.Name, HardwareAddr: i.HardwareAddr, Flags: i.Flags}
}

// LinkLocal is the interface's link-local address, without zone; invalid
// when it has none.
func (i Interface) LinkLocal() netip.Addr {
	var ll netip.Addr
	for _, a := range i.Addrs {
		if a.Addr.IsLinkLocalUnicast() {
			ll = a.Addr
		}
	}
	return ll
}

// PermanentGlobal are the global addresses the operator configured on the
// interface, sorted: the ones a server can bind now (not tentative) and
// clients may be sent to (not deprecated).
func (i Interface) PermanentGlobal() []netip.Addr {
	var out []netip.Addr
	for _, a := range i.Addrs {
		if a.Permanent && a.usableGlobal() && !a.Tentative && !a.Deprecated {
			out = append(out, a.Addr)
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return slices.Compact(out)
}

// Global are the interface's global addresses for the status: permanent
// ones first, then autoconfigured ones, each sorted; temporary ones are left
// out, since clients cannot count on them.
func (i Interface) Global() []netip.Addr {
	addrs := slices.Clone(i.Addrs)
	slices.SortStableFunc(addrs, func(a, b Addr) int {
		if a.Permanent != b.Permanent {
			if a.Permanent {
				return -1
			}
			return 1
		}
		return a.Addr.Compare(b.Addr)
	})
	var out []netip.Addr
	for _, a := range addrs {
		if a.usableGlobal() {
			out = append(out, a.Addr)
		}
	}
	return out
}

// Lookup resolves an interface by name. Resolve is the host's; a test
// swaps in its own to run without real interfaces.
type Lookup func(name string) (Interface, error)

// Resolve reads the named interface from the host: index, MTU and hardware
// address from the kernel, IPv6 addresses with their flags from
// /proc/net/if_inet6 (net.Interface.Addrs has no flags). A missing
// interface is an error naming the ones that exist.
func Resolve(name string) (Interface, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return Interface{}, notFound(name)
	}
	addrs, err := readIfInet6(name)
	if err != nil {
		return Interface{}, fmt.Errorf("reading the addresses of interface %s: %w", name, err)
	}
	return Interface{Name: ifi.Name, Index: ifi.Index, MTU: ifi.MTU, HardwareAddr: ifi.HardwareAddr, Flags: ifi.Flags, Addrs: addrs}, nil
}

func notFound(name string) error {
	ifaces, _ := net.Interfaces()
	var names []string
	for _, ifi := range ifaces {
		names = append(names, ifi.Name)
	}
	return fmt.Errorf("interface %q does not exist on the agent host (it has: %v); create it or set interface to one of those", name, names)
}
