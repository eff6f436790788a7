package provider

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

func TestAccBootServerDataSource_basic(t *testing.T) {
	lab := newAccLab(t)
	cfg := bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, seedBody) + `
data "netboot_boot_server" "test" {
  name = netboot_ipv6_boot_server.test.name
}
`
	const ds = "data.netboot_boot_server.test"
	same := func(p tfjsonpath.Path) statecheck.StateCheck {
		return statecheck.CompareValuePairs(testResource, p, ds, p, compare.ValuesSame())
	}
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		Steps: []tfresource.TestStep{{
			Config: cfg,
			ConfigStateChecks: []statecheck.StateCheck{
				same(tfjsonpath.New("interface")),
				same(tfjsonpath.New("prefix")),
				same(tfjsonpath.New("router_advertisement")),
				same(tfjsonpath.New("dhcpv6")),
				same(tfjsonpath.New("boot")),
				same(tfjsonpath.New("tftp_url_base")),
				same(tfjsonpath.New("link_local_address")),
				same(tfjsonpath.New("server_duid")),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("boot_url_base"), knownvalue.StringRegexp(regexp.MustCompile(`^http://\[2001:db8:1::1\]$`))),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("dhcpv6").AtMapKey("prefix_delegation").AtMapKey("length"), knownvalue.Int64Exact(64)),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("boot").AtMapKey("rules").AtSliceIndex(0).AtMapKey("macs").AtSliceIndex(0), knownvalue.StringExact("52:54:00:12:34:56")),
			},
		}},
	})
}

func TestAccBootServerDataSource_notFound(t *testing.T) {
	lab := newAccLab(t)
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		Steps: []tfresource.TestStep{{
			Config: lab.providerConfig() + `
data "netboot_boot_server" "test" {
  name = "absent"
}
`,
			ExpectError: errorText(`No boot server "absent" exists on the agent`),
		}},
	})
}
