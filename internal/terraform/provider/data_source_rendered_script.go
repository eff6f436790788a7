package provider

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/menu"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/agentclient"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

var _ datasource.DataSourceWithConfigure = &renderedScriptDataSource{}

func newRenderedScriptDataSource() datasource.DataSource { return &renderedScriptDataSource{} }

// renderedScriptDataSource shows the iPXE script a boot server would serve
// a host, and which menu the host gets and why, without booting it.
type renderedScriptDataSource struct {
	agent *agentclient.Conn
}

type renderedScriptModel struct {
	BootServer types.String `tfsdk:"boot_server"`
	Path       types.String `tfsdk:"path"`
	MAC        types.String `tfsdk:"mac"`
	UUID       types.String `tfsdk:"uuid"`
	BuildArch  types.String `tfsdk:"buildarch"`
	Platform   types.String `tfsdk:"platform"`
	Script     types.String `tfsdk:"script"`
	Menu       types.String `tfsdk:"menu"`
	Reason     types.String `tfsdk:"reason"`
}

func (d *renderedScriptDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_rendered_script"
}

// scriptPathValidator accepts what RenderScript renders by path.
func scriptPathValidator() validator.String {
	return stringCheck{
		summary: "Invalid script path",
		description: `"` + menu.StartPath + `", "` + menu.GrubStartPath + `" or a host's menu path such as ` +
			`"netboot/host/mac-52-54-00-12-34-56/uuid-/arch-x86_64/platform-efi/menu.ipxe" (grub.cfg in place of menu.ipxe for GRUB)`,
		check: func(p string) error {
			if p == menu.StartPath || p == menu.GrubStartPath {
				return nil
			}
			if _, ok := menu.ParseHostPath(p); !ok {
				return errors.New("it is neither")
			}
			return nil
		},
	}
}

// hostAttribute is one thing iPXE says about the host; set instead of path.
func hostAttribute(description string, v validator.String) schema.StringAttribute {
	return schema.StringAttribute{
		MarkdownDescription: description + " Leave unset for a host that does not report it; conflicts with `path`.",
		Optional:            true,
		Validators:          []validator.String{v, stringvalidator.ConflictsWith(path.MatchRoot("path"))},
	}
}

func (d *renderedScriptDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The iPXE script (or GRUB configuration) a boot server serves, rendered by the agent exactly as a booting host would " +
			"get it, with the menu chosen for that host and why: to review a `netboot_boot_menu` change, or to check " +
			"which menu a machine will get, without booting it. Describe the host by `mac`, `uuid`, `buildarch` and " +
			"`platform` (as iPXE reports them), or give a `path` the boot server serves.",
		Attributes: map[string]schema.Attribute{
			"boot_server": schema.StringAttribute{
				MarkdownDescription: "Name of the boot server (`netboot_ipv6_boot_server`) whose script to render; it must " +
					"serve HTTP and have an address, since the script's URLs start with its `boot_url_base`.",
				Required:   true,
				Validators: []validator.String{agentNameValidator()},
			},
			"path": schema.StringAttribute{
				MarkdownDescription: "`\"" + menu.StartPath + "\"` for the script iPXE runs first (it exists while a menu is " +
					"offered on the boot server), or a host's menu path `netboot/host/mac-<mac>/uuid-<uuid>/arch-<buildarch>/" +
					"platform-<platform>/menu.ipxe`. For GRUB (the Secure Boot chain): `\"" + menu.GrubStartPath + "\"`, which a " +
					"network GRUB reads first, or the same host path ending in `grub.cfg` (GRUB fills in its `$net_default_mac`, " +
					"`$grub_cpu` and `$grub_platform`, e.g. `netboot/host/mac-52:54:00:12:34:56/uuid-/arch-x86_64/platform-efi/grub.cfg`). " +
					"Leave unset for the menu script of the host `mac`, `uuid`, `buildarch` and `platform` describe.",
				Optional:   true,
				Validators: []validator.String{scriptPathValidator()},
			},
			"mac": hostAttribute("The host's MAC address, e.g. `\"52:54:00:12:34:56\"` (`:` or `-`, any case).",
				stringCheck{summary: "Invalid MAC address", description: `a MAC address such as "52:54:00:12:34:56"`, check: normalizes(menu.NormalizeMAC)}),
			"uuid": hostAttribute("The host's SMBIOS UUID (iPXE's `${uuid}`), e.g. `\"4c4c4544-0042-3510-8052-b4c04f4b4e31\"`.",
				stringCheck{summary: "Invalid UUID", description: `a UUID such as "4c4c4544-0042-3510-8052-b4c04f4b4e31"`, check: normalizes(menu.NormalizeUUID)}),
			"buildarch": hostAttribute("The host's iPXE `${buildarch}`, e.g. `\"x86_64\"` or `\"i386\"` (BIOS iPXE builds).",
				stringvalidator.OneOf(menu.BuildArchs...)),
			"platform": hostAttribute("The host's iPXE `${platform}`: `\"efi\"` or `\"pcbios\"`.",
				stringvalidator.OneOf(menu.Platforms...)),
			"script": schema.StringAttribute{
				MarkdownDescription: "The script, byte for byte what the boot server serves at that path.",
				Computed:            true,
			},
			"menu": schema.StringAttribute{
				MarkdownDescription: "Name of the `netboot_boot_menu` chosen for the host; empty when none matches (the " +
					"script then says so and boots from the local disk) and for `start.ipxe`.",
				Computed: true,
			},
			"reason": schema.StringAttribute{
				MarkdownDescription: "Why that menu was chosen, e.g. `menu \"lab\" matches on mac (score 8)`; empty for " +
					"`start.ipxe`.",
				Computed: true,
			},
		},
	}
}

// normalizes turns a menu.Normalize function into a stringCheck check.
func normalizes(normalize func(string) (string, bool)) func(string) error {
	return func(s string) error {
		if _, ok := normalize(s); !ok {
			return errors.New("it is not one")
		}
		return nil
	}
}

func (d *renderedScriptDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	conn, diags := agentFromProviderData(req.ProviderData)
	resp.Diagnostics.Append(diags...)
	d.agent = conn
}

func (d *renderedScriptDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m renderedScriptModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if d.agent == nil {
		addNotConfigured(&resp.Diagnostics)
		return
	}
	name := m.BootServer.ValueString()
	rendered, err := d.agent.RenderScript(ctx, &netbootv1.RenderScriptRequest{
		BootServer: name,
		Path:       m.Path.ValueString(),
		Mac:        m.MAC.ValueString(),
		Uuid:       m.UUID.ValueString(),
		Buildarch:  m.BuildArch.ValueString(),
		Platform:   m.Platform.ValueString(),
	})
	switch status.Code(err) {
	case codes.OK:
	case codes.NotFound:
		resp.Diagnostics.AddAttributeError(path.Root("boot_server"), "Boot server not found",
			fmt.Sprintf("No boot server %q exists on the agent.", name))
		return
	default:
		addAgentError(&resp.Diagnostics, "script", fmt.Sprintf("rendering the script of boot server %q", name), err)
		return
	}
	m.Script = types.StringValue(rendered.GetScript())
	m.Menu = types.StringValue(rendered.GetMenu())
	m.Reason = types.StringValue(rendered.GetReason())
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
