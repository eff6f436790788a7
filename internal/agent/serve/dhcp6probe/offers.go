package dhcp6probe

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"
)

// offersOf lists what an answer offers, one item per option that matters
// to a booting client, for `agent status` and the logs.
func offersOf(msg *dhcpv6.Message) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if msg.MessageType == dhcpv6.MessageTypeReply {
		add("Reply without a Request (rapid commit)")
	}
	if st := msg.Options.Status(); st != nil {
		add("status %s", status(st))
	}
	if msg.GetOneOption(dhcpv6.OptionPreference) != nil {
		add("preference %d", msg.Options.Preference())
	}
	for _, ia := range msg.Options.IANA() {
		add("IA_NA T1 %s, T2 %s", seconds(ia.T1), seconds(ia.T2))
		for _, a := range ia.Options.Addresses() {
			add("IA_NA address %s (preferred %s, valid %s)", a.IPv6Addr, seconds(a.PreferredLifetime), seconds(a.ValidLifetime))
		}
		if st := ia.Options.Status(); st != nil {
			add("IA_NA status %s", status(st))
		}
	}
	for _, pd := range msg.Options.IAPD() {
		for _, p := range pd.Options.Prefixes() {
			if p.Prefix != nil {
				add("IA_PD prefix %s (preferred %s, valid %s)", p.Prefix, seconds(p.PreferredLifetime), seconds(p.ValidLifetime))
			}
		}
	}
	if dns := msg.Options.DNS(); len(dns) > 0 {
		add("DNS servers %s", joinIPs(dns))
	}
	if l := msg.Options.DomainSearchList(); l != nil && len(l.Labels) > 0 {
		add("domain search %s", strings.Join(l.Labels, ", "))
	}
	if u := msg.Options.BootFileURL(); u != "" {
		add("boot-file URL %s", printable(u))
	}
	if ps := msg.Options.BootFileParam(); len(ps) > 0 {
		add("boot-file parameters %s", printable(strings.Join(ps, " ")))
	}
	if msg.GetOneOption(dhcpv6.OptionInformationRefreshTime) != nil {
		add("information refresh time %s", seconds(msg.Options.InformationRefreshTime(0)))
	}
	return out
}

// status prints a Status Code option, e.g. "NoAddrsAvail (no addresses)".
func status(st *dhcpv6.OptStatusCode) string {
	s := st.StatusCode.String()
	if st.StatusMessage != "" {
		s += " (" + printable(st.StatusMessage) + ")"
	}
	return s
}

func seconds(d time.Duration) string {
	if d == time.Duration(0xffffffff)*time.Second {
		return "infinity"
	}
	return fmt.Sprintf("%d s", int64(d/time.Second))
}

func joinIPs(ips []net.IP) string {
	s := make([]string, len(ips))
	for i, ip := range ips {
		s[i] = ip.String()
	}
	return strings.Join(s, ", ")
}

// printable keeps another server's text from breaking a log line or a
// table: control characters become '?', and it is cut at 200 bytes.
func printable(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "") + "…"
	}
	return s
}

// linkLayerAddress is the MAC in an Ethernet DUID-LL or DUID-LLT.
func linkLayerAddress(duid dhcpv6.DUID) string {
	switch d := duid.(type) {
	case *dhcpv6.DUIDLL:
		if d.HWType == iana.HWTypeEthernet && len(d.LinkLayerAddr) == 6 {
			return d.LinkLayerAddr.String()
		}
	case *dhcpv6.DUIDLLT:
		if d.HWType == iana.HWTypeEthernet && len(d.LinkLayerAddr) == 6 {
			return d.LinkLayerAddr.String()
		}
	}
	return ""
}
