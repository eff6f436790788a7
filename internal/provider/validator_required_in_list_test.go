package provider

import (
	"testing"

	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// A range passed as a whole object that is unknown at validation (a module
// input, another resource's output) validates, and one missing an address
// fails naming it once it is known.
func TestRangesTakeWholeObjects(t *testing.T) {
	const boot = `
resource "netboot_ipv6_boot_server" "test" {
  name      = "objects"
  interface = "eth0"
  prefix    = "2001:db8:1::/64"
  dhcpv6 = {
    mode   = "stateful"
    ranges = [terraform_data.range.output]
  }
}
`
	for _, tc := range []struct {
		name, input, want string
	}{
		// The plan gets as far as asking the agent: validation passed.
		{"unknown until apply", `{ start = "2001:db8:1::1000", end = "2001:db8:1::1fff" }`, "Cannot reach the netboot agent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tfresource.UnitTest(t, tfresource.TestCase{
				ProtoV6ProviderFactories: testProviderFactories,
				Steps: []tfresource.TestStep{{
					Config: noAgentProviderConfig(t) + `
resource "terraform_data" "range" {
  input = ` + tc.input + `
}
` + boot,
					PlanOnly:    true,
					ExpectError: errorText(tc.want),
				}},
			})
		})
	}
}

// Known elements still need both addresses.
func TestRangesNeedStartAndEnd(t *testing.T) {
	tfresource.UnitTest(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		Steps: []tfresource.TestStep{{
			Config: noAgentProviderConfig(t) + `
locals {
  range = { start = "2001:db8:1::1000", end = null }
}

resource "netboot_ipv6_boot_server" "test" {
  name      = "objects"
  interface = "eth0"
  prefix    = "2001:db8:1::/64"
  dhcpv6 = {
    mode   = "stateful"
    ranges = [local.range]
  }
}
`,
			PlanOnly:    true,
			ExpectError: errorText("dhcpv6.ranges[0] sets no end"),
		}},
	})
}
