package config

import (
	"maps"
	"math"
	"net/netip"
	"slices"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/bootfile"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
	"google.golang.org/protobuf/proto"
)

// Defaults are the values the provider schema fills in when a user leaves an
// attribute out. They follow radvd and ISC dhcpd where those have defaults.
var Defaults = struct {
	MinInterval, MaxInterval, RouterLifetime     time.Duration
	PrefixValidLifetime, PrefixPreferredLifetime time.Duration
	DNSLifetime                                  time.Duration
	RenewTime, RebindTime                        time.Duration
	PreferredLifetime, ValidLifetime             time.Duration
	Preference                                   uint8
	DHCPv6Mode                                   DHCPv6Mode
	RateLimit                                    RateLimit
	MaxIAsPerMessage, MaxLeasesPerClient         int
}{
	MinInterval:             198 * time.Second, // radvd: 0.33 × MaxRtrAdvInterval
	MaxInterval:             600 * time.Second,
	RouterLifetime:          0, // a boot server is not a default router unless asked
	PrefixValidLifetime:     86400 * time.Second,
	PrefixPreferredLifetime: 14400 * time.Second,
	DNSLifetime:             1800 * time.Second, // RFC 8106: 3 × MaxRtrAdvInterval
	RenewTime:               1800 * time.Second,
	RebindTime:              2880 * time.Second,
	PreferredLifetime:       3600 * time.Second,
	ValidLifetime:           7200 * time.Second,
	Preference:              0,
	DHCPv6Mode:              DHCPv6Stateful,
	// A client gets 20 messages at once and 10 a second after; one source
	// address gets 20,000 a second, above the 16,000 messages a second of
	// perfdhcp's 8,000 exchanges, the most the benchmarks offer. One relay
	// gets 5,000 a second, a quarter of that, and 10,000 at once: the
	// Solicit, Request and a retransmission or two of thousands of
	// machines powered on together behind it, while a relay gone wild
	// leaves most of the server to the others.
	RateLimit: RateLimit{PerClientPerSecond: 10, Burst: 20, PerSourcePerSecond: 20000, PerSourceBurst: 40000,
		PerRelayPerSecond: 5000, PerRelayBurst: 10000},
	// A host asks for one address per interface, a router for a prefix or
	// two: 8 IAs in one message and 16 leases per DUID leave room for a
	// multi-homed client and its retries while stopping a flood of IAs.
	MaxIAsPerMessage:   8,
	MaxLeasesPerClient: 16,
}

// FromProto converts an API object into a BootServer and validates it.
// Unparseable addresses become FieldErrors naming the attribute; the rest
// is validated all the same, so every problem is reported at once.
func FromProto(pb *netbootv1.BootServer) (BootServer, error) {
	var errs FieldErrors
	b := BootServer{Name: pb.GetName(), Interface: pb.GetInterface()}
	if p, err := netip.ParsePrefix(pb.GetPrefix()); err == nil {
		b.Prefix = p
	} else if pb.GetPrefix() != "" {
		errs.add("must be an IPv6 prefix such as \"2001:db8:1::/64\": "+err.Error(), "prefix")
	}
	ra := pb.GetRouterAdvertisement()
	b.RA = RouterAdvertisement{
		Managed:                 ra.GetManaged(),
		OtherConfig:             ra.GetOtherConfig(),
		MinInterval:             seconds(ra.GetMinIntervalSeconds()),
		MaxInterval:             seconds(ra.GetMaxIntervalSeconds()),
		RouterLifetime:          seconds(ra.GetRouterLifetimeSeconds()),
		PrefixOnLink:            ra.GetPrefixOnLink(),
		PrefixAutonomous:        ra.GetPrefixAutonomous(),
		PrefixValidLifetime:     seconds(ra.GetPrefixValidLifetimeSeconds()),
		PrefixPreferredLifetime: seconds(ra.GetPrefixPreferredLifetimeSeconds()),
		RDNSS:                   parseAddrs(&errs, ra.GetRdnss(), "router_advertisement", "rdnss"),
		DNSSL:                   ra.GetDnssl(),
		DNSLifetime:             seconds(ra.GetDnsLifetimeSeconds()),
	}
	d := pb.GetDhcpv6()
	b.DHCPv6 = DHCPv6{
		Mode:               DHCPv6Mode(d.GetMode()),
		DNSServers:         parseAddrs(&errs, d.GetDnsServers(), "dhcpv6", "dns_servers"),
		DomainSearch:       d.GetDomainSearch(),
		RenewTime:          seconds(d.GetRenewTimeSeconds()),
		RebindTime:         seconds(d.GetRebindTimeSeconds()),
		PreferredLifetime:  seconds(d.GetPreferredLifetimeSeconds()),
		ValidLifetime:      seconds(d.GetValidLifetimeSeconds()),
		RapidCommit:        d.GetRapidCommit(),
		InfoRefreshTime:    seconds(d.GetInfoRefreshTimeSeconds()),
		RateLimit:          Defaults.RateLimit,
		AllowLeasequery:    d.GetAllowLeasequery(),
		MaxIAsPerMessage:   Defaults.MaxIAsPerMessage,
		MaxLeasesPerClient: Defaults.MaxLeasesPerClient,
	}
	if d != nil && d.MaxIasPerMessage != nil {
		b.DHCPv6.MaxIAsPerMessage = int(min(*d.MaxIasPerMessage, math.MaxInt32))
	}
	if d != nil && d.MaxLeasesPerClient != nil {
		b.DHCPv6.MaxLeasesPerClient = int(min(*d.MaxLeasesPerClient, math.MaxInt32))
	}
	if rl := d.GetRateLimit(); rl != nil {
		b.DHCPv6.RateLimit = RateLimit{
			PerClientPerSecond: rl.GetPerClientPerSecond(),
			Burst:              rl.GetBurst(),
			PerSourcePerSecond: rl.GetPerSourcePerSecond(),
			PerSourceBurst:     rl.GetPerSourceBurst(),
			PerRelayPerSecond:  rl.GetPerRelayPerSecond(),
			PerRelayBurst:      rl.GetPerRelayBurst(),
		}
	}
	if d.GetPreference() > 255 {
		errs.add("must be between 0 and 255", "dhcpv6", "preference")
	} else {
		b.DHCPv6.Preference = uint8(d.GetPreference())
	}
	b.DHCPv6.Ranges = parseRanges(&errs, d.GetRanges(), "dhcpv6", "ranges")
	b.DHCPv6.TemporaryRanges = parseRanges(&errs, d.GetTemporaryRanges(), "dhcpv6", "temporary_ranges")
	b.DHCPv6.RelayedLinks = relayedLinksFromProto(&errs, d.GetRelayedLinks())
	b.DHCPv6.PrefixDelegation = prefixDelegationFromProto(&errs, d.GetPrefixDelegation(), "dhcpv6", "prefix_delegation")
	b.Boot = bootFromProto(&errs, pb.GetBoot())
	b.MachineDNS = pb.GetMachineDns()
	if len(errs) == 0 {
		return b, b.Validate()
	}
	// Validate reports an unparsed value again, as the zero value it holds.
	more, _ := AsFieldErrors(b.Validate())
	for _, fe := range more {
		if !slices.ContainsFunc(errs, func(e *FieldError) bool { return e.Field() == fe.Field() }) {
			errs = append(errs, fe)
		}
	}
	return b, errs
}

// uintOr is n as an int, or def when n is 0 (unset in the API). A value
// too large for an int becomes one that validation refuses.
func uintOr(n uint32, def int) int {
	if n == 0 {
		return def
	}
	return int(min(uint64(n), math.MaxInt32))
}

func bootFromProto(errs *FieldErrors, pb *netbootv1.Boot) Boot {
	if pb == nil {
		return DefaultBoot()
	}
	bt := Boot{TFTP: pb.GetTftpEnabled(), HTTP: pb.GetHttpEnabled(), HTTPPort: int(pb.GetHttpPort()),
		TFTPMaxTransfers:          uintOr(pb.GetTftpMaxTransfers(), DefaultTFTPMaxTransfers),
		TFTPMaxTransfersPerClient: uintOr(pb.GetTftpMaxTransfersPerClient(), DefaultTFTPMaxTransfersPerClient)}
	if bt.HTTPPort == 0 {
		bt.HTTPPort = 80
	}
	h := pb.GetHttps()
	bt.HTTPS = HTTPS{Enabled: h.GetEnabled(), Port: uintOr(h.GetPort(), DefaultHTTPSPort),
		CertificatePEM: h.GetCertificatePem(), PrivateKeyPEM: h.GetPrivateKeyPem()}
	if s := pb.GetServerAddress(); s != "" {
		a, err := netip.ParseAddr(s)
		if err != nil {
			errs.add("must be an IPv6 address: "+err.Error(), "boot", "server_address")
		}
		bt.ServerAddress = a
	}
	for i, r := range pb.GetRules() {
		rule := bootfile.Rule{
			UserClass: r.GetUserClass(), VendorClass: r.GetVendorClass(), DUIDs: r.GetDuids(), MACs: r.GetMacs(),
			Labels: maps.Clone(r.GetLabels()),
			File:   r.GetFile(), Via: bootfile.Protocol(r.GetVia()), URL: r.GetUrl(), Parameters: r.GetParameters(),
		}
		for j, a := range r.GetArch() {
			if a > 0xffff {
				errs.add("must be a client architecture type between 0 and 65535 (option 61)", "boot", "rules", i, "arch", j)
				continue
			}
			rule.Arch = append(rule.Arch, uint16(a))
		}
		bt.Rules = append(bt.Rules, rule)
	}
	return bt
}

// ToProto is the inverse of FromProto; addresses come out in canonical form.
func (b *BootServer) ToProto() *netbootv1.BootServer {
	pb := &netbootv1.BootServer{
		Name:       b.Name,
		Interface:  b.Interface,
		MachineDns: b.MachineDNS,
		Prefix:     b.Prefix.String(),
		RouterAdvertisement: &netbootv1.RouterAdvertisement{
			Managed:                        b.RA.Managed,
			OtherConfig:                    b.RA.OtherConfig,
			MinIntervalSeconds:             secs(b.RA.MinInterval),
			MaxIntervalSeconds:             secs(b.RA.MaxInterval),
			RouterLifetimeSeconds:          secs(b.RA.RouterLifetime),
			PrefixOnLink:                   b.RA.PrefixOnLink,
			PrefixAutonomous:               b.RA.PrefixAutonomous,
			PrefixValidLifetimeSeconds:     secs(b.RA.PrefixValidLifetime),
			PrefixPreferredLifetimeSeconds: secs(b.RA.PrefixPreferredLifetime),
			Rdnss:                          addrStrings(b.RA.RDNSS),
			Dnssl:                          b.RA.DNSSL,
			DnsLifetimeSeconds:             secs(b.RA.DNSLifetime),
		},
		Dhcpv6: &netbootv1.DHCPv6{
			Mode:                     string(b.DHCPv6.Mode),
			DnsServers:               addrStrings(b.DHCPv6.DNSServers),
			DomainSearch:             b.DHCPv6.DomainSearch,
			Preference:               uint32(b.DHCPv6.Preference),
			RenewTimeSeconds:         secs(b.DHCPv6.RenewTime),
			RebindTimeSeconds:        secs(b.DHCPv6.RebindTime),
			PreferredLifetimeSeconds: secs(b.DHCPv6.PreferredLifetime),
			ValidLifetimeSeconds:     secs(b.DHCPv6.ValidLifetime),
			RapidCommit:              b.DHCPv6.RapidCommit,
			InfoRefreshTimeSeconds:   secs(b.DHCPv6.InfoRefreshTime),
			RateLimit: &netbootv1.DHCPv6RateLimit{
				PerClientPerSecond: b.DHCPv6.RateLimit.PerClientPerSecond,
				Burst:              b.DHCPv6.RateLimit.Burst,
				PerSourcePerSecond: b.DHCPv6.RateLimit.PerSourcePerSecond,
				PerSourceBurst:     b.DHCPv6.RateLimit.PerSourceBurst,
				PerRelayPerSecond:  b.DHCPv6.RateLimit.PerRelayPerSecond,
				PerRelayBurst:      b.DHCPv6.RateLimit.PerRelayBurst,
			},
			AllowLeasequery:    b.DHCPv6.AllowLeasequery,
			MaxIasPerMessage:   proto.Uint32(uint32(b.DHCPv6.MaxIAsPerMessage)),
			MaxLeasesPerClient: proto.Uint32(uint32(b.DHCPv6.MaxLeasesPerClient)),
		},
	}
	pb.Dhcpv6.Ranges = rangesToProto(b.DHCPv6.Ranges)
	pb.Dhcpv6.TemporaryRanges = rangesToProto(b.DHCPv6.TemporaryRanges)
	pb.Dhcpv6.RelayedLinks = relayedLinksToProto(b.DHCPv6.RelayedLinks)
	pb.Dhcpv6.PrefixDelegation = prefixDelegationToProto(b.DHCPv6.PrefixDelegation)
	pb.Boot = &netbootv1.Boot{TftpEnabled: b.Boot.TFTP, HttpEnabled: b.Boot.HTTP, HttpPort: uint32(b.Boot.HTTPPort),
		TftpMaxTransfers: uint32(b.Boot.TFTPMaxTransfers), TftpMaxTransfersPerClient: uint32(b.Boot.TFTPMaxTransfersPerClient)}
	if b.Boot.ServerAddress.IsValid() {
		pb.Boot.ServerAddress = b.Boot.ServerAddress.String()
	}
	// Left out when unused, so a boot server stored before HTTPS existed
	// and the same one written back compare equal.
	if h := b.Boot.HTTPS; h != (HTTPS{Port: DefaultHTTPSPort}) {
		pb.Boot.Https = &netbootv1.HTTPS{Enabled: h.Enabled, Port: uint32(h.Port),
			CertificatePem: h.CertificatePEM, PrivateKeyPem: h.PrivateKeyPEM}
	}
	for _, r := range b.Boot.Rules {
		rule := &netbootv1.BootFileRule{
			UserClass: r.UserClass, VendorClass: r.VendorClass, Duids: r.DUIDs, Macs: r.MACs, Labels: maps.Clone(r.Labels),
			File: r.File, Via: string(r.Via), Url: r.URL, Parameters: r.Parameters,
		}
		for _, a := range r.Arch {
			rule.Arch = append(rule.Arch, uint32(a))
		}
		pb.Boot.Rules = append(pb.Boot.Rules, rule)
	}
	return pb
}

func seconds(s uint32) time.Duration { return time.Duration(s) * time.Second }
func secs(d time.Duration) uint32    { return uint32(d / time.Second) }

func parseAddrs(errs *FieldErrors, in []string, path ...any) []netip.Addr {
	var out []netip.Addr
	for i, s := range in {
		// An unparsed address stays as the zero Addr, so indexes still match.
		out = append(out, parseAddr(errs, s, append(slices.Clone(path), i)...))
	}
	return out
}

// parseRanges reads the ranges at path (dhcpv6.ranges, …); an unparseable
// address becomes a FieldError and the invalid zero Addr, which Validate
// then skips.
func parseRanges(errs *FieldErrors, in []*netbootv1.AddressRange, path ...any) []AddressRange {
	var out []AddressRange
	for i, r := range in {
		out = append(out, AddressRange{
			Start: parseAddr(errs, r.GetStart(), append(slices.Clone(path), i, "start")...),
			End:   parseAddr(errs, r.GetEnd(), append(slices.Clone(path), i, "end")...),
		})
	}
	return out
}

// relayedLinksFromProto reads dhcpv6.relayed_links, sorted by name.
func relayedLinksFromProto(errs *FieldErrors, in map[string]*netbootv1.RelayedLink) []RelayedLink {
	var out []RelayedLink
	for _, name := range slices.Sorted(maps.Keys(in)) {
		pb := in[name]
		base := []any{"dhcpv6", "relayed_links", MapKey(name)}
		at := func(more ...any) []any { return append(slices.Clone(base), more...) }
		l := RelayedLink{
			Name:             name,
			Ranges:           parseRanges(errs, pb.GetRanges(), at("ranges")...),
			TemporaryRanges:  parseRanges(errs, pb.GetTemporaryRanges(), at("temporary_ranges")...),
			PrefixDelegation: prefixDelegationFromProto(errs, pb.GetPrefixDelegation(), at("prefix_delegation")...),
			DNSServers:       parseAddrs(errs, pb.GetDnsServers(), at("dns_servers")...),
			DomainSearch:     pb.GetDomainSearch(),
			InterfaceID:      pb.GetInterfaceId(),
		}
		if p, err := netip.ParsePrefix(pb.GetPrefix()); err == nil {
			l.Prefix = p
		} else if pb.GetPrefix() != "" {
			errs.add("must be an IPv6 prefix such as \"2001:db8:10::/64\": "+err.Error(), at("prefix")...)
		}
		out = append(out, l)
	}
	return out
}

func relayedLinksToProto(in []RelayedLink) map[string]*netbootv1.RelayedLink {
	if len(in) == 0 {
		return nil
	}
	out := map[string]*netbootv1.RelayedLink{}
	for _, l := range in {
		out[l.Name] = &netbootv1.RelayedLink{Prefix: l.Prefix.String(), Ranges: rangesToProto(l.Ranges), TemporaryRanges: rangesToProto(l.TemporaryRanges),
			PrefixDelegation: prefixDelegationToProto(l.PrefixDelegation), DnsServers: addrStrings(l.DNSServers), DomainSearch: l.DomainSearch,
			InterfaceId: l.InterfaceID}
	}
	return out
}

// prefixDelegationFromProto reads the prefix_delegation at path; nil when
// unset.
func prefixDelegationFromProto(errs *FieldErrors, pd *netbootv1.PrefixDelegation, path ...any) *PrefixDelegation {
	if pd == nil {
		return nil
	}
	return &PrefixDelegation{
		Start:  parseAddr(errs, pd.GetStart(), append(slices.Clone(path), "start")...),
		End:    parseAddr(errs, pd.GetEnd(), append(slices.Clone(path), "end")...),
		Length: int(min(pd.GetLength(), 255)),
	}
}

func prefixDelegationToProto(pd *PrefixDelegation) *netbootv1.PrefixDelegation {
	if pd == nil {
		return nil
	}
	return &netbootv1.PrefixDelegation{Start: pd.Start.String(), End: pd.End.String(), Length: uint32(pd.Length)}
}

func parseAddr(errs *FieldErrors, s string, path ...any) netip.Addr {
	a, err := netip.ParseAddr(s)
	if err != nil {
		errs.add("must be an IPv6 address: "+err.Error(), path...)
	}
	return a
}

func rangesToProto(in []AddressRange) []*netbootv1.AddressRange {
	var out []*netbootv1.AddressRange
	for _, r := range in {
		out = append(out, &netbootv1.AddressRange{Start: r.Start.String(), End: r.End.String()})
	}
	return out
}

func addrStrings(in []netip.Addr) []string {
	var out []string
	for _, a := range in {
		out = append(out, a.String())
	}
	return out
}
