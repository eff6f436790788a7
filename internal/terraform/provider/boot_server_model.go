package provider

import (
	"context"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"google.golang.org/protobuf/proto"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/terraform/provider/ipv6types"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// bootServerModel is a boot server as Terraform holds it, shared by the
// netboot_ipv6_boot_server resource and the netboot_boot_server data source.
type bootServerModel struct {
	ID                  types.String     `tfsdk:"id"`
	Name                types.String     `tfsdk:"name"`
	Interface           types.String     `tfsdk:"interface"`
	Prefix              ipv6types.Prefix `tfsdk:"prefix"`
	RouterAdvertisement types.Object     `tfsdk:"router_advertisement"`
	DHCPv6              types.Object     `tfsdk:"dhcpv6"`
	Boot                types.Object     `tfsdk:"boot"`
	MachineDNS          types.Bool       `tfsdk:"machine_dns"`
	LinkLocalAddress    types.String     `tfsdk:"link_local_address"`
	GlobalAddresses     types.List       `tfsdk:"global_addresses"`
	ServerDUID          types.String     `tfsdk:"server_duid"`
	BootURLBase         types.String     `tfsdk:"boot_url_base"`
	TFTPURLBase         types.String     `tfsdk:"tftp_url_base"`
	HTTPSURLBase        types.String     `tfsdk:"https_url_base"`
}

type routerAdvertisementModel struct {
	Managed                 types.Bool  `tfsdk:"managed"`
	OtherConfig             types.Bool  `tfsdk:"other_config"`
	MinInterval             types.Int64 `tfsdk:"min_interval"`
	MaxInterval             types.Int64 `tfsdk:"max_interval"`
	RouterLifetime          types.Int64 `tfsdk:"router_lifetime"`
	PrefixOnLink            types.Bool  `tfsdk:"prefix_on_link"`
	PrefixAutonomous        types.Bool  `tfsdk:"prefix_autonomous"`
	PrefixValidLifetime     types.Int64 `tfsdk:"prefix_valid_lifetime"`
	PrefixPreferredLifetime types.Int64 `tfsdk:"prefix_preferred_lifetime"`
	RDNSS                   types.List  `tfsdk:"rdnss"`
	DNSSL                   types.List  `tfsdk:"dnssl"`
	DNSLifetime             types.Int64 `tfsdk:"dns_lifetime"`
}

type dhcpv6Model struct {
	Mode               types.String `tfsdk:"mode"`
	Ranges             types.List   `tfsdk:"ranges"`
	TemporaryRanges    types.List   `tfsdk:"temporary_ranges"`
	PrefixDelegation   types.Object `tfsdk:"prefix_delegation"`
	DNSServers         types.List   `tfsdk:"dns_servers"`
	DomainSearch       types.List   `tfsdk:"domain_search"`
	Preference         types.Int64  `tfsdk:"preference"`
	RenewTime          types.Int64  `tfsdk:"renew_time"`
	RebindTime         types.Int64  `tfsdk:"rebind_time"`
	PreferredLifetime  types.Int64  `tfsdk:"preferred_lifetime"`
	ValidLifetime      types.Int64  `tfsdk:"valid_lifetime"`
	InfoRefreshTime    types.Int64  `tfsdk:"info_refresh_time"`
	RapidCommit        types.Bool   `tfsdk:"rapid_commit"`
	RateLimit          types.Object `tfsdk:"rate_limit"`
	AllowLeasequery    types.Bool   `tfsdk:"allow_leasequery"`
	MaxIAsPerMessage   types.Int64  `tfsdk:"max_ias_per_message"`
	MaxLeasesPerClient types.Int64  `tfsdk:"max_leases_per_client"`
	RelayedLinks       types.Map    `tfsdk:"relayed_links"`
}

// relayedLinkModel is one element of dhcpv6.relayed_links.
type relayedLinkModel struct {
	Prefix           ipv6types.Prefix `tfsdk:"prefix"`
	Ranges           types.List       `tfsdk:"ranges"`
	TemporaryRanges  types.List       `tfsdk:"temporary_ranges"`
	PrefixDelegation types.Object     `tfsdk:"prefix_delegation"`
	DNSServers       types.List       `tfsdk:"dns_servers"`
	DomainSearch     types.List       `tfsdk:"domain_search"`
	InterfaceID      types.String     `tfsdk:"interface_id"`
}

// rateLimitModel is dhcpv6.rate_limit.
type rateLimitModel struct {
	PerClientPerSecond types.Int64 `tfsdk:"per_client_per_second"`
	Burst              types.Int64 `tfsdk:"burst"`
	PerSourcePerSecond types.Int64 `tfsdk:"per_source_per_second"`
	PerSourceBurst     types.Int64 `tfsdk:"per_source_burst"`
	PerRelayPerSecond  types.Int64 `tfsdk:"per_relay_per_second"`
	PerRelayBurst      types.Int64 `tfsdk:"per_relay_burst"`
}

type addressRangeModel struct {
	Start ipv6types.Address `tfsdk:"start"`
	End   ipv6types.Address `tfsdk:"end"`
}

// prefixDelegationModel is dhcpv6.prefix_delegation, dhcpd6.conf's prefix6.
type prefixDelegationModel struct {
	Start  ipv6types.Address `tfsdk:"start"`
	End    ipv6types.Address `tfsdk:"end"`
	Length types.Int64       `tfsdk:"length"`
}

var (
	addressListType = types.ListType{ElemType: ipv6types.AddressType{}}
	stringListType  = types.ListType{ElemType: types.StringType}

	addressRangeObjectType = types.ObjectType{AttrTypes: map[string]attr.Type{
		"start": ipv6types.AddressType{},
		"end":   ipv6types.AddressType{},
	}}

	relayedLinkObjectType = types.ObjectType{AttrTypes: map[string]attr.Type{
		"prefix":            ipv6types.PrefixType{},
		"ranges":            types.ListType{ElemType: addressRangeObjectType},
		"temporary_ranges":  types.ListType{ElemType: addressRangeObjectType},
		"prefix_delegation": types.ObjectType{AttrTypes: prefixDelegationAttrTypes},
		"dns_servers":       addressListType,
		"domain_search":     stringListType,
		"interface_id":      types.StringType,
	}}

	prefixDelegationAttrTypes = map[string]attr.Type{
		"start":  ipv6types.AddressType{},
		"end":    ipv6types.AddressType{},
		"length": types.Int64Type,
	}

	rateLimitAttrTypes = map[string]attr.Type{
		"per_client_per_second": types.Int64Type,
		"burst":                 types.Int64Type,
		"per_source_per_second": types.Int64Type,
		"per_source_burst":      types.Int64Type,
		"per_relay_per_second":  types.Int64Type,
		"per_relay_burst":       types.Int64Type,
	}

	routerAdvertisementAttrTypes = map[string]attr.Type{
		"managed":                   types.BoolType,
		"other_config":              types.BoolType,
		"min_interval":              types.Int64Type,
		"max_interval":              types.Int64Type,
		"router_lifetime":           types.Int64Type,
		"prefix_on_link":            types.BoolType,
		"prefix_autonomous":         types.BoolType,
		"prefix_valid_lifetime":     types.Int64Type,
		"prefix_preferred_lifetime": types.Int64Type,
		"rdnss":                     addressListType,
		"dnssl":                     stringListType,
		"dns_lifetime":              types.Int64Type,
	}

	dhcpv6AttrTypes = map[string]attr.Type{
		"mode":                  types.StringType,
		"ranges":                types.ListType{ElemType: addressRangeObjectType},
		"temporary_ranges":      types.ListType{ElemType: addressRangeObjectType},
		"prefix_delegation":     types.ObjectType{AttrTypes: prefixDelegationAttrTypes},
		"dns_servers":           addressListType,
		"domain_search":         stringListType,
		"preference":            types.Int64Type,
		"renew_time":            types.Int64Type,
		"rebind_time":           types.Int64Type,
		"preferred_lifetime":    types.Int64Type,
		"valid_lifetime":        types.Int64Type,
		"info_refresh_time":     types.Int64Type,
		"rapid_commit":          types.BoolType,
		"rate_limit":            types.ObjectType{AttrTypes: rateLimitAttrTypes},
		"allow_leasequery":      types.BoolType,
		"max_ias_per_message":   types.Int64Type,
		"max_leases_per_client": types.Int64Type,
		"relayed_links":         types.MapType{ElemType: relayedLinkObjectType},
	}
)

// defaultRouterAdvertisement is router_advertisement when it is left out.
// managed and other_config stay null here: ModifyPlan derives them from
// dhcpv6.mode, which a static default cannot see.
func defaultRouterAdvertisement() types.Object {
	d := config.Defaults
	return types.ObjectValueMust(routerAdvertisementAttrTypes, map[string]attr.Value{
		"managed":                   types.BoolNull(),
		"other_config":              types.BoolNull(),
		"min_interval":              secondsValue(d.MinInterval),
		"max_interval":              secondsValue(d.MaxInterval),
		"router_lifetime":           secondsValue(d.RouterLifetime),
		"prefix_on_link":            types.BoolValue(true),
		"prefix_autonomous":         types.BoolValue(true),
		"prefix_valid_lifetime":     secondsValue(d.PrefixValidLifetime),
		"prefix_preferred_lifetime": secondsValue(d.PrefixPreferredLifetime),
		"rdnss":                     types.ListValueMust(ipv6types.AddressType{}, []attr.Value{}),
		"dnssl":                     types.ListValueMust(types.StringType, []attr.Value{}),
		"dns_lifetime":              secondsValue(d.DNSLifetime),
	})
}

// defaultDHCPv6 is dhcpv6 when it is left out.
func defaultDHCPv6() types.Object {
	d := config.Defaults
	return types.ObjectValueMust(dhcpv6AttrTypes, map[string]attr.Value{
		"mode":                  types.StringValue(string(d.DHCPv6Mode)),
		"ranges":                types.ListValueMust(addressRangeObjectType, []attr.Value{}),
		"temporary_ranges":      types.ListValueMust(addressRangeObjectType, []attr.Value{}),
		"prefix_delegation":     types.ObjectNull(prefixDelegationAttrTypes),
		"dns_servers":           types.ListValueMust(ipv6types.AddressType{}, []attr.Value{}),
		"domain_search":         types.ListValueMust(types.StringType, []attr.Value{}),
		"preference":            types.Int64Value(int64(d.Preference)),
		"renew_time":            secondsValue(d.RenewTime),
		"rebind_time":           secondsValue(d.RebindTime),
		"preferred_lifetime":    secondsValue(d.PreferredLifetime),
		"valid_lifetime":        secondsValue(d.ValidLifetime),
		"info_refresh_time":     secondsValue(0),
		"rapid_commit":          types.BoolValue(false),
		"rate_limit":            rateLimitValue(d.RateLimit),
		"allow_leasequery":      types.BoolValue(false),
		"max_ias_per_message":   types.Int64Value(int64(d.MaxIAsPerMessage)),
		"max_leases_per_client": types.Int64Value(int64(d.MaxLeasesPerClient)),
		"relayed_links":         types.MapValueMust(relayedLinkObjectType, map[string]attr.Value{}),
	})
}

// rateLimitValue is dhcpv6.rate_limit holding rl.
func rateLimitValue(rl config.RateLimit) types.Object {
	return types.ObjectValueMust(rateLimitAttrTypes, map[string]attr.Value{
		"per_client_per_second": types.Int64Value(int64(rl.PerClientPerSecond)),
		"burst":                 types.Int64Value(int64(rl.Burst)),
		"per_source_per_second": types.Int64Value(int64(rl.PerSourcePerSecond)),
		"per_source_burst":      types.Int64Value(int64(rl.PerSourceBurst)),
		"per_relay_per_second":  types.Int64Value(int64(rl.PerRelayPerSecond)),
		"per_relay_burst":       types.Int64Value(int64(rl.PerRelayBurst)),
	})
}

func secondsValue(d time.Duration) types.Int64 { return types.Int64Value(int64(d / time.Second)) }

// raFlagsFor is what RA flags dhcpv6.mode needs: M=1 makes clients such as
// iPXE Solicit an address, O=1 makes them ask for options.
func raFlagsFor(mode config.DHCPv6Mode) (managed, otherConfig bool) {
	switch mode {
	case config.DHCPv6Stateful:
		return true, true
	case config.DHCPv6Stateless:
		return false, true
	default:
		return false, false
	}
}

// dhcpv6Mode is dhcpv6.mode with the default applied; unknown while the
// mode (or the whole block) is.
func (m *bootServerModel) dhcpv6Mode(ctx context.Context) types.String {
	if m.DHCPv6.IsUnknown() {
		return types.StringUnknown()
	}
	if m.DHCPv6.IsNull() {
		return types.StringValue(string(config.Defaults.DHCPv6Mode))
	}
	var d dhcpv6Model
	if diags := m.DHCPv6.As(ctx, &d, basetypes.ObjectAsOptions{}); diags.HasError() {
		return types.StringUnknown()
	}
	if d.Mode.IsNull() {
		return types.StringValue(string(config.Defaults.DHCPv6Mode))
	}
	return d.Mode
}

// deriveRAFlags sets managed and other_config, where cfg leaves them null,
// to what dhcpv6.mode needs.
func (m *bootServerModel) deriveRAFlags(ctx context.Context, cfg bootServerModel) diag.Diagnostics {
	var diags diag.Diagnostics
	if m.RouterAdvertisement.IsNull() || m.RouterAdvertisement.IsUnknown() {
		return diags
	}
	var ra, cfgRA routerAdvertisementModel
	diags.Append(m.RouterAdvertisement.As(ctx, &ra, basetypes.ObjectAsOptions{})...)
	if !cfg.RouterAdvertisement.IsNull() && !cfg.RouterAdvertisement.IsUnknown() {
		diags.Append(cfg.RouterAdvertisement.As(ctx, &cfgRA, basetypes.ObjectAsOptions{})...)
	}
	if diags.HasError() {
		return diags
	}
	managed, otherConfig := types.BoolUnknown(), types.BoolUnknown()
	if mode := m.dhcpv6Mode(ctx); !mode.IsUnknown() {
		mm, oo := raFlagsFor(config.DHCPv6Mode(mode.ValueString()))
		managed, otherConfig = types.BoolValue(mm), types.BoolValue(oo)
	}
	if cfgRA.Managed.IsNull() {
		ra.Managed = managed
	}
	if cfgRA.OtherConfig.IsNull() {
		ra.OtherConfig = otherConfig
	}
	obj, d := types.ObjectValueFrom(ctx, routerAdvertisementAttrTypes, ra)
	diags.Append(d...)
	m.RouterAdvertisement = obj
	return diags
}

// toProto builds the API object, filling in defaults for null values so it
// works on a raw configuration (validation) as well as on a plan.
func (m *bootServerModel) toProto(ctx context.Context) (*netbootv1.BootServer, diag.Diagnostics) {
	var diags diag.Diagnostics
	var ra routerAdvertisementModel
	if !m.RouterAdvertisement.IsNull() && !m.RouterAdvertisement.IsUnknown() {
		diags.Append(m.RouterAdvertisement.As(ctx, &ra, basetypes.ObjectAsOptions{})...)
	}
	var dh dhcpv6Model
	if !m.DHCPv6.IsNull() && !m.DHCPv6.IsUnknown() {
		diags.Append(m.DHCPv6.As(ctx, &dh, basetypes.ObjectAsOptions{})...)
	}
	if diags.HasError() {
		return nil, diags
	}

	d := config.Defaults
	mode := string(d.DHCPv6Mode)
	if !dh.Mode.IsNull() && !dh.Mode.IsUnknown() {
		mode = dh.Mode.ValueString()
	}
	managed, otherConfig := raFlagsFor(config.DHCPv6Mode(mode))
	raPath, dhPath := path.Root("router_advertisement"), path.Root("dhcpv6")
	num := func(v types.Int64, def uint32, p path.Path) uint32 {
		if v.IsNull() || v.IsUnknown() {
			return def
		}
		return uint32Of(&diags, v.ValueInt64(), p)
	}
	secs := func(v types.Int64, def time.Duration, p path.Path) uint32 {
		return num(v, uint32(def/time.Second), p)
	}

	pb := &netbootv1.BootServer{
		Name:       m.Name.ValueString(),
		Interface:  m.Interface.ValueString(),
		Prefix:     m.Prefix.ValueString(),
		MachineDns: boolOr(m.MachineDNS, false),
		RouterAdvertisement: &netbootv1.RouterAdvertisement{
			Managed:                        boolOr(ra.Managed, managed),
			OtherConfig:                    boolOr(ra.OtherConfig, otherConfig),
			MinIntervalSeconds:             secs(ra.MinInterval, d.MinInterval, raPath.AtName("min_interval")),
			MaxIntervalSeconds:             secs(ra.MaxInterval, d.MaxInterval, raPath.AtName("max_interval")),
			RouterLifetimeSeconds:          secs(ra.RouterLifetime, d.RouterLifetime, raPath.AtName("router_lifetime")),
			PrefixOnLink:                   boolOr(ra.PrefixOnLink, true),
			PrefixAutonomous:               boolOr(ra.PrefixAutonomous, true),
			PrefixValidLifetimeSeconds:     secs(ra.PrefixValidLifetime, d.PrefixValidLifetime, raPath.AtName("prefix_valid_lifetime")),
			PrefixPreferredLifetimeSeconds: secs(ra.PrefixPreferredLifetime, d.PrefixPreferredLifetime, raPath.AtName("prefix_preferred_lifetime")),
			Rdnss:                          listStrings(ctx, ra.RDNSS),
			Dnssl:                          listStrings(ctx, ra.DNSSL),
			DnsLifetimeSeconds:             secs(ra.DNSLifetime, d.DNSLifetime, raPath.AtName("dns_lifetime")),
		},
		Dhcpv6: &netbootv1.DHCPv6{
			Mode:                     mode,
			DnsServers:               listStrings(ctx, dh.DNSServers),
			DomainSearch:             listStrings(ctx, dh.DomainSearch),
			Preference:               num(dh.Preference, uint32(d.Preference), dhPath.AtName("preference")),
			RenewTimeSeconds:         secs(dh.RenewTime, d.RenewTime, dhPath.AtName("renew_time")),
			RebindTimeSeconds:        secs(dh.RebindTime, d.RebindTime, dhPath.AtName("rebind_time")),
			PreferredLifetimeSeconds: secs(dh.PreferredLifetime, d.PreferredLifetime, dhPath.AtName("preferred_lifetime")),
			ValidLifetimeSeconds:     secs(dh.ValidLifetime, d.ValidLifetime, dhPath.AtName("valid_lifetime")),
			InfoRefreshTimeSeconds:   secs(dh.InfoRefreshTime, 0, dhPath.AtName("info_refresh_time")),
			RapidCommit:              boolOr(dh.RapidCommit, false),
			AllowLeasequery:          boolOr(dh.AllowLeasequery, false),
			MaxIasPerMessage:         proto.Uint32(num(dh.MaxIAsPerMessage, uint32(d.MaxIAsPerMessage), dhPath.AtName("max_ias_per_message"))),
			MaxLeasesPerClient:       proto.Uint32(num(dh.MaxLeasesPerClient, uint32(d.MaxLeasesPerClient), dhPath.AtName("max_leases_per_client"))),
		},
	}
	rl := &netbootv1.DHCPv6RateLimit{
		PerClientPerSecond: d.RateLimit.PerClientPerSecond, Burst: d.RateLimit.Burst,
		PerSourcePerSecond: d.RateLimit.PerSourcePerSecond, PerSourceBurst: d.RateLimit.PerSourceBurst,
		PerRelayPerSecond: d.RateLimit.PerRelayPerSecond, PerRelayBurst: d.RateLimit.PerRelayBurst,
	}
	if !dh.RateLimit.IsNull() && !dh.RateLimit.IsUnknown() {
		var m rateLimitModel
		diags.Append(dh.RateLimit.As(ctx, &m, basetypes.ObjectAsOptions{})...)
		rlPath := dhPath.AtName("rate_limit")
		rl.PerClientPerSecond = num(m.PerClientPerSecond, rl.PerClientPerSecond, rlPath.AtName("per_client_per_second"))
		rl.Burst = num(m.Burst, rl.Burst, rlPath.AtName("burst"))
		rl.PerSourcePerSecond = num(m.PerSourcePerSecond, rl.PerSourcePerSecond, rlPath.AtName("per_source_per_second"))
		rl.PerSourceBurst = num(m.PerSourceBurst, rl.PerSourceBurst, rlPath.AtName("per_source_burst"))
		rl.PerRelayPerSecond = num(m.PerRelayPerSecond, rl.PerRelayPerSecond, rlPath.AtName("per_relay_per_second"))
		rl.PerRelayBurst = num(m.PerRelayBurst, rl.PerRelayBurst, rlPath.AtName("per_relay_burst"))
	}
	pb.Dhcpv6.RateLimit = rl
	pb.Dhcpv6.Ranges = rangesToProto(ctx, dh.Ranges, &diags)
	pb.Dhcpv6.TemporaryRanges = rangesToProto(ctx, dh.TemporaryRanges, &diags)
	pb.Dhcpv6.RelayedLinks = relayedLinksToProto(ctx, dh.RelayedLinks, &diags)
	pb.Dhcpv6.PrefixDelegation = prefixDelegationToProto(ctx, dh.PrefixDelegation, dhPath.AtName("prefix_delegation"), &diags)
	boot, bootDiags := bootToProto(ctx, m.Boot)
	diags.Append(bootDiags...)
	pb.Boot = boot
	return pb, diags
}

// prefixDelegationToProto reads the prefix_delegation at p, dhcpv6's or a
// relayed link's; nil when unset or still unknown.
func prefixDelegationToProto(ctx context.Context, obj types.Object, p path.Path, diags *diag.Diagnostics) *netbootv1.PrefixDelegation {
	if obj.IsNull() || obj.IsUnknown() {
		return nil
	}
	var pd prefixDelegationModel
	diags.Append(obj.As(ctx, &pd, basetypes.ObjectAsOptions{})...)
	out := &netbootv1.PrefixDelegation{Start: pd.Start.ValueString(), End: pd.End.ValueString()}
	if !pd.Length.IsNull() && !pd.Length.IsUnknown() {
		out.Length = uint32Of(diags, pd.Length.ValueInt64(), p.AtName("length"))
	}
	return out
}

// rangesToProto reads a list of ranges; a range still unknown (a module
// input) goes as an empty one, whose errors the caller leaves out.
func rangesToProto(ctx context.Context, l types.List, diags *diag.Diagnostics) []*netbootv1.AddressRange {
	var out []*netbootv1.AddressRange
	for _, e := range l.Elements() {
		pr := &netbootv1.AddressRange{}
		out = append(out, pr)
		obj, ok := e.(types.Object)
		if !ok || obj.IsNull() || obj.IsUnknown() {
			continue
		}
		var r addressRangeModel
		diags.Append(obj.As(ctx, &r, basetypes.ObjectAsOptions{})...)
		pr.Start, pr.End = r.Start.ValueString(), r.End.ValueString()
	}
	return out
}

// relayedLinksToProto reads dhcpv6.relayed_links; a link still unknown (a
// module input) goes as an empty one, as rangesToProto does.
func relayedLinksToProto(ctx context.Context, m types.Map, diags *diag.Diagnostics) map[string]*netbootv1.RelayedLink {
	if m.IsNull() || m.IsUnknown() || len(m.Elements()) == 0 {
		return nil
	}
	out := map[string]*netbootv1.RelayedLink{}
	for name, e := range m.Elements() {
		pl := &netbootv1.RelayedLink{}
		out[name] = pl
		obj, ok := e.(types.Object)
		if !ok || obj.IsNull() || obj.IsUnknown() {
			continue
		}
		var l relayedLinkModel
		diags.Append(obj.As(ctx, &l, basetypes.ObjectAsOptions{})...)
		pl.Prefix = l.Prefix.ValueString()
		pl.Ranges = rangesToProto(ctx, l.Ranges, diags)
		pl.TemporaryRanges = rangesToProto(ctx, l.TemporaryRanges, diags)
		pl.DnsServers = listStrings(ctx, l.DNSServers)
		pl.DomainSearch = listStrings(ctx, l.DomainSearch)
		pl.InterfaceId = l.InterfaceID.ValueString()
		pl.PrefixDelegation = prefixDelegationToProto(ctx, l.PrefixDelegation, path.Root("dhcpv6").AtName("relayed_links").AtMapKey(name).AtName("prefix_delegation"), diags)
	}
	return out
}

func relayedLinksFromProto(in map[string]*netbootv1.RelayedLink) types.Map {
	links := make(map[string]attr.Value, len(in))
	for name, l := range in {
		links[name] = types.ObjectValueMust(relayedLinkObjectType.AttrTypes, map[string]attr.Value{
			"prefix":            ipv6types.NewPrefixValue(l.GetPrefix()),
			"ranges":            rangesFromProto(l.GetRanges()),
			"temporary_ranges":  rangesFromProto(l.GetTemporaryRanges()),
			"prefix_delegation": prefixDelegationFromProto(l.GetPrefixDelegation()),
			"dns_servers":       addressList(l.GetDnsServers()),
			"domain_search":     stringList(l.GetDomainSearch()),
			"interface_id":      types.StringValue(l.GetInterfaceId()),
		})
	}
	return types.MapValueMust(relayedLinkObjectType, links)
}

func rangesFromProto(in []*netbootv1.AddressRange) types.List {
	ranges := make([]attr.Value, 0, len(in))
	for _, r := range in {
		ranges = append(ranges, types.ObjectValueMust(addressRangeObjectType.AttrTypes, map[string]attr.Value{
			"start": ipv6types.NewAddressValue(r.GetStart()),
			"end":   ipv6types.NewAddressValue(r.GetEnd()),
		}))
	}
	return types.ListValueMust(addressRangeObjectType, ranges)
}

func prefixDelegationFromProto(pd *netbootv1.PrefixDelegation) types.Object {
	if pd == nil {
		return types.ObjectNull(prefixDelegationAttrTypes)
	}
	return types.ObjectValueMust(prefixDelegationAttrTypes, map[string]attr.Value{
		"start":  ipv6types.NewAddressValue(pd.GetStart()),
		"end":    ipv6types.NewAddressValue(pd.GetEnd()),
		"length": types.Int64Value(int64(pd.GetLength())),
	})
}

// fromProto replaces every attribute with what the agent holds and
// observes. Semantic equality then keeps the user's spelling of addresses.
func (m *bootServerModel) fromProto(ctx context.Context, st *netbootv1.BootServerState) diag.Diagnostics {
	var diags diag.Diagnostics
	c, s := st.GetConfig(), st.GetStatus()
	m.ID = types.StringValue(c.GetName())
	m.Name = types.StringValue(c.GetName())
	m.Interface = types.StringValue(c.GetInterface())
	m.Prefix = ipv6types.NewPrefixValue(c.GetPrefix())
	m.MachineDNS = types.BoolValue(c.GetMachineDns())

	ra := c.GetRouterAdvertisement()
	raObj, d := types.ObjectValueFrom(ctx, routerAdvertisementAttrTypes, routerAdvertisementModel{
		Managed:                 types.BoolValue(ra.GetManaged()),
		OtherConfig:             types.BoolValue(ra.GetOtherConfig()),
		MinInterval:             types.Int64Value(int64(ra.GetMinIntervalSeconds())),
		MaxInterval:             types.Int64Value(int64(ra.GetMaxIntervalSeconds())),
		RouterLifetime:          types.Int64Value(int64(ra.GetRouterLifetimeSeconds())),
		PrefixOnLink:            types.BoolValue(ra.GetPrefixOnLink()),
		PrefixAutonomous:        types.BoolValue(ra.GetPrefixAutonomous()),
		PrefixValidLifetime:     types.Int64Value(int64(ra.GetPrefixValidLifetimeSeconds())),
		PrefixPreferredLifetime: types.Int64Value(int64(ra.GetPrefixPreferredLifetimeSeconds())),
		RDNSS:                   addressList(ra.GetRdnss()),
		DNSSL:                   stringList(ra.GetDnssl()),
		DNSLifetime:             types.Int64Value(int64(ra.GetDnsLifetimeSeconds())),
	})
	diags.Append(d...)
	m.RouterAdvertisement = raObj

	dh := c.GetDhcpv6()
	dhObj, d := types.ObjectValueFrom(ctx, dhcpv6AttrTypes, dhcpv6Model{
		Mode:               types.StringValue(dh.GetMode()),
		Ranges:             rangesFromProto(dh.GetRanges()),
		TemporaryRanges:    rangesFromProto(dh.GetTemporaryRanges()),
		PrefixDelegation:   prefixDelegationFromProto(dh.GetPrefixDelegation()),
		DNSServers:         addressList(dh.GetDnsServers()),
		DomainSearch:       stringList(dh.GetDomainSearch()),
		Preference:         types.Int64Value(int64(dh.GetPreference())),
		RenewTime:          types.Int64Value(int64(dh.GetRenewTimeSeconds())),
		RebindTime:         types.Int64Value(int64(dh.GetRebindTimeSeconds())),
		PreferredLifetime:  types.Int64Value(int64(dh.GetPreferredLifetimeSeconds())),
		ValidLifetime:      types.Int64Value(int64(dh.GetValidLifetimeSeconds())),
		InfoRefreshTime:    types.Int64Value(int64(dh.GetInfoRefreshTimeSeconds())),
		RapidCommit:        types.BoolValue(dh.GetRapidCommit()),
		RateLimit:          rateLimitFromProto(dh.GetRateLimit()),
		AllowLeasequery:    types.BoolValue(dh.GetAllowLeasequery()),
		MaxIAsPerMessage:   types.Int64Value(int64(limitOr(dh.MaxIasPerMessage, config.Defaults.MaxIAsPerMessage))),
		MaxLeasesPerClient: types.Int64Value(int64(limitOr(dh.MaxLeasesPerClient, config.Defaults.MaxLeasesPerClient))),
		RelayedLinks:       relayedLinksFromProto(dh.GetRelayedLinks()),
	})
	diags.Append(d...)
	m.DHCPv6 = dhObj

	bootObj, d := bootFromProto(ctx, c.GetBoot())
	diags.Append(d...)
	m.Boot = bootObj

	m.LinkLocalAddress = types.StringValue(s.GetLinkLocalAddress())
	m.GlobalAddresses = stringList(s.GetGlobalAddresses())
	m.ServerDUID = types.StringValue(s.GetServerDuid())
	m.BootURLBase = types.StringValue(s.GetHttpUrlBase())
	m.TFTPURLBase = types.StringValue(s.GetTftpUrlBase())
	m.HTTPSURLBase = types.StringValue(s.GetHttpsUrlBase())
	return diags
}

// limitOr reads one of dhcpv6's limits per client; a boot server stored
// without it gets the default, as config.FromProto gives it.
func limitOr(v *uint32, def int) uint32 {
	if v == nil {
		return uint32(def)
	}
	return *v
}

// rateLimitFromProto reads dhcpv6.rate_limit; a boot server stored
// without one gets the defaults, as config.FromProto gives it.
func rateLimitFromProto(rl *netbootv1.DHCPv6RateLimit) types.Object {
	if rl == nil {
		return rateLimitValue(config.Defaults.RateLimit)
	}
	return rateLimitValue(config.RateLimit{
		PerClientPerSecond: rl.GetPerClientPerSecond(), Burst: rl.GetBurst(),
		PerSourcePerSecond: rl.GetPerSourcePerSecond(), PerSourceBurst: rl.GetPerSourceBurst(),
		PerRelayPerSecond: rl.GetPerRelayPerSecond(), PerRelayBurst: rl.GetPerRelayBurst(),
	})
}

func boolOr(v types.Bool, def bool) bool {
	if v.IsNull() || v.IsUnknown() {
		return def
	}
	return v.ValueBool()
}

// listStrings reads a list of strings or of string-based custom values.
func listStrings(ctx context.Context, l types.List) []string {
	var out []string
	for _, e := range l.Elements() {
		if sv, ok := e.(basetypes.StringValuable); ok {
			s, _ := sv.ToStringValue(ctx)
			out = append(out, s.ValueString())
		}
	}
	return out
}

func stringList(in []string) types.List {
	elems := make([]attr.Value, len(in))
	for i, s := range in {
		elems[i] = types.StringValue(s)
	}
	return types.ListValueMust(types.StringType, elems)
}

// stringListOrNull is null for an empty list: the API does not tell an
// unset list from an empty one.
func stringListOrNull(in []string) types.List {
	if len(in) == 0 {
		return types.ListNull(types.StringType)
	}
	return stringList(in)
}

func addressList(in []string) types.List {
	elems := make([]attr.Value, len(in))
	for i, s := range in {
		elems[i] = ipv6types.NewAddressValue(s)
	}
	return types.ListValueMust(ipv6types.AddressType{}, elems)
}
