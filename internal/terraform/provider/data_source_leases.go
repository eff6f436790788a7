package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netbootlab/terraform-provider-netboot/internal/wire/agentclient"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

var _ datasource.DataSourceWithConfigure = &leasesDataSource{}

func newLeasesDataSource() datasource.DataSource { return &leasesDataSource{} }

// leasesDataSource lists the agent's active DHCPv6 leases: which machines
// booted, with which address and firmware.
type leasesDataSource struct {
	agent *agentclient.Conn
}

type leasesModel struct {
	BootServer types.String `tfsdk:"boot_server"`
	Leases     []leaseModel `tfsdk:"leases"`
}

type leaseModel struct {
	BootServer      types.String `tfsdk:"boot_server"`
	Kind            types.String `tfsdk:"kind"`
	Address         types.String `tfsdk:"address"`
	PrefixLength    types.Int64  `tfsdk:"prefix_length"`
	ClientDUID      types.String `tfsdk:"client_duid"`
	IAID            types.Int64  `tfsdk:"iaid"`
	ValidUntil      types.String `tfsdk:"valid_until"`
	PreferredUntil  types.String `tfsdk:"preferred_until"`
	ClientArch      types.Int64  `tfsdk:"client_arch"`
	UserClass       types.String `tfsdk:"user_class"`
	HardwareAddress types.String `tfsdk:"hardware_address"`
}

func (d *leasesDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_leases"
}

func (d *leasesDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The active (unexpired) DHCPv6 leases on the agent, of one boot server or of all: " +
			"addresses (IA_NA), temporary addresses (IA_TA) and delegated prefixes (IA_PD). The agent returns " +
			"them in pages; every page is read, however many leases there are.",
		Attributes: map[string]schema.Attribute{
			"boot_server": schema.StringAttribute{
				MarkdownDescription: "Name of the boot server whose leases to list. Leave unset for every boot server's leases.",
				Optional:            true,
				Validators:          []validator.String{agentNameValidator()},
			},
			"leases": schema.ListNestedAttribute{
				MarkdownDescription: "The leases, by boot server.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"boot_server": schema.StringAttribute{
							MarkdownDescription: "Boot server that leased the address.",
							Computed:            true,
						},
						"kind": schema.StringAttribute{
							MarkdownDescription: "What is leased: `\"na\"` an address (IA_NA), `\"ta\"` a temporary " +
								"address (IA_TA) or `\"pd\"` a delegated prefix (IA_PD).",
							Computed: true,
						},
						"address": schema.StringAttribute{
							MarkdownDescription: "Leased IPv6 address, or the first address of the delegated prefix.",
							Computed:            true,
						},
						"prefix_length": schema.Int64Attribute{
							MarkdownDescription: "Length of the delegated prefix for kind `\"pd\"` (e.g. `64`), `128` for addresses.",
							Computed:            true,
						},
						"client_duid": schema.StringAttribute{
							MarkdownDescription: "Client DUID in hex, as dhclient and Kea print it.",
							Computed:            true,
						},
						"iaid": schema.Int64Attribute{
							MarkdownDescription: "Identity Association ID of the client's IA_NA, IA_TA or IA_PD.",
							Computed:            true,
						},
						"valid_until": schema.StringAttribute{
							MarkdownDescription: "When the lease expires, in RFC 3339 (UTC).",
							Computed:            true,
						},
						"preferred_until": schema.StringAttribute{
							MarkdownDescription: "When the address stops being preferred, in RFC 3339 (UTC).",
							Computed:            true,
						},
						"client_arch": schema.Int64Attribute{
							MarkdownDescription: "Client system architecture type (RFC 4578, e.g. 7 = x64 UEFI, " +
								"16 = x64 UEFI HTTP boot); 0 when the client sent none.",
							Computed: true,
						},
						"user_class": schema.StringAttribute{
							MarkdownDescription: "User class the client sent, e.g. `\"iPXE\"`; empty when none.",
							Computed:            true,
						},
						"hardware_address": schema.StringAttribute{
							MarkdownDescription: "Client link-layer address when known (from its DUID or relay), e.g. " +
								"`\"52:54:00:12:34:56\"`; empty otherwise.",
							Computed: true,
						},
					},
				},
			},
		},
	}
}

func (d *leasesDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	conn, diags := agentFromProviderData(req.ProviderData)
	resp.Diagnostics.Append(diags...)
	d.agent = conn
}

func (d *leasesDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m leasesModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if d.agent == nil {
		addNotConfigured(&resp.Diagnostics)
		return
	}
	leases, err := agentclient.All(ctx, d.agent.ListLeases, &netbootv1.ListLeasesRequest{BootServer: m.BootServer.ValueString()}, (*netbootv1.ListLeasesResponse).GetLeases)
	if status.Code(err) == codes.NotFound {
		resp.Diagnostics.AddAttributeError(path.Root("boot_server"), "Boot server not found",
			fmt.Sprintf("No boot server %q exists on the agent: %s", m.BootServer.ValueString(), status.Convert(err).Message()))
		return
	}
	if err != nil {
		addAgentError(&resp.Diagnostics, "boot server", "listing leases", err)
		return
	}
	m.Leases = make([]leaseModel, 0, len(leases))
	for _, l := range leases {
		m.Leases = append(m.Leases, leaseModel{
			BootServer:      types.StringValue(l.GetBootServer()),
			Kind:            types.StringValue(l.GetKind()),
			Address:         types.StringValue(l.GetAddress()),
			PrefixLength:    types.Int64Value(int64(l.GetPrefixLength())),
			ClientDUID:      types.StringValue(l.GetClientDuid()),
			IAID:            types.Int64Value(int64(l.GetIaid())),
			ValidUntil:      types.StringValue(rfc3339(l.GetValidUntilUnix())),
			PreferredUntil:  types.StringValue(rfc3339(l.GetPreferredUntilUnix())),
			ClientArch:      types.Int64Value(int64(l.GetClientArch())),
			UserClass:       types.StringValue(l.GetUserClass()),
			HardwareAddress: types.StringValue(l.GetHardwareAddress()),
		})
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func rfc3339(unix int64) string {
	return time.Unix(unix, 0).UTC().Format(time.RFC3339)
}
