package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/resourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/agentclient"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

var (
	_ resource.ResourceWithConfigure        = &artifactResource{}
	_ resource.ResourceWithImportState      = &artifactResource{}
	_ resource.ResourceWithConfigValidators = &artifactResource{}
	_ resource.ResourceWithModifyPlan       = &artifactResource{}
	_ resource.ResourceWithIdentity         = &artifactResource{}
)

func newArtifactResource() resource.Resource { return &artifactResource{} }

// artifactResource is one file the agent serves over TFTP and HTTP on every
// boot server: a bootloader, kernel, initrd or script.
type artifactResource struct {
	agent *agentclient.Conn
}

type artifactModel struct {
	ID        types.String   `tfsdk:"id"`
	Path      types.String   `tfsdk:"path"`
	Source    types.String   `tfsdk:"source"`
	AgentPath types.String   `tfsdk:"agent_path"`
	URL       types.String   `tfsdk:"url"`
	SHA256    types.String   `tfsdk:"sha256"`
	Size      types.Int64    `tfsdk:"size"`
	Timeouts  timeouts.Value `tfsdk:"timeouts"`
}

// uploadChunkSize is the content per PutArtifact message: well below gRPC's
// 4 MiB message limit, large enough that a kernel is a few hundred messages.
const uploadChunkSize = 256 << 10

// privateSHA256 is the private state key holding the sha256 this resource
// last stored, to notice content replaced behind Terraform's back when
// sha256 is left to the agent.
const privateSHA256 = "stored_sha256"

// Artifact.source as the agent reports it: "upload", "agent_path:<path>" or
// "url:<url>".
const (
	sourceUpload    = "upload"
	sourceAgentPath = "agent_path"
	sourceURL       = "url"
)

var sha256Pattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

func (r *artifactResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_artifact"
	resp.ResourceBehavior = agentObjectBehavior
}

func (r *artifactResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Blocks: map[string]schema.Block{
			"timeouts": timeoutsBlock(ctx, "storing the content (a `url` download, an upload, a copy of `agent_path`)"),
		},
		MarkdownDescription: "A file the agent serves at `path` over TFTP and HTTP on every boot server: an iPXE " +
			"build, a script, a kernel or an initrd. The content comes from exactly one of `source` (a file next to " +
			"Terraform, uploaded to the agent, so it works with remote agents), `agent_path` (a file on the agent " +
			"host, copied when applied) or `url` (downloaded by the agent). The agent stores each content once, by " +
			"sha256, and switches `path` to new content only once it is complete.\n\n" +
			"Changing the content updates the artifact in place: for `source`, every plan hashes the local file " +
			"and plans an update when it changed. Content changed or deleted on the agent behind Terraform's back " +
			"shows up as a difference at the next plan.\n\n" +
			"Import takes the `path`. The agent records an `agent_path` or `url`, but not which local file an upload " +
			"came from: after importing an uploaded artifact, set `source` in the configuration; the next apply " +
			"uploads it again (the same content leaves the agent unchanged).",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "The artifact's `path`.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"path": schema.StringAttribute{
				MarkdownDescription: "Where the boot servers serve the file: a clean relative path such as " +
					"`\"ipxe.efi\"` or `\"debian/linux\"`, fetched as `tftp://[<address>]/ipxe.efi` or " +
					"`http://[<address>]/debian/linux` (see the boot server's `tftp_url_base` and `boot_url_base`), " +
					"and named by boot rules' `file`. Changing it replaces the artifact.",
				Required:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{artifactPathValidator()},
			},
			"source": schema.StringAttribute{
				MarkdownDescription: "A file on the machine running Terraform, e.g. `\"${path.module}/start.ipxe\"`, " +
					"streamed to the agent. Every plan hashes it, so editing the file plans an update.",
				Optional:   true,
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"agent_path": schema.StringAttribute{
				MarkdownDescription: "An absolute path to a file on the agent host, e.g. " +
					"`\"/usr/lib/ipxe/undionly.kpxe\"` from Debian's `ipxe` package. The agent copies it when the " +
					"artifact is created or updated and keeps serving that copy: to take a new version of the file " +
					"(say, after a package upgrade), set `sha256` to its digest.\n\n" +
					"The agent's operator decides which host directories it may publish from, with the agent's " +
					"`--artifact-path DIR` (repeatable). By default: `/boot`, `/usr/lib/ipxe`, `/usr/share/ipxe`, " +
					"`/usr/lib/shim`, `/usr/lib/grub`, `/usr/lib/modules`, `/usr/lib/PXELINUX`, `/usr/lib/syslinux`, " +
					"`/usr/share/syslinux`, `/var/lib/tftpboot` and `/srv` (where Debian, Ubuntu and Fedora install " +
					"iPXE, shim, GRUB, syslinux and kernels). Files under `/etc`, `/proc`, `/sys`, `/dev` and `/run`, " +
					"the agent's state directory and its TLS files are never published. Symbolic links are resolved " +
					"first, so a link cannot lead out. A refused path fails at apply with the rule that refused it.",
				Optional:   true,
				Validators: []validator.String{agentPathValidator()},
			},
			"url": schema.StringAttribute{
				MarkdownDescription: "An `http://` or `https://` URL the agent downloads when the artifact is created " +
					"or updated, e.g. `\"https://boot.ipxe.org/ipxe.efi\"`. Set `sha256` too, so that a changed or " +
					"tampered download is refused.\n\n" +
					"By default the agent downloads from any address but loopback, link-local (where cloud metadata " +
					"services answer), unspecified, multicast and `fd00:ec2::254`, so a client cannot make it fetch " +
					"from the agent host's own services. Its operator may allow other hosts or restrict it with the " +
					"agent's `--artifact-url-allow HOST|ADDRESS|CIDR|*` (repeatable; redirects and every address " +
					"connected to are checked).\n\n" + secretValueNote + " The agent's log names the url too.",
				Optional:   true,
				Validators: []validator.String{httpURLValidator()},
			},
			"sha256": schema.StringAttribute{
				MarkdownDescription: "SHA-256 of the content, as 64 lowercase hex digits (`sha256sum` prints it). When " +
					"set, the agent refuses content that does not match and keeps what it served before; with " +
					"`source`, a mismatching local file fails at plan. Strongly recommended with `url`. When unset, " +
					"the agent computes it.",
				Optional: true,
				Computed: true,
				Validators: []validator.String{stringvalidator.RegexMatches(sha256Pattern,
					"must be 64 lowercase hexadecimal digits, as sha256sum prints them")},
			},
			"size": schema.Int64Attribute{
				MarkdownDescription: "Size of the content in bytes.",
				Computed:            true,
			},
		},
	}
}

func (r *artifactResource) ConfigValidators(context.Context) []resource.ConfigValidator {
	return []resource.ConfigValidator{
		resourcevalidator.ExactlyOneOf(path.MatchRoot("source"), path.MatchRoot("agent_path"), path.MatchRoot("url")),
	}
}

func (r *artifactResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	conn, diags := agentFromProviderData(req.ProviderData)
	resp.Diagnostics.Append(diags...)
	r.agent = conn
}

// ModifyPlan hashes a source file, so that editing it plans an update and a
// file that does not match sha256 fails now rather than at apply. Without a
// source it plans to fetch again when the agent's content is no longer the
// one this resource stored.
func (r *artifactResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return // destroy
	}
	var plan, cfg artifactModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	var state *artifactModel
	if !req.State.Raw.IsNull() {
		state = &artifactModel{}
		resp.Diagnostics.Append(req.State.Get(ctx, state)...)
	}
	if resp.Diagnostics.HasError() {
		return
	}

	switch {
	case !cfg.Source.IsNull() && !cfg.Source.IsUnknown():
		sum, size, err := hashFile(cfg.Source.ValueString())
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("source"), "Cannot read source", err.Error())
			return
		}
		if !cfg.SHA256.IsNull() && !cfg.SHA256.IsUnknown() && cfg.SHA256.ValueString() != sum {
			addSHA256Mismatch(&resp.Diagnostics, cfg.Source.ValueString(), sum, cfg.SHA256.ValueString())
			return
		}
		if !cfg.SHA256.IsUnknown() {
			plan.SHA256 = types.StringValue(sum)
		}
		plan.Size = types.Int64Value(size)
	case state != nil && cfg.SHA256.IsNull():
		stored, diags := req.Private.GetKey(ctx, privateSHA256)
		resp.Diagnostics.Append(diags...)
		var sum string
		if len(stored) > 0 && json.Unmarshal(stored, &sum) == nil && sum != state.SHA256.ValueString() {
			plan.SHA256, plan.Size = types.StringUnknown(), types.Int64Unknown()
		}
	}
	// The same content has the same size, whatever else changes.
	if state != nil && plan.Size.IsUnknown() && !plan.SHA256.IsUnknown() && plan.SHA256.Equal(state.SHA256) {
		plan.Size = state.Size
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

func addSHA256Mismatch(diags *diag.Diagnostics, source, got, want string) {
	diags.AddAttributeError(path.Root("sha256"), "sha256 does not match the content",
		fmt.Sprintf("sha256 is %s, but source %s has sha256 %s. Set sha256 to the digest of the file you mean "+
			"to serve (sha256sum prints it), or remove sha256 to take the file as it is.", want, source, got))
}

// hashFile returns a file's sha256 in hex and its size.
func hashFile(name string) (string, int64, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	if info, err := f.Stat(); err != nil {
		return "", 0, err
	} else if !info.Mode().IsRegular() {
		return "", 0, fmt.Errorf("%s is not a regular file", name)
	}
	h := sha256.New()
	size, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("reading %s: %w", name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), size, nil
}

func (r *artifactResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan, cfg artifactModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	putCtx, cancel := withTimeout(ctx, plan.Timeouts, "create", &resp.Diagnostics)
	defer cancel()
	r.put(putCtx, &plan, cfg, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	resp.Diagnostics.Append(setStoredSHA256(ctx, resp.Private, plan.SHA256.ValueString())...)
	artifactObject.setIdentity(ctx, r.agent, resp.Identity, plan.Path.ValueString(), &resp.Diagnostics)
}

func (r *artifactResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, cfg artifactModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	putCtx, cancel := withTimeout(ctx, plan.Timeouts, "update", &resp.Diagnostics)
	defer cancel()
	r.put(putCtx, &plan, cfg, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	resp.Diagnostics.Append(setStoredSHA256(ctx, resp.Private, plan.SHA256.ValueString())...)
	artifactObject.setIdentity(ctx, r.agent, resp.Identity, plan.Path.ValueString(), &resp.Diagnostics)
}

// privateState is what Create and Update get to write private state to.
type privateState interface {
	SetKey(ctx context.Context, key string, value []byte) diag.Diagnostics
}

func setStoredSHA256(ctx context.Context, private privateState, sum string) diag.Diagnostics {
	value, err := json.Marshal(sum)
	if err != nil {
		var diags diag.Diagnostics
		diags.AddError("Cannot record the stored sha256", err.Error())
		return diags
	}
	return private.SetKey(ctx, privateSHA256, value)
}

// put is Create and Update alike: one PutArtifact, an idempotent upsert,
// whose answer fills in sha256 and size.
func (r *artifactResource) put(ctx context.Context, m *artifactModel, cfg artifactModel, diags *diag.Diagnostics) {
	if r.agent == nil {
		addNotConfigured(diags)
		return
	}
	header := &netbootv1.ArtifactHeader{
		Path:      m.Path.ValueString(),
		AgentPath: m.AgentPath.ValueString(),
		Url:       m.URL.ValueString(),
	}
	if !m.SHA256.IsNull() && !m.SHA256.IsUnknown() {
		header.Sha256 = m.SHA256.ValueString()
	}
	var content io.Reader
	if source := m.Source.ValueString(); source != "" {
		// Hash first: the header carries the sha256, so the agent verifies
		// what arrives, even if the file changes while it is sent.
		sum, _, err := hashFile(source)
		if err != nil {
			diags.AddAttributeError(path.Root("source"), "Cannot read source", err.Error())
			return
		}
		if header.Sha256 != "" && header.Sha256 != sum {
			if !cfg.SHA256.IsNull() {
				addSHA256Mismatch(diags, source, sum, header.Sha256)
			} else {
				diags.AddAttributeError(path.Root("source"), "source changed since plan",
					fmt.Sprintf("%s had sha256 %s when planned and has %s now. Plan again to upload what it holds now.",
						source, header.Sha256, sum))
			}
			return
		}
		header.Sha256 = sum
		f, err := os.Open(source)
		if err != nil {
			diags.AddAttributeError(path.Root("source"), "Cannot read source", err.Error())
			return
		}
		defer f.Close()
		content = f
	}
	art, err := putArtifact(ctx, r.agent, header, content)
	if err != nil {
		doing := fmt.Sprintf("storing artifact %q", header.GetPath())
		if !addTimedOut(ctx, diags, doing, "The agent stopped and keeps serving what it served before at this path.") {
			addArtifactError(diags, header, doing, err)
		}
		return
	}
	m.ID = types.StringValue(m.Path.ValueString())
	m.SHA256 = types.StringValue(art.GetSha256())
	m.Size = types.Int64Value(int64(art.GetSize()))
}

// putArtifact streams one PutArtifact: the header, then content (if any) in
// uploadChunkSize messages.
func putArtifact(ctx context.Context, agent netbootv1.AgentClient, header *netbootv1.ArtifactHeader, content io.Reader) (*netbootv1.Artifact, error) {
	// Returning early cancels the stream, so the agent stores nothing.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := agent.PutArtifact(ctx)
	if err != nil {
		return nil, err
	}
	// A failed Send means the agent ended the stream; CloseAndRecv returns
	// its reason.
	sendErr := stream.Send(&netbootv1.PutArtifactRequest{Part: &netbootv1.PutArtifactRequest_Header{Header: header}})
	if sendErr == nil && content != nil {
		for {
			// A fresh buffer each time: gRPC may still hold the last message.
			buf := make([]byte, uploadChunkSize)
			n, rerr := io.ReadFull(content, buf)
			if n > 0 {
				if sendErr = stream.Send(&netbootv1.PutArtifactRequest{Part: &netbootv1.PutArtifactRequest_Chunk{Chunk: buf[:n]}}); sendErr != nil {
					break
				}
			}
			if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
				break
			}
			if rerr != nil {
				return nil, fmt.Errorf("reading the content of %s: %w", header.GetPath(), rerr)
			}
		}
	}
	art, err := stream.CloseAndRecv()
	if err == nil && sendErr != nil {
		err = sendErr
	}
	return art, err
}

// addArtifactError reports a failed PutArtifact on the attribute it is
// about: a content that does not match sha256, or an agent_path or url the
// agent cannot fetch.
func addArtifactError(diags *diag.Diagnostics, header *netbootv1.ArtifactHeader, doing string, err error) {
	st := status.Convert(err)
	switch {
	case st.Code() == codes.InvalidArgument && header.GetSha256() != "" && strings.Contains(st.Message(), "sha256"):
		diags.AddAttributeError(path.Root("sha256"), "sha256 does not match the content",
			fmt.Sprintf("The agent refused %s: %s.\n\nIt keeps serving what it served before. Set sha256 to the "+
				"digest of the content you mean to serve (sha256sum prints it), correct %s, or remove sha256 to take "+
				"the content as it is.", doing, strings.TrimSuffix(st.Message(), "."), artifactOrigin(header)))
	case st.Code() == codes.FailedPrecondition && header.GetAgentPath() != "":
		diags.AddAttributeError(path.Root("agent_path"), "The agent cannot read agent_path",
			fmt.Sprintf("%s: %s.\n\nagent_path is a file on the agent host, not where Terraform runs: check that "+
				"it exists there and is a regular file, or use source to upload a local file.", capitalize(doing), st.Message()))
	case st.Code() == codes.FailedPrecondition && header.GetUrl() != "":
		diags.AddAttributeError(path.Root("url"), "The agent cannot download url",
			fmt.Sprintf("%s: %s.\n\nThe agent downloads url itself: check that %s answers 200 from the agent host "+
				"(its DNS, routes and proxy), or use source to upload the file from here. "+
				"`terraform-provider-netboot agent logs --kind artifact` on the agent host shows the download.",
				capitalize(doing), st.Message(), header.GetUrl()))
	default:
		addAgentError(diags, "artifact", doing, err)
	}
}

// artifactOrigin names the attribute the content came from.
func artifactOrigin(header *netbootv1.ArtifactHeader) string {
	switch {
	case header.GetUrl() != "":
		return "url"
	case header.GetAgentPath() != "":
		return "agent_path"
	}
	return "source"
}

// artifactObject is the artifact's Read, Delete and import; Create and
// Update upload or have the agent fetch the content, so they are the
// resource's own. Read takes sha256 and size from the agent, and the origin
// from its Artifact.source, so content or an origin changed behind
// Terraform's back is a difference at plan. An uploaded file's local path
// is not on the agent: source stays as it was, and after an import the
// configuration's source is uploaded again at the next apply.
var artifactObject = &agentObject[artifactModel]{
	noun:    "artifact",
	keyAttr: "path",
	key: func(m *artifactModel) string {
		if p := m.Path.ValueString(); p != "" {
			return p
		}
		return m.ID.ValueString()
	},
	get: func(ctx context.Context, agent *agentclient.Conn, p string, m *artifactModel, _ *diag.Diagnostics) error {
		art, err := agent.GetArtifact(ctx, &netbootv1.GetArtifactRequest{Path: p})
		if err == nil {
			m.fromProto(art)
		}
		return err
	},
	// list leaves out the kernels and initrds of NFS root images: those
	// belong to their netboot_nfs_root_image.
	list: func(ctx context.Context, agent *agentclient.Conn, _ *diag.Diagnostics) ([]artifactModel, error) {
		images, err := agentclient.All(ctx, agent.ListNFSRootImages, &netbootv1.ListNFSRootImagesRequest{}, (*netbootv1.ListNFSRootImagesResponse).GetImages)
		if err != nil {
			return nil, err
		}
		ofImage := map[string]bool{}
		for _, img := range images {
			ofImage[img.GetKernelPath()], ofImage[img.GetInitrdPath()] = true, true
		}
		arts, err := agentclient.All(ctx, agent.ListArtifacts, &netbootv1.ListArtifactsRequest{}, (*netbootv1.ListArtifactsResponse).GetArtifacts)
		var models []artifactModel
		for _, art := range arts {
			if ofImage[art.GetPath()] {
				continue
			}
			m := artifactModel{Timeouts: nullTimeouts()}
			m.fromProto(art)
			models = append(models, m)
		}
		return models, err
	},
	remove: func(ctx context.Context, agent *agentclient.Conn, p string) error {
		_, err := agent.DeleteArtifact(ctx, &netbootv1.DeleteArtifactRequest{Path: p})
		return err
	},
	validKey: func(p string) string {
		if err := config.CheckArtifactPath(p); err != nil {
			return fmt.Sprintf("such as \"undionly.kpxe\"; %v", err)
		}
		return ""
	},
}

// fromProto sets what the agent knows of an artifact. An upload's local
// source is not among it and stays as it was.
func (m *artifactModel) fromProto(art *netbootv1.Artifact) {
	m.ID = types.StringValue(art.GetPath())
	m.Path = types.StringValue(art.GetPath())
	m.SHA256 = types.StringValue(art.GetSha256())
	m.Size = types.Int64Value(int64(art.GetSize()))
	origin, value, _ := strings.Cut(art.GetSource(), ":")
	switch origin {
	case sourceUpload:
		m.AgentPath, m.URL = types.StringNull(), types.StringNull()
	case sourceAgentPath:
		m.Source, m.AgentPath, m.URL = types.StringNull(), types.StringValue(value), types.StringNull()
	case sourceURL:
		m.Source, m.AgentPath, m.URL = types.StringNull(), types.StringNull(), types.StringValue(value)
	}
}

func (r *artifactResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	artifactObject.read(ctx, r.agent, req, resp)
}

func (r *artifactResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	artifactObject.delete(ctx, r.agent, req, resp)
}

// ImportState takes the path (terraform import) or the identity (an import
// block); Read fills in the rest.
func (r *artifactResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	artifactObject.importState(ctx, r.agent, req, resp)
}

func (r *artifactResource) IdentitySchema(ctx context.Context, req resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	artifactObject.identitySchema(ctx, req, resp)
}
