package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/agentclient"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

var _ datasource.DataSourceWithConfigure = &machinesDataSource{}

func newMachinesDataSource() datasource.DataSource { return &machinesDataSource{} }

// machinesDataSource lists the agent's machines with the leases they hold
// now, for operators and outputs.
type machinesDataSource struct {
	agent *agentclient.Conn
}

type machinesModel struct {
	MatchLabels types.Map            `tfsdk:"match_labels"`
	Machines    []machineStatusModel `tfsdk:"machines"`
}

type machineStatusModel struct {
	Name            types.String        `tfsdk:"name"`
	Hostname        types.String        `tfsdk:"hostname"`
	Labels          types.Map           `tfsdk:"labels"`
	ReservedAddress types.String        `tfsdk:"reserved_address"`
	ReservedPrefix  types.String        `tfsdk:"reserved_prefix"`
	Menu            types.String        `tfsdk:"menu"`
	Leases          []machineLeaseModel `tfsdk:"leases"`
	LastBootFile    *fileFetchModel     `tfsdk:"last_boot_file"`
	LastConfig      *fileFetchModel     `tfsdk:"last_config"`
}

// fileFetchModel is a file the agent served a machine; nil (null) when
// none since the agent started.
type fileFetchModel struct {
	BootServer types.String `tfsdk:"boot_server"`
	Protocol   types.String `tfsdk:"protocol"`
	File       types.String `tfsdk:"file"`
	Address    types.String `tfsdk:"address"`
	Time       types.String `tfsdk:"time"`
}

func fileFetchOf(pb *netbootv1.FileFetch) *fileFetchModel {
	if pb == nil {
		return nil
	}
	return &fileFetchModel{BootServer: types.StringValue(pb.GetBootServer()), Protocol: types.StringValue(pb.GetProtocol()),
		File: types.StringValue(pb.GetFile()), Address: types.StringValue(pb.GetAddress()), Time: types.StringValue(rfc3339(pb.GetTimeUnix()))}
}

type machineLeaseModel struct {
	BootServer   types.String `tfsdk:"boot_server"`
	Kind         types.String `tfsdk:"kind"`
	Address      types.String `tfsdk:"address"`
	PrefixLength types.Int64  `tfsdk:"prefix_length"`
	ValidUntil   types.String `tfsdk:"valid_until"`
}

func (d *machinesDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_machines"
}

func (d *machinesDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	computed := func(description string) schema.StringAttribute {
		return schema.StringAttribute{MarkdownDescription: description, Computed: true}
	}
	fetch := func(description string) schema.SingleNestedAttribute {
		return schema.SingleNestedAttribute{
			MarkdownDescription: description + " Null when none since the agent started: the agent keeps this in " +
				"memory only. A request counts when its source address is the machine's (a lease it holds, its " +
				"`reserved_address`, or a SLAAC address built from one of its `macs`), as the guide \"Provisioning " +
				"machines\" explains.",
			Computed: true,
			Attributes: map[string]schema.Attribute{
				"boot_server": computed("Boot server that served it."),
				"protocol":    computed("`\"tftp\"`, `\"http\"` or `\"https\"`."),
				"file":        computed("The path requested; for a config, its file name (`\"user-data\"`)."),
				"address":     computed("The request's source address."),
				"time":        computed("When, in RFC 3339 (UTC)."),
			},
		}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "The agent's machines (`netboot_machine`), by name, each with the DHCPv6 leases it holds " +
			"now on any boot server: the leases whose client DUID is one of the machine's `duids`, or whose hardware " +
			"address is one of its `macs`. For outputs such as a map of host names to addresses.",
		Attributes: map[string]schema.Attribute{
			"match_labels": schema.MapAttribute{
				MarkdownDescription: "Only the machines whose `labels` hold every one of these; unset, every machine.",
				ElementType:         types.StringType,
				Optional:            true,
			},
			"machines": schema.ListNestedAttribute{
				MarkdownDescription: "The machines, sorted by name.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"name":     computed("The machine's name."),
						"hostname": computed("Its host name; empty when it has none."),
						"labels": schema.MapAttribute{
							MarkdownDescription: "Its labels.",
							ElementType:         types.StringType,
							Computed:            true,
						},
						"reserved_address": computed("Its reserved address; empty when it has none."),
						"reserved_prefix":  computed("Its reserved delegated prefix; empty when it has none."),
						"menu":             computed("The boot menu it boots; empty when the menus choose."),
						"leases": schema.ListNestedAttribute{
							MarkdownDescription: "The unexpired leases it holds, by boot server and address.",
							Computed:            true,
							NestedObject: schema.NestedAttributeObject{
								Attributes: map[string]schema.Attribute{
									"boot_server": computed("Boot server that leased it."),
									"kind":        computed("`\"na\"`, `\"ta\"` or `\"pd\"`, as in `netboot_leases`."),
									"address":     computed("The leased address, or the delegated prefix's first address."),
									"prefix_length": schema.Int64Attribute{
										MarkdownDescription: "The delegated prefix's length for kind `\"pd\"` (e.g. `56`), `128` for addresses.",
										Computed:            true,
									},
									"valid_until": computed("When the lease expires, in RFC 3339 (UTC)."),
								},
							},
						},
						"last_boot_file": fetch("The last file other than a config that TFTP or HTTP served it: a boot " +
							"loader, a script (`start.ipxe`, its menu), a kernel or an initrd."),
						"last_config": fetch("The last `netboot_config` file it fetched."),
					},
				},
			},
		},
	}
}

func (d *machinesDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	conn, diags := agentFromProviderData(req.ProviderData)
	resp.Diagnostics.Append(diags...)
	d.agent = conn
}

func (d *machinesDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m machinesModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if d.agent == nil {
		addNotConfigured(&resp.Diagnostics)
		return
	}
	pbs, err := agentclient.All(ctx, d.agent.ListMachines, &netbootv1.ListMachinesRequest{}, (*netbootv1.ListMachinesResponse).GetMachines)
	if err != nil {
		addAgentError(&resp.Diagnostics, "machine", "listing machines", err)
		return
	}
	leases, err := agentclient.All(ctx, d.agent.ListLeases, &netbootv1.ListLeasesRequest{}, (*netbootv1.ListLeasesResponse).GetLeases)
	if err != nil {
		addAgentError(&resp.Diagnostics, "boot server", "listing leases", err)
		return
	}
	want := mapStrings(m.MatchLabels)
	m.Machines = []machineStatusModel{}
	for _, pb := range pbs {
		mach, err := config.MachineFromProto(pb)
		if err != nil || !config.HasLabels(mach.Labels, want) {
			continue
		}
		out := machineStatusModel{
			Name: types.StringValue(mach.Name), Hostname: types.StringValue(mach.Hostname),
			Labels: stringMapOrEmpty(mach.Labels), ReservedAddress: types.StringValue(pb.GetReservedAddress()),
			ReservedPrefix: types.StringValue(pb.GetReservedPrefix()),
			Menu:           types.StringValue(mach.Menu), Leases: []machineLeaseModel{},
			LastBootFile: fileFetchOf(pb.GetLastBootFile()), LastConfig: fileFetchOf(pb.GetLastConfig()),
		}
		for _, l := range leases {
			if mach.Identifies(l.GetHardwareAddress(), l.GetClientDuid(), "") {
				out.Leases = append(out.Leases, machineLeaseModel{
					BootServer: types.StringValue(l.GetBootServer()), Kind: types.StringValue(l.GetKind()),
					Address: types.StringValue(l.GetAddress()), PrefixLength: types.Int64Value(int64(l.GetPrefixLength())),
					ValidUntil: types.StringValue(rfc3339(l.GetValidUntilUnix())),
				})
			}
		}
		m.Machines = append(m.Machines, out)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func stringMapOrEmpty(in map[string]string) types.Map {
	if len(in) == 0 {
		return types.MapValueMust(types.StringType, nil)
	}
	return stringMapOrNull(in)
}
