// Package config is the validated, typed form of a boot server. The agent
// builds it once from an API request; protocol servers only ever see values
// that passed Validate, so they never re-parse user input.
package config

import (
	"net/netip"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/bootfile"
)

// DHCPv6Mode selects how clients get addresses and options (RFC 8415).
type DHCPv6Mode string

const (
	// DHCPv6Stateful leases IA_NA addresses from ranges and answers
	// Information-Requests too.
	DHCPv6Stateful DHCPv6Mode = "stateful"
	// DHCPv6Stateless answers only Information-Request (addresses by SLAAC).
	DHCPv6Stateless DHCPv6Mode = "stateless"
	// DHCPv6Off runs no DHCPv6 server: SLAAC plus RDNSS/DNSSL only.
	DHCPv6Off DHCPv6Mode = "off"
)

// BootServer turns one interface into an IPv6 boot site.
type BootServer struct {
	Name      string
	Interface string
	Prefix    netip.Prefix
	RA        RouterAdvertisement
	DHCPv6    DHCPv6
	Boot      Boot
	// MachineDNS answers AAAA for machines' host names with their reserved
	// addresses inside Prefix; off by default.
	MachineDNS bool
}

// Boot says how clients find and fetch their boot files.
type Boot struct {
	// Rules pick the boot-file URL (DHCPv6 option 59): bootfile.Select
	// takes the most specific match.
	Rules []bootfile.Rule
	TFTP  bool
	// TFTPMaxTransfers caps concurrent TFTP transfers, and
	// TFTPMaxTransfersPerClient those to one client address, so one
	// client cannot take every slot.
	TFTPMaxTransfers          int
	TFTPMaxTransfersPerClient int
	HTTP                      bool
	// HTTPPort is where the HTTP server listens (80 by default).
	HTTPPort int
	// ServerAddress goes into boot URLs; the zero value means "the
	// interface's first permanent global address inside the prefix".
	ServerAddress netip.Addr
	// HTTPS serves the same files over TLS on the same addresses.
	HTTPS HTTPS
}

// HTTPS is the boot server's TLS listener. The certificate and key are the
// operator's, PEM; the agent never makes one up, so a client's trust in it
// is the operator's decision.
type HTTPS struct {
	Enabled bool
	// Port is where the HTTPS server listens (443 by default).
	Port int
	// CertificatePEM is the server certificate followed by any
	// intermediate CA certificates; PrivateKeyPEM its key.
	CertificatePEM, PrivateKeyPEM string
}

// DefaultHTTPSPort is HTTPS's port unless boot.https.port says otherwise.
const DefaultHTTPSPort = 443

// TFTP transfer limits: the defaults, and the most a boot server may allow
// (every transfer holds a socket, and one serving a short file a thread).
const (
	DefaultTFTPMaxTransfers          = 64
	DefaultTFTPMaxTransfersPerClient = 4
	MaxTFTPTransfers                 = 1024
)

// DefaultBoot serves TFTP and HTTP with bootfile.DefaultRules.
func DefaultBoot() Boot {
	return Boot{Rules: bootfile.DefaultRules(), TFTP: true, HTTP: true, HTTPPort: 80, HTTPS: HTTPS{Port: DefaultHTTPSPort},
		TFTPMaxTransfers: DefaultTFTPMaxTransfers, TFTPMaxTransfersPerClient: DefaultTFTPMaxTransfersPerClient}
}

// RouterAdvertisement is what radvd.conf would say for the interface.
type RouterAdvertisement struct {
	Managed                 bool
	OtherConfig             bool
	MinInterval             time.Duration
	MaxInterval             time.Duration
	RouterLifetime          time.Duration
	PrefixOnLink            bool
	PrefixAutonomous        bool
	PrefixValidLifetime     time.Duration
	PrefixPreferredLifetime time.Duration
	RDNSS                   []netip.Addr
	DNSSL                   []string
	DNSLifetime             time.Duration
}

// AddressRange is an inclusive range of addresses to lease.
type AddressRange struct {
	Start netip.Addr
	End   netip.Addr
}

// Contains reports whether a lies in the range.
func (r AddressRange) Contains(a netip.Addr) bool {
	return r.Start.Compare(a) <= 0 && a.Compare(r.End) <= 0
}

// PrefixDelegation is a pool of prefixes of one length to delegate, as
// dhcpd6.conf's "prefix6 START END /LENGTH" says it: Start and End are the
// first and the last delegated prefix's address.
type PrefixDelegation struct {
	Start  netip.Addr
	End    netip.Addr
	Length int
}

// Covers reports whether a lies in one of the prefixes to delegate.
func (pd *PrefixDelegation) Covers(a netip.Addr) bool {
	last := netip.PrefixFrom(pd.End, pd.Length)
	return !a.Less(pd.Start) && (last.Contains(a) || a.Less(pd.End))
}

// Contains reports whether p is one of the prefixes to delegate.
func (pd *PrefixDelegation) Contains(p netip.Prefix) bool {
	return p.IsValid() && p.Bits() == pd.Length && p.Masked() == p &&
		pd.Start.Compare(p.Addr()) <= 0 && p.Addr().Compare(pd.End) <= 0
}

// DHCPv6 is what dhcpd6.conf would say for the subnet.
type DHCPv6 struct {
	Mode   DHCPv6Mode
	Ranges []AddressRange
	// TemporaryRanges lease IA_TA temporary addresses (RFC 8415 section
	// 6.5; dhcpd6.conf's "range6 … temporary"), apart from Ranges.
	TemporaryRanges []AddressRange
	// PrefixDelegation, when set, delegates prefixes to requesting routers
	// by IA_PD (RFC 8415 section 6.3; dhcpd6.conf's prefix6).
	PrefixDelegation  *PrefixDelegation
	DNSServers        []netip.Addr
	DomainSearch      []string
	Preference        uint8
	RenewTime         time.Duration
	RebindTime        time.Duration
	PreferredLifetime time.Duration
	ValidLifetime     time.Duration
	RapidCommit       bool
	InfoRefreshTime   time.Duration
	RateLimit         RateLimit
	// AllowLeasequery answers RFC 5007 LEASEQUERY (dhcpd6.conf's "allow
	// leasequery"); without it a requestor gets status NotAllowed, since
	// leasequery tells anyone on the link who holds which address.
	AllowLeasequery bool
	// MaxIAsPerMessage is how many IAs (IA_NA, IA_TA and IA_PD together)
	// of one Solicit or Request are served, and MaxLeasesPerClient how
	// many addresses and prefixes one DUID may hold at once. The IAs over
	// either get NoAddrsAvail or NoPrefixAvail (RFC 8415 section 18.3.2),
	// so one datagram of hundreds of IAs cannot empty the ranges. 0 means
	// no limit.
	MaxIAsPerMessage   int
	MaxLeasesPerClient int
	// RelayedLinks are the links behind DHCPv6 relays this server also
	// serves, each Name once. Their clients share every setting above but
	// the ones a RelayedLink overrides.
	RelayedLinks []RelayedLink
}

// RelayedLink is a link the agent has no interface on: its clients reach
// the server through a DHCPv6 relay (RFC 8415 section 19), which names the
// link by an address on it (the relay's link-address). Only the mode
// "stateful" leases on it; the addresses it leases come from its own ranges,
// apart from every other link's.
type RelayedLink struct {
	// Name is the operator's key for the link (a VLAN's name).
	Name string
	// Prefix is the link's on-link /64: a Relay-Forward whose innermost
	// link-address is inside it is this link's.
	Prefix          netip.Prefix
	Ranges          []AddressRange
	TemporaryRanges []AddressRange
	// PrefixDelegation, when set, delegates prefixes to the link's
	// requesting routers by IA_PD, as DHCPv6.PrefixDelegation does for the
	// directly attached link; unset, the link's IA_PDs get NoPrefixAvail.
	PrefixDelegation *PrefixDelegation
	// DNSServers and DomainSearch, when set, replace dhcpv6's for the
	// link's clients.
	DNSServers   []netip.Addr
	DomainSearch []string
	// InterfaceID, when set, names the link for a relay that sends no
	// link-address (::), by the Interface-Id option (18) it sends.
	InterfaceID string
}

// MaxInterfaceIDLength bounds relayed_links[].interface_id: relays send an
// interface name or a short circuit identifier.
const MaxInterfaceIDLength = 128

// RateLimit is a token bucket per client DUID, one per source address
// (DHCPv6 clients send from their link-local address) and one per relay
// address. A message either
// bucket refuses is dropped before any lease work. A rate of 0 turns that
// bucket off.
type RateLimit struct {
	// PerClientPerSecond and Burst bound one DUID: real clients send a
	// handful of messages per boot (Solicit, Request, retransmissions one
	// second apart and more), so this catches only a stuck or hostile one.
	PerClientPerSecond uint32
	Burst              uint32
	// PerSourcePerSecond and PerSourceBurst bound one source address,
	// whatever DUIDs it sends, so a host rotating DUIDs is caught. Load
	// generators such as perfdhcp simulate many clients from one address,
	// so the default sits above what the server can serve.
	PerSourcePerSecond uint32
	PerSourceBurst     uint32
	// PerRelayPerSecond and PerRelayBurst bound the Relay-Forwards from
	// one relay address, checked before they are unwrapped: a relay gone
	// wild, or a flood sent in a relay's name, then costs the server no
	// parsing beyond the first byte and leaves room for every other relay's
	// clients. The clients behind a relay are still limited one by one
	// once unwrapped.
	PerRelayPerSecond uint32
	PerRelayBurst     uint32
}
