package provider

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/bootfile"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/terraform/provider/ipv6types"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

const testResource = "netboot_ipv6_boot_server.test"

// bootServerConfig is a netboot_ipv6_boot_server "test" with the given
// attributes after name, interface and prefix.
func bootServerConfig(providerConfig, iface, prefix, body string) string {
	return fmt.Sprintf(`%s
resource "netboot_ipv6_boot_server" "test" {
  name      = "acc"
  interface = %q
  prefix    = %q
%s
}
`, providerConfig, iface, prefix, body)
}

const statefulBody = `
  router_advertisement = {
    min_interval = 30
    max_interval = 60
    dns_lifetime = 180
    rdnss        = ["2001:db8:1::53"]
    dnssl        = ["lab.example"]
  }
  dhcpv6 = {
    ranges      = [{ start = "2001:db8:1::1000", end = "2001:db8:1::1fff" }]
    dns_servers = ["2001:db8:1::53"]
    preference  = 255
  }
`

// seedBody says every line of the seed's dhcpd6.conf: addresses, temporary
// addresses (range6 … temporary), delegated prefixes (prefix6), preference
// 255, information refresh time 21600 and a per-host boot rule.
const seedBody = `
  router_advertisement = {
    min_interval = 30
    max_interval = 60
    dns_lifetime = 180
    rdnss        = ["2001:db8:1::53"]
    dnssl        = ["lab.example"]
  }
  dhcpv6 = {
    ranges            = [{ start = "2001:db8:1::1000", end = "2001:db8:1::1fff" }]
    temporary_ranges  = [{ start = "2001:db8:1::2000", end = "2001:db8:1::20ff" }]
    prefix_delegation = { start = "2001:db8:1:100::", end = "2001:db8:1:111::", length = 64 }
    dns_servers       = ["2001:db8:1::53"]
    preference        = 255
    info_refresh_time = 21600
  }
  boot = {
    rules = [
      { duids = ["00030001525400123456"], macs = ["52:54:00:12:34:56"], file = "host.efi", via = "tftp" },
      { user_class = "iPXE", file = "start.ipxe", via = "http" },
      { arch = [7, 9], file = "ipxe.efi", via = "tftp" },
    ]
  }
`

// The schema's defaults and validators are checked at plan, before the
// provider connects: none of these reaches an agent.
func TestIPv6BootServer_invalidConfigFailsAtPlan(t *testing.T) {
	t.Parallel()
	provider := noAgentProviderConfig(t)
	var cases []planFailure
	const ranges = `ranges = [{ start = "2001:db8:1::1000", end = "2001:db8:1::1fff" }]`
	for _, tc := range []struct {
		name, prefix, body, want string
	}{
		{"prefix not a /64", "2001:db8:1::/48", `dhcpv6 = { ` + ranges + ` }`,
			"prefix must be a /64 (SLAAC and iPXE need a /64 on-link prefix), got /48"},
		{"prefix host bits", "2001:db8:1::1/64", `dhcpv6 = { ` + ranges + ` }`,
			"prefix has host bits set: write 2001:db8:1::/64"},
		{"prefix not IPv6", "192.0.2.0/24", `dhcpv6 = { ` + ranges + ` }`,
			"prefix must be an IPv6 prefix, not IPv4"},
		{"prefix not a prefix", "2001:db8:1::", `dhcpv6 = { ` + ranges + ` }`,
			`prefix must be an IPv6 prefix such as "2001:db8:1::/64"`},
		{"range outside prefix", "2001:db8:1::/64",
			`dhcpv6 = { ranges = [{ start = "2001:db8:1::1000", end = "2001:db8:2::1" }] }`,
			"dhcpv6.ranges[0].end 2001:db8:2::1 is outside prefix 2001:db8:1::/64"},
		{"relayed range outside its link", "2001:db8:1::/64",
			`dhcpv6 = {
			   ` + ranges + `
			   relayed_links = { for name, id in { vlan10 = 10, vlan20 = 20 } : name => {
			     prefix = "2001:db8:${id}::/64"
			     ranges = [{ start = "2001:db8:${id}::100", end = "2001:db8:99::1ff" }]
			   } }
			 }`,
			`dhcpv6.relayed_links["vlan20"].ranges[0].end 2001:db8:99::1ff is outside prefix 2001:db8:20::/64`},
		{"two relayed links delegate one prefix", "2001:db8:1::/64",
			`dhcpv6 = {
			   ` + ranges + `
			   relayed_links = { for name, id in { vlan10 = 10, vlan20 = 20 } : name => {
			     prefix            = "2001:db8:${id}::/64"
			     ranges            = [{ start = "2001:db8:${id}::100", end = "2001:db8:${id}::1ff" }]
			     prefix_delegation = { start = "2001:db8:1000::", end = "2001:db8:10ff::", length = 48 }
			   } }
			 }`,
			`dhcpv6.relayed_links["vlan20"].prefix_delegation overlaps the prefixes dhcpv6.relayed_links["vlan10"].prefix_delegation delegates`},
		{"relayed link delegates without a length", "2001:db8:1::/64",
			`dhcpv6 = {
			   ` + ranges + `
			   relayed_links = { vlan10 = {
			     prefix            = "2001:db8:10::/64"
			     ranges            = [{ start = "2001:db8:10::100", end = "2001:db8:10::1ff" }]
			     prefix_delegation = { start = "2001:db8:1000::", end = "2001:db8:10ff::" }
			   } }
			 }`,
			`dhcpv6.relayed_links["vlan10"].prefix_delegation sets no length`},
		{"stateful without ranges", "2001:db8:1::/64", ``,
			`dhcpv6.ranges needs at least one range when mode is "stateful"`},
		{"stateful with managed off", "2001:db8:1::/64",
			`router_advertisement = { managed = false }
			 dhcpv6 = { ` + ranges + ` }`,
			`router_advertisement.managed must be true when dhcpv6.mode is "stateful"`},
		{"stateless with managed on", "2001:db8:1::/64",
			`router_advertisement = { managed = true }
			 dhcpv6 = { mode = "stateless" }`,
			`router_advertisement.managed must be false when dhcpv6.mode is "stateless"`},
		{"off with other_config on", "2001:db8:1::/64",
			`router_advertisement = { other_config = true }
			 dhcpv6 = { mode = "off" }`,
			`router_advertisement.other_config must be false when dhcpv6.mode is "off"`},
		{"unordered lifetimes", "2001:db8:1::/64",
			`dhcpv6 = {
			   ` + ranges + `
			   renew_time  = 3000
			   rebind_time = 2000
			 }`,
			"dhcpv6.renew_time must not exceed rebind_time"},
		{"unknown mode", "2001:db8:1::/64", `dhcpv6 = { mode = "dhcp" }`,
			`dhcpv6.mode must be one of "stateful", "stateless" or "off", got "dhcp"`},
		{"IPv4 RDNSS", "2001:db8:1::/64",
			`router_advertisement = { rdnss = ["192.0.2.53"] }
			 dhcpv6 = { ` + ranges + ` }`,
			"router_advertisement.rdnss[0] must be an IPv6 address, not IPv4"},
		{"zoned DNS server", "2001:db8:1::/64",
			`dhcpv6 = {
			   ` + ranges + `
			   dns_servers = ["2001:db8:1::53%eth0"]
			 }`,
			"dhcpv6.dns_servers[0] must not have a zone: write the address without %eth0"},
		{"range start not an address", "2001:db8:1::/64",
			`dhcpv6 = { ranges = [{ start = "2001:db8:1::10000", end = "2001:db8:1::1fff" }] }`,
			"dhcpv6.ranges[0].start must be an IPv6 address"},
		{"preference above 255", "2001:db8:1::/64",
			`dhcpv6 = {
			   ` + ranges + `
			   preference = 256
			 }`,
			"dhcpv6.preference must be between 0 and 255"},
		{"negative lifetime", "2001:db8:1::/64",
			`dhcpv6 = {
			   ` + ranges + `
			   valid_lifetime = -1
			 }`,
			"Must be between 0 and 4294967295, got -1"},
		{"http port 0", "2001:db8:1::/64",
			`dhcpv6 = { ` + ranges + ` }
			 boot = { http_port = 0 }`,
			"boot.http_port must be at least 1, got 0"},
		{"http port above 65535", "2001:db8:1::/64",
			`dhcpv6 = { ` + ranges + ` }
			 boot = { http_port = 65536 }`,
			"boot.http_port must be a TCP port between 1 and 65535"},
		{"bad search domain", "2001:db8:1::/64",
			`dhcpv6 = {
			   ` + ranges + `
			   domain_search = ["-lab.example"]
			 }`,
			"dhcpv6.domain_search[0] label"},
		{"boot rule over a protocol that is off", "2001:db8:1::/64",
			`dhcpv6 = { ` + ranges + ` }
			 boot = {
			   tftp  = false
			   rules = [
			     { user_class = "iPXE", file = "start.ipxe", via = "http" },
			     { arch = [7], file = "ipxe.efi", via = "tftp" },
			   ]
			 }`,
			`boot.rules[1].via is "tftp" but boot.tftp is false`},
		{"boot defaults need tftp", "2001:db8:1::/64",
			`dhcpv6 = { ` + ranges + ` }
			 boot = { tftp = false }`,
			`boot.rules[1].via is "tftp" but boot.tftp is false`},
		{"boot rule with file and url", "2001:db8:1::/64",
			`dhcpv6 = { ` + ranges + ` }
			 boot = { rules = [{ file = "ipxe.efi", via = "http", url = "http://[2001:db8:1::1]/ipxe.efi" }] }`,
			"boot.rules[0].url set either file or url, not both"},
		{"boot rule without file", "2001:db8:1::/64",
			`dhcpv6 = { ` + ranges + ` }
			 boot = { rules = [{ arch = [0] }] }`,
			"boot.rules[0].file set file (served by this boot server) or url (anywhere)"},
		{"boot rule file with a newline", "2001:db8:1::/64",
			`dhcpv6 = { ` + ranges + ` }
			 boot = { rules = [{ file = "a\nb c;d", via = "tftp" }] }`,
			"it contains a control character"},
		{"boot rule with unknown protocol", "2001:db8:1::/64",
			`dhcpv6 = { ` + ranges + ` }
			 boot = { rules = [{ file = "ipxe.efi", via = "ftp" }] }`,
			`boot.rules[0].via must be "tftp" or "http", got "ftp"`},
		{"boot arch out of range", "2001:db8:1::/64",
			`dhcpv6 = { ` + ranges + ` }
			 boot = { rules = [{ arch = [65536], file = "ipxe.efi", via = "tftp" }] }`,
			"boot.rules[0].arch[0] must be a client architecture type between 0 and 65535"},
		{"boot server address link-local", "2001:db8:1::/64",
			`dhcpv6 = { ` + ranges + ` }
			 boot = { server_address = "fe80::1" }`,
			"boot.server_address must not be link-local"},
		{"temporary range overlapping a range", "2001:db8:1::/64",
			`dhcpv6 = {
			   ` + ranges + `
			   temporary_ranges = [{ start = "2001:db8:1::1f00", end = "2001:db8:1::2fff" }]
			 }`,
			"dhcpv6.temporary_ranges[0] overlaps ranges[0]"},
		{"delegation overlapping the on-link prefix", "2001:db8:1::/64",
			`dhcpv6 = {
			   ` + ranges + `
			   prefix_delegation = { start = "2001:db8::", end = "2001:db8:ff::", length = 64 }
			 }`,
			"overlap the on-link prefix 2001:db8:1::/64"},
		{"delegated prefix not aligned", "2001:db8:1::/64",
			`dhcpv6 = {
			   ` + ranges + `
			   prefix_delegation = { start = "2001:db8:1:100::", end = "2001:db8:1:111:1::", length = 64 }
			 }`,
			"dhcpv6.prefix_delegation.end has bits set beyond /64: write 2001:db8:1:111::"},
		{"delegated length out of range", "2001:db8:1::/64",
			`dhcpv6 = {
			   ` + ranges + `
			   prefix_delegation = { start = "2001:db8:1:100::", end = "2001:db8:1:111::", length = 80 }
			 }`,
			"dhcpv6.prefix_delegation.length must be between 48 and 64 (the length of each delegated prefix), got 80"},
		{"delegation when stateless", "2001:db8:1::/64",
			`dhcpv6 = {
			   mode              = "stateless"
			   prefix_delegation = { start = "2001:db8:1:100::", end = "2001:db8:1:111::", length = 64 }
			 }`,
			`dhcpv6.prefix_delegation is only used when mode is "stateful"`},
		{"boot rule DUID with colons", "2001:db8:1::/64",
			`dhcpv6 = { ` + ranges + ` }
			 boot = { rules = [{ duids = ["00:03:00:01:52:54:00:12:34:56"], file = "ipxe.efi", via = "tftp" }] }`,
			`boot.rules[0].duids[0] "00:03:00:01:52:54:00:12:34:56" must be a client DUID in hex without separators`},
		{"rate limit burst of 1", "2001:db8:1::/64",
			`dhcpv6 = {
			   ` + ranges + `
			   rate_limit = { per_client_per_second = 5, burst = 1 }
			 }`,
			"dhcpv6.rate_limit.burst must be between 2 and"},
		{"too many IAs per message", "2001:db8:1::/64",
			`dhcpv6 = {
			   ` + ranges + `
			   max_ias_per_message = 1000
			 }`,
			"dhcpv6.max_ias_per_message must be between 0 (no limit) and 256"},
		{"rate limit too high", "2001:db8:1::/64",
			`dhcpv6 = {
			   ` + ranges + `
			   rate_limit = { per_source_per_second = 2000000 }
			 }`,
			"dhcpv6.rate_limit.per_source_per_second must be between 0 (no limit) and 1000000"},
		{"tftp transfers per client above the total", "2001:db8:1::/64",
			`dhcpv6 = { ` + ranges + ` }
			 boot = { tftp_max_transfers = 8, tftp_max_transfers_per_client = 9 }`,
			"boot.tftp_max_transfers_per_client must be between 1 and tftp_max_transfers (8), got 9"},
		{"no tftp transfers", "2001:db8:1::/64",
			`dhcpv6 = { ` + ranges + ` }
			 boot = { tftp_max_transfers = 0 }`,
			"boot.tftp_max_transfers must be at least 1, got 0"},
		{"total tftp transfers beyond the agent's cap", "2001:db8:1::/64",
			`dhcpv6 = { ` + ranges + ` }
			 boot = { tftp_max_transfers = 2000 }`,
			"boot.tftp_max_transfers must be between 1 and 1024, got 2000"},
		{"tftp transfers beyond the agent's cap", "2001:db8:1::/64",
			`dhcpv6 = { ` + ranges + ` }
			 boot = { tftp_max_transfers_per_client = 2000 }`,
			"boot.tftp_max_transfers_per_client must be between 1 and tftp_max_transfers"},
		{"boot rule MAC with dashes", "2001:db8:1::/64",
			`dhcpv6 = { ` + ranges + ` }
			 boot = { rules = [{ macs = ["52-54-00-12-34-56"], file = "ipxe.efi", via = "tftp" }] }`,
			`boot.rules[0].macs[0] "52-54-00-12-34-56" must be a MAC address written as six colon-separated hex bytes`},
		{"boot rule label key with a space", "2001:db8:1::/64",
			`dhcpv6 = { ` + ranges + ` }
			 boot = { rules = [{ labels = { "my role" = "web" }, file = "ipxe.efi", via = "tftp" }] }`,
			`boot.rules[0].labels["my role"] a label key is 1-63 letters`},
		{"boot rule with empty labels", "2001:db8:1::/64",
			`dhcpv6 = { ` + ranges + ` }
			 boot = { rules = [{ labels = {}, file = "ipxe.efi", via = "tftp" }] }`,
			`boot.rules[0].labels map must contain at least 1 elements`},
	} {
		cases = append(cases, planFailure{tc.name, bootServerConfig(provider, "eth1", tc.prefix, tc.body), errorText(tc.want)})
	}
	expectPlanFailures(t, cases)
}

// An invalid boot rule is reported on the attribute itself, so Terraform
// points at it: here the second rule's via, since TFTP is off.
func TestIPv6BootServer_invalidRuleNamesItsAttribute(t *testing.T) {
	ctx := context.Background()
	r := &ipv6BootServerResource{}
	var schemaResp resource.SchemaResponse
	r.Schema(ctx, resource.SchemaRequest{}, &schemaResp)
	rule := func(userClass string, arch []int64, file, via string) attr.Value {
		archSet := types.SetNull(types.Int64Type)
		if arch != nil {
			archSet, _ = types.SetValueFrom(ctx, types.Int64Type, arch)
		}
		return types.ObjectValueMust(bootRuleObjectType.AttrTypes, map[string]attr.Value{
			"user_class": stringOrNull(userClass), "arch": archSet, "vendor_class": types.StringNull(),
			"duids": types.SetNull(types.StringType), "macs": types.SetNull(types.StringType), "labels": types.MapNull(types.StringType),
			"file": types.StringValue(file), "via": types.StringValue(via), "url": types.StringNull(),
			"parameters": types.ListNull(types.StringType),
		})
	}
	m := bootServerModel{
		ID:                  types.StringNull(),
		Name:                types.StringValue("lab"),
		Interface:           types.StringValue("eth1"),
		Prefix:              ipv6types.NewPrefixValue("2001:db8:1::/64"),
		RouterAdvertisement: types.ObjectNull(routerAdvertisementAttrTypes),
		DHCPv6: types.ObjectValueMust(dhcpv6AttrTypes, withAttr(defaultDHCPv6(), "ranges",
			types.ListValueMust(addressRangeObjectType, []attr.Value{rangeValue("2001:db8:1::1000", "2001:db8:1::1fff")}))),
		Boot:             types.ObjectValueMust(bootAttrTypes, withAttr(defaultBoot(), "tftp", types.BoolValue(false))),
		LinkLocalAddress: types.StringNull(),
		GlobalAddresses:  types.ListNull(types.StringType),
		ServerDUID:       types.StringNull(),
		BootURLBase:      types.StringNull(),
		TFTPURLBase:      types.StringNull(),
	}
	m.Boot = types.ObjectValueMust(bootAttrTypes, withAttr(m.Boot, "rules", types.ListValueMust(bootRuleObjectType, []attr.Value{
		rule("iPXE", nil, "start.ipxe", "http"),
		rule("", []int64{7}, "ipxe.efi", "tftp"),
	})))
	plan := tfsdk.Plan{Schema: schemaResp.Schema, Raw: tftypes.NewValue(schemaResp.Schema.Type().TerraformType(ctx), nil)}
	if diags := plan.Set(ctx, &m); diags.HasError() {
		t.Fatal(diags)
	}
	var resp resource.ValidateConfigResponse
	r.ValidateConfig(ctx, resource.ValidateConfigRequest{Config: tfsdk.Config{Schema: schemaResp.Schema, Raw: plan.Raw}}, &resp)
	want := path.Root("boot").AtName("rules").AtListIndex(1).AtName("via")
	if len(resp.Diagnostics) != 1 {
		t.Fatalf("diagnostics = %v, want one error at %s", resp.Diagnostics, want)
	}
	d, ok := resp.Diagnostics[0].(diag.DiagnosticWithPath)
	if !ok || !d.Path().Equal(want) || d.Severity() != diag.SeverityError {
		t.Fatalf("diagnostic = %v, want an error at %s", resp.Diagnostics[0], want)
	}
	if !regexp.MustCompile(`boot\.rules\[1\]\.via is "tftp" but boot\.tftp is false`).MatchString(d.Detail()) {
		t.Errorf("detail = %q", d.Detail())
	}
}

// The rules' documentation names every architecture the defaults use.
func TestDefaultRulesDescriptionNamesEveryArch(t *testing.T) {
	for _, r := range bootfile.DefaultRules() {
		for _, a := range r.Arch {
			if archNames[uint32(a)] == "" {
				t.Errorf("arch 0x%02x of a default rule has no name in archNames", a)
			}
		}
	}
}

// The plan knows the boot URL bases when the agent's choice of address is
// known: configured, or kept from the refresh while interface and prefix
// stay. The default HTTP port is left out of the URL.
func TestPlanURLBases(t *testing.T) {
	ctx := context.Background()
	boot := func(attrs map[string]attr.Value) types.Object {
		merged := defaultBoot().Attributes()
		for k, v := range attrs {
			merged[k] = v
		}
		return types.ObjectValueMust(bootAttrTypes, merged)
	}
	refreshed := &bootServerModel{
		Interface: types.StringValue("eth1"), Prefix: ipv6types.NewPrefixValue("2001:db8:1::/64"), Boot: defaultBoot(),
		BootURLBase: types.StringValue("http://[2001:db8:1::7]"), TFTPURLBase: types.StringValue("tftp://[2001:db8:1::7]"),
	}
	for _, tc := range []struct {
		name               string
		iface, prefix      string
		boot               types.Object
		state              *bootServerModel
		wantHTTP, wantTFTP types.String
	}{
		{"kept from refresh", "eth1", "2001:DB8:1::/64", boot(map[string]attr.Value{"http_port": types.Int64Value(8080)}), refreshed,
			types.StringValue("http://[2001:db8:1::7]:8080"), types.StringValue("tftp://[2001:db8:1::7]")},
		{"tftp off", "eth1", "2001:db8:1::/64", boot(map[string]attr.Value{"tftp": types.BoolValue(false)}), refreshed,
			types.StringValue("http://[2001:db8:1::7]"), types.StringValue("")},
		{"configured address on create", "eth1", "2001:db8:1::/64",
			boot(map[string]attr.Value{"server_address": ipv6types.NewAddressValue("2001:DB8:1::80")}), nil,
			types.StringValue("http://[2001:db8:1::80]"), types.StringValue("tftp://[2001:db8:1::80]")},
		{"agent picks on create", "eth1", "2001:db8:1::/64", defaultBoot(), nil, types.StringUnknown(), types.StringUnknown()},
		{"other interface", "eth2", "2001:db8:1::/64", defaultBoot(), refreshed, types.StringUnknown(), types.StringUnknown()},
		{"other prefix", "eth1", "2001:db8:2::/64", defaultBoot(), refreshed, types.StringUnknown(), types.StringUnknown()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := bootServerModel{
				Interface: types.StringValue(tc.iface), Prefix: ipv6types.NewPrefixValue(tc.prefix), Boot: tc.boot,
				BootURLBase: types.StringUnknown(), TFTPURLBase: types.StringUnknown(),
			}
			if diags := m.planURLBases(ctx, tc.state); diags.HasError() {
				t.Fatal(diags)
			}
			if !m.BootURLBase.Equal(tc.wantHTTP) || !m.TFTPURLBase.Equal(tc.wantTFTP) {
				t.Errorf("got %s, %s; want %s, %s", m.BootURLBase, m.TFTPURLBase, tc.wantHTTP, tc.wantTFTP)
			}
		})
	}
}

func TestIPv6BootServer_invalidNameFailsAtPlan(t *testing.T) {
	tfresource.UnitTest(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		Steps: []tfresource.TestStep{{
			Config: noAgentProviderConfig(t) + `
resource "netboot_ipv6_boot_server" "test" {
  name      = "Lab 1"
  interface = "eth1"
  prefix    = "2001:db8:1::/64"
  dhcpv6    = { ranges = [{ start = "2001:db8:1::1000", end = "2001:db8:1::1fff" }] }
}
`,
			PlanOnly:    true,
			ExpectError: errorText("must be 1-63 lowercase letters, digits, '-' or '_'"),
		}},
	})
}

// The defaults the schema fills in are exactly the agent's (config.Defaults),
// and a boot server with only the required attributes and a range is valid.
func TestToProtoFillsInDefaults(t *testing.T) {
	ctx := context.Background()
	dh, diags := types.ObjectValue(dhcpv6AttrTypes, withAttr(defaultDHCPv6(), "ranges",
		types.ListValueMust(addressRangeObjectType, []attr.Value{rangeValue("2001:db8:1::1000", "2001:db8:1::1fff")})))
	if diags.HasError() {
		t.Fatal(diags)
	}
	for _, m := range []bootServerModel{
		// A raw configuration: nested blocks left out.
		{Name: types.StringValue("lab"), Interface: types.StringValue("eth1"), Prefix: ipv6types.NewPrefixValue("2001:db8:1::/64"),
			RouterAdvertisement: types.ObjectNull(routerAdvertisementAttrTypes), DHCPv6: dh},
		// A plan: the schema's default objects filled in.
		{Name: types.StringValue("lab"), Interface: types.StringValue("eth1"), Prefix: ipv6types.NewPrefixValue("2001:db8:1::/64"),
			RouterAdvertisement: defaultRouterAdvertisement(), DHCPv6: dh},
	} {
		pb, diags := m.toProto(ctx)
		if diags.HasError() {
			t.Fatal(diags)
		}
		cfg, err := config.FromProto(pb)
		if err != nil {
			t.Fatalf("defaults do not validate: %v", err)
		}
		d := config.Defaults
		want := config.RouterAdvertisement{
			Managed: true, OtherConfig: true,
			MinInterval: d.MinInterval, MaxInterval: d.MaxInterval, RouterLifetime: d.RouterLifetime,
			PrefixOnLink: true, PrefixAutonomous: true,
			PrefixValidLifetime: d.PrefixValidLifetime, PrefixPreferredLifetime: d.PrefixPreferredLifetime,
			DNSLifetime: d.DNSLifetime,
		}
		if fmt.Sprint(cfg.RA) != fmt.Sprint(want) {
			t.Errorf("RA = %+v, want %+v", cfg.RA, want)
		}
		if cfg.DHCPv6.Mode != d.DHCPv6Mode || cfg.DHCPv6.RenewTime != d.RenewTime || cfg.DHCPv6.RebindTime != d.RebindTime ||
			cfg.DHCPv6.PreferredLifetime != d.PreferredLifetime || cfg.DHCPv6.ValidLifetime != d.ValidLifetime ||
			cfg.DHCPv6.Preference != d.Preference || cfg.DHCPv6.RapidCommit ||
			cfg.DHCPv6.RateLimit != d.RateLimit || cfg.DHCPv6.AllowLeasequery {
			t.Errorf("DHCPv6 = %+v, want config.Defaults", cfg.DHCPv6)
		}
		if !reflect.DeepEqual(cfg.Boot, config.DefaultBoot()) {
			t.Errorf("Boot = %+v, want config.DefaultBoot() %+v", cfg.Boot, config.DefaultBoot())
		}
	}
}

// A boot block with only some attributes set gets the defaults for the rest,
// in the plan (schema defaults) as in a raw configuration (toProto).
func TestBootToProtoFillsInDefaults(t *testing.T) {
	ctx := context.Background()
	partial := types.ObjectValueMust(bootAttrTypes, map[string]attr.Value{
		"tftp":                          types.BoolNull(),
		"tftp_max_transfers":            types.Int64Null(),
		"tftp_max_transfers_per_client": types.Int64Value(11),
		"http":                          types.BoolNull(),
		"http_port":                     types.Int64Value(8080),
		"server_address":                ipv6types.NewAddressNull(),
		"rules":                         types.ListNull(bootRuleObjectType),
		"https":                         types.ObjectNull(httpsObjectType.AttrTypes),
	})
	pb, diags := bootToProto(ctx, partial)
	if diags.HasError() {
		t.Fatal(diags)
	}
	want := defaultBootProto()
	want.HttpPort = 8080
	want.TftpMaxTransfersPerClient = 11
	if !proto.Equal(pb, want) {
		t.Errorf("boot = %v, want %v", pb, want)
	}
	if got, _ := bootToProto(ctx, types.ObjectNull(bootAttrTypes)); !proto.Equal(got, defaultBootProto()) {
		t.Errorf("null boot = %v, want the defaults", got)
	}
	if got := len(defaultBootRules().Elements()); got != len(bootfile.DefaultRules()) {
		t.Errorf("default rules: %d, want %d", got, len(bootfile.DefaultRules()))
	}
}

// What the agent returns, read into the model and sent back, is unchanged:
// Read followed by an apply without changes is a no-op.
func TestFromProtoToProtoRoundTrip(t *testing.T) {
	ctx := context.Background()
	in := &netbootv1.BootServer{
		Name: "lab", Interface: "eth1", Prefix: "2001:db8:1::/64",
		RouterAdvertisement: &netbootv1.RouterAdvertisement{
			Managed: true, OtherConfig: true, MinIntervalSeconds: 30, MaxIntervalSeconds: 60, RouterLifetimeSeconds: 0,
			PrefixOnLink: true, PrefixAutonomous: false, PrefixValidLifetimeSeconds: 86400, PrefixPreferredLifetimeSeconds: 14400,
			Rdnss: []string{"2001:db8:1::53"}, Dnssl: []string{"lab.example"}, DnsLifetimeSeconds: 180,
		},
		Dhcpv6: &netbootv1.DHCPv6{
			Mode:             "stateful",
			Ranges:           []*netbootv1.AddressRange{{Start: "2001:db8:1::1000", End: "2001:db8:1::1fff"}, {Start: "2001:db8:1::2000", End: "2001:db8:1::2fff"}},
			TemporaryRanges:  []*netbootv1.AddressRange{{Start: "2001:db8:1::3000", End: "2001:db8:1::30ff"}},
			PrefixDelegation: &netbootv1.PrefixDelegation{Start: "2001:db8:1:100::", End: "2001:db8:1:111::", Length: 64},
			DnsServers:       []string{"2001:db8:1::53"}, DomainSearch: []string{"lab.example"}, Preference: 255,
			RenewTimeSeconds: 1800, RebindTimeSeconds: 2880, PreferredLifetimeSeconds: 3600, ValidLifetimeSeconds: 7200,
			RapidCommit: true, InfoRefreshTimeSeconds: 600,
			RateLimit:       &netbootv1.DHCPv6RateLimit{PerClientPerSecond: 3, Burst: 6, PerSourcePerSecond: 0, PerSourceBurst: 0, PerRelayPerSecond: 7, PerRelayBurst: 14},
			AllowLeasequery: true,
			// 0 (no limit) reads back as 0, not as the default.
			MaxIasPerMessage: proto.Uint32(4), MaxLeasesPerClient: proto.Uint32(0),
			RelayedLinks: map[string]*netbootv1.RelayedLink{
				"vlan10": {Prefix: "2001:db8:10::/64", Ranges: []*netbootv1.AddressRange{{Start: "2001:db8:10::100", End: "2001:db8:10::1ff"}}},
				"vlan20": {Prefix: "2001:db8:20::/64", Ranges: []*netbootv1.AddressRange{{Start: "2001:db8:20::100", End: "2001:db8:20::1ff"}},
					TemporaryRanges: []*netbootv1.AddressRange{{Start: "2001:db8:20::1000", End: "2001:db8:20::10ff"}},
					DnsServers:      []string{"2001:db8:20::53"}, DomainSearch: []string{"vlan20.example"}, InterfaceId: "eth1.20",
					PrefixDelegation: &netbootv1.PrefixDelegation{Start: "2001:db8:2000::", End: "2001:db8:20ff::", Length: 48}},
			},
		},
		Boot: &netbootv1.Boot{
			Rules: []*netbootv1.BootFileRule{
				{UserClass: "iPXE", File: "boot.ipxe", Via: "http", Parameters: []string{"console=ttyS0"}},
				{Duids: []string{"00030001525400123456"}, Macs: []string{"52:54:00:12:34:56", "52:54:00:AB:CD:EF"}, File: "host.efi", Via: "tftp"},
				{Arch: []uint32{7, 9}, VendorClass: "PXEClient", File: "ipxe.efi", Via: "tftp"},
				{Url: "https://boot.example/menu.ipxe"},
			},
			TftpEnabled: true, HttpEnabled: true, HttpPort: 8080, ServerAddress: "2001:db8:1::2",
			TftpMaxTransfers: 100, TftpMaxTransfersPerClient: 11,
		},
	}
	var m bootServerModel
	st := &netbootv1.BootServerState{Config: in, Status: &netbootv1.BootServerStatus{
		LinkLocalAddress: "fe80::1", GlobalAddresses: []string{"2001:db8:1::1", "2001:db8:1::2"}, ServerDuid: "00010001",
		BootAddress: "2001:db8:1::2", HttpUrlBase: "http://[2001:db8:1::2]:8080", TftpUrlBase: "tftp://[2001:db8:1::2]",
	}}
	if diags := m.fromProto(ctx, st); diags.HasError() {
		t.Fatal(diags)
	}
	out, diags := m.toProto(ctx)
	if diags.HasError() {
		t.Fatal(diags)
	}
	if !proto.Equal(in, out) {
		t.Errorf("round trip changed the boot server:\n in: %v\nout: %v", in, out)
	}
	if got := m.BootURLBase.ValueString(); got != "http://[2001:db8:1::2]:8080" {
		t.Errorf("boot_url_base = %q", got)
	}
	if got := m.TFTPURLBase.ValueString(); got != "tftp://[2001:db8:1::2]" {
		t.Errorf("tftp_url_base = %q", got)
	}
	rule := m.Boot.Attributes()["rules"].(types.List).Elements()[2].(types.Object).Attributes()
	if !rule["user_class"].IsNull() || !rule["url"].IsNull() || !rule["parameters"].IsNull() || !rule["duids"].IsNull() || !rule["macs"].IsNull() {
		t.Errorf("unset rule fields must read back as null, got %v", rule)
	}
	// Without prefix delegation, prefix_delegation is null and stays unset.
	in.Dhcpv6.PrefixDelegation = nil
	if diags := m.fromProto(ctx, st); diags.HasError() {
		t.Fatal(diags)
	}
	if pd := m.DHCPv6.Attributes()["prefix_delegation"]; !pd.IsNull() {
		t.Errorf("prefix_delegation = %s, want null", pd)
	}
	if out, _ := m.toProto(ctx); !proto.Equal(in, out) {
		t.Errorf("round trip without prefix delegation:\n in: %v\nout: %v", in, out)
	}
	if got := m.LinkLocalAddress.ValueString(); got != "fe80::1" {
		t.Errorf("link_local_address = %q", got)
	}
}

func TestDeriveRAFlags(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		mode                   types.String
		cfgManaged, cfgOther   types.Bool
		wantManaged, wantOther types.Bool
	}{
		{types.StringValue("stateful"), types.BoolNull(), types.BoolNull(), types.BoolValue(true), types.BoolValue(true)},
		{types.StringValue("stateless"), types.BoolNull(), types.BoolNull(), types.BoolValue(false), types.BoolValue(true)},
		{types.StringValue("off"), types.BoolNull(), types.BoolNull(), types.BoolValue(false), types.BoolValue(false)},
		{types.StringNull(), types.BoolNull(), types.BoolNull(), types.BoolValue(true), types.BoolValue(true)},
		{types.StringUnknown(), types.BoolNull(), types.BoolNull(), types.BoolUnknown(), types.BoolUnknown()},
		// What the user set stays, even when wrong: ValidateConfig names it.
		{types.StringValue("stateful"), types.BoolValue(false), types.BoolNull(), types.BoolValue(false), types.BoolValue(true)},
		{types.StringValue("off"), types.BoolNull(), types.BoolValue(true), types.BoolValue(false), types.BoolValue(true)},
	} {
		name := fmt.Sprintf("mode=%s managed=%s other=%s", tc.mode, tc.cfgManaged, tc.cfgOther)
		t.Run(name, func(t *testing.T) {
			cfgRA := withAttr(defaultRouterAdvertisement(), "managed", tc.cfgManaged)
			cfgRA["other_config"] = tc.cfgOther
			cfg := bootServerModel{RouterAdvertisement: types.ObjectValueMust(routerAdvertisementAttrTypes, cfgRA)}
			plan := bootServerModel{
				RouterAdvertisement: cfg.RouterAdvertisement,
				DHCPv6:              types.ObjectValueMust(dhcpv6AttrTypes, withAttr(defaultDHCPv6(), "mode", tc.mode)),
			}
			if diags := plan.deriveRAFlags(ctx, cfg); diags.HasError() {
				t.Fatal(diags)
			}
			got := plan.RouterAdvertisement.Attributes()
			if !got["managed"].Equal(tc.wantManaged) || !got["other_config"].Equal(tc.wantOther) {
				t.Errorf("managed = %s, other_config = %s; want %s, %s", got["managed"], got["other_config"], tc.wantManaged, tc.wantOther)
			}
		})
	}
}

// The nested object types the model code builds match the schema's.
func TestAttrTypesMatchSchema(t *testing.T) {
	ctx := context.Background()
	var resp resource.SchemaResponse
	newIPv6BootServerResource().Schema(ctx, resource.SchemaRequest{}, &resp)
	if diags := resp.Schema.ValidateImplementation(ctx); diags.HasError() {
		t.Fatal(diags)
	}
	for name, want := range map[string]attr.Type{
		"router_advertisement": types.ObjectType{AttrTypes: routerAdvertisementAttrTypes},
		"dhcpv6":               types.ObjectType{AttrTypes: dhcpv6AttrTypes},
		"boot":                 types.ObjectType{AttrTypes: bootAttrTypes},
	} {
		if got := resp.Schema.Attributes[name].GetType(); !got.Equal(want) {
			t.Errorf("%s: schema type %s, model type %s", name, got, want)
		}
	}
}

func TestFieldPaths(t *testing.T) {
	for _, tc := range []struct {
		field string
		want  path.Path
	}{
		{"prefix", path.Root("prefix")},
		{"dhcpv6.ranges[0].start", path.Root("dhcpv6").AtName("ranges").AtListIndex(0).AtName("start")},
		{"dhcpv6.ranges[12]", path.Root("dhcpv6").AtName("ranges").AtListIndex(12)},
		{"router_advertisement.rdnss[1]", path.Root("router_advertisement").AtName("rdnss").AtListIndex(1)},
		{"a[1][2]", path.Root("a").AtListIndex(1).AtListIndex(2)},
		{`dhcpv6.relayed_links["vlan10"].ranges[0].start`, path.Root("dhcpv6").AtName("relayed_links").AtMapKey("vlan10").AtName("ranges").AtListIndex(0).AtName("start")},
		{"", path.Empty()},
		{"dhcpv6..mode", path.Empty()},
		{"ranges[x]", path.Empty()},
		{"ranges[1", path.Empty()},
		{"ranges[1]x", path.Empty()},
	} {
		if got := fieldPath(parseField(tc.field)); !got.Equal(tc.want) {
			t.Errorf("fieldPath(parseField(%q)) = %s, want %s", tc.field, got, tc.want)
		}
	}
}

func withAttr(obj types.Object, name string, v attr.Value) map[string]attr.Value {
	attrs := map[string]attr.Value{}
	for k, a := range obj.Attributes() {
		attrs[k] = a
	}
	attrs[name] = v
	return attrs
}

func rangeValue(start, end string) types.Object {
	return types.ObjectValueMust(addressRangeObjectType.AttrTypes, map[string]attr.Value{
		"start": ipv6types.NewAddressValue(start), "end": ipv6types.NewAddressValue(end),
	})
}

// changeBootServer changes the agent's boot server name behind Terraform's
// back, as an operator with another tool would: the drift steps' change.
func (l *agentLab) changeBootServer(t *testing.T, name string, change func(*netbootv1.BootServer)) {
	t.Helper()
	conn := l.conn(t)
	st, err := conn.GetBootServer(context.Background(), &netbootv1.GetBootServerRequest{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	bs := st.GetConfig()
	change(bs)
	if _, err := conn.PutBootServer(context.Background(), &netbootv1.PutBootServerRequest{BootServer: bs}); err != nil {
		t.Fatal(err)
	}
}

// checkBootServerDestroyed is CheckDestroy: the agent no longer has it.
func (l *agentLab) checkBootServerDestroyed(t *testing.T) func(*terraform.State) error {
	return func(*terraform.State) error {
		_, err := l.conn(t).GetBootServer(context.Background(), &netbootv1.GetBootServerRequest{Name: "acc"})
		if status.Code(err) != codes.NotFound {
			return fmt.Errorf("boot server still on the agent after destroy (GetBootServer: %v)", err)
		}
		return nil
	}
}

// What only a serving agent knows: the real interface's addresses and the
// DHCPv6 server's DUID. The provider's own behaviour is tested against an
// offline agent (TestIPv6BootServer_basic and the rest of the fast tier).
func TestAccIPv6BootServer_liveStatus(t *testing.T) {
	lab := newAccLab(t)
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		CheckDestroy:             lab.checkBootServerDestroyed(t),
		Steps: []tfresource.TestStep{{
			Config: bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, statefulBody),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(testResource, tfjsonpath.New("link_local_address"), knownvalue.StringRegexp(regexp.MustCompile(`^fe80:`))),
				statecheck.ExpectKnownValue(testResource, tfjsonpath.New("global_addresses"), knownvalue.ListPartial(map[int]knownvalue.Check{0: knownvalue.StringExact(lab.ServerAddr)})),
				statecheck.ExpectKnownValue(testResource, tfjsonpath.New("boot_url_base"), knownvalue.StringExact("http://["+lab.ServerAddr+"]")),
				statecheck.ExpectKnownValue(testResource, tfjsonpath.New("server_duid"), knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f]{8,}$`))),
			},
		}},
	})
}

func TestIPv6BootServer_basic(t *testing.T) {
	lab := newFastLab(t)
	statelessBody := `
  router_advertisement = {
    min_interval = 30
    max_interval = 60
    dns_lifetime = 180
    rdnss        = ["2001:db8:1::53", "2001:db8:1::54"]
  }
  dhcpv6 = {
    mode          = "stateless"
    dns_servers   = ["2001:db8:1::53"]
    domain_search = ["lab.example"]
  }
`
	updatedBody := `
  router_advertisement = {
    min_interval = 30
    max_interval = 60
    dns_lifetime = 180
    rdnss        = ["2001:db8:1::53", "2001:db8:1::54"]
    dnssl        = ["lab.example"]
  }
  dhcpv6 = {
    ranges            = [{ start = "2001:db8:1::2000", end = "2001:db8:1::2fff" }]
    temporary_ranges  = [{ start = "2001:db8:1::3000", end = "2001:db8:1::30ff" }, { start = "2001:db8:1::4000", end = "2001:db8:1::40ff" }]
    prefix_delegation = { start = "2001:db8:2::", end = "2001:db8:2:ff00::", length = 56 }
    dns_servers       = ["2001:db8:1::53"]
    preference        = 255
    rate_limit        = { per_client_per_second = 5, per_source_per_second = 0 }
    allow_leasequery  = true
    max_ias_per_message   = 2
    max_leases_per_client = 0
  }
`
	ra := tfjsonpath.New("router_advertisement")
	dh := tfjsonpath.New("dhcpv6")
	tfresource.UnitTest(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		CheckDestroy:             lab.checkBootServerDestroyed(t),
		Steps: []tfresource.TestStep{
			{
				Config: bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, seedBody),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testResource, dh.AtMapKey("temporary_ranges").AtSliceIndex(0).AtMapKey("end"), knownvalue.StringExact("2001:db8:1::20ff")),
					statecheck.ExpectKnownValue(testResource, dh.AtMapKey("prefix_delegation"), knownvalue.ObjectExact(map[string]knownvalue.Check{
						"start": knownvalue.StringExact("2001:db8:1:100::"), "end": knownvalue.StringExact("2001:db8:1:111::"), "length": knownvalue.Int64Exact(64),
					})),
					statecheck.ExpectKnownValue(testResource, dh.AtMapKey("preference"), knownvalue.Int64Exact(255)),
					statecheck.ExpectKnownValue(testResource, dh.AtMapKey("info_refresh_time"), knownvalue.Int64Exact(21600)),
					statecheck.ExpectKnownValue(testResource, tfjsonpath.New("boot").AtMapKey("rules").AtSliceIndex(0).AtMapKey("duids"),
						knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("00030001525400123456")})),
					statecheck.ExpectKnownValue(testResource, tfjsonpath.New("boot").AtMapKey("rules").AtSliceIndex(1).AtMapKey("macs"), knownvalue.Null()),
					statecheck.ExpectKnownValue(testResource, tfjsonpath.New("id"), knownvalue.StringExact("acc")),
					statecheck.ExpectKnownValue(testResource, tfjsonpath.New("prefix"), knownvalue.StringExact("2001:db8:1::/64")),
					statecheck.ExpectKnownValue(testResource, tfjsonpath.New("link_local_address"), knownvalue.StringExact(fastServerLinkLocal)),
					statecheck.ExpectKnownValue(testResource, tfjsonpath.New("global_addresses"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact(lab.ServerAddr)})),
					statecheck.ExpectKnownValue(testResource, tfjsonpath.New("boot_url_base"), knownvalue.StringExact("http://["+lab.ServerAddr+"]")),
					statecheck.ExpectKnownValue(testResource, ra.AtMapKey("managed"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(testResource, ra.AtMapKey("other_config"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(testResource, ra.AtMapKey("prefix_valid_lifetime"), knownvalue.Int64Exact(86400)),
					statecheck.ExpectKnownValue(testResource, dh.AtMapKey("mode"), knownvalue.StringExact("stateful")),
					statecheck.ExpectKnownValue(testResource, dh.AtMapKey("renew_time"), knownvalue.Int64Exact(1800)),
					statecheck.ExpectKnownValue(testResource, dh.AtMapKey("rate_limit"), knownvalue.ObjectExact(map[string]knownvalue.Check{
						"per_client_per_second": knownvalue.Int64Exact(10), "burst": knownvalue.Int64Exact(20),
						"per_source_per_second": knownvalue.Int64Exact(20000), "per_source_burst": knownvalue.Int64Exact(40000),
						"per_relay_per_second": knownvalue.Int64Exact(5000), "per_relay_burst": knownvalue.Int64Exact(10000),
					})),
					statecheck.ExpectKnownValue(testResource, dh.AtMapKey("allow_leasequery"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(testResource, dh.AtMapKey("max_ias_per_message"), knownvalue.Int64Exact(8)),
					statecheck.ExpectKnownValue(testResource, dh.AtMapKey("max_leases_per_client"), knownvalue.Int64Exact(16)),
				},
			},
			{
				// Ranges and RDNSS change in place, on the running servers.
				Config: bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, updatedBody),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testResource, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testResource, dh.AtMapKey("ranges").AtSliceIndex(0).AtMapKey("start"), knownvalue.StringExact("2001:db8:1::2000")),
					statecheck.ExpectKnownValue(testResource, dh.AtMapKey("temporary_ranges"), knownvalue.ListSizeExact(2)),
					statecheck.ExpectKnownValue(testResource, dh.AtMapKey("prefix_delegation").AtMapKey("length"), knownvalue.Int64Exact(56)),
					statecheck.ExpectKnownValue(testResource, dh.AtMapKey("prefix_delegation").AtMapKey("end"), knownvalue.StringExact("2001:db8:2:ff00::")),
					statecheck.ExpectKnownValue(testResource, ra.AtMapKey("rdnss"), knownvalue.ListSizeExact(2)),
					// Attributes left out of rate_limit keep their defaults.
					statecheck.ExpectKnownValue(testResource, dh.AtMapKey("rate_limit"), knownvalue.ObjectExact(map[string]knownvalue.Check{
						"per_client_per_second": knownvalue.Int64Exact(5), "burst": knownvalue.Int64Exact(20),
						"per_source_per_second": knownvalue.Int64Exact(0), "per_source_burst": knownvalue.Int64Exact(40000),
						"per_relay_per_second": knownvalue.Int64Exact(5000), "per_relay_burst": knownvalue.Int64Exact(10000),
					})),
					statecheck.ExpectKnownValue(testResource, dh.AtMapKey("allow_leasequery"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(testResource, dh.AtMapKey("max_ias_per_message"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue(testResource, dh.AtMapKey("max_leases_per_client"), knownvalue.Int64Exact(0)),
				},
			},
			{
				// Temporary ranges and prefix delegation import as set.
				ResourceName:      testResource,
				ImportState:       true,
				ImportStateId:     "acc",
				ImportStateVerify: true,
			},
			{
				// Stateless: M and O follow the mode when left out.
				Config: bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, statelessBody),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testResource, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(testResource, ra.AtMapKey("managed"), knownvalue.Bool(false)),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testResource, ra.AtMapKey("managed"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(testResource, ra.AtMapKey("other_config"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(testResource, dh.AtMapKey("ranges"), knownvalue.ListSizeExact(0)),
					statecheck.ExpectKnownValue(testResource, dh.AtMapKey("temporary_ranges"), knownvalue.ListSizeExact(0)),
					statecheck.ExpectKnownValue(testResource, dh.AtMapKey("prefix_delegation"), knownvalue.Null()),
				},
			},
			{
				ResourceName:      testResource,
				ImportState:       true,
				ImportStateId:     "acc",
				ImportStateVerify: true,
			},
			{
				// Drift: the server is changed over gRPC behind Terraform's back.
				PreConfig: func() {
					lab.changeBootServer(t, "acc", func(bs *netbootv1.BootServer) {
						bs.RouterAdvertisement.Rdnss = []string{"2001:db8:1::99"}
					})
				},
				Config:             bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, statelessBody),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				// Apply puts it back, in place.
				Config: bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, statelessBody),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testResource, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testResource, ra.AtMapKey("rdnss"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.StringExact("2001:db8:1::53"), knownvalue.StringExact("2001:db8:1::54"),
					})),
				},
			},
			{
				// Drift: the server is deleted behind Terraform's back.
				PreConfig: func() {
					if _, err := lab.conn(t).DeleteBootServer(context.Background(), &netbootv1.DeleteBootServerRequest{Name: "acc"}); err != nil {
						t.Fatal(err)
					}
				},
				Config:             bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, statelessBody),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config: bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, statelessBody),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testResource, plancheck.ResourceActionCreate),
				}},
			},
		},
	})
}

// The boot settings default to config.DefaultBoot, change in place, and
// drift like the rest.
func TestIPv6BootServer_boot(t *testing.T) {
	lab := newFastLab(t)
	rulesBody := func(loader string) string {
		return statefulBody + fmt.Sprintf(`
  boot = {
    http_port                     = 8080
    tftp_max_transfers            = 100
    tftp_max_transfers_per_client = 11
    rules = [
      { user_class = "iPXE", file = "boot.ipxe", via = "http" },
      { arch = [7, 9], file = %q, via = "tftp" },
      { vendor_class = "HTTPClient", url = "http://[2001:db8:1::1]:8080/ipxe.efi", parameters = ["console=ttyS0"] },
      { labels = { role = "installer" }, arch = [7, 9], file = "installer/%s", via = "tftp" },
    ]
  }
`, loader, loader)
	}
	httpOnlyBody := statefulBody + `
  boot = {
    tftp           = false
    http_port      = 8080
    server_address = "2001:DB8:1::1"
    rules          = [{ file = "boot.ipxe", via = "http" }]
  }
`
	boot := tfjsonpath.New("boot")
	rules := boot.AtMapKey("rules")
	agentRule := func(i int) *netbootv1.BootFileRule {
		st, err := lab.conn(t).GetBootServer(context.Background(), &netbootv1.GetBootServerRequest{Name: "acc"})
		if err != nil {
			t.Fatal(err)
		}
		return st.GetConfig().GetBoot().GetRules()[i]
	}
	tfresource.UnitTest(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		CheckDestroy:             lab.checkBootServerDestroyed(t),
		Steps: []tfresource.TestStep{
			{
				Config: bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, statefulBody),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testResource, boot.AtMapKey("tftp"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(testResource, boot.AtMapKey("http"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(testResource, boot.AtMapKey("http_port"), knownvalue.Int64Exact(80)),
					statecheck.ExpectKnownValue(testResource, boot.AtMapKey("tftp_max_transfers"), knownvalue.Int64Exact(64)),
					statecheck.ExpectKnownValue(testResource, boot.AtMapKey("tftp_max_transfers_per_client"), knownvalue.Int64Exact(4)),
					statecheck.ExpectKnownValue(testResource, boot.AtMapKey("server_address"), knownvalue.Null()),
					statecheck.ExpectKnownValue(testResource, rules, knownvalue.ListSizeExact(len(bootfile.DefaultRules()))),
					statecheck.ExpectKnownValue(testResource, rules.AtSliceIndex(0).AtMapKey("user_class"), knownvalue.StringExact("iPXE")),
					statecheck.ExpectKnownValue(testResource, rules.AtSliceIndex(1).AtMapKey("arch"), knownvalue.SetExact([]knownvalue.Check{knownvalue.Int64Exact(0)})),
					statecheck.ExpectKnownValue(testResource, rules.AtSliceIndex(1).AtMapKey("user_class"), knownvalue.Null()),
					statecheck.ExpectKnownValue(testResource, tfjsonpath.New("boot_url_base"), knownvalue.StringExact("http://["+lab.ServerAddr+"]")),
					statecheck.ExpectKnownValue(testResource, tfjsonpath.New("tftp_url_base"), knownvalue.StringExact("tftp://["+lab.ServerAddr+"]")),
				},
			},
			{
				// Custom rules and port, in place; the plan already knows the URL base.
				Config: bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, rulesBody("ipxe.efi")),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testResource, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(testResource, tfjsonpath.New("boot_url_base"), knownvalue.StringExact("http://["+lab.ServerAddr+"]:8080")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testResource, rules, knownvalue.ListSizeExact(4)),
					statecheck.ExpectKnownValue(testResource, rules.AtSliceIndex(2).AtMapKey("parameters"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("console=ttyS0")})),
					statecheck.ExpectKnownValue(testResource, rules.AtSliceIndex(2).AtMapKey("labels"), knownvalue.Null()),
					statecheck.ExpectKnownValue(testResource, rules.AtSliceIndex(3).AtMapKey("labels"), knownvalue.MapExact(map[string]knownvalue.Check{"role": knownvalue.StringExact("installer")})),
					statecheck.ExpectKnownValue(testResource, tfjsonpath.New("boot_url_base"), knownvalue.StringExact("http://["+lab.ServerAddr+"]:8080")),
				},
			},
			{
				// One rule changes, in place.
				Config: bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, rulesBody("snponly.efi")),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testResource, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testResource, rules.AtSliceIndex(1).AtMapKey("file"), knownvalue.StringExact("snponly.efi")),
					statecheck.ExpectKnownValue(testResource, rules.AtSliceIndex(1).AtMapKey("arch"), knownvalue.SetExact([]knownvalue.Check{knownvalue.Int64Exact(7), knownvalue.Int64Exact(9)})),
				},
				Check: func(*terraform.State) error {
					if r := agentRule(1); r.GetFile() != "snponly.efi" || fmt.Sprint(r.GetArch()) != "[7 9]" || r.GetVia() != "tftp" {
						return fmt.Errorf("the agent holds rule %v", r)
					}
					if r := agentRule(3); r.GetFile() != "installer/snponly.efi" || r.GetLabels()["role"] != "installer" {
						return fmt.Errorf("the agent holds rule %v", r)
					}
					st, err := lab.conn(t).GetBootServer(context.Background(), &netbootv1.GetBootServerRequest{Name: "acc"})
					if b := st.GetConfig().GetBoot(); err != nil || b.GetTftpMaxTransfers() != 100 || b.GetTftpMaxTransfersPerClient() != 11 {
						return fmt.Errorf("the agent holds TFTP limits %d and %d (%v), want 100 and 11",
							b.GetTftpMaxTransfers(), b.GetTftpMaxTransfersPerClient(), err)
					}
					return nil
				},
			},
			{
				ResourceName:      testResource,
				ImportState:       true,
				ImportStateId:     "acc",
				ImportStateVerify: true,
			},
			{
				// Drift: a rule is changed over gRPC behind Terraform's back.
				PreConfig: func() {
					lab.changeBootServer(t, "acc", func(bs *netbootv1.BootServer) { bs.Boot.Rules[1].File = "other.efi" })
				},
				Config:             bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, rulesBody("snponly.efi")),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				// Drift in a rule's labels shows too; applying puts them back.
				PreConfig: func() {
					lab.changeBootServer(t, "acc", func(bs *netbootv1.BootServer) { bs.Boot.Rules[3].Labels = map[string]string{"role": "web"} })
				},
				Config: bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, rulesBody("snponly.efi")),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testResource, plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error {
					if r := agentRule(3); r.GetLabels()["role"] != "installer" {
						return fmt.Errorf("the agent holds rule %v after apply", r)
					}
					return nil
				},
			},
			{
				// TFTP off and a fixed address, spelled in capitals.
				Config: bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, httpOnlyBody),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testResource, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(testResource, tfjsonpath.New("tftp_url_base"), knownvalue.StringExact("")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testResource, boot.AtMapKey("server_address"), knownvalue.StringExact("2001:DB8:1::1")),
					statecheck.ExpectKnownValue(testResource, tfjsonpath.New("tftp_url_base"), knownvalue.StringExact("")),
					statecheck.ExpectKnownValue(testResource, tfjsonpath.New("boot_url_base"), knownvalue.StringExact("http://[2001:db8:1::1]:8080")),
				},
			},
		},
	})
}

// Any spelling of an address is the same address: what the user wrote stays
// in state, and the agent's canonical form shows no diff (the test framework
// plans again after each apply and fails on any change).
func TestIPv6BootServer_addressSpelling(t *testing.T) {
	lab := newFastLab(t)
	body := `
  router_advertisement = { rdnss = ["2001:DB8:1:0::53"] }
  dhcpv6 = {
    ranges = [{ start = "2001:DB8:1::1000", end = "2001:db8:1:0:0:0:0:1fff" }]
  }
`
	cfg := bootServerConfig(lab.providerConfig(), lab.ServerIf, "2001:DB8:1::/64", body)
	tfresource.UnitTest(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		CheckDestroy:             lab.checkBootServerDestroyed(t),
		Steps: []tfresource.TestStep{
			{
				Config: cfg,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testResource, tfjsonpath.New("prefix"), knownvalue.StringExact("2001:DB8:1::/64")),
					statecheck.ExpectKnownValue(testResource, tfjsonpath.New("router_advertisement").AtMapKey("rdnss").AtSliceIndex(0), knownvalue.StringExact("2001:DB8:1:0::53")),
				},
			},
			{
				// Refresh returns the agent's spelling; still no diff.
				Config:   cfg,
				PlanOnly: true,
			},
		},
	})
}

// Changing the interface moves the boot server in place; the link-local
// address is recomputed, not carried over from the old interface.
func TestIPv6BootServer_moveInterface(t *testing.T) {
	lab := newFastLab(t)
	second := fastSecondIf
	var firstLinkLocal string
	tfresource.UnitTest(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		CheckDestroy:             lab.checkBootServerDestroyed(t),
		Steps: []tfresource.TestStep{
			{
				Config: bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, statefulBody),
				Check: func(s *terraform.State) error {
					firstLinkLocal = s.RootModule().Resources[testResource].Primary.Attributes["link_local_address"]
					return nil
				},
			},
			{
				Config: bootServerConfig(lab.providerConfig(), second, lab.Prefix, statefulBody),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testResource, plancheck.ResourceActionUpdate),
					plancheck.ExpectUnknownValue(testResource, tfjsonpath.New("link_local_address")),
				}},
				Check: func(s *terraform.State) error {
					attrs := s.RootModule().Resources[testResource].Primary.Attributes
					if attrs["interface"] != second {
						return fmt.Errorf("interface = %q, want %q", attrs["interface"], second)
					}
					if attrs["link_local_address"] == firstLinkLocal || attrs["link_local_address"] != fastSecondLinkLocal {
						return fmt.Errorf("link_local_address = %q, want the second interface's %s", attrs["link_local_address"], fastSecondLinkLocal)
					}
					return nil
				},
			},
		},
	})
}

func TestIPv6BootServer_missingInterface(t *testing.T) {
	lab := newFastLab(t)
	tfresource.UnitTest(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		Steps: []tfresource.TestStep{{
			Config:      bootServerConfig(lab.providerConfig(), "nbmissing0", lab.Prefix, statefulBody),
			ExpectError: errorText(`interface "nbmissing0" does not exist on the agent host`),
		}},
	})
}

func TestIPv6BootServer_rangeOutsidePrefixFailsAtPlan(t *testing.T) {
	lab := newFastLab(t)
	body := `dhcpv6 = { ranges = [{ start = "2001:db8:9::1000", end = "2001:db8:9::1fff" }] }`
	tfresource.UnitTest(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		Steps: []tfresource.TestStep{{
			Config:      bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, body),
			PlanOnly:    true,
			ExpectError: errorText("dhcpv6.ranges[0].start 2001:db8:9::1000 is outside prefix 2001:db8:1::/64"),
		}},
	})
	list, err := lab.conn(t).ListBootServers(context.Background(), &netbootv1.ListBootServersRequest{})
	if err != nil || len(list.GetBootServers()) != 0 {
		t.Fatalf("a config rejected at plan reached the agent: %v, %v", list, err)
	}
}

// validBootServer is a valid boot server as a configuration leaves most of
// it: null, for the defaults.
func validBootServer() bootServerModel {
	return bootServerModel{
		ID:                  types.StringNull(),
		Name:                types.StringValue("lab"),
		Interface:           types.StringValue("eth1"),
		Prefix:              ipv6types.NewPrefixValue("2001:db8:1::/64"),
		RouterAdvertisement: types.ObjectNull(routerAdvertisementAttrTypes),
		DHCPv6: types.ObjectValueMust(dhcpv6AttrTypes, withAttr(defaultDHCPv6(), "ranges",
			types.ListValueMust(addressRangeObjectType, []attr.Value{rangeValue("2001:db8:1::1000", "2001:db8:1::1fff")}))),
		Boot:             types.ObjectNull(bootAttrTypes),
		LinkLocalAddress: types.StringNull(),
		GlobalAddresses:  types.ListNull(types.StringType),
		ServerDUID:       types.StringNull(),
		BootURLBase:      types.StringNull(),
		TFTPURLBase:      types.StringNull(),
	}
}

// Values not known yet (module inputs, other resources' attributes) are
// skipped, with every check that compares with them, while the known rest
// is still checked: a module's own mistakes show at validate.
func TestIPv6BootServer_unknownValuesAreSkipped(t *testing.T) {
	dhcpv6With := func(m *bootServerModel, name string, v attr.Value) {
		m.DHCPv6 = types.ObjectValueMust(dhcpv6AttrTypes, withAttr(m.DHCPv6, name, v))
	}
	unknownRange := types.ObjectUnknown(addressRangeObjectType.AttrTypes)
	raWith := func(m *bootServerModel, name string, v attr.Value) {
		ra := defaultRouterAdvertisement()
		m.RouterAdvertisement = types.ObjectValueMust(routerAdvertisementAttrTypes, withAttr(ra, name, v))
	}
	for _, tc := range []struct {
		name   string
		change func(m *bootServerModel)
		want   []path.Path
	}{
		{"prefix unknown: ranges not compared with it", func(m *bootServerModel) {
			m.Prefix = ipv6types.Prefix{StringValue: types.StringUnknown()}
			dhcpv6With(m, "ranges", types.ListValueMust(addressRangeObjectType, []attr.Value{rangeValue("2001:db8:9::1", "2001:db8:9::2")}))
		}, nil},
		{"prefix unknown: a malformed address still fails", func(m *bootServerModel) {
			m.Prefix = ipv6types.Prefix{StringValue: types.StringUnknown()}
			dhcpv6With(m, "dns_servers", types.ListValueMust(ipv6types.AddressType{}, []attr.Value{ipv6types.NewAddressValue("192.0.2.53")}))
		}, []path.Path{path.Root("dhcpv6").AtName("dns_servers").AtListIndex(0)}},
		{"mode unknown: the RA flags are not compared with it", func(m *bootServerModel) {
			dhcpv6With(m, "mode", types.StringUnknown())
			raWith(m, "managed", types.BoolValue(false))
		}, nil},
		{"whole dhcpv6 unknown", func(m *bootServerModel) {
			m.DHCPv6 = types.ObjectUnknown(dhcpv6AttrTypes)
			raWith(m, "managed", types.BoolValue(false))
		}, nil},
		{"rebind_time unknown: renew_time not compared with it", func(m *bootServerModel) {
			dhcpv6With(m, "rebind_time", types.Int64Unknown())
			dhcpv6With(m, "renew_time", types.Int64Value(3500))
		}, nil},
		{"a whole range unknown (ranges = [var.r])", func(m *bootServerModel) {
			dhcpv6With(m, "ranges", types.ListValueMust(addressRangeObjectType, []attr.Value{unknownRange}))
		}, nil},
		{"a known range beside an unknown one is still checked", func(m *bootServerModel) {
			dhcpv6With(m, "ranges", types.ListValueMust(addressRangeObjectType, []attr.Value{
				unknownRange, rangeValue("2001:db8:1::1000", "2001:db8:2::1")}))
		}, []path.Path{path.Root("dhcpv6").AtName("ranges").AtListIndex(1).AtName("end")}},
		{"the ranges list unknown", func(m *bootServerModel) {
			dhcpv6With(m, "ranges", types.ListUnknown(addressRangeObjectType))
		}, nil},
		{"an unknown name beside a bad interface", func(m *bootServerModel) {
			m.Name = types.StringUnknown()
			m.Interface = types.StringValue("eth/1")
		}, []path.Path{path.Root("interface")}},
		{"a rule unknown beside a bad one", func(m *bootServerModel) {
			m.Boot = types.ObjectValueMust(bootAttrTypes, withAttr(defaultBoot(), "rules", types.ListValueMust(bootRuleObjectType, []attr.Value{
				types.ObjectUnknown(bootRuleObjectType.AttrTypes),
				types.ObjectValueMust(bootRuleObjectType.AttrTypes, map[string]attr.Value{
					"user_class": types.StringNull(), "arch": types.SetNull(types.Int64Type), "vendor_class": types.StringNull(),
					"duids": types.SetNull(types.StringType), "macs": types.SetValueMust(types.StringType, []attr.Value{types.StringValue("52-54-00-12-34-56")}),
					"labels": types.MapNull(types.StringType), "file": types.StringValue("ipxe.efi"), "via": types.StringUnknown(), "url": types.StringNull(),
					"parameters": types.ListNull(types.StringType),
				}),
			})))
		}, []path.Path{path.Root("boot").AtName("rules").AtListIndex(1).AtName("macs")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := validBootServer()
			tc.change(&m)
			expectErrorsAt(t, validateConfig(t, &ipv6BootServerResource{}, &m), tc.want...)
		})
	}
}

// A rule's arch, duids and macs are sets: writing them in another order is
// no change.
func TestAccIPv6BootServer_reorderedRuleMatchIsNoChange(t *testing.T) {
	lab := newAccLab(t)
	cfg := func(arch, duids, macs string) string {
		return bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, statefulBody+`
  boot = {
    rules = [
      { arch = `+arch+`, duids = `+duids+`, macs = `+macs+`, file = "host.efi", via = "tftp" },
    ]
  }
`)
	}
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		CheckDestroy:             lab.checkBootServerDestroyed(t),
		Steps: []tfresource.TestStep{
			{Config: cfg(`[7, 9]`, `["00030001525400123456", "00030001525400abcdef"]`, `["52:54:00:12:34:56", "52:54:00:ab:cd:ef"]`)},
			{Config: cfg(`[9, 7]`, `["00030001525400abcdef", "00030001525400123456"]`, `["52:54:00:ab:cd:ef", "52:54:00:12:34:56"]`), PlanOnly: true},
		},
	})
}
