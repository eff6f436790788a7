package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/netbootlab/terraform-provider-netboot/internal/wire/agentclient"
)

// TestIdentitySchemas checks that every resource offers an identity
// (Terraform 1.12+: import blocks by identity) keyed by its name or path and
// its agent.
func TestIdentitySchemas(t *testing.T) {
	server, err := providerserver.NewProtocol6WithError(New("test")())()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := server.GetResourceIdentitySchemas(context.Background(), &tfprotov6.GetResourceIdentitySchemasRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range resp.Diagnostics {
		t.Errorf("diagnostic: %s: %s", d.Summary, d.Detail)
	}
	want := map[string]string{
		"netboot_ipv6_boot_server": "name",
		"netboot_boot_entry":       "name",
		"netboot_boot_menu":        "name",
		"netboot_nfs_root_image":   "name",
		"netboot_artifact":         "path",
	}
	for typ, key := range want {
		s, ok := resp.IdentitySchemas[typ]
		if !ok {
			t.Errorf("%s: no identity schema", typ)
			continue
		}
		attrs := map[string]*tfprotov6.ResourceIdentitySchemaAttribute{}
		for _, a := range s.IdentityAttributes {
			attrs[a.Name] = a
		}
		if a := attrs[key]; a == nil || !a.RequiredForImport {
			t.Errorf("%s: identity attribute %q missing or not required for import", typ, key)
		}
		if a := attrs[identityAgentAttr]; a == nil || !a.OptionalForImport {
			t.Errorf("%s: identity attribute %q missing or not optional for import", typ, identityAgentAttr)
		}
	}
}

// TestImportByIdentity imports a boot entry from an identity, as an import
// block does, and refuses an identity naming another agent.
func TestImportByIdentity(t *testing.T) {
	ctx := context.Background()
	r := &bootEntryResource{agent: &agentclient.Conn{Address: "unix:///var/lib/netboot/agent.sock"}}
	var schemaResp resource.SchemaResponse
	r.Schema(ctx, resource.SchemaRequest{}, &schemaResp)
	var idResp resource.IdentitySchemaResponse
	r.IdentitySchema(ctx, resource.IdentitySchemaRequest{}, &idResp)
	idType := idResp.IdentitySchema.Type().TerraformType(ctx)
	stateType := schemaResp.Schema.Type().TerraformType(ctx)

	for _, tt := range []struct {
		name, agent, wantErr string
	}{
		{name: "same agent", agent: "unix:///var/lib/netboot/agent.sock"},
		{name: "agent left out"},
		{name: "other agent", agent: "boot2.example:7447", wantErr: "Identity of another agent"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			agent := tftypes.NewValue(tftypes.String, nil)
			if tt.agent != "" {
				agent = tftypes.NewValue(tftypes.String, tt.agent)
			}
			identity := tftypes.NewValue(idType, map[string]tftypes.Value{
				"name":            tftypes.NewValue(tftypes.String, "debian"),
				identityAgentAttr: agent,
			})
			req := resource.ImportStateRequest{Identity: &tfsdk.ResourceIdentity{Schema: idResp.IdentitySchema, Raw: identity}}
			resp := resource.ImportStateResponse{
				State:    tfsdk.State{Schema: schemaResp.Schema, Raw: tftypes.NewValue(stateType, nil)},
				Identity: &tfsdk.ResourceIdentity{Schema: idResp.IdentitySchema, Raw: tftypes.NewValue(idType, nil)},
			}
			r.ImportState(ctx, req, &resp)
			if tt.wantErr != "" {
				if !resp.Diagnostics.HasError() || !strings.Contains(resp.Diagnostics.Errors()[0].Summary(), tt.wantErr) {
					t.Fatalf("want error %q, got %v", tt.wantErr, resp.Diagnostics)
				}
				return
			}
			if resp.Diagnostics.HasError() {
				t.Fatal(resp.Diagnostics)
			}
			var name, gotAgent types.String
			resp.Diagnostics.Append(resp.State.GetAttribute(ctx, path.Root("name"), &name)...)
			resp.Diagnostics.Append(resp.Identity.GetAttribute(ctx, path.Root(identityAgentAttr), &gotAgent)...)
			if name.ValueString() != "debian" || gotAgent.ValueString() != r.agent.Address {
				t.Fatalf("imported name %s, identity agent %s", name, gotAgent)
			}
		})
	}
}
