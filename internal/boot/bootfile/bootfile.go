// Package bootfile decides which boot-file URL (DHCPv6 option 59) a client
// gets, from what it says about itself: user class (option 15), client
// architecture (option 61), vendor class (option 16), its DUID and its MAC
// address. It is pure: the DHCPv6 server asks, this package answers with
// the URL and the reason.
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
type Rule struct {
	UserClass   string   // exact, case-sensitive, as iPXE sends "iPXE"
	Arch        []uint16 // any of
	VendorClass string   // substring of any vendor-class data, e.g. "PXEClient"
	// DUIDs (hex) and MACs ("52:54:00:12:34:56") single out hosts, as a
	// dhcpd6.conf host declaration or an if on the client identifier
	// would: any of each, case-insensitively.
	DUIDs []string
	MACs  []string
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

// Select returns the first rule (in order) that matches c.
func Select(rules []Rule, server Server, c Client) Decision {
	for i, r := range rules {
		if ok, why := r.matches(c); ok {
			return Decision{URL: r.resolve(server), Parameters: r.Parameters, RuleIndex: i, Reason: fmt.Sprintf("rule %d: %s", i, why)}
		}
	}
	return Decision{RuleIndex: -1, Reason: "no rule matches " + c.String()}
}

func (r *Rule) matches(c Client) (bool, string) {
	var why []string
	if r.UserClass != "" {
		if !slices.Contains(c.UserClasses, r.UserClass) {
			return false, ""
		}
		why = append(why, "user class "+strconv.Quote(r.UserClass))
	}
	if len(r.Arch) > 0 {
		matched := false
		for _, a := range c.Arch {
			if slices.Contains(r.Arch, a) {
				why = append(why, fmt.Sprintf("arch 0x%04x", a))
				matched = true
				break
			}
		}
		if !matched {
			return false, ""
		}
	}
	if r.VendorClass != "" {
		matched := false
		for _, v := range c.VendorClasses {
			if strings.Contains(v, r.VendorClass) {
				matched = true
				break
			}
		}
		if !matched {
			return false, ""
		}
		why = append(why, "vendor class "+strconv.Quote(r.VendorClass))
	}
	if len(r.DUIDs) > 0 {
		if !containsFold(r.DUIDs, c.DUID) {
			return false, ""
		}
		why = append(why, "DUID "+strings.ToLower(c.DUID))
	}
	if len(r.MACs) > 0 {
		if !containsFold(r.MACs, c.MAC) {
			return false, ""
		}
		why = append(why, "MAC "+strings.ToLower(c.MAC))
	}
	if len(why) == 0 {
		why = append(why, "matches every client")
	}
	return true, strings.Join(why, ", ")
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
	return fmt.Sprintf("client (arch [%s], user class %q, vendor class %q, DUID %s, MAC %q)",
		strings.Join(arch, " "), c.UserClasses, c.VendorClasses, c.DUID, c.MAC)
}
