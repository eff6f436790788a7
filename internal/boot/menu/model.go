// Package menu renders the iPXE scripts a boot server serves from the boot
// entries and boot menus a user declares (the Terraform resources
// netboot_boot_entry and netboot_boot_menu): start.ipxe, which every iPXE
// client runs first, and one script per host holding the menu chosen for it,
// its submenus and the entries they offer.
//
// Everything a user writes is checked by Validate and ValidateCatalog before
// the agent stores it, because iPXE has no quoting: a newline in a title, a
// lone "||" or a word starting with '#' would change what the script does.
package menu

import (
	"maps"
	"slices"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/machineconfig"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// Kind says what choosing an entry does.
type Kind string

const (
	// KindLinux downloads a kernel and initrds and boots them.
	KindLinux Kind = "linux"
	// KindExit leaves iPXE so the firmware boots the next device (local disk).
	KindExit Kind = "exit"
	// KindChain downloads and runs another image (an EFI binary, an iPXE
	// script, pxelinux.0, ...).
	KindChain Kind = "chain"
	// KindSanboot boots from a SAN target or a disk image over HTTP.
	KindSanboot Kind = "sanboot"
	// KindScript runs raw iPXE commands.
	KindScript Kind = "script"
)

// Kinds lists every Kind in the order the documentation gives them.
var Kinds = []Kind{KindLinux, KindExit, KindChain, KindSanboot, KindScript}

// Linux is a kernel, its initrds and its command line.
type Linux struct {
	// Kernel and Initrds are artifact paths relative to the boot server's
	// HTTP root ("centos/vmlinuz") or absolute http, https or tftp URLs.
	Kernel  string
	Initrds []string
	// Args is a Go text/template that may use {{ .HTTPBase }},
	// {{ .BootServer }} and {{ .Entry }}; iPXE's ${...} pass through.
	Args string
}

// Entry is one thing a menu can boot (netboot_boot_entry).
type Entry struct {
	Name string
	// Title is the menu label; Name when empty.
	Title string
	Kind  Kind
	// Linux is the kernel for every platform. EFI and PCBIOS override it
	// field by field on that platform: a set Kernel, non-empty Initrds or
	// non-empty Args replace Linux's.
	Linux  *Linux
	EFI    *Linux
	PCBIOS *Linux
	// URL is what KindChain and KindSanboot boot.
	URL string
	// Script is raw iPXE for KindScript.
	Script string
}

// Format is a boot loader a menu is rendered for.
type Format string

const (
	// FormatIPXE is an iPXE script (menu.ipxe).
	FormatIPXE Format = "ipxe"
	// FormatGRUB is a GRUB configuration (grub.cfg), for the signed
	// shim → GRUB chain UEFI Secure Boot needs.
	FormatGRUB Format = "grub"
)

// Formats lists every Format in the order the documentation gives them.
var Formats = []Format{FormatIPXE, FormatGRUB}

// Item is one line of a menu: exactly one of Entry, Menu (a submenu) or Gap.
type Item struct {
	Entry string
	Menu  string
	Gap   bool
	// Text is a gap's text, or a label replacing the entry's or submenu's
	// title.
	Text string
	// Key is a hot key: one letter or digit.
	Key string
}

// Match selects the hosts a menu is for. Within a field any value matches;
// across fields every set field must match.
type Match struct {
	MACs       []string
	UUIDs      []string
	Platforms  []string
	BuildArchs []string
	// Labels match a host that is a machine (netboot_machine) whose labels
	// hold every one of them.
	Labels map[string]string
}

// IsZero reports whether no field is set: such a menu matches no host.
func (m Match) IsZero() bool {
	return len(m.MACs) == 0 && len(m.UUIDs) == 0 && len(m.Platforms) == 0 && len(m.BuildArchs) == 0 && len(m.Labels) == 0
}

// Menu is an iPXE menu (netboot_boot_menu).
type Menu struct {
	Name string
	// Title is shown above the items; Name when empty.
	Title string
	Items []Item
	// DefaultItem names an entry or submenu among Items, chosen when Timeout
	// runs out.
	DefaultItem string
	// Timeout is how long the menu waits; 0 waits forever.
	Timeout time.Duration
	// Template replaces the built-in menu template (see MenuView).
	Template string
	// Match selects the hosts this menu is for. A menu with no Match that
	// is not IsDefault is only reachable as a submenu or as a machine's
	// Menu.
	Match Match
	// IsDefault makes this the menu for hosts no other menu matches.
	IsDefault bool
	// BootServers limits which boot servers offer this menu to hosts;
	// empty means all. Submenus are reachable from any boot server.
	BootServers []string
	// Formats are the boot loaders whose hosts this menu is chosen for;
	// empty means all. A menu for GRUB alone (GrubOnly) may only offer
	// entries GRUB can boot: listing iPXE's would only show errors.
	Formats []Format
}

// For reports whether m is chosen for hosts running boot loader f.
func (m *Menu) For(f Format) bool {
	return len(m.Formats) == 0 || slices.Contains(m.Formats, f)
}

// GrubOnly reports whether m is for GRUB alone, so every entry it leads
// to must boot from GRUB (ValidateCatalog).
func (m *Menu) GrubOnly() bool { return m.For(FormatGRUB) && !m.For(FormatIPXE) }

// Catalog is an immutable snapshot of every entry and menu, keyed by name.
// The agent builds a new one on each change and swaps it atomically; nothing
// here modifies it.
type Catalog struct {
	Entries map[string]Entry
	Menus   map[string]Menu
	// Machines are the agent's machines by name: a machine's Menu comes
	// before every menu's match.
	Machines map[string]config.Machine
	// Configs are the files rendered per machine (netboot_config).
	Configs map[string]machineconfig.Config
	// Updated is when the catalog last changed: the served scripts'
	// modification time (zero: none).
	Updated time.Time
}

// EntryFromProto converts an API object. It does not validate.
func EntryFromProto(pb *netbootv1.BootEntry) Entry {
	return Entry{
		Name:   pb.GetName(),
		Title:  pb.GetTitle(),
		Kind:   Kind(pb.GetKind()),
		Linux:  linuxFromProto(pb.GetLinux()),
		EFI:    linuxFromProto(pb.GetEfi()),
		PCBIOS: linuxFromProto(pb.GetPcbios()),
		URL:    pb.GetUrl(),
		Script: pb.GetScript(),
	}
}

// ToProto converts e into its API form.
func (e Entry) ToProto() *netbootv1.BootEntry {
	return &netbootv1.BootEntry{
		Name:   e.Name,
		Title:  e.Title,
		Kind:   string(e.Kind),
		Linux:  e.Linux.toProto(),
		Efi:    e.EFI.toProto(),
		Pcbios: e.PCBIOS.toProto(),
		Url:    e.URL,
		Script: e.Script,
	}
}

func linuxFromProto(pb *netbootv1.LinuxBoot) *Linux {
	if pb == nil {
		return nil
	}
	return &Linux{Kernel: pb.GetKernel(), Initrds: clone(pb.GetInitrds()), Args: pb.GetArgs()}
}

func (l *Linux) toProto() *netbootv1.LinuxBoot {
	if l == nil {
		return nil
	}
	return &netbootv1.LinuxBoot{Kernel: l.Kernel, Initrds: clone(l.Initrds), Args: l.Args}
}

// MenuFromProto converts an API object. It does not validate.
func MenuFromProto(pb *netbootv1.BootMenu) Menu {
	m := Menu{
		Name:        pb.GetName(),
		Title:       pb.GetTitle(),
		DefaultItem: pb.GetDefaultItem(),
		Timeout:     time.Duration(pb.GetTimeoutSeconds()) * time.Second,
		Template:    pb.GetTemplate(),
		IsDefault:   pb.GetIsDefault(),
		BootServers: clone(pb.GetBootServers()),
	}
	for _, f := range pb.GetFormats() {
		m.Formats = append(m.Formats, Format(f))
	}
	for _, it := range pb.GetItems() {
		m.Items = append(m.Items, Item{Entry: it.GetEntry(), Menu: it.GetMenu(), Gap: it.GetGap(), Text: it.GetText(), Key: it.GetKey()})
	}
	if match := pb.GetMatch(); match != nil {
		m.Match = Match{
			MACs:       clone(match.GetMacs()),
			UUIDs:      clone(match.GetUuids()),
			Platforms:  clone(match.GetPlatforms()),
			BuildArchs: clone(match.GetBuildarchs()),
			Labels:     maps.Clone(match.GetLabels()),
		}
	}
	return m
}

// ToProto converts m into its API form.
func (m Menu) ToProto() *netbootv1.BootMenu {
	pb := &netbootv1.BootMenu{
		Name:           m.Name,
		Title:          m.Title,
		DefaultItem:    m.DefaultItem,
		TimeoutSeconds: uint32(m.Timeout / time.Second),
		Template:       m.Template,
		IsDefault:      m.IsDefault,
		BootServers:    clone(m.BootServers),
	}
	for _, f := range m.Formats {
		pb.Formats = append(pb.Formats, string(f))
	}
	for _, it := range m.Items {
		pb.Items = append(pb.Items, &netbootv1.MenuItem{Entry: it.Entry, Menu: it.Menu, Gap: it.Gap, Text: it.Text, Key: it.Key})
	}
	if !m.Match.IsZero() {
		pb.Match = &netbootv1.HostMatch{
			Macs:       clone(m.Match.MACs),
			Uuids:      clone(m.Match.UUIDs),
			Platforms:  clone(m.Match.Platforms),
			Buildarchs: clone(m.Match.BuildArchs),
			Labels:     maps.Clone(m.Match.Labels),
		}
	}
	return pb
}

// clone copies s so a model never aliases a protobuf message's slices;
// empty stays nil so round trips compare equal.
func clone(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return append([]string(nil), s...)
}
