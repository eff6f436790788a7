// Package provider is the Terraform side of netboot: the provider, its
// resources and data sources, all talking to an agent over gRPC.
package provider

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/list"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/pglease"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/agentclient"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/paths"
)

var (
	_ provider.Provider                  = &netbootProvider{}
	_ provider.ProviderWithListResources = &netbootProvider{}
)

// Environment variables that stand in for provider attributes left out of
// the configuration.
const (
	envEndpoint   = "NETBOOT_ENDPOINT"
	envStateDir   = "NETBOOT_STATE_DIR"
	envCACert     = "NETBOOT_CA_CERT"
	envClientCert = "NETBOOT_CLIENT_CERT"
	envClientKey  = "NETBOOT_CLIENT_KEY"
	envLeaseDB    = "NETBOOT_LEASE_DB"
)

const defaultTimeout = 30 * time.Second

// New returns the provider factory main serves; version is the release.
func New(version string) func() provider.Provider {
	return func() provider.Provider {
		return &netbootProvider{version: version}
	}
}

type netbootProvider struct {
	version string
	// conn is kept so a second Configure on the same instance (as in tests)
	// closes the connection it replaces.
	conn *agentclient.Conn
}

type providerModel struct {
	Endpoint   types.String `tfsdk:"endpoint"`
	StateDir   types.String `tfsdk:"state_dir"`
	CACert     types.String `tfsdk:"ca_cert"`
	ClientCert types.String `tfsdk:"client_cert"`
	ClientKey  types.String `tfsdk:"client_key"`
	LeaseDB    types.String `tfsdk:"lease_db"`
	Timeout    types.Int64  `tfsdk:"timeout"`
}

func (p *netbootProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "netboot"
	resp.Version = p.version
}

func (p *netbootProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Turns a network interface into an IPv6-only network boot site, served by the netboot agent: " +
			"Router Advertisements, DHCPv6 with a boot-file URL per client, TFTP and HTTP for iPXE and its " +
			"artifacts, iPXE menus, and diskless NFS roots. With no `endpoint`, the provider talks to the local agent " +
			"through its unix socket under `state_dir` and launches `terraform-provider-netboot agent` itself " +
			"if none answers; the agent keeps serving after Terraform exits. With `endpoint`, it talks to a remote " +
			"agent over mutual TLS.",
		Attributes: map[string]schema.Attribute{
			"endpoint": schema.StringAttribute{
				MarkdownDescription: "Address of a remote agent as `host:port`, e.g. `\"boot1.example:7447\"` " +
					"(started with `agent --listen`). Requires `ca_cert`, `client_cert` and `client_key`. " +
					"Leave unset to use the local agent. Environment variable: `" + envEndpoint + "`.",
				Optional: true,
				Validators: []validator.String{
					stringvalidator.LengthAtLeast(1),
					stringvalidator.ConflictsWith(path.MatchRoot("state_dir")),
				},
			},
			"state_dir": schema.StringAttribute{
				MarkdownDescription: "State directory of the local agent: its control socket (`agent.sock`), " +
					"state file and log live here. Defaults to `/var/lib/terraform-provider-netboot` when Terraform " +
					"runs as root (the agent needs root), otherwise `$XDG_STATE_HOME/terraform-provider-netboot` or " +
					"`~/.local/state/terraform-provider-netboot`. A relative path is taken from Terraform's working " +
					"directory. Setting it selects the local agent even when `" +
					envEndpoint + "` is set. Environment variable: `" + envStateDir + "`.",
				Optional:   true,
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"ca_cert": schema.StringAttribute{
				MarkdownDescription: "CA certificate that the remote agent's certificate must chain to, as PEM " +
					"text or a path to a PEM file. Only used with `endpoint`. Environment variable: `" + envCACert + "`.",
				Optional: true,
			},
			"client_cert": schema.StringAttribute{
				MarkdownDescription: "Client certificate presented to the remote agent, as PEM text or a path to " +
					"a PEM file. Only used with `endpoint`. Environment variable: `" + envClientCert + "`.",
				Optional: true,
			},
			"client_key": schema.StringAttribute{
				MarkdownDescription: "Private key of `client_cert`, as PEM text or a path to a PEM file. Only " +
					"used with `endpoint`. Environment variable: `" + envClientKey + "`.",
				Optional:  true,
				Sensitive: true,
			},
			"lease_db": schema.StringAttribute{
				MarkdownDescription: "PostgreSQL connection URL (`postgres://USER@HOST/DB`) or `key=value` string " +
					"passed as `--lease-db` to the local agent **when the provider launches it**: its DHCPv6 leases " +
					"are then kept in that database, shared with other agents of the same links (guide \"Two agents, " +
					"one site\"). An agent already running keeps the lease store it was started with. Put the password " +
					"in a `.pgpass` file rather than here. Not used with `endpoint`. Environment variable: `" + envLeaseDB + "`.",
				Optional:  true,
				Sensitive: true,
				Validators: []validator.String{
					stringvalidator.LengthAtLeast(1),
					stringvalidator.ConflictsWith(path.MatchRoot("endpoint")),
				},
			},
			"timeout": schema.Int64Attribute{
				MarkdownDescription: "Seconds to wait for the agent to answer when connecting (including " +
					"launching the local agent). Defaults to `30`.",
				Optional:   true,
				Validators: []validator.Int64{int64validator.AtLeast(1)},
			},
		},
	}
}

func (p *netbootProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}

	// A value computed by another resource is only known at apply: connect
	// then. Without a client, resources explain why if they are asked for one.
	if !req.Config.Raw.IsFullyKnown() {
		if req.ClientCapabilities.DeferralAllowed {
			resp.Deferred = &provider.Deferred{Reason: provider.DeferredReasonProviderConfigUnknown}
		}
		return
	}

	opts := agentclient.Options{
		Endpoint:   stringOrEnv(cfg.Endpoint, envEndpoint),
		StateDir:   stringOrEnv(cfg.StateDir, envStateDir),
		CACert:     stringOrEnv(cfg.CACert, envCACert),
		ClientCert: stringOrEnv(cfg.ClientCert, envClientCert),
		ClientKey:  stringOrEnv(cfg.ClientKey, envClientKey),
		LeaseDB:    stringOrEnv(cfg.LeaseDB, envLeaseDB),
		Timeout:    defaultTimeout,
	}
	if opts.LeaseDB != "" {
		if err := pglease.CheckURL(opts.LeaseDB); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("lease_db"), "Invalid lease_db", err.Error())
			return
		}
	}
	// state_dir written in the configuration means the local agent, whatever
	// the environment says about a remote one.
	if cfg.Endpoint.IsNull() && !cfg.StateDir.IsNull() {
		opts.Endpoint = ""
	}
	// Relative to Terraform's working directory, which is the provider's.
	stateDir, err := paths.ResolveStateDir(opts.StateDir)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("state_dir"), "Invalid state_dir", err.Error())
		return
	}
	opts.StateDir = stateDir
	if !cfg.Timeout.IsNull() {
		opts.Timeout = time.Duration(cfg.Timeout.ValueInt64()) * time.Second
	}

	if opts.Endpoint == "" {
		if err := agentclient.LocalAgentError(runtime.GOOS); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("endpoint"), "No local agent in this provider build",
				fmt.Sprintf("%v (or %s), with ca_cert, client_cert and client_key. Run the agent on a Linux "+
					"host of the boot network: `terraform-provider-netboot agent --listen ...`.", err, envEndpoint))
			return
		}
	}
	conn, err := agentclient.Connect(ctx, opts)
	if err != nil {
		resp.Diagnostics.AddError("Cannot reach the netboot agent", connectHint(opts, err))
		return
	}
	if p.conn != nil {
		_ = p.conn.Close()
	}
	p.conn = conn
	resp.ResourceData = conn
	resp.ListResourceData = conn
	resp.DataSourceData = conn
}

func connectHint(opts agentclient.Options, err error) string {
	if opts.Endpoint != "" {
		return fmt.Sprintf("Connecting to the remote agent at %s failed: %v\n\n"+
			"Check that endpoint (or %s) names a running `terraform-provider-netboot agent --listen ...`, "+
			"and that ca_cert, client_cert and client_key match its --client-ca and --tls-cert.",
			opts.Endpoint, err, envEndpoint)
	}
	if exit := (*agentclient.ExitError)(nil); errors.As(err, &exit) {
		return fmt.Sprintf("The local agent in %s could not start: %s\n\nIt exited with %v; its log is %s.",
			opts.StateDir, exit.Reason, exit.Status, filepath.Join(opts.StateDir, paths.LogFileName))
	}
	needsRoot := ""
	if os.Geteuid() != 0 {
		needsRoot = "The local agent needs root (DHCPv6 port 547, raw ICMPv6). "
	}
	return fmt.Sprintf("Connecting to the local agent in %s failed: %v\n\n"+
		"%sCheck the agent's log in that directory, "+
		"set state_dir (or %s) to the directory of a running agent, or set endpoint for a remote one.",
		opts.StateDir, err, needsRoot, envStateDir)
}

func stringOrEnv(v types.String, env string) string {
	if !v.IsNull() {
		return v.ValueString()
	}
	return os.Getenv(env)
}

func (p *netbootProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		newIPv6BootServerResource,
		newArtifactResource,
		newBootEntryResource,
		newBootMenuResource,
		newNFSRootImageResource,
		newMachineResource,
		newConfigResource,
	}
}

// ListResources are for `terraform query` (Terraform 1.14 and later): every
// object of a kind on the agent, with its identity, ready to import.
func (p *netbootProvider) ListResources(context.Context) []func() list.ListResource {
	return []func() list.ListResource{
		func() list.ListResource {
			return &agentObjectList[bootServerModel]{object: bootServerObject, typeSuffix: "_ipv6_boot_server"}
		},
		func() list.ListResource {
			return &agentObjectList[artifactModel]{object: artifactObject, typeSuffix: "_artifact"}
		},
		func() list.ListResource {
			return &agentObjectList[bootEntryModel]{object: bootEntryObject, typeSuffix: "_boot_entry"}
		},
		func() list.ListResource {
			return &agentObjectList[bootMenuModel]{object: bootMenuObject, typeSuffix: "_boot_menu"}
		},
		func() list.ListResource {
			return &agentObjectList[nfsRootImageModel]{object: nfsRootImageObject, typeSuffix: "_nfs_root_image"}
		},
		func() list.ListResource {
			return &agentObjectList[machineModel]{object: machineObject, typeSuffix: "_machine"}
		},
		func() list.ListResource {
			return &agentObjectList[configModel]{object: configObject, typeSuffix: "_config"}
		},
	}
}

func (p *netbootProvider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		newLeasesDataSource,
		newBootServerDataSource,
		newRenderedScriptDataSource,
		newMachinesDataSource,
	}
}

// agentFromProviderData is what every resource and data source Configure
// does with the provider's client. A nil ProviderData (validation, or a
// provider configuration not yet known) leaves the client nil.
func agentFromProviderData(data any) (*agentclient.Conn, diag.Diagnostics) {
	var diags diag.Diagnostics
	if data == nil {
		return nil, diags
	}
	conn, ok := data.(*agentclient.Conn)
	if !ok {
		diags.AddError("Unexpected provider data",
			fmt.Sprintf("Expected *agentclient.Conn, got %T. This is a bug in the provider.", data))
	}
	return conn, diags
}

// addNotConfigured reports when an operation needs the agent but the
// provider was never connected, because its configuration was unknown.
func addNotConfigured(diags *diag.Diagnostics) {
	diags.AddError("Provider not connected to an agent",
		"The netboot provider configuration has values that are only known after apply (for example an "+
			"endpoint taken from another resource), so it could not connect to an agent yet. Apply the "+
			"resources it depends on first, e.g. with -target.")
}
