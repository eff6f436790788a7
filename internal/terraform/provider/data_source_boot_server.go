package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netbootlab/terraform-provider-netboot/internal/terraform/provider/ipv6types"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/agentclient"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

var _ datasource.DataSourceWithConfigure = &bootServerDataSource{}

func newBootServerDataSource() datasource.DataSource { return &bootServerDataSource{} }

// bootServerDataSource reads one boot server by name, e.g. one managed in
// another Terraform configuration, to use its addresses or boot URL.
type bootServerDataSource struct {
	agent *agentclient.Conn
}

func (d *bootServerDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_boot_server"
}

func computedSeconds(description string) schema.Int64Attribute {
	return schema.Int64Attribute{MarkdownDescription: description + ", in seconds.", Computed: true}
}

func computedRanges(description string) schema.ListNestedAttribute {
	return schema.ListNestedAttribute{
		MarkdownDescription: description,
		Computed:            true,
		NestedObject: schema.NestedAttributeObject{
			Attributes: map[string]schema.Attribute{
				"start": schema.StringAttribute{MarkdownDescription: "First address.", CustomType: ipv6types.AddressType{}, Computed: true},
				"end":   schema.StringAttribute{MarkdownDescription: "Last address.", CustomType: ipv6types.AddressType{}, Computed: true},
			},
		},
	}
}

func computedPrefixDelegation(description string) schema.SingleNestedAttribute {
	return schema.SingleNestedAttribute{
		MarkdownDescription: description,
		Computed:            true,
		Attributes: map[string]schema.Attribute{
			"start":  schema.StringAttribute{MarkdownDescription: "Address of the first delegated prefix.", CustomType: ipv6types.AddressType{}, Computed: true},
			"end":    schema.StringAttribute{MarkdownDescription: "Address of the last delegated prefix.", CustomType: ipv6types.AddressType{}, Computed: true},
			"length": schema.Int64Attribute{MarkdownDescription: "Length of each delegated prefix.", Computed: true},
		},
	}
}

func (d *bootServerDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "One boot server on the agent, as the `netboot_ipv6_boot_server` resource describes it, " +
			"with what the agent observes on its interface.",
		Attributes: map[string]schema.Attribute{
			"name": schema.StringAttribute{
				MarkdownDescription: "Name of the boot server.",
				Required:            true,
				Validators:          []validator.String{agentNameValidator()},
			},
			"id":        schema.StringAttribute{MarkdownDescription: "The boot server's name.", Computed: true},
			"interface": schema.StringAttribute{MarkdownDescription: "Network interface served.", Computed: true},
			"prefix": schema.StringAttribute{
				MarkdownDescription: "On-link IPv6 /64 advertised and leased from.",
				CustomType:          ipv6types.PrefixType{},
				Computed:            true,
			},
			"router_advertisement": schema.SingleNestedAttribute{
				MarkdownDescription: "Router Advertisement settings.",
				Computed:            true,
				Attributes: map[string]schema.Attribute{
					"managed":                   schema.BoolAttribute{MarkdownDescription: "The Managed (M) flag.", Computed: true},
					"other_config":              schema.BoolAttribute{MarkdownDescription: "The Other configuration (O) flag.", Computed: true},
					"min_interval":              computedSeconds("Minimum time between unsolicited RAs"),
					"max_interval":              computedSeconds("Maximum time between unsolicited RAs"),
					"router_lifetime":           computedSeconds("Router lifetime (0: not a default router)"),
					"prefix_on_link":            schema.BoolAttribute{MarkdownDescription: "The prefix's on-link (L) flag.", Computed: true},
					"prefix_autonomous":         schema.BoolAttribute{MarkdownDescription: "The prefix's autonomous (A) flag.", Computed: true},
					"prefix_valid_lifetime":     computedSeconds("Valid lifetime of the advertised prefix"),
					"prefix_preferred_lifetime": computedSeconds("Preferred lifetime of the advertised prefix"),
					"rdnss": schema.ListAttribute{
						MarkdownDescription: "Recursive DNS servers advertised.",
						ElementType:         ipv6types.AddressType{},
						Computed:            true,
					},
					"dnssl":        schema.ListAttribute{MarkdownDescription: "DNS search domains advertised.", ElementType: types.StringType, Computed: true},
					"dns_lifetime": computedSeconds("Lifetime of the RDNSS and DNSSL options"),
				},
			},
			"dhcpv6": schema.SingleNestedAttribute{
				MarkdownDescription: "DHCPv6 server settings.",
				Computed:            true,
				Attributes: map[string]schema.Attribute{
					"mode":              schema.StringAttribute{MarkdownDescription: "`stateful`, `stateless` or `off`.", Computed: true},
					"ranges":            computedRanges("Inclusive address ranges IA_NA addresses are leased from."),
					"temporary_ranges":  computedRanges("Inclusive address ranges IA_TA temporary addresses are leased from."),
					"prefix_delegation": computedPrefixDelegation("Prefixes delegated by IA_PD; null when none are."),
					"dns_servers": schema.ListAttribute{
						MarkdownDescription: "DNS servers sent to clients.",
						ElementType:         ipv6types.AddressType{},
						Computed:            true,
					},
					"domain_search":      schema.ListAttribute{MarkdownDescription: "Search domains sent to clients.", ElementType: types.StringType, Computed: true},
					"preference":         schema.Int64Attribute{MarkdownDescription: "Server preference (0-255).", Computed: true},
					"renew_time":         computedSeconds("T1"),
					"rebind_time":        computedSeconds("T2"),
					"preferred_lifetime": computedSeconds("Preferred lifetime of leased addresses"),
					"valid_lifetime":     computedSeconds("Valid lifetime of leased addresses"),
					"info_refresh_time":  computedSeconds("Information refresh time (0: client default)"),
					"rapid_commit":       schema.BoolAttribute{MarkdownDescription: "Whether Rapid Commit is honoured.", Computed: true},
					"relayed_links": schema.MapNestedAttribute{
						MarkdownDescription: "Links behind DHCPv6 relays also served, by name.",
						Computed:            true,
						NestedObject: schema.NestedAttributeObject{
							Attributes: map[string]schema.Attribute{
								"prefix":            schema.StringAttribute{MarkdownDescription: "The link's on-link /64.", CustomType: ipv6types.PrefixType{}, Computed: true},
								"ranges":            computedRanges("Inclusive address ranges the link's IA_NA addresses are leased from."),
								"temporary_ranges":  computedRanges("Inclusive address ranges the link's IA_TA temporary addresses are leased from."),
								"prefix_delegation": computedPrefixDelegation("Prefixes delegated by IA_PD to the link's routers; null when none are."),
								"dns_servers": schema.ListAttribute{
									MarkdownDescription: "DNS servers sent to the link's clients; empty: `dhcpv6.dns_servers`.",
									ElementType:         ipv6types.AddressType{},
									Computed:            true,
								},
								"domain_search": schema.ListAttribute{MarkdownDescription: "Search domains sent to the link's clients; empty: `dhcpv6.domain_search`.", ElementType: types.StringType, Computed: true},
								"interface_id":  schema.StringAttribute{MarkdownDescription: "Interface-Id naming the link for a relay without a link-address; empty: none.", Computed: true},
							},
						},
					},
					"rate_limit": schema.SingleNestedAttribute{
						MarkdownDescription: "Per-client limits on DHCPv6 messages; `0` means that bucket is off.",
						Computed:            true,
						Attributes: map[string]schema.Attribute{
							"per_client_per_second": schema.Int64Attribute{MarkdownDescription: "Messages per second one client DUID may send after its burst.", Computed: true},
							"burst":                 schema.Int64Attribute{MarkdownDescription: "Messages one client DUID may send at once.", Computed: true},
							"per_source_per_second": schema.Int64Attribute{MarkdownDescription: "Messages per second one source address may send after its burst.", Computed: true},
							"per_source_burst":      schema.Int64Attribute{MarkdownDescription: "Messages one source address may send at once.", Computed: true},
							"per_relay_per_second":  schema.Int64Attribute{MarkdownDescription: "Relay-Forwards per second one relay address may send after its burst.", Computed: true},
							"per_relay_burst":       schema.Int64Attribute{MarkdownDescription: "Relay-Forwards one relay address may send at once.", Computed: true},
						},
					},
					"allow_leasequery":      schema.BoolAttribute{MarkdownDescription: "Whether RFC 5007 LEASEQUERY is answered.", Computed: true},
					"max_ias_per_message":   schema.Int64Attribute{MarkdownDescription: "IAs of one Solicit or Request that are served (0: no limit).", Computed: true},
					"max_leases_per_client": schema.Int64Attribute{MarkdownDescription: "Addresses and prefixes one client DUID may hold at once (0: no limit).", Computed: true},
				},
			},
			"boot": schema.SingleNestedAttribute{
				MarkdownDescription: "Boot-file rules and the TFTP and HTTP servers.",
				Computed:            true,
				Attributes: map[string]schema.Attribute{
					"tftp": schema.BoolAttribute{MarkdownDescription: "Whether artifacts are served over TFTP.", Computed: true},
					"tftp_max_transfers": schema.Int64Attribute{
						MarkdownDescription: "Most TFTP transfers in progress at once, from all clients.", Computed: true,
					},
					"tftp_max_transfers_per_client": schema.Int64Attribute{
						MarkdownDescription: "Most TFTP transfers in progress at once to one client address.", Computed: true,
					},
					"http":      schema.BoolAttribute{MarkdownDescription: "Whether artifacts are served over HTTP.", Computed: true},
					"http_port": schema.Int64Attribute{MarkdownDescription: "TCP port of the HTTP server.", Computed: true},
					"https": schema.SingleNestedAttribute{
						MarkdownDescription: "The HTTPS server: the same files as HTTP over TLS.",
						Computed:            true,
						Attributes: map[string]schema.Attribute{
							"enabled":         schema.BoolAttribute{MarkdownDescription: "Whether the files are served over HTTPS too.", Computed: true},
							"port":            schema.Int64Attribute{MarkdownDescription: "TCP port of the HTTPS server.", Computed: true},
							"certificate_pem": schema.StringAttribute{MarkdownDescription: "The server certificate and its intermediates, PEM; null when none is set.", Computed: true},
							"private_key_pem": schema.StringAttribute{MarkdownDescription: "The certificate's private key, PEM; null when none is set, or when the provider reads the agent with a read-only certificate.", Computed: true, Sensitive: true},
						},
					},
					"server_address": schema.StringAttribute{
						MarkdownDescription: "Address put in boot URLs; null when the agent picks the interface's.",
						CustomType:          ipv6types.AddressType{},
						Computed:            true,
					},
					"rules": schema.ListNestedAttribute{
						MarkdownDescription: "Boot-file rules; the most specific matching rule wins, the first listed between equals (see `netboot_ipv6_boot_server`'s `boot.rules`).",
						Computed:            true,
						NestedObject: schema.NestedAttributeObject{
							Attributes: map[string]schema.Attribute{
								"user_class":   schema.StringAttribute{MarkdownDescription: "User Class (option 15) matched; null matches any.", Computed: true},
								"arch":         schema.SetAttribute{MarkdownDescription: "Client architecture types (option 61) matched; null matches any.", ElementType: types.Int64Type, Computed: true},
								"vendor_class": schema.StringAttribute{MarkdownDescription: "Vendor Class (option 16) substring matched; null matches any.", Computed: true},
								"duids":        schema.SetAttribute{MarkdownDescription: "Client DUIDs (hex) matched; null matches any.", ElementType: types.StringType, Computed: true},
								"macs":         schema.SetAttribute{MarkdownDescription: "Client MAC addresses matched; null matches any.", ElementType: types.StringType, Computed: true},
								"labels":       schema.MapAttribute{MarkdownDescription: "Labels of the machines matched; null matches any client.", ElementType: types.StringType, Computed: true},
								"file":         schema.StringAttribute{MarkdownDescription: "Artifact path offered, fetched over `via`.", Computed: true},
								"via":          schema.StringAttribute{MarkdownDescription: "`tftp` or `http`, for `file`.", Computed: true},
								"url":          schema.StringAttribute{MarkdownDescription: "Absolute boot-file URL offered instead of `file`.", Computed: true},
								"parameters":   schema.ListAttribute{MarkdownDescription: "Boot-file parameters (option 60).", ElementType: types.StringType, Computed: true},
							},
						},
					},
				},
			},
			"link_local_address": schema.StringAttribute{MarkdownDescription: "Link-local address of `interface`; empty while it is missing.", Computed: true},
			"global_addresses": schema.ListAttribute{
				MarkdownDescription: "Global addresses configured on `interface`, sorted.",
				ElementType:         types.StringType,
				Computed:            true,
			},
			"server_duid": schema.StringAttribute{MarkdownDescription: "DHCPv6 server DUID, in hex; empty when DHCPv6 is off.", Computed: true},
			"machine_dns": schema.BoolAttribute{
				MarkdownDescription: "Whether the boot server answers DNS for machines' host names.",
				Computed:            true,
			},
			"boot_url_base": schema.StringAttribute{
				MarkdownDescription: "HTTP base URL of the boot files, `http://[<address>]` (with `:<port>` unless 80); " +
					"empty when HTTP is off or there is no address.",
				Computed: true,
			},
			"tftp_url_base": schema.StringAttribute{
				MarkdownDescription: "TFTP base URL of the boot files, `tftp://[<address>]`; empty when TFTP is off or there is no address.",
				Computed:            true,
			},
			"https_url_base": schema.StringAttribute{
				MarkdownDescription: "HTTPS base URL of the boot files, `https://[<address>]` (with `:<port>` unless 443); " +
					"empty when HTTPS is off or there is no address.",
				Computed: true,
			},
			"other_servers": schema.ListNestedAttribute{
				MarkdownDescription: "Other routers and DHCPv6 servers the agent heard on `interface` in the last hour, " +
					"routers first: clients may take their configuration from them instead of this boot server. " +
					"Routers are heard by their Router Advertisements; DHCPv6 servers by their answers to the Solicit " +
					"the agent sends as a probe every few minutes (`agent --dhcpv6-probe-interval`). Empty when there is none; " +
					"a `check` block can warn when it is not (see the example).",
				Computed: true,
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"protocol": schema.StringAttribute{MarkdownDescription: "`router_advertisement` or `dhcpv6`.", Computed: true},
						"source_address": schema.StringAttribute{
							MarkdownDescription: "IPv6 source address of its messages (link-local).",
							CustomType:          ipv6types.AddressType{},
							Computed:            true,
						},
						"link_layer_address": schema.StringAttribute{
							MarkdownDescription: "Its MAC address, from the RA's source link-layer address option or an Ethernet DUID; empty when unknown.",
							Computed:            true,
						},
						"duid": schema.StringAttribute{MarkdownDescription: "The DHCPv6 server's DUID, in hex; empty for a router.", Computed: true},
						"offers": schema.ListAttribute{
							MarkdownDescription: "What its last message offered, one item each: flags, prefixes and lifetimes of an RA; " +
								"addresses, DNS servers and boot-file URL of a DHCPv6 Advertise.",
							ElementType: types.StringType,
							Computed:    true,
						},
						"conflicts": schema.ListAttribute{
							MarkdownDescription: "How its last Router Advertisement contradicts this boot server's (RFC 4861 section 6.2.7: " +
								"M/O flags, hop limit, reachable time, retransmit timer, MTU, valid and preferred lifetimes of a shared prefix), " +
								"or that it advertises a SLAAC prefix this boot server does not; empty when it agrees.",
							ElementType: types.StringType,
							Computed:    true,
						},
						"first_seen": schema.StringAttribute{MarkdownDescription: "When it was first heard (RFC 3339).", Computed: true},
						"last_seen":  schema.StringAttribute{MarkdownDescription: "When it was last heard (RFC 3339).", Computed: true},
						"messages":   schema.Int64Attribute{MarkdownDescription: "Messages received from it.", Computed: true},
					},
				},
			},
		},
	}
}

// bootServerDataSourceModel is the resource's model plus what only the
// data source reads.
type bootServerDataSourceModel struct {
	bootServerModel
	OtherServers types.List `tfsdk:"other_servers"`
}

type otherServerModel struct {
	Protocol         types.String      `tfsdk:"protocol"`
	SourceAddress    ipv6types.Address `tfsdk:"source_address"`
	LinkLayerAddress types.String      `tfsdk:"link_layer_address"`
	DUID             types.String      `tfsdk:"duid"`
	Offers           types.List        `tfsdk:"offers"`
	Conflicts        types.List        `tfsdk:"conflicts"`
	FirstSeen        types.String      `tfsdk:"first_seen"`
	LastSeen         types.String      `tfsdk:"last_seen"`
	Messages         types.Int64       `tfsdk:"messages"`
}

var otherServerObjectType = types.ObjectType{AttrTypes: map[string]attr.Type{
	"protocol":           types.StringType,
	"source_address":     ipv6types.AddressType{},
	"link_layer_address": types.StringType,
	"duid":               types.StringType,
	"offers":             types.ListType{ElemType: types.StringType},
	"conflicts":          types.ListType{ElemType: types.StringType},
	"first_seen":         types.StringType,
	"last_seen":          types.StringType,
	"messages":           types.Int64Type,
}}

func otherServersFromProto(ctx context.Context, in []*netbootv1.OtherServer) (types.List, diag.Diagnostics) {
	elems := make([]otherServerModel, len(in))
	for i, o := range in {
		elems[i] = otherServerModel{
			Protocol:         types.StringValue(o.GetProtocol()),
			SourceAddress:    ipv6types.NewAddressValue(o.GetSourceAddress()),
			LinkLayerAddress: types.StringValue(o.GetLinkLayerAddress()),
			DUID:             types.StringValue(o.GetDuid()),
			Offers:           stringList(o.GetOffers()),
			Conflicts:        stringList(o.GetConflicts()),
			FirstSeen:        types.StringValue(time.Unix(o.GetFirstSeenUnix(), 0).UTC().Format(time.RFC3339)),
			LastSeen:         types.StringValue(time.Unix(o.GetLastSeenUnix(), 0).UTC().Format(time.RFC3339)),
			Messages:         types.Int64Value(int64(o.GetMessages())),
		}
	}
	return types.ListValueFrom(ctx, otherServerObjectType, elems)
}

func (d *bootServerDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	conn, diags := agentFromProviderData(req.ProviderData)
	resp.Diagnostics.Append(diags...)
	d.agent = conn
}

func (d *bootServerDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m bootServerDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if d.agent == nil {
		addNotConfigured(&resp.Diagnostics)
		return
	}
	name := m.Name.ValueString()
	st, err := d.agent.GetBootServer(ctx, &netbootv1.GetBootServerRequest{Name: name})
	if status.Code(err) == codes.NotFound {
		resp.Diagnostics.AddAttributeError(path.Root("name"), "Boot server not found",
			fmt.Sprintf("No boot server %q exists on the agent.", name))
		return
	}
	if err != nil {
		addAgentError(&resp.Diagnostics, "boot server", fmt.Sprintf("reading boot server %q", name), err)
		return
	}
	resp.Diagnostics.Append(m.fromProto(ctx, st)...)
	others, diags := otherServersFromProto(ctx, st.GetStatus().GetOtherServers())
	resp.Diagnostics.Append(diags...)
	m.OtherServers = others
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
