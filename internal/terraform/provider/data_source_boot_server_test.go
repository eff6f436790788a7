package provider

import (
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

func TestBootServerDataSource_basic(t *testing.T) {
	lab := newFastLab(t)
	cfg := bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, seedBody) + `
data "netboot_boot_server" "test" {
  name = netboot_ipv6_boot_server.test.name
}
`
	const ds = "data.netboot_boot_server.test"
	same := func(p tfjsonpath.Path) statecheck.StateCheck {
		return statecheck.CompareValuePairs(testResource, p, ds, p, compare.ValuesSame())
	}
	tfresource.UnitTest(t, tfresource.TestCase{
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
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("other_servers"), knownvalue.ListSizeExact(0)),
			},
		}},
	})
}

func TestBootServerDataSource_notFound(t *testing.T) {
	lab := newFastLab(t)
	tfresource.UnitTest(t, tfresource.TestCase{
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

// A second router on the link shows in other_servers, with how its RA
// contradicts the boot server's.
func TestAccBootServerDataSource_otherServers(t *testing.T) {
	lab := newAccLab(t, "radvd")
	server := bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, seedBody)
	const ds = "data.netboot_boot_server.test"
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		Steps: []tfresource.TestStep{
			{Config: server},
			{
				PreConfig: func() {
					lab.StartRadvd(t, lab.ClientNS, fmt.Sprintf(`interface %s {
  AdvSendAdvert on; MinRtrAdvInterval 3; MaxRtrAdvInterval 4; AdvDefaultLifetime 0;
  AdvManagedFlag off; AdvOtherConfigFlag on;
  prefix %s { AdvOnLink on; AdvAutonomous on; };
};
`, lab.ClientIf, lab.Prefix), t.TempDir())
					conn := lab.conn(t)
					deadline := time.Now().Add(20 * time.Second)
					for time.Now().Before(deadline) {
						st, err := conn.GetBootServer(context.Background(), &netbootv1.GetBootServerRequest{Name: "acc"})
						if err == nil && len(st.GetStatus().GetOtherServers()) > 0 {
							return
						}
						time.Sleep(200 * time.Millisecond)
					}
					t.Fatal("the agent did not hear radvd within 20 s")
				},
				Config: server + `
data "netboot_boot_server" "test" {
  name = netboot_ipv6_boot_server.test.name
}
`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("other_servers"), knownvalue.ListSizeExact(1)),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("other_servers").AtSliceIndex(0).AtMapKey("protocol"), knownvalue.StringExact("router_advertisement")),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("other_servers").AtSliceIndex(0).AtMapKey("source_address"), knownvalue.StringRegexp(regexp.MustCompile(`^fe80:`))),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("other_servers").AtSliceIndex(0).AtMapKey("duid"), knownvalue.StringExact("")),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("other_servers").AtSliceIndex(0).AtMapKey("conflicts"), knownvalue.ListPartial(map[int]knownvalue.Check{
						0: knownvalue.StringExact("M flag (managed address configuration): ours true, theirs false"),
					})),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("other_servers").AtSliceIndex(0).AtMapKey("offers").AtSliceIndex(0),
						knownvalue.StringExact("M flag (managed address configuration): false")),
				},
			},
		},
	})
}

func TestOtherServersFromProto(t *testing.T) {
	got, diags := otherServersFromProto(context.Background(), []*netbootv1.OtherServer{{
		Protocol: "dhcpv6", SourceAddress: "fe80::2", LinkLayerAddress: "02:00:00:00:00:02", Duid: "000100010203",
		Offers: []string{"IA_NA address 2001:db8:1::1:5"}, FirstSeenUnix: 1700000000, LastSeenUnix: 1700000060, Messages: 3,
	}})
	if diags.HasError() {
		t.Fatal(diags)
	}
	var models []otherServerModel
	if diags := got.ElementsAs(context.Background(), &models, false); diags.HasError() {
		t.Fatal(diags)
	}
	if len(models) != 1 {
		t.Fatalf("other servers: %v", got)
	}
	m := models[0]
	if m.Protocol.ValueString() != "dhcpv6" || m.SourceAddress.ValueString() != "fe80::2" || m.DUID.ValueString() != "000100010203" ||
		m.LastSeen.ValueString() != "2023-11-14T22:14:20Z" || m.Messages.ValueInt64() != 3 || len(m.Offers.Elements()) != 1 || len(m.Conflicts.Elements()) != 0 {
		t.Errorf("other server: %+v", m)
	}
	if empty, _ := otherServersFromProto(context.Background(), nil); empty.IsNull() || len(empty.Elements()) != 0 {
		t.Errorf("no other servers: %v, want an empty list", empty)
	}
}
