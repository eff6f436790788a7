// Package lease holds DHCPv6 leases (addresses and delegated prefixes) and
// the pool that hands them out.
package lease

import (
	"encoding/json"
	"net/netip"
	"time"
)

// Kind is the type of identity association a lease belongs to (RFC 8415
// section 12). A client's IAIDs are unique per kind, and each kind leases
// from its own ranges.
type Kind string

const (
	// NA is a non-temporary address (IA_NA).
	NA Kind = "na"
	// TA is a temporary address (IA_TA, RFC 8415 section 6.5).
	TA Kind = "ta"
	// PD is a delegated prefix (IA_PD, RFC 8415 section 6.3).
	PD Kind = "pd"
)

func (k Kind) valid() bool { return k == NA || k == TA || k == PD }

// Lease binds one address or prefix to one client identity (kind, DUID and
// IAID) until ValidUntil (RFC 8415 section 6.6).
type Lease struct {
	Kind Kind `json:"kind"`
	// Address is the leased address, or the first address of the
	// delegated prefix.
	Address netip.Addr `json:"address"`
	// PrefixLength is the delegated prefix's length; 0 for addresses.
	PrefixLength   int       `json:"prefix_length,omitempty"`
	DUID           []byte    `json:"duid"`
	IAID           uint32    `json:"iaid"`
	PreferredUntil time.Time `json:"preferred_until"`
	ValidUntil     time.Time `json:"valid_until"`
	// LastTransaction is when the client last bound or renewed the lease,
	// for RFC 5007 leasequery's client-last-transaction time.
	LastTransaction time.Time `json:"last_transaction,omitzero"`
	// What the client said about itself, for operators and boot decisions.
	ClientArch   *uint16 `json:"client_arch,omitempty"`
	UserClass    string  `json:"user_class,omitempty"`
	HardwareAddr string  `json:"hardware_addr,omitempty"`
	// HardwareAddrSource says where HardwareAddr came from: "duid" (the
	// client's DUID-LL or DUID-LLT), "relay" (the Client Link-Layer
	// Address option a DHCPv6 relay added, RFC 6939) or "link-local" (the EUI-64 interface
	// identifier of the client's link-local source address).
	HardwareAddrSource string `json:"hardware_addr_source,omitempty"`
}

// UnmarshalJSON reads a stored lease. Records written before leases had a
// kind are IA_NA addresses.
func (l *Lease) UnmarshalJSON(b []byte) error {
	type plain Lease
	if err := json.Unmarshal(b, (*plain)(l)); err != nil {
		return err
	}
	if l.Kind == "" {
		l.Kind = NA
	}
	return nil
}

// Prefix is what the lease binds: the delegated prefix, or the address as
// a /128.
func (l *Lease) Prefix() netip.Prefix {
	if l.Kind == PD {
		return netip.PrefixFrom(l.Address, l.PrefixLength)
	}
	return netip.PrefixFrom(l.Address, 128)
}

// Expired reports whether the lease no longer binds its address at now.
func (l *Lease) Expired(now time.Time) bool { return !now.Before(l.ValidUntil) }
