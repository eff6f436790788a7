package provider

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// TestListResources lists boot entries through the provider's plugin
// protocol server, as `terraform query` (Terraform 1.14+) does, against the
// agent core: every entry comes back with its identity and, when asked,
// the resource's state.
func TestListResources(t *testing.T) {
	lab := newFastLab(t)
	ctx := context.Background()
	conn := lab.conn(t)
	for _, name := range []string{"debian", "local"} {
		entry := &netbootv1.BootEntry{Name: name, Kind: "exit"}
		if _, err := conn.PutBootEntry(ctx, &netbootv1.PutBootEntryRequest{Entry: entry}); err != nil {
			t.Fatal(err)
		}
	}
	bs := &netbootv1.BootServer{
		Name: "lab", Interface: lab.ServerIf, Prefix: lab.Prefix,
		RouterAdvertisement: &netbootv1.RouterAdvertisement{
			OtherConfig: true, MinIntervalSeconds: 30, MaxIntervalSeconds: 60, PrefixOnLink: true, PrefixAutonomous: true,
			PrefixValidLifetimeSeconds: 86400, PrefixPreferredLifetimeSeconds: 14400,
		},
		Dhcpv6: &netbootv1.DHCPv6{
			Mode: "stateless", RenewTimeSeconds: 1800, RebindTimeSeconds: 2880,
			PreferredLifetimeSeconds: 3600, ValidLifetimeSeconds: 7200,
		},
	}
	if _, err := conn.PutBootServer(ctx, &netbootv1.PutBootServerRequest{BootServer: bs}); err != nil {
		t.Fatal(err)
	}
	menu := &netbootv1.BootMenu{Name: "main", Items: []*netbootv1.MenuItem{{Entry: "local"}}, IsDefault: true}
	if _, err := conn.PutBootMenu(ctx, &netbootv1.PutBootMenuRequest{Menu: menu}); err != nil {
		t.Fatal(err)
	}

	server, schemas := lab.providerServer(t)
	entries := listAll(t, server, schemas, "netboot_boot_entry")
	if len(entries) != 2 || entries[0].name != "debian" || entries[1].name != "local" {
		t.Fatalf("listed boot entries %v, want debian and local", entries)
	}
	for _, e := range entries {
		var kind string
		_ = e.state["kind"].As(&kind)
		if kind != "exit" {
			t.Errorf("%s: resource kind %q, want exit", e.name, kind)
		}
	}
	for typeName, want := range map[string]string{"netboot_ipv6_boot_server": "lab", "netboot_boot_menu": "main"} {
		got := listAll(t, server, schemas, typeName)
		if len(got) != 1 || got[0].name != want {
			t.Errorf("%s: listed %v, want %s", typeName, got, want)
			continue
		}
		var iface string
		if typeName == "netboot_ipv6_boot_server" {
			_ = got[0].state["interface"].As(&iface)
			if iface != lab.ServerIf {
				t.Errorf("boot server lab: interface %q in the listed state, want %s", iface, lab.ServerIf)
			}
		}
	}
	for _, r := range listAll(t, server, schemas, "netboot_artifact") {
		t.Errorf("listed artifact %s, but the agent holds none", r.name)
	}
	for _, r := range listAll(t, server, schemas, "netboot_nfs_root_image") {
		t.Errorf("listed NFS root image %s, but the agent holds none", r.name)
	}
	for _, e := range entries {
		if e.agent != "unix://"+lab.StateDir+"/agent.sock" {
			t.Errorf("%s: identity agent %q", e.name, e.agent)
		}
	}
}

// providerServer is the provider's plugin protocol server, configured for
// the lab's agent as Terraform would.
func (l *agentLab) providerServer(t *testing.T) (tfprotov6.ProviderServer, *tfprotov6.GetProviderSchemaResponse) {
	t.Helper()
	ctx := context.Background()
	server, err := providerserver.NewProtocol6WithError(New("test")())()
	if err != nil {
		t.Fatal(err)
	}
	schemas, err := server.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	providerType := schemas.Provider.ValueType().(tftypes.Object)
	attrs := map[string]tftypes.Value{}
	for name, typ := range providerType.AttributeTypes {
		attrs[name] = tftypes.NewValue(typ, nil)
	}
	attrs["state_dir"] = tftypes.NewValue(tftypes.String, l.StateDir)
	cfg := dynamicValue(t, providerType, attrs)
	configured, err := server.ConfigureProvider(ctx, &tfprotov6.ConfigureProviderRequest{Config: &cfg})
	if err != nil {
		t.Fatal(err)
	}
	failOnDiagnostics(t, configured.Diagnostics)
	return server, schemas
}

// listed is one result of a list resource: its identity and state.
type listed struct {
	name, agent string
	state       map[string]tftypes.Value
}

// listAll lists typeName with its resources, as `terraform query` does.
func listAll(t *testing.T, server tfprotov6.ProviderServer, schemas *tfprotov6.GetProviderSchemaResponse, typeName string) []listed {
	t.Helper()
	ctx := context.Background()
	listSchema, ok := schemas.ListResourceSchemas[typeName]
	if !ok {
		t.Fatalf("no list resource %s; have %v", typeName, schemas.ListResourceSchemas)
	}
	listType := listSchema.ValueType().(tftypes.Object)
	listAttrs := map[string]tftypes.Value{}
	for name, typ := range listType.AttributeTypes {
		listAttrs[name] = tftypes.NewValue(typ, nil)
	}
	listCfg := dynamicValue(t, listType, listAttrs)
	lister, ok := server.(tfprotov6.ListResourceServer)
	if !ok {
		t.Fatalf("%T serves no list resources", server)
	}
	stream, err := lister.ListResource(ctx, &tfprotov6.ListResourceRequest{TypeName: typeName, Config: &listCfg, IncludeResource: true})
	if err != nil {
		t.Fatal(err)
	}
	idSchemas, err := server.GetResourceIdentitySchemas(ctx, &tfprotov6.GetResourceIdentitySchemasRequest{})
	if err != nil {
		t.Fatal(err)
	}
	idType := idSchemas.IdentitySchemas[typeName].ValueType()
	resourceType := schemas.ResourceSchemas[typeName].ValueType()
	keyAttr := "name"
	if typeName == "netboot_artifact" {
		keyAttr = "path"
	}
	var out []listed
	for r := range stream.Results {
		failOnDiagnostics(t, r.Diagnostics)
		var identity map[string]tftypes.Value
		idValue, err := r.Identity.IdentityData.Unmarshal(idType)
		if err != nil {
			t.Fatal(err)
		}
		if err := idValue.As(&identity); err != nil {
			t.Fatal(err)
		}
		var l listed
		_ = identity[keyAttr].As(&l.name)
		_ = identity[identityAgentAttr].As(&l.agent)
		if l.name != r.DisplayName {
			t.Errorf("%s: identity %s %q", r.DisplayName, keyAttr, l.name)
		}
		state, err := r.Resource.Unmarshal(resourceType)
		if err != nil {
			t.Fatal(err)
		}
		if err := state.As(&l.state); err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
	return out
}

func dynamicValue(t *testing.T, typ tftypes.Object, attrs map[string]tftypes.Value) tfprotov6.DynamicValue {
	t.Helper()
	v, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(typ, attrs))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func failOnDiagnostics(t *testing.T, diags []*tfprotov6.Diagnostic) {
	t.Helper()
	for _, d := range diags {
		if d.Severity == tfprotov6.DiagnosticSeverityError {
			t.Fatalf("%s: %s", d.Summary, d.Detail)
		}
	}
}
