package provider

import (
	"net/netip"
	"testing"
	"time"

	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
)

// Each machine lists the leases of its DUIDs and MAC addresses, and
// match_labels keeps the machines with those labels.
func TestMachinesDataSource(t *testing.T) {
	now := time.Now()
	leases := []lease.Lease{
		// web1 by DUID, web2 by the hardware address a relay reported,
		// db1's delegated prefix by its DUID-LL, and a client of no machine.
		{Kind: lease.NA, Address: netip.MustParseAddr("2001:db8:1::1001"), DUID: []byte{0, 2, 0, 0, 0, 9, 1}, IAID: 1,
			PreferredUntil: now.Add(time.Hour), ValidUntil: now.Add(2 * time.Hour)},
		{Kind: lease.NA, Address: netip.MustParseAddr("2001:db8:1::1002"), DUID: []byte{0, 4, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, IAID: 1,
			PreferredUntil: now.Add(time.Hour), ValidUntil: now.Add(2 * time.Hour), HardwareAddr: "52:54:00:aa:bb:02"},
		{Kind: lease.PD, Address: netip.MustParseAddr("2001:db8:100:4200::"), PrefixLength: 56, DUID: []byte{0, 3, 0, 1, 0x52, 0x54, 0, 0xaa, 0xbb, 3}, IAID: 1,
			PreferredUntil: now.Add(time.Hour), ValidUntil: now.Add(2 * time.Hour), HardwareAddr: "52:54:00:aa:bb:03"},
		{Kind: lease.NA, Address: netip.MustParseAddr("2001:db8:1::1003"), DUID: []byte{0, 2, 0, 0, 0, 9, 3}, IAID: 1,
			PreferredUntil: now.Add(time.Hour), ValidUntil: now.Add(2 * time.Hour)},
	}
	lab := newFastLab(t, seedLeases(t, leases))
	cfg := bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, statefulBody) + `
resource "netboot_machine" "web1" {
  name             = "web1"
  duids            = ["00020000000901"]
  labels           = { role = "web" }
  reserved_address = "2001:db8:1::77"
}

resource "netboot_machine" "web2" {
  name   = "web2"
  macs   = ["52:54:00:AA:BB:02"]
  labels = { role = "web", rack = "r2" }
}

resource "netboot_machine" "db1" {
  name = "db1"
  macs = ["52:54:00:aa:bb:03"]
}

data "netboot_machines" "all" {
  depends_on = [netboot_ipv6_boot_server.test, netboot_machine.web1, netboot_machine.web2, netboot_machine.db1]
}

data "netboot_machines" "rack2" {
  match_labels = { rack = "r2" }
  depends_on   = [netboot_machine.web1, netboot_machine.web2, netboot_machine.db1]
}
`
	all, rack2 := tfjsonpath.New("machines"), tfjsonpath.New("machines")
	tfresource.UnitTest(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		Steps: []tfresource.TestStep{{
			Config: cfg,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.netboot_machines.all", all, knownvalue.ListSizeExact(3)),
				statecheck.ExpectKnownValue("data.netboot_machines.all", all.AtSliceIndex(0).AtMapKey("name"), knownvalue.StringExact("db1")),
				statecheck.ExpectKnownValue("data.netboot_machines.all", all.AtSliceIndex(0).AtMapKey("leases"), knownvalue.ListExact([]knownvalue.Check{
					knownvalue.ObjectPartial(map[string]knownvalue.Check{"kind": knownvalue.StringExact("pd"),
						"address": knownvalue.StringExact("2001:db8:100:4200::"), "prefix_length": knownvalue.Int64Exact(56)}),
				})),
				statecheck.ExpectKnownValue("data.netboot_machines.all", all.AtSliceIndex(1).AtMapKey("leases").AtSliceIndex(0).AtMapKey("prefix_length"),
					knownvalue.Int64Exact(128)),
				statecheck.ExpectKnownValue("data.netboot_machines.all", all.AtSliceIndex(1).AtMapKey("leases").AtSliceIndex(0).AtMapKey("address"),
					knownvalue.StringExact("2001:db8:1::1001")),
				statecheck.ExpectKnownValue("data.netboot_machines.all", all.AtSliceIndex(1).AtMapKey("reserved_address"), knownvalue.StringExact("2001:db8:1::77")),
				statecheck.ExpectKnownValue("data.netboot_machines.all", all.AtSliceIndex(2).AtMapKey("leases").AtSliceIndex(0).AtMapKey("address"),
					knownvalue.StringExact("2001:db8:1::1002")),
				// Nothing was served to any machine (this agent binds nothing).
				statecheck.ExpectKnownValue("data.netboot_machines.all", all.AtSliceIndex(1).AtMapKey("last_boot_file"), knownvalue.Null()),
				statecheck.ExpectKnownValue("data.netboot_machines.all", all.AtSliceIndex(1).AtMapKey("last_config"), knownvalue.Null()),
				statecheck.ExpectKnownValue("data.netboot_machines.rack2", rack2, knownvalue.ListSizeExact(1)),
				statecheck.ExpectKnownValue("data.netboot_machines.rack2", rack2.AtSliceIndex(0).AtMapKey("name"), knownvalue.StringExact("web2")),
			},
		}},
	})
}
