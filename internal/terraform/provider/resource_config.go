package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/machineconfig"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/agentclient"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

var (
	_ resource.ResourceWithConfigure      = &configResource{}
	_ resource.ResourceWithImportState    = &configResource{}
	_ resource.ResourceWithIdentity       = &configResource{}
	_ resource.ResourceWithValidateConfig = &configResource{}
	_ resource.ResourceWithModifyPlan     = &configResource{}
)

func newConfigResource() resource.Resource { return &configResource{} }

// configResource is a template rendered per machine and served to that
// machine only (machineconfig).
type configResource struct {
	agent *agentclient.Conn
}

type configModel struct {
	ID              types.String `tfsdk:"id"`
	Name            types.String `tfsdk:"name"`
	Kind            types.String `tfsdk:"kind"`
	File            types.String `tfsdk:"file"`
	Template        types.String `tfsdk:"template"`
	Machines        types.List   `tfsdk:"machines"`
	MatchLabels     types.Map    `tfsdk:"match_labels"`
	SensitiveValues types.Map    `tfsdk:"sensitive_values"`
}

func (r *configResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_config"
	resp.ResourceBehavior = agentObjectBehavior
}

func configKinds() []string {
	out := make([]string, len(machineconfig.Kinds))
	for i, k := range machineconfig.Kinds {
		out[i] = string(k)
	}
	return out
}

func (r *configResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	var defaults []string
	for _, k := range machineconfig.Kinds {
		if f := machineconfig.DefaultFile[k]; f != "" {
			defaults = append(defaults, fmt.Sprintf("`%s` for `%s`", f, k))
		}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "An install or first-boot file rendered for each machine it selects (`netboot_machine`): a Go " +
			"`text/template` over the machine's name, host name, labels, metadata and address and the boot server's " +
			"URLs, checked against its `kind`'s format, and served by every boot server's HTTP server at " +
			"`<boot_url_base>/netboot/config/<machine>/<token>/<file>`. The token is a secret the agent generates per " +
			"machine, and a machine's files go only to that machine: a request without its token, or with another " +
			"machine's, or from an address that is not the machine's (a lease it holds, its `reserved_address`, a SLAAC " +
			"address built from one of its `macs`), gets 403 and is logged as a warning with the reason. The guide " +
			"\"Provisioning machines\" says how addresses are attributed and what to do for a machine whose address " +
			"the agent cannot attribute. Boot entries put the URL on the kernel command line with " +
			"`{{ .ConfigURL \"<file>\" }}` in their `args`.\n\n" +
			"The template is checked at `terraform plan`: its syntax and fields against a sample machine, then, with the " +
			"agent reachable, a rendering for every machine already on the agent that it selects, naming a machine it " +
			"fails for (a metadata key it lacks, YAML broken by a value). The agent renders again at apply, for " +
			"machines created in the same apply too, and refuses a machine a config fails for. Every attribute but " +
			"`name` changes in place.\n\n" +
			"Import takes the config's `name`.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "The config's name.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				MarkdownDescription: "Name of the config on the agent: 1-63 lowercase letters, digits, `-` or `_`. " +
					"Changing it replaces the config.",
				Required:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{agentNameValidator()},
			},
			"kind": schema.StringAttribute{
				MarkdownDescription: "The format, checked after rendering for each machine: `\"cloud-config\"` (cloud-init " +
					"user-data: a first line `#cloud-config`, then YAML), `\"meta-data\"` (NoCloud meta-data: YAML with " +
					"`instance-id`), `\"network-config\"` (YAML, `version: 1` or `2`), `\"autoinstall\"` (Ubuntu's: " +
					"cloud-config with an `autoinstall` mapping of `version: 1`), `\"preseed\"` (Debian installer: " +
					"`<owner> <question> <type> <value>` lines), `\"kickstart\"` (every `%packages`, `%pre`, `%post`... " +
					"closed by `%end`), `\"ignition\"` (JSON with `ignition.version` 3.0.0 to 3.5.0) or `\"text\"` " +
					"(not checked). Errors name the line.",
				Required:   true,
				Validators: []validator.String{stringvalidator.OneOf(configKinds()...)},
			},
			"file": schema.StringAttribute{
				MarkdownDescription: "The file name served in each machine's directory, the argument of " +
					"`{{ .ConfigURL \"<file>\" }}`: 1-128 letters, digits, `.`, `_` or `-`. Defaults to " +
					strings.Join(defaults, ", ") + "; required for `text`. When several configs serve one file to a " +
					"machine, the one listing the machine in `machines` wins, then the one matching most `match_labels`, " +
					"then one selecting every machine; between equals, the name sorting first.",
				Optional: true,
				Computed: true,
			},
			"template": schema.StringAttribute{
				MarkdownDescription: "A Go `text/template` (https://pkg.go.dev/text/template). It gets `{{ .Name }}` (the " +
					"machine's name), `{{ .Hostname }}` (its `hostname`, else its name), `{{ .Labels.<key> }}`, " +
					"`{{ .Metadata.<key> }}` (or `{{ index .Metadata \"<key>\" }}`), `{{ .Sensitive.<key> }}` (this " +
					"config's `sensitive_values`), `{{ .Address }}` (its `reserved_address`, or empty), `{{ .MAC }}` (its " +
					"first MAC address), `.MACs`, `.DUIDs`, `.UUIDs`, `{{ .BootServer }}` and `{{ .HTTPBase }}` (the " +
					"serving boot server's name and HTTP URL), `{{ .ConfigURL \"<file>\" }}` (this machine's URL of " +
					"another file; `\"\"` gives the directory with a trailing slash), and `{{ .HTTPSBase }}` and " +
					"`{{ .HTTPSConfigURL \"<file>\" }}`, the same over HTTPS (`boot.https`; while it is off the first is " +
					"empty and the second fails the rendering). Functions beyond Go's: `fromJSON` " +
					"(a metadata value written with `jsonencode`), `toJSON` (a quoted, escaped string for YAML or JSON) " +
					"and `indent N`. A metadata key the machine lacks is an error, not an empty string. In HCL, write " +
					"`${` as `$${` and use `file()` or `templatefile()` for long templates.",
				Required:   true,
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"machines": schema.ListAttribute{
				MarkdownDescription: "Machines this config is for, by `netboot_machine` name (write " +
					"`netboot_machine.<label>.name`). With `match_labels` too, a machine is selected by either. Neither " +
					"set: every machine.",
				ElementType: types.StringType,
				Optional:    true,
				Validators: []validator.List{listvalidator.SizeAtLeast(1), listvalidator.NoNullValues(),
					listvalidator.ValueStringsAre(agentNameValidator())},
			},
			"match_labels": schema.MapAttribute{
				MarkdownDescription: "Selects the machines whose `labels` hold every one of these, e.g. `{ role = \"web\" }`.",
				ElementType:         types.StringType,
				Optional:            true,
			},
			"sensitive_values": schema.MapAttribute{
				MarkdownDescription: "Secret template inputs, `{{ .Sensitive.<key> }}`: password hashes, tokens, keys. " +
					"Terraform keeps them out of plan output; the state and the agent's store hold them, and the agent " +
					"serves them only inside the files of machines this config selects, to requests from that " +
					"machine carrying its token (read-only agent certificates can read them too).",
				ElementType: types.StringType,
				Optional:    true,
				Sensitive:   true,
			},
		},
	}
}

func (r *configResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	conn, diags := agentFromProviderData(req.ProviderData)
	resp.Diagnostics.Append(diags...)
	r.agent = conn
}

// ValidateConfig runs the agent's own validation (machineconfig.FromProto):
// the template parses and renders for a sample machine.
func (r *configResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m configModel
	if diags := req.Config.Get(ctx, &m); diags.HasError() {
		return
	}
	if m.Template.IsUnknown() || m.SensitiveValues.IsUnknown() || m.Kind.IsUnknown() {
		return
	}
	_, err := machineconfig.FromProto(m.toProto(ctx))
	addValidationErrors(&resp.Diagnostics, "config", err, req.Config.Raw, "name", "kind")
}

// ModifyPlan renders the planned template for every machine on the agent
// it selects, so a template that fails for one fails the plan, naming it.
func (r *configResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var m configModel
	if diags := req.Plan.Get(ctx, &m); diags.HasError() {
		return
	}
	if m.Template.IsUnknown() || m.Machines.IsUnknown() || m.MatchLabels.IsUnknown() ||
		m.SensitiveValues.IsUnknown() || m.Kind.IsUnknown() {
		return
	}
	c, err := machineconfig.FromProto(m.toProto(ctx))
	if err != nil {
		return // ValidateConfig has said why
	}
	if m.File.IsUnknown() {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("file"), c.File)...)
	}
	if r.agent == nil {
		return
	}
	pbs, err := agentclient.All(ctx, r.agent.ListMachines, &netbootv1.ListMachinesRequest{}, (*netbootv1.ListMachinesResponse).GetMachines)
	if err != nil {
		// The agent is not there yet (launched at apply) or unreachable:
		// the agent renders at apply all the same.
		return
	}
	machines := map[string]config.Machine{}
	for _, pb := range pbs {
		if mach, err := config.MachineFromProto(pb); err == nil {
			machines[mach.Name] = mach
		}
	}
	if fes, ok := config.AsFieldErrors(machineconfig.CheckMachines(&c, machines)); ok {
		for _, fe := range fes {
			resp.Diagnostics.AddAttributeError(path.Root("template"), "Template fails for a machine", fe.Reason+
				"\n\nThe plan renders the template for each machine as the agent holds it now. If this change also "+
				"gives that machine what the template needs, apply the machine first (terraform apply -target=...).")
		}
	}
}

func (m *configModel) toProto(ctx context.Context) *netbootv1.MachineConfig {
	return &netbootv1.MachineConfig{
		Name:            m.Name.ValueString(),
		Kind:            m.Kind.ValueString(),
		File:            m.File.ValueString(),
		Template:        m.Template.ValueString(),
		Machines:        listStrings(ctx, m.Machines),
		MatchLabels:     mapStrings(m.MatchLabels),
		SensitiveValues: mapStrings(m.SensitiveValues),
	}
}

func (m *configModel) fromProto(pb *netbootv1.MachineConfig) {
	m.ID = types.StringValue(pb.GetName())
	m.Name = types.StringValue(pb.GetName())
	m.Kind = types.StringValue(pb.GetKind())
	m.File = types.StringValue(pb.GetFile())
	m.Template = types.StringValue(pb.GetTemplate())
	m.Machines = stringListOrNull(pb.GetMachines())
	m.MatchLabels = stringMapOrNull(pb.GetMatchLabels())
	m.SensitiveValues = stringMapOrNull(pb.GetSensitiveValues())
}

// configReads reads machine configs for refresh: one List instead of a Get each once a plan
// reads many.
var configReads = &batchedReads[*netbootv1.MachineConfig]{
	get: func(ctx context.Context, agent *agentclient.Conn, name string) (*netbootv1.MachineConfig, error) {
		return agent.GetMachineConfig(ctx, &netbootv1.GetMachineConfigRequest{Name: name})
	},
	list: func(ctx context.Context, agent *agentclient.Conn) ([]*netbootv1.MachineConfig, error) {
		return agentclient.All(ctx, agent.ListMachineConfigs, &netbootv1.ListMachineConfigsRequest{}, (*netbootv1.ListMachineConfigsResponse).GetConfigs)
	},
	key: (*netbootv1.MachineConfig).GetName,
}

// configObject is the config's lifecycle on the agent.
var configObject = &agentObject[configModel]{
	noun:    "config",
	keyAttr: "name",
	key:     func(m *configModel) string { return nameOrID(m.Name, m.ID) },
	put: func(ctx context.Context, agent *agentclient.Conn, m *configModel, diags *diag.Diagnostics) {
		pb := m.toProto(ctx)
		saved, err := agent.PutMachineConfig(ctx, &netbootv1.PutMachineConfigRequest{Config: pb})
		if err != nil {
			addAgentError(diags, "config", fmt.Sprintf("saving config %q", pb.GetName()), err)
			return
		}
		m.fromProto(saved)
	},
	get: func(ctx context.Context, agent *agentclient.Conn, name string, m *configModel, _ *diag.Diagnostics) error {
		pb, err := configReads.read(ctx, agent, name)
		if err == nil {
			m.fromProto(pb)
		}
		return err
	},
	list: func(ctx context.Context, agent *agentclient.Conn, _ *diag.Diagnostics) ([]configModel, error) {
		pbs, err := configReads.list(ctx, agent)
		models := make([]configModel, len(pbs))
		for i, pb := range pbs {
			models[i].fromProto(pb)
		}
		return models, err
	},
	remove: func(ctx context.Context, agent *agentclient.Conn, name string) error {
		_, err := agent.DeleteMachineConfig(ctx, &netbootv1.DeleteMachineConfigRequest{Name: name})
		return err
	},
	validKey: validObjectName,
	reads:    configReads,
}

func (r *configResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	configObject.create(ctx, r.agent, req, resp)
}

func (r *configResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	configObject.read(ctx, r.agent, req, resp)
}

func (r *configResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	configObject.update(ctx, r.agent, req, resp)
}

func (r *configResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	configObject.delete(ctx, r.agent, req, resp)
}

// ImportState takes the name (terraform import) or the identity (an import
// block); Read fills in the rest.
func (r *configResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	configObject.importState(ctx, r.agent, req, resp)
}

func (r *configResource) IdentitySchema(ctx context.Context, req resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	configObject.identitySchema(ctx, req, resp)
}
