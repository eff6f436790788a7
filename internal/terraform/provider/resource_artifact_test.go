package provider

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// recordingAgent answers PutArtifact like the agent, keeping the messages.
type recordingAgent struct {
	netbootv1.UnimplementedAgentServer
	header *netbootv1.ArtifactHeader
	chunks [][]byte
	// reject, when set, ends the stream after the header with this error.
	reject error
}

func (a *recordingAgent) PutArtifact(stream grpc.ClientStreamingServer[netbootv1.PutArtifactRequest, netbootv1.Artifact]) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	a.header = first.GetHeader()
	if a.reject != nil {
		return a.reject
	}
	h := sha256.New()
	var size int
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if msg.GetHeader() != nil {
			return status.Error(codes.InvalidArgument, "second header")
		}
		a.chunks = append(a.chunks, msg.GetChunk())
		h.Write(msg.GetChunk())
		size += len(msg.GetChunk())
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if a.header.GetSha256() != "" && a.header.GetSha256() != sum {
		return status.Error(codes.InvalidArgument, "sha256 mismatch")
	}
	return stream.SendAndClose(&netbootv1.Artifact{Path: a.header.GetPath(), Sha256: sum, Size: uint64(size), Source: "upload"})
}

// startRecordingAgent serves a over an in-memory connection.
func startRecordingAgent(t *testing.T, a *recordingAgent) netbootv1.AgentClient {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	netbootv1.RegisterAgentServer(srv, a)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	cc, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return netbootv1.NewAgentClient(cc)
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// An upload is the header, then the content in chunks of at most 256 KiB.
func TestPutArtifactStreamsChunks(t *testing.T) {
	for _, size := range []int{0, 1, uploadChunkSize, 2*uploadChunkSize + 5} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			agent := &recordingAgent{}
			client := startRecordingAgent(t, agent)
			content := randomBytes(t, size)
			header := &netbootv1.ArtifactHeader{Path: "ipxe.efi", Sha256: sha256Hex(content)}
			art, err := putArtifact(context.Background(), client, header, bytes.NewReader(content))
			if err != nil {
				t.Fatal(err)
			}
			if art.GetSha256() != header.GetSha256() || art.GetSize() != uint64(size) {
				t.Errorf("artifact = %v, want sha256 %s and size %d", art, header.GetSha256(), size)
			}
			if agent.header.GetPath() != "ipxe.efi" {
				t.Errorf("header = %v", agent.header)
			}
			wantChunks := (size + uploadChunkSize - 1) / uploadChunkSize
			if len(agent.chunks) != wantChunks {
				t.Errorf("%d chunks, want %d", len(agent.chunks), wantChunks)
			}
			if got := bytes.Join(agent.chunks, nil); !bytes.Equal(got, content) {
				t.Errorf("the agent received %d bytes that differ from the %d sent", len(got), size)
			}
		})
	}
}

// When the agent ends the stream early, its reason is the error, not the
// broken stream.
func TestPutArtifactReturnsTheAgentsError(t *testing.T) {
	agent := &recordingAgent{reject: status.Error(codes.FailedPrecondition, "disk full")}
	client := startRecordingAgent(t, agent)
	_, err := putArtifact(context.Background(), client, &netbootv1.ArtifactHeader{Path: "big.iso"}, bytes.NewReader(randomBytes(t, 4*uploadChunkSize)))
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v, want the agent's FailedPrecondition", err)
	}
}

// Agent errors land on the attribute they are about.
func TestArtifactErrorNamesTheAttribute(t *testing.T) {
	sum := strings.Repeat("0", 64)
	for _, tc := range []struct {
		name   string
		header *netbootv1.ArtifactHeader
		err    error
		want   path.Path
	}{
		{"sha256 mismatch", &netbootv1.ArtifactHeader{Path: "a", AgentPath: "/a", Sha256: sum},
			status.Error(codes.InvalidArgument, "sha256 mismatch: a has sha256 1234, expected 0000"), path.Root("sha256")},
		{"agent_path missing", &netbootv1.ArtifactHeader{Path: "a", AgentPath: "/a"},
			status.Error(codes.FailedPrecondition, "storing artifact \"a\": agent_path: open /a: no such file or directory"), path.Root("agent_path")},
		{"url unreachable", &netbootv1.ArtifactHeader{Path: "a", Url: "http://[2001:db8::1]/a"},
			status.Error(codes.FailedPrecondition, "downloading: HTTP 404 Not Found"), path.Root("url")},
		{"url sha256 mismatch", &netbootv1.ArtifactHeader{Path: "a", Url: "http://[2001:db8::1]/a", Sha256: sum},
			status.Error(codes.InvalidArgument, "sha256 mismatch: the file at http://[2001:db8::1]/a has sha256 1234, but sha256 is 0000; "+
				"update sha256 if the file changed on purpose, or correct the url"), path.Root("sha256")},
		{"agent_path refused by the agent's operator", &netbootv1.ArtifactHeader{Path: "a", AgentPath: "/etc/shadow"},
			refusal(t, "agent_path", `artifact "a": agent_path "/etc/shadow" is refused: the agent never publishes files under /etc`), path.Root("agent_path")},
		{"url refused by the agent's operator", &netbootv1.ArtifactHeader{Path: "a", Url: "http://169.254.169.254/"},
			refusal(t, "url", `artifact "a": url "http://169.254.169.254/" is refused: its address is link-local`), path.Root("url")},
		{"read-only certificate", &netbootv1.ArtifactHeader{Path: "a", AgentPath: "/a"},
			status.Error(codes.PermissionDenied, `certificate "viewer" is read-only`), path.Empty()},
		{"agent down", &netbootv1.ArtifactHeader{Path: "a", AgentPath: "/a"},
			status.Error(codes.Unavailable, "connection refused"), path.Empty()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var diags diag.Diagnostics
			addArtifactError(&diags, tc.header, `storing artifact "a"`, tc.err)
			if len(diags) != 1 {
				t.Fatalf("diagnostics = %v", diags)
			}
			got := path.Empty()
			if d, ok := diags[0].(diag.DiagnosticWithPath); ok {
				got = d.Path()
			}
			if !got.Equal(tc.want) {
				t.Errorf("path = %s, want %s (%s: %s)", got, tc.want, diags[0].Summary(), diags[0].Detail())
			}
		})
	}
}

// refusal is the agent's PermissionDenied naming the attribute it refuses.
func refusal(t *testing.T, field, msg string) error {
	t.Helper()
	st, err := status.New(codes.PermissionDenied, msg).WithDetails(&errdetails.BadRequest{
		FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: "is refused by the agent"}}})
	if err != nil {
		t.Fatal(err)
	}
	return st.Err()
}

func TestArtifactValidators(t *testing.T) {
	for _, tc := range []struct {
		v     validator.String
		value string
		ok    bool
	}{
		{artifactPathValidator(), "undionly.kpxe", true},
		{artifactPathValidator(), "debian/12/linux", true},
		{artifactPathValidator(), "/undionly.kpxe", false},
		{artifactPathValidator(), "debian/../linux", false},
		{artifactPathValidator(), "debian//linux", false},
		{artifactPathValidator(), "./linux", false},
		{artifactPathValidator(), ".", false},
		{artifactPathValidator(), `boot\bcd`, false},
		{artifactPathValidator(), "linux\n", false},
		{artifactPathValidator(), strings.Repeat("a", 256), false},
		{agentPathValidator(), "/usr/lib/ipxe/undionly.kpxe", true},
		{agentPathValidator(), "usr/lib/ipxe/undionly.kpxe", false},
		{agentPathValidator(), "/usr/lib/ipxe/../ipxe/undionly.kpxe", false},
		{agentPathValidator(), "/usr/lib/ipxe/", false},
		{httpURLValidator(), "https://boot.ipxe.org/ipxe.efi", true},
		{httpURLValidator(), "http://[2001:db8::1]:8080/ipxe.efi", true},
		{httpURLValidator(), "ftp://boot.ipxe.org/ipxe.efi", false},
		{httpURLValidator(), "https:///ipxe.efi", false},
		{httpURLValidator(), "boot.ipxe.org/ipxe.efi", false},
	} {
		var resp validator.StringResponse
		tc.v.ValidateString(context.Background(), validator.StringRequest{Path: path.Root("x"), ConfigValue: types.StringValue(tc.value)}, &resp)
		if ok := !resp.Diagnostics.HasError(); ok != tc.ok {
			t.Errorf("%s(%q): ok = %v, want %v (%v)", tc.v.Description(context.Background()), tc.value, ok, tc.ok, resp.Diagnostics)
		}
	}
}

// Exactly one origin, and well-formed values, are checked at plan before
// the provider connects.
func TestArtifact_invalidConfigFailsAtPlan(t *testing.T) {
	t.Parallel()
	provider := noAgentProviderConfig(t)
	var cases []planFailure
	for _, tc := range []struct{ name, body, want string }{
		{"no origin", `path = "ipxe.efi"`,
			`Exactly one of these attributes must be configured: [source,agent_path,url]`},
		{"two origins", `
  path       = "ipxe.efi"
  source     = "ipxe.efi"
  agent_path = "/usr/lib/ipxe/ipxe.efi"`,
			`Invalid Attribute Combination`},
		{"absolute path", `
  path       = "/ipxe.efi"
  agent_path = "/usr/lib/ipxe/ipxe.efi"`,
			`it starts with "/"`},
		{"relative agent_path", `
  path       = "ipxe.efi"
  agent_path = "ipxe.efi"`,
			`it is relative`},
		{"ftp url", `
  path = "ipxe.efi"
  url  = "ftp://boot.ipxe.org/ipxe.efi"`,
			`the scheme is not http or https`},
		{"uppercase sha256", `
  path   = "ipxe.efi"
  url    = "https://boot.ipxe.org/ipxe.efi"
  sha256 = "` + strings.Repeat("A", 64) + `"`,
			`must be 64 lowercase hexadecimal digits`},
	} {
		cases = append(cases, planFailure{tc.name, provider + "resource \"netboot_artifact\" \"test\" {\n" + tc.body + "\n}\n", errorText(tc.want)})
	}
	expectPlanFailures(t, cases)
}

// artifactConfig is an uploaded script and a file copied on the agent host.
func artifactConfig(providerConfig, source, agentPath string) string {
	return fmt.Sprintf(`%s
resource "netboot_artifact" "script" {
  path   = "start.ipxe"
  source = %q
}

resource "netboot_artifact" "loader" {
  path       = "ipxe/undionly.kpxe"
  agent_path = %q
}
`, providerConfig, source, agentPath)
}

func writeFile(t *testing.T, name string, content []byte) {
	t.Helper()
	if err := os.WriteFile(name, content, 0o644); err != nil {
		t.Fatal(err)
	}
}

// agentSHA256 checks what the agent serves at path.
func (l *agentLab) agentSHA256(t *testing.T, p, want string) error {
	art, err := l.conn(t).GetArtifact(context.Background(), &netbootv1.GetArtifactRequest{Path: p})
	if err != nil {
		return fmt.Errorf("GetArtifact(%s): %w", p, err)
	}
	if art.GetSha256() != want {
		return fmt.Errorf("the agent serves %s with sha256 %s, want %s", p, art.GetSha256(), want)
	}
	return nil
}

// checkArtifactsDestroyed is CheckDestroy: the agent holds no artifacts.
func (l *agentLab) checkArtifactsDestroyed(t *testing.T) func(*terraform.State) error {
	return func(*terraform.State) error {
		list, err := l.conn(t).ListArtifacts(context.Background(), &netbootv1.ListArtifactsRequest{})
		if err != nil {
			return err
		}
		if n := len(list.GetArtifacts()); n != 0 {
			return fmt.Errorf("%d artifacts still on the agent after destroy: %v", n, list.GetArtifacts())
		}
		return nil
	}
}

func TestArtifact_basic(t *testing.T) {
	lab := newFastLab(t)
	dir := t.TempDir()
	source, agentPath := filepath.Join(dir, "start.ipxe"), filepath.Join(dir, "undionly.kpxe")
	// Larger than one chunk, so the upload streams several.
	script, loader := randomBytes(t, 2*uploadChunkSize+17), randomBytes(t, 70000)
	writeFile(t, source, script)
	writeFile(t, agentPath, loader)
	edited := append([]byte("#!ipxe\n"), randomBytes(t, 1000)...)
	reloaded := randomBytes(t, 71000)
	cfg := artifactConfig(lab.providerConfig(), source, agentPath)
	const scriptRes, loaderRes = "netboot_artifact.script", "netboot_artifact.loader"
	tfresource.UnitTest(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		CheckDestroy:             lab.checkArtifactsDestroyed(t),
		Steps: []tfresource.TestStep{
			{
				Config: cfg,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(scriptRes, tfjsonpath.New("id"), knownvalue.StringExact("start.ipxe")),
					statecheck.ExpectKnownValue(scriptRes, tfjsonpath.New("sha256"), knownvalue.StringExact(sha256Hex(script))),
					statecheck.ExpectKnownValue(scriptRes, tfjsonpath.New("size"), knownvalue.Int64Exact(int64(len(script)))),
					statecheck.ExpectKnownValue(loaderRes, tfjsonpath.New("sha256"), knownvalue.StringExact(sha256Hex(loader))),
					statecheck.ExpectKnownValue(loaderRes, tfjsonpath.New("size"), knownvalue.Int64Exact(int64(len(loader)))),
				},
				Check: func(*terraform.State) error {
					return errors.Join(lab.agentSHA256(t, "start.ipxe", sha256Hex(script)), lab.agentSHA256(t, "ipxe/undionly.kpxe", sha256Hex(loader)))
				},
			},
			{
				// Editing the local file plans an update with the new digest.
				PreConfig: func() { writeFile(t, source, edited) },
				Config:    cfg,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(scriptRes, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(scriptRes, tfjsonpath.New("sha256"), knownvalue.StringExact(sha256Hex(edited))),
					plancheck.ExpectKnownValue(scriptRes, tfjsonpath.New("size"), knownvalue.Int64Exact(int64(len(edited)))),
					plancheck.ExpectResourceAction(loaderRes, plancheck.ResourceActionNoop),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(scriptRes, tfjsonpath.New("sha256"), knownvalue.StringExact(sha256Hex(edited))),
				},
				Check: func(*terraform.State) error { return lab.agentSHA256(t, "start.ipxe", sha256Hex(edited)) },
			},
			{
				// The agent cannot know which local file an upload came from.
				ResourceName:            scriptRes,
				ImportState:             true,
				ImportStateId:           "start.ipxe",
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"source"},
			},
			{
				ResourceName:      loaderRes,
				ImportState:       true,
				ImportStateId:     "ipxe/undionly.kpxe",
				ImportStateVerify: true,
			},
			{
				// Drift: the script is deleted behind Terraform's back.
				PreConfig: func() {
					if _, err := lab.conn(t).DeleteArtifact(context.Background(), &netbootv1.DeleteArtifactRequest{Path: "start.ipxe"}); err != nil {
						t.Fatal(err)
					}
				},
				Config:             cfg,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config: cfg,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(scriptRes, plancheck.ResourceActionCreate),
				}},
				Check: func(*terraform.State) error { return lab.agentSHA256(t, "start.ipxe", sha256Hex(edited)) },
			},
			{
				// Drift: the loader is copied again from a changed file behind
				// Terraform's back; its origin is the same, its content not.
				PreConfig: func() {
					writeFile(t, agentPath, reloaded)
					if _, err := putArtifact(context.Background(), lab.conn(t), &netbootv1.ArtifactHeader{Path: "ipxe/undionly.kpxe", AgentPath: agentPath}, nil); err != nil {
						t.Fatal(err)
					}
				},
				Config:             cfg,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				// Drift: the loader is replaced by an upload.
				PreConfig: func() {
					if _, err := putArtifact(context.Background(), lab.conn(t), &netbootv1.ArtifactHeader{Path: "ipxe/undionly.kpxe"}, bytes.NewReader(script)); err != nil {
						t.Fatal(err)
					}
				},
				Config:             cfg,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				// Apply copies agent_path again, in place.
				Config: cfg,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(loaderRes, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(loaderRes, tfjsonpath.New("agent_path"), knownvalue.StringExact(agentPath)),
					statecheck.ExpectKnownValue(loaderRes, tfjsonpath.New("sha256"), knownvalue.StringExact(sha256Hex(reloaded))),
				},
				Check: func(*terraform.State) error { return lab.agentSHA256(t, "ipxe/undionly.kpxe", sha256Hex(reloaded)) },
			},
		},
	})
}

// The agent downloads url itself (here from a server on loopback, which the
// fast lab's agent allows); drift and a failed download show as for the
// other origins, the failure on url.
func TestArtifact_url(t *testing.T) {
	lab := newFastLab(t)
	content := randomBytes(t, 30000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ipxe.efi" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(content)
	}))
	t.Cleanup(srv.Close)
	cfg := func(url string) string {
		return lab.providerConfig() + fmt.Sprintf(`
resource "netboot_artifact" "loader" {
  path   = "ipxe.efi"
  url    = %q
  sha256 = %q
}
`, url, sha256Hex(content))
	}
	const res = "netboot_artifact.loader"
	tfresource.UnitTest(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		CheckDestroy:             lab.checkArtifactsDestroyed(t),
		Steps: []tfresource.TestStep{
			{
				Config: cfg(srv.URL + "/ipxe.efi"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(res, tfjsonpath.New("size"), knownvalue.Int64Exact(int64(len(content)))),
				},
				Check: func(*terraform.State) error { return lab.agentSHA256(t, "ipxe.efi", sha256Hex(content)) },
			},
			{
				ResourceName:      res,
				ImportState:       true,
				ImportStateId:     "ipxe.efi",
				ImportStateVerify: true,
			},
			{
				// Drift: the agent's copy is replaced by an upload.
				PreConfig: func() {
					if _, err := putArtifact(context.Background(), lab.conn(t), &netbootv1.ArtifactHeader{Path: "ipxe.efi"}, bytes.NewReader([]byte("other"))); err != nil {
						t.Fatal(err)
					}
				},
				Config:             cfg(srv.URL + "/ipxe.efi"),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config:      cfg(srv.URL + "/absent.efi"),
				ExpectError: regexp.MustCompile(`The agent cannot download url(?s:.*)url\s+=\s+"` + regexp.QuoteMeta(srv.URL) + `/absent.efi"`),
			},
		},
	})
}

// A sha256 that does not match fails naming the attribute, and the agent
// keeps nothing: with agent_path the agent refuses the content at apply,
// with source the provider refuses the local file at plan.
func TestArtifact_wrongSHA256(t *testing.T) {
	lab := newFastLab(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "ipxe.efi")
	content := randomBytes(t, 5000)
	writeFile(t, file, content)
	wrong := sha256Hex([]byte("something else"))
	// Terraform quotes the attribute's line under the error.
	namesSHA256 := regexp.MustCompile(`sha256 does not match the content(?s:.*)sha256\s+=\s+"` + wrong + `"`)
	for _, origin := range []string{"agent_path", "source"} {
		t.Run(origin, func(t *testing.T) {
			tfresource.UnitTest(t, tfresource.TestCase{
				ProtoV6ProviderFactories: testProviderFactories,
				CheckDestroy:             lab.checkArtifactsDestroyed(t),
				Steps: []tfresource.TestStep{{
					Config: lab.providerConfig() + fmt.Sprintf(`
resource "netboot_artifact" "bad" {
  path   = "ipxe.efi"
  %s = %q
  sha256 = %q
}
`, origin, file, wrong),
					ExpectError: namesSHA256,
				}},
			})
			if _, err := lab.conn(t).GetArtifact(context.Background(), &netbootv1.GetArtifactRequest{Path: "ipxe.efi"}); status.Code(err) != codes.NotFound {
				t.Fatalf("GetArtifact after a refused put: %v, want NotFound", err)
			}
		})
	}
}

// A host file the agent's operator does not let it publish fails at apply
// with the rule, on agent_path, and the agent keeps nothing.
func TestArtifact_agentPathRefused(t *testing.T) {
	lab := newFastLab(t)
	onAgentPath := regexp.MustCompile(`The agent refuses this artifact(?s:.*)agent_path\s+=\s+"/etc/shadow"(?s:.*)"/etc/shadow" is refused: the agent never publishes files under /etc`)
	tfresource.UnitTest(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		CheckDestroy:             lab.checkArtifactsDestroyed(t),
		Steps: []tfresource.TestStep{{
			Config: lab.providerConfig() + `
resource "netboot_artifact" "leak" {
  path       = "leak/shadow"
  agent_path = "/etc/shadow"
}
`,
			ExpectError: onAgentPath,
		}},
	})
	if _, err := lab.conn(t).GetArtifact(context.Background(), &netbootv1.GetArtifactRequest{Path: "leak/shadow"}); status.Code(err) != codes.NotFound {
		t.Fatalf("GetArtifact after a refused put: %v, want NotFound", err)
	}
}

// A url download that does not finish within timeouts.create fails then,
// saying which timeout ran out, and the agent stops the download and keeps
// nothing. The file server answers nothing: it accepts the request and
// waits, on the host end of a link into the agent's namespace.
func TestAccArtifact_urlTimeout(t *testing.T) {
	lab := newAccLab(t)
	hostAddr := netip.MustParseAddr(lab.ControlLink(t)).Next() // the link's ::2, on the host side
	ln, err := net.Listen("tcp", netip.AddrPortFrom(hostAddr, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	held := make(chan time.Duration, 1)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		<-r.Context().Done() // the agent hung up
		held <- time.Since(start)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	url := "http://" + ln.Addr().String() + "/slow.efi"

	start := time.Now()
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		CheckDestroy:             lab.checkArtifactsDestroyed(t),
		Steps: []tfresource.TestStep{{
			Config: lab.providerConfig() + fmt.Sprintf(`
resource "netboot_artifact" "slow" {
  path = "slow.efi"
  url  = %q
  timeouts {
    create = "2s"
  }
}
`, url),
			ExpectError: errorTexts(`Timed out`, `Storing artifact "slow.efi": timed out: the create timeout of 2s ran out`),
		}},
	})
	t.Logf("terraform init, plan and the failed apply took %s", time.Since(start).Round(100*time.Millisecond))
	select {
	case d := <-held:
		t.Logf("the agent held the request for %s", d.Round(10*time.Millisecond))
		if d < 1500*time.Millisecond || d > 5*time.Second {
			t.Errorf("the agent hung up after %s, want about 2s", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the agent never hung up on the file server")
	}
	if _, err := lab.conn(t).GetArtifact(context.Background(), &netbootv1.GetArtifactRequest{Path: "slow.efi"}); status.Code(err) != codes.NotFound {
		t.Fatalf("GetArtifact after a timed-out download: %v, want NotFound", err)
	}
}
