package provider

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
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

// A relayed link passed as a whole object unknown at validation validates.
func TestRelayedLinksTakeWholeObjects(t *testing.T) {
	tfresource.UnitTest(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		Steps: []tfresource.TestStep{{
			Config: noAgentProviderConfig(t) + `
resource "terraform_data" "vlan" {
  input = { prefix = "2001:db8:10::/64", ranges = [{ start = "2001:db8:10::1000", end = "2001:db8:10::1fff" }] }
}

resource "netboot_ipv6_boot_server" "test" {
  name      = "objects"
  interface = "eth0"
  prefix    = "2001:db8:1::/64"
  dhcpv6 = {
    mode          = "stateful"
    ranges        = [{ start = "2001:db8:1::1000", end = "2001:db8:1::1fff" }]
    relayed_links = { vlan10 = terraform_data.vlan.output }
  }
}
`,
			PlanOnly:    true,
			ExpectError: errorText("Cannot reach the netboot agent"),
		}},
	})
}

// No attribute inside a list, set or map of objects is Required: the
// framework would call it missing whenever the element is a value unknown
// at validation (requiredInElement says why). This keeps new ones out.
func TestNoRequiredAttributeInsideCollections(t *testing.T) {
	server, err := testProviderFactories["netboot"]()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := server.GetProviderSchema(context.Background(), &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var walk func(where string, attrs []*tfprotov6.SchemaAttribute, inCollection bool)
	walk = func(where string, attrs []*tfprotov6.SchemaAttribute, inCollection bool) {
		for _, a := range attrs {
			if inCollection && a.Required {
				t.Errorf("%s.%s is Required inside a collection of objects: make it Optional and list it in the object's requiredInElement", where, a.Name)
			}
			if n := a.NestedType; n != nil {
				walk(where+"."+a.Name, n.Attributes, inCollection || n.Nesting != tfprotov6.SchemaObjectNestingModeSingle)
			}
		}
	}
	for name, s := range resp.ResourceSchemas {
		walk(name, s.Block.Attributes, false)
	}
}
