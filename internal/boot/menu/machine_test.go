package menu

import (
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/machineconfig"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// A machine's menu comes before every menu's match, and only for that
// machine.
func TestRenderMachineMenuComesFirst(t *testing.T) {
	web1, err := config.MachineFromProto(&netbootv1.Machine{Name: "web1", Macs: []string{"52:54:00:aa:bb:01"}, Menu: "install"})
	if err != nil {
		t.Fatal(err)
	}
	web3, err := config.MachineFromProto(&netbootv1.Machine{Name: "web3", Macs: []string{"52:54:00:aa:bb:03"}, Labels: map[string]string{"role": "web", "rack": "r1"}})
	if err != nil {
		t.Fatal(err)
	}
	db1, err := config.MachineFromProto(&netbootv1.Machine{Name: "db1", Macs: []string{"52:54:00:aa:bb:04"}, Labels: map[string]string{"role": "db"}})
	if err != nil {
		t.Fatal(err)
	}
	c := &Catalog{
		Entries: map[string]Entry{"local": {Name: "local", Kind: KindExit}},
		Menus: map[string]Menu{
			"install": {Name: "install", Items: []Item{{Entry: "local"}}},
			"by-mac":  {Name: "by-mac", Items: []Item{{Entry: "local"}}, Match: Match{MACs: []string{"52:54:00:aa:bb:01", "52:54:00:aa:bb:02"}}},
			"default": {Name: "default", Items: []Item{{Entry: "local"}}, IsDefault: true},
			"web":     {Name: "web", Items: []Item{{Entry: "local"}}, Match: Match{Labels: map[string]string{"role": "web"}}},
			"efi":     {Name: "efi", Items: []Item{{Entry: "local"}}, Match: Match{Platforms: []string{"efi"}, BuildArchs: []string{"x86_64"}}},
			"web-efi": {Name: "web-efi", Items: []Item{{Entry: "local"}}, Match: Match{Labels: map[string]string{"role": "web"}, Platforms: []string{"efi"}}},
		},
		Machines: map[string]config.Machine{"web1": web1, "web3": web3, "db1": db1},
	}
	for _, tc := range []struct {
		host             Host
		wantMenu, reason string
	}{
		{Host{MAC: "52-54-00-AA-BB-01", Platform: "efi"}, "install", `machine "web1" boots menu "install"`},
		{Host{MAC: "52:54:00:aa:bb:02", Platform: "efi"}, "by-mac", `menu "by-mac" matches on mac (score 8)`},
		// Labels (4) beat platform and architecture (3); labels and
		// platform (6) beat labels alone.
		{Host{MAC: "52:54:00:aa:bb:03", Platform: "pcbios", BuildArch: "x86_64"}, "web", `menu "web" matches on labels (score 4)`},
		{Host{MAC: "52:54:00:aa:bb:03", Platform: "efi", BuildArch: "x86_64"}, "web-efi", `menu "web-efi" matches on labels, platform (score 6)`},
		// A machine without the label, and a host that is no machine.
		{Host{MAC: "52:54:00:aa:bb:04", Platform: "efi", BuildArch: "x86_64"}, "efi", ""},
		{Host{MAC: "52:54:00:aa:bb:05", Platform: "pcbios"}, "default", ""},
	} {
		_, menuName, reason, err := Render(c, machineconfig.Site{BootServer: "lab", HTTPBase: "http://[2001:db8::1]"}, "", tc.host)
		if err != nil {
			t.Fatal(err)
		}
		if menuName != tc.wantMenu || (tc.reason != "" && reason != tc.reason) {
			t.Errorf("%s: got menu %q (%s), want %q (%s)", tc.host, menuName, reason, tc.wantMenu, tc.reason)
		}
	}
}

// A menu's formats decide which boot loaders it can be chosen for; among
// those, a machine's menu comes first, then the most specific match, then
// the default for that boot loader.
func TestSelectForFormatsThenPrecedence(t *testing.T) {
	machine := func(pb *netbootv1.Machine) config.Machine {
		m, err := config.MachineFromProto(pb)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	web := map[string]string{"role": "web"}
	items := []Item{{Entry: "linux"}}
	c := &Catalog{
		Entries: map[string]Entry{"linux": {Name: "linux", Kind: KindLinux, Linux: &Linux{Kernel: "linux/vmlinuz"}}},
		Menus: map[string]Menu{
			"pin-grub":     {Name: "pin-grub", Items: items, Formats: []Format{FormatGRUB}},
			"pin-both":     {Name: "pin-both", Items: items},
			"web-ipxe":     {Name: "web-ipxe", Items: items, Match: Match{Labels: web}, Formats: []Format{FormatIPXE}},
			"web-grub-efi": {Name: "web-grub-efi", Items: items, Match: Match{Labels: web, Platforms: []string{"efi"}}, Formats: []Format{FormatGRUB}},
			"by-mac-grub":  {Name: "by-mac-grub", Items: items, Match: Match{MACs: []string{"52:54:00:aa:bb:03"}}, Formats: []Format{FormatGRUB}},
			"def-ipxe":     {Name: "def-ipxe", Items: items, IsDefault: true, Formats: []Format{FormatIPXE}},
			"def-grub":     {Name: "def-grub", Items: items, IsDefault: true, Formats: []Format{FormatGRUB}},
		},
		Machines: map[string]config.Machine{
			"web1": machine(&netbootv1.Machine{Name: "web1", Macs: []string{"52:54:00:aa:bb:01"}, Menu: "pin-grub", Labels: web}),
			"web2": machine(&netbootv1.Machine{Name: "web2", Macs: []string{"52:54:00:aa:bb:02"}, Menu: "pin-both"}),
			"web3": machine(&netbootv1.Machine{Name: "web3", Macs: []string{"52:54:00:aa:bb:03"}, Labels: web}),
		},
	}
	if err := ValidateCatalog(c.Entries, c.Menus); err != nil {
		t.Fatal(err)
	}
	host := func(mac, platform string) Host {
		return Host{MAC: mac, BuildArch: "x86_64", Platform: platform}
	}
	for _, tc := range []struct {
		name         string
		f            Format
		h            Host
		want, reason string
	}{
		{"machine's GRUB menu skipped by iPXE", FormatIPXE, host("52:54:00:aa:bb:01", "efi"), "web-ipxe",
			`machine "web1"'s menu "pin-grub" is not for ipxe (formats); menu "web-ipxe" matches on labels (score 4)`},
		{"machine's GRUB menu for GRUB", FormatGRUB, host("52:54:00:aa:bb:01", "efi"), "pin-grub", `machine "web1" boots menu "pin-grub"`},
		{"machine's menu for both, iPXE", FormatIPXE, host("52:54:00:aa:bb:02", "efi"), "pin-both", `machine "web2" boots menu "pin-both"`},
		{"machine's menu for both, GRUB", FormatGRUB, host("52:54:00:aa:bb:02", "efi"), "pin-both", `machine "web2" boots menu "pin-both"`},
		{"mac beats labels and platform", FormatGRUB, host("52:54:00:aa:bb:03", "efi"), "by-mac-grub", `menu "by-mac-grub" matches on mac (score 8)`},
		{"GRUB-only mac menu not for iPXE", FormatIPXE, host("52:54:00:aa:bb:03", "efi"), "web-ipxe", `menu "web-ipxe" matches on labels (score 4)`},
		{"default per loader, iPXE", FormatIPXE, host("52:54:00:aa:bb:09", "efi"), "def-ipxe", "default menu"},
		{"default per loader, GRUB", FormatGRUB, host("52:54:00:aa:bb:09", "efi"), "def-grub", "default menu"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := HostPath(tc.h)
			if tc.f == FormatGRUB {
				p = GrubHostPath(tc.h)
			}
			_, got, reason, err := Render(c, machineconfig.Site{BootServer: testBootServer, HTTPBase: "http://[2001:db8::1]"}, p, Host{})
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want || !strings.Contains(reason, tc.reason) {
				t.Errorf("%s for %s: got menu %q (%s), want %q (%s)", tc.f, tc.h, got, reason, tc.want, tc.reason)
			}
		})
	}
}

// A host script is a machine's own (its menu, its config URLs) only for a
// request from that machine: the same path from another address gets the
// script of an unknown host, and names the machine it claimed.
func TestFSMachineScriptOnlyToTheMachine(t *testing.T) {
	web1, err := config.MachineFromProto(&netbootv1.Machine{Name: "web1", Macs: []string{"52:54:00:aa:bb:01"}, Menu: "install"})
	if err != nil {
		t.Fatal(err)
	}
	web1.ConfigToken = "00112233445566778899aabbccddeeff"
	web2, err := config.MachineFromProto(&netbootv1.Machine{Name: "web2", Uuids: []string{"4c4c4544-0042-3610-8058-b4c04f4b4d32"}, Labels: map[string]string{"role": "web"}})
	if err != nil {
		t.Fatal(err)
	}
	web2.ConfigToken = "ffeeddccbbaa99887766554433221100"
	c := &Catalog{
		Entries: map[string]Entry{
			"local":   {Name: "local", Kind: KindExit},
			"install": {Name: "install", Kind: KindLinux, Linux: &Linux{Kernel: "vmlinuz", Args: `ds=nocloud;s={{ .ConfigURL "" }}`}},
		},
		Menus: map[string]Menu{
			"install": {Name: "install", Items: []Item{{Entry: "install"}}},
			"web":     {Name: "web", Items: []Item{{Entry: "install"}}, Match: Match{Labels: map[string]string{"role": "web"}}},
			"by-mac":  {Name: "by-mac", Items: []Item{{Entry: "local"}}, Match: Match{MACs: []string{"52:54:00:aa:bb:01"}}},
			"default": {Name: "default", Items: []Item{{Entry: "local"}}, IsDefault: true},
		},
		Machines: map[string]config.Machine{"web1": web1, "web2": web2},
	}
	fsys, _ := newTestFS(c)
	from := func(machine string) config.Requester {
		return config.Requester{Address: netip.MustParseAddr("2001:db8:1::99"), Machine: machine, By: config.AttributedByLease}
	}
	byMAC := HostPath(Host{MAC: "52-54-00-aa-bb-01", Platform: "efi"})
	byUUID := HostPath(Host{UUID: "4C4C4544-0042-3610-8058-B4C04F4B4D32", Platform: "efi"})
	for _, tc := range []struct {
		name              string
		path              string
		from              config.Requester
		want, wantRefused string
	}{
		{"own menu, own token", byMAC, from("web1"), web1.ConfigToken, ""},
		{"labels, own token", byUUID, from("web2"), web2.ConfigToken, ""},
		// The neighbour and an address of no machine claim web1 and web2:
		// the default menu, no token, and the claim named.
		{"web1's MAC from web2", byMAC, from("web2"), "menu-default", "web1"},
		{"web1's MAC from nobody", byMAC, from(""), "menu-default", "web1"},
		{"web2's UUID from web1", byUUID, from("web1"), "menu-default", "web2"},
		{"GRUB: web1's MAC from web2", GrubHostPath(Host{MAC: "52-54-00-aa-bb-01", Platform: "efi"}), from("web2"), "default", "web1"},
		// A host that is no machine claims nothing.
		{"no machine", HostPath(Host{MAC: "52-54-00-aa-bb-09"}), from(""), "menu-default", ""},
	} {
		f, refused, err := fsys.(*FS).OpenFor(tc.from, tc.path)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		b, _ := io.ReadAll(f)
		script := string(b)
		if !strings.Contains(script, tc.want) || refused != tc.wantRefused {
			t.Errorf("%s: refused %q (want %q), script lacks %q:\n%s", tc.name, refused, tc.wantRefused, tc.want, script)
		}
		for _, m := range []config.Machine{web1, web2} {
			if m.Name != tc.from.Machine && strings.Contains(script, m.ConfigToken) {
				t.Errorf("%s: a request from %s got %s's token:\n%s", tc.name, tc.from, m.Name, script)
			}
		}
	}
	// Open is a request from no machine.
	b := readAll(t, fsys, byMAC)
	if strings.Contains(string(b), web1.ConfigToken) {
		t.Errorf("Open gave web1's token:\n%s", b)
	}
}

// A machine's menu is reached through the boot loader's start file, so a
// site whose only menus are machines' still serves it; a menu no machine
// names and nothing selects does not make one.
func TestStartFileForMachinesMenus(t *testing.T) {
	web1, err := config.MachineFromProto(&netbootv1.Machine{Name: "web1", Macs: []string{"52:54:00:aa:bb:01"}, Menu: "install"})
	if err != nil {
		t.Fatal(err)
	}
	items := []Item{{Entry: "local"}}
	for _, tc := range []struct {
		name     string
		formats  []Format
		machines map[string]config.Machine
		ipxe     bool
		grub     bool
	}{
		{"machine's menu for both", nil, map[string]config.Machine{"web1": web1}, true, true},
		{"machine's menu for iPXE", []Format{FormatIPXE}, map[string]config.Machine{"web1": web1}, true, false},
		{"machine's menu for GRUB", []Format{FormatGRUB}, map[string]config.Machine{"web1": web1}, false, true},
		{"no machine names it", nil, nil, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Catalog{
				Entries:  map[string]Entry{"local": {Name: "local", Kind: KindExit}},
				Menus:    map[string]Menu{"install": {Name: "install", Items: items, Formats: tc.formats}},
				Machines: tc.machines,
			}
			for _, start := range []struct {
				path string
				want bool
			}{{StartPath, tc.ipxe}, {GrubStartPath, tc.grub}} {
				_, _, _, err := Render(c, machineconfig.Site{BootServer: testBootServer, HTTPBase: "http://[2001:db8::1]"}, start.path, Host{})
				if got := err == nil; got != start.want {
					t.Errorf("%s served: %v (%v), want %v", start.path, got, err, start.want)
				}
				if err != nil && !errors.Is(err, ErrNoMenus) {
					t.Errorf("%s: %v, want ErrNoMenus", start.path, err)
				}
			}
			// The HTTP server's listing agrees with Render.
			if got := offersMenus(c, testBootServer, FormatIPXE); got != tc.ipxe {
				t.Errorf("offersMenus(ipxe) = %v, want %v", got, tc.ipxe)
			}
		})
	}
}

// Args templates get the HTTPS base and the machine's config URL over
// HTTPS; while the boot server has no HTTPS, a menu using them fails to
// render, saying why. Kernels stay on HTTP, which iPXE can verify nothing
// over but can fetch.
func TestArgsHTTPS(t *testing.T) {
	web1, err := config.MachineFromProto(&netbootv1.Machine{Name: "web1", Macs: []string{"52:54:00:aa:bb:01"}, Menu: "install"})
	if err != nil {
		t.Fatal(err)
	}
	web1.ConfigToken = "00112233445566778899aabbccddeeff"
	args := `ds=nocloud;s={{ .HTTPSConfigURL "" }} repo={{ .HTTPSBase }}/debian`
	if p := argsProblem(args, "install"); p != "" {
		t.Fatalf("args refused: %s", p)
	}
	c := &Catalog{
		Entries:  map[string]Entry{"install": {Name: "install", Kind: KindLinux, Linux: &Linux{Kernel: "debian/linux", Args: args}}},
		Menus:    map[string]Menu{"install": {Name: "install", Items: []Item{{Entry: "install"}}}},
		Machines: map[string]config.Machine{"web1": web1},
	}
	host := Host{MAC: "52:54:00:aa:bb:01", Platform: "efi"}
	site := machineconfig.Site{BootServer: "lab", HTTPBase: "http://[2001:db8::1]", HTTPSBase: "https://[2001:db8::1]:8443"}
	script, _, _, err := Render(c, site, "", host)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"ds=nocloud;s=https://[2001:db8::1]:8443/netboot/config/web1/00112233445566778899aabbccddeeff/ repo=https://[2001:db8::1]:8443/debian",
		"http://[2001:db8::1]/debian/linux",
	} {
		if !strings.Contains(string(script), want) {
			t.Errorf("script lacks %q:\n%s", want, script)
		}
	}
	site.HTTPSBase = ""
	if _, _, _, err := Render(c, site, "", host); err == nil || !strings.Contains(err.Error(), "boot.https.enabled is false") {
		t.Errorf("HTTPSConfigURL without HTTPS: %v, want an error saying HTTPS is off", err)
	}
}
