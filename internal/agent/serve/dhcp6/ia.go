package dhcp6

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/eventkind"
)

// ia is one identity association of a client message (RFC 8415 section
// 12): an IA_NA, IA_TA or IA_PD, with the addresses or prefixes the client
// listed in it. The three are handled alike; only their options differ.
type ia struct {
	kind lease.Kind
	id   [4]byte
	// listed are the addresses (as /128s) or prefixes of the IA; hints
	// without an address (such as "::/56", a length hint) are left out.
	listed []netip.Prefix
}

func (x ia) iaid() uint32 { return binary.BigEndian.Uint32(x.id[:]) }

// iaNames are what logs and messages call each kind.
var iaNames = map[lease.Kind]string{lease.NA: "IA_NA", lease.TA: "IA_TA", lease.PD: "IA_PD"}

// iasOf returns the IAs of req: its IA_NAs, then IA_TAs, then IA_PDs.
func iasOf(req *dhcpv6.Message) []ia {
	var out []ia
	for _, o := range req.Options.IANA() {
		out = append(out, ia{kind: lease.NA, id: o.IaId, listed: addrsOf(o.Options.Addresses())})
	}
	for _, o := range req.Options.IATA() {
		out = append(out, ia{kind: lease.TA, id: o.IaId, listed: addrsOf(o.Options.Addresses())})
	}
	for _, o := range req.Options.IAPD() {
		x := ia{kind: lease.PD, id: o.IaId}
		for _, p := range o.Options.Prefixes() {
			if p.Prefix == nil {
				continue
			}
			bits, size := p.Prefix.Mask.Size()
			addr, ok := netip.AddrFromSlice(p.Prefix.IP)
			if ok && size == 128 && usableAddr(addr) {
				x.listed = append(x.listed, netip.PrefixFrom(addr, bits))
			}
		}
		out = append(out, x)
	}
	return out
}

// addrsOf returns the addresses a client listed in an IA_NA or IA_TA.
func addrsOf(opts []*dhcpv6.OptIAAddress) []netip.Prefix {
	var out []netip.Prefix
	for _, a := range opts {
		if addr, ok := netip.AddrFromSlice(a.IPv6Addr); ok && usableAddr(addr) {
			out = append(out, netip.PrefixFrom(addr, 128))
		}
	}
	return out
}

func usableAddr(a netip.Addr) bool { return a.Is6() && !a.Is4In6() && !a.IsUnspecified() }

// served says why cfg leases nothing of kind, or "" when it does.
func served(kind lease.Kind, cfg *Config) string {
	switch {
	case cfg.DHCPv6.Mode != config.DHCPv6Stateful:
		return "this server is stateless: addresses come from SLAAC"
	case kind == lease.TA && len(cfg.DHCPv6.TemporaryRanges) == 0:
		return "no temporary ranges: this server leases no temporary addresses"
	case kind == lease.PD && cfg.DHCPv6.PrefixDelegation == nil:
		return "no prefix delegation configured"
	}
	return ""
}

// unavailable is the status of an IA that gets nothing: NoPrefixAvail for
// an IA_PD, else NoAddrsAvail (RFC 8415 section 21.13).
func unavailable(kind lease.Kind) iana.StatusCode {
	if kind == lease.PD {
		return iana.StatusNoPrefixAvail
	}
	return iana.StatusNoAddrsAvail
}

// refusals counts the IAs of one message refused by the per-client
// limits, so the message costs one log line however many IAs it holds.
type refusals struct {
	overMessage, overClient int
}

// overMessage says why IA number i of a message is not served, or "" when
// it is: only the first max_ias_per_message are.
func (r *refusals) overMessageLimit(i int, cfg *Config) string {
	if limit := cfg.DHCPv6.MaxIAsPerMessage; limit > 0 && i >= limit {
		r.overMessage++
		return fmt.Sprintf("only %d IAs of one message are served", limit)
	}
	return ""
}

// overClientLimit is the reason for an IA refused with lease.ErrClientLimit.
func (r *refusals) overClientLimit(cfg *Config) string {
	r.overClient++
	return fmt.Sprintf("the client holds %d leases, as many as one client may", cfg.DHCPv6.MaxLeasesPerClient)
}

// log reports the refusals of one message, if any.
func (r *refusals) log(logger *slog.Logger, req *dhcpv6.Message, c client, cfg *Config) {
	if r.overMessage == 0 && r.overClient == 0 {
		return
	}
	logger.Warn("refusing IAs over the per-client limits", append(c.attrs(), "msg_type", req.MessageType.String(),
		"over_max_ias_per_message", r.overMessage, "max_ias_per_message", cfg.DHCPv6.MaxIAsPerMessage,
		"over_max_leases_per_client", r.overClient, "max_leases_per_client", cfg.DHCPv6.MaxLeasesPerClient)...)
}

// exhausted says which pool ran dry.
func exhausted(kind lease.Kind) string {
	switch kind {
	case lease.TA:
		return "no free address in the temporary ranges"
	case lease.PD:
		return "no free prefix to delegate"
	}
	return "no free address in the ranges"
}

// inSpace reports whether p is leased from kind's ranges under cfg.
func inSpace(kind lease.Kind, p netip.Prefix, cfg *Config) bool {
	var ranges []config.AddressRange
	switch kind {
	case lease.PD:
		return cfg.DHCPv6.PrefixDelegation != nil && cfg.DHCPv6.PrefixDelegation.Contains(p)
	case lease.TA:
		ranges = cfg.DHCPv6.TemporaryRanges
	default:
		ranges = cfg.DHCPv6.Ranges
	}
	if p.Bits() != 128 {
		return false
	}
	for _, r := range ranges {
		if r.Contains(p.Addr()) {
			return true
		}
	}
	return false
}

func anyInSpace(kind lease.Kind, ps []netip.Prefix, cfg *Config) bool {
	for _, p := range ps {
		if inSpace(kind, p, cfg) {
			return true
		}
	}
	return false
}

// hintOf is the address or prefix the client would like (RFC 8415 section
// 18.3.1 calls those in a Solicit's IA hints): the first it lists that the
// server leases, or the zero Addr.
func hintOf(x ia, cfg *Config) netip.Addr {
	for _, p := range x.listed {
		if inSpace(x.kind, p, cfg) {
			return p.Addr()
		}
	}
	return netip.Addr{}
}

func without(ps []netip.Prefix, p netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for _, q := range ps {
		if q != p {
			out = append(out, q)
		}
	}
	return out
}

// iaGrant is x's IA option holding granted with the configured T1, T2 and
// lifetimes, plus ended with lifetimes 0: the client must stop using them
// now (RFC 8415 section 18.3.4). An IA_TA has no T1 and T2.
func iaGrant(x ia, cfg *Config, granted netip.Prefix, ended ...netip.Prefix) dhcpv6.Option {
	opts := dhcpv6.Options{leaseOption(x.kind, granted, cfg.DHCPv6.PreferredLifetime, cfg.DHCPv6.ValidLifetime)}
	for _, p := range ended {
		opts.Add(leaseOption(x.kind, p, 0, 0))
	}
	return iaOption(x, cfg.DHCPv6.RenewTime, cfg.DHCPv6.RebindTime, opts)
}

// iaEnded is x's IA option telling the client to stop using ended now.
func iaEnded(x ia, ended []netip.Prefix) dhcpv6.Option {
	var opts dhcpv6.Options
	for _, p := range ended {
		opts.Add(leaseOption(x.kind, p, 0, 0))
	}
	return iaOption(x, 0, 0, opts)
}

// iaStatus is x's IA option carrying only a status.
func iaStatus(x ia, code iana.StatusCode, msg string) dhcpv6.Option {
	return iaOption(x, 0, 0, dhcpv6.Options{&dhcpv6.OptStatusCode{StatusCode: code, StatusMessage: msg}})
}

func iaOption(x ia, t1, t2 time.Duration, opts dhcpv6.Options) dhcpv6.Option {
	switch x.kind {
	case lease.TA:
		return &dhcpv6.OptIATA{IaId: x.id, Options: dhcpv6.IdentityOptions{Options: opts}}
	case lease.PD:
		return &dhcpv6.OptIAPD{IaId: x.id, T1: t1, T2: t2, Options: dhcpv6.PDOptions{Options: opts}}
	}
	return &dhcpv6.OptIANA{IaId: x.id, T1: t1, T2: t2, Options: dhcpv6.IdentityOptions{Options: opts}}
}

// leaseOption is an IA Address option (5) for an address, or an IA Prefix
// option (26) for a delegated prefix.
func leaseOption(kind lease.Kind, p netip.Prefix, preferred, valid time.Duration) dhcpv6.Option {
	if kind == lease.PD {
		return &dhcpv6.OptIAPrefix{
			PreferredLifetime: preferred,
			ValidLifetime:     valid,
			Prefix:            &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), 128)},
		}
	}
	return &dhcpv6.OptIAAddress{IPv6Addr: p.Addr().AsSlice(), PreferredLifetime: preferred, ValidLifetime: valid}
}

// leaseAttrs are the log fields naming what l binds.
func leaseAttrs(l lease.Lease) []any { return []any{leaseAttr(l)} }

// leaseAttr is leaseAttrs as one slog.Attr.
func leaseAttr(l lease.Lease) slog.Attr {
	if l.Kind == lease.PD {
		return slog.Any("prefix", l.Prefix())
	}
	return slog.Any("address", l.Address)
}

// storedAttrs are the fields of the line logged once a granted or renewed
// lease l of IA x is stored: the client's, the message's, the IA's and the
// lease's. A line is logged per lease, so they are built as slog.Attrs,
// without boxing each value as key-value pairs do.
func storedAttrs(c client, typ dhcpv6.MessageType, x ia, l lease.Lease, extra int) []slog.Attr {
	attrs := c.appendLogAttrs(make([]slog.Attr, 0, 11+extra))
	return append(attrs, eventkind.Lease.Attr(), slog.String("msg_type", typ.String()), slog.String("ia_type", iaNames[x.kind]),
		slog.Uint64("iaid", uint64(x.iaid())), leaseAttr(l), slog.Time("valid_until", l.ValidUntil))
}
