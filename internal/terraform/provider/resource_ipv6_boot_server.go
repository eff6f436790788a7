package provider

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/mapdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/terraform/provider/ipv6types"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/agentclient"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

var (
	_ resource.ResourceWithConfigure      = &ipv6BootServerResource{}
	_ resource.ResourceWithImportState    = &ipv6BootServerResource{}
	_ resource.ResourceWithIdentity       = &ipv6BootServerResource{}
	_ resource.ResourceWithValidateConfig = &ipv6BootServerResource{}
	_ resource.ResourceWithModifyPlan     = &ipv6BootServerResource{}
)

func newIPv6BootServerResource() resource.Resource { return &ipv6BootServerResource{} }

// ipv6BootServerResource is one boot server on the agent: RAs and DHCPv6 on
// one interface. Every attribute but name changes in place.
type ipv6BootServerResource struct {
	agent *agentclient.Conn
}

func (r *ipv6BootServerResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_ipv6_boot_server"
	resp.ResourceBehavior = agentObjectBehavior
}

func secondsAttribute(description string, def time.Duration) schema.Int64Attribute {
	return schema.Int64Attribute{
		MarkdownDescription: fmt.Sprintf("%s. In seconds; defaults to `%d`.", description, int64(def/time.Second)),
		Optional:            true,
		Computed:            true,
		Default:             int64default.StaticInt64(int64(def / time.Second)),
	}
}

// rateLimitAttribute is dhcpv6.rate_limit: the token buckets every
// message passes before any lease work.
func rateLimitAttribute() schema.SingleNestedAttribute {
	d := config.Defaults.RateLimit
	count := func(description string, def uint32, max int64) schema.Int64Attribute {
		return schema.Int64Attribute{
			MarkdownDescription: fmt.Sprintf("%s At most %d; defaults to `%d`.", description, max, def),
			Optional:            true,
			Computed:            true,
			Default:             int64default.StaticInt64(int64(def)),
		}
	}
	return schema.SingleNestedAttribute{
		MarkdownDescription: "Per-client limits on DHCPv6 messages: a token bucket per client DUID, one per " +
			"source address (clients send from their link-local address, so a host inventing DUIDs is caught " +
			"too) and one per relay address. Messages over a limit are dropped before any lease work, counted in " +
			"`netboot_dhcpv6_dropped_by_reason_total{reason=\"rate_limited\"}` and logged at most once per " +
			"client every 10 seconds. A rate of `0` turns that bucket off; a bucket that is on needs a burst of " +
			"at least 2, since a client sends its Request right after its Solicit.",
		Optional: true,
		Computed: true,
		Default:  objectdefault.StaticValue(rateLimitValue(d)),
		Attributes: map[string]schema.Attribute{
			"per_client_per_second": count("Messages per second one client DUID may send after its burst. Real "+
				"clients send a handful per boot.", d.PerClientPerSecond, config.MaxRate),
			"burst": count("Messages one client DUID may send at once.", d.Burst, config.MaxBurst),
			"per_source_per_second": count("Messages per second one source address may send after its burst, "+
				"whatever DUIDs they carry. The default lies above what one server answers, so load generators "+
				"such as perfdhcp, which simulate many clients from one address, are not throttled; on a link "+
				"of real hosts only, a few times `per_client_per_second` is enough.", d.PerSourcePerSecond, config.MaxRate),
			"per_source_burst": count("Messages one source address may send at once.", d.PerSourceBurst, config.MaxBurst),
			"per_relay_per_second": count("Relay-Forwards per second one DHCPv6 relay address may send after its "+
				"burst, counted before they are unwrapped, so one relay gone wild (or a flood sent in a relay's "+
				"name) leaves the server to the other relays' clients. Drops are also counted in "+
				"`netboot_dhcpv6_relay_dropped_total{reason=\"rate_limited\"}`. The clients behind a relay "+
				"still have their own limits.", d.PerRelayPerSecond, config.MaxRate),
			"per_relay_burst": count("Relay-Forwards one relay address may send at once: the clients of its "+
				"links powering on together.", d.PerRelayBurst, config.MaxBurst),
		},
	}
}

// clientLimitAttribute is one of dhcpv6's limits per client; 0 turns it
// off.
func clientLimitAttribute(description string, def, max int) schema.Int64Attribute {
	return schema.Int64Attribute{
		MarkdownDescription: fmt.Sprintf("%s Refusals are logged, one warning per message. `0` means no limit. "+
			"Defaults to `%d`.", description, def),
		Optional: true,
		Computed: true,
		Default:  int64default.StaticInt64(int64(def)),
	}
}

func addressListAttribute(description string) schema.ListAttribute {
	return schema.ListAttribute{
		MarkdownDescription: description + " Defaults to `[]`.",
		ElementType:         ipv6types.AddressType{},
		Optional:            true,
		Computed:            true,
		Default:             listdefault.StaticValue(types.ListValueMust(ipv6types.AddressType{}, []attr.Value{})),
		Validators:          []validator.List{listvalidator.NoNullValues()},
	}
}

// relayedLinksAttribute is dhcpv6.relayed_links: the links behind DHCPv6
// relays, keyed by a name, so a map of VLANs converts with one for
// expression.
func relayedLinksAttribute() schema.MapNestedAttribute {
	return schema.MapNestedAttribute{
		MarkdownDescription: "Links behind DHCPv6 relays (RFC 8415 section 19) this boot server also serves, by a " +
			"name of your choice (1-63 lowercase letters, digits, `-` or `_`), e.g. the VLAN's. A router on each such " +
			"link relays its clients' messages to the agent (e.g. ISC `dhcrelay -6`) and names the link by an " +
			"address inside the link's `prefix`; the client leases from that link's `ranges` alone, whatever it asks " +
			"for. Relayed clients share every other `dhcpv6` setting and the `boot` rules, and their boot-file URLs " +
			"name the boot server's global address (`boot.server_address`, or its first global address in " +
			"`prefix`), which must be routed from those links. Only with mode `stateful`. The relays must reach " +
			"the agent on `interface`. A Relay-Forward naming no link here is dropped and counted in " +
			"`netboot_dhcpv6_relay_dropped_total{reason=\"unknown_link\"}`. Defaults to `{}`.",
		Optional: true,
		Computed: true,
		Default:  mapdefault.StaticValue(types.MapValueMust(relayedLinkObjectType, map[string]attr.Value{})),
		NestedObject: schema.NestedAttributeObject{
			// Optional plus requiredInElement rather than Required, so
			// `relayed_links = { vlan10 = var.vlan }` passes `terraform validate`.
			Validators: []validator.Object{requiredInElement{"prefix"}},
			Attributes: map[string]schema.Attribute{
				"prefix": schema.StringAttribute{
					MarkdownDescription: "Required. The link's on-link /64, e.g. `\"2001:db8:10::/64\"`; apart from `prefix`, " +
						"every other link's, and the prefixes `dhcpv6.prefix_delegation` and every link's `prefix_delegation` delegate.",
					CustomType: ipv6types.PrefixType{},
					Optional:   true,
				},
				"ranges": rangesAttribute("Inclusive address ranges to lease the link's IA_NA addresses from, inside " +
					"the link's `prefix`. At least one."),
				"temporary_ranges": rangesAttribute("Inclusive address ranges to lease the link's IA_TA temporary " +
					"addresses from, inside the link's `prefix` and overlapping none of its `ranges`."),
				"prefix_delegation": prefixDelegationAttribute("Prefixes to delegate by IA_PD to requesting routers on the "+
					"link, as `dhcpv6.prefix_delegation` does on the boot server's own link, e.g. `{ start = "+
					"\"2001:db8:1000::\", end = \"2001:db8:1000:ff00::\", length = 56 }` for 256 /56s. They must lie "+
					"outside every link's prefix and apart from every other pool. Unset, the link's routers get "+
					"NoPrefixAvail.", true),
				"dns_servers":   addressListAttribute("DNS servers for the link's clients; empty sends `dhcpv6.dns_servers`."),
				"domain_search": domainListAttribute("Search domains for the link's clients; empty sends `dhcpv6.domain_search`."),
				"interface_id": schema.StringAttribute{
					MarkdownDescription: "Names the link for a relay that sends no link-address (`::`, a relay " +
						"without a global address on the link) by the Interface-Id option (18) it sends, e.g. the " +
						"relay's interface name `\"eth1.10\"`. A relay that sends a link-address is matched by it " +
						"alone. At most 128 bytes, each value on one link only. Defaults to `\"\"` (none).",
					Optional: true,
					Computed: true,
					Default:  stringdefault.StaticString(""),
				},
			},
		},
	}
}

// prefixDelegationAttribute is a prefix_delegation: dhcpv6's, or, inElement,
// a relayed link's, whose attributes cannot be Required (see
// requiredInElement).
func prefixDelegationAttribute(description string, inElement bool) schema.SingleNestedAttribute {
	required := ""
	if inElement {
		required = "Required. "
	}
	a := schema.SingleNestedAttribute{
		MarkdownDescription: description,
		Optional:            true,
		Attributes: map[string]schema.Attribute{
			"start": schema.StringAttribute{
				MarkdownDescription: required + "Address of the first prefix to delegate, aligned to `length`, e.g. `\"2001:db8:1:100::\"`.",
				CustomType:          ipv6types.AddressType{},
				Required:            !inElement,
				Optional:            inElement,
			},
			"end": schema.StringAttribute{
				MarkdownDescription: required + "Address of the last prefix to delegate, aligned to `length`, e.g. `\"2001:db8:1:111::\"`.",
				CustomType:          ipv6types.AddressType{},
				Required:            !inElement,
				Optional:            inElement,
			},
			"length": schema.Int64Attribute{
				MarkdownDescription: required + "Length of each delegated prefix, between 48 and 64, e.g. `64` or `56`.",
				Required:            !inElement,
				Optional:            inElement,
			},
		},
	}
	if inElement {
		a.Validators = []validator.Object{requiredInElement{"start", "end", "length"}}
	}
	return a
}

// rangesAttribute is a list of inclusive address ranges, empty by default.
func rangesAttribute(description string) schema.ListNestedAttribute {
	return schema.ListNestedAttribute{
		MarkdownDescription: description + " Defaults to `[]`.",
		Optional:            true,
		Computed:            true,
		Default:             listdefault.StaticValue(types.ListValueMust(addressRangeObjectType, []attr.Value{})),
		NestedObject: schema.NestedAttributeObject{
			// Optional plus requiredInElement rather than Required, so
			// `ranges = [var.range]` passes `terraform validate`.
			Validators: []validator.Object{requiredInElement{"start", "end"}},
			Attributes: map[string]schema.Attribute{
				"start": schema.StringAttribute{
					MarkdownDescription: "Required. First address of the range, e.g. `\"2001:db8:1::1000\"`.",
					CustomType:          ipv6types.AddressType{},
					Optional:            true,
				},
				"end": schema.StringAttribute{
					MarkdownDescription: "Required. Last address of the range, e.g. `\"2001:db8:1::1fff\"`.",
					CustomType:          ipv6types.AddressType{},
					Optional:            true,
				},
			},
		},
	}
}

// httpsSchemaAttribute is boot.https.
func httpsSchemaAttribute() schema.SingleNestedAttribute {
	off, _ := httpsFromProto(context.Background(), nil)
	return schema.SingleNestedAttribute{
		MarkdownDescription: "Serve the same files as HTTP over HTTPS too, on the same addresses, with the same access " +
			"rules (a machine's config only to that machine), with a certificate you give. TLS 1.2 and later, HTTP/1.1. " +
			"Boot URLs stay on HTTP: firmware and stock iPXE cannot verify your certificate; installers, cloud-init, " +
			"curl and wget can once they trust its CA (guide \"Provisioning machines\", section \"HTTPS\"). The " +
			"certificate must name the boot address (`https_url_base` shows it) as an IP subject alternative name and be " +
			"valid when applied; `terraform-provider-netboot agent certs boot-server` issues one. A new certificate applies " +
			"in place: new connections get it at once. Off by default.",
		Optional: true,
		Computed: true,
		Default:  objectdefault.StaticValue(off),
		Attributes: map[string]schema.Attribute{
			"enabled": schema.BoolAttribute{
				MarkdownDescription: "Serve HTTPS. Defaults to `false`.",
				Optional:            true,
				Computed:            true,
				Default:             booldefault.StaticBool(false),
			},
			"port": schema.Int64Attribute{
				MarkdownDescription: fmt.Sprintf("TCP port of the HTTPS server, not `http_port`. Defaults to `%d`.", config.DefaultHTTPSPort),
				Optional:            true,
				Computed:            true,
				Default:             int64default.StaticInt64(config.DefaultHTTPSPort),
			},
			"certificate_pem": schema.StringAttribute{
				MarkdownDescription: "The server certificate, PEM, followed by any intermediate CA certificates, e.g. " +
					"`file(\"boot-ca/lab-https.pem\")`. Required when `enabled`. Refused at plan when it does not parse, is " +
					"expired or not yet valid, is a CA certificate, or lacks the `boot.server_address` (at apply: the boot " +
					"address the agent picks) as a subject alternative name.",
				Optional:   true,
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"private_key_pem": schema.StringAttribute{
				MarkdownDescription: "The private key of `certificate_pem`, PEM (PKCS #8, PKCS #1 or SEC 1), e.g. " +
					"`file(\"boot-ca/lab-https-key.pem\")`. Sensitive: the agent keeps it in its state file, Terraform in " +
					"its state; a read-only agent certificate does not get it back. Required when `enabled`; refused when it is not the key of `certificate_pem`.",
				Optional:   true,
				Sensitive:  true,
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
		},
	}
}

func domainListAttribute(description string) schema.ListAttribute {
	return schema.ListAttribute{
		MarkdownDescription: description + " Defaults to `[]`.",
		ElementType:         types.StringType,
		Optional:            true,
		Computed:            true,
		Default:             listdefault.StaticValue(types.ListValueMust(types.StringType, []attr.Value{})),
		Validators:          []validator.List{listvalidator.NoNullValues()},
	}
}

// bootSchemaAttribute is the boot attribute: option 59 rules and the TFTP
// and HTTP servers. Unset rule fields are null (not empty strings or lists),
// so the validators refuse empty ones that would read back as null.
func bootSchemaAttribute() schema.SingleNestedAttribute {
	def := defaultBootProto()
	return schema.SingleNestedAttribute{
		MarkdownDescription: "How machines find and fetch their boot files: the boot-file URL offered by DHCPv6 " +
			"(option 59, with option 60 parameters), chosen per client by `rules`, and the TFTP and HTTP servers on " +
			"`interface` that serve the agent's `netboot_artifact` files. Every attribute has a default: TFTP and " +
			"HTTP (port 80) on, and rules that chain-load iPXE and then hand it `start.ipxe`. Changes apply in place.",
		Optional: true,
		Computed: true,
		Default:  objectdefault.StaticValue(defaultBoot()),
		Attributes: map[string]schema.Attribute{
			"tftp": schema.BoolAttribute{
				MarkdownDescription: "Serve the artifacts over TFTP (port 69), which PXE firmware needs. Defaults to `true`.",
				Optional:            true,
				Computed:            true,
				Default:             booldefault.StaticBool(def.GetTftpEnabled()),
			},
			"tftp_max_transfers": schema.Int64Attribute{
				MarkdownDescription: fmt.Sprintf("Most TFTP transfers in progress at once, from all clients; a request "+
					"beyond gets a TFTP error (\"too many transfers in progress\"), which most PXE firmware reports as a "+
					"failed boot. Between 1 "+
					"and %d; defaults to `%d`.", config.MaxTFTPTransfers, def.GetTftpMaxTransfers()),
				Optional: true,
				Computed: true,
				Default:  int64default.StaticInt64(int64(def.GetTftpMaxTransfers())),
			},
			"tftp_max_transfers_per_client": schema.Int64Attribute{
				MarkdownDescription: fmt.Sprintf("Most TFTP transfers in progress at once to one client address, so one "+
					"client (or a flood of requests from one address) cannot take every slot of `tftp_max_transfers`; "+
					"a booting machine fetches one file at a time. Between 1 and `tftp_max_transfers`; defaults to `%d`.",
					def.GetTftpMaxTransfersPerClient()),
				Optional: true,
				Computed: true,
				Default:  int64default.StaticInt64(int64(def.GetTftpMaxTransfersPerClient())),
			},
			"http": schema.BoolAttribute{
				MarkdownDescription: "Serve the artifacts over HTTP on `http_port`, for iPXE and UEFI HTTP boot. Defaults to `true`.",
				Optional:            true,
				Computed:            true,
				Default:             booldefault.StaticBool(def.GetHttpEnabled()),
			},
			"http_port": schema.Int64Attribute{
				MarkdownDescription: fmt.Sprintf("TCP port of the HTTP server. Defaults to `%d`.", def.GetHttpPort()),
				Optional:            true,
				Computed:            true,
				Default:             int64default.StaticInt64(int64(def.GetHttpPort())),
			},
			"server_address": schema.StringAttribute{
				MarkdownDescription: "Address put in the boot URLs, e.g. `\"2001:db8:1::1\"`; not link-local, since a " +
					"boot URL cannot carry a zone. Leave unset to let the agent use the interface's first permanent " +
					"global address inside `prefix` (`boot_url_base` shows it); it then stays unset here.",
				CustomType: ipv6types.AddressType{},
				Optional:   true,
			},
			"https": httpsSchemaAttribute(),
			"rules": schema.ListNestedAttribute{
				MarkdownDescription: "Rules choosing each client's boot file. A rule matches a client when its match " +
					"attributes (`user_class`, `arch`, `vendor_class`, `duids`, `macs`, `labels`) all match it; a rule " +
					"without any matches every client. " + bootRuleSelection + " When none matches, or with `rules = []`, " +
					"DHCPv6 offers no boot file. Setting `rules` replaces the whole default list, which is: " +
					defaultRulesDescription() + ". The first rule breaks the firmware → iPXE → iPXE loop: iPXE, once " +
					"loaded, gets its script instead of itself again.",
				Optional: true,
				Computed: true,
				Default:  listdefault.StaticValue(defaultBootRules()),
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"user_class": schema.StringAttribute{
							MarkdownDescription: "Match clients that send this User Class (option 15) exactly, e.g. " +
								"`\"iPXE\"`, which iPXE sends.",
							Optional:   true,
							Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
						},
						"arch": schema.SetAttribute{
							MarkdownDescription: "Match clients whose Client System Architecture Type (option 61) is " +
								"any of these numbers (0-65535), e.g. `[7, 9]` for x64 UEFI (0x07, 0x09) or `[16]` for " +
								"x64 UEFI HTTP boot (0x10). HCL has no hex literals: write them in decimal. A set: the " +
								"order does not matter.",
							ElementType: types.Int64Type,
							Optional:    true,
							Validators:  []validator.Set{setvalidator.SizeAtLeast(1), setvalidator.NoNullValues()},
						},
						"vendor_class": schema.StringAttribute{
							MarkdownDescription: "Match clients with a Vendor Class (option 16) containing this, e.g. " +
								"`\"HTTPClient\"` (UEFI HTTP boot) or `\"PXEClient\"`.",
							Optional:   true,
							Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
						},
						"duids": schema.SetAttribute{
							MarkdownDescription: "Match clients whose DUID (option 1) is any of these, in hex without " +
								"separators as `netboot_leases` shows `client_duid`, e.g. `[\"00030001525400123456\"]`; " +
								"case does not matter. With `macs`, this singles out hosts as a dhcpd6.conf host " +
								"declaration or an `if option dhcp6.client-id = …` branch would. A set: the order does " +
								"not matter.",
							ElementType: types.StringType,
							Optional:    true,
							Validators:  []validator.Set{setvalidator.SizeAtLeast(1), setvalidator.NoNullValues()},
						},
						"macs": schema.SetAttribute{
							MarkdownDescription: "Match clients whose MAC address is any of these, e.g. " +
								"`[\"52:54:00:12:34:56\"]`; case does not matter. The agent takes it from a DUID-LL or " +
								"DUID-LLT, else from the EUI-64 interface identifier of the client's link-local address " +
								"(iPXE's DUID-UUID carries none); a client with neither matches no MAC. A set: the order " +
								"does not matter.",
							ElementType: types.StringType,
							Optional:    true,
							Validators:  []validator.Set{setvalidator.SizeAtLeast(1), setvalidator.NoNullValues()},
						},
						"labels": schema.MapAttribute{
							MarkdownDescription: "Labels of `netboot_machine`s, e.g. `{ role = \"installer\" }`: match " +
								"clients that are a machine whose `labels` hold every one of these, as a boot menu's " +
								"`match.labels` does. DHCPv6 knows a client as a machine by its DUID (the machine's " +
								"`duids`) or its MAC address (`macs`, found as for the `macs` attribute here, and from a " +
								"relay's option 79) or the system UUID in its DUID-UUID (`uuids`; iPXE's DUID is one), the " +
								"same way it gives machines their `reserved_address`.",
							ElementType: types.StringType,
							Optional:    true,
							Validators:  []validator.Map{mapvalidator.SizeAtLeast(1)},
						},
						"file": schema.StringAttribute{
							MarkdownDescription: "Path of a `netboot_artifact` to offer, e.g. `\"ipxe.efi\"`, written as " +
								"an artifact's `path` is (a leading `/` is allowed; no control characters, backslashes, " +
								"`.` or `..` elements); the URL is built from the server address and `via`, escaped where " +
								"a URL must be (a space as `%20`). Set `file` and `via`, or `url`.",
							Optional:   true,
							Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
						},
						"via": schema.StringAttribute{
							MarkdownDescription: "How clients fetch `file`: `\"tftp\"` (PXE firmware) or `\"http\"` " +
								"(iPXE, UEFI HTTP boot). That server must be on.",
							Optional: true,
						},
						"url": schema.StringAttribute{
							MarkdownDescription: "Absolute boot-file URL to offer instead of `file`, e.g. " +
								"`\"https://boot.example/menu.ipxe\"` (`http`, `https` or `tftp`; IPv6 hosts in brackets).",
							Optional:   true,
							Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
						},
						"parameters": schema.ListAttribute{
							MarkdownDescription: "Boot-file parameters (option 60) sent with the URL, e.g. arguments " +
								"for the loaded program.",
							ElementType: types.StringType,
							Optional:    true,
							Validators: []validator.List{
								listvalidator.SizeAtLeast(1),
								listvalidator.NoNullValues(),
								listvalidator.ValueStringsAre(stringvalidator.LengthAtLeast(1)),
							},
						},
					},
				},
			},
		},
	}
}

func (r *ipv6BootServerResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	d := config.Defaults
	resp.Schema = schema.Schema{
		// Version 1: boot rules' arch, duids and macs are sets (lists in 0).
		Version: 1,
		MarkdownDescription: "An IPv6 network boot site on one interface of the agent host: Router Advertisements " +
			"(as radvd would send), DHCPv6 (as dhcpd6 would serve) with a boot-file URL per client, and the TFTP " +
			"and HTTP servers (`boot`) that serve iPXE, its scripts and the artifacts. Every change but `name` is applied to the " +
			"running servers in place, in one step that either fully succeeds or changes nothing.\n\n" +
			"Every value is checked at `terraform validate` and `terraform plan` by the same code the agent runs, " +
			"values not known yet (module inputs computed by other resources) once they are: the prefix is a " +
			"/64, ranges and temporary ranges lie inside it without overlapping, delegated prefixes lie outside it, " +
			"the RA flags agree with `dhcpv6.mode`, lifetimes are ordered " +
			"(renew ≤ rebind ≤ preferred ≤ valid), and each boot rule names a file or a URL and a protocol " +
			"that is on.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "The boot server's name.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				MarkdownDescription: "Name of the boot server on its agent: 1-63 lowercase letters, digits, `-` or `_`, " +
					"starting with a letter or digit. Changing it replaces the boot server.",
				Required:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"interface": schema.StringAttribute{
				MarkdownDescription: "Network interface on the agent host that faces the machines to boot, e.g. " +
					"`\"eth1\"`. It must exist when the boot server is created.",
				Required: true,
			},
			"prefix": schema.StringAttribute{
				MarkdownDescription: "On-link IPv6 /64 advertised in RAs (for SLAAC) and leased from, e.g. " +
					"`\"2001:db8:1::/64\"`. Any spelling of the same prefix is the same value.",
				CustomType: ipv6types.PrefixType{},
				Required:   true,
			},
			"router_advertisement": schema.SingleNestedAttribute{
				MarkdownDescription: "Router Advertisement settings (RFC 4861, RFC 8106). Every attribute has a default.",
				Optional:            true,
				Computed:            true,
				Default:             objectdefault.StaticValue(defaultRouterAdvertisement()),
				Attributes: map[string]schema.Attribute{
					"managed": schema.BoolAttribute{
						MarkdownDescription: "The Managed (M) flag: clients get addresses by DHCPv6. Follows " +
							"`dhcpv6.mode` when unset: `true` for `stateful`, otherwise `false`. Must be `true` " +
							"with `stateful` and `false` otherwise.",
						Optional: true,
						Computed: true,
					},
					"other_config": schema.BoolAttribute{
						MarkdownDescription: "The Other configuration (O) flag: clients ask DHCPv6 for options " +
							"(DNS, boot file). Follows `dhcpv6.mode` when unset: `true` for `stateful` and " +
							"`stateless`, `false` for `off`.",
						Optional: true,
						Computed: true,
					},
					"min_interval":    secondsAttribute("Minimum time between unsolicited RAs, between 3 and 0.75 × `max_interval`", d.MinInterval),
					"max_interval":    secondsAttribute("Maximum time between unsolicited RAs, between 4 and 1800", d.MaxInterval),
					"router_lifetime": secondsAttribute("Router lifetime: `0` means this host is not a default router; otherwise between `max_interval` and 9000", d.RouterLifetime),
					"prefix_on_link": schema.BoolAttribute{
						MarkdownDescription: "The prefix's on-link (L) flag. Defaults to `true`.",
						Optional:            true,
						Computed:            true,
						Default:             booldefault.StaticBool(true),
					},
					"prefix_autonomous": schema.BoolAttribute{
						MarkdownDescription: "The prefix's autonomous (A) flag: clients form SLAAC addresses. Defaults to `true`.",
						Optional:            true,
						Computed:            true,
						Default:             booldefault.StaticBool(true),
					},
					"prefix_valid_lifetime":     secondsAttribute("Valid lifetime of the advertised prefix", d.PrefixValidLifetime),
					"prefix_preferred_lifetime": secondsAttribute("Preferred lifetime of the advertised prefix, at most `prefix_valid_lifetime`", d.PrefixPreferredLifetime),
					"rdnss":                     addressListAttribute("Recursive DNS servers advertised in the RA (RFC 8106 RDNSS option)."),
					"dnssl":                     domainListAttribute("DNS search domains advertised in the RA (RFC 8106 DNSSL option)."),
					"dns_lifetime":              secondsAttribute("Lifetime of the RDNSS and DNSSL options: `0` withdraws them, otherwise at least `max_interval`", d.DNSLifetime),
				},
			},
			"dhcpv6": schema.SingleNestedAttribute{
				MarkdownDescription: "DHCPv6 server settings (RFC 8415). Every attribute has a default, but the default " +
					"mode `stateful` needs `ranges`.",
				Optional: true,
				Computed: true,
				Default:  objectdefault.StaticValue(defaultDHCPv6()),
				Attributes: map[string]schema.Attribute{
					"mode": schema.StringAttribute{
						MarkdownDescription: "`stateful` leases addresses from `ranges` and answers Information-Requests; " +
							"`stateless` only answers Information-Requests (addresses by SLAAC); `off` runs no DHCPv6 " +
							"server. Defaults to `\"" + string(d.DHCPv6Mode) + "\"`.",
						Optional: true,
						Computed: true,
						Default:  stringdefault.StaticString(string(d.DHCPv6Mode)),
					},
					"ranges": rangesAttribute("Inclusive address ranges to lease IA_NA addresses from, inside `prefix` " +
						"and not overlapping. At least one with mode `stateful`, none otherwise."),
					"temporary_ranges": rangesAttribute("Inclusive address ranges to lease IA_TA temporary addresses " +
						"from (RFC 8415; dhcpd6.conf's `range6 … temporary`), inside `prefix` and overlapping neither " +
						"each other nor `ranges`. Only with mode `stateful`."),
					"prefix_delegation": prefixDelegationAttribute("Prefixes to delegate to requesting routers by IA_PD (RFC 8415), as "+
						"dhcpd6.conf's `prefix6 START END /LENGTH` says it: every prefix of `length` bits from the one "+
						"at `start` to the one at `end`, e.g. `{ start = \"2001:db8:1:100::\", end = "+
						"\"2001:db8:1:111::\", length = 64 }` for 18 /64s. They must lie outside `prefix` and every "+
						"relayed link's prefix and pool. Only with mode `stateful`; unset delegates nothing.", false),
					"dns_servers":   addressListAttribute("DNS servers sent in the DNS Recursive Name Server option."),
					"domain_search": domainListAttribute("Search domains sent in the Domain Search List option."),
					"preference": schema.Int64Attribute{
						MarkdownDescription: "Server preference (0-255) sent in Advertise messages; clients pick the " +
							"highest, and 255 makes them take this server at once. Defaults to `0`.",
						Optional: true,
						Computed: true,
						Default:  int64default.StaticInt64(int64(d.Preference)),
					},
					"renew_time":         secondsAttribute("T1: when a client renews its lease, at most `rebind_time`", d.RenewTime),
					"rebind_time":        secondsAttribute("T2: when a client rebinds with any server, at most `preferred_lifetime`", d.RebindTime),
					"preferred_lifetime": secondsAttribute("Preferred lifetime of leased addresses, at most `valid_lifetime`", d.PreferredLifetime),
					"valid_lifetime":     secondsAttribute("Valid lifetime of leased addresses, greater than 0", d.ValidLifetime),
					"info_refresh_time": secondsAttribute("Information refresh time sent to stateless clients: `0` "+
						"leaves the client default (86400), otherwise at least 600", 0),
					"rapid_commit": schema.BoolAttribute{
						MarkdownDescription: "Answer a Solicit with Rapid Commit by a Reply at once (two messages instead " +
							"of four). Defaults to `false`.",
						Optional: true,
						Computed: true,
						Default:  booldefault.StaticBool(false),
					},
					"rate_limit": rateLimitAttribute(),
					"allow_leasequery": schema.BoolAttribute{
						MarkdownDescription: "Answer RFC 5007 LEASEQUERY messages (dhcpd6.conf's `allow leasequery`), which " +
							"tell any host on the link which client holds which address or prefix. When `false`, a " +
							"requestor gets a LEASEQUERY-REPLY with status NotAllowed. Defaults to `false`.",
						Optional: true,
						Computed: true,
						Default:  booldefault.StaticBool(false),
					},
					"max_ias_per_message": clientLimitAttribute("How many identity associations (IA_NA, IA_TA and "+
						"IA_PD together) of one Solicit or Request are served, in the order the client lists them; "+
						"the rest get status NoAddrsAvail (NoPrefixAvail for an IA_PD), as RFC 8415 says for an IA "+
						"the server assigns nothing to. A host asks for one address per interface.",
						d.MaxIAsPerMessage, config.MaxIAsPerMessage),
					"max_leases_per_client": clientLimitAttribute("How many addresses and delegated prefixes one "+
						"client DUID may hold at once, of every kind; its further IAs get NoAddrsAvail or "+
						"NoPrefixAvail until it releases one or one expires. Leases it holds are always renewed, "+
						"also after this is lowered.", d.MaxLeasesPerClient, config.MaxLeasesPerClient),
					"relayed_links": relayedLinksAttribute(),
				},
			},
			"boot": bootSchemaAttribute(),
			"machine_dns": schema.BoolAttribute{
				MarkdownDescription: "Answer DNS for machines, as dnsmasq does for its DHCP clients: the boot server's DNS " +
					"responder (port 53 on its serving addresses) answers AAAA queries for the host name of every " +
					"`netboot_machine` whose `reserved_address` is inside `prefix`, with that address; the host name of " +
					"any other machine gets the addresses (IA_NA) it holds leases on from this boot server, on any of its " +
					"links, while the leases last (the machine recognised by one of its `duids`, or one of its `macs` seen " +
					"in the client's DUID-LL or DUID-LLT, its link-local address or a relay's option 79). PTR queries in " +
					"`ip6.arpa` for those addresses (`dig -x`) get the host name back. A host name of one label gets the " +
					"first `dhcpv6.domain_search` domain (else the first `router_advertisement.dnssl` one), so `web1` " +
					"answers as `web1.lab.example`. Names follow machines and leases as they change. Point clients at it " +
					"with `dhcpv6.dns_servers` or `router_advertisement.rdnss` (the boot server's address). It answers " +
					"only these names (and NFS root images'), refusing every other query (a machine with no lease, an " +
					"address no machine holds, a reverse name that is not a whole address), so give clients another " +
					"resolver too. Defaults to `false`.",
				Optional: true,
				Computed: true,
				Default:  booldefault.StaticBool(false),
			},
			"link_local_address": schema.StringAttribute{
				MarkdownDescription: "Link-local address of `interface`, the RAs' source address. Empty while the " +
					"interface is missing.",
				Computed: true,
			},
			"global_addresses": schema.ListAttribute{
				MarkdownDescription: "Global addresses configured on `interface`, sorted.",
				ElementType:         types.StringType,
				Computed:            true,
			},
			"server_duid": schema.StringAttribute{
				MarkdownDescription: "DHCPv6 server DUID, in hex. Empty when `dhcpv6.mode` is `off`.",
				Computed:            true,
			},
			"boot_url_base": schema.StringAttribute{
				MarkdownDescription: "Base URL of the boot files (`netboot_artifact`) this boot server serves over HTTP: " +
					"`http://[<address>]`, with `:<port>` unless `boot.http_port` is 80. The address is " +
					"`boot.server_address` or else the interface's first permanent global address inside `prefix`. Empty when " +
					"`boot.http` is `false` or there is no such address.",
				Computed: true,
			},
			"tftp_url_base": schema.StringAttribute{
				MarkdownDescription: "Base URL of the boot files this boot server serves over TFTP: `tftp://[<address>]`, " +
					"with the address chosen as for `boot_url_base`. Empty when `boot.tftp` is `false` or there is no " +
					"such address.",
				Computed: true,
			},
			"https_url_base": schema.StringAttribute{
				MarkdownDescription: "Base URL of the same files over HTTPS: `https://[<address>]`, with `:<port>` unless " +
					"`boot.https.port` is 443, and the address chosen as for `boot_url_base`. Empty when `boot.https.enabled` " +
					"is `false` or there is no such address.",
				Computed: true,
			},
		},
	}
}

func (r *ipv6BootServerResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	conn, diags := agentFromProviderData(req.ProviderData)
	resp.Diagnostics.Append(diags...)
	r.agent = conn
}

// ValidateConfig runs the agent's own validation (config.FromProto) on the
// configuration with defaults filled in, so every malformed value, a range
// outside the prefix or an inconsistent RA flag fails at validate and plan,
// naming the attribute. Values not known yet (module inputs) stand in as
// defaults or empty, and errors on them or comparing with them are left
// out: the agent checks them again at apply.
func (r *ipv6BootServerResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m bootServerModel
	if diags := req.Config.Get(ctx, &m); diags.HasError() {
		return
	}
	pb, diags := m.toProto(ctx)
	resp.Diagnostics.Append(diags...)
	if diags.HasError() {
		return
	}
	cfg, err := config.FromProto(pb)
	if err == nil {
		// Whether the certificate is valid now and names the configured
		// server address; without one, the agent checks its own at apply.
		err = cfg.Boot.CheckHTTPSCertificate(time.Now(), cfg.Boot.ServerAddress)
	}
	addValidationErrors(&resp.Diagnostics, "boot server", err, req.Config.Raw)
}

// ModifyPlan fills in the RA flags the user left to dhcpv6.mode, and keeps
// status values that cannot change under this plan, and the boot URL bases
// it can work out, instead of showing them as "known after apply".
func (r *ipv6BootServerResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return // destroy
	}
	var plan, cfg bootServerModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}

	resp.Diagnostics.Append(plan.deriveRAFlags(ctx, cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}

	var state *bootServerModel
	if !req.State.Raw.IsNull() {
		state = &bootServerModel{}
		resp.Diagnostics.Append(req.State.Get(ctx, state)...)
		if resp.Diagnostics.HasError() {
			return
		}
		// Empty values mean the interface was missing or a server was not
		// running at refresh; the apply may find them, so they stay unknown.
		if plan.Interface.Equal(state.Interface) {
			if state.LinkLocalAddress.ValueString() != "" {
				plan.LinkLocalAddress = state.LinkLocalAddress
			}
			// The interface's addresses do not follow the configuration: keep
			// them, or every plan that re-derives a default shows an update.
			if !state.GlobalAddresses.IsNull() && !state.GlobalAddresses.IsUnknown() {
				plan.GlobalAddresses = state.GlobalAddresses
			}
			mode := plan.dhcpv6Mode(ctx)
			if state.ServerDUID.ValueString() != "" && !mode.IsUnknown() && mode.Equal(state.dhcpv6Mode(ctx)) {
				plan.ServerDUID = state.ServerDUID
			}
		}
	}
	resp.Diagnostics.Append(plan.planURLBases(ctx, state)...)
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

// planURLBases sets boot_url_base, tftp_url_base and https_url_base where the plan decides
// them: the server address is configured, or the agent picks it from an
// interface and prefix that stay the same, so it keeps the address it used
// at refresh. A missing address may appear by apply, so that stays unknown.
func (m *bootServerModel) planURLBases(ctx context.Context, state *bootServerModel) diag.Diagnostics {
	var diags diag.Diagnostics
	if m.Boot.IsUnknown() {
		return diags
	}
	boot, d := bootToProto(ctx, m.Boot)
	diags.Append(d...)
	if diags.HasError() {
		return diags
	}
	addr, _ := netip.ParseAddr(boot.GetServerAddress())
	if !addr.IsValid() && state != nil && m.Interface.Equal(state.Interface) && !m.Prefix.IsUnknown() {
		samePrefix, d := m.Prefix.StringSemanticEquals(ctx, state.Prefix)
		diags.Append(d...)
		if !samePrefix {
			return diags
		}
		stateBoot, d := bootToProto(ctx, state.Boot)
		diags.Append(d...)
		if stateBoot.GetServerAddress() == "" {
			addr = urlBaseAddress(state.TFTPURLBase.ValueString())
			if !addr.IsValid() {
				addr = urlBaseAddress(state.BootURLBase.ValueString())
			}
		}
	}
	if !addr.IsValid() {
		return diags
	}
	tftpBase, httpBase, httpsBase := bootURLBases(boot, addr)
	m.BootURLBase, m.TFTPURLBase, m.HTTPSURLBase = types.StringValue(httpBase), types.StringValue(tftpBase), types.StringValue(httpsBase)
	return diags
}

// put is Create and Update alike: one idempotent PutBootServer, then the
// agent's answer becomes the state.
// ImportState takes the boot server's name; Read fills in the rest.
// bootServerObject is the boot server's lifecycle on the agent.
var bootServerObject = &agentObject[bootServerModel]{
	noun:    "boot server",
	keyAttr: "name",
	key:     func(m *bootServerModel) string { return nameOrID(m.Name, m.ID) },
	put: func(ctx context.Context, agent *agentclient.Conn, m *bootServerModel, diags *diag.Diagnostics) {
		pb, d := m.toProto(ctx)
		diags.Append(d...)
		if diags.HasError() {
			return
		}
		st, err := agent.PutBootServer(ctx, &netbootv1.PutBootServerRequest{BootServer: pb})
		if err != nil {
			addAgentError(diags, "boot server", fmt.Sprintf("saving boot server %q", pb.GetName()), err)
			return
		}
		diags.Append(m.fromProto(ctx, st)...)
	},
	get: func(ctx context.Context, agent *agentclient.Conn, name string, m *bootServerModel, diags *diag.Diagnostics) error {
		st, err := agent.GetBootServer(ctx, &netbootv1.GetBootServerRequest{Name: name})
		if err == nil {
			diags.Append(m.fromProto(ctx, st)...)
		}
		return err
	},
	list: func(ctx context.Context, agent *agentclient.Conn, diags *diag.Diagnostics) ([]bootServerModel, error) {
		servers, err := agentclient.All(ctx, agent.ListBootServers, &netbootv1.ListBootServersRequest{}, (*netbootv1.ListBootServersResponse).GetBootServers)
		models := make([]bootServerModel, len(servers))
		for i, st := range servers {
			diags.Append(models[i].fromProto(ctx, st)...)
		}
		return models, err
	},
	remove: func(ctx context.Context, agent *agentclient.Conn, name string) error {
		_, err := agent.DeleteBootServer(ctx, &netbootv1.DeleteBootServerRequest{Name: name})
		return err
	},
	validKey: validObjectName,
}

func (r *ipv6BootServerResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	bootServerObject.create(ctx, r.agent, req, resp)
}

func (r *ipv6BootServerResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	bootServerObject.read(ctx, r.agent, req, resp)
}

func (r *ipv6BootServerResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	bootServerObject.update(ctx, r.agent, req, resp)
}

func (r *ipv6BootServerResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	bootServerObject.delete(ctx, r.agent, req, resp)
}

// ImportState takes the name (terraform import) or the identity (an import
// block); Read fills in the rest.
func (r *ipv6BootServerResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	bootServerObject.importState(ctx, r.agent, req, resp)
}

func (r *ipv6BootServerResource) IdentitySchema(ctx context.Context, req resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	bootServerObject.identitySchema(ctx, req, resp)
}

var _ resource.ResourceWithUpgradeState = &ipv6BootServerResource{}

// UpgradeState moves states written before boot rules' arch, duids and
// macs were sets.
func (r *ipv6BootServerResource) UpgradeState(context.Context) map[int64]resource.StateUpgrader {
	return map[int64]resource.StateUpgrader{0: listsBecameSets()}
}
