package agent

import (
	"encoding/hex"
	"net/netip"
	"slices"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/serve/dhcp6"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
)

// attribute tells which machine a request from addr comes from, in this
// order:
//
//  1. a live DHCPv6 address lease on addr (leaseAt): its client's machine,
//     recognised as the DHCPv6 server recognises it for reservations, by
//     the client's DUID, else by the MAC address the lease recorded (from
//     a DUID-LL or DUID-LLT, a relay's option 79 or the EUI-64 of its
//     link-local address), else by the UUID of a DUID-UUID (iPXE's DUID is
//     the system UUID). A lease of a client that is no machine makes the
//     address nobody's: it is that client's now.
//  2. a machine's reserved_address;
//  3. an address whose interface identifier is the modified EUI-64 of one
//     of a machine's MAC addresses (what SLAAC builds, and iPXE uses),
//     inside onLink (the prefixes of the links the boot server serves) or
//     link-local. Outside them anyone routed to the agent could pick that
//     interface identifier under a prefix of their own.
//
// An address that none of these names is no machine's. A machine whose
// client uses privacy or stable-privacy addresses and no DHCPv6 lease is
// not recognised: give it a reserved_address, or identify it by its DUID.
func attribute(addr netip.Addr, machines map[string]config.Machine, leaseAt func(netip.Addr) (lease.Lease, bool), onLink []netip.Prefix) config.Requester {
	addr = addr.WithZone("")
	r := config.Requester{Address: addr}
	if len(machines) == 0 || !addr.Is6() || addr.Is4In6() {
		return r // no lookups at all for a site without machines
	}
	if leaseAt != nil {
		if l, ok := leaseAt(addr); ok {
			if r.Machine = machineOfClient(machines, l.DUID, l.HardwareAddr); r.Machine != "" {
				r.By = config.AttributedByLease
			}
			return r
		}
	}
	for name, m := range machines {
		if m.ReservedAddress == addr {
			r.Machine, r.By = name, config.AttributedByReservation
			return r
		}
	}
	mac, ok := config.MACFromEUI64(addr)
	if !ok || !(addr.IsLinkLocalUnicast() || slices.ContainsFunc(onLink, func(p netip.Prefix) bool { return p.Contains(addr) })) {
		return r
	}
	for name, m := range machines {
		if slices.Contains(m.MACs, mac) {
			r.Machine, r.By = name, config.AttributedBySLAAC
			return r
		}
	}
	return r
}

// machineOfClient is the machine of the DHCPv6 client with duid and
// hardware address mac (as a lease records it), or "", in the order
// lease.ClientIndex recognises machines for reservations: its DUID, then
// the MAC address, then a DUID-UUID's UUID; identifiers are unique across
// machines, so each names at most one.
func machineOfClient(machines map[string]config.Machine, duid []byte, mac string) string {
	for _, id := range [3][3]string{{"", hex.EncodeToString(duid), ""}, {mac, "", ""}, {"", "", lease.UUIDOfDUID(duid)}} {
		if id == [3]string{} {
			continue
		}
		for name, m := range machines {
			if m.Identifies(id[0], id[1], id[2]) {
				return name
			}
		}
	}
	return ""
}

// attribution is what a site attributes request addresses with, swapped
// whole when its DHCPv6 server or configuration changes, since requests
// read it while the service changes the site.
type attribution struct {
	dhcp   *dhcp6.Server
	onLink []netip.Prefix
	shared sharedLeases // nil unless leases are in a shared database
}

// sharedLeases is a lease database other agents write to as well
// (pglease.Leases): a lease a peer granted is looked up there.
type sharedLeases interface {
	LeaseAt(netip.Addr) (lease.Lease, bool, error)
	Err() error
}

// leaseAt is the live address lease of a: this agent's DHCPv6 server
// first, then the shared database when it is reachable.
func (a *attribution) leaseAt(addr netip.Addr) (lease.Lease, bool) {
	if a.dhcp != nil {
		if l, ok := a.dhcp.LeaseAt(addr); ok {
			return l, true
		}
	}
	if a.shared != nil && a.shared.Err() == nil {
		if l, ok, err := a.shared.LeaseAt(addr); err == nil && ok {
			return l, true
		}
	}
	return lease.Lease{}, false
}

// publishAttribution makes the site's current DHCPv6 server and links
// what requests are attributed with; s.mu of the core is held.
func (s *site) publishAttribution() {
	a := &attribution{dhcp: s.dhcp, onLink: []netip.Prefix{s.cfg.Prefix}}
	for _, rl := range s.cfg.DHCPv6.RelayedLinks {
		a.onLink = append(a.onLink, rl.Prefix)
	}
	a.shared, _ = s.leases.(sharedLeases)
	s.attribution.Store(a)
}

// requester attributes a request from addr to one of the agent's
// machines (attribute).
func (s *site) requester(addr netip.Addr) config.Requester {
	a := s.attribution.Load()
	if a == nil || s.machines == nil {
		return attribute(addr, nil, nil, nil)
	}
	return attribute(addr, s.machines(), a.leaseAt, a.onLink)
}
