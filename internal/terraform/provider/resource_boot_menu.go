package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/setdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/menu"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/agentclient"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

var (
	_ resource.ResourceWithConfigure      = &bootMenuResource{}
	_ resource.ResourceWithImportState    = &bootMenuResource{}
	_ resource.ResourceWithIdentity       = &bootMenuResource{}
	_ resource.ResourceWithValidateConfig = &bootMenuResource{}
	_ resource.ResourceWithModifyPlan     = &bootMenuResource{}
)

func newBootMenuResource() resource.Resource { return &bootMenuResource{} }

// bootMenuResource is an iPXE menu of boot entries and submenus, and which
// hosts get it.
type bootMenuResource struct {
	agent *agentclient.Conn
}

type bootMenuModel struct {
	ID          types.String `tfsdk:"id"`
	Name        types.String `tfsdk:"name"`
	Title       types.String `tfsdk:"title"`
	Items       types.List   `tfsdk:"items"`
	DefaultItem types.String `tfsdk:"default_item"`
	Timeout     types.Int64  `tfsdk:"timeout"`
	Template    types.String `tfsdk:"template"`
	Match       types.Object `tfsdk:"match"`
	IsDefault   types.Bool   `tfsdk:"is_default"`
	BootServers types.Set    `tfsdk:"boot_servers"`
	Formats     types.Set    `tfsdk:"formats"`
}

// menuItemModel is one line of a menu. Unset strings are null, never empty,
// as the agent reports them as empty.
type menuItemModel struct {
	Entry types.String `tfsdk:"entry"`
	Menu  types.String `tfsdk:"menu"`
	Gap   types.Bool   `tfsdk:"gap"`
	Text  types.String `tfsdk:"text"`
	Key   types.String `tfsdk:"key"`
}

type hostMatchModel struct {
	MACs       types.Set `tfsdk:"macs"`
	UUIDs      types.Set `tfsdk:"uuids"`
	Platforms  types.Set `tfsdk:"platforms"`
	BuildArchs types.Set `tfsdk:"buildarchs"`
	Labels     types.Map `tfsdk:"labels"`
}

var (
	menuItemObjectType = types.ObjectType{AttrTypes: map[string]attr.Type{
		"entry": types.StringType,
		"menu":  types.StringType,
		"gap":   types.BoolType,
		"text":  types.StringType,
		"key":   types.StringType,
	}}

	hostMatchAttrTypes = map[string]attr.Type{
		"macs":       stringSetType,
		"uuids":      stringSetType,
		"platforms":  stringSetType,
		"buildarchs": stringSetType,
		"labels":     types.MapType{ElemType: types.StringType},
	}
)

const (
	defaultMenuTimeout = 10
	// maxMenuTimeout is the agent's limit (menu.Validate): a day.
	maxMenuTimeout = 86400
)

// menuSelectionRule is the rule menu.Select documents, in Markdown.
const menuSelectionRule = "" +
	"- A menu is offered on a boot server when its `boot_servers` is empty or names that boot server, to the boot " +
	"loaders its `formats` name: iPXE, GRUB or both.\n" +
	"- An offered menu matches a host when every field set in its `match` matches: `macs` contains the host's MAC " +
	"address, `uuids` its SMBIOS UUID, `platforms` its iPXE `${platform}` (`\"efi\"`, `\"pcbios\"`) and `buildarchs` " +
	"its `${buildarch}` (`\"x86_64\"`, `\"arm64\"`, ...), and `labels` the labels of the `netboot_machine` the host " +
	"is (by its MAC address or UUID). Any value within a list will do; every label must be there. MAC addresses and " +
	"UUIDs are compared in any case, with `:` or `-`. A menu with an empty `match` matches no host.\n" +
	"- A host that is a `netboot_machine` with a `menu` gets that menu, before any `match`, when that menu is for " +
	"the boot loader asking (its `formats`).\n" +
	"- Otherwise the most specific matching menu wins. Its score is 8 if its `match` sets `macs` or `uuids`, plus 4 " +
	"if it sets `labels`, plus 2 if it sets `platforms`, plus 1 if it sets `buildarchs`. Between equal scores the " +
	"menu whose name sorts first wins.\n" +
	"- When no menu matches, the host gets the boot server's default menu (`is_default = true`); when there is " +
	"none, no menu: iPXE says so and boots from the local disk.\n"

// menuURLLayout is what a boot server serves for menus, in Markdown.
const menuURLLayout = "" +
	"- `<boot_url_base>/start.ipxe` chains to the host's own script. The agent generates it while at least one " +
	"menu offered on the boot server to iPXE matches hosts or is a default, or a `netboot_machine`'s `menu` is for " +
	"iPXE (it then replaces a `netboot_artifact` at " +
	"`start.ipxe`); the boot server's default boot rules hand `start.ipxe` to iPXE.\n" +
	"- `<boot_url_base>/netboot/host/mac-<mac>/uuid-<uuid>/arch-<buildarch>/platform-<platform>/menu.ipxe`, with the " +
	"values iPXE fills in (`${netX/mac:hexhyp}`, `${uuid}`, `${buildarch}`, `${platform}`), is that host's script: " +
	"the menu chosen for it, every submenu reachable from it and every entry they offer. A host no menu matches " +
	"gets a script that says so and boots from the local disk.\n" +
	"- Kernels and initrds given as artifact paths are fetched from `<boot_url_base>/<path>`.\n" +
	"- For a network GRUB (UEFI Secure Boot: shim, then GRUB, see the \"Secure Boot\" guide), over TFTP and HTTP: " +
	"`grub/grub.cfg`, generated under the same condition as `start.ipxe` for menus offered to GRUB, loads " +
	"`netboot/host/mac-<mac>/uuid-/arch-<cpu>/platform-<platform>/grub.cfg` with the values GRUB fills in " +
	"(`$net_default_mac`, `$grub_cpu`, `$grub_platform`; GRUB reports no UUID): the same menu chosen by the same " +
	"rule, as `menuentry` and `submenu` blocks. Gaps are left out; in a menu for both boot loaders, entries only " +
	"iPXE can run stay listed and say so when chosen (see `formats`).\n\n" +
	"The scripts are rendered on every request, so a change is served as soon as it is applied. The " +
	"`netboot_rendered_script` data source shows what a host would get, and why, without booting it.\n"

// builtinMenuTemplate is the menu template the agent uses when template is
// unset (menu.MenuView documents it), for the documentation.
const builtinMenuTemplate = "" +
	"menu {{.Title}}\n" +
	"{{range .Items}}{{if .Gap}}item --gap{{with .Text}} -- {{.}}{{end}}\n" +
	"{{else}}item {{with .Key}}--key {{.}} {{end}}{{.ID}} {{.Text}}\n" +
	"{{end}}{{end}}{{if .ShowBack}}item --gap\n" +
	"item {{.Back}} Back\n" +
	"{{end}}choose{{with .TimeoutMillis}} --timeout {{.}}{{end}}{{with .Default}} --default {{.}}{{end}} selected || goto {{.CancelLabel}}\n" +
	"goto ${selected}\n"

func (r *bootMenuResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_boot_menu"
	resp.ResourceBehavior = agentObjectBehavior
}

// matchListAttribute is one field of match: null when unset, never empty.
func matchSetAttribute(description string) schema.SetAttribute {
	return schema.SetAttribute{
		MarkdownDescription: description,
		ElementType:         types.StringType,
		Optional:            true,
		Validators: []validator.Set{
			setvalidator.SizeAtLeast(1),
			setvalidator.NoNullValues(),
		},
	}
}

func optionalText(description string) schema.StringAttribute {
	return schema.StringAttribute{
		MarkdownDescription: description,
		Optional:            true,
		Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
	}
}

func (r *bootMenuResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		// Version 1: match's fields and boot_servers are sets (lists in 0).
		Version: 1,
		MarkdownDescription: "A boot menu of `netboot_boot_entry` entries and submenus, rendered for iPXE and GRUB, and which hosts get it. Every " +
			"attribute but `name` changes in place, and boot servers serve the change at once.\n\n" +
			"**Which menu a host gets.** iPXE reports the host's MAC address, SMBIOS UUID, build architecture and " +
			"platform in the URL of its script, and the agent picks one menu for it:\n\n" + menuSelectionRule + "\n" +
			"The agent refuses a second default menu on a boot server for the same boot loader (`formats`), and two " +
			"menus offered on the same boot server to the same boot loader with the same `match`, which would tie for " +
			"every host they match. A menu with neither `match` nor " +
			"`is_default` is only reached as a submenu or as a `netboot_machine`'s `menu`.\n\n" +
			"**What a boot server serves**, at its `boot_url_base`:\n\n" + menuURLLayout + "\n" +
			"Items name entries and submenus: write `entry = netboot_boot_entry.<label>.name` and `menu = " +
			"netboot_boot_menu.<label>.name`, so Terraform creates them before this menu and deletes them after it. " +
			"The agent refuses a menu naming an entry or menu it does not have, and the deletion of a menu another " +
			"menu lists. Submenus may lead back to their parent: items are goto labels.\n\n" +
			"The agent's own validation runs at `terraform plan`: texts are checked against iPXE's parser (a title " +
			"with a line break or a lone `||` fails there, naming the attribute), as are hot keys, `default_item` and " +
			"`template`.\n\n" +
			"Import takes the menu's `name`.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "The menu's name.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				MarkdownDescription: "Name of the menu on the agent: 1-63 lowercase letters, digits, `-` or `_`, starting " +
					"with a letter or digit. Between menus whose `match` scores the same, the name sorting first wins. " +
					"Changing it replaces the menu.",
				Required:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{agentNameValidator()},
			},
			"title": optionalText("Shown above the items, e.g. `\"PXE Boot Options\"`; the `name` when unset. Also the label " +
				"of this menu as another menu's item, unless that item sets `text`. " + textRules + " It must not start " +
				"with `-`, which iPXE's `menu` command would read as an option."),
			"items": schema.ListNestedAttribute{
				MarkdownDescription: "The menu's lines, in order: each sets exactly one of `entry`, `menu` or `gap`, and at " +
					"least one is an entry or submenu. Submenus get a `Back` item to the menu they were reached from; " +
					"Esc goes back too, and in the host's own menu exits to the local disk.",
				Required: true,
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"entry": optionalText("Name of a `netboot_boot_entry` to offer, e.g. " +
							"`netboot_boot_entry.local.name`."),
						"menu": optionalText("Name of a `netboot_boot_menu` to offer as a submenu, e.g. " +
							"`netboot_boot_menu.install.name`."),
						"gap": schema.BoolAttribute{
							MarkdownDescription: "A separator line that cannot be chosen, showing `text` if set. Defaults " +
								"to `false`.",
							Optional: true,
							Computed: true,
							Default:  booldefault.StaticBool(false),
						},
						"text": optionalText("The line's label, replacing the entry's or submenu's `title`; a gap's " +
							"heading. " + textRules),
						"key": optionalText("Hot key choosing the item at once: one letter or digit, e.g. `\"l\"`, " +
							"unique within the menu. Not on a gap."),
					},
				},
			},
			"default_item": optionalText("The `entry` or `menu` of one of the items, chosen when `timeout` runs out; the " +
				"first item when unset."),
			"timeout": schema.Int64Attribute{
				MarkdownDescription: fmt.Sprintf("Seconds the menu waits for a choice before taking `default_item`; `0` "+
					"waits forever. Any key stops the countdown. At most %d. Defaults to `%d`.", maxMenuTimeout, defaultMenuTimeout),
				Optional:   true,
				Computed:   true,
				Default:    int64default.StaticInt64(defaultMenuTimeout),
				Validators: []validator.Int64{int64validator.Between(0, maxMenuTimeout)},
			},
			"template": optionalText("A Go `text/template` replacing the built-in menu template, for a menu drawn " +
				"differently (colours, `--timeout` per item, ...). It receives `.Name`, `.Title`, `.Label` (this menu's " +
				"script label), `.CancelLabel` (where Esc goes), `.Items` (each with `.ID`, the label `choose` stores " +
				"and `goto` jumps to, `.Text`, `.Key`, `.Gap`, `.Entry` and `.Menu`), `.Default` (the ID of " +
				"`default_item`), `.TimeoutMillis`, `.Back` and `.ShowBack` (the menu this one was reached from, and " +
				"whether to offer it), `.BootServer` and `.HTTPBase`. The script puts `:<Label>` before its output " +
				"and the Esc handling after it, so a template only shows the menu and jumps to the choice. The built-in " +
				"one is:\n\n```\n" + builtinMenuTemplate + "```\n\nIn HCL write iPXE settings as `$${selected}`; a heredoc " +
				"(`<<-EOT`) keeps it readable. It is tried on this menu at plan, so a misspelt field fails there."),
			"match": schema.SingleNestedAttribute{
				MarkdownDescription: "The hosts this menu is for, by the rule above: every field set must match, any " +
					"value within a field will do. Set at least one field; leave `match` out for a menu that only " +
					"`is_default` or another menu leads to.",
				Optional: true,
				Attributes: map[string]schema.Attribute{
					"macs": matchSetAttribute("MAC addresses, e.g. `[\"52:54:00:12:34:56\"]`, with `:` or `-`, in any case."),
					"uuids": matchSetAttribute("SMBIOS UUIDs (iPXE's `${uuid}`, `dmidecode -s system-uuid`), e.g. " +
						"`[\"4c4c4544-0042-3510-8052-b4c04f4b4e31\"]`, in any case, with or without hyphens."),
					"platforms": matchSetAttribute("iPXE `${platform}` values: `\"efi\"` (UEFI) and `\"pcbios\"` (BIOS)."),
					"buildarchs": matchSetAttribute("iPXE `${buildarch}` values: `\"" + strings.Join(menu.BuildArchs, "\"`, `\"") + "\"`. " +
						"A BIOS iPXE such as `undionly.kpxe` is usually `i386` even on 64-bit machines."),
					"labels": schema.MapAttribute{
						MarkdownDescription: "Labels of `netboot_machine`s, e.g. `{ role = \"web\" }`: the menu matches a host " +
							"that is a machine (by MAC address or UUID) whose `labels` hold every one of these.",
						ElementType: types.StringType,
						Optional:    true,
						Validators:  []validator.Map{mapvalidator.SizeAtLeast(1)},
					},
				},
			},
			"is_default": schema.BoolAttribute{
				MarkdownDescription: "Make this the menu of every host no other menu matches, on the boot servers it is " +
					"offered on. At most one default menu per boot server. Defaults to `false`.",
				Optional: true,
				Computed: true,
				Default:  booldefault.StaticBool(false),
			},
			"boot_servers": schema.SetAttribute{
				MarkdownDescription: "Names of the boot servers (`netboot_ipv6_boot_server`) that offer this menu to hosts, " +
					"e.g. `[netboot_ipv6_boot_server.lab.name]`; `[]`, the default, means all of them. As a submenu, a " +
					"menu is reachable from any boot server.",
				ElementType: types.StringType,
				Optional:    true,
				Computed:    true,
				Default:     setdefault.StaticValue(types.SetValueMust(types.StringType, []attr.Value{})),
				Validators:  []validator.Set{setvalidator.NoNullValues()},
			},
			"formats": schema.SetAttribute{
				MarkdownDescription: "The boot loaders whose hosts this menu is chosen for: `\"ipxe\"` (the " +
					"`menu.ipxe` scripts iPXE runs) and `\"grub\"` (the `grub.cfg` a network GRUB reads after shim, for " +
					"UEFI Secure Boot). Defaults to both, `[\"ipxe\", \"grub\"]`: GRUB then lists the entries only iPXE " +
					"can run too, and says why when one is chosen. A menu for one loader leaves the other's hosts to the " +
					"other menus, so a boot server can have a default menu for each, e.g. an iPXE menu with `chain` and " +
					"`sanboot` entries and a Secure Boot menu for GRUB.\n\n" +
					"A menu for GRUB alone (`[\"grub\"]`) may only lead, directly or through submenus, to entries GRUB " +
					"can boot: `exit`, and `linux` entries whose UEFI kernel and initrds are artifact paths (GRUB fetches " +
					"files from its boot server, not from URLs). An item naming a `chain`, `sanboot` or `script` entry, or a " +
					"kernel given as a URL, is refused with the entry and the reason: at plan when the agent already has " +
					"the entry, else at apply. Changing an entry so that such a menu could not boot it is refused too (at " +
					"plan as well): take it out of the menu in an earlier apply. The plan checks the entries as the agent " +
					"has them, so change an entry into one GRUB boots in an apply before listing it here.",
				ElementType: types.StringType,
				Optional:    true,
				Computed:    true,
				Default: setdefault.StaticValue(types.SetValueMust(types.StringType, []attr.Value{
					types.StringValue(string(menu.FormatIPXE)), types.StringValue(string(menu.FormatGRUB))})),
				Validators: []validator.Set{
					setvalidator.SizeAtLeast(1),
					setvalidator.ValueStringsAre(stringvalidator.OneOf(string(menu.FormatIPXE), string(menu.FormatGRUB))),
				},
			},
		},
	}
}

func (r *bootMenuResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	conn, diags := agentFromProviderData(req.ProviderData)
	resp.Diagnostics.Append(diags...)
	r.agent = conn
}

// ValidateConfig runs the agent's own validation (menu.Menu.Validate) once
// every value is known, so a title iPXE would misread, a repeated hot key
// or a default_item no item offers fails at plan, naming the attribute.
// Whether the items' entries and menus exist is the agent's to say at
// apply: they may be created in the same run. The schema's validators
// report malformed names and timeouts themselves.
func (r *bootMenuResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	if !req.Config.Raw.IsFullyKnown() {
		return
	}
	var m bootMenuModel
	if diags := req.Config.Get(ctx, &m); diags.HasError() {
		return
	}
	pb, diags := m.toProto(ctx)
	if diags.HasError() {
		return
	}
	if !m.Match.IsNull() && pb.GetMatch() == nil {
		resp.Diagnostics.AddAttributeError(path.Root("match"), invalidSummary("boot menu"),
			"match sets no field, so it would match no host: set macs, uuids, platforms, buildarchs or labels, or leave "+
				"match out for a menu that is only a default or a submenu.")
	}
	mn := menu.MenuFromProto(pb)
	addValidationErrors(&resp.Diagnostics, "boot menu", mn.Validate(), req.Config.Raw, "name", "timeout", "formats")
}

// ModifyPlan refuses, at plan, a menu for GRUB alone that leads to an entry
// GRUB cannot boot, as far as the agent's entries and menus tell: one made
// in the same run is the agent's to refuse at apply, with the same words
// (menu.GrubOnlyProblems). Without an agent to ask, apply checks alone. A
// menu left as it is was checked when it changed (and entries when they
// change).
func (r *bootMenuResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || req.Plan.Raw.Equal(req.State.Raw) || r.agent == nil {
		return
	}
	var m bootMenuModel
	if diags := req.Plan.Get(ctx, &m); diags.HasError() || m.Items.IsUnknown() || m.Formats.IsUnknown() {
		return
	}
	pb, diags := m.toProto(ctx)
	if diags.HasError() {
		return
	}
	mn := menu.MenuFromProto(pb)
	if !mn.GrubOnly() {
		return
	}
	c, err := agentCatalog(ctx, r.agent)
	if err != nil {
		return
	}
	c.Menus[mn.Name] = mn
	problems := menu.GrubOnlyProblems(c.Entries, c.Menus, mn.Name)
	if len(problems) > 0 {
		addValidationErrors(&resp.Diagnostics, "boot menu", problems.ForMenu(mn.Name), req.Plan.Raw)
	}
}

// agentCatalog reads every boot entry and menu the agent has, for checks
// at plan between the planned object and the others.
func agentCatalog(ctx context.Context, agent *agentclient.Conn) (*menu.Catalog, error) {
	entries, err := agentclient.All(ctx, agent.ListBootEntries, &netbootv1.ListBootEntriesRequest{}, (*netbootv1.ListBootEntriesResponse).GetEntries)
	if err != nil {
		return nil, err
	}
	menus, err := agentclient.All(ctx, agent.ListBootMenus, &netbootv1.ListBootMenusRequest{}, (*netbootv1.ListBootMenusResponse).GetMenus)
	if err != nil {
		return nil, err
	}
	c := &menu.Catalog{Entries: map[string]menu.Entry{}, Menus: map[string]menu.Menu{}}
	for _, e := range entries {
		c.Entries[e.GetName()] = menu.EntryFromProto(e)
	}
	for _, m := range menus {
		c.Menus[m.GetName()] = menu.MenuFromProto(m)
	}
	return c, nil
}

// toProto builds the API's BootMenu, filling in the schema's defaults for
// null values so it works on a raw configuration too.
func (m *bootMenuModel) toProto(ctx context.Context) (*netbootv1.BootMenu, diag.Diagnostics) {
	var diags diag.Diagnostics
	pb := &netbootv1.BootMenu{
		Name:           m.Name.ValueString(),
		Title:          m.Title.ValueString(),
		DefaultItem:    m.DefaultItem.ValueString(),
		TimeoutSeconds: defaultMenuTimeout,
		Template:       m.Template.ValueString(),
		IsDefault:      m.IsDefault.ValueBool(),
		BootServers:    setStrings(ctx, m.BootServers),
	}
	// Every loader is the agent's default, sent as none.
	if formats := setStrings(ctx, m.Formats); len(formats) < len(menu.Formats) {
		pb.Formats = formats
	}
	if !m.Timeout.IsNull() && !m.Timeout.IsUnknown() {
		pb.TimeoutSeconds = uint32Of(&diags, m.Timeout.ValueInt64(), path.Root("timeout"))
	}
	var items []menuItemModel
	diags.Append(m.Items.ElementsAs(ctx, &items, false)...)
	for _, it := range items {
		pb.Items = append(pb.Items, &netbootv1.MenuItem{
			Entry: it.Entry.ValueString(),
			Menu:  it.Menu.ValueString(),
			Gap:   it.Gap.ValueBool(),
			Text:  it.Text.ValueString(),
			Key:   it.Key.ValueString(),
		})
	}
	if !m.Match.IsNull() && !m.Match.IsUnknown() {
		var mt hostMatchModel
		diags.Append(m.Match.As(ctx, &mt, basetypes.ObjectAsOptions{})...)
		match := &netbootv1.HostMatch{
			Macs:       setStrings(ctx, mt.MACs),
			Uuids:      setStrings(ctx, mt.UUIDs),
			Platforms:  setStrings(ctx, mt.Platforms),
			Buildarchs: setStrings(ctx, mt.BuildArchs),
			Labels:     mapStrings(mt.Labels),
		}
		if len(match.Macs)+len(match.Uuids)+len(match.Platforms)+len(match.Buildarchs)+len(match.Labels) > 0 {
			pb.Match = match
		}
	}
	return pb, diags
}

// fromProto sets every attribute from what the agent holds.
func (m *bootMenuModel) fromProto(pb *netbootv1.BootMenu) {
	m.ID = types.StringValue(pb.GetName())
	m.Name = types.StringValue(pb.GetName())
	m.Title = stringOrNull(pb.GetTitle())
	m.DefaultItem = stringOrNull(pb.GetDefaultItem())
	m.Timeout = types.Int64Value(int64(pb.GetTimeoutSeconds()))
	m.Template = stringOrNull(pb.GetTemplate())
	m.IsDefault = types.BoolValue(pb.GetIsDefault())
	m.BootServers = stringSet(pb.GetBootServers())
	m.Formats = stringSet(pb.GetFormats())
	if len(pb.GetFormats()) == 0 {
		m.Formats = stringSet([]string{string(menu.FormatIPXE), string(menu.FormatGRUB)})
	}
	items := make([]attr.Value, 0, len(pb.GetItems()))
	for _, it := range pb.GetItems() {
		items = append(items, types.ObjectValueMust(menuItemObjectType.AttrTypes, map[string]attr.Value{
			"entry": stringOrNull(it.GetEntry()),
			"menu":  stringOrNull(it.GetMenu()),
			"gap":   types.BoolValue(it.GetGap()),
			"text":  stringOrNull(it.GetText()),
			"key":   stringOrNull(it.GetKey()),
		}))
	}
	m.Items = types.ListValueMust(menuItemObjectType, items)
	m.Match = types.ObjectNull(hostMatchAttrTypes)
	if match := pb.GetMatch(); match != nil {
		m.Match = types.ObjectValueMust(hostMatchAttrTypes, map[string]attr.Value{
			"macs":       stringSetOrNull(match.GetMacs()),
			"uuids":      stringSetOrNull(match.GetUuids()),
			"platforms":  stringSetOrNull(match.GetPlatforms()),
			"buildarchs": stringSetOrNull(match.GetBuildarchs()),
			"labels":     stringMapOrNull(match.GetLabels()),
		})
	}
}

// bootMenuReads reads boot menus for refresh: one List instead of a Get each once a plan
// reads many.
var bootMenuReads = &batchedReads[*netbootv1.BootMenu]{
	get: func(ctx context.Context, agent *agentclient.Conn, name string) (*netbootv1.BootMenu, error) {
		return agent.GetBootMenu(ctx, &netbootv1.GetBootMenuRequest{Name: name})
	},
	list: func(ctx context.Context, agent *agentclient.Conn) ([]*netbootv1.BootMenu, error) {
		return agentclient.All(ctx, agent.ListBootMenus, &netbootv1.ListBootMenusRequest{}, (*netbootv1.ListBootMenusResponse).GetMenus)
	},
	key: (*netbootv1.BootMenu).GetName,
}

// put is Create and Update alike: one idempotent PutBootMenu, whose answer
// becomes the state.
// ImportState takes the menu's name; Read fills in the rest.
// bootMenuObject is the menu's lifecycle on the agent.
var bootMenuObject = &agentObject[bootMenuModel]{
	noun:    "boot menu",
	keyAttr: "name",
	key:     func(m *bootMenuModel) string { return nameOrID(m.Name, m.ID) },
	put: func(ctx context.Context, agent *agentclient.Conn, m *bootMenuModel, diags *diag.Diagnostics) {
		pb, d := m.toProto(ctx)
		diags.Append(d...)
		if diags.HasError() {
			return
		}
		saved, err := agent.PutBootMenu(ctx, &netbootv1.PutBootMenuRequest{Menu: pb})
		if err != nil {
			addAgentError(diags, "boot menu", fmt.Sprintf("saving boot menu %q", pb.GetName()), err)
			return
		}
		m.fromProto(saved)
	},
	get: func(ctx context.Context, agent *agentclient.Conn, name string, m *bootMenuModel, _ *diag.Diagnostics) error {
		pb, err := bootMenuReads.read(ctx, agent, name)
		if err == nil {
			m.fromProto(pb)
		}
		return err
	},
	list: func(ctx context.Context, agent *agentclient.Conn, _ *diag.Diagnostics) ([]bootMenuModel, error) {
		menus, err := bootMenuReads.list(ctx, agent)
		models := make([]bootMenuModel, len(menus))
		for i, pb := range menus {
			models[i].fromProto(pb)
		}
		return models, err
	},
	remove: func(ctx context.Context, agent *agentclient.Conn, name string) error {
		_, err := agent.DeleteBootMenu(ctx, &netbootv1.DeleteBootMenuRequest{Name: name})
		return err
	},
	removeError: func(diags *diag.Diagnostics, name string, err error) {
		if status.Code(err) == codes.FailedPrecondition {
			addInUseError(diags, "menu", name, err)
			return
		}
		addAgentError(diags, "boot menu", fmt.Sprintf("deleting boot menu %q", name), err)
	},
	validKey: validObjectName,
	reads:    bootMenuReads,
}

func (r *bootMenuResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	bootMenuObject.create(ctx, r.agent, req, resp)
}

func (r *bootMenuResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	bootMenuObject.read(ctx, r.agent, req, resp)
}

func (r *bootMenuResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	bootMenuObject.update(ctx, r.agent, req, resp)
}

func (r *bootMenuResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	bootMenuObject.delete(ctx, r.agent, req, resp)
}

// ImportState takes the name (terraform import) or the identity (an import
// block); Read fills in the rest.
func (r *bootMenuResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	bootMenuObject.importState(ctx, r.agent, req, resp)
}

func (r *bootMenuResource) IdentitySchema(ctx context.Context, req resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	bootMenuObject.identitySchema(ctx, req, resp)
}

var _ resource.ResourceWithUpgradeState = &bootMenuResource{}

// UpgradeState moves states written before match's fields and boot_servers
// were sets.
func (r *bootMenuResource) UpgradeState(context.Context) map[int64]resource.StateUpgrader {
	return map[int64]resource.StateUpgrader{0: listsBecameSets()}
}
