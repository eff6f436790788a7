package provider

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// upgradeFromV0 upgrades a state of schema version 0, stored as JSON, of
// the resource typeName and returns its attributes.
func upgradeFromV0(t *testing.T, typeName, v0 string) map[string]tftypes.Value {
	t.Helper()
	server, err := testProviderFactories["netboot"]()
	if err != nil {
		t.Fatal(err)
	}
	schemas, err := server.GetProviderSchema(context.Background(), &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	s := schemas.ResourceSchemas[typeName]
	if s.Version != 1 {
		t.Fatalf("%s schema version = %d, want 1", typeName, s.Version)
	}
	resp, err := server.UpgradeResourceState(context.Background(), &tfprotov6.UpgradeResourceStateRequest{
		TypeName: typeName, Version: 0, RawState: &tfprotov6.RawState{JSON: []byte(v0)},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range resp.Diagnostics {
		t.Errorf("%s: %s", d.Summary, d.Detail)
	}
	if resp.UpgradedState == nil {
		t.Fatal("no upgraded state")
	}
	value, err := resp.UpgradedState.Unmarshal(s.ValueType())
	if err != nil {
		t.Fatal(err)
	}
	var attrs map[string]tftypes.Value
	if err := value.As(&attrs); err != nil {
		t.Fatal(err)
	}
	return attrs
}

// A boot menu stored by schema version 0, with lists, reads back with sets.
func TestBootMenuStateUpgradeFromLists(t *testing.T) {
	v0 := `{"id":"main","name":"main","title":null,"items":[{"entry":"local","menu":null,"gap":false,"text":null,"key":null}],` +
		`"default_item":null,"timeout":10,"template":null,` +
		`"match":{"macs":["52:54:00:12:34:56","52:54:00:ab:cd:ef"],"uuids":null,"platforms":["efi"],"buildarchs":null},` +
		`"is_default":false,"boot_servers":["rack","lab"]}`
	attrs := upgradeFromV0(t, "netboot_boot_menu", v0)
	servers := attrs["boot_servers"]
	if !servers.Type().Is(tftypes.Set{}) {
		t.Fatalf("boot_servers is %s, want a set", servers.Type())
	}
	var elems []tftypes.Value
	if err := servers.As(&elems); err != nil || len(elems) != 2 {
		t.Fatalf("boot_servers = %v (%v), want two names", servers, err)
	}
}

// A boot server stored by schema version 0, whose rules' arch, duids and
// macs were lists, reads back with sets.
func TestBootServerStateUpgradeFromLists(t *testing.T) {
	v0 := `{"id":"lab","name":"lab","interface":"eth1","prefix":"2001:db8:1::/64",` +
		`"router_advertisement":{"managed":true,"other_config":true,"min_interval":198,"max_interval":600,` +
		`"router_lifetime":0,"prefix_on_link":true,"prefix_autonomous":true,"prefix_valid_lifetime":86400,` +
		`"prefix_preferred_lifetime":14400,"rdnss":[],"dnssl":[],"dns_lifetime":1800},` +
		`"dhcpv6":{"mode":"stateful","ranges":[{"start":"2001:db8:1::1000","end":"2001:db8:1::1fff"}],` +
		`"temporary_ranges":[],"prefix_delegation":null,"dns_servers":[],"domain_search":[],"preference":0,` +
		`"renew_time":1800,"rebind_time":2880,"preferred_lifetime":3600,"valid_lifetime":7200,"info_refresh_time":0,` +
		`"rapid_commit":false,"rate_limit":{"per_client_per_second":10,"burst":20,"per_source_per_second":20000,` +
		`"per_source_burst":40000},"allow_leasequery":false,"max_ias_per_message":8,"max_leases_per_client":16},` +
		`"boot":{"tftp":true,"tftp_max_transfers":64,"tftp_max_transfers_per_client":4,"http":true,"http_port":80,` +
		`"server_address":null,"rules":[{"user_class":null,"arch":[7,9],"vendor_class":null,` +
		`"duids":["00030001525400123456"],"macs":["52:54:00:12:34:56","52:54:00:ab:cd:ef"],"file":"host.efi",` +
		`"via":"tftp","url":null,"parameters":null}]},` +
		`"link_local_address":"fe80::1","global_addresses":["2001:db8:1::1"],"server_duid":"0001",` +
		`"boot_url_base":"http://[2001:db8:1::1]","tftp_url_base":"tftp://[2001:db8:1::1]"}`
	attrs := upgradeFromV0(t, "netboot_ipv6_boot_server", v0)
	var boot map[string]tftypes.Value
	var rules []tftypes.Value
	var rule map[string]tftypes.Value
	if err := attrs["boot"].As(&boot); err != nil {
		t.Fatal(err)
	}
	if err := boot["rules"].As(&rules); err != nil || len(rules) != 1 {
		t.Fatalf("rules = %v (%v)", boot["rules"], err)
	}
	if err := rules[0].As(&rule); err != nil {
		t.Fatal(err)
	}
	for name, n := range map[string]int{"arch": 2, "duids": 1, "macs": 2} {
		if !rule[name].Type().Is(tftypes.Set{}) {
			t.Errorf("%s is %s, want a set", name, rule[name].Type())
			continue
		}
		var elems []tftypes.Value
		if err := rule[name].As(&elems); err != nil || len(elems) != n {
			t.Errorf("%s = %v (%v), want %d elements", name, rule[name], err, n)
		}
	}
}
