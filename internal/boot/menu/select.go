package menu

import (
	"fmt"
	"slices"
	"strings"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
)

// Host is what an iPXE client says about itself in the menu URL start.ipxe
// chains to (its ${netX/mac:hexhyp}, ${uuid}, ${buildarch} and ${platform}).
// Fields may be empty: iPXE expands a setting it lacks to nothing.
type Host struct {
	MAC, UUID, BuildArch, Platform string
}

// String describes the host for logs and scripts, with the MAC and UUID in
// their normal form when they parse.
func (h Host) String() string {
	show := func(v string, normalize func(string) (string, bool)) string {
		if n, ok := normalize(v); ok {
			return n
		}
		if v == "" {
			return "unknown"
		}
		return v
	}
	same := func(s string) (string, bool) { return s, s != "" }
	return fmt.Sprintf("mac %s, uuid %s, arch %s, platform %s",
		show(h.MAC, NormalizeMAC), show(h.UUID, NormalizeUUID), show(h.BuildArch, same), show(h.Platform, same))
}

// NormalizeMAC turns an Ethernet MAC address written with ':' or '-'
// separators, in any case, into lowercase colon form ("52:54:00:12:34:56").
func NormalizeMAC(s string) (string, bool) { return config.NormalizeMAC(s) }

// NormalizeUUID turns a UUID written with or without hyphens, in any case,
// into the lowercase 8-4-4-4-12 form iPXE's ${uuid} uses.
func NormalizeUUID(s string) (string, bool) { return config.NormalizeUUID(s) }

// offered reports whether m may be chosen for hosts of bootServer that
// run boot loader f.
func (m *Menu) offered(bootServer string, f Format) bool {
	return (len(m.BootServers) == 0 || slices.Contains(m.BootServers, bootServer)) && m.For(f)
}

// selectable reports whether m can be chosen for a host at all, rather than
// only reached as a submenu.
func (m *Menu) selectable() bool { return m.IsDefault || !m.Match.IsZero() }

// score is how specifically m matches h, or -1 when it does not, with the
// fields it matched on.
func (m *Menu) score(h Host, labels map[string]string) (int, []string) {
	mt := m.Match
	if mt.IsZero() {
		return -1, nil
	}
	in := func(values []string, v string, normalize func(string) (string, bool)) bool {
		want, ok := normalize(v)
		if !ok {
			return false
		}
		for _, c := range values {
			if n, ok := normalize(c); ok && n == want {
				return true
			}
		}
		return false
	}
	exact := func(s string) (string, bool) { return s, s != "" }
	score := 0
	var on []string
	if len(mt.MACs) > 0 {
		if !in(mt.MACs, h.MAC, NormalizeMAC) {
			return -1, nil
		}
		on = append(on, "mac")
	}
	if len(mt.UUIDs) > 0 {
		if !in(mt.UUIDs, h.UUID, NormalizeUUID) {
			return -1, nil
		}
		on = append(on, "uuid")
	}
	if len(mt.MACs) > 0 || len(mt.UUIDs) > 0 {
		score += 8
	}
	if len(mt.Labels) > 0 {
		if !config.HasLabels(labels, mt.Labels) {
			return -1, nil
		}
		score += 4
		on = append(on, "labels")
	}
	if len(mt.Platforms) > 0 {
		if !in(mt.Platforms, h.Platform, exact) {
			return -1, nil
		}
		score += 2
		on = append(on, "platform")
	}
	if len(mt.BuildArchs) > 0 {
		if !in(mt.BuildArchs, h.BuildArch, exact) {
			return -1, nil
		}
		score++
		on = append(on, "buildarch")
	}
	return score, on
}

// Select picks the menu for host h, running boot loader f, on boot server
// bootServer and says why.
//
// The rule, as documented for users:
//
//   - A menu is offered on a boot server when its boot_servers is empty or
//     names that boot server, to the boot loaders its formats name (all
//     when empty).
//   - An offered menu matches a host when every field set in its match
//     matches: macs contains the host's MAC address, uuids its SMBIOS UUID,
//     platforms its iPXE ${platform} ("efi", "pcbios") and buildarchs its
//     ${buildarch} ("x86_64", "arm64", ...), and labels the labels of the
//     machine the host is. Any value within a list will do; every label
//     must be there. MAC addresses and UUIDs are compared in any case, with
//     ':' or '-'. A menu with an empty match matches no host.
//   - The most specific matching menu wins. Its score is 8 if its match sets
//     macs or uuids, plus 4 if it sets labels, plus 2 if it sets platforms,
//     plus 1 if it sets buildarchs. Between equal scores the menu whose name
//     sorts first wins.
//   - When no menu matches, the host gets the boot server's default menu
//     (is_default = true); when there is none, no menu: iPXE says so and
//     boots from the local disk.
//
// Select returns nil when no menu applies. The order of menus does not
// matter.
func Select(menus []Menu, bootServer string, f Format, h Host) (*Menu, string) {
	return selectMenu(menus, bootServer, f, h, nil)
}

// selectMenu is Select for a host that is a machine with labels (nil: none).
func selectMenu(menus []Menu, bootServer string, f Format, h Host, labels map[string]string) (*Menu, string) {
	best, bestScore := -1, -1
	var bestOn []string
	var ties []string
	def := -1
	for i := range menus {
		m := &menus[i]
		if !m.offered(bootServer, f) {
			continue
		}
		if m.IsDefault && (def < 0 || m.Name < menus[def].Name) {
			def = i
		}
		score, on := m.score(h, labels)
		switch {
		case score < 0:
		case score > bestScore:
			best, bestScore, bestOn, ties = i, score, on, nil
		case score == bestScore:
			if m.Name < menus[best].Name {
				ties = append(ties, menus[best].Name)
				best, bestOn = i, on
			} else {
				ties = append(ties, m.Name)
			}
		}
	}
	if best >= 0 {
		reason := fmt.Sprintf("menu %q matches on %s (score %d)", menus[best].Name, strings.Join(bestOn, ", "), bestScore)
		if len(ties) > 0 {
			slices.Sort(ties)
			reason += fmt.Sprintf("; tied with %s, chosen because its name sorts first", quoteList(ties))
		}
		return &menus[best], reason
	}
	if def >= 0 {
		return &menus[def], fmt.Sprintf("no menu matches this host (%s); %q is the default menu on boot server %q", h, menus[def].Name, bootServer)
	}
	return nil, fmt.Sprintf("no menu matches this host (%s) and boot server %q has no default menu", h, bootServer)
}
