package dhcp6

import (
	"slices"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
)

// reservationsIn are the reservations a link (cfg: the direct one, or a
// relayed one's view) serves: a machine's reserved address on the link
// whose prefix holds it, a machine's reserved prefix on every link that
// delegates prefixes of its length (a prefix is routed to its client, not
// on-link anywhere), inside the link's pool or outside it.
func reservationsIn(cfg *Config) []lease.Reservation {
	var in []lease.Reservation
	for _, r := range cfg.Reservations {
		if r.Prefix.IsValid() && delegatesLength(cfg, r.Prefix.Bits()) || !r.Prefix.IsValid() && cfg.Prefix.Contains(r.Address) {
			in = append(in, r)
		}
	}
	return in
}

// delegatesLength reports whether cfg's link delegates prefixes of bits.
func delegatesLength(cfg *Config, bits int) bool {
	pd := cfg.DHCPv6.PrefixDelegation
	return pd != nil && pd.Length == bits
}

// reservedIn reports whether l's address or prefix is reserved on cfg's
// link, so a lease on it is that link's even outside its ranges or pool.
func reservedIn(cfg *Config, l lease.Lease) bool {
	if l.Kind == lease.PD {
		p := l.Prefix()
		return delegatesLength(cfg, p.Bits()) && slices.ContainsFunc(cfg.Reservations, func(r lease.Reservation) bool { return r.Prefix == p })
	}
	return cfg.Prefix.Contains(l.Address) && slices.ContainsFunc(cfg.Reservations, func(r lease.Reservation) bool { return !r.Prefix.IsValid() && r.Address == l.Address })
}
