package provider

import (
	"testing"

	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// A credential passed from a sensitive variable is masked in the plan of
// every attribute the documentation says may carry one: kernel arguments,
// scripts, chain URLs and artifact URLs.
func TestAccSensitiveInputsStayOutOfPlans(t *testing.T) {
	lab := newAccLab(t)
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		Steps: []tfresource.TestStep{{
			Config: lab.providerConfig() + `
variable "token" {
  type      = string
  default   = "s3cret"
  sensitive = true
}

resource "netboot_boot_entry" "install" {
  name  = "install"
  linux = { kernel = "vmlinuz", args = "inst.ks=https://ks.example/${var.token}/ks.cfg" }
}

resource "netboot_boot_entry" "script" {
  name   = "script"
  kind   = "script"
  script = "chain https://boot.example/menu.ipxe?token=${var.token}"
}

resource "netboot_boot_entry" "chain" {
  name = "chain"
  kind = "chain"
  url  = "https://boot.example/${var.token}/ipxe.efi"
}

resource "netboot_artifact" "fetched" {
  path = "fetched.efi"
  url  = "https://files.example/${var.token}/ipxe.efi"
}
`,
			PlanOnly:           true,
			ExpectNonEmptyPlan: true,
			ConfigPlanChecks: tfresource.ConfigPlanChecks{PostApplyPreRefresh: []plancheck.PlanCheck{
				plancheck.ExpectSensitiveValue("netboot_boot_entry.install", tfjsonpath.New("linux").AtMapKey("args")),
				plancheck.ExpectSensitiveValue("netboot_boot_entry.script", tfjsonpath.New("script")),
				plancheck.ExpectSensitiveValue("netboot_boot_entry.chain", tfjsonpath.New("url")),
				plancheck.ExpectSensitiveValue("netboot_artifact.fetched", tfjsonpath.New("url")),
			}},
		}},
	})
}
