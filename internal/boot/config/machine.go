package config

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/bootfile"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// Machine is one host the agent knows by name (netboot_machine): how it is
// recognised, its labels and metadata for templates, an address reserved
// for it and the menu it boots. Identifiers are kept in their normal form
// (lowercase MACs with colons, lowercase hex DUIDs, lowercase 8-4-4-4-12
// UUIDs), so two spellings of one identifier compare equal.
type Machine struct {
	Name     string
	MACs     []string
	DUIDs    []string
	UUIDs    []string
	Hostname string
	Labels   map[string]string
	Metadata map[string]string
	// ReservedAddress is leased to this machine only; the zero value means
	// none.
	ReservedAddress netip.Addr
	// ReservedPrefix is delegated (IA_PD) to this machine only; the zero
	// value means none. ReservedPrefixConflict says where it may lie.
	ReservedPrefix netip.Prefix
	// Menu is the boot menu the machine's iPXE gets, before any menu's
	// match; empty leaves the choice to the menus.
	Menu string
	// ConfigToken is the agent's secret in the machine's config URLs.
	ConfigToken string
}

// Limits on what a machine holds: the agent keeps every machine in memory
// and renders templates with its metadata.
const (
	maxMachineIdentifiers = 64
	maxLabels             = 64
	maxMetadata           = 256
	maxMetadataValue      = 64 << 10
	maxLabelValue         = 63
)

// labelKeyPattern is what a label key may look like: a selector names it,
// and a template reads it as {{ index .Labels "key" }}.
var labelKeyPattern = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$`)

// metadataKeyPattern keeps metadata keys usable as {{ .Metadata.key }} as
// well as through index.
var metadataKeyPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]{0,127}$`)

// MachineFromProto converts an API object into a Machine and validates it on
// its own (identifiers shared with other machines are CheckMachines' job).
// Identifiers are normalised; every problem is reported at once.
func MachineFromProto(pb *netbootv1.Machine) (Machine, error) {
	var errs FieldErrors
	m := Machine{
		Name:        pb.GetName(),
		Hostname:    strings.TrimSuffix(pb.GetHostname(), "."),
		Labels:      maps.Clone(pb.GetLabels()),
		Metadata:    maps.Clone(pb.GetMetadata()),
		Menu:        pb.GetMenu(),
		ConfigToken: pb.GetConfigToken(),
	}
	if err := CheckName(m.Name); err != nil {
		errs.add(err.Error(), "name")
	}
	m.MACs = normaliseAll(&errs, pb.GetMacs(), "macs", func(s string) (string, string) {
		n, ok := NormalizeMAC(s)
		if !ok {
			return "", fmt.Sprintf("%q must be a MAC address such as \"52:54:00:12:34:56\"", s)
		}
		return n, ""
	})
	m.DUIDs = normaliseAll(&errs, pb.GetDuids(), "duids", func(s string) (string, string) {
		plain := strings.ReplaceAll(s, ":", "")
		if !DUIDPattern.MatchString(plain) {
			return "", fmt.Sprintf("%q must be a DUID in hex (3 to 130 bytes, with or without ':'), as leases show it", s)
		}
		return strings.ToLower(plain), ""
	})
	m.UUIDs = normaliseAll(&errs, pb.GetUuids(), "uuids", func(s string) (string, string) {
		n, ok := NormalizeUUID(s)
		if !ok {
			return "", fmt.Sprintf("%q must be a system UUID such as \"4c4c4544-0042-3610-8058-b4c04f4b4d32\"", s)
		}
		return n, ""
	})
	if n := len(pb.GetMacs()) + len(pb.GetDuids()) + len(pb.GetUuids()); n == 0 {
		errs.add("a machine needs at least one identifier: a MAC address, a DUID or a system UUID", "macs")
	} else if n > maxMachineIdentifiers {
		errs.add(fmt.Sprintf("a machine has at most %d identifiers in all, got %d", maxMachineIdentifiers, n), "macs")
	}
	if m.Hostname != "" {
		if reason := ValidDomainName(m.Hostname); reason != "" {
			errs.add(reason, "hostname")
		}
	}
	if len(m.Labels) > maxLabels {
		errs.add(fmt.Sprintf("at most %d labels, got %d", maxLabels, len(m.Labels)), "labels")
	}
	for _, k := range slices.Sorted(maps.Keys(m.Labels)) {
		if reason := LabelProblem(k, m.Labels[k]); reason != "" {
			errs.add(reason, "labels", MapKey(k))
		}
	}
	if len(m.Metadata) > maxMetadata {
		errs.add(fmt.Sprintf("at most %d metadata keys, got %d", maxMetadata, len(m.Metadata)), "metadata")
	}
	for _, k := range slices.Sorted(maps.Keys(m.Metadata)) {
		if !metadataKeyPattern.MatchString(k) {
			errs.add("a metadata key is 1-128 letters, digits, '_', '.' or '-', starting with a letter or '_'", "metadata", MapKey(k))
		}
		if v := m.Metadata[k]; len(v) > maxMetadataValue || !utf8.ValidString(v) {
			errs.add(fmt.Sprintf("a metadata value is UTF-8 text of at most %d bytes", maxMetadataValue), "metadata", MapKey(k))
		}
	}
	if s := pb.GetReservedAddress(); s != "" {
		a, err := netip.ParseAddr(s)
		switch {
		case err != nil:
			errs.add(fmt.Sprintf("%q must be an IPv6 address such as \"2001:db8:1::10\"", s), "reserved_address")
		case a.Zone() != "":
			errs.add(fmt.Sprintf("%q must not have a zone", s), "reserved_address")
		default:
			if reason := unicastIPv6Reason(a); reason != "" {
				errs.add(reason, "reserved_address")
			}
			m.ReservedAddress = a
		}
	}
	if s := pb.GetReservedPrefix(); s != "" {
		p, reason := parseReservedPrefix(s)
		if reason != "" {
			errs.add(reason, "reserved_prefix")
		}
		m.ReservedPrefix = p
	}
	if m.Menu != "" {
		if err := CheckName(m.Menu); err != nil {
			errs.add(err.Error(), "menu")
		}
	}
	if len(errs) > 0 {
		return m, errs
	}
	return m, nil
}

// LabelProblem says why k = v cannot be a label (of a machine, or in a
// selector of machines), or "".
func LabelProblem(k, v string) string {
	if !labelKeyPattern.MatchString(k) {
		return "a label key is 1-63 letters, digits, '.', '_', '-' or '/', starting and ending with a letter or digit"
	}
	if len(v) > maxLabelValue || !printableLine(v) {
		return fmt.Sprintf("a label value is printable text on one line of at most %d bytes", maxLabelValue)
	}
	return ""
}

// normaliseAll normalises each value of a list attribute, naming each bad
// one and each repeated one.
func normaliseAll(errs *FieldErrors, in []string, attr string, normalise func(string) (string, string)) []string {
	out := make([]string, 0, len(in))
	for i, s := range in {
		n, reason := normalise(s)
		if reason != "" {
			errs.add(reason, attr, i)
			continue
		}
		if slices.Contains(out, n) {
			errs.add(fmt.Sprintf("%q is listed twice", s), attr, i)
			continue
		}
		out = append(out, n)
	}
	return out
}

// NormalizeMAC turns an Ethernet MAC address written with ':' or '-'
// separators, in any case, into lowercase colon form ("52:54:00:12:34:56").
func NormalizeMAC(s string) (string, bool) {
	if len(s) != 17 {
		return "", false
	}
	sep := s[2]
	if sep != ':' && sep != '-' {
		return "", false
	}
	var b strings.Builder
	for i := 0; i < 6; i++ {
		pair := s[3*i : 3*i+2]
		if _, err := hex.DecodeString(pair); err != nil {
			return "", false
		}
		if i < 5 && s[3*i+2] != sep {
			return "", false
		}
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(strings.ToLower(pair))
	}
	return b.String(), true
}

// The nil and max UUIDs (RFC 9562) in NormalizeUUID's form.
const (
	nilUUID = "00000000-0000-0000-0000-000000000000"
	maxUUID = "ffffffff-ffff-ffff-ffff-ffffffffffff"
)

// PlaceholderUUIDs refuses, for a machine being created or changed, the
// UUIDs firmware without one of its own reports (QEMU without -uuid: all
// zeros): every such host would be the machine. Machines stored before this
// check are not passed through it, so an agent still loads them.
func PlaceholderUUIDs(pb *netbootv1.Machine) error {
	var errs FieldErrors
	for i, s := range pb.GetUuids() {
		if n, ok := NormalizeUUID(s); ok && (n == nilUUID || n == maxUUID) {
			errs.add(fmt.Sprintf("%q is the placeholder firmware reports when it has no system UUID, shared by every such host: identify the machine by its MAC address or DUID", s), "uuids", i)
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// NormalizeUUID turns a UUID written with or without hyphens, in any case,
// into the lowercase 8-4-4-4-12 form iPXE's ${uuid} uses.
func NormalizeUUID(s string) (string, bool) {
	plain := s
	if len(s) == 36 {
		if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
			return "", false
		}
		plain = s[:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	}
	if len(plain) != 32 {
		return "", false
	}
	if _, err := hex.DecodeString(plain); err != nil {
		return "", false
	}
	p := strings.ToLower(plain)
	return p[:8] + "-" + p[8:12] + "-" + p[12:16] + "-" + p[16:20] + "-" + p[20:], true
}

func printableLine(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// ToProto is the API form of m.
func (m *Machine) ToProto() *netbootv1.Machine {
	pb := &netbootv1.Machine{
		Name: m.Name, Macs: slices.Clone(m.MACs), Duids: slices.Clone(m.DUIDs), Uuids: slices.Clone(m.UUIDs),
		Hostname: m.Hostname, Labels: maps.Clone(m.Labels), Metadata: maps.Clone(m.Metadata),
		Menu: m.Menu, ConfigToken: m.ConfigToken,
	}
	if m.ReservedAddress.IsValid() {
		pb.ReservedAddress = m.ReservedAddress.String()
	}
	if m.ReservedPrefix.IsValid() {
		pb.ReservedPrefix = m.ReservedPrefix.String()
	}
	return pb
}

// CheckMachines checks m against the other machines on the agent: no
// identifier, reserved address or reserved prefix (nor part of one) may
// belong to two machines, since the
// agent could not tell which one is booting. The error names m's attribute
// and the other machine.
func CheckMachines(m Machine, others map[string]Machine) error {
	var errs FieldErrors
	for _, name := range slices.Sorted(maps.Keys(others)) {
		o := others[name]
		if name == m.Name {
			continue
		}
		for _, f := range []struct {
			attr       string
			mine, them []string
		}{{"macs", m.MACs, o.MACs}, {"duids", m.DUIDs, o.DUIDs}, {"uuids", m.UUIDs, o.UUIDs}} {
			for i, v := range f.mine {
				if slices.Contains(f.them, v) {
					errs.add(fmt.Sprintf("%s already identifies machine %q; an identifier belongs to one machine", v, name), f.attr, i)
				}
			}
		}
		if m.ReservedAddress.IsValid() && m.ReservedAddress == o.ReservedAddress {
			errs.add(fmt.Sprintf("%s is already reserved for machine %q", m.ReservedAddress, name), "reserved_address")
		}
		if m.ReservedPrefix.IsValid() && o.ReservedPrefix.IsValid() && m.ReservedPrefix.Overlaps(o.ReservedPrefix) {
			errs.add(fmt.Sprintf("%s overlaps %s, reserved for machine %q; a delegated prefix belongs to one machine", m.ReservedPrefix, o.ReservedPrefix, name), "reserved_prefix")
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// parseReservedPrefix reads a machine's reserved_prefix, or says why it
// cannot be one: a global or unique-local IPv6 prefix written without
// host bits, of a length prefix_delegation delegates.
func parseReservedPrefix(s string) (netip.Prefix, string) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Sprintf("%q must be an IPv6 prefix such as \"2001:db8:100::/56\"", s)
	}
	reason := unicastIPv6Reason(p.Addr())
	switch {
	case reason != "":
	case p.Addr().IsLinkLocalUnicast():
		reason = "must be a global or unique-local prefix, not link-local"
	case p.Bits() < MinDelegatedLength || p.Bits() > MaxDelegatedLength:
		reason = fmt.Sprintf("must be /%d to /%d, the lengths prefix_delegation delegates, got /%d", MinDelegatedLength, MaxDelegatedLength, p.Bits())
	case p.Masked() != p:
		reason = fmt.Sprintf("has bits set beyond /%d: write %s", p.Bits(), p.Masked())
	}
	if reason != "" {
		return netip.Prefix{}, reason
	}
	return p, ""
}

// ReservedPrefixConflict says why m's reserved prefix cannot be where it
// is for boot server bs, or "". As a reserved address may lie inside the
// ranges or outside them, a reserved prefix may be one of the prefixes a
// link's prefix_delegation delegates or lie outside every pool; it may
// not overlap a pool without being one of its prefixes (the pool would
// delegate part of it to another client), nor a link's on-link prefix. It
// is delegated on each link (direct or relayed) that delegates prefixes of
// its length. PutMachine checks a machine against every boot server,
// PutBootServer a boot server against every machine.
func ReservedPrefixConflict(m *Machine, bs *BootServer) string {
	p := m.ReservedPrefix
	if !p.IsValid() {
		return ""
	}
	type link struct {
		what   string
		prefix netip.Prefix
		pd     *PrefixDelegation
	}
	links := []link{{fmt.Sprintf("boot server %q", bs.Name), bs.Prefix, bs.DHCPv6.PrefixDelegation}}
	for _, l := range bs.DHCPv6.RelayedLinks {
		links = append(links, link{fmt.Sprintf("boot server %q's relayed link %q", bs.Name, l.Name), l.Prefix, l.PrefixDelegation})
	}
	for _, l := range links {
		if l.prefix.IsValid() && l.prefix.Overlaps(p) {
			return fmt.Sprintf("machine %q's reserved_prefix %s overlaps %s's on-link prefix %s", m.Name, p, l.what, l.prefix)
		}
		if l.pd == nil || l.pd.Contains(p) {
			continue
		}
		span := l.pd.span()
		if !lastAddr(p).Less(span.Start) && !span.End.Less(p.Addr()) {
			return fmt.Sprintf("machine %q's reserved_prefix %s overlaps %s's prefix_delegation (/%d prefixes from %s to %s) without being one of its prefixes: reserve one of them, or a prefix outside it",
				m.Name, p, l.what, l.pd.Length, l.pd.Start, l.pd.End)
		}
	}
	return ""
}

// NewConfigToken makes the secret that goes into a machine's config URLs:
// 128 random bits in hex, so a neighbour cannot guess another machine's.
func NewConfigToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b)
}

// Identifies reports whether the machine is the one with this MAC, DUID or
// UUID (any spelling; empty values never match).
func (m *Machine) Identifies(mac, duid, uuid string) bool {
	if n, ok := NormalizeMAC(mac); ok && slices.Contains(m.MACs, n) {
		return true
	}
	if duid != "" && slices.Contains(m.DUIDs, strings.ToLower(strings.ReplaceAll(duid, ":", ""))) {
		return true
	}
	if uuid != "" {
		if n, ok := NormalizeUUID(uuid); ok && slices.Contains(m.UUIDs, n) {
			return true
		}
	}
	return false
}

// SameToken compares a token from a URL with a machine's in constant time,
// so the time to refuse says nothing about how much of it was right.
func SameToken(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// MachineNames are the DNS names a boot server with MachineDNS answers
// from reservations: each machine with a reserved address inside the boot
// server's prefix, by MachineHostName. Lowercase, without the final dot.
func MachineNames(bs BootServer, machines map[string]Machine) map[string]netip.Addr {
	out := map[string]netip.Addr{}
	for _, name := range slices.Sorted(maps.Keys(machines)) {
		m := machines[name]
		if !m.ReservedAddress.IsValid() || !bs.Prefix.Contains(m.ReservedAddress) {
			continue
		}
		host := MachineHostName(bs, &m)
		if _, taken := out[host]; !taken { // two machines, one name: the name sorting first
			out[host] = m.ReservedAddress
		}
	}
	return out
}

// MachineHostName is the DNS name a boot server with MachineDNS gives m:
// its host name, else its name; a name of one label gets the boot
// server's first DHCPv6 domain_search domain, else its first RA DNSSL
// domain, the domain its clients search. Lowercase, without the final dot.
func MachineHostName(bs BootServer, m *Machine) string {
	domain := ""
	if len(bs.DHCPv6.DomainSearch) > 0 {
		domain = bs.DHCPv6.DomainSearch[0]
	} else if len(bs.RA.DNSSL) > 0 {
		domain = bs.RA.DNSSL[0]
	}
	domain = strings.TrimSuffix(domain, ".")
	host := m.Hostname
	if host == "" {
		host = m.Name
	}
	if !strings.Contains(host, ".") && domain != "" {
		host += "." + domain
	}
	return strings.ToLower(host)
}

// HasLabels reports whether labels hold every one of want: how label
// selectors (boot rules', menus' match.labels, configs' match_labels)
// match machines.
func HasLabels(labels, want map[string]string) bool { return bootfile.HasLabels(labels, want) }
