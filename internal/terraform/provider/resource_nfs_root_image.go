package provider

import (
	"context"
	"fmt"
	slashpath "path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/nfsroot"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/agentclient"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

var (
	_ resource.ResourceWithConfigure      = &nfsRootImageResource{}
	_ resource.ResourceWithImportState    = &nfsRootImageResource{}
	_ resource.ResourceWithIdentity       = &nfsRootImageResource{}
	_ resource.ResourceWithValidateConfig = &nfsRootImageResource{}
	_ resource.ResourceWithModifyPlan     = &nfsRootImageResource{}
)

func newNFSRootImageResource() resource.Resource { return &nfsRootImageResource{} }

// nfsRootImageResource is a root filesystem on the agent host that machines
// boot diskless: the agent builds the initrd, stores kernel and initrd as
// artifacts, and its boot server exports the root over NFSv3 and answers DNS
// for the host name in nfsroot=.
type nfsRootImageResource struct {
	agent *agentclient.Conn
}

type nfsRootImageModel struct {
	ID            types.String   `tfsdk:"id"`
	Name          types.String   `tfsdk:"name"`
	BootServer    types.String   `tfsdk:"boot_server"`
	RootDir       types.String   `tfsdk:"root_dir"`
	Hostname      types.String   `tfsdk:"hostname"`
	ExportPath    types.String   `tfsdk:"export_path"`
	ReadWrite     types.Bool     `tfsdk:"read_write"`
	NoRootSquash  types.Bool     `tfsdk:"no_root_squash"`
	Interface     types.String   `tfsdk:"interface"`
	Kernel        types.String   `tfsdk:"kernel"`
	KernelVersion types.String   `tfsdk:"kernel_version"`
	Console       types.String   `tfsdk:"console"`
	ExtraModules  types.List     `tfsdk:"extra_modules"`
	KernelPath    types.String   `tfsdk:"kernel_path"`
	InitrdPath    types.String   `tfsdk:"initrd_path"`
	InitrdSize    types.Int64    `tfsdk:"initrd_size"`
	InitrdSHA256  types.String   `tfsdk:"initrd_sha256"`
	KernelSHA256  types.String   `tfsdk:"kernel_sha256"`
	KernelArgs    types.String   `tfsdk:"kernel_args"`
	NFSRoot       types.String   `tfsdk:"nfsroot"`
	BuildLog      types.String   `tfsdk:"build_log"`
	Timeouts      timeouts.Value `tfsdk:"timeouts"`
}

// The agent's defaults, which the plan can show before it runs.
const (
	defaultNFSInterface = "eth0"
	defaultExportPrefix = "/roots/"
	nfsRootArtifactDir  = "nfsroot"
	nfsRootKernelFile   = "vmlinuz"
	nfsRootInitrdFile   = "initrd.img"
)

// nfsRootImageNoun names the resource in the agent's error summaries.
const nfsRootImageNoun = "NFS root image"

// moduleNamePattern is a kernel module's name as modprobe takes it.
var moduleNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func (r *nfsRootImageResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_nfs_root_image"
	resp.ResourceBehavior = agentObjectBehavior
}

func (r *nfsRootImageResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Blocks: map[string]schema.Block{
			"timeouts": timeoutsBlock(ctx, "building the image (the initrd, copying the kernel, the export)"),
		},
		MarkdownDescription: "A root filesystem on the agent host that machines boot diskless over IPv6: the kernel " +
			"boots with an initrd the agent builds, which brings the network up by SLAAC and mounts `root_dir` over " +
			"NFSv3 from the boot server. Give a `netboot_boot_entry` this image's `kernel_path`, `initrd_path` and " +
			"`kernel_args` and put it in a menu.\n\n" +
			"What this does that used to be done by hand:\n\n" +
			"* **The initrd.** Neither the kernel's own `nfsroot=` nor its `ip=` autoconfiguration speaks IPv6, so the " +
			"root is mounted from the initrd: a static busybox, Debian's `mount.nfs` (from `nfs-common` on the agent " +
			"host) with every shared library it loads, the `libnss` modules and `nsswitch.conf` for DNS, " +
			"`/etc/protocols` (for `proto=tcp6`) and `/etc/netconfig` (libtirpc's transports), and the virtio-net and " +
			"NFSv3 kernel modules of `kernel_version` (plus `extra_modules`), in load order. The agent rebuilds it on " +
			"every create and update and serves it as the artifact `initrd_path`; the kernel is copied to `kernel_path`.\n" +
			"* **The kernel arguments** (`kernel_args`): `ip=:::::<interface>:off ip6=<interface>` keeps the kernel's " +
			"IPv4 autoconfiguration off and tells the initrd which interface to bring up by SLAAC; " +
			"`nfsroot=<hostname>:<export_path>`; `nbdns=<boot address>`, since the kernel ignores the RDNSS of router " +
			"advertisements; `ro` or `rw`; and `console=<console>` if set.\n" +
			"* **A host name, not an address, in `nfsroot=`.** `nfsroot=` is split at its first colon (by the kernel, " +
			"initramfs-tools and this initrd alike), so a literal IPv6 address, bracketed or not, breaks there; a " +
			"literal address in `hostname` is refused at plan. The boot server answers DNS (port 53, on its boot address) with an " +
			"AAAA record of its boot address for `hostname`, and `nbdns=` points the initrd at it.\n" +
			"* **The NFS server.** The boot server itself exports `root_dir` at `export_path` over NFSv3 on TCP/IPv6, " +
			"port 2049, with MOUNT on the same port (no rpcbind), read-only unless `read_write`. It does not need the " +
			"kernel NFS server (`nfsd`), which not every host (or container) has. Like the kernel's, it checks every " +
			"request against the files' owner, group and mode bits with the user and groups the client sends, and " +
			"maps the client's root to `nobody` unless `no_root_squash`.\n\n" +
			"The machine boots stock Debian iPXE. iPXE tries DHCPv4 before DHCPv6, and how long it waits " +
			"(`DHCP_DISC_END_TIMEOUT_SEC`) is fixed when iPXE is built, so on an IPv6-only link each boot spends a " +
			"few seconds on DHCPv4 first; this resource does not change that. For a serial console (QEMU " +
			"`-nographic`, a BMC's serial-over-LAN) set `console = \"ttyS0\"`.\n\n" +
			"The boot server must have a global address (its `boot_url_base` shows it) before the image is created. " +
			"Every attribute but `name` and `boot_server` changes in place, in one step that rebuilds the initrd and " +
			"switches exports, DNS and artifacts together or changes nothing. Any change to the inputs makes " +
			"`kernel_args`, the digests and `initrd_size` known only after apply.\n\n" +
			"Import takes the image's `name`.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "The image's name.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				MarkdownDescription: "Name of the image on its agent: 1-63 lowercase letters, digits, `-` or `_`, starting " +
					"with a letter or digit. It names the artifacts (`nfsroot/<name>/...`) and the default `export_path`. " +
					"Changing it replaces the image.",
				Required:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{agentNameValidator()},
			},
			"boot_server": schema.StringAttribute{
				MarkdownDescription: "Name of the `netboot_ipv6_boot_server` that exports the root and answers DNS for " +
					"`hostname`, e.g. `netboot_ipv6_boot_server.lab.name`. Changing it replaces the image.",
				Required:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{agentNameValidator()},
			},
			"root_dir": schema.StringAttribute{
				MarkdownDescription: "The root filesystem: an absolute path to a directory on the agent host, e.g. " +
					"`\"/srv/roots/debian\"` (built with `debootstrap`, say). Its `/sbin/init` (or the `init=` in " +
					"`kernel_args`) is started once it is mounted. It is served live: files changed in it need no apply. " +
					"It must lie under a directory the agent's operator allows with the agent's `--nfs-root-path DIR` " +
					"(repeatable; default `/srv`), and may neither be nor hold `/etc`, `/proc`, `/sys`, `/dev`, `/run`, " +
					"the agent's state directory or its TLS files (so `/` is refused).",
				Required:   true,
				Validators: []validator.String{agentPathValidator()},
			},
			"hostname": schema.StringAttribute{
				MarkdownDescription: "The NFS server's DNS name in `nfsroot=`, e.g. `\"nfs.boot.example\"`; the boot server " +
					"answers AAAA queries for it with its boot address. Never a literal address: `nfsroot=` is split at " +
					"its first colon, so an IPv6 address breaks it, and an IPv4 address cannot be reached on an " +
					"IPv6-only boot; both fail at plan.",
				Required:   true,
				Validators: []validator.String{nfsRootHostValidator()},
			},
			"export_path": schema.StringAttribute{
				MarkdownDescription: "The NFS export the machines mount, a clean absolute path without commas, spaces or " +
					"quotes. Defaults to `\"/roots/<name>\"`. Two images of one boot server cannot share it.",
				Optional:   true,
				Computed:   true,
				Validators: []validator.String{exportPathValidator()},
			},
			"read_write": schema.BoolAttribute{
				MarkdownDescription: "Export and mount the root read-write (`rw`); read-only (`ro`) otherwise. Machines " +
					"booting one read-write root at once share and may corrupt it. Defaults to `false`.",
				Optional: true,
				Computed: true,
				Default:  booldefault.StaticBool(false),
			},
			"no_root_squash": schema.BoolAttribute{
				MarkdownDescription: "Let the machine's root act as root on the export, as `no_root_squash` does in " +
					"`/etc/exports`. Otherwise the server maps root (user and group 0) to `nobody` (65534), as " +
					"`exportfs`'s default `root_squash` does, and root on the machine can read only what every user may " +
					"read: a full operating system's root filesystem, with files only root may read (`/etc/shadow`, " +
					"`/root`, private keys), usually needs `true`. Either way the server checks each request against " +
					"the files' owner, group and mode bits with the user and groups the client's AUTH_SYS credential " +
					"names, and a client on the boot link can claim any user: this keeps a careless client from " +
					"files, not a hostile one. Defaults to `false`.",
				Optional: true,
				Computed: true,
				Default:  booldefault.StaticBool(false),
			},
			"interface": schema.StringAttribute{
				MarkdownDescription: "The booting machine's network interface as its kernel names it, which the initrd " +
					"brings up by SLAAC. Defaults to `\"" + defaultNFSInterface + "\"` (the first network card, as the " +
					"initrd sees it before udev renames anything).",
				Optional:   true,
				Computed:   true,
				Default:    stringdefault.StaticString(defaultNFSInterface),
				Validators: []validator.String{interfaceNameValidator()},
			},
			"kernel": schema.StringAttribute{
				MarkdownDescription: "The kernel image: an absolute path on the agent host, e.g. " +
					"`\"/boot/vmlinuz-6.1.0-56-amd64\"`. When unset, the agent takes the newest `/boot/vmlinuz-*` each " +
					"time the image is created or updated (install `linux-image-amd64`). Like `netboot_artifact`'s " +
					"`agent_path`, it must lie in a directory the agent publishes from (`--artifact-path`; `/boot` " +
					"by default).",
				Optional:   true,
				Computed:   true,
				Validators: []validator.String{agentPathValidator()},
			},
			"kernel_version": schema.StringAttribute{
				MarkdownDescription: "The kernel's release, as `uname -r` prints it, which selects the modules in " +
					"`/lib/modules/<kernel_version>` on the agent host that go into the initrd. Derived from `kernel`'s " +
					"file name (`vmlinuz-<version>`) when unset.",
				Optional:   true,
				Computed:   true,
				Validators: []validator.String{kernelVersionValidator()},
			},
			"console": schema.StringAttribute{
				MarkdownDescription: "Kernel console device, added as `console=<console>`, e.g. `\"ttyS0\"` or " +
					"`\"ttyS0,115200n8\"` for a serial console. Unset adds none.",
				Optional:   true,
				Validators: []validator.String{consoleValidator()},
			},
			"extra_modules": schema.ListAttribute{
				MarkdownDescription: "Kernel modules to load after the virtio-net and NFSv3 ones, with the modules they " +
					"need, e.g. `[\"e1000e\"]` for a network card other than virtio-net.",
				ElementType: types.StringType,
				Optional:    true,
				Validators: []validator.List{
					listvalidator.SizeAtLeast(1),
					listvalidator.NoNullValues(),
					listvalidator.ValueStringsAre(stringvalidator.RegexMatches(moduleNamePattern,
						"must be a kernel module name such as \"e1000e\" (letters, digits, '_' and '-')")),
				},
			},
			"kernel_path": schema.StringAttribute{
				MarkdownDescription: "Artifact path of the kernel, `\"nfsroot/<name>/vmlinuz\"`: the boot entry's " +
					"`linux.kernel`.",
				Computed: true,
			},
			"initrd_path": schema.StringAttribute{
				MarkdownDescription: "Artifact path of the initrd, `\"nfsroot/<name>/initrd.img\"`: the boot entry's " +
					"`linux.initrds`.",
				Computed: true,
			},
			"initrd_size": schema.Int64Attribute{
				MarkdownDescription: "Size of the initrd (gzip-compressed newc cpio) in bytes.",
				Computed:            true,
			},
			"initrd_sha256": schema.StringAttribute{
				MarkdownDescription: "SHA-256 of the initrd, in hex. The initrd is built byte for byte the same from the " +
					"same inputs.",
				Computed: true,
			},
			"kernel_sha256": schema.StringAttribute{
				MarkdownDescription: "SHA-256 of the kernel copied from `kernel`, in hex.",
				Computed:            true,
			},
			"kernel_args": schema.StringAttribute{
				MarkdownDescription: "Kernel command line the initrd needs, e.g. `\"ip=:::::eth0:off ip6=eth0 " +
					"nfsroot=nfs.boot.example:/roots/debian nbdns=2001:db8:1::1 ro console=ttyS0\"`: the boot entry's " +
					"`linux.args` (append your own arguments after it).",
				Computed: true,
			},
			"nfsroot": schema.StringAttribute{
				MarkdownDescription: "What the initrd mounts, `\"<hostname>:<export_path>\"`.",
				Computed:            true,
			},
			"build_log": schema.StringAttribute{
				MarkdownDescription: "How the agent's last build of the image went: one line per phase (building the " +
					"initrd, storing kernel and initrd, exporting the root) with the time it took and what it made, e.g. " +
					"`\"building initrd: 1.2s (14.3 MiB for kernel 6.1.0-28-amd64)\"`. While a build runs, " +
					"`terraform-provider-netboot agent logs -f --kind nfs_root_image` on the agent host shows its phases.",
				Computed: true,
			},
		},
	}
}

// nfsRootHostValidator refuses what nfsroot= cannot carry, with the
// initrd's own explanation (nfsroot.ValidateNFSRootHost).
func nfsRootHostValidator() validator.String {
	return stringCheck{
		summary:     "Invalid nfsroot host name",
		description: `a DNS name such as "nfs.boot.example", never a literal address`,
		check:       nfsroot.ValidateNFSRootHost,
	}
}

func exportPathValidator() validator.String {
	return stringCheck{
		summary:     "Invalid export path",
		description: `a clean absolute path without commas, spaces or quotes, such as "/roots/debian"`,
		check:       nfsroot.CheckExportPath,
	}
}

func interfaceNameValidator() validator.String {
	return stringCheck{
		summary:     "Invalid interface name",
		description: `a kernel interface name such as "eth0": 1-15 bytes, without '/', ':', ',' or white space`,
		check:       nfsroot.CheckInterface,
	}
}

func kernelVersionValidator() validator.String {
	return stringCheck{
		summary:     "Invalid kernel version",
		description: `a kernel release as uname -r prints it, such as "6.1.0-56-amd64"`,
		check:       nfsroot.CheckKernelVersion,
	}
}

func consoleValidator() validator.String {
	return stringCheck{
		summary:     "Invalid console",
		description: `a console device such as "ttyS0" or "ttyS0,115200n8"`,
		check:       nfsroot.CheckConsole,
	}
}

func (r *nfsRootImageResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	conn, diags := agentFromProviderData(req.ProviderData)
	resp.Diagnostics.Append(diags...)
	r.agent = conn
}

// ValidateConfig catches at plan a kernel whose version the agent could not
// derive from its file name.
func (r *nfsRootImageResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var kernel, version types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("kernel"), &kernel)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("kernel_version"), &version)...)
	if resp.Diagnostics.HasError() || kernel.IsNull() || kernel.IsUnknown() || !version.IsNull() {
		return
	}
	if _, ok := nfsroot.KernelVersionOf(kernel.ValueString()); !ok {
		resp.Diagnostics.AddAttributeError(path.Root("kernel_version"), "Cannot derive kernel_version",
			fmt.Sprintf("kernel_version is derived from a kernel file named vmlinuz-<version>, and %q is not one: set "+
				"kernel_version to the kernel's release (uname -r), whose modules are in /lib/modules/<release>.",
				filepath.Base(kernel.ValueString())))
	}
}

// ModifyPlan fills in what the agent will answer and the plan can already
// know: the id, the artifact paths, the default export path, nfsroot and a
// kernel_version derived from a configured kernel. When nothing changed,
// the framework keeps every computed value from state; when something did,
// kernel_args, the digests and initrd_size stay unknown, since the agent
// rebuilds the initrd and reads the boot server's address then.
func (r *nfsRootImageResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return // destroy
	}
	var plan, cfg nfsRootImageModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	plan.planDerived(cfg)
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

// planDerived sets the values that follow from known inputs alone, exactly
// as the agent computes them.
func (m *nfsRootImageModel) planDerived(cfg nfsRootImageModel) {
	if knownString(m.Name) {
		name := m.Name.ValueString()
		m.ID = types.StringValue(name)
		m.KernelPath = types.StringValue(slashpath.Join(nfsRootArtifactDir, name, nfsRootKernelFile))
		m.InitrdPath = types.StringValue(slashpath.Join(nfsRootArtifactDir, name, nfsRootInitrdFile))
		if cfg.ExportPath.IsNull() {
			m.ExportPath = types.StringValue(defaultExportPrefix + name)
		}
	}
	if cfg.KernelVersion.IsNull() && knownString(cfg.Kernel) {
		if v, ok := nfsroot.KernelVersionOf(cfg.Kernel.ValueString()); ok {
			m.KernelVersion = types.StringValue(v)
		}
	}
	if knownString(m.Hostname) && knownString(m.ExportPath) {
		m.NFSRoot = types.StringValue(m.Hostname.ValueString() + ":" + m.ExportPath.ValueString())
	}
}

func knownString(v types.String) bool { return !v.IsNull() && !v.IsUnknown() }

// put is Create and Update alike: one PutNFSRootImage, an idempotent upsert
// that builds the initrd and switches artifacts, export and DNS together,
// whose answer becomes the state.
// nfsRootImageFailures map the agent's reasons for not building an image
// (FailedPrecondition, by what its message says) to the attribute to change
// and what to do.
var nfsRootImageFailures = []struct {
	contains, attribute, advice string
}{
	{"building the initrd", "kernel_version", "The initrd is built from /lib/modules/<kernel_version> on the agent host: " +
		"install that kernel's modules there, set kernel_version to an installed release (ls /lib/modules), or correct extra_modules."},
	{"storing the kernel", "kernel", "Set kernel to a readable kernel image on the agent host, such as /boot/vmlinuz-<release>, " +
		"or leave it unset to take the newest /boot/vmlinuz-*."},
	{"has no global address", "boot_server", "Add a global address inside the boot server's prefix to its interface, or set " +
		"the boot server's boot.server_address."},
	{"does not exist on this agent", "boot_server", "Create the boot server first (refer to it as netboot_ipv6_boot_server.<label>.name " +
		"so Terraform orders them), or correct boot_server."},
	{"export path", "export_path", "Give each image on a boot server its own export_path."},
}

// addNFSRootImageError reports a failed PutNFSRootImage on the attribute it
// is about, saying what to do; other failures go through addAgentError.
func addNFSRootImageError(diags *diag.Diagnostics, img *netbootv1.NFSRootImage, err error) {
	doing := fmt.Sprintf("building NFS root image %q", img.GetName())
	st := status.Convert(err)
	if st.Code() == codes.FailedPrecondition {
		for _, f := range nfsRootImageFailures {
			if strings.Contains(st.Message(), f.contains) {
				diags.AddAttributeError(path.Root(f.attribute), "The agent cannot build this "+nfsRootImageNoun,
					fmt.Sprintf("%s: %s.\n\n%s", capitalize(doing), st.Message(), f.advice))
				return
			}
		}
	}
	addAgentError(diags, nfsRootImageNoun, doing, err)
}

// toProto sends what is configured; values left unknown (kernel,
// kernel_version, export_path) go empty, for the agent to fill in.
func (m *nfsRootImageModel) toProto(ctx context.Context) (*netbootv1.NFSRootImage, diag.Diagnostics) {
	var diags diag.Diagnostics
	img := &netbootv1.NFSRootImage{
		Name:          m.Name.ValueString(),
		BootServer:    m.BootServer.ValueString(),
		RootDir:       m.RootDir.ValueString(),
		Hostname:      m.Hostname.ValueString(),
		ExportPath:    m.ExportPath.ValueString(),
		ReadWrite:     m.ReadWrite.ValueBool(),
		NoRootSquash:  m.NoRootSquash.ValueBool(),
		Interface:     m.Interface.ValueString(),
		Kernel:        m.Kernel.ValueString(),
		KernelVersion: m.KernelVersion.ValueString(),
		Console:       m.Console.ValueString(),
	}
	if !m.ExtraModules.IsNull() && !m.ExtraModules.IsUnknown() {
		diags.Append(m.ExtraModules.ElementsAs(ctx, &img.ExtraModules, false)...)
	}
	return img, diags
}

// fromProto takes everything from the agent's answer: its stored
// configuration, defaults filled in, and what it built. Empty optional
// values are null, as an unset attribute is.
func (m *nfsRootImageModel) fromProto(_ context.Context, st *netbootv1.NFSRootImageState) diag.Diagnostics {
	var diags diag.Diagnostics
	c := st.GetConfig()
	m.ID = types.StringValue(c.GetName())
	m.Name = types.StringValue(c.GetName())
	m.BootServer = types.StringValue(c.GetBootServer())
	m.RootDir = types.StringValue(c.GetRootDir())
	m.Hostname = types.StringValue(c.GetHostname())
	m.ExportPath = types.StringValue(c.GetExportPath())
	m.ReadWrite = types.BoolValue(c.GetReadWrite())
	m.NoRootSquash = types.BoolValue(c.GetNoRootSquash())
	m.Interface = types.StringValue(c.GetInterface())
	m.Kernel = types.StringValue(c.GetKernel())
	m.KernelVersion = types.StringValue(c.GetKernelVersion())
	m.Console = types.StringNull()
	if c.GetConsole() != "" {
		m.Console = types.StringValue(c.GetConsole())
	}
	m.ExtraModules = types.ListNull(types.StringType)
	if mods := c.GetExtraModules(); len(mods) > 0 {
		elems := make([]attr.Value, len(mods))
		for i, mod := range mods {
			elems[i] = types.StringValue(mod)
		}
		list, d := types.ListValue(types.StringType, elems)
		diags.Append(d...)
		m.ExtraModules = list
	}
	m.KernelPath = types.StringValue(st.GetKernelPath())
	m.InitrdPath = types.StringValue(st.GetInitrdPath())
	m.InitrdSize = types.Int64Value(int64(st.GetInitrdSize()))
	m.InitrdSHA256 = types.StringValue(st.GetInitrdSha256())
	m.KernelSHA256 = types.StringValue(st.GetKernelSha256())
	m.KernelArgs = types.StringValue(st.GetKernelArgs())
	m.NFSRoot = types.StringValue(st.GetNfsroot())
	m.BuildLog = types.StringValue(strings.Join(st.GetProgress().GetLog(), "\n"))
	return diags
}

// Read takes the image from the agent, so a change made behind Terraform's
// back shows as a difference at plan, and a deleted image is created again.
// Delete stops the export and the DNS name and removes the image's kernel
// and initrd artifacts.
// ImportState takes the image's name; Read fills in the rest.
// nfsRootImageObject is the image's lifecycle on the agent. Its put is one
// PutNFSRootImage, an idempotent upsert that builds the initrd and switches
// artifacts, export and DNS together; its delete stops the export and the
// DNS name and removes the image's kernel and initrd artifacts.
var nfsRootImageObject = &agentObject[nfsRootImageModel]{
	noun:    nfsRootImageNoun,
	keyAttr: "name",
	key:     func(m *nfsRootImageModel) string { return nameOrID(m.Name, m.ID) },
	put: func(ctx context.Context, agent *agentclient.Conn, m *nfsRootImageModel, diags *diag.Diagnostics) {
		img, d := m.toProto(ctx)
		diags.Append(d...)
		if diags.HasError() {
			return
		}
		st, err := agent.PutNFSRootImage(ctx, &netbootv1.PutNFSRootImageRequest{Image: img})
		if err != nil {
			if !addTimedOut(ctx, diags, fmt.Sprintf("building NFS root image %q", img.GetName()),
				"The agent stopped the build and serves what it served before (the previous image, or none).") {
				addNFSRootImageError(diags, img, err)
			}
			return
		}
		diags.Append(m.fromProto(ctx, st)...)
	},
	get: func(ctx context.Context, agent *agentclient.Conn, name string, m *nfsRootImageModel, diags *diag.Diagnostics) error {
		st, err := agent.GetNFSRootImage(ctx, &netbootv1.GetNFSRootImageRequest{Name: name})
		if err == nil {
			diags.Append(m.fromProto(ctx, st)...)
		}
		return err
	},
	list: func(ctx context.Context, agent *agentclient.Conn, diags *diag.Diagnostics) ([]nfsRootImageModel, error) {
		images, err := agentclient.All(ctx, agent.ListNFSRootImages, &netbootv1.ListNFSRootImagesRequest{}, (*netbootv1.ListNFSRootImagesResponse).GetImages)
		models := make([]nfsRootImageModel, len(images))
		for i, st := range images {
			models[i].Timeouts = nullTimeouts()
			diags.Append(models[i].fromProto(ctx, st)...)
		}
		return models, err
	},
	remove: func(ctx context.Context, agent *agentclient.Conn, name string) error {
		_, err := agent.DeleteNFSRootImage(ctx, &netbootv1.DeleteNFSRootImageRequest{Name: name})
		return err
	},
	validKey: validObjectName,
}

func (r *nfsRootImageResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var t timeouts.Value
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("timeouts"), &t)...)
	ctx, cancel := withTimeout(ctx, t, "create", &resp.Diagnostics)
	defer cancel()
	nfsRootImageObject.create(ctx, r.agent, req, resp)
}

func (r *nfsRootImageResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	nfsRootImageObject.read(ctx, r.agent, req, resp)
}

func (r *nfsRootImageResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var t timeouts.Value
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("timeouts"), &t)...)
	ctx, cancel := withTimeout(ctx, t, "update", &resp.Diagnostics)
	defer cancel()
	nfsRootImageObject.update(ctx, r.agent, req, resp)
}

func (r *nfsRootImageResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	nfsRootImageObject.delete(ctx, r.agent, req, resp)
}

// ImportState takes the name (terraform import) or the identity (an import
// block); Read fills in the rest.
func (r *nfsRootImageResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	nfsRootImageObject.importState(ctx, r.agent, req, resp)
}

func (r *nfsRootImageResource) IdentitySchema(ctx context.Context, req resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	nfsRootImageObject.identitySchema(ctx, req, resp)
}
