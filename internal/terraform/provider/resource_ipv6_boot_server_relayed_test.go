package provider

import (
	"context"
	"fmt"
	"slices"
	"testing"

	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// relayedBody is a stateful boot server whose relayed_links come from a map
// of VLAN ids with for, each leasing ::<first>00 to ::<first>ff of its /64
// and delegating the /56s of 2001:db8:<id>00::/48.
func relayedBody(vlans string, first map[string]int) string {
	return fmt.Sprintf(`
  dhcpv6 = {
    ranges = [{ start = "2001:db8:1::1000", end = "2001:db8:1::1fff" }]
    relayed_links = { for name, id in %s : name => {
      prefix            = "2001:db8:${id}::/64"
      ranges            = [{ start = "2001:db8:${id}::${lookup(%s, name, 1)}00", end = "2001:db8:${id}::${lookup(%s, name, 1)}ff" }]
      prefix_delegation = { start = "2001:db8:${id}00::", end = "2001:db8:${id}00:ff00::", length = 56 }
    } }
  }
`, vlans, hclMap(first), hclMap(first))
}

func hclMap(m map[string]int) string {
	s := "{"
	for k, v := range m {
		s += fmt.Sprintf(" %s = %d,", k, v)
	}
	return s + " }"
}

// Links behind relays are created from a map, added and changed in place,
// imported, and their drift is seen.
func TestAccIPv6BootServer_relayedLinks(t *testing.T) {
	lab := newAccLab(t)
	two := relayedBody(`{ vlan10 = 10, vlan20 = 20 }`, nil)
	three := relayedBody(`{ vlan10 = 10, vlan20 = 20, vlan30 = 30 }`, map[string]int{"vlan20": 2})
	links := tfjsonpath.New("dhcpv6").AtMapKey("relayed_links")
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		CheckDestroy:             lab.checkBootServerDestroyed(t),
		Steps: []tfresource.TestStep{
			{
				Config: bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, two),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testResource, links, knownvalue.MapSizeExact(2)),
					statecheck.ExpectKnownValue(testResource, links.AtMapKey("vlan20").AtMapKey("prefix"), knownvalue.StringExact("2001:db8:20::/64")),
					statecheck.ExpectKnownValue(testResource, links.AtMapKey("vlan10").AtMapKey("ranges").AtSliceIndex(0).AtMapKey("end"), knownvalue.StringExact("2001:db8:10::1ff")),
					statecheck.ExpectKnownValue(testResource, links.AtMapKey("vlan10").AtMapKey("dns_servers"), knownvalue.ListSizeExact(0)),
					statecheck.ExpectKnownValue(testResource, links.AtMapKey("vlan20").AtMapKey("prefix_delegation").AtMapKey("end"), knownvalue.StringExact("2001:db8:2000:ff00::")),
				},
			},
			{
				// A link added, another's range moved: in place.
				Config: bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, three),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testResource, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testResource, links, knownvalue.MapSizeExact(3)),
					statecheck.ExpectKnownValue(testResource, links.AtMapKey("vlan20").AtMapKey("ranges").AtSliceIndex(0).AtMapKey("start"), knownvalue.StringExact("2001:db8:20::200")),
				},
			},
			{
				ResourceName:      testResource,
				ImportState:       true,
				ImportStateId:     "acc",
				ImportStateVerify: true,
			},
			{
				// Drift: a link removed over gRPC behind Terraform's back.
				PreConfig: func() {
					lab.changeBootServer(t, "acc", func(bs *netbootv1.BootServer) { delete(bs.Dhcpv6.RelayedLinks, "vlan30") })
				},
				Config:             bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, three),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config: bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, three),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testResource, links, knownvalue.MapSizeExact(3)),
				},
			},
		},
	})
}

// An apply that edits one relayed link leaves the others serving: the
// client that leased on vlan10 through dhcrelay -6 keeps its lease, and
// the agent still lists the relay it heard there, which a restarted DHCPv6
// server would have forgotten.
func TestAccIPv6BootServer_editOneRelayedLink(t *testing.T) {
	lab := newAccLab(t, "dhclient", "dhcrelay")
	links := []*testlab.RoutedLink{lab.AddRoutedLink(t, 1), lab.AddRoutedLink(t, 2)}
	lab.StartDhcrelay(t, links...)
	before := relayedBody(`{ vlan10 = 10, vlan20 = 20 }`, nil)
	after := relayedBody(`{ vlan10 = 10, vlan20 = 20 }`, map[string]int{"vlan20": 2})
	var heard *netbootv1.RelayedLinkStatus
	vlan10 := func() *netbootv1.RelayedLinkStatus {
		st, err := lab.conn(t).GetBootServer(context.Background(), &netbootv1.GetBootServerRequest{Name: "acc"})
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range st.GetStatus().GetRelayedLinks() {
			if l.GetName() == "vlan10" {
				return l
			}
		}
		t.Fatalf("no vlan10 in %v", st.GetStatus())
		return nil
	}
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		CheckDestroy:             lab.checkBootServerDestroyed(t),
		Steps: []tfresource.TestStep{
			{Config: bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, before)},
			{
				PreConfig: func() {
					dhclientOnceOn(t, lab, links[0].NS, links[0].ClientIf)
					if heard = vlan10(); heard.GetActiveLeases() != 1 || len(heard.GetRelayAddresses()) != 1 {
						t.Fatalf("vlan10 after its client leased: %v", heard)
					}
				},
				Config: bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, after),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testResource, plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error {
					if now := vlan10(); now.GetActiveLeases() != 1 || !slices.Equal(now.GetRelayAddresses(), heard.GetRelayAddresses()) {
						return fmt.Errorf("vlan10 after editing vlan20: %v, want as before: %v", now, heard)
					}
					return nil
				},
			},
		},
	})
}
