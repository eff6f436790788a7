// Package bootfile decides which boot-file URL (DHCPv6 option 59) a client
// gets, from what it says about itself: user class (option 15), client
// architecture (option 61), vendor class (option 16), its DUID and its MAC
// address, and the labels of the machine it is. It is pure: the DHCPv6
// server asks, this package answers with the URL and the reason.
package bootfile

import (
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Client architecture types (IANA "Processor Architecture Types", RFC 4578
// as corrected by RFC 5970's registry). Old tables swap 7 and 9.
const (
	ArchBIOS           uint16 = 0x00
	ArchEFIIA32        uint16 = 0x06
	ArchEFIx64         uint16 = 0x07
	ArchEFIBC          uint16 = 0x09
	ArchEFIARM32       uint16 = 0x0a
	ArchEFIARM64       uint16 = 0x0b
	ArchEFIx86HTTP     uint16 = 0x0f
	ArchEFIx64HTTP     uint16 = 0x10
	ArchEFIARM32HTTP   uint16 = 0x12
	ArchEFIARM64HTTP   uint16 = 0x13
	ArchBIOSHTTP       uint16 = 0x14
	ArchEFIRISCV32     uint16 = 0x19
	ArchEFIRISCV32HTTP uint16 = 0x1a
	ArchEFIRISCV64     uint16 = 0x1b
	ArchEFIRISCV64HTTP uint16 = 0x1c
)

// HTTPBootArch reports whether arch is a UEFI HTTP-boot client type: such
// clients want an http URL and vendor class "HTTPClient" back.
func HTTPBootArch(arch uint16) bool {
	switch arch {
	case ArchEFIx86HTTP, ArchEFIx64HTTP, ArchEFIARM32HTTP, ArchEFIARM64HTTP, ArchBIOSHTTP, ArchEFIRISCV32HTTP, ArchEFIRISCV64HTTP:
		return true
	}
	return false
}

// Client is what a DHCPv6 request says about the booting machine.
type Client struct {
	Arch          []uint16 // option 61, in the client's order of preference
	UserClasses   []string // option 15
	VendorClasses []string // option 16 data
	DUID          string   // option 1, in hex
	// MAC is the client's MAC address ("52:54:00:12:34:56") when the
	// server found one (DUID-LL/LLT or the EUI-64 of its link-local
	// address), else empty.
	MAC string
	// Machine is the machine the server recognised the client as (by its
	// DUID or MAC), with its Labels; empty when it is none.
	Machine string
	Labels  map[string]string
}

// Protocol is how a relative file is fetched.
type Protocol string

const (
	TFTP Protocol = "tftp"
	HTTP Protocol = "http"
	// HTTPS serves what HTTP does, over TLS. No rule fetches over it:
	// firmware and stock iPXE cannot verify the boot server's certificate.
	HTTPS Protocol = "https"
)

// Rule maps matching clients to a boot file. Empty match fields match
// anything; a rule with several set matches only when all of them do.
// Among the rules that match, Select takes the most specific (see Score).
type Rule struct {
	UserClass   string   // exact, case-sensitive, as iPXE sends "iPXE"
	Arch        []uint16 // any of
	VendorClass string   // substring of any vendor-class data, e.g. "PXEClient"
	// DUIDs (hex) and MACs ("52:54:00:12:34:56") single out hosts, as a
	// dhcpd6.conf host declaration or an if on the client identifier
	// would: any of each, case-insensitively.
	DUIDs []string
	MACs  []string
	// Labels select the clients that are machines whose labels hold every
	// one of these, as a boot menu's match.labels does.
	Labels map[string]string
	// Exactly one of File (relative to the boot server, fetched over Via) or
	// URL (absolute) is set.
	File       string
	Via        Protocol
	URL        string
	Parameters []string // option 60 boot-file-parameters
}

// DefaultRules are the rules a boot server gets unless the user sets its own.
// The first rule breaks the firmware → iPXE → iPXE loop: iPXE itself gets its
// script over HTTP; firmware gets an iPXE build for its architecture.
func DefaultRules() []Rule {
	return []Rule{
		{UserClass: "iPXE", File: "start.ipxe", Via: HTTP},
		{Arch: []uint16{ArchBIOS}, File: "undionly.kpxe", Via: TFTP},
		// ipxe.efi is iPXE's x86_64 build (Debian's too); 32-bit UEFI
		// cannot run it, so IA32 firmware gets the i386 build.
		{Arch: []uint16{ArchEFIx64, ArchEFIBC}, File: "ipxe.efi", Via: TFTP},
		{Arch: []uint16{ArchEFIIA32}, File: "ipxe-i386.efi", Via: TFTP},
		{Arch: []uint16{ArchEFIARM32}, File: "ipxe-arm32.efi", Via: TFTP},
		{Arch: []uint16{ArchEFIARM64}, File: "ipxe-arm64.efi", Via: TFTP},
		{Arch: []uint16{ArchEFIx64HTTP}, File: "ipxe.efi", Via: HTTP},
		{Arch: []uint16{ArchEFIx86HTTP}, File: "ipxe-i386.efi", Via: HTTP},
		{Arch: []uint16{ArchEFIARM64HTTP}, File: "ipxe-arm64.efi", Via: HTTP},
	}
}

// Server says where the boot server's TFTP, HTTP and HTTPS services are.
type Server struct {
	Address   netip.Addr
	HTTPPort  int // 80 when zero
	HTTPSPort int // 443 when zero
}

// Decision is the answer for one client.
type Decision struct {
	URL        string // empty: send no option 59
	Parameters []string
	RuleIndex  int    // -1 when no rule matched
	Reason     string // for the log line
}

// Score weights: how specific a rule is, by what it sets. A rule for the
// boot loader (user class) outranks any without, so iPXE's own rule keeps
// winning for iPXE over a machine's rule for its firmware (iPXE sends an
// architecture too); then, as boot menus score their match, one machine
// (DUIDs or MACs) outranks machines by labels. Architecture and vendor
// class add nothing: among rules they tell apart, the list order decides.
const (
	ScoreUserClass = 16
	ScoreHost      = 8
	ScoreLabels    = 4
)

// Score is how specific r is: ScoreUserClass if it sets UserClass, plus
// ScoreHost if it sets DUIDs or MACs, plus ScoreLabels if it sets Labels.
func (r *Rule) Score() int {
	score := 0
	if r.UserClass != "" {
		score += ScoreUserClass
	}
	if len(r.DUIDs) > 0 || len(r.MACs) > 0 {
		score += ScoreHost
	}
	if len(r.Labels) > 0 {
		score += ScoreLabels
	}
	return score
}

// Select returns the most specific rule (by Score) that matches c; between
// equal scores, the first in list order.
func Select(rules []Rule, server Server, c Client) Decision {
	best, bestScore := -1, -1
	for i := range rules {
		if score := rules[i].Score(); score > bestScore && rules[i].matches(c) {
			best, bestScore = i, score
		}
	}
	if best < 0 {
		return Decision{RuleIndex: -1, Reason: "no rule matches " + c.String()}
	}
	r := &rules[best]
	return Decision{URL: r.resolve(server), Parameters: r.Parameters, RuleIndex: best,
		Reason: fmt.Sprintf("rule %d: %s", best, r.why(c))}
}

// matches reports whether every match field r sets matches c.
func (r *Rule) matches(c Client) bool {
	return (r.UserClass == "" || slices.Contains(c.UserClasses, r.UserClass)) &&
		(len(r.Arch) == 0 || r.matchedArch(c) >= 0) &&
		(r.VendorClass == "" || slices.ContainsFunc(c.VendorClasses, func(v string) bool { return strings.Contains(v, r.VendorClass) })) &&
		(len(r.DUIDs) == 0 || containsFold(r.DUIDs, c.DUID)) &&
		(len(r.MACs) == 0 || containsFold(r.MACs, c.MAC)) &&
		(len(r.Labels) == 0 || HasLabels(c.Labels, r.Labels))
}

// matchedArch is the first of c's architecture types r lists, or -1.
func (r *Rule) matchedArch(c Client) int {
	for _, a := range c.Arch {
		if slices.Contains(r.Arch, a) {
			return int(a)
		}
	}
	return -1
}

// why says what r, which matches c, matched on, for the log line.
func (r *Rule) why(c Client) string {
	var why []string
	if r.UserClass != "" {
		why = append(why, "user class "+strconv.Quote(r.UserClass))
	}
	if len(r.Arch) > 0 {
		why = append(why, fmt.Sprintf("arch 0x%04x", r.matchedArch(c)))
	}
	if r.VendorClass != "" {
		why = append(why, "vendor class "+strconv.Quote(r.VendorClass))
	}
	if len(r.DUIDs) > 0 {
		why = append(why, "DUID "+strings.ToLower(c.DUID))
	}
	if len(r.MACs) > 0 {
		why = append(why, "MAC "+strings.ToLower(c.MAC))
	}
	if len(r.Labels) > 0 {
		why = append(why, fmt.Sprintf("labels of machine %q", c.Machine))
	}
	if len(why) == 0 {
		why = append(why, "matches every client")
	}
	return strings.Join(why, ", ")
}

// HasLabels reports whether labels hold every one of want: how every label
// selector (boot rules', menus' match.labels, configs' match_labels)
// matches a machine. Nil labels, those of a client that is no machine,
// hold none.
func HasLabels(labels, want map[string]string) bool {
	for k, v := range want {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// containsFold reports whether s, when not empty, is one of list up to case.
func containsFold(list []string, s string) bool {
	return s != "" && slices.ContainsFunc(list, func(e string) bool { return strings.EqualFold(e, s) })
}

func (r *Rule) resolve(s Server) string {
	if r.URL != "" {
		return r.URL
	}
	// Escaped: an artifact path may hold a space, which a URL may not.
	return URLBase(r.Via, s) + (&url.URL{Path: "/" + strings.TrimPrefix(r.File, "/")}).EscapedPath()
}

// URLBase is where server's files are over a protocol, without a trailing
// slash: "tftp://[2001:db8::1]", "http://[2001:db8::1]:8080",
// "https://[2001:db8::1]". The one place boot-file URLs, script links and
// status URLs are built from.
func URLBase(via Protocol, s Server) string {
	host := "[" + s.Address.String() + "]"
	port, def := 0, 0
	switch via {
	case HTTP:
		port, def = s.HTTPPort, 80
	case HTTPS:
		port, def = s.HTTPSPort, 443
	}
	if port != 0 && port != def {
		host += ":" + strconv.Itoa(port)
	}
	return string(via) + "://" + host
}

func (c Client) String() string {
	var arch []string
	for _, a := range c.Arch {
		arch = append(arch, fmt.Sprintf("0x%04x", a))
	}
	machine := ""
	if c.Machine != "" {
		machine = ", machine " + strconv.Quote(c.Machine)
	}
	return fmt.Sprintf("client (arch [%s], user class %q, vendor class %q, DUID %s, MAC %q%s)",
		strings.Join(arch, " "), c.UserClasses, c.VendorClasses, c.DUID, c.MAC, machine)
}
