package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/menu"
	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// bootMenuConfig is a netboot_boot_menu "test" with the given attributes.
func bootMenuConfig(providerConfig, body string) string {
	return fmt.Sprintf("%s\nresource \"netboot_boot_menu\" \"test\" {\n%s\n}\n", providerConfig, body)
}

// The agent's validation runs at plan, before the provider connects, and
// names the attribute: none of these reaches an agent.
func TestBootMenu_invalidConfigFailsAtPlan(t *testing.T) {
	t.Parallel()
	provider := noAgentProviderConfig(t)
	var cases []planFailure
	const items = `items = [{ entry = "local" }]`
	for _, tc := range []struct {
		name, body string
		want       *regexp.Regexp
	}{
		// Terraform quotes the attribute's line above the detail.
		{"title with a line break", `
  name  = "main"
  title = "Main\nmenu"
  ` + items,
			errorTexts(`title = "Main\nmenu"`, "title must not contain line breaks")},
		{"title with a lone ||", `
  name  = "main"
  title = "Main || shell"
  ` + items,
			errorTexts(`title = "Main || shell"`, `title must not contain "||" as a separate word`)},
		{"title read as an option", `
  name  = "main"
  title = "--key x"
  ` + items,
			errorText("title must not start with '-'")},
		{"item text with a line break", `
  name  = "main"
  items = [{ entry = "local", text = "a\nb" }]`,
			errorText("items[0].text must not contain line breaks")},
		{"no items", `
  name  = "main"
  items = []`,
			errorText("items must list at least one entry or submenu")},
		{"gaps only", `
  name  = "main"
  items = [{ gap = true, text = "Nothing here" }]`,
			errorText("items must list at least one entry or submenu")},
		{"entry and gap", `
  name  = "main"
  items = [{ entry = "local", gap = true }]`,
			errorText("items[0] must set only one of entry, menu or gap")},
		{"long hot key", `
  name  = "main"
  items = [{ entry = "local", key = "ab" }]`,
			errorText(`items[0].key must be a single letter or digit, got "ab"`)},
		{"repeated hot key", `
  name  = "main"
  items = [{ entry = "local", key = "l" }, { entry = "linux", key = "l" }]`,
			errorText(`items[1].key "l" is already the key of items[0]`)},
		{"default item not offered", `
  name         = "main"
  ` + items + `
  default_item = "linux"`,
			errorText(`default_item must be the entry or menu of one of the items ("local"), got "linux"`)},
		{"timeout over a day", `
  name    = "main"
  ` + items + `
  timeout = 86401`,
			errorText("value must be between 0 and 86400")},
		{"empty match", `
  name  = "main"
  ` + items + `
  match = {}`,
			errorText("match sets no field, so it would match no host")},
		{"unknown platform", `
  name  = "main"
  ` + items + `
  match = { platforms = ["bios"] }`,
			errorText(`match.platforms[0] must be "efi" or "pcbios" (iPXE's ${platform}), got "bios"`)},
		{"bad MAC", `
  name  = "main"
  ` + items + `
  match = { macs = ["52:54:00:12:34"] }`,
			errorText(`match.macs[0] must be a MAC address`)},
		{"template with an unknown field", `
  name     = "main"
  ` + items + `
  template = "menu {{ .Heading }}"`,
			errorText("template cannot be rendered")},
		{"bad boot server name", `
  name         = "main"
  ` + items + `
  boot_servers = ["Lab 1"]`,
			errorText("boot_servers[0] must name a boot server")},
	} {
		cases = append(cases, planFailure{tc.name, bootMenuConfig(provider, tc.body), tc.want})
	}
	expectPlanFailures(t, cases)
}

// Problems are reported on the attribute itself, so Terraform points at it;
// a malformed name or timeout is left to the schema's validators.
func TestBootMenu_errorsNameTheirAttribute(t *testing.T) {
	for _, tc := range []struct {
		name string
		menu *netbootv1.BootMenu
		want path.Path
	}{
		{"title", &netbootv1.BootMenu{Name: "main", Title: "a || b", Items: []*netbootv1.MenuItem{{Entry: "local"}}}, path.Root("title")},
		{"item key", &netbootv1.BootMenu{Name: "main", Items: []*netbootv1.MenuItem{{Entry: "local"}, {Gap: true, Key: "g"}}},
			path.Root("items").AtListIndex(1).AtName("key")},
		{"match", &netbootv1.BootMenu{Name: "main", Items: []*netbootv1.MenuItem{{Entry: "local"}},
			Match: &netbootv1.HostMatch{Uuids: []string{"not-a-uuid"}}},
			// A set's elements have no index: the error names the set.
			path.Root("match").AtName("uuids")},
		{"name left to the schema", &netbootv1.BootMenu{Name: "Main", Items: []*netbootv1.MenuItem{{Entry: "local"}}, DefaultItem: "linux"},
			path.Root("default_item")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m bootMenuModel
			m.fromProto(tc.menu)
			m.ID = types.StringNull()
			expectOneErrorAt(t, validateConfig(t, &bootMenuResource{}, &m), tc.want)
		})
	}
}

// What the agent returns, read into the model and sent back, is unchanged:
// Read followed by an apply without changes is a no-op.
func TestBootMenuRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, in := range []*netbootv1.BootMenu{
		{
			Name: "main", Title: "PXE Boot Options", DefaultItem: "local", TimeoutSeconds: 10, IsDefault: true,
			Items: []*netbootv1.MenuItem{{Entry: "local", Key: "l"}, {Gap: true, Text: "Install"}, {Menu: "install", Text: "Installers..."}},
		},
		{
			Name: "rack", Items: []*netbootv1.MenuItem{{Entry: "centos"}}, Template: "menu {{ .Title }}\nchoose x\n",
			Match:       &netbootv1.HostMatch{Macs: []string{"52-54-00-AB-CD-EF"}, Platforms: []string{"efi", "pcbios"}},
			BootServers: []string{"rack", "lab"},
		},
	} {
		var m bootMenuModel
		m.fromProto(in)
		out, diags := m.toProto(ctx)
		if diags.HasError() {
			t.Fatal(diags)
		}
		if !proto.Equal(in, out) {
			t.Errorf("round trip changed the menu:\n in: %v\nout: %v", in, out)
		}
	}
}

// The built-in template the documentation shows is the agent's: a menu
// rendered with it as its own template is byte for byte the default.
func TestBuiltinMenuTemplateIsTheAgents(t *testing.T) {
	entries := map[string]menu.Entry{"local": {Name: "local", Title: "Local HDD", Kind: menu.KindExit}}
	render := func(template string) string {
		m := menu.Menu{
			Name: "main", Title: "Main", DefaultItem: "local", Timeout: 5e9, IsDefault: true, Template: template,
			Items: []menu.Item{{Gap: true, Text: "Disks"}, {Entry: "local", Key: "l"}, {Menu: "sub"}},
		}
		sub := menu.Menu{Name: "sub", Items: []menu.Item{{Entry: "local"}}, Template: template}
		c := &menu.Catalog{Entries: entries, Menus: map[string]menu.Menu{"main": m, "sub": sub}}
		script, err := menu.RenderMenu(menu.ScriptData{Catalog: c, Menu: "main", BootServer: "lab", HTTPBase: "http://[2001:db8::1]"})
		if err != nil {
			t.Fatal(err)
		}
		return string(script)
	}
	if builtin, documented := render(""), render(builtinMenuTemplate); builtin != documented {
		t.Errorf("the documented template renders\n%s\nthe agent's\n%s", documented, builtin)
	}
}

// checkMenusDestroyed is CheckDestroy: the agent holds no menus or entries.
func (l *agentLab) checkMenusDestroyed(t *testing.T) func(*terraform.State) error {
	return func(s *terraform.State) error {
		list, err := l.conn(t).ListBootMenus(context.Background(), &netbootv1.ListBootMenusRequest{})
		if err != nil {
			return err
		}
		if n := len(list.GetMenus()); n != 0 {
			return fmt.Errorf("%d boot menus still on the agent after destroy: %v", n, list.GetMenus())
		}
		return l.checkEntriesDestroyed(t)(s)
	}
}

// curl fetches a file from the lab's boot server as a client would.
func (l *accLab) curl(t *testing.T, p string) (string, error) {
	t.Helper()
	return l.Exec(t.Context(), l.ClientNS, "curl", "-g", "-sS", "--fail", "http://["+l.ServerAddr+"]/"+p)
}

// servedAsRendered checks that netboot_rendered_script data source ds holds
// what the boot server serves at p.
func (l *accLab) servedAsRendered(t *testing.T, s *terraform.State, ds, p string) error {
	res, ok := s.RootModule().Resources[ds]
	if !ok {
		return fmt.Errorf("%s not in state", ds)
	}
	served, err := l.curl(t, p)
	if err != nil {
		return fmt.Errorf("fetching %s: %w\n%s", p, err, served)
	}
	if rendered := res.Primary.Attributes["script"]; rendered != served {
		return fmt.Errorf("%s.script differs from what the boot server serves at %s:\n--- rendered\n%s\n--- served\n%s", ds, p, rendered, served)
	}
	return nil
}

// menuLabConfig is a boot server, two entries, a default menu with a
// submenu, a menu for one host, and the scripts the data source renders
// for that host, another host and start.ipxe.
func menuLabConfig(lab *accLab, mainTitle, mainExtra string) string {
	return bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, statefulBody) + fmt.Sprintf(`
resource "netboot_boot_entry" "linux" {
  name  = "linux"
  title = "Debian"
  linux = {
    kernel  = "linux/vmlinuz"
    initrds = ["linux/initrd.img"]
    args    = "console=ttyS0 url={{ .HTTPBase }}/preseed.cfg BOOTIF=$${netX/mac}"
  }
}

resource "netboot_boot_entry" "local" {
  name  = "local"
  title = "Local HDD"
  kind  = "exit"
}

resource "netboot_boot_menu" "install" {
  name  = "install"
  title = "Linux Install"
  items = [{ entry = netboot_boot_entry.linux.name, key = "d" }]
}

resource "netboot_boot_menu" "main" {
  name  = "main"
  title = %q
  items = [
    { entry = netboot_boot_entry.local.name, key = "l" },
    { gap = true, text = "Installers" },
    { menu = netboot_boot_menu.install.name },
  ]
  default_item = netboot_boot_entry.local.name
  is_default   = true
%s
}

resource "netboot_boot_menu" "host" {
  name         = "host"
  title        = "One host"
  items        = [{ entry = netboot_boot_entry.linux.name }]
  match        = { macs = ["52-54-00-12-34-56"], platforms = ["pcbios"] }
  boot_servers = [netboot_ipv6_boot_server.test.name]
}

data "netboot_rendered_script" "host" {
  boot_server = netboot_ipv6_boot_server.test.name
  mac         = "52:54:00:12:34:56"
  buildarch   = "i386"
  platform    = "pcbios"
  depends_on  = [netboot_boot_menu.main, netboot_boot_menu.install, netboot_boot_menu.host]
}

data "netboot_rendered_script" "other" {
  boot_server = netboot_ipv6_boot_server.test.name
  mac         = "52:54:00:ab:cd:ef"
  uuid        = "4c4c4544-0042-3510-8052-b4c04f4b4e31"
  buildarch   = "x86_64"
  platform    = "efi"
  depends_on  = [netboot_boot_menu.main, netboot_boot_menu.install, netboot_boot_menu.host]
}

data "netboot_rendered_script" "start" {
  boot_server = netboot_ipv6_boot_server.test.name
  path        = "start.ipxe"
  depends_on  = [netboot_boot_menu.main, netboot_boot_menu.install, netboot_boot_menu.host]
}
`, mainTitle, mainExtra)
}

const (
	hostScriptPath  = "netboot/host/mac-52-54-00-12-34-56/uuid-/arch-i386/platform-pcbios/menu.ipxe"
	otherScriptPath = "netboot/host/mac-52-54-00-ab-cd-ef/uuid-4c4c4544-0042-3510-8052-b4c04f4b4e31/arch-x86_64/platform-efi/menu.ipxe"
)

// checkServedScripts compares the rendered scripts with what curl gets,
// and checks that the served menu has want in it.
func (l *accLab) checkServedScripts(t *testing.T, want ...string) tfresource.TestCheckFunc {
	return func(s *terraform.State) error {
		for ds, p := range map[string]string{
			"data.netboot_rendered_script.host":  hostScriptPath,
			"data.netboot_rendered_script.other": otherScriptPath,
			"data.netboot_rendered_script.start": menu.StartPath,
		} {
			if err := l.servedAsRendered(t, s, ds, p); err != nil {
				return err
			}
		}
		other := s.RootModule().Resources["data.netboot_rendered_script.other"].Primary.Attributes["script"]
		for _, w := range want {
			if !strings.Contains(other, w) {
				return fmt.Errorf("the default menu's script lacks %q:\n%s", w, other)
			}
		}
		return nil
	}
}

func TestAccBootMenu_basic(t *testing.T) {
	lab := newAccLab(t, "curl")
	const mainRes, hostRes = "netboot_boot_menu.main", "netboot_boot_menu.host"
	items := tfjsonpath.New("items")
	const hostDS, otherDS = "data.netboot_rendered_script.host", "data.netboot_rendered_script.other"
	initial := menuLabConfig(lab, "Lab boot menu", "")
	updated := menuLabConfig(lab, "Lab menu", "  timeout = 3")
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		CheckDestroy:             lab.checkMenusDestroyed(t),
		Steps: []tfresource.TestStep{
			{
				Config: initial,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(mainRes, tfjsonpath.New("id"), knownvalue.StringExact("main")),
					statecheck.ExpectKnownValue(mainRes, tfjsonpath.New("timeout"), knownvalue.Int64Exact(10)),
					statecheck.ExpectKnownValue(mainRes, tfjsonpath.New("boot_servers"), knownvalue.ListSizeExact(0)),
					statecheck.ExpectKnownValue(mainRes, tfjsonpath.New("match"), knownvalue.Null()),
					statecheck.ExpectKnownValue(mainRes, items.AtSliceIndex(0).AtMapKey("gap"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(mainRes, items.AtSliceIndex(1).AtMapKey("entry"), knownvalue.Null()),
					statecheck.ExpectKnownValue(mainRes, items.AtSliceIndex(1).AtMapKey("gap"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(hostRes, tfjsonpath.New("is_default"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(hostRes, tfjsonpath.New("match").AtMapKey("uuids"), knownvalue.Null()),
					statecheck.ExpectKnownValue(hostDS, tfjsonpath.New("menu"), knownvalue.StringExact("host")),
					statecheck.ExpectKnownValue(hostDS, tfjsonpath.New("reason"), knownvalue.StringExact(`menu "host" matches on mac, platform (score 10)`)),
					statecheck.ExpectKnownValue(otherDS, tfjsonpath.New("menu"), knownvalue.StringExact("main")),
					statecheck.ExpectKnownValue(otherDS, tfjsonpath.New("reason"), knownvalue.StringRegexp(regexp.MustCompile(`"main" is the default menu on boot server "acc"$`))),
				},
				Check: lab.checkServedScripts(t, "menu Lab boot menu\n", "item --key l entry-local Local HDD\n", "item menu-install Linux Install\n",
					"choose --timeout 10000 --default entry-local selected",
					"kernel http://["+lab.ServerAddr+"]/linux/vmlinuz initrd=initrd.img console=ttyS0 url=http://["+lab.ServerAddr+"]/preseed.cfg BOOTIF=${netX/mac}"),
			},
			{
				// Title and timeout change in place; the boot server serves the change.
				Config: updated,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(mainRes, plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction(hostRes, plancheck.ResourceActionNoop),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(mainRes, tfjsonpath.New("timeout"), knownvalue.Int64Exact(3)),
				},
				Check: lab.checkServedScripts(t, "menu Lab menu\n", "choose --timeout 3000 --default entry-local selected"),
			},
			{
				ResourceName:      mainRes,
				ImportState:       true,
				ImportStateId:     "main",
				ImportStateVerify: true,
			},
			{
				ResourceName:      hostRes,
				ImportState:       true,
				ImportStateId:     "host",
				ImportStateVerify: true,
			},
			{
				// Drift: the menu is changed over gRPC behind Terraform's back.
				PreConfig: func() {
					conn := lab.conn(t)
					m, err := conn.GetBootMenu(context.Background(), &netbootv1.GetBootMenuRequest{Name: "main"})
					if err != nil {
						t.Fatal(err)
					}
					m.Items = m.Items[:1]
					if _, err := conn.PutBootMenu(context.Background(), &netbootv1.PutBootMenuRequest{Menu: m}); err != nil {
						t.Fatal(err)
					}
				},
				Config:             updated,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				// Apply puts it back, in place.
				Config: updated,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(mainRes, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(mainRes, items, knownvalue.ListSizeExact(3)),
				},
				Check: lab.checkServedScripts(t, "item menu-install Linux Install\n"),
			},
			{
				// Drift: the host's menu is deleted behind Terraform's back.
				PreConfig: func() {
					if _, err := lab.conn(t).DeleteBootMenu(context.Background(), &netbootv1.DeleteBootMenuRequest{Name: "host"}); err != nil {
						t.Fatal(err)
					}
				},
				Config:             updated,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config: updated,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(hostRes, plancheck.ResourceActionCreate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(hostDS, tfjsonpath.New("menu"), knownvalue.StringExact("host")),
				},
				Check: lab.checkServedScripts(t),
			},
		},
	})
}

// What only the agent can know fails at apply, naming the attribute: an
// item naming an entry it does not have, a second default menu.
func TestBootMenu_catalogErrors(t *testing.T) {
	lab := newFastLab(t)
	entry := lab.providerConfig() + `
resource "netboot_boot_entry" "local" {
  name = "local"
  kind = "exit"
}
`
	tfresource.UnitTest(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		CheckDestroy:             lab.checkMenusDestroyed(t),
		Steps: []tfresource.TestStep{
			{
				Config: entry + `
resource "netboot_boot_menu" "main" {
  name  = "main"
  items = [{ entry = netboot_boot_entry.local.name }, { entry = "absent" }]
}
`,
				ExpectError: errorTexts(`Invalid boot menu configuration`, `items[1].entry boot entry "absent" does not exist`),
			},
			{
				Config: entry + `
resource "netboot_boot_menu" "a" {
  name       = "a"
  items      = [{ entry = netboot_boot_entry.local.name }]
  is_default = true
}

resource "netboot_boot_menu" "b" {
  name       = "b"
  items      = [{ entry = netboot_boot_entry.local.name }]
  is_default = true
  depends_on = [netboot_boot_menu.a]
}
`,
				ExpectError: errorText(`is_default conflicts with menu "a", already the default menu on every boot server`),
			},
		},
	})
}

// qemuBootConfig is a whole boot site in Terraform alone: a boot server, a
// kernel copied on the agent host, an initrd per platform uploaded from
// Terraform's machine, a Linux entry whose efi and pcbios variants differ in
// initrd and command line, an exit entry, and a default menu that boots
// Linux after 2 seconds.
func qemuBootConfig(lab *accLab, kernel, pcbiosInitrd, efiInitrd string) string {
	return bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, statefulBody) + fmt.Sprintf(`
resource "netboot_artifact" "kernel" {
  path       = "linux/vmlinuz"
  agent_path = %q
}

resource "netboot_artifact" "initrd_pcbios" {
  path   = "linux/pcbios/initrd.img"
  source = %q
}

resource "netboot_artifact" "initrd_efi" {
  path   = "linux/efi/initrd.img"
  source = %q
}

resource "netboot_boot_entry" "linux" {
  name  = "linux"
  title = "Marker Linux"
  pcbios = {
    kernel  = netboot_artifact.kernel.path
    initrds = [netboot_artifact.initrd_pcbios.path]
    args    = "console=ttyS0 panic=-1 nbplatform=pcbios"
  }
  efi = {
    kernel  = netboot_artifact.kernel.path
    initrds = [netboot_artifact.initrd_efi.path]
    args    = "console=ttyS0 panic=-1 nbplatform=efi"
  }
}

resource "netboot_boot_entry" "local" {
  name  = "local"
  title = "Local HDD"
  kind  = "exit"
}

resource "netboot_boot_menu" "main" {
  name  = "main"
  title = "Terraform lab menu"
  items = [
    { entry = netboot_boot_entry.linux.name },
    { gap = true, text = "Or else" },
    { entry = netboot_boot_entry.local.name },
  ]
  default_item = netboot_boot_entry.linux.name
  timeout      = 2
  is_default   = true
}
`, kernel, pcbiosInitrd, efiInitrd)
}

// TestAccBootMenu_qemuBoot boots unmodified iPXE in QEMU, from BIOS and from
// UEFI, on a link configured only through Terraform: RA and DHCPv6 hand iPXE
// start.ipxe, which chains to the host's menu; the menu shows and, after its
// timeout, boots the Linux entry's variant for the platform, whose initrd
// prints a marker of its own. The marker proves which ${platform} branch
// ran, the kernel command line that the variants' args reached the kernel.
func TestAccBootMenu_qemuBoot(t *testing.T) {
	for _, f := range []string{"/usr/lib/ipxe/ipxe.lkrn", "/usr/lib/ipxe/ipxe.efi", "/usr/share/ovmf/OVMF.fd"} {
		if _, err := os.Stat(f); err != nil {
			testlab.Unavailable(t, "needs %s (Debian ipxe and ovmf)", f)
		}
	}
	lab := newAccLab(t, "qemu-system-x86_64")
	kernel := testlab.Kernel(t)
	markers := map[string]string{"pcbios": "NETBOOT-TF-pcbios-OK", "efi": "NETBOOT-TF-efi-OK"}
	dir := t.TempDir()
	initrds := map[string]string{}
	for platform, marker := range markers {
		initrds[platform] = filepath.Join(dir, platform+"-initrd.img")
		writeFile(t, initrds[platform], testlab.MarkerInitramfs(t, marker))
	}
	tap := lab.AttachTap(t)
	cfg := qemuBootConfig(lab, kernel, initrds["pcbios"], initrds["efi"])

	boot := func(firmware testlab.Firmware, platform string) tfresource.TestCheckFunc {
		return func(*terraform.State) error {
			console, took, ok := lab.Boot(t, tap, testlab.QEMU{Firmware: firmware, Marker: markers[platform], Timeout: 240 * time.Second})
			if !ok {
				return fmt.Errorf("%s: no marker %s on the serial console after %s:\n%s", platform, markers[platform], took.Round(time.Second), console)
			}
			t.Logf("%s: QEMU start → menu → Linux marker in %s", platform, took.Round(time.Second))
			// iPXE draws the menu on the serial console with ANSI escapes
			// between the texts; the default item counts down the timeout.
			var missing []string
			for _, want := range []string{
				"/platform-" + platform + "/menu.ipxe... ok",
				"Terraform lab menu", "Or else", "Local HDD",
				"Booting Marker Linux",
				"/linux/" + platform + "/initrd.img... ok",
			} {
				if !strings.Contains(console, want) {
					missing = append(missing, want)
				}
			}
			for _, want := range []*regexp.Regexp{
				regexp.MustCompile(`Marker Linux +\(2\)`),
				regexp.MustCompile(`Command line: .*console=ttyS0 panic=-1 nbplatform=` + platform + `\n`),
			} {
				if !want.MatchString(console) {
					missing = append(missing, want.String())
				}
			}
			if len(missing) > 0 {
				return fmt.Errorf("%s: the serial console lacks %q:\n%s", platform, missing, console)
			}
			return nil
		}
	}
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		CheckDestroy:             lab.checkMenusDestroyed(t),
		Steps: []tfresource.TestStep{
			{Config: cfg, Check: boot(testlab.BIOS, "pcbios")},
			{Config: cfg, Check: boot(testlab.UEFI, "efi")},
		},
	})
}

// match's fields are sets: writing the same MACs in another order plans no
// change.
func TestBootMenu_reorderedMatchIsNoChange(t *testing.T) {
	lab := newFastLab(t)
	cfg := func(macs string) string {
		return lab.providerConfig() + `
resource "netboot_boot_entry" "local" {
  name = "local"
  kind = "exit"
}

resource "netboot_boot_menu" "rack" {
  name  = "rack"
  items = [{ entry = netboot_boot_entry.local.name }]
  match = { macs = ` + macs + `, platforms = ["efi", "pcbios"] }
}
`
	}
	tfresource.UnitTest(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		Steps: []tfresource.TestStep{
			{Config: cfg(`["52:54:00:12:34:56", "52:54:00:ab:cd:ef"]`)},
			{Config: cfg(`["52:54:00:ab:cd:ef", "52:54:00:12:34:56"]`), PlanOnly: true},
		},
	})
}

// A menu for GRUB alone may only lead to entries GRUB boots: one the agent
// already has fails at plan, naming the item and the reason; one created in
// the same run fails at apply with the same words; and an entry changed
// into one GRUB cannot boot is refused while such a menu lists it, at plan
// and, behind Terraform's back, by the agent.
func TestBootMenu_grubOnlyRefusesIPXEEntries(t *testing.T) {
	lab := newFastLab(t)
	entries := lab.providerConfig() + `
resource "netboot_boot_entry" "linux" {
  name  = "linux"
  kind  = "linux"
  linux = { kernel = "debian/vmlinuz" }
}

resource "netboot_boot_entry" "other" {
  name = "other"
  kind = "chain"
  url  = "http://[2001:db8::1]/other.ipxe"
}
`
	menuWith := func(items string) string {
		return `
resource "netboot_boot_menu" "sb" {
  name       = "sb"
  formats    = ["grub"]
  items      = [` + items + `]
  is_default = true
}
`
	}
	const reason = `boot entry "other" cannot boot from GRUB: kind "chain" runs in iPXE only`
	tfresource.UnitTest(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		CheckDestroy:             lab.checkMenusDestroyed(t),
		Steps: []tfresource.TestStep{
			{
				Config: entries + menuWith(`{ entry = netboot_boot_entry.linux.name }`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("netboot_boot_menu.sb", tfjsonpath.New("formats"), knownvalue.SetExact([]knownvalue.Check{knownvalue.StringExact("grub")})),
				},
			},
			{
				// The agent has "other": the plan fails, on the item.
				Config:      entries + menuWith(`{ entry = netboot_boot_entry.linux.name }, { entry = netboot_boot_entry.other.name }`),
				PlanOnly:    true,
				ExpectError: errorTexts(`Invalid boot menu configuration`, `resource "netboot_boot_menu" "sb"`, `items[1].entry `+reason),
			},
			{
				// "san" is new in this run: the agent refuses the menu at apply.
				Config: entries + `
resource "netboot_boot_entry" "san" {
  name = "san"
  kind = "sanboot"
  url  = "http://[2001:db8::1]/disk.img"
}
` + menuWith(`{ entry = netboot_boot_entry.linux.name }, { entry = netboot_boot_entry.san.name }`),
				ExpectError: errorText(`items[1].entry boot entry "san" cannot boot from GRUB: kind "sanboot" runs in iPXE only`),
			},
			{
				// An entry the menu lists turns into a URL kernel GRUB cannot fetch.
				Config: strings.Replace(entries, `kernel = "debian/vmlinuz"`, `kernel = "http://[2001:db8::1]/vmlinuz"`, 1) +
					menuWith(`{ entry = netboot_boot_entry.linux.name }`),
				PlanOnly:    true,
				ExpectError: errorText(`boot entry "linux": menu "sb": items[0].entry: boot entry "linux" cannot boot from GRUB: GRUB loads files from its boot server by path`),
			},
			{
				// The agent refuses the same change made over gRPC, in the same words.
				PreConfig: func() {
					_, err := lab.conn(t).PutBootEntry(context.Background(), &netbootv1.PutBootEntryRequest{Entry: &netbootv1.BootEntry{
						Name: "linux", Kind: "chain", Url: "http://[2001:db8::1]/other.ipxe"}})
					const want = `boot entry "linux": menu "sb": items[0].entry: boot entry "linux" cannot boot from GRUB: kind "chain" runs in iPXE only`
					if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "take it out of that menu first") {
						t.Errorf("PutBootEntry = %v, want FailedPrecondition with %q", err, want)
					}
				},
				Config: entries + menuWith(`{ entry = netboot_boot_entry.linux.name }`),
			},
			{
				// For both loaders, the same items are fine.
				Config: entries + strings.Replace(menuWith(`{ entry = netboot_boot_entry.linux.name }, { entry = netboot_boot_entry.other.name }`),
					`["grub"]`, `["ipxe", "grub"]`, 1),
			},
		},
	})
}

// TestAccBootMenu_formats serves a default menu per boot loader on one boot
// server: GRUB gets the Secure Boot menu and iPXE the other, as curl sees
// them; listing the iPXE menu's chain entry in the GRUB menu fails at plan.
func TestAccBootMenu_formats(t *testing.T) {
	lab := newAccLab(t, "curl")
	config := func(sbItems string) string {
		return bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, statefulBody) + `
resource "netboot_boot_entry" "linux" {
  name  = "linux"
  title = "Debian (signed)"
  linux = { kernel = "linux/vmlinuz" }
}

resource "netboot_boot_entry" "chain" {
  name = "chain"
  kind = "chain"
  url  = "http://[2001:db8::1]/other.ipxe"
}

resource "netboot_boot_menu" "ipxe" {
  name       = "ipxe"
  items      = [{ entry = netboot_boot_entry.chain.name }]
  is_default = true
  formats    = ["ipxe"]
}

resource "netboot_boot_menu" "sb" {
  name       = "sb"
  title      = "Secure Boot"
  items      = [` + sbItems + `]
  is_default = true
  formats    = ["grub"]
}
`
	}
	grubHost := menu.GrubHostPath(menu.Host{MAC: "52:54:00:12:34:56", BuildArch: "x86_64", Platform: "efi"})
	ipxeHost := menu.HostPath(menu.Host{MAC: "52-54-00-12-34-56", BuildArch: "x86_64", Platform: "efi"})
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		CheckDestroy:             lab.checkMenusDestroyed(t),
		Steps: []tfresource.TestStep{
			{
				Config: config(`{ entry = netboot_boot_entry.linux.name }`),
				Check: func(*terraform.State) error {
					for p, want := range map[string]string{
						grubHost: "menuentry 'Debian (signed)'",
						ipxeHost: "chain --autofree http://[2001:db8::1]/other.ipxe",
					} {
						got, err := lab.curl(t, p)
						if err != nil || !strings.Contains(got, want) {
							return fmt.Errorf("%s = %q (%v), want it to hold %q", p, got, err, want)
						}
					}
					return nil
				},
			},
			{
				Config:      config(`{ entry = netboot_boot_entry.linux.name }, { entry = netboot_boot_entry.chain.name }`),
				PlanOnly:    true,
				ExpectError: errorText(`items[1].entry boot entry "chain" cannot boot from GRUB: kind "chain" runs in iPXE only`),
			},
		},
	})
}
