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
	c := &Catalog{
		Entries: map[string]Entry{"local": {Name: "local", Kind: KindExit}},
		Menus: map[string]Menu{
			"install": {Name: "install", Items: []Item{{Entry: "local"}}},
			"by-mac":  {Name: "by-mac", Items: []Item{{Entry: "local"}}, Match: Match{MACs: []string{"52:54:00:aa:bb:01", "52:54:00:aa:bb:02"}}},
			"default": {Name: "default", Items: []Item{{Entry: "local"}}, IsDefault: true},
		},
		Machines: map[string]config.Machine{"web1": web1},
	}
	for _, tc := range []struct {
		host             Host
		wantMenu, reason string
	}{
		{Host{MAC: "52-54-00-AA-BB-01", Platform: "efi"}, "install", `machine "web1" boots menu "install"`},
		{Host{MAC: "52:54:00:aa:bb:02", Platform: "efi"}, "by-mac", `menu "by-mac" matches on mac (score 4)`},
		{Host{MAC: "52:54:00:aa:bb:03", Platform: "efi"}, "default", ""},
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
