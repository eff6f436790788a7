package config

import (
	"fmt"
	"net"
	"net/netip"
)

// Requester is who sent a request for a boot file, a script or a
// machine's config, as the agent tells from the request's source address.
// A machine's own menu and its configs go only to a request whose
// Requester is that machine.
type Requester struct {
	// Address is the request's source address.
	Address netip.Addr
	// Machine is the machine the address belongs to; "" when the agent
	// cannot tell.
	Machine string
	// By says how the address was attributed to Machine: AttributedByLease,
	// AttributedByReservation or AttributedBySLAAC.
	By string
}

// How an address is attributed to a machine (Requester.By).
const (
	// AttributedByLease: the address is a live DHCPv6 lease of the machine
	// (its DUID, or its MAC address as the lease recorded it).
	AttributedByLease = "lease"
	// AttributedByReservation: the address is the machine's
	// reserved_address.
	AttributedByReservation = "reservation"
	// AttributedBySLAAC: the address's interface identifier is the
	// modified EUI-64 of one of the machine's MAC addresses (RFC 4291
	// appendix A), as SLAAC and link-local addresses are built.
	AttributedBySLAAC = "slaac"
)

// String describes the requester for logs and refusals.
func (r Requester) String() string {
	if r.Machine == "" {
		return fmt.Sprintf("%s (no machine's address)", r.Address)
	}
	return fmt.Sprintf("%s (machine %q's, by %s)", r.Address, r.Machine, r.By)
}

// MACFromEUI64 is the MAC address whose modified EUI-64 (RFC 4291 appendix
// A: ff:fe in the middle, the universal/local bit flipped) is a's
// interface identifier, lowercase with colons; false when a's interface
// identifier is not one.
func MACFromEUI64(a netip.Addr) (string, bool) {
	if !a.Is6() || a.Is4In6() {
		return "", false
	}
	b := a.As16()
	if b[11] != 0xff || b[12] != 0xfe {
		return "", false
	}
	return net.HardwareAddr{b[8] ^ 0x02, b[9], b[10], b[13], b[14], b[15]}.String(), true
}
