package provider

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// A boot menu stored by schema version 0, with lists, reads back with sets.
func TestBootMenuStateUpgradeFromLists(t *testing.T) {
	server, err := testProviderFactories["netboot"]()
	if err != nil {
		t.Fatal(err)
	}
	schemas, err := server.GetProviderSchema(context.Background(), &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	menuSchema := schemas.ResourceSchemas["netboot_boot_menu"]
	if menuSchema.Version != 1 {
		t.Fatalf("netboot_boot_menu schema version = %d, want 1", menuSchema.Version)
	}
	v0 := `{"id":"main","name":"main","title":null,"items":[{"entry":"local","menu":null,"gap":false,"text":null,"key":null}],` +
		`"default_item":null,"timeout":10,"template":null,` +
		`"match":{"macs":["52:54:00:12:34:56","52:54:00:ab:cd:ef"],"uuids":null,"platforms":["efi"],"buildarchs":null},` +
		`"is_default":false,"boot_servers":["rack","lab"]}`
	resp, err := server.UpgradeResourceState(context.Background(), &tfprotov6.UpgradeResourceStateRequest{
		TypeName: "netboot_boot_menu", Version: 0, RawState: &tfprotov6.RawState{JSON: []byte(v0)},
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
	value, err := resp.UpgradedState.Unmarshal(menuSchema.ValueType())
	if err != nil {
		t.Fatal(err)
	}
	var attrs map[string]tftypes.Value
	if err := value.As(&attrs); err != nil {
		t.Fatal(err)
	}
	servers := attrs["boot_servers"]
	if !servers.Type().Is(tftypes.Set{}) {
		t.Fatalf("boot_servers is %s, want a set", servers.Type())
	}
	var elems []tftypes.Value
	if err := servers.As(&elems); err != nil || len(elems) != 2 {
		t.Fatalf("boot_servers = %v (%v), want two names", servers, err)
	}
}
