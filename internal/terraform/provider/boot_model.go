package provider

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"google.golang.org/protobuf/proto"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/bootfile"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/terraform/provider/ipv6types"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// bootModel is a boot server's boot attribute: how clients find their boot
// file (DHCPv6 option 59) and the TFTP and HTTP servers that serve it.
type bootModel struct {
	TFTP                      types.Bool        `tfsdk:"tftp"`
	TFTPMaxTransfers          types.Int64       `tfsdk:"tftp_max_transfers"`
	TFTPMaxTransfersPerClient types.Int64       `tfsdk:"tftp_max_transfers_per_client"`
	HTTP                      types.Bool        `tfsdk:"http"`
	HTTPPort                  types.Int64       `tfsdk:"http_port"`
	ServerAddress             ipv6types.Address `tfsdk:"server_address"`
	Rules                     types.List        `tfsdk:"rules"`
	HTTPS                     types.Object      `tfsdk:"https"`
}

// httpsModel is boot.https: the same files as HTTP over TLS.
type httpsModel struct {
	Enabled        types.Bool   `tfsdk:"enabled"`
	Port           types.Int64  `tfsdk:"port"`
	CertificatePEM types.String `tfsdk:"certificate_pem"`
	PrivateKeyPEM  types.String `tfsdk:"private_key_pem"`
}

// bootRuleModel is one boot-file rule. Unset match fields are null, never
// empty: the agent reports them as empty, and Read maps that back to null.
type bootRuleModel struct {
	UserClass   types.String `tfsdk:"user_class"`
	Arch        types.Set    `tfsdk:"arch"`
	VendorClass types.String `tfsdk:"vendor_class"`
	DUIDs       types.Set    `tfsdk:"duids"`
	MACs        types.Set    `tfsdk:"macs"`
	Labels      types.Map    `tfsdk:"labels"`
	File        types.String `tfsdk:"file"`
	Via         types.String `tfsdk:"via"`
	URL         types.String `tfsdk:"url"`
	Parameters  types.List   `tfsdk:"parameters"`
}

var (
	bootRuleObjectType = types.ObjectType{AttrTypes: map[string]attr.Type{
		"user_class":   types.StringType,
		"arch":         int64SetType,
		"vendor_class": types.StringType,
		"duids":        stringSetType,
		"macs":         stringSetType,
		"labels":       types.MapType{ElemType: types.StringType},
		"file":         types.StringType,
		"via":          types.StringType,
		"url":          types.StringType,
		"parameters":   stringListType,
	}}

	httpsObjectType = types.ObjectType{AttrTypes: map[string]attr.Type{
		"enabled":         types.BoolType,
		"port":            types.Int64Type,
		"certificate_pem": types.StringType,
		"private_key_pem": types.StringType,
	}}

	bootAttrTypes = map[string]attr.Type{
		"tftp":                          types.BoolType,
		"tftp_max_transfers":            types.Int64Type,
		"tftp_max_transfers_per_client": types.Int64Type,
		"http":                          types.BoolType,
		"http_port":                     types.Int64Type,
		"server_address":                ipv6types.AddressType{},
		"rules":                         types.ListType{ElemType: bootRuleObjectType},
		"https":                         httpsObjectType,
	}
)

// defaultBootProto is config.DefaultBoot in its API form, converted by the
// agent's own code.
func defaultBootProto() *netbootv1.Boot {
	b := config.BootServer{Boot: config.DefaultBoot()}
	return b.ToProto().GetBoot()
}

// defaultBoot is the boot attribute when it is left out, converted once:
// the schema, built for every terraform command, holds it, and values are
// never changed in place.
var defaultBoot = sync.OnceValue(func() types.Object {
	obj, diags := bootFromProto(context.Background(), defaultBootProto())
	if diags.HasError() {
		panic(fmt.Sprintf("default boot settings do not convert: %v", diags))
	}
	return obj
})

// defaultBootRules is boot.rules when it is left out.
func defaultBootRules() types.List {
	return defaultBoot().Attributes()["rules"].(types.List)
}

// bootToProto builds the API's Boot from the boot attribute, filling in
// defaults for null values so it works on a raw configuration too.
func bootToProto(ctx context.Context, obj types.Object) (*netbootv1.Boot, diag.Diagnostics) {
	var diags diag.Diagnostics
	def := defaultBootProto()
	if obj.IsNull() || obj.IsUnknown() {
		return def, diags
	}
	var b bootModel
	diags.Append(obj.As(ctx, &b, basetypes.ObjectAsOptions{})...)
	if diags.HasError() {
		return nil, diags
	}
	bootPath := path.Root("boot")
	pb := &netbootv1.Boot{
		TftpEnabled:               boolOr(b.TFTP, def.GetTftpEnabled()),
		TftpMaxTransfers:          def.GetTftpMaxTransfers(),
		TftpMaxTransfersPerClient: def.GetTftpMaxTransfersPerClient(),
		HttpEnabled:               boolOr(b.HTTP, def.GetHttpEnabled()),
		HttpPort:                  def.GetHttpPort(),
	}
	// The API reads 0 as "the default", so 0 would pass unnoticed.
	for _, n := range []struct {
		v   types.Int64
		dst *uint32
		at  string
	}{
		{b.TFTPMaxTransfers, &pb.TftpMaxTransfers, "tftp_max_transfers"},
		{b.TFTPMaxTransfersPerClient, &pb.TftpMaxTransfersPerClient, "tftp_max_transfers_per_client"},
		{b.HTTPPort, &pb.HttpPort, "http_port"},
	} {
		if n.v.IsNull() || n.v.IsUnknown() {
			continue
		}
		if n.v.ValueInt64() == 0 {
			diags.AddAttributeError(bootPath.AtName(n.at), invalidSummary("boot server"), "boot."+n.at+" must be at least 1, got 0")
			continue
		}
		*n.dst = uint32Of(&diags, n.v.ValueInt64(), bootPath.AtName(n.at))
	}
	if !b.ServerAddress.IsNull() && !b.ServerAddress.IsUnknown() {
		pb.ServerAddress = b.ServerAddress.ValueString()
	}
	diags.Append(httpsToProto(ctx, b.HTTPS, pb)...)
	if b.Rules.IsNull() || b.Rules.IsUnknown() {
		pb.Rules = def.GetRules()
		return pb, diags
	}
	// A rule still unknown (a module input) goes as an empty rule, whose
	// errors the caller leaves out.
	for i, e := range b.Rules.Elements() {
		rule := &netbootv1.BootFileRule{}
		pb.Rules = append(pb.Rules, rule)
		obj, ok := e.(types.Object)
		if !ok || obj.IsNull() || obj.IsUnknown() {
			continue
		}
		var r bootRuleModel
		diags.Append(obj.As(ctx, &r, basetypes.ObjectAsOptions{})...)
		rulePath := bootPath.AtName("rules").AtListIndex(i)
		rule.UserClass = r.UserClass.ValueString()
		rule.VendorClass = r.VendorClass.ValueString()
		rule.Duids = setStrings(ctx, r.DUIDs)
		rule.Macs = setStrings(ctx, r.MACs)
		rule.Labels = mapStrings(r.Labels)
		rule.File = r.File.ValueString()
		rule.Via = r.Via.ValueString()
		rule.Url = r.URL.ValueString()
		rule.Parameters = listStrings(ctx, r.Parameters)
		for _, e := range r.Arch.Elements() {
			if n, ok := e.(types.Int64); ok && !n.IsNull() && !n.IsUnknown() {
				rule.Arch = append(rule.Arch, uint32Of(&diags, n.ValueInt64(), rulePath.AtName("arch")))
			}
		}
	}
	return pb, diags
}

// httpsToProto sets pb.Https from boot.https; null (left out) is HTTPS off.
// A value not known yet (a certificate made in the same apply) goes as
// empty, and the caller leaves out errors on it.
func httpsToProto(ctx context.Context, obj types.Object, pb *netbootv1.Boot) diag.Diagnostics {
	var diags diag.Diagnostics
	if obj.IsNull() || obj.IsUnknown() {
		return diags
	}
	var h httpsModel
	diags.Append(obj.As(ctx, &h, basetypes.ObjectAsOptions{})...)
	if diags.HasError() {
		return diags
	}
	pb.Https = &netbootv1.HTTPS{
		Enabled:        h.Enabled.ValueBool(),
		Port:           config.DefaultHTTPSPort,
		CertificatePem: h.CertificatePEM.ValueString(),
		PrivateKeyPem:  h.PrivateKeyPEM.ValueString(),
	}
	if !h.Port.IsNull() && !h.Port.IsUnknown() {
		at := path.Root("boot").AtName("https").AtName("port")
		if h.Port.ValueInt64() == 0 {
			diags.AddAttributeError(at, invalidSummary("boot server"), "boot.https.port must be at least 1, got 0")
		} else {
			pb.Https.Port = uint32Of(&diags, h.Port.ValueInt64(), at)
		}
	}
	// The defaults go as none, as the agent stores them.
	if proto.Equal(pb.Https, &netbootv1.HTTPS{Port: config.DefaultHTTPSPort}) {
		pb.Https = nil
	}
	return diags
}

// httpsFromProto is boot.https for what the agent holds.
func httpsFromProto(ctx context.Context, pb *netbootv1.HTTPS) (types.Object, diag.Diagnostics) {
	return types.ObjectValueFrom(ctx, httpsObjectType.AttrTypes, httpsModel{
		Enabled:        types.BoolValue(pb.GetEnabled()),
		Port:           types.Int64Value(int64(cmp.Or(pb.GetPort(), config.DefaultHTTPSPort))),
		CertificatePEM: stringOrNull(pb.GetCertificatePem()),
		PrivateKeyPEM:  stringOrNull(pb.GetPrivateKeyPem()),
	})
}

func uint32Of(diags *diag.Diagnostics, n int64, p path.Path) uint32 {
	if n < 0 || n > math.MaxUint32 {
		diags.AddAttributeError(p, "Number out of range", fmt.Sprintf("Must be between 0 and %d, got %d.", uint32(math.MaxUint32), n))
		return 0
	}
	return uint32(n)
}

// bootFromProto is the boot attribute for what the agent holds; nil means
// the defaults, as in the API.
func bootFromProto(ctx context.Context, pb *netbootv1.Boot) (types.Object, diag.Diagnostics) {
	if pb == nil {
		pb = defaultBootProto()
	}
	var diags diag.Diagnostics
	rules := make([]attr.Value, 0, len(pb.GetRules()))
	for _, r := range pb.GetRules() {
		arch := types.SetNull(types.Int64Type)
		if len(r.GetArch()) > 0 {
			elems := make([]attr.Value, len(r.GetArch()))
			for i, a := range r.GetArch() {
				elems[i] = types.Int64Value(int64(a))
			}
			arch = types.SetValueMust(types.Int64Type, elems)
		}
		obj, d := types.ObjectValueFrom(ctx, bootRuleObjectType.AttrTypes, bootRuleModel{
			UserClass:   stringOrNull(r.GetUserClass()),
			Arch:        arch,
			VendorClass: stringOrNull(r.GetVendorClass()),
			DUIDs:       stringSetOrNull(r.GetDuids()),
			MACs:        stringSetOrNull(r.GetMacs()),
			Labels:      stringMapOrNull(r.GetLabels()),
			File:        stringOrNull(r.GetFile()),
			Via:         stringOrNull(r.GetVia()),
			URL:         stringOrNull(r.GetUrl()),
			Parameters:  stringListOrNull(r.GetParameters()),
		})
		diags.Append(d...)
		rules = append(rules, obj)
	}
	port := pb.GetHttpPort()
	if port == 0 {
		port = 80
	}
	maxTransfers, maxPerClient := int64(pb.GetTftpMaxTransfers()), int64(pb.GetTftpMaxTransfersPerClient())
	if maxTransfers == 0 {
		maxTransfers = config.DefaultTFTPMaxTransfers
	}
	if maxPerClient == 0 {
		maxPerClient = config.DefaultTFTPMaxTransfersPerClient
	}
	https, d := httpsFromProto(ctx, pb.GetHttps())
	diags.Append(d...)
	serverAddress := ipv6types.NewAddressNull()
	if s := pb.GetServerAddress(); s != "" {
		serverAddress = ipv6types.NewAddressValue(s)
	}
	obj, d := types.ObjectValueFrom(ctx, bootAttrTypes, bootModel{
		TFTP:                      types.BoolValue(pb.GetTftpEnabled()),
		TFTPMaxTransfers:          types.Int64Value(maxTransfers),
		TFTPMaxTransfersPerClient: types.Int64Value(maxPerClient),
		HTTP:                      types.BoolValue(pb.GetHttpEnabled()),
		HTTPPort:                  types.Int64Value(int64(port)),
		ServerAddress:             serverAddress,
		Rules:                     types.ListValueMust(bootRuleObjectType, rules),
		HTTPS:                     https,
	})
	diags.Append(d...)
	return obj, diags
}

func stringOrNull(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

// urlBaseAddress is the address in a boot URL base such as
// "tftp://[2001:db8:1::1]"; invalid when there is none.
func urlBaseAddress(base string) netip.Addr {
	u, err := url.Parse(base)
	if err != nil {
		return netip.Addr{}
	}
	a, err := netip.ParseAddr(u.Hostname())
	if err != nil {
		return netip.Addr{}
	}
	return a
}

// bootURLBases builds the TFTP, HTTP and HTTPS base URLs for a boot
// address as the agent does for its status, so a plan can show them: each
// is empty when its server is off.
func bootURLBases(boot *netbootv1.Boot, addr netip.Addr) (tftpBase, httpBase, httpsBase string) {
	server := bootfile.Server{Address: addr, HTTPPort: int(boot.GetHttpPort()), HTTPSPort: int(boot.GetHttps().GetPort())}
	if boot.GetHttpEnabled() {
		httpBase = bootfile.URLBase(bootfile.HTTP, server)
	}
	if boot.GetTftpEnabled() {
		tftpBase = bootfile.URLBase(bootfile.TFTP, server)
	}
	if boot.GetHttps().GetEnabled() {
		httpsBase = bootfile.URLBase(bootfile.HTTPS, server)
	}
	return tftpBase, httpBase, httpsBase
}

// bootRuleSelection is how bootfile.Select picks among matching rules, in
// Markdown.
var bootRuleSelection = fmt.Sprintf("Among the rules that match, the most specific wins, scored as boot menus' "+
	"`match` is: %d if it sets `user_class` (the boot loader asking, so iPXE's own rule keeps beating a rule for its "+
	"firmware), plus %d if it sets `duids` or `macs`, plus %d if it sets `labels`; `arch` and `vendor_class` add "+
	"nothing. Between equal scores the rule listed first wins, so rules that differ only in `arch` or `vendor_class` "+
	"are tried in order.", bootfile.ScoreUserClass, bootfile.ScoreHost, bootfile.ScoreLabels)

// archNames name the client architecture types (option 61) the default
// rules use, for the documentation.
var archNames = map[uint32]string{
	uint32(bootfile.ArchBIOS):         "x86 BIOS",
	uint32(bootfile.ArchEFIIA32):      "x86 UEFI",
	uint32(bootfile.ArchEFIx64):       "x64 UEFI",
	uint32(bootfile.ArchEFIBC):        "EFI BC, x64 UEFI on some firmware",
	uint32(bootfile.ArchEFIARM32):     "ARM32 UEFI",
	uint32(bootfile.ArchEFIARM64):     "ARM64 UEFI",
	uint32(bootfile.ArchEFIx86HTTP):   "x86 UEFI HTTP boot",
	uint32(bootfile.ArchEFIx64HTTP):   "x64 UEFI HTTP boot",
	uint32(bootfile.ArchEFIARM64HTTP): "ARM64 UEFI HTTP boot",
}

// defaultRulesDescription renders bootfile.DefaultRules for the rules
// attribute's documentation, so the two never disagree.
func defaultRulesDescription() string {
	var items []string
	for i, r := range defaultBootProto().GetRules() {
		var match []string
		if r.GetUserClass() != "" {
			match = append(match, fmt.Sprintf("`user_class = %q`", r.GetUserClass()))
		}
		if len(r.GetArch()) > 0 {
			var nums, names []string
			for _, a := range r.GetArch() {
				nums = append(nums, strconv.Itoa(int(a)))
				names = append(names, fmt.Sprintf("0x%02x %s", a, archNames[a]))
			}
			match = append(match, fmt.Sprintf("`arch = [%s]` (%s)", strings.Join(nums, ", "), strings.Join(names, "; ")))
		}
		if r.GetVendorClass() != "" {
			match = append(match, fmt.Sprintf("`vendor_class = %q`", r.GetVendorClass()))
		}
		items = append(items, fmt.Sprintf("(%d) %s → `%s` over %s", i+1, strings.Join(match, ", "), r.GetFile(), strings.ToUpper(r.GetVia())))
	}
	return strings.Join(items, "; ")
}
