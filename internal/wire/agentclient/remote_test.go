//go:build linux

package agentclient_test

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent"
	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/agentclient"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/pki"
)

// remoteAgent runs a real agent (in-process) with a mutual-TLS listener on
// loopback and returns its endpoint and PKI directory.
func remoteAgent(t *testing.T, serverHosts ...string) (endpoint, dir string) {
	t.Helper()
	endpoint, dir, _ = remoteAgentWithLog(t, serverHosts...)
	return endpoint, dir
}

// remoteAgentWithLog is remoteAgent that also returns the agent's log.
func remoteAgentWithLog(t *testing.T, serverHosts ...string) (endpoint, dir string, log *testlab.SyncBuffer) {
	t.Helper()
	log = &testlab.SyncBuffer{}
	if len(serverHosts) == 0 {
		serverHosts = []string{"::1"}
	}
	dir = t.TempDir()
	year := 365 * 24 * time.Hour
	must(t, pki.InitCA(dir, "test CA", year))
	must(t, pki.Issue(dir, "agent", pki.Request{Kind: pki.Server, CommonName: "agent", Hosts: serverHosts, Validity: year}))
	must(t, pki.Issue(dir, "admin", pki.Request{Kind: pki.Client, CommonName: "admin", Validity: year}))
	must(t, pki.Issue(dir, "viewer", pki.Request{Kind: pki.Client, CommonName: "viewer", ReadOnly: true, Validity: year}))

	l, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		testlab.Unavailable(t, "needs an IPv6 loopback address: %v", err)
	}
	endpoint = l.Addr().String()
	l.Close()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- agent.Run(ctx, agent.Options{
			StateDir: filepath.Join(dir, "state"),
			Listen:   endpoint,
			TLSCert:  filepath.Join(dir, "agent.pem"), TLSKey: filepath.Join(dir, "agent-key.pem"),
			ClientCA: filepath.Join(dir, pki.CACertFile),
			Logger:   slog.New(slog.NewTextHandler(log, nil)),
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", endpoint); err == nil {
			c.Close()
			return endpoint, dir, log
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("agent did not listen")
	return "", "", nil
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func clientOptions(endpoint, dir, client string) agentclient.Options {
	return agentclient.Options{
		Endpoint:   endpoint,
		CACert:     filepath.Join(dir, pki.CACertFile),
		ClientCert: filepath.Join(dir, client+".pem"),
		ClientKey:  filepath.Join(dir, client+"-key.pem"),
		Timeout:    5 * time.Second,
	}
}

func TestRemoteAgentMutualTLSAndRoles(t *testing.T) {
	endpoint, dir := remoteAgent(t)
	ctx := context.Background()

	admin, err := agentclient.Connect(ctx, clientOptions(endpoint, dir, "admin"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.ListBootServers(ctx, &netbootv1.ListBootServersRequest{}); err != nil {
		t.Fatalf("admin List: %v", err)
	}
	// An admin may write: the agent validates and answers with a typed error.
	_, err = admin.DeleteBootServer(ctx, &netbootv1.DeleteBootServerRequest{Name: "absent"})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("admin Delete of a missing server: %v, want NotFound", err)
	}

	viewer, err := agentclient.Connect(ctx, clientOptions(endpoint, dir, "viewer"))
	if err != nil {
		t.Fatal(err)
	}
	defer viewer.Close()
	if _, err := viewer.ListLeases(ctx, &netbootv1.ListLeasesRequest{}); err != nil {
		t.Fatalf("read-only List: %v", err)
	}
	// An operator with a read-only certificate may watch the agent's events.
	events, err := viewer.WatchEvents(ctx, &netbootv1.WatchEventsRequest{})
	if err != nil {
		t.Fatalf("read-only WatchEvents: %v", err)
	}
	for {
		if _, err := events.Recv(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("read-only WatchEvents: %v", err)
		}
	}
	_, err = viewer.DeleteBootServer(ctx, &netbootv1.DeleteBootServerRequest{Name: "absent"})
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("read-only Delete: %v, want PermissionDenied", err)
	}
	upload, err := viewer.PutArtifact(ctx)
	if err == nil {
		_ = upload.Send(&netbootv1.PutArtifactRequest{Part: &netbootv1.PutArtifactRequest_Header{Header: &netbootv1.ArtifactHeader{Path: "x"}}})
		_, err = upload.CloseAndRecv()
	}
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("read-only upload: %v, want PermissionDenied", err)
	}
}

func TestRemoteAgentRefusalsNameTheCause(t *testing.T) {
	endpoint, dir := remoteAgent(t)
	other := t.TempDir()
	year := 365 * 24 * time.Hour
	must(t, pki.InitCA(other, "another CA", year))
	must(t, pki.Issue(other, "stranger", pki.Request{Kind: pki.Client, CommonName: "stranger", Validity: year}))

	tests := []struct {
		name string
		opts agentclient.Options
		want string
	}{
		{"client cert from another CA", agentclient.Options{
			Endpoint: endpoint, CACert: filepath.Join(dir, pki.CACertFile),
			ClientCert: filepath.Join(other, "stranger.pem"), ClientKey: filepath.Join(other, "stranger-key.pem"),
		}, "not signed by it"},
		{"ca_cert does not know the agent", agentclient.Options{
			Endpoint: endpoint, CACert: filepath.Join(other, pki.CACertFile),
			ClientCert: filepath.Join(dir, "admin.pem"), ClientKey: filepath.Join(dir, "admin-key.pem"),
		}, "unknown certificate authority"},
		{"no client certificate", agentclient.Options{Endpoint: endpoint, CACert: filepath.Join(dir, pki.CACertFile)}, "client_cert"},
		{"nothing listening", clientOptions("[::1]:1", dir, "admin"), "nothing answers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Timeout = 5 * time.Second
			conn, err := agentclient.Connect(context.Background(), tt.opts)
			if err == nil {
				conn.Close()
				t.Fatal("Connect succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Connect error %q does not say %q", err, tt.want)
			}
		})
	}

	// An agent whose certificate names another host.
	misnamed, misnamedDir := remoteAgent(t, "agent.invalid")
	_, err := agentclient.Connect(context.Background(), clientOptions(misnamed, misnamedDir, "admin"))
	if err == nil || !strings.Contains(err.Error(), "wrong SAN") || !strings.Contains(err.Error(), "agent.invalid") {
		t.Fatalf("misnamed agent: %v, want wrong SAN naming agent.invalid", err)
	}

	// The agent never speaks plaintext gRPC on its remote listener.
	cc, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	must(t, err)
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := netbootv1.NewAgentClient(cc).ListBootServers(ctx, &netbootv1.ListBootServersRequest{}); err == nil {
		t.Fatal("plaintext call succeeded")
	}
	// Nor does a TLS client without a certificate get past the handshake.
	raw, err := tls.Dial("tcp", endpoint, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13})
	if err == nil {
		_ = raw.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, err = raw.Read(make([]byte, 1))
		raw.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "certificate required") {
		t.Fatalf("TLS without client certificate: %v, want 'certificate required'", err)
	}
}

// A read-only certificate may call every reading method, RenderScript
// (the netboot_rendered_script data source) included.
func TestReadOnlyCertificateMayRenderScripts(t *testing.T) {
	endpoint, dir := remoteAgent(t)
	ctx := context.Background()
	viewer, err := agentclient.Connect(ctx, clientOptions(endpoint, dir, "viewer"))
	must(t, err)
	defer viewer.Close()
	_, err = viewer.RenderScript(ctx, &netbootv1.RenderScriptRequest{BootServer: "absent"})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("read-only RenderScript: %v, want NotFound (the call reached the agent)", err)
	}
}

// Every change is logged with the certificate's common name, refused ones
// too; every refused handshake is logged with its reason.
func TestRemoteChangesAndRefusedHandshakesAreLogged(t *testing.T) {
	endpoint, dir, log := remoteAgentWithLog(t)
	ctx := context.Background()
	admin, err := agentclient.Connect(ctx, clientOptions(endpoint, dir, "admin"))
	must(t, err)
	defer admin.Close()
	upload, err := admin.PutArtifact(ctx)
	must(t, err)
	must(t, upload.Send(&netbootv1.PutArtifactRequest{Part: &netbootv1.PutArtifactRequest_Header{Header: &netbootv1.ArtifactHeader{Path: "start.ipxe"}}}))
	must(t, upload.Send(&netbootv1.PutArtifactRequest{Part: &netbootv1.PutArtifactRequest_Chunk{Chunk: []byte("#!ipxe\n")}}))
	_, err = upload.CloseAndRecv()
	must(t, err)
	_, _ = admin.DeleteBootServer(ctx, &netbootv1.DeleteBootServerRequest{Name: "absent"})
	if _, err := admin.ListBootServers(ctx, &netbootv1.ListBootServersRequest{}); err != nil {
		t.Fatal(err)
	}

	viewer, err := agentclient.Connect(ctx, clientOptions(endpoint, dir, "viewer"))
	must(t, err)
	defer viewer.Close()
	_, _ = viewer.DeleteArtifact(ctx, &netbootv1.DeleteArtifactRequest{Path: "start.ipxe"})

	// A server certificate offered as a client certificate.
	_, err = agentclient.Connect(ctx, clientOptions(endpoint, dir, "agent"))
	if err == nil || !strings.Contains(err.Error(), "lacks the client-auth extended key usage") {
		t.Errorf("server certificate as client certificate: %v, want it to say it lacks client-auth usage", err)
	}
	other := t.TempDir()
	year := 365 * 24 * time.Hour
	must(t, pki.InitCA(other, "another CA", year))
	must(t, pki.Issue(other, "stranger", pki.Request{Kind: pki.Client, CommonName: "stranger", Validity: year}))
	_, _ = agentclient.Connect(ctx, agentclient.Options{Endpoint: endpoint, CACert: filepath.Join(dir, pki.CACertFile),
		ClientCert: filepath.Join(other, "stranger.pem"), ClientKey: filepath.Join(other, "stranger-key.pem"), Timeout: 5 * time.Second})

	want := []string{
		`msg="control change" component=control method=PutArtifact caller=admin object=start.ipxe code=OK`,
		`msg="control change refused" component=control method=DeleteBootServer caller=admin object=absent code=NotFound`,
		`msg="control change refused" component=control method=DeleteArtifact caller=viewer object=start.ipxe code=PermissionDenied`,
		`reason="the client certificate lacks the client-auth extended key usage`,
		`certificate="CN=agent"`,
		`reason="the client sent no certificate`,
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, w := range want {
		for !strings.Contains(log.String(), w) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if !strings.Contains(log.String(), w) {
			t.Errorf("agent log lacks %q", w)
		}
	}
	if strings.Contains(log.String(), "method=ListBootServers") {
		t.Error("a read was logged as a change")
	}
	if t.Failed() {
		t.Logf("agent log:\n%s", log)
	}
}
