package menu

import (
	"testing"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
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
		_, menuName, reason, err := Render(c, "lab", "http://[2001:db8::1]", "", tc.host)
		if err != nil {
			t.Fatal(err)
		}
		if menuName != tc.wantMenu || (tc.reason != "" && reason != tc.reason) {
			t.Errorf("%s: got menu %q (%s), want %q (%s)", tc.host, menuName, reason, tc.wantMenu, tc.reason)
		}
	}
}
