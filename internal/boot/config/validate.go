package config

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/bootfile"
)

// FieldError names the attribute that is wrong, in the HCL spelling
// (e.g. "dhcpv6.ranges[0].start"), and why.
type FieldError struct {
	// Path holds attribute names (string) and list indexes (int).
	Path   []any
	Reason string
	// Depends holds the paths of the other attributes the check compared
	// this one with, so a caller that does not know them all yet (a
	// Terraform plan with module inputs unknown) can hold the error back.
	Depends [][]any
}

// Field renders Path the way Terraform users write it.
func (e *FieldError) Field() string {
	var b strings.Builder
	for _, step := range e.Path {
		switch s := step.(type) {
		case int:
			b.WriteString("[" + strconv.Itoa(s) + "]")
		case MapKey:
			b.WriteString("[" + strconv.Quote(string(s)) + "]")
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			fmt.Fprint(&b, s)
		}
	}
	return b.String()
}

// MapKey is a step of FieldError.Path: the key of an element of a map
// attribute, such as dhcpv6.relayed_links["vlan10"].
type MapKey string

func (e *FieldError) Error() string { return e.Field() + ": " + e.Reason }

// FieldErrors collects every problem at once so a user fixes them in one go.
type FieldErrors []*FieldError

func (es FieldErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

func (es *FieldErrors) add(reason string, path ...any) {
	*es = append(*es, &FieldError{Path: path, Reason: reason})
}

// addVs adds an error on path that follows from comparing it with the
// attributes at depends.
func (es *FieldErrors) addVs(reason string, path []any, depends ...[]any) {
	*es = append(*es, &FieldError{Path: path, Reason: reason, Depends: depends})
}

// CheckName says why name cannot name an object on the agent (a boot
// server, entry, menu or image), or nil.
func CheckName(name string) error {
	if !NamePattern.MatchString(name) {
		return errors.New(NameReason)
	}
	return nil
}

// NameReason says what CheckName wants, for messages about a name.
const NameReason = "must be 1-63 lowercase letters, digits, '-' or '_', starting with a letter or digit"

// AsFieldErrors extracts FieldErrors from err, if it carries any.
func AsFieldErrors(err error) (FieldErrors, bool) {
	var fes FieldErrors
	if errors.As(err, &fes) {
		return fes, true
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		return FieldErrors{fe}, true
	}
	return nil, false
}

// Linux limits interface names to 15 bytes (IFNAMSIZ-1) and forbids '/' and
// whitespace.
var interfaceNamePattern = regexp.MustCompile(`^[A-Za-z0-9_.:@-]{1,15}$`)

// NamePattern is what a boot server name may look like: it appears in URLs
// and file names.
var NamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// DUIDPattern is how boot rules name a client DUID: hex without
// separators, as leases show it, of 3 to 130 bytes (a 2-byte type and up
// to 128 bytes, RFC 8415 section 11.1).
var DUIDPattern = regexp.MustCompile(`^([0-9A-Fa-f]{2}){3,130}$`)

// MACPattern is how boot rules name a MAC address: as leases show it,
// six colon-separated hex bytes.
var MACPattern = regexp.MustCompile(`^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$`)

var dnsLabelPattern = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

// ValidDomainName reports why name is not a DNS domain name, or "" when it is.
func ValidDomainName(name string) string {
	name = strings.TrimSuffix(name, ".")
	if name == "" || len(name) > 253 {
		return "must be a DNS domain name of 1 to 253 characters"
	}
	for _, label := range strings.Split(name, ".") {
		if !dnsLabelPattern.MatchString(label) {
			return fmt.Sprintf("label %q must be 1-63 letters, digits or hyphens, not starting or ending with a hyphen", label)
		}
	}
	return ""
}

// CheckArtifactPath says why p cannot name an artifact, or nil: it must be
// what a TFTP or HTTP client can ask for unambiguously (the agent's TFTP
// server refuses the rest), and what a boot-file URL (option 59) can carry.
func CheckArtifactPath(p string) error {
	switch {
	case len(p) > 255:
		return errors.New("longer than 255 bytes")
	case !utf8.ValidString(p):
		return errors.New("not valid UTF-8")
	case strings.HasPrefix(p, "/"):
		return errors.New(`it starts with "/"`)
	case strings.ContainsRune(p, '\\'):
		return errors.New("it contains a backslash")
	case strings.ContainsFunc(p, unicode.IsControl):
		return errors.New("it contains a control character")
	case p == "." || !fs.ValidPath(p):
		return errors.New(`it has an empty, "." or ".." element`)
	}
	return nil
}

// Validate checks every field and returns FieldErrors listing all problems.
func (b *BootServer) Validate() error {
	var errs FieldErrors
	if err := CheckName(b.Name); err != nil {
		errs.add(err.Error(), "name")
	}
	if !interfaceNamePattern.MatchString(b.Interface) {
		errs.add("must be a Linux interface name of 1-15 characters without '/' or spaces (e.g. \"eth0\")", "interface")
	}
	prefixOK := b.validatePrefix(&errs)
	b.RA.validate(&errs, b.DHCPv6.Mode)
	b.DHCPv6.validate(&errs, b.Prefix, prefixOK)
	b.Boot.validate(&errs)
	if len(errs) > 0 {
		return errs
	}
	return nil
}

func (b *BootServer) validatePrefix(errs *FieldErrors) bool {
	return checkLinkPrefix(errs, b.Prefix, "prefix")
}

// checkLinkPrefix validates the on-link prefix of a link at path.
func checkLinkPrefix(errs *FieldErrors, p netip.Prefix, path ...any) bool {
	switch {
	case !p.IsValid():
		errs.add("must be an IPv6 prefix such as \"2001:db8:1::/64\"", path...)
	case !p.Addr().Is6() || p.Addr().Is4In6():
		errs.add("must be an IPv6 prefix, not IPv4", path...)
	case p.Bits() != 64:
		errs.add(fmt.Sprintf("must be a /64 (SLAAC and iPXE need a /64 on-link prefix), got /%d", p.Bits()), path...)
	case p.Masked() != p:
		errs.add(fmt.Sprintf("has host bits set: write %s", p.Masked()), path...)
	case p.Addr().IsLinkLocalUnicast() || p.Addr().IsMulticast():
		errs.add("must be a global or unique-local prefix, not link-local or multicast", path...)
	default:
		return true
	}
	return false
}

// maxRAInterval and minRAInterval are RFC 4861 section 6.2.1's bounds.
const (
	minRAInterval     = 3 * time.Second
	maxRAInterval     = 1800 * time.Second
	maxRouterLifetime = 9000 * time.Second
)

func (ra *RouterAdvertisement) validate(errs *FieldErrors, mode DHCPv6Mode) {
	const block = "router_advertisement"
	maxInterval, modePath := []any{block, "max_interval"}, []any{"dhcpv6", "mode"}
	if ra.MaxInterval < 4*time.Second || ra.MaxInterval > maxRAInterval {
		errs.add("must be between 4 and 1800 seconds (RFC 4861)", block, "max_interval")
	}
	if ra.MinInterval < minRAInterval || ra.MinInterval > ra.MaxInterval*3/4 {
		errs.addVs(fmt.Sprintf("must be between 3 seconds and 0.75 × max_interval (%d s) (RFC 4861)", int(ra.MaxInterval.Seconds()*3/4)),
			[]any{block, "min_interval"}, maxInterval)
	}
	if ra.RouterLifetime != 0 && (ra.RouterLifetime < ra.MaxInterval || ra.RouterLifetime > maxRouterLifetime) {
		errs.addVs("must be 0 (not a default router) or between max_interval and 9000 seconds (RFC 4861)",
			[]any{block, "router_lifetime"}, maxInterval)
	}
	if ra.PrefixPreferredLifetime > ra.PrefixValidLifetime {
		errs.addVs("must not exceed prefix_valid_lifetime", []any{block, "prefix_preferred_lifetime"}, []any{block, "prefix_valid_lifetime"})
	}
	if ra.DNSLifetime != 0 && ra.DNSLifetime < ra.MaxInterval {
		errs.addVs("must be 0 (remove) or at least max_interval (RFC 8106 recommends 3 × max_interval)",
			[]any{block, "dns_lifetime"}, maxInterval)
	}
	for i, a := range ra.RDNSS {
		if reason := unicastIPv6Reason(a); reason != "" {
			errs.add(reason, block, "rdnss", i)
		}
	}
	for i, d := range ra.DNSSL {
		if reason := ValidDomainName(d); reason != "" {
			errs.add(reason, block, "dnssl", i)
		}
	}
	switch mode {
	case DHCPv6Stateful:
		if !ra.Managed {
			errs.addVs("must be true when dhcpv6.mode is \"stateful\": clients such as iPXE only send a DHCPv6 Solicit when the RA has M=1",
				[]any{block, "managed"}, modePath)
		}
	case DHCPv6Stateless:
		if ra.Managed {
			errs.addVs("must be false when dhcpv6.mode is \"stateless\": no server would answer the clients' Solicits", []any{block, "managed"}, modePath)
		}
		if !ra.OtherConfig {
			errs.addVs("must be true when dhcpv6.mode is \"stateless\": clients only send Information-Request when the RA has O=1",
				[]any{block, "other_config"}, modePath)
		}
	case DHCPv6Off:
		if ra.Managed || ra.OtherConfig {
			path := "managed"
			if !ra.Managed {
				path = "other_config"
			}
			errs.addVs("must be false when dhcpv6.mode is \"off\": no DHCPv6 server would answer", []any{block, path}, modePath)
		}
	}
}

func unicastIPv6Reason(a netip.Addr) string {
	switch {
	case !a.IsValid():
		return "must be an IPv6 address"
	case !a.Is6() || a.Is4In6():
		return "must be an IPv6 address, not IPv4"
	case a.IsMulticast() || a.IsUnspecified() || a.IsLoopback():
		return "must be a unicast IPv6 address"
	case a.Zone() != "":
		return fmt.Sprintf("must not have a zone: write the address without %%%s", a.Zone())
	}
	return ""
}

func (d *DHCPv6) validate(errs *FieldErrors, prefix netip.Prefix, prefixOK bool) {
	const block = "dhcpv6"
	modePath := []any{block, "mode"}
	switch d.Mode {
	case DHCPv6Stateful, DHCPv6Stateless, DHCPv6Off:
	default:
		errs.add(fmt.Sprintf("must be one of \"stateful\", \"stateless\" or \"off\", got %q", d.Mode), block, "mode")
	}
	if d.Mode == DHCPv6Stateful && len(d.Ranges) == 0 {
		errs.addVs("needs at least one range when mode is \"stateful\"", []any{block, "ranges"}, modePath)
	}
	if d.Mode != DHCPv6Stateful && len(d.Ranges) > 0 {
		errs.addVs("are only used when mode is \"stateful\": remove them or set mode = \"stateful\"", []any{block, "ranges"}, modePath)
	}
	if d.Mode != DHCPv6Stateful && len(d.TemporaryRanges) > 0 {
		errs.addVs("are only used when mode is \"stateful\": remove them or set mode = \"stateful\"", []any{block, "temporary_ranges"}, modePath)
	}
	base := []any{block}
	ranges := checkRanges(errs, base, "ranges", d.Ranges, prefix, prefixOK, validRanges{})
	checkRanges(errs, base, "temporary_ranges", d.TemporaryRanges, prefix, prefixOK, ranges)
	d.validateRelayedLinks(errs, prefix, prefixOK)
	if d.PrefixDelegation != nil {
		if d.Mode != DHCPv6Stateful {
			errs.addVs("is only used when mode is \"stateful\": remove it or set mode = \"stateful\"", []any{block, "prefix_delegation"}, modePath)
		}
		d.PrefixDelegation.validate(errs, []any{block, "prefix_delegation"}, prefix, prefixOK, []any{"prefix"})
	}
	d.validateDelegationsApart(errs, prefix, prefixOK)
	for i, a := range d.DNSServers {
		if reason := unicastIPv6Reason(a); reason != "" {
			errs.add(reason, block, "dns_servers", i)
		}
	}
	for i, s := range d.DomainSearch {
		if reason := ValidDomainName(s); reason != "" {
			errs.add(reason, block, "domain_search", i)
		}
	}
	if d.ValidLifetime <= 0 {
		errs.add("must be greater than 0 seconds", block, "valid_lifetime")
	}
	if d.PreferredLifetime > d.ValidLifetime {
		errs.addVs("must not exceed valid_lifetime (RFC 8415 section 21.6)", []any{block, "preferred_lifetime"}, []any{block, "valid_lifetime"})
	}
	if d.RebindTime > d.PreferredLifetime {
		errs.addVs("must not exceed preferred_lifetime (renew_time ≤ rebind_time ≤ preferred_lifetime ≤ valid_lifetime)",
			[]any{block, "rebind_time"}, []any{block, "preferred_lifetime"})
	}
	if d.RenewTime > d.RebindTime {
		errs.addVs("must not exceed rebind_time (RFC 8415 section 21.4)", []any{block, "renew_time"}, []any{block, "rebind_time"})
	}
	if d.InfoRefreshTime != 0 && d.InfoRefreshTime < 600*time.Second {
		errs.add("must be 0 (client default of 86400 s) or at least 600 seconds (RFC 8415 IRT_MINIMUM)", block, "info_refresh_time")
	}
	d.RateLimit.validate(errs)
	if d.MaxIAsPerMessage < 0 || d.MaxIAsPerMessage > MaxIAsPerMessage {
		errs.add(fmt.Sprintf("must be between 0 (no limit) and %d", MaxIAsPerMessage), block, "max_ias_per_message")
	}
	if d.MaxLeasesPerClient < 0 || d.MaxLeasesPerClient > MaxLeasesPerClient {
		errs.add(fmt.Sprintf("must be between 0 (no limit) and %d", MaxLeasesPerClient), block, "max_leases_per_client")
	}
}

// MaxIAsPerMessage and MaxLeasesPerClient bound dhcpv6's attributes of the
// same names: a datagram holds a few hundred IAs at most, and a client
// with more leases than this is no boot client.
const (
	MaxIAsPerMessage   = 256
	MaxLeasesPerClient = 65536
)

// MaxRate bounds the rates of dhcpv6.rate_limit, MaxBurst their bursts:
// far above anything one server answers, low enough that a typo is caught.
const (
	MaxRate  = 1_000_000
	MaxBurst = 10_000_000
)

// validate checks dhcpv6.rate_limit. A bucket that is on must hold at
// least 2 tokens: a client sends its Request right after the Advertise to
// its Solicit, and a burst of 1 would drop it.
func (rl *RateLimit) validate(errs *FieldErrors) {
	path := []any{"dhcpv6", "rate_limit"}
	at := func(name string) []any { return append(slices.Clone(path), name) }
	for _, b := range []struct {
		rate, burst         uint32
		rateName, burstName string
	}{
		{rl.PerClientPerSecond, rl.Burst, "per_client_per_second", "burst"},
		{rl.PerSourcePerSecond, rl.PerSourceBurst, "per_source_per_second", "per_source_burst"},
		{rl.PerRelayPerSecond, rl.PerRelayBurst, "per_relay_per_second", "per_relay_burst"},
	} {
		if b.rate > MaxRate {
			errs.add(fmt.Sprintf("must be between 0 (no limit) and %d messages per second", MaxRate), at(b.rateName)...)
		}
		if b.rate > 0 && (b.burst < 2 || b.burst > MaxBurst) {
			errs.addVs(fmt.Sprintf("must be between 2 and %d when %s is set: a client sends Solicit and Request back to back", MaxBurst, b.rateName),
				at(b.burstName), at(b.rateName))
		}
	}
}

// checkRanges validates the ranges at base.<name> (dhcpv6.ranges, or a
// relayed link's): inside the link's prefix (at base.prefix, or the boot
// server's for dhcpv6 itself), start ≤ end, and overlapping neither each
// other nor the valid ranges of other, another list. It returns its own
// valid ranges.
func checkRanges(errs *FieldErrors, base []any, name string, ranges []AddressRange, prefix netip.Prefix, prefixOK bool, other validRanges) validRanges {
	at := func(more ...any) []any { return append(slices.Clone(base), more...) }
	prefixPath := []any{"prefix"}
	if len(base) > 1 {
		prefixPath = at("prefix")
	}
	own := validRanges{name: name}
	for i, r := range ranges {
		startOK := checkRangeEnd(errs, r.Start, prefix, prefixOK, prefixPath, at(name, i, "start")...)
		endOK := checkRangeEnd(errs, r.End, prefix, prefixOK, prefixPath, at(name, i, "end")...)
		if !startOK || !endOK {
			continue
		}
		if r.End.Less(r.Start) {
			errs.addVs(fmt.Sprintf("must not be below start (%s)", r.Start), at(name, i, "end"), at(name, i, "start"))
			continue
		}
		for _, list := range []validRanges{own, other} {
			for j, o := range list.ranges {
				if overlaps(r, o) {
					errs.addVs(fmt.Sprintf("overlaps %s[%d] (%s-%s)", list.name, list.index[j], o.Start, o.End),
						at(name, i), at(list.name, list.index[j]))
				}
			}
		}
		own.ranges = append(own.ranges, r)
		own.index = append(own.index, i)
	}
	return own
}

// validRanges are the ranges of one list that passed checkRanges, with
// their indexes in the list.
type validRanges struct {
	name   string
	ranges []AddressRange
	index  []int
}

func overlaps(a, b AddressRange) bool { return !a.End.Less(b.Start) && !b.End.Less(a.Start) }

// The lengths of delegated prefixes: a /48 is a site's usual allocation, a
// /64 one link's.
const (
	MinDelegatedLength = 48
	MaxDelegatedLength = 64
)

// validate checks the prefix_delegation at path (dhcpv6's or a relayed
// link's): as dhcpd6.conf's prefix6, two prefix addresses aligned to a
// length of 48 to 64 bits, in order, and outside the link's on-link prefix
// (at onLinkPath), whose addresses are the link's own.
func (pd *PrefixDelegation) validate(errs *FieldErrors, path []any, onLink netip.Prefix, prefixOK bool, onLinkPath []any) {
	at := func(name string) []any { return append(slices.Clone(path), name) }
	lengthOK := pd.Length >= MinDelegatedLength && pd.Length <= MaxDelegatedLength
	if !lengthOK {
		errs.add(fmt.Sprintf("must be between %d and %d (the length of each delegated prefix), got %d", MinDelegatedLength, MaxDelegatedLength, pd.Length), at("length")...)
	}
	ok := true
	for _, end := range []struct {
		name string
		a    netip.Addr
	}{{"start", pd.Start}, {"end", pd.End}} {
		reason := unicastIPv6Reason(end.a)
		if reason == "" && end.a.IsLinkLocalUnicast() {
			reason = "must be a global or unique-local prefix address, not link-local"
		}
		if reason != "" {
			errs.add(reason, at(end.name)...)
			ok = false
		} else if p := netip.PrefixFrom(end.a, pd.Length).Masked(); lengthOK && p.Addr() != end.a {
			errs.addVs(fmt.Sprintf("has bits set beyond /%d: write %s", pd.Length, p.Addr()), at(end.name), at("length"))
			ok = false
		}
	}
	if !ok || !lengthOK {
		return
	}
	if pd.End.Less(pd.Start) {
		errs.addVs(fmt.Sprintf("must not be below start (%s)", pd.Start), at("end"), at("start"))
		return
	}
	last := lastAddr(netip.PrefixFrom(pd.End, pd.Length))
	if prefixOK && !last.Less(onLink.Addr()) && !lastAddr(onLink).Less(pd.Start) {
		errs.addVs(fmt.Sprintf("delegated prefixes %s/%d to %s/%d overlap the on-link prefix %s: delegate prefixes outside it",
			pd.Start, pd.Length, pd.End, pd.Length, onLink), path, onLinkPath)
	}
}

// valid reports whether pd passes validate whatever the link's prefix.
func (pd *PrefixDelegation) valid() bool {
	var errs FieldErrors
	pd.validate(&errs, nil, netip.Prefix{}, false, nil)
	return len(errs) == 0
}

// span is the first and the last address of the prefixes pd delegates.
func (pd *PrefixDelegation) span() AddressRange {
	return AddressRange{Start: pd.Start, End: lastAddr(netip.PrefixFrom(pd.End, pd.Length))}
}

// validateDelegationsApart checks what no single pool's check can: that no
// two links delegate the same prefix (each link leases from its own pool,
// so two routers could get it, one on each link) and that no link
// delegates another link's on-link prefix.
func (d *DHCPv6) validateDelegationsApart(errs *FieldErrors, prefix netip.Prefix, prefixOK bool) {
	type pool struct {
		path []any
		link string // "" for the boot server's own link
		pd   *PrefixDelegation
	}
	var pools []pool
	if d.PrefixDelegation != nil && d.PrefixDelegation.valid() {
		pools = append(pools, pool{[]any{"dhcpv6", "prefix_delegation"}, "", d.PrefixDelegation})
	}
	for _, l := range d.RelayedLinks {
		if l.PrefixDelegation != nil && l.PrefixDelegation.valid() {
			pools = append(pools, pool{[]any{"dhcpv6", "relayed_links", MapKey(l.Name), "prefix_delegation"}, l.Name, l.PrefixDelegation})
		}
	}
	for i, p := range pools {
		for _, o := range pools[:i] {
			if overlaps(p.pd.span(), o.pd.span()) {
				errs.addVs(fmt.Sprintf("overlaps the prefixes %s delegates: each prefix is delegated on one link only", fieldOf(o.path)), p.path, o.path)
			}
		}
		if p.link != "" && prefixOK && p.pd.Covers(prefix.Addr()) {
			errs.addVs(fmt.Sprintf("delegates the boot server's own prefix %s: delegate prefixes outside it", prefix), p.path, []any{"prefix"})
		}
		for _, l := range d.RelayedLinks {
			if l.Name == p.link || !l.Prefix.IsValid() || l.Prefix.Bits() != 64 || !p.pd.Covers(l.Prefix.Masked().Addr()) {
				continue
			}
			errs.addVs(fmt.Sprintf("lies in the prefixes %s delegates: a link's own prefix cannot be delegated to a router", fieldOf(p.path)),
				[]any{"dhcpv6", "relayed_links", MapKey(l.Name), "prefix"}, p.path)
		}
	}
}

// fieldOf renders path as FieldError.Field does.
func fieldOf(path []any) string { return (&FieldError{Path: path}).Field() }

// lastAddr is the highest address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As16()
	for i := p.Bits(); i < 128; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	return netip.AddrFrom16(b)
}

func checkRangeEnd(errs *FieldErrors, a netip.Addr, prefix netip.Prefix, prefixOK bool, prefixPath []any, path ...any) bool {
	if reason := unicastIPv6Reason(a); reason != "" {
		errs.add(reason, path...)
		return false
	}
	if prefixOK && !prefix.Contains(a) {
		errs.addVs(fmt.Sprintf("%s is outside prefix %s", a, prefix), path, prefixPath)
		return false
	}
	return true
}

func (bt *Boot) validate(errs *FieldErrors) {
	const block = "boot"
	if bt.HTTPPort < 1 || bt.HTTPPort > 65535 {
		errs.add("must be a TCP port between 1 and 65535", block, "http_port")
	}
	if bt.TFTPMaxTransfers < 1 || bt.TFTPMaxTransfers > MaxTFTPTransfers {
		errs.add(fmt.Sprintf("must be between 1 and %d, got %d", MaxTFTPTransfers, bt.TFTPMaxTransfers), block, "tftp_max_transfers")
	} else if bt.TFTPMaxTransfersPerClient < 1 || bt.TFTPMaxTransfersPerClient > bt.TFTPMaxTransfers {
		errs.addVs(fmt.Sprintf("must be between 1 and tftp_max_transfers (%d), got %d", bt.TFTPMaxTransfers, bt.TFTPMaxTransfersPerClient),
			[]any{block, "tftp_max_transfers_per_client"}, []any{block, "tftp_max_transfers"})
	}
	if bt.ServerAddress.IsValid() {
		if reason := unicastIPv6Reason(bt.ServerAddress); reason != "" {
			errs.add(reason, block, "server_address")
		} else if bt.ServerAddress.IsLinkLocalUnicast() {
			errs.add("must not be link-local: boot URLs cannot carry a zone", block, "server_address")
		}
	}
	for i, r := range bt.Rules {
		validateRule(errs, r, bt, block, "rules", i)
	}
	bt.validateHTTPS(errs)
}

func validateRule(errs *FieldErrors, r bootfile.Rule, bt *Boot, path ...any) {
	at := func(name string) []any { return append(append([]any{}, path...), name) }
	switch {
	case r.File != "" && r.URL != "":
		errs.addVs("set either file or url, not both", at("url"), at("file"))
	case r.File == "" && r.URL == "":
		errs.addVs("set file (served by this boot server) or url (anywhere)", at("file"), at("url"))
	case r.File != "":
		// A leading "/" is tolerated: the URL has one there anyway.
		if err := CheckArtifactPath(strings.TrimPrefix(r.File, "/")); err != nil {
			errs.add(fmt.Sprintf("%q must be an artifact path such as \"ipxe.efi\" or \"debian/linux\": %v", r.File, err), at("file")...)
		}
		switch r.Via {
		case bootfile.TFTP:
			if !bt.TFTP {
				errs.addVs("is \"tftp\" but boot.tftp is false: enable TFTP or serve this file over http", at("via"), []any{"boot", "tftp"})
			}
		case bootfile.HTTP:
			if !bt.HTTP {
				errs.addVs("is \"http\" but boot.http is false: enable HTTP or serve this file over tftp", at("via"), []any{"boot", "http"})
			}
		default:
			errs.add(fmt.Sprintf("must be \"tftp\" or \"http\", got %q", r.Via), at("via")...)
		}
	default:
		u, err := url.Parse(r.URL)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "tftp") {
			errs.add(fmt.Sprintf("%q must be an absolute http://, https:// or tftp:// URL (IPv6 hosts in brackets)", r.URL), at("url")...)
		}
	}
	for j, d := range r.DUIDs {
		if !DUIDPattern.MatchString(d) {
			errs.add(fmt.Sprintf("%q must be a client DUID in hex without separators, 3 to 130 bytes (as leases show client_duid, e.g. \"00030001525400123456\")", d), append(at("duids"), j)...)
		}
	}
	for j, m := range r.MACs {
		if !MACPattern.MatchString(m) {
			errs.add(fmt.Sprintf("%q must be a MAC address written as six colon-separated hex bytes, e.g. \"52:54:00:12:34:56\"", m), append(at("macs"), j)...)
		}
	}
	if len(r.Labels) > maxLabels {
		errs.add(fmt.Sprintf("at most %d labels, got %d", maxLabels, len(r.Labels)), at("labels")...)
	}
	for _, k := range slices.Sorted(maps.Keys(r.Labels)) {
		if reason := LabelProblem(k, r.Labels[k]); reason != "" {
			errs.add(reason, append(at("labels"), MapKey(k))...)
		}
	}
	for j, p := range r.Parameters {
		if p == "" || len(p) > 65535 {
			errs.add("must be a non-empty string (option 60 parameter)", append(at("parameters"), j)...)
		}
	}
}

// validateRelayedLinks checks dhcpv6.relayed_links: each link a /64 apart
// from the boot server's own prefix and from each other (a link-address
// must name one link, no more), its ranges inside its prefix, and its
// prefix delegation and option overrides as dhcpv6's own.
func (d *DHCPv6) validateRelayedLinks(errs *FieldErrors, prefix netip.Prefix, prefixOK bool) {
	if len(d.RelayedLinks) > 0 && d.Mode != DHCPv6Stateful {
		errs.addVs("are only served when mode is \"stateful\": remove them or set mode = \"stateful\"", []any{"dhcpv6", "relayed_links"}, []any{"dhcpv6", "mode"})
	}
	seen := map[netip.Prefix]string{}
	names := map[string]bool{}
	interfaceIDs := map[string]string{}
	if prefixOK {
		seen[prefix] = ""
	}
	for _, l := range d.RelayedLinks {
		base := []any{"dhcpv6", "relayed_links", MapKey(l.Name)}
		at := func(more ...any) []any { return append(slices.Clone(base), more...) }
		if err := CheckName(l.Name); err != nil {
			errs.add("name (the map key) "+err.Error(), at()...)
		} else if names[l.Name] {
			errs.add("is named twice", at()...)
		}
		names[l.Name] = true
		ok := checkLinkPrefix(errs, l.Prefix, at("prefix")...)
		if ok {
			switch other, dup := seen[l.Prefix]; {
			case dup && other == "":
				errs.addVs(fmt.Sprintf("is the boot server's own prefix %s: a relayed link needs a prefix of its own", prefix), at("prefix"), []any{"prefix"})
			case dup:
				errs.addVs(fmt.Sprintf("is also the prefix of relayed_links[%q]", other), at("prefix"), []any{"dhcpv6", "relayed_links", MapKey(other), "prefix"})
			default:
				seen[l.Prefix] = l.Name
			}
		}
		if len(l.Ranges) == 0 {
			errs.add("needs at least one range: the link's clients lease addresses from it", at("ranges")...)
		}
		ranges := checkRanges(errs, base, "ranges", l.Ranges, l.Prefix, ok, validRanges{})
		checkRanges(errs, base, "temporary_ranges", l.TemporaryRanges, l.Prefix, ok, ranges)
		if l.PrefixDelegation != nil {
			l.PrefixDelegation.validate(errs, at("prefix_delegation"), l.Prefix, ok, at("prefix"))
		}
		for j, a := range l.DNSServers {
			if reason := unicastIPv6Reason(a); reason != "" {
				errs.add(reason, at("dns_servers", j)...)
			}
		}
		switch other, dup := interfaceIDs[l.InterfaceID]; {
		case l.InterfaceID == "":
		case len(l.InterfaceID) > MaxInterfaceIDLength:
			errs.add(fmt.Sprintf("must be at most %d bytes, got %d", MaxInterfaceIDLength, len(l.InterfaceID)), at("interface_id")...)
		case dup:
			errs.addVs(fmt.Sprintf("is also the interface_id of relayed_links[%q]", other), at("interface_id"),
				[]any{"dhcpv6", "relayed_links", MapKey(other), "interface_id"})
		default:
			interfaceIDs[l.InterfaceID] = l.Name
		}
		for j, s := range l.DomainSearch {
			if reason := ValidDomainName(s); reason != "" {
				errs.add(reason, at("domain_search", j)...)
			}
		}
	}
}
