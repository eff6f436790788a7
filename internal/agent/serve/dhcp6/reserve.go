package dhcp6

import (
	"net/netip"
	"slices"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
)

// reservationsIn are the reservations a link with on-link prefix p serves:
// a machine's reserved address is given on the link it belongs to.
func reservationsIn(rs []lease.Reservation, p netip.Prefix) []lease.Reservation {
	var in []lease.Reservation
	for _, r := range rs {
		if p.Contains(r.Address) {
			in = append(in, r)
		}
	}
	return in
}

// reservedIn reports whether a is reserved on cfg's link, so a lease on it
// is that link's even outside its ranges.
func reservedIn(cfg *Config, a netip.Addr) bool {
	return cfg.Prefix.Contains(a) && slices.ContainsFunc(cfg.Reservations, func(r lease.Reservation) bool { return r.Address == a })
}
