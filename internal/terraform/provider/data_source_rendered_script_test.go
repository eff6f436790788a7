package provider

import (
	"regexp"
	"testing"

	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

func TestRenderedScriptDataSource_invalidConfigFailsAtPlan(t *testing.T) {
	t.Parallel()
	provider := noAgentProviderConfig(t)
	var cases []planFailure
	for _, tc := range []struct{ name, body, want string }{
		{"unknown path", `path = "menu.ipxe"`, `Must be "start.ipxe", "grub/grub.cfg" or a host's menu path`},
		{"host path with a bad value", `path = "netboot/host/mac-52 54/uuid-/arch-/platform-/menu.ipxe"`, `Must be "start.ipxe", "grub/grub.cfg" or a host's menu path`},
		{"GRUB host path with a bad value", `path = "netboot/host/mac-$x/uuid-/arch-/platform-/grub.cfg"`, `Must be "start.ipxe", "grub/grub.cfg" or a host's menu path`},
		{"short MAC", `mac = "52:54:00"`, "Invalid MAC address"},
		{"bad UUID", `uuid = "4c4c4544"`, "Invalid UUID"},
		{"unknown platform", `platform = "bios"`, `value must be one of: ["efi" "pcbios"]`},
		{"path and host", `
  path = "start.ipxe"
  mac  = "52:54:00:12:34:56"`, `Attribute "path" cannot be specified when "mac" is specified`},
	} {
		cases = append(cases, planFailure{tc.name, provider + "data \"netboot_rendered_script\" \"test\" {\n  boot_server = \"lab\"\n" + tc.body + "\n}\n", errorText(tc.want)})
	}
	expectPlanFailures(t, cases)
}

// grubHostPath is what a network GRUB on x64 UEFI asks for after
// grub/grub.cfg, with its $net_default_mac filled in.
const grubHostPath = "netboot/host/mac-52:54:00:12:34:56/uuid-/arch-x86_64/platform-efi/grub.cfg"

// Without menus a host gets the script that boots the local disk; start.ipxe
// is then the boot server's own, so there is none to render.
func TestRenderedScriptDataSource_noMenus(t *testing.T) {
	lab := newFastLab(t)
	server := bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, statefulBody)
	tfresource.UnitTest(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		Steps: []tfresource.TestStep{
			{
				Config: server + noMenusHostScript,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(renderedDS, tfjsonpath.New("menu"), knownvalue.StringExact("")),
					statecheck.ExpectKnownValue(renderedDS, tfjsonpath.New("reason"), knownvalue.StringRegexp(regexp.MustCompile(`boot server "acc" has no default menu$`))),
					statecheck.ExpectKnownValue(renderedDS, tfjsonpath.New("script"), knownvalue.StringRegexp(regexp.MustCompile(`echo No boot menu on boot server acc matches this host`))),
				},
			},
			{
				Config: server + `
data "netboot_rendered_script" "test" {
  boot_server = netboot_ipv6_boot_server.test.name
  path        = "start.ipxe"
}
`,
				ExpectError: errorText(`no boot menu is offered on boot server "acc", so start.ipxe comes from its own files`),
			},
			{
				// What a network GRUB gets: the same choice, as grub.cfg.
				Config: server + `
data "netboot_rendered_script" "test" {
  boot_server = netboot_ipv6_boot_server.test.name
  path        = "` + grubHostPath + `"
}
`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(renderedDS, tfjsonpath.New("menu"), knownvalue.StringExact("")),
					statecheck.ExpectKnownValue(renderedDS, tfjsonpath.New("script"), knownvalue.StringRegexp(regexp.MustCompile(`(?m)^echo 'No boot menu on boot server acc matches this host \(mac 52:54:00:12:34:56, .*\)\.'$`))),
				},
			},
			{
				Config: server + `
data "netboot_rendered_script" "test" {
  boot_server = "absent"
}
`,
				ExpectError: errorText(`No boot server "absent" exists on the agent`),
			},
		},
	})
}

const renderedDS = "data.netboot_rendered_script.test"

// noMenusHostScript renders the script of one BIOS host.
const noMenusHostScript = `
data "netboot_rendered_script" "test" {
  boot_server = netboot_ipv6_boot_server.test.name
  mac         = "52:54:00:12:34:56"
  buildarch   = "i386"
  platform    = "pcbios"
}
`

// The script and GRUB configuration rendered without menus are exactly
// what the serving boot server gives the host over HTTP.
func TestAccRenderedScriptDataSource_noMenusServed(t *testing.T) {
	lab := newAccLab(t, "curl")
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		Steps: []tfresource.TestStep{
			{
				Config: bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, statefulBody) + noMenusHostScript,
				Check:  func(s *terraform.State) error { return lab.servedAsRendered(t, s, renderedDS, hostScriptPath) },
			},
			{
				// What a network GRUB gets: the same choice, as grub.cfg.
				Config: bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, statefulBody) + `
data "netboot_rendered_script" "test" {
  boot_server = netboot_ipv6_boot_server.test.name
  path        = "` + grubHostPath + `"
}
`,
				Check: func(s *terraform.State) error { return lab.servedAsRendered(t, s, renderedDS, grubHostPath) },
			},
		},
	})
}
