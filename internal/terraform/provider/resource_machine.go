package provider

import (
	"context"
	"fmt"
	"slices"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/terraform/provider/ipv6types"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/agentclient"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

var (
	_ resource.ResourceWithConfigure      = &machineResource{}
	_ resource.ResourceWithImportState    = &machineResource{}
	_ resource.ResourceWithIdentity       = &machineResource{}
	_ resource.ResourceWithValidateConfig = &machineResource{}
)

func newMachineResource() resource.Resource { return &machineResource{} }

// machineResource is one host the agent knows by name. Machines belong to
// the agent, as entries and menus do.
type machineResource struct {
	agent *agentclient.Conn
}

type machineModel struct {
	ID              types.String      `tfsdk:"id"`
	Name            types.String      `tfsdk:"name"`
	MACs            types.List        `tfsdk:"macs"`
	DUIDs           types.List        `tfsdk:"duids"`
	UUIDs           types.List        `tfsdk:"uuids"`
	Hostname        types.String      `tfsdk:"hostname"`
	Labels          types.Map         `tfsdk:"labels"`
	Metadata        types.Map         `tfsdk:"metadata"`
	ReservedAddress ipv6types.Address `tfsdk:"reserved_address"`
	ReservedPrefix  ipv6types.Prefix  `tfsdk:"reserved_prefix"`
	Menu            types.String      `tfsdk:"menu"`
}

func (r *machineResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_machine"
	resp.ResourceBehavior = agentObjectBehavior
}

func identifierList(description string) schema.ListAttribute {
	return schema.ListAttribute{
		MarkdownDescription: description + " Any spelling is accepted; the agent compares identifiers in one normal " +
			"form, so each may belong to one machine only: the agent refuses one another machine has, naming that machine.",
		ElementType: types.StringType,
		Optional:    true,
		Validators:  []validator.List{listvalidator.SizeAtLeast(1), listvalidator.NoNullValues()},
	}
}

func (r *machineResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "One physical or virtual machine the agent knows by name: the identifiers it is recognised by " +
			"(MAC addresses, DHCPv6 DUIDs, SMBIOS system UUIDs), its host name, labels and metadata for templates, an " +
			"address and a delegated prefix reserved for it (host reservations), and the boot menu its iPXE gets. Machines belong to the agent, like entries and " +
			"menus. Every attribute but `name` changes in place.\n\n" +
			"The agent recognises the machine in iPXE by the `${mac}` and `${uuid}` in its menu URL: a machine with a " +
			"`menu` gets that menu before any menu's `match` (the guide \"Provisioning machines\" has the whole order), " +
			"and entries rendered for it get its config URLs (`netboot_config`).\n\n" +
			"The agent's own validation runs at `terraform plan`, naming the attribute; that an identifier, reserved " +
			"address or reserved prefix already belongs to another machine, or that a reserved prefix overlaps a boot " +
			"server's prefixes, is found at apply, since only the agent knows its machines and boot servers.\n\n" +
			"Import takes the machine's `name`.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "The machine's name.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				MarkdownDescription: "Name of the machine on the agent: 1-63 lowercase letters, digits, `-` or `_`, starting " +
					"with a letter or digit. It appears in the machine's config URLs. Changing it replaces the machine.",
				Required:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{agentNameValidator()},
			},
			"macs": identifierList("MAC addresses of the machine's network interfaces, e.g. `[\"52:54:00:12:34:56\"]` " +
				"(`:` or `-` between bytes, any case). With `duids` and `uuids`, at least one identifier in all."),
			"duids": identifierList("DHCPv6 client DUIDs of the machine, in hex as `netboot_leases` shows them " +
				"(`\"00030001525400123456\"`; `:` between bytes is accepted)."),
			"uuids": identifierList("SMBIOS system UUIDs, as iPXE's `${uuid}` and `dmidecode -s system-uuid` show them, " +
				"with or without hyphens. In DHCPv6 iPXE shows its UUID as its DUID (a DUID-UUID), by which the agent " +
				"recognises the machine too. The all-zero and all-`f` UUIDs are refused: firmware without a UUID of its own " +
				"reports one of them (QEMU without `-uuid`: all zeros), so they name no one machine."),
			"hostname": schema.StringAttribute{
				MarkdownDescription: "The machine's host name, a DNS label or domain name such as `\"web1\"` or " +
					"`\"web1.lab.example\"`; templates get it as `{{ .Hostname }}`.",
				Optional:   true,
				Validators: []validator.String{stringCheck{summary: "Invalid host name", description: "a DNS name such as \"web1\"", check: checkDomainName}},
			},
			"labels": schema.MapAttribute{
				MarkdownDescription: "Labels, e.g. `{ role = \"web\", rack = \"r12\" }`: keys are 1-63 letters, digits, `.`, " +
					"`_`, `-` or `/`, values printable text of at most 63 bytes. Templates get them as `{{ .Labels.role }}`; " +
					"boot menus (`match.labels`), boot rules (`boot.rules[].labels`) and configs (`match_labels`) select " +
					"machines by them.",
				ElementType: types.StringType,
				Optional:    true,
			},
			"metadata": schema.MapAttribute{
				MarkdownDescription: "Values for templates rendered for this machine, as `{{ .Metadata.key }}`: a map " +
					"of strings, so plain HCL writes it, e.g. `{ ssh_user = \"ops\", disk = \"/dev/sda\" }`; structured " +
					"data goes in as JSON, `{ networks = jsonencode([...]) }`, and templates read it with `fromJSON`. Keys are 1-128 letters, digits, `_`, `.` or " +
					"`-` starting with a letter or `_`; each value at most 64 KiB. Metadata is not secret: it shows in plans; " +
					"put passwords and keys in a `netboot_config`'s `sensitive_values`.",
				ElementType: types.StringType,
				Optional:    true,
			},
			"reserved_address": schema.StringAttribute{
				MarkdownDescription: "An IPv6 address reserved for this machine, such as `\"2001:db8:1::10\"`: no two " +
					"machines may reserve the same one. The boot server whose `prefix` (or relayed link whose `prefix`) " +
					"holds it leases it over DHCPv6 (IA_NA) to the client showing one of the machine's `duids`, one of " +
					"its `macs` as its hardware address (from a DUID-LL or DUID-LLT, the EUI-64 of its link-local address, " +
					"or a relay's option 79), or one of its `uuids` as a DUID-UUID (iPXE's DUID), inside the " +
					"`dhcpv6.ranges` or outside them; no other client ever gets it. A client that held the address before the " +
					"reservation keeps it until its next renewal, which is refused. Templates get it as `{{ .Address }}`.",
				CustomType: ipv6types.AddressType{},
				Optional:   true,
			},
			"reserved_prefix": schema.StringAttribute{
				MarkdownDescription: "An IPv6 prefix reserved for this machine, such as `\"2001:db8:100:4200::/56\"`, for a " +
					"router that asks for a delegated prefix (DHCPv6 IA_PD, e.g. `dhclient -6 -P`): /48 to /64, written " +
					"without bits beyond its length. It is delegated to the client showing one of the machine's `duids`, " +
					"one of its `macs` or one of its `uuids` (as for `reserved_address`), on every link of a boot server (the directly " +
					"attached one, every relayed link) whose `prefix_delegation` delegates prefixes of its length; no " +
					"other client ever gets it. As a reserved address may lie inside the `dhcpv6.ranges` or outside " +
					"them, the prefix may be one of the prefixes a `prefix_delegation` delegates or lie outside every " +
					"one; the agent refuses a prefix that overlaps a `prefix_delegation` without being one of its " +
					"prefixes (the rest would go to other routers), one that overlaps an on-link `prefix`, and one that " +
					"overlaps another machine's, naming it. A boot server whose new `prefix_delegation` would overlap a " +
					"machine's reserved prefix that way is refused too.",
				CustomType: ipv6types.PrefixType{},
				Optional:   true,
			},
			"menu": schema.StringAttribute{
				MarkdownDescription: "The `netboot_boot_menu` this machine's iPXE gets, by name (write " +
					"`netboot_boot_menu.<label>.name`): it comes before every menu's `match` and the default menu, for the " +
					"boot loaders the menu's `formats` name (another boot loader gets the menus' choice). Unset, " +
					"the menus choose as for any host. The agent refuses a menu that does not exist, and refuses to " +
					"delete a menu a machine boots.",
				Optional:   true,
				Validators: []validator.String{agentNameValidator()},
			},
		},
	}
}

func checkDomainName(s string) error {
	if reason := config.ValidDomainName(s); reason != "" {
		return fmt.Errorf("%s", reason)
	}
	return nil
}

func (r *machineResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	conn, diags := agentFromProviderData(req.ProviderData)
	resp.Diagnostics.Append(diags...)
	r.agent = conn
}

// ValidateConfig runs the agent's own validation (config.MachineFromProto)
// at validate and plan, naming the attribute; unknown values are skipped.
func (r *machineResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m machineModel
	if diags := req.Config.Get(ctx, &m); diags.HasError() {
		return
	}
	if m.MACs.IsUnknown() || m.DUIDs.IsUnknown() || m.UUIDs.IsUnknown() {
		// "at least one identifier" cannot be judged yet; the rest can.
		return
	}
	pb := m.toProto(ctx)
	_, err := config.MachineFromProto(pb)
	if err == nil {
		err = config.PlaceholderUUIDs(pb)
	}
	addValidationErrors(&resp.Diagnostics, "machine", err, req.Config.Raw, "name", "hostname", "menu")
}

func (m *machineModel) toProto(ctx context.Context) *netbootv1.Machine {
	return &netbootv1.Machine{
		Name:            m.Name.ValueString(),
		Macs:            listStrings(ctx, m.MACs),
		Duids:           listStrings(ctx, m.DUIDs),
		Uuids:           listStrings(ctx, m.UUIDs),
		Hostname:        m.Hostname.ValueString(),
		Labels:          mapStrings(m.Labels),
		Metadata:        mapStrings(m.Metadata),
		ReservedAddress: m.ReservedAddress.ValueString(),
		ReservedPrefix:  m.ReservedPrefix.ValueString(),
		Menu:            m.Menu.ValueString(),
	}
}

// fromProto sets every attribute from what the agent holds. The agent keeps
// identifiers and the host name in normal form; where the model already
// holds another spelling of the same values (the user's), it is kept, so an
// upper-case MAC address causes no diff.
func (m *machineModel) fromProto(ctx context.Context, pb *netbootv1.Machine) {
	mine, _ := config.MachineFromProto(m.toProto(ctx))
	keep := func(cur types.List, normal, agent []string) types.List {
		if !cur.IsNull() && !cur.IsUnknown() && slices.Equal(normal, agent) {
			return cur
		}
		return stringListOrNull(agent)
	}
	m.ID = types.StringValue(pb.GetName())
	m.Name = types.StringValue(pb.GetName())
	m.MACs = keep(m.MACs, mine.MACs, pb.GetMacs())
	m.DUIDs = keep(m.DUIDs, mine.DUIDs, pb.GetDuids())
	m.UUIDs = keep(m.UUIDs, mine.UUIDs, pb.GetUuids())
	if m.Hostname.IsNull() || m.Hostname.IsUnknown() || mine.Hostname != pb.GetHostname() {
		m.Hostname = stringOrNull(pb.GetHostname())
	}
	m.Labels = stringMapOrNull(pb.GetLabels())
	m.Metadata = stringMapOrNull(pb.GetMetadata())
	if a := pb.GetReservedAddress(); a != "" {
		m.ReservedAddress = ipv6types.NewAddressValue(a)
	} else {
		m.ReservedAddress = ipv6types.NewAddressNull()
	}
	if p := pb.GetReservedPrefix(); p != "" {
		m.ReservedPrefix = ipv6types.NewPrefixValue(p)
	} else {
		m.ReservedPrefix = ipv6types.NewPrefixNull()
	}
	m.Menu = stringOrNull(pb.GetMenu())
}

// mapStrings reads a map of strings; null and unknown are empty.
func mapStrings(v types.Map) map[string]string {
	if v.IsNull() || v.IsUnknown() {
		return nil
	}
	out := make(map[string]string, len(v.Elements()))
	for k, e := range v.Elements() {
		if s, ok := e.(types.String); ok {
			out[k] = s.ValueString()
		}
	}
	return out
}

// stringMapOrNull is null for an empty map: the API does not tell an unset
// map from an empty one.
func stringMapOrNull(in map[string]string) types.Map {
	if len(in) == 0 {
		return types.MapNull(types.StringType)
	}
	elems := make(map[string]attr.Value, len(in))
	for k, v := range in {
		elems[k] = types.StringValue(v)
	}
	return types.MapValueMust(types.StringType, elems)
}

// machineReads reads machines for refresh: one List instead of a Get each once a plan
// reads many.
var machineReads = &batchedReads[*netbootv1.Machine]{
	get: func(ctx context.Context, agent *agentclient.Conn, name string) (*netbootv1.Machine, error) {
		return agent.GetMachine(ctx, &netbootv1.GetMachineRequest{Name: name})
	},
	list: func(ctx context.Context, agent *agentclient.Conn) ([]*netbootv1.Machine, error) {
		return agentclient.All(ctx, agent.ListMachines, &netbootv1.ListMachinesRequest{}, (*netbootv1.ListMachinesResponse).GetMachines)
	},
	key: (*netbootv1.Machine).GetName,
}

// machineObject is the machine's lifecycle on the agent.
var machineObject = &agentObject[machineModel]{
	noun:    "machine",
	keyAttr: "name",
	key:     func(m *machineModel) string { return nameOrID(m.Name, m.ID) },
	put: func(ctx context.Context, agent *agentclient.Conn, m *machineModel, diags *diag.Diagnostics) {
		pb := m.toProto(ctx)
		saved, err := agent.PutMachine(ctx, &netbootv1.PutMachineRequest{Machine: pb})
		if err != nil {
			addAgentError(diags, "machine", fmt.Sprintf("saving machine %q", pb.GetName()), err)
			return
		}
		m.fromProto(ctx, saved)
	},
	get: func(ctx context.Context, agent *agentclient.Conn, name string, m *machineModel, _ *diag.Diagnostics) error {
		pb, err := machineReads.read(ctx, agent, name)
		if err == nil {
			m.fromProto(ctx, pb)
		}
		return err
	},
	list: func(ctx context.Context, agent *agentclient.Conn, _ *diag.Diagnostics) ([]machineModel, error) {
		machines, err := machineReads.list(ctx, agent)
		models := make([]machineModel, len(machines))
		for i, pb := range machines {
			models[i].fromProto(ctx, pb)
		}
		return models, err
	},
	remove: func(ctx context.Context, agent *agentclient.Conn, name string) error {
		_, err := agent.DeleteMachine(ctx, &netbootv1.DeleteMachineRequest{Name: name})
		return err
	},
	validKey: validObjectName,
	reads:    machineReads,
}

func (r *machineResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	machineObject.create(ctx, r.agent, req, resp)
}

func (r *machineResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	machineObject.read(ctx, r.agent, req, resp)
}

func (r *machineResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	machineObject.update(ctx, r.agent, req, resp)
}

func (r *machineResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	machineObject.delete(ctx, r.agent, req, resp)
}

// ImportState takes the name (terraform import) or the identity (an import
// block); Read fills in the rest.
func (r *machineResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	machineObject.importState(ctx, r.agent, req, resp)
}

func (r *machineResource) IdentitySchema(ctx context.Context, req resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	machineObject.identitySchema(ctx, req, resp)
}
