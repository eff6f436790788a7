package menu

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	for _, tc := range []struct {
		in, mac string
	}{
		{"52:54:00:12:34:56", "52:54:00:12:34:56"},
		{"52-54-00-AB-cd-EF", "52:54:00:ab:cd:ef"},
		{"52:54-00:12:34:56", ""},
		{"525400123456", ""},
		{"52:54:00:12:34:5g", ""},
		{"52:54:00:12:34:56:", ""},
		{"", ""},
	} {
		got, ok := NormalizeMAC(tc.in)
		if got != tc.mac || ok != (tc.mac != "") {
			t.Errorf("NormalizeMAC(%q) = %q, %v; want %q", tc.in, got, ok, tc.mac)
		}
	}
	for _, tc := range []struct {
		in, uuid string
	}{
		{"4C4C4544-0042-3510-8052-B4C04F4B4E31", "4c4c4544-0042-3510-8052-b4c04f4b4e31"},
		{"4c4c454400423510 8052b4c04f4b4e31", ""},
		{"4c4c4544004235108052b4c04f4b4e31", "4c4c4544-0042-3510-8052-b4c04f4b4e31"},
		{"4c4c4544-0042-3510-8052_b4c04f4b4e31", ""},
		{"", ""},
	} {
		got, ok := NormalizeUUID(tc.in)
		if got != tc.uuid || ok != (tc.uuid != "") {
			t.Errorf("NormalizeUUID(%q) = %q, %v; want %q", tc.in, got, ok, tc.uuid)
		}
	}
}

func TestSelect(t *testing.T) {
	items := []Item{{Entry: "x"}}
	menus := []Menu{
		{Name: "rack-a", Items: items, Match: Match{MACs: []string{"52:54:00:00:00:01", "52-54-00-00-00-02", "52:54:00:00:00:03"}}},
		{Name: "rack-a-efi", Items: items, Match: Match{MACs: []string{"52:54:00:00:00:01"}, Platforms: []string{"efi"}}},
		{Name: "by-uuid", Items: items, Match: Match{UUIDs: []string{"4C4C4544-0042-3510-8052-B4C04F4B4E31"}}},
		{Name: "efi", Items: items, Match: Match{Platforms: []string{"efi"}}},
		{Name: "efi-arm", Items: items, Match: Match{Platforms: []string{"efi"}, BuildArchs: []string{"arm64", "riscv64"}}},
		{Name: "aa-efi-arm64", Items: items, Match: Match{Platforms: []string{"efi"}, BuildArchs: []string{"arm64"}}},
		{Name: "x86", Items: items, Match: Match{BuildArchs: []string{"x86_64", "i386"}}},
		{Name: "bios-or-efi-x86", Items: items, Match: Match{Platforms: []string{"pcbios", "efi"}, BuildArchs: []string{"x86_64"}}},
		{Name: "other-server", Items: items, Match: Match{MACs: []string{"52:54:00:00:00:09"}}, BootServers: []string{"lab2"}},
		{Name: "this-server", Items: items, Match: Match{MACs: []string{"52:54:00:00:00:09"}, BuildArchs: []string{"x86_64"}}, BootServers: []string{"lab", "lab3"}},
		{Name: "submenu", Items: items},
		{Name: "zz-default", Items: items, IsDefault: true},
	}
	for _, tc := range []struct {
		name   string
		host   Host
		want   string
		reason string
	}{
		{"mac in a list (hexhyp)", Host{MAC: "52-54-00-00-00-02", BuildArch: "arm64", Platform: "pcbios"}, "rack-a", `menu "rack-a" matches on mac (score 8)`},
		{"mac upper case", Host{MAC: "52:54:00:00:00:03"}, "rack-a", "score 8"},
		{"mac plus platform beats mac alone", Host{MAC: "52-54-00-00-00-01", Platform: "efi", BuildArch: "x86_64"}, "rack-a-efi", "on mac, platform (score 10)"},
		{"mac wins over platform and arch", Host{MAC: "52-54-00-00-00-01", Platform: "pcbios", BuildArch: "x86_64"}, "rack-a", "score 8"},
		{"uuid in any case", Host{UUID: "4c4c4544-0042-3510-8052-b4c04f4b4e31", Platform: "efi", BuildArch: "arm64"}, "by-uuid", "on uuid (score 8)"},
		{"platform and arch beat platform", Host{MAC: "02-00-00-00-00-01", Platform: "efi", BuildArch: "riscv64"}, "efi-arm", "score 3"},
		{"platform alone", Host{Platform: "efi", BuildArch: "i386"}, "efi", "score 2"},
		{"tie broken by name", Host{Platform: "efi", BuildArch: "arm64"}, "aa-efi-arm64", `menu "aa-efi-arm64" matches on platform, buildarch (score 3); tied with "efi-arm", chosen because its name sorts first`},
		{"platform list", Host{Platform: "efi", BuildArch: "x86_64"}, "bios-or-efi-x86", "score 3"},
		{"arch alone", Host{Platform: "pcbios", BuildArch: "i386"}, "x86", "score 1"},
		{"boot server filter", Host{MAC: "52-54-00-00-00-09", BuildArch: "arm64", Platform: "pcbios"}, "zz-default", "default menu"},
		{"listed boot server", Host{MAC: "52-54-00-00-00-09", BuildArch: "x86_64"}, "this-server", "score 9"},
		{"nothing matches", Host{MAC: "02-00-00-00-00-01", Platform: "pcbios", BuildArch: "arm64"}, "zz-default", `no menu matches this host (mac 02:00:00:00:00:01, uuid unknown, arch arm64, platform pcbios); "zz-default" is the default menu on boot server "lab"`},
		{"empty host", Host{}, "zz-default", "default"},
		{"garbage mac never matches", Host{MAC: "52-54-00-00-00-0"}, "zz-default", "mac 52-54-00-00-00-0,"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The order of menus must not matter.
			for range 5 {
				shuffled := append([]Menu(nil), menus...)
				rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
				m, reason := Select(shuffled, "lab", FormatIPXE, tc.host)
				if m == nil || m.Name != tc.want {
					t.Fatalf("Select = %v (%s), want %s", m, reason, tc.want)
				}
				if !strings.Contains(reason, tc.reason) {
					t.Fatalf("reason %q lacks %q", reason, tc.reason)
				}
			}
		})
	}
}

func TestSelectNone(t *testing.T) {
	menus := []Menu{
		{Name: "a", Items: []Item{{Entry: "x"}}, Match: Match{Platforms: []string{"efi"}}},
		{Name: "elsewhere", Items: []Item{{Entry: "x"}}, IsDefault: true, BootServers: []string{"lab2"}},
	}
	m, reason := Select(menus, "lab", FormatIPXE, Host{Platform: "pcbios"})
	if m != nil {
		t.Fatalf("Select = %s, want none", m.Name)
	}
	if !strings.Contains(reason, `boot server "lab" has no default menu`) {
		t.Errorf("reason = %q", reason)
	}
}
