package provider

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
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
	_ resource.ResourceWithConfigure      = &bootEntryResource{}
	_ resource.ResourceWithImportState    = &bootEntryResource{}
	_ resource.ResourceWithIdentity       = &bootEntryResource{}
	_ resource.ResourceWithValidateConfig = &bootEntryResource{}
	_ resource.ResourceWithModifyPlan     = &bootEntryResource{}
)

func newBootEntryResource() resource.Resource { return &bootEntryResource{} }

// bootEntryResource is one thing a boot menu can boot. Entries belong to the
// agent, not to a boot server: every boot server's menus can offer them.
type bootEntryResource struct {
	agent *agentclient.Conn
}

type bootEntryModel struct {
	ID     types.String `tfsdk:"id"`
	Name   types.String `tfsdk:"name"`
	Title  types.String `tfsdk:"title"`
	Kind   types.String `tfsdk:"kind"`
	Linux  types.Object `tfsdk:"linux"`
	EFI    types.Object `tfsdk:"efi"`
	PCBIOS types.Object `tfsdk:"pcbios"`
	URL    types.String `tfsdk:"url"`
	Script types.String `tfsdk:"script"`
}

// linuxBootModel is a kernel, its initrds and its command line. Unset fields
// are null, never empty: the agent reports them as empty, and Read maps that
// back to null.
type linuxBootModel struct {
	Kernel  types.String `tfsdk:"kernel"`
	Initrds types.List   `tfsdk:"initrds"`
	Args    types.String `tfsdk:"args"`
}

var linuxBootAttrTypes = map[string]attr.Type{
	"kernel":  types.StringType,
	"initrds": stringListType,
	"args":    types.StringType,
}

// secretValueNote says how to keep a credential in a value out of plans.
const secretValueNote = "A secret in it (a password, a token in a URL) stays out of plans and outputs when it " +
	"comes from a `sensitive = true` variable or `sensitive(...)`: Terraform then shows the whole value as " +
	"`(sensitive value)`. The state, and the agent (its store, `agent objects`, the scripts it serves), hold it in " +
	"clear, as they must to boot with it: keep both where only operators can read them."

// textRules says what a title or label may hold, for the documentation.
const textRules = "Printable text on one line, at most 128 bytes, without `||`, `&&` or `;` as a separate word, " +
	"a word starting with `#` or a trailing `\\`: iPXE has no quoting, so these would end the menu command, " +
	"start another or comment out the rest."

func (r *bootEntryResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_boot_entry"
	resp.ResourceBehavior = agentObjectBehavior
}

func kinds() []string {
	out := make([]string, len(menu.Kinds))
	for i, k := range menu.Kinds {
		out[i] = string(k)
	}
	return out
}

func linuxBootAttribute(description string) schema.SingleNestedAttribute {
	return schema.SingleNestedAttribute{
		MarkdownDescription: description,
		Optional:            true,
		Attributes: map[string]schema.Attribute{
			"kernel": schema.StringAttribute{
				MarkdownDescription: "The kernel: an artifact path such as `\"centos/9/efi/vmlinuz\"`, i.e. the `path` of a " +
					"`netboot_artifact`, which the boot server serves over HTTP at `<boot_url_base>/centos/9/efi/vmlinuz`; " +
					"or an absolute `http://`, `https://` or `tftp://` URL (IPv6 hosts in brackets).",
				Optional:   true,
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"initrds": schema.ListAttribute{
				MarkdownDescription: "Initrds, loaded in this order: artifact paths (served over HTTP by the boot server, " +
					"e.g. a `netboot_artifact`'s `path`) or absolute `http://`, `https://` or `tftp://` URLs. Each is " +
					"named after its file name in iPXE, and the names also go on the command line as `initrd=<name>`, which " +
					"kernels started through their EFI stub need and a kernel booted on BIOS ignores: on every platform " +
					"when the entry has no `efi` or `pcbios` override, otherwise on UEFI only; never when `args` has an " +
					"`initrd=` of its own.",
				ElementType: types.StringType,
				Optional:    true,
				Validators: []validator.List{
					listvalidator.SizeAtLeast(1),
					listvalidator.NoNullValues(),
					listvalidator.ValueStringsAre(stringvalidator.LengthAtLeast(1)),
				},
			},
			"args": schema.StringAttribute{
				MarkdownDescription: "Kernel command line, a Go template: `{{ .HTTPBase }}` is the boot server's HTTP URL " +
					"(its `boot_url_base`, without a trailing slash), `{{ .BootServer }}` its name and `{{ .Entry }}` this " +
					"entry's name, e.g. `\"inst.repo={{ .HTTPBase }}/centos/9 ip=dhcp6\"`; `{{ .ConfigURL \"user-data\" }}` is " +
					"where the booting `netboot_machine` fetches that file of a `netboot_config`, with its secret token " +
					"(`{{ .ConfigURL \"\" }}` its directory, for `ds=nocloud;s=`), and fails the menu of a host that is " +
					"no machine (see the \"Provisioning\" guide). With the boot server's `boot.https` on, `{{ .HTTPSBase }}` " +
					"is its `https_url_base` and `{{ .HTTPSConfigURL \"user-data\" }}` the same file over HTTPS, for an " +
					"installer or cloud-init that trusts its CA; while HTTPS is off they are empty and a menu using " +
					"`HTTPSConfigURL` fails to render. Kernels and initrds stay on HTTP: stock iPXE cannot verify the " +
					"certificate. iPXE's own settings such as " +
					"`${netX/mac}` pass through for iPXE to fill in; in HCL write them `$${netX/mac}`. One line, at most " +
					"4096 bytes, with the same limits as `title` on `||`, `&&`, `;` and `#`. " + secretValueNote,
				Optional:   true,
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
		},
	}
}

func (r *bootEntryResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "One thing a `netboot_boot_menu` can boot: a Linux kernel with its initrds and command line " +
			"(per platform if need be), the local disk (`exit`), another image (`chain`), a SAN disk (`sanboot`) or raw " +
			"iPXE commands (`script`). Entries belong to the agent: every boot server's menus can offer them, and the " +
			"scripts a boot server serves change as soon as an entry does. Every attribute but `name` changes in place.\n\n" +
			"The agent's own validation runs at `terraform plan`: every text is checked word by word against iPXE's " +
			"parser, which has no quoting, so a title with a line break or a lone `||` fails there, naming the attribute.\n\n" +
			"A menu lists an entry by name: write `entry = netboot_boot_entry.<label>.name`, so Terraform creates the " +
			"entry before the menu and deletes it after. The agent refuses to delete an entry a menu still lists.\n\n" +
			"**In GRUB** (the Secure Boot chain, see the \"Secure Boot\" guide) menus are rendered as `grub.cfg` from the " +
			"same entries: a `linux` entry boots its UEFI side (`linux` with the `efi` override) with `linux` and `initrd` " +
			"from the boot server GRUB was loaded from, so its kernel and initrds must be artifact paths, not URLs; every " +
			"argument is passed as one single-quoted word, in which GRUB expands nothing (iPXE's `${...}` settings stay " +
			"as written). `exit` returns to the firmware's next boot option. `chain`, `sanboot` and `script` run in iPXE " +
			"only: in a menu for both boot loaders GRUB lists them, and choosing one says so; a menu for GRUB alone " +
			"(`formats = [\"grub\"]`) may not lead to one, so changing an entry it leads to into one GRUB cannot boot " +
			"fails at plan.\n\n" +
			"Import takes the entry's `name`.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "The entry's name.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				MarkdownDescription: "Name of the entry on the agent, which menus' `items` refer to: 1-63 lowercase letters, " +
					"digits, `-` or `_`, starting with a letter or digit. Changing it replaces the entry; while a menu lists " +
					"it, set `lifecycle { create_before_destroy = true }` so the menu moves to the new entry before the " +
					"old one is deleted.",
				Required:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{agentNameValidator()},
			},
			"title": schema.StringAttribute{
				MarkdownDescription: "Label in menus, e.g. `\"CentOS Stream 9 installer\"`; the `name` when unset. A menu " +
					"item's `text` overrides it. " + textRules,
				Optional:   true,
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"kind": schema.StringAttribute{
				MarkdownDescription: "What choosing the entry does: `\"linux\"` boots a kernel (`linux`, `efi`, `pcbios`); " +
					"`\"exit\"` leaves iPXE so the firmware boots the next device, usually the local disk; `\"chain\"` " +
					"downloads and runs `url` (an EFI binary, an iPXE script, ...); `\"sanboot\"` boots the SAN target or " +
					"disk image at `url`; `\"script\"` runs `script`. Defaults to `\"linux\"`.",
				Optional:   true,
				Computed:   true,
				Default:    stringdefault.StaticString(string(menu.KindLinux)),
				Validators: []validator.String{stringvalidator.OneOf(kinds()...)},
			},
			"linux": linuxBootAttribute("The kernel for every platform, for kind `\"linux\"`. `efi` and `pcbios` override it " +
				"field by field: a `kernel`, `initrds` or `args` set there replaces this one's on that platform. Set " +
				"`linux` with a `kernel`, or both `efi` and `pcbios` with their own kernels."),
			"efi": linuxBootAttribute("Overrides of `linux` for hosts whose iPXE runs on UEFI (`${platform}` is `efi`). " +
				"With `efi` or `pcbios` set, the script branches on `${platform}`, so one entry boots e.g. an installer's " +
				"`images/pxeboot` kernel on BIOS and its EFI-stub kernel on UEFI."),
			"pcbios": linuxBootAttribute("Overrides of `linux` for hosts whose iPXE runs on BIOS (`${platform}` is `pcbios`)."),
			"url": schema.StringAttribute{
				MarkdownDescription: "What kind `\"chain\"` downloads and runs (an `http://`, `https://` or `tftp://` URL, e.g. " +
					"`\"https://boot.netboot.xyz/ipxe/netboot.xyz.efi\"`) or kind `\"sanboot\"` boots (an `http://` or " +
					"`https://` disk image, or an `iscsi:`, `aoe:`, `fcp:` or `ib_srp:` SAN URI, see https://ipxe.org/sanuri). " +
					"No spaces; iPXE settings such as `${netX/mac}` (in HCL `$${netX/mac}`) are filled in by iPXE. " + secretValueNote,
				Optional:   true,
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"script": schema.StringAttribute{
				MarkdownDescription: "iPXE commands for kind `\"script\"`, e.g. a heredoc; a leading `#!ipxe` line is dropped. " +
					"After the last line the host returns to its menu. Labels starting with `menu-` or `entry-` and " +
					"`failed` belong to the generated script. In HCL write iPXE settings as `$${name}`. " + secretValueNote,
				Optional:   true,
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
		},
	}
}

func (r *bootEntryResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	conn, diags := agentFromProviderData(req.ProviderData)
	resp.Diagnostics.Append(diags...)
	r.agent = conn
}

// ValidateConfig runs the agent's own validation (menu.Entry.Validate), so a
// title iPXE would misread or a kernel path with ".." fails at validate and
// plan, naming the attribute. Values not known yet (an NFS root image's
// kernel_path, say) are skipped with the checks that compare with them;
// the rest is checked. The schema's validators report malformed names and
// kinds themselves.
func (r *bootEntryResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m bootEntryModel
	if diags := req.Config.Get(ctx, &m); diags.HasError() {
		return
	}
	pb, diags := m.toProto(ctx)
	if diags.HasError() {
		return
	}
	e := menu.EntryFromProto(pb)
	if !slices.Contains(menu.Kinds, e.Kind) {
		return
	}
	addValidationErrors(&resp.Diagnostics, "boot entry", e.Validate(), req.Config.Raw, "name")
}

// ModifyPlan refuses, at plan, a change that makes the entry one GRUB
// cannot boot while a menu for GRUB alone on the agent leads to it: the
// agent would refuse it at apply with the same words
// (menu.GrubOnlyProblems). Values known only after apply, or no agent to
// ask, leave it to the agent. A new entry is in no menu yet, and one left
// as it is was checked when it changed.
func (r *bootEntryResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || req.State.Raw.IsNull() || req.Plan.Raw.Equal(req.State.Raw) || r.agent == nil || !req.Config.Raw.IsFullyKnown() {
		return
	}
	var m bootEntryModel
	if diags := req.Plan.Get(ctx, &m); diags.HasError() {
		return
	}
	pb, diags := m.toProto(ctx)
	if diags.HasError() {
		return
	}
	e := menu.EntryFromProto(pb)
	if menu.GrubProblem(e) == "" {
		return
	}
	c, err := agentCatalog(ctx, r.agent)
	if err != nil {
		return
	}
	c.Entries[e.Name] = e
	for _, name := range slices.Sorted(maps.Keys(c.Menus)) {
		for _, ce := range menu.GrubOnlyProblems(c.Entries, c.Menus, name) {
			if ce.Entry == e.Name {
				resp.Diagnostics.AddError(invalidSummary("boot entry"), ce.EntryRefusal())
			}
		}
	}
}

// toProto builds the API's BootEntry; a null kind (a raw configuration) is
// the schema's default.
func (m *bootEntryModel) toProto(ctx context.Context) (*netbootv1.BootEntry, diag.Diagnostics) {
	var diags diag.Diagnostics
	pb := &netbootv1.BootEntry{
		Name:   m.Name.ValueString(),
		Title:  m.Title.ValueString(),
		Kind:   m.Kind.ValueString(),
		Url:    m.URL.ValueString(),
		Script: m.Script.ValueString(),
	}
	if m.Kind.IsNull() {
		pb.Kind = string(menu.KindLinux)
	}
	for _, b := range []struct {
		obj types.Object
		dst **netbootv1.LinuxBoot
	}{{m.Linux, &pb.Linux}, {m.EFI, &pb.Efi}, {m.PCBIOS, &pb.Pcbios}} {
		if b.obj.IsNull() || b.obj.IsUnknown() {
			continue
		}
		var l linuxBootModel
		diags.Append(b.obj.As(ctx, &l, basetypes.ObjectAsOptions{})...)
		*b.dst = &netbootv1.LinuxBoot{Kernel: l.Kernel.ValueString(), Initrds: listStrings(ctx, l.Initrds), Args: l.Args.ValueString()}
	}
	return pb, diags
}

// fromProto sets every attribute from what the agent holds.
func (m *bootEntryModel) fromProto(pb *netbootv1.BootEntry) {
	m.ID = types.StringValue(pb.GetName())
	m.Name = types.StringValue(pb.GetName())
	m.Title = stringOrNull(pb.GetTitle())
	m.Kind = types.StringValue(pb.GetKind())
	m.Linux = linuxBootFromProto(pb.GetLinux())
	m.EFI = linuxBootFromProto(pb.GetEfi())
	m.PCBIOS = linuxBootFromProto(pb.GetPcbios())
	m.URL = stringOrNull(pb.GetUrl())
	m.Script = stringOrNull(pb.GetScript())
}

func linuxBootFromProto(pb *netbootv1.LinuxBoot) types.Object {
	if pb == nil {
		return types.ObjectNull(linuxBootAttrTypes)
	}
	return types.ObjectValueMust(linuxBootAttrTypes, map[string]attr.Value{
		"kernel":  stringOrNull(pb.GetKernel()),
		"initrds": stringListOrNull(pb.GetInitrds()),
		"args":    stringOrNull(pb.GetArgs()),
	})
}

// bootEntryReads reads boot entries for refresh: one List instead of a Get each once a plan
// reads many.
var bootEntryReads = &batchedReads[*netbootv1.BootEntry]{
	get: func(ctx context.Context, agent *agentclient.Conn, name string) (*netbootv1.BootEntry, error) {
		return agent.GetBootEntry(ctx, &netbootv1.GetBootEntryRequest{Name: name})
	},
	list: func(ctx context.Context, agent *agentclient.Conn) ([]*netbootv1.BootEntry, error) {
		return agentclient.All(ctx, agent.ListBootEntries, &netbootv1.ListBootEntriesRequest{}, (*netbootv1.ListBootEntriesResponse).GetEntries)
	},
	key: (*netbootv1.BootEntry).GetName,
}

// bootEntryObject is the entry's lifecycle on the agent.
var bootEntryObject = &agentObject[bootEntryModel]{
	noun:    "boot entry",
	keyAttr: "name",
	key:     func(m *bootEntryModel) string { return nameOrID(m.Name, m.ID) },
	put: func(ctx context.Context, agent *agentclient.Conn, m *bootEntryModel, diags *diag.Diagnostics) {
		pb, d := m.toProto(ctx)
		diags.Append(d...)
		if diags.HasError() {
			return
		}
		saved, err := agent.PutBootEntry(ctx, &netbootv1.PutBootEntryRequest{Entry: pb})
		if err != nil {
			addAgentError(diags, "boot entry", fmt.Sprintf("saving boot entry %q", pb.GetName()), err)
			return
		}
		m.fromProto(saved)
	},
	get: func(ctx context.Context, agent *agentclient.Conn, name string, m *bootEntryModel, _ *diag.Diagnostics) error {
		e, err := bootEntryReads.read(ctx, agent, name)
		if err == nil {
			m.fromProto(e)
		}
		return err
	},
	list: func(ctx context.Context, agent *agentclient.Conn, _ *diag.Diagnostics) ([]bootEntryModel, error) {
		entries, err := bootEntryReads.list(ctx, agent)
		models := make([]bootEntryModel, len(entries))
		for i, e := range entries {
			models[i].fromProto(e)
		}
		return models, err
	},
	remove: func(ctx context.Context, agent *agentclient.Conn, name string) error {
		_, err := agent.DeleteBootEntry(ctx, &netbootv1.DeleteBootEntryRequest{Name: name})
		return err
	},
	removeError: func(diags *diag.Diagnostics, name string, err error) {
		if status.Code(err) == codes.FailedPrecondition {
			addInUseError(diags, "entry", name, err)
			return
		}
		addAgentError(diags, "boot entry", fmt.Sprintf("deleting boot entry %q", name), err)
	},
	validKey: validObjectName,
	reads:    bootEntryReads,
}

func (r *bootEntryResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	bootEntryObject.create(ctx, r.agent, req, resp)
}

func (r *bootEntryResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	bootEntryObject.read(ctx, r.agent, req, resp)
}

func (r *bootEntryResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	bootEntryObject.update(ctx, r.agent, req, resp)
}

func (r *bootEntryResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	bootEntryObject.delete(ctx, r.agent, req, resp)
}

// ImportState takes the name (terraform import) or the identity (an import
// block); Read fills in the rest.
func (r *bootEntryResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	bootEntryObject.importState(ctx, r.agent, req, resp)
}

func (r *bootEntryResource) IdentitySchema(ctx context.Context, req resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	bootEntryObject.identitySchema(ctx, req, resp)
}
