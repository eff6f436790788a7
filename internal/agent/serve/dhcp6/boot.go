package dhcp6

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/insomniacslk/dhcp/dhcpv6"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/bootfile"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/eventkind"
)

// enterprisePXE is the IANA enterprise number (Intel) under which UEFI
// firmware sends and expects the PXEClient/HTTPClient vendor class.
const enterprisePXE = 343

// noBootAddress is why file rules get no option 59 without a usable
// server address.
const noBootAddress = "no server address for boot URLs"

// bootAnswer is the boot-file part of one Advertise or Reply: what the
// client said, what bootfile.Select decided and the options that carry it.
type bootAnswer struct {
	requested bool              // the client's Option Request option names option 59
	client    bootfile.Client   // zero unless requested or described
	decision  bootfile.Decision // zero unless requested
	// options go into the response in this order: boot-file-url (59),
	// boot-file-parameters (60) and, for UEFI HTTP boot, vendor class (16)
	// "HTTPClient".
	options []dhcpv6.Option
}

// decideBoot is the pure decision of which boot file, if any, req's sender
// c gets under cfg. A client that did not request option 59 gets none: RFC
// 5970 section 3.1 has servers send it only on request.
func decideBoot(req *dhcpv6.Message, c client, cfg *Config) bootAnswer {
	a := bootAnswer{requested: req.Options.RequestedOptions().Contains(dhcpv6.OptionBootfileURL)}
	if !a.requested {
		return a // a.client is left for describe: most clients never need it
	}
	a.describe(req, c, cfg)
	d := bootfile.Select(cfg.Boot.Rules, bootfile.Server{Address: cfg.ServerAddress, HTTPPort: cfg.Boot.HTTPPort}, a.client)
	if d.URL != "" && cfg.Boot.Rules[d.RuleIndex].URL == "" && bootAddrProblem(cfg.ServerAddress) != "" {
		// A file rule's URL names this server; an absolute URL does not
		// need its address.
		d.URL = ""
		d.Reason += "; not sent: " + noBootAddress
	}
	a.decision = d
	if d.URL == "" {
		return a
	}
	a.options = append(a.options, dhcpv6.OptBootFileURL(d.URL))
	if len(d.Parameters) > 0 {
		a.options = append(a.options, dhcpv6.OptBootFileParam(d.Parameters...))
	}
	if httpURL(d.URL) && anyHTTPBootArch(a.client.Arch) {
		// EDK2's HTTP boot driver takes only offers that say HTTPClient
		// (UEFI specification, "HTTP Boot"); a PXEClient echo would send it
		// probing UDP 4011 first (docs/firmware.md).
		a.options = append(a.options, &dhcpv6.OptVendorClass{EnterpriseNumber: enterprisePXE, Data: [][]byte{[]byte("HTTPClient")}})
	}
	return a
}

// describe fills in what req's sender c says about itself.
func (a *bootAnswer) describe(req *dhcpv6.Message, c client, cfg *Config) {
	a.client = bootClientOf(req)
	a.client.DUID, a.client.MAC = hex.EncodeToString(c.duid), c.hwAddr
	if !cfg.machineIndex.Empty() {
		if m, ok := cfg.machineIndex.Of(c.duid, c.hwAddr); ok {
			a.client.Machine, a.client.Labels = m.Name, m.Labels
		}
	}
}

// machineIndexOf is MachineIndex for rules that select by label; it is
// empty when none does.
func machineIndexOf(rules []bootfile.Rule, machines map[string]config.Machine) lease.ClientIndex[*config.Machine] {
	if !slices.ContainsFunc(rules, func(r bootfile.Rule) bool { return len(r.Labels) > 0 }) {
		return lease.ClientIndex[*config.Machine]{}
	}
	return MachineIndex(machines)
}

// MachineIndex finds machines by the DUID, MAC address or DUID-UUID a
// DHCPv6 client shows, as reserved addresses are found.
func MachineIndex(machines map[string]config.Machine) lease.ClientIndex[*config.Machine] {
	var idx lease.ClientIndex[*config.Machine]
	for _, m := range machines {
		idx.Add(m.DUIDs, m.MACs, m.UUIDs, &m)
	}
	return idx
}

// bootClientOf reads what req says about the booting machine: every
// architecture type in option 61 in the client's order (raw values: named
// constants stop short of newer types such as LoongArch 0x27), every
// user-class-data of option 15 and every vendor-class-data of option 16.
func bootClientOf(req *dhcpv6.Message) bootfile.Client {
	var c bootfile.Client
	for _, o := range req.Options.Get(dhcpv6.OptionClientArchType) {
		// ToBytes is the wire form whatever type parsed the option.
		b := o.ToBytes()
		for i := 0; i+1 < len(b); i += 2 {
			c.Arch = append(c.Arch, binary.BigEndian.Uint16(b[i:]))
		}
	}
	for _, o := range req.Options.Get(dhcpv6.OptionUserClass) {
		if uc, ok := o.(*dhcpv6.OptUserClass); ok {
			for _, d := range uc.UserClasses {
				c.UserClasses = append(c.UserClasses, string(d))
			}
		}
	}
	for _, vc := range req.Options.VendorClasses() {
		for _, d := range vc.Data {
			c.VendorClasses = append(c.VendorClasses, string(d))
		}
	}
	return c
}

// bootAddrProblem says why a cannot be the host of boot URLs, or "" when
// it can be.
func bootAddrProblem(a netip.Addr) string {
	switch {
	case !a.IsValid() || a.IsUnspecified():
		return noBootAddress
	case !a.Is6() || a.Is4In6():
		return fmt.Sprintf("%s: %s is not an IPv6 address", noBootAddress, a)
	case a.IsLinkLocalUnicast():
		return fmt.Sprintf("%s: %s is link-local and URLs cannot carry a zone", noBootAddress, a)
	case !a.IsGlobalUnicast():
		return fmt.Sprintf("%s: %s is not a unicast address", noBootAddress, a)
	}
	return ""
}

// needsBootAddr reports whether any rule serves a file from this server,
// whose URL needs the server address.
func needsBootAddr(rules []bootfile.Rule) bool {
	for _, r := range rules {
		if r.URL == "" {
			return true
		}
	}
	return false
}

func httpURL(u string) bool {
	u = strings.ToLower(u)
	return strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://")
}

func anyHTTPBootArch(archs []uint16) bool {
	for _, a := range archs {
		if bootfile.HTTPBootArch(a) {
			return true
		}
	}
	return false
}

// logAttrs are the structured fields of the one log line per decision.
func (a *bootAnswer) logAttrs(c client, msgType dhcpv6.MessageType) []any {
	archs := make([]string, len(a.client.Arch))
	for i, v := range a.client.Arch {
		archs[i] = fmt.Sprintf("0x%04x", v)
	}
	attrs := []any{
		eventkind.BootFile.Attr(),
		"msg_type", msgType.String(),
		"duid", hex.EncodeToString(c.duid),
		"arch", strings.Join(archs, ","),
		"user_class", printable(a.client.UserClasses),
		"vendor_class", printable(a.client.VendorClasses),
	}
	if c.hwAddr != "" {
		attrs = append(attrs, "hardware_addr", c.hwAddr, "hardware_addr_source", c.hwSource)
	}
	if !a.requested {
		return attrs
	}
	attrs = append(attrs, "url", a.decision.URL, "reason", a.decision.Reason)
	if a.decision.URL != "" && len(a.decision.Parameters) > 0 {
		attrs = append(attrs, "parameters", printable(a.decision.Parameters))
	}
	return attrs
}

// printable joins client-supplied strings for a log line.
func printable(ss []string) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.ToValidUTF8(s, "\uFFFD")
	}
	return strings.Join(out, ",")
}
