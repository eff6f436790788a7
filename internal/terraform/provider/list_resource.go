package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/list"
	listschema "github.com/hashicorp/terraform-plugin-framework/list/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"

	"github.com/netbootlab/terraform-provider-netboot/internal/wire/agentclient"
)

// agentObjectList is the list resource of an agentObject kind: `terraform
// query` (Terraform 1.14 and later) lists every object the agent holds, with
// its identity, so objects made outside Terraform can be found and imported.
type agentObjectList[M any] struct {
	object *agentObject[M]
	// typeSuffix follows the provider's type name: "_boot_entry".
	typeSuffix string
	agent      *agentclient.Conn
}

var _ list.ListResourceWithConfigure = &agentObjectList[bootEntryModel]{}

func (l *agentObjectList[M]) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + l.typeSuffix
}

func (l *agentObjectList[M]) ListResourceConfigSchema(_ context.Context, _ list.ListResourceSchemaRequest, resp *list.ListResourceSchemaResponse) {
	resp.Schema = listschema.Schema{
		MarkdownDescription: fmt.Sprintf("Lists every %s the provider's agent holds, by %s.", l.object.noun, l.object.keyAttr),
	}
}

func (l *agentObjectList[M]) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	conn, diags := agentFromProviderData(req.ProviderData)
	resp.Diagnostics.Append(diags...)
	l.agent = conn
}

func (l *agentObjectList[M]) List(ctx context.Context, req list.ListRequest, stream *list.ListResultsStream) {
	var diags diag.Diagnostics
	if l.agent == nil {
		addNotConfigured(&diags)
		stream.Results = list.ListResultsStreamDiagnostics(diags)
		return
	}
	models, err := l.object.list(ctx, l.agent, &diags)
	if err != nil {
		addAgentError(&diags, l.object.noun, fmt.Sprintf("listing each %s", l.object.noun), err)
	}
	if diags.HasError() {
		stream.Results = list.ListResultsStreamDiagnostics(diags)
		return
	}
	stream.Results = func(push func(list.ListResult) bool) {
		for i := range models {
			if req.Limit > 0 && int64(i) >= req.Limit {
				return
			}
			r := req.NewListResult(ctx)
			key := l.object.key(&models[i])
			r.DisplayName = key
			l.object.setIdentity(ctx, l.agent, r.Identity, key, &r.Diagnostics)
			if req.IncludeResource {
				r.Diagnostics.Append(r.Resource.Set(ctx, &models[i])...)
			}
			if !push(r) {
				return
			}
		}
	}
}
