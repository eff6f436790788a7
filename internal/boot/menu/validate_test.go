package menu

import (
	"strings"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
)

// fields lists the HCL paths err names, or fails when err carries no
// FieldErrors.
func fields(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	fes, ok := config.AsFieldErrors(err)
	if !ok {
		t.Fatalf("error %v (%T) carries no FieldErrors", err, err)
	}
	var out []string
	for _, fe := range fes {
		out = append(out, fe.Field())
	}
	return out
}

func TestValidEntriesAndMenus(t *testing.T) {
	c := testCatalog()
	for name, e := range c.Entries {
		if err := e.Validate(); err != nil {
			t.Errorf("entry %s: %v", name, err)
		}
	}
	for name, m := range c.Menus {
		if err := m.Validate(); err != nil {
			t.Errorf("menu %s: %v", name, err)
		}
	}
	if err := ValidateCatalog(c.Entries, c.Menus); err != nil {
		t.Errorf("catalog: %v", err)
	}
}

func TestEntryValidate(t *testing.T) {
	linux := func(mod func(e *Entry)) Entry {
		e := Entry{Name: "centos", Kind: KindLinux, Linux: &Linux{Kernel: "centos/vmlinuz", Initrds: []string{"centos/initrd.img"}, Args: "ip=dhcp6"}}
		mod(&e)
		return e
	}
	for _, tc := range []struct {
		name      string
		entry     Entry
		field     string
		reasonHas string
	}{
		{"uppercase name", linux(func(e *Entry) { e.Name = "CentOS" }), "name", "lowercase"},
		{"empty name", linux(func(e *Entry) { e.Name = "" }), "name", ""},
		{"newline in title", linux(func(e *Entry) { e.Title = "CentOS\nchain http://evil/" }), "title", "line break"},
		{"lone || in title", linux(func(e *Entry) { e.Title = "A || B" }), "title", `"||"`},
		{"lone && in title", linux(func(e *Entry) { e.Title = "Rock && Roll" }), "title", `"&&"`},
		{"lone ; in title", linux(func(e *Entry) { e.Title = "a ; b" }), "title", `";"`},
		{"comment in title", linux(func(e *Entry) { e.Title = "Build #5" }), "title", "comment"},
		{"trailing backslash", linux(func(e *Entry) { e.Title = `C:\` }), "title", "backslash"},
		{"NUL in title", linux(func(e *Entry) { e.Title = "a\x00b" }), "title", "control"},
		{"escape in title", linux(func(e *Entry) { e.Title = "a\x1b[2Jb" }), "title", "control"},
		{"tab in title", linux(func(e *Entry) { e.Title = "a\tb" }), "title", "tabs"},
		{"unclosed setting", linux(func(e *Entry) { e.Title = "Boot ${root-path" }), "title", "setting reference"},
		{"long title", linux(func(e *Entry) { e.Title = strings.Repeat("x", 200) }), "title", "at most"},
		{"bad kind", linux(func(e *Entry) { e.Kind = "windows" }), "kind", `"windows"`},
		{"no kernel at all", linux(func(e *Entry) { e.Linux = nil }), "linux", "must be set"},
		{"empty kernel", linux(func(e *Entry) { e.Linux.Kernel = "" }), "linux.kernel", "must be set"},
		{"kernel only for efi", linux(func(e *Entry) { e.Linux.Kernel = ""; e.EFI = &Linux{Kernel: "efi/vmlinuz"} }), "linux.kernel", "both efi and pcbios"},
		{"pcbios missing without linux", linux(func(e *Entry) { e.Linux = nil; e.EFI = &Linux{Kernel: "efi/vmlinuz"} }), "pcbios", "own"},
		{"pcbios without kernel", linux(func(e *Entry) {
			e.Linux = nil
			e.EFI = &Linux{Kernel: "efi/vmlinuz"}
			e.PCBIOS = &Linux{Args: "quiet"}
		}), "pcbios.kernel", "own"},
		{"absolute artifact path", linux(func(e *Entry) { e.Linux.Kernel = "/centos/vmlinuz" }), "linux.kernel", `"centos/vmlinuz"`},
		{"dot-dot path", linux(func(e *Entry) { e.Linux.Kernel = "../etc/passwd" }), "linux.kernel", "clean relative path"},
		{"backslash path", linux(func(e *Entry) { e.Linux.Kernel = `centos\vmlinuz` }), "linux.kernel", "clean relative path"},
		{"ftp kernel", linux(func(e *Entry) { e.Linux.Kernel = "ftp://host/vmlinuz" }), "linux.kernel", "http://, https:// or tftp://"},
		{"url without host", linux(func(e *Entry) { e.Linux.Kernel = "http:///vmlinuz" }), "linux.kernel", "with a host"},
		{"space in url", linux(func(e *Entry) { e.Linux.Kernel = "http://h/a b" }), "linux.kernel", "%20"},
		{"bad initrd", linux(func(e *Entry) { e.Linux.Initrds = append(e.Linux.Initrds, "a//b") }), "linux.initrds[1]", "clean relative path"},
		{"efi initrd", linux(func(e *Entry) { e.EFI = &Linux{Initrds: []string{"", "x"}} }), "efi.initrds[0]", "must be set"},
		{"newline in args", linux(func(e *Entry) { e.Linux.Args = "quiet\nshell" }), "linux.args", "single line"},
		{"injected command in args", linux(func(e *Entry) { e.Linux.Args = "quiet || shell" }), "linux.args", `"||"`},
		{"unparseable args", linux(func(e *Entry) { e.Linux.Args = "ks={{ .HTTPBase" }), "linux.args", "not a valid Go template"},
		{"unknown field", linux(func(e *Entry) { e.Linux.Args = "ks={{ .Server }}/ks" }), "linux.args", "{{ .Server }}"},
		{"unknown field via $", linux(func(e *Entry) { e.Linux.Args = "{{ with .Entry }}{{ $.Host }}{{ end }}" }), "linux.args", "{{ .Host }}"},
		{"template renders newline", linux(func(e *Entry) { e.Linux.Args = `a{{ "\n" }}shell` }), "linux.args", "after rendering"},
		{"pcbios args", linux(func(e *Entry) { e.PCBIOS = &Linux{Args: "# nothing"} }), "pcbios.args", "comment"},
		{"chain without url", Entry{Name: "x", Kind: KindChain}, "url", "must be set"},
		{"chain to iscsi", Entry{Name: "x", Kind: KindChain, URL: "iscsi:[2001:db8::1]::::iqn.x"}, "url", "http://"},
		{"sanboot over tftp", Entry{Name: "x", Kind: KindSanboot, URL: "tftp://[2001:db8::1]/disk.img"}, "url", "iscsi:"},
		{"sanboot empty target", Entry{Name: "x", Kind: KindSanboot, URL: "iscsi:"}, "url", "no target"},
		{"script empty", Entry{Name: "x", Kind: KindScript, Script: " \n"}, "script", "must not be empty"},
		{"script only shebang", Entry{Name: "x", Kind: KindScript, Script: "#!ipxe\n"}, "script", "only the"},
		{"script shebang and blank lines", Entry{Name: "x", Kind: KindScript, Script: "#!ipxe\n \n\t\n"}, "script", "only the"},
		{"script reserved label", Entry{Name: "x", Kind: KindScript, Script: "goto x\n:failed\nshell"}, "script", `":failed"`},
		{"script menu label", Entry{Name: "x", Kind: KindScript, Script: "  :menu-main\nshell"}, "script", "reserved"},
		{"script trailing backslash", Entry{Name: "x", Kind: KindScript, Script: "echo a \\\n"}, "script", "backslash"},
		{"script control char", Entry{Name: "x", Kind: KindScript, Script: "echo \x00"}, "script", "control"},
		{"url on exit", Entry{Name: "x", Kind: KindExit, URL: "http://h/x"}, "url", "only used"},
		{"script on chain", Entry{Name: "x", Kind: KindChain, URL: "http://h/x", Script: "shell"}, "script", "only used"},
		{"linux on exit", Entry{Name: "x", Kind: KindExit, EFI: &Linux{}}, "efi", "only used"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.entry.Validate()
			got := fields(t, err)
			if len(got) != 1 || got[0] != tc.field {
				t.Fatalf("Validate() names %v, want [%s] (%v)", got, tc.field, err)
			}
			if !strings.Contains(err.Error(), tc.reasonHas) {
				t.Errorf("reason %q lacks %q", err, tc.reasonHas)
			}
		})
	}
}

func TestEntryValidateAcceptsUsefulText(t *testing.T) {
	for _, e := range []Entry{
		{Name: "a", Title: "Déjà vu — ünïcode 🚀", Kind: KindExit},
		{Name: "b", Title: "Boot from ${root-path} (C# and a|b)", Kind: KindExit},
		{Name: "c", Kind: KindChain, URL: "http://${next-server}/boot.php?mac=${netX/mac}&uuid=${uuid}"},
		{Name: "d", Kind: KindSanboot, URL: "aoe:e0.1"},
		{Name: "e", Kind: KindLinux, Linux: &Linux{Kernel: "tftp://[2001:db8::1]/vmlinuz", Args: `root=/dev/nfs ip=${ip} "quoted arg" -- {{ .BootServer }}`}},
		{Name: "f", Kind: KindScript, Script: "#!ipxe\n:retry\ndhcp || goto retry\n"},
	} {
		if err := e.Validate(); err != nil {
			t.Errorf("entry %s: %v", e.Name, err)
		}
	}
}

func TestMenuValidate(t *testing.T) {
	menu := func(mod func(m *Menu)) Menu {
		m := Menu{
			Name: "main", Title: "Main",
			Items:       []Item{{Entry: "centos", Key: "c"}, {Gap: true, Text: "Tools"}, {Menu: "tools", Key: "t"}},
			DefaultItem: "centos", Timeout: 5 * time.Second,
			Match:       Match{MACs: []string{"52:54:00:12:34:56"}, Platforms: []string{"efi"}},
			BootServers: []string{"lab"},
		}
		mod(&m)
		return m
	}
	for _, tc := range []struct {
		name      string
		menu      Menu
		field     string
		reasonHas string
	}{
		{"bad name", menu(func(m *Menu) { m.Name = "Main Menu" }), "name", "lowercase"},
		{"newline in title", menu(func(m *Menu) { m.Title = "Main\nshell" }), "title", "line break"},
		{"option-like title", menu(func(m *Menu) { m.Title = "--name x" }), "title", "option"},
		{"indented option-like title", menu(func(m *Menu) { m.Title = "  -d" }), "title", "option"},
		{"no items", menu(func(m *Menu) { m.Items = nil; m.DefaultItem = "" }), "items", "at least one"},
		{"gaps only", menu(func(m *Menu) { m.Items = []Item{{Gap: true}}; m.DefaultItem = "" }), "items", "gaps only"},
		{"empty item", menu(func(m *Menu) { m.Items = append(m.Items, Item{}) }), "items[3]", "exactly one"},
		{"two targets", menu(func(m *Menu) { m.Items[0].Menu = "tools" }), "items[0]", "only one"},
		{"bad entry name", menu(func(m *Menu) { m.Items = append(m.Items, Item{Entry: "Bad"}) }), "items[3].entry", "boot entry"},
		{"bad menu name", menu(func(m *Menu) { m.Items = append(m.Items, Item{Menu: "a b"}) }), "items[3].menu", "boot menu"},
		{"injected text", menu(func(m *Menu) { m.Items[1].Text = "Tools && shell" }), "items[1].text", `"&&"`},
		{"two-letter key", menu(func(m *Menu) { m.Items[0].Key = "ce" }), "items[0].key", "single letter"},
		{"hash key", menu(func(m *Menu) { m.Items[0].Key = "#" }), "items[0].key", "single letter"},
		{"duplicate key", menu(func(m *Menu) { m.Items[2].Key = "c" }), "items[2].key", "items[0]"},
		{"key on gap", menu(func(m *Menu) { m.Items[1].Key = "g" }), "items[1].key", "gap"},
		{"unknown default", menu(func(m *Menu) { m.DefaultItem = "debian" }), "default_item", `"centos", "tools"`},
		{"ambiguous default", menu(func(m *Menu) {
			m.Items = append(m.Items, Item{Entry: "tools"})
			m.DefaultItem = "tools"
		}), "default_item", "ambiguous"},
		{"negative timeout", menu(func(m *Menu) { m.Timeout = -time.Second }), "timeout", "whole seconds"},
		{"fractional timeout", menu(func(m *Menu) { m.Timeout = 1500 * time.Millisecond }), "timeout", "whole seconds"},
		{"huge timeout", menu(func(m *Menu) { m.Timeout = 48 * time.Hour }), "timeout", "86400"},
		{"unparseable template", menu(func(m *Menu) { m.Template = "menu {{ .Title" }), "template", "not a valid Go template"},
		{"template unknown field", menu(func(m *Menu) { m.Template = "menu {{ .Heading }}" }), "template", "Heading"},
		{"template item field", menu(func(m *Menu) { m.Template = "{{ range .Items }}{{ .Label }}{{ end }}" }), "template", "Label"},
		{"bad mac", menu(func(m *Menu) { m.Match.MACs = append(m.Match.MACs, "52:54:00:12:34") }), "match.macs[1]", "MAC address"},
		{"mixed separators", menu(func(m *Menu) { m.Match.MACs = []string{"52:54-00:12:34:56"} }), "match.macs[0]", "MAC address"},
		{"duplicate mac", menu(func(m *Menu) { m.Match.MACs = append(m.Match.MACs, "52-54-00-12-34-56") }), "match.macs[1]", "repeats match.macs[0]"},
		{"bad uuid", menu(func(m *Menu) { m.Match.UUIDs = []string{"not-a-uuid"} }), "match.uuids[0]", "UUID"},
		{"bad platform", menu(func(m *Menu) { m.Match.Platforms = []string{"uefi"} }), "match.platforms[0]", `"efi" or "pcbios"`},
		{"bad buildarch", menu(func(m *Menu) { m.Match.BuildArchs = []string{"amd64"} }), "match.buildarchs[0]", "x86_64"},
		{"bad boot server", menu(func(m *Menu) { m.BootServers = []string{"lab", "Lab 2"} }), "boot_servers[1]", "boot server"},
		{"duplicate boot server", menu(func(m *Menu) { m.BootServers = []string{"lab", "lab"} }), "boot_servers[1]", "repeats"},
		{"unknown format", menu(func(m *Menu) { m.Formats = []Format{"grub", "pxelinux"} }), "formats[1]", `"ipxe" or "grub"`},
		{"duplicate format", menu(func(m *Menu) { m.Formats = []Format{"grub", "grub"} }), "formats[1]", "repeats formats[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.menu.Validate()
			got := fields(t, err)
			if len(got) != 1 || got[0] != tc.field {
				t.Fatalf("Validate() names %v, want [%s] (%v)", got, tc.field, err)
			}
			if !strings.Contains(err.Error(), tc.reasonHas) {
				t.Errorf("reason %q lacks %q", err, tc.reasonHas)
			}
		})
	}
}

func TestValidateCatalog(t *testing.T) {
	entries := map[string]Entry{
		"centos": {Name: "centos", Kind: KindExit},
		"shell":  {Name: "shell", Kind: KindScript, Script: "shell"},
		"san":    {Name: "san", Kind: KindSanboot, URL: "http://[2001:db8::1]/disk.img"},
		"remote": {Name: "remote", Kind: KindLinux, Linux: &Linux{Kernel: "http://[2001:db8::1]/vmlinuz"}},
	}
	for _, tc := range []struct {
		name  string
		menus []Menu
		want  []string // "menu: field"
	}{
		{"cycles are fine", []Menu{
			{Name: "a", Items: []Item{{Menu: "b"}, {Entry: "centos"}}, IsDefault: true},
			{Name: "b", Items: []Item{{Menu: "a"}, {Menu: "b"}}},
		}, nil},
		{"missing entry and menu", []Menu{
			{Name: "a", Items: []Item{{Entry: "debian"}, {Menu: "tools"}}},
		}, []string{"a: items[0].entry", "a: items[1].menu"}},
		{"two defaults everywhere", []Menu{
			{Name: "a", Items: []Item{{Entry: "centos"}}, IsDefault: true},
			{Name: "b", Items: []Item{{Entry: "centos"}}, IsDefault: true},
		}, []string{"b: is_default"}},
		{"defaults on different boot servers", []Menu{
			{Name: "a", Items: []Item{{Entry: "centos"}}, IsDefault: true, BootServers: []string{"lab1"}},
			{Name: "b", Items: []Item{{Entry: "centos"}}, IsDefault: true, BootServers: []string{"lab2"}},
		}, nil},
		{"default everywhere and on one", []Menu{
			{Name: "a", Items: []Item{{Entry: "centos"}}, IsDefault: true},
			{Name: "b", Items: []Item{{Entry: "centos"}}, IsDefault: true, BootServers: []string{"lab2"}},
		}, []string{"b: is_default"}},
		{"same match in another spelling", []Menu{
			{Name: "a", Items: []Item{{Entry: "centos"}}, Match: Match{MACs: []string{"52:54:00:12:34:56", "02:00:00:00:00:01"}}},
			{Name: "b", Items: []Item{{Entry: "centos"}}, Match: Match{MACs: []string{"02-00-00-00-00-01", "52-54-00-12-34-56"}}},
		}, []string{"b: match"}},
		{"different matches", []Menu{
			{Name: "a", Items: []Item{{Entry: "centos"}}, Match: Match{MACs: []string{"52:54:00:12:34:56"}}},
			{Name: "b", Items: []Item{{Entry: "centos"}}, Match: Match{MACs: []string{"52:54:00:12:34:56"}, Platforms: []string{"efi"}}},
		}, nil},
		{"same match on different boot servers", []Menu{
			{Name: "a", Items: []Item{{Entry: "centos"}}, Match: Match{Platforms: []string{"efi"}}, BootServers: []string{"lab1"}},
			{Name: "b", Items: []Item{{Entry: "centos"}}, Match: Match{Platforms: []string{"efi"}}, BootServers: []string{"lab2"}},
		}, nil},
		{"submenus without match do not conflict", []Menu{
			{Name: "a", Items: []Item{{Entry: "centos"}}},
			{Name: "b", Items: []Item{{Entry: "centos"}}},
		}, nil},
		{"a default for each boot loader", []Menu{
			{Name: "a", Items: []Item{{Entry: "centos"}}, IsDefault: true, Formats: []Format{FormatIPXE}},
			{Name: "b", Items: []Item{{Entry: "centos"}}, IsDefault: true, Formats: []Format{FormatGRUB}},
		}, nil},
		{"defaults sharing a boot loader", []Menu{
			{Name: "a", Items: []Item{{Entry: "centos"}}, IsDefault: true},
			{Name: "b", Items: []Item{{Entry: "centos"}}, IsDefault: true, Formats: []Format{FormatGRUB}},
		}, []string{"b: is_default"}},
		{"same match for different boot loaders", []Menu{
			{Name: "a", Items: []Item{{Entry: "centos"}}, Match: Match{Platforms: []string{"efi"}}, Formats: []Format{FormatIPXE}},
			{Name: "b", Items: []Item{{Entry: "centos"}}, Match: Match{Platforms: []string{"efi"}}, Formats: []Format{FormatGRUB}},
		}, nil},
		{"GRUB-only menu offering iPXE-only entries", []Menu{
			{Name: "a", Items: []Item{{Entry: "centos"}, {Entry: "shell"}, {Menu: "b"}, {Entry: "remote"}}, IsDefault: true, Formats: []Format{FormatGRUB}},
			{Name: "b", Items: []Item{{Entry: "san"}, {Menu: "a"}}},
		}, []string{"a: items[1].entry", "a: items[2].menu", "a: items[3].entry"}},
		{"iPXE-only entries in a menu for both boot loaders", []Menu{
			{Name: "a", Items: []Item{{Entry: "shell"}, {Menu: "b"}}, IsDefault: true, Formats: []Format{FormatIPXE, FormatGRUB}},
			{Name: "b", Items: []Item{{Entry: "san"}}},
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			menus := map[string]Menu{}
			for _, m := range tc.menus {
				menus[m.Name] = m
			}
			err := ValidateCatalog(entries, menus)
			var got []string
			if err != nil {
				ces, ok := err.(CatalogErrors)
				if !ok {
					t.Fatalf("error %T, want CatalogErrors", err)
				}
				for _, ce := range ces {
					got = append(got, ce.Menu+": "+ce.Field.Field())
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("got %v, want %v (%v)", got, tc.want, err)
			}
		})
	}
}

func TestCatalogErrorsForMenu(t *testing.T) {
	err := ValidateCatalog(nil, map[string]Menu{
		"a": {Name: "a", Items: []Item{{Entry: "x"}}},
		"b": {Name: "b", Items: []Item{{Entry: "y"}}},
	})
	fes := err.(CatalogErrors).ForMenu("b")
	if len(fes) != 1 || fes[0].Field() != "items[0].entry" || !strings.Contains(fes[0].Reason, `"y"`) {
		t.Errorf("ForMenu(b) = %v", fes)
	}
	if !strings.Contains(err.Error(), `menu "a": items[0].entry: boot entry "x" does not exist`) {
		t.Errorf("Error() = %q", err)
	}
}

// TestGrubOnlyProblemsSayWhy checks the reasons a GRUB-only menu is
// refused with, and that each names the entry at fault, which is what the
// agent refuses an entry change by.
func TestGrubOnlyProblemsSayWhy(t *testing.T) {
	entries := map[string]Entry{
		"chain": {Name: "chain", Kind: KindChain, URL: "http://[2001:db8::1]/other.ipxe"},
		"san":   {Name: "san", Kind: KindSanboot, URL: "http://[2001:db8::1]/disk.img"},
	}
	menus := map[string]Menu{
		"sb":    {Name: "sb", Items: []Item{{Entry: "chain"}, {Menu: "tools"}, {Entry: "gone"}}, Formats: []Format{FormatGRUB}},
		"tools": {Name: "tools", Items: []Item{{Entry: "san"}}},
	}
	errs := GrubOnlyProblems(entries, menus, "sb")
	if len(errs) != 2 {
		t.Fatalf("GrubOnlyProblems = %v, want 2 problems (a missing entry is ValidateCatalog's to report)", errs)
	}
	for i, want := range []struct{ entry, field, reason string }{
		{"chain", "items[0].entry", `boot entry "chain" cannot boot from GRUB: kind "chain" runs in iPXE only; a menu whose formats are only "grub"`},
		{"san", "items[1].menu", `leads to boot entry "san" (in menu "tools"), which cannot boot from GRUB: kind "sanboot" runs in iPXE only`},
	} {
		if errs[i].Entry != want.entry || errs[i].Field.Field() != want.field || !strings.Contains(errs[i].Field.Reason, want.reason) {
			t.Errorf("problem %d = entry %q, %s: %s; want entry %q, %s: ...%s...", i, errs[i].Entry, errs[i].Field.Field(), errs[i].Field.Reason, want.entry, want.field, want.reason)
		}
	}
	if errs := GrubOnlyProblems(entries, menus, "tools"); errs != nil {
		t.Errorf("a menu for every boot loader has GRUB problems: %v", errs)
	}
}

func TestNFSRootLiteralAddressRefused(t *testing.T) {
	for args, wantOK := range map[string]bool{
		"ip=:::::eth0:off ip6=eth0 nfsroot=nfs.lab.example:/roots/debian":         true,
		"nfsroot=nfs.lab.example:/roots/debian,vers=3":                            true,
		"nfsroot=[2001:db8:1::1]:/roots/debian":                                   false,
		"nfsroot=2001:db8:1::1:/roots/debian":                                     false,
		"root=/dev/nfs nfsroot=192.0.2.1:/roots/debian":                           false,
		"console=ttyS0 nfsroot={{ .BootServer }}.lab.example:/roots/{{ .Entry }}": true,
	} {
		e := Entry{Name: "diskless", Kind: KindLinux, Linux: &Linux{Kernel: "k", Args: args}}
		err := e.Validate()
		if (err == nil) != wantOK {
			t.Errorf("args %q: Validate() = %v, want ok=%v", args, err, wantOK)
		}
		if !wantOK && err != nil && !strings.Contains(err.Error(), "linux.args") {
			t.Errorf("args %q: error %v does not name linux.args", args, err)
		}
	}
}
