package agent

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/pki"
)

// A new RPC must be declared a read or a change: a read-only certificate
// may make it, or every call is logged with its caller.
func TestEveryMethodIsClassified(t *testing.T) {
	for _, desc := range []grpc.ServiceDesc{netbootv1.Agent_ServiceDesc, healthpb.Health_ServiceDesc} {
		var names []string
		for _, m := range desc.Methods {
			names = append(names, m.MethodName)
		}
		for _, s := range desc.Streams {
			names = append(names, s.StreamName)
		}
		for _, name := range names {
			full := "/" + desc.ServiceName + "/" + name
			if readMethods[full] == changeMethods[full] {
				t.Errorf("%s is in %s: list it in exactly one of readMethods and changeMethods",
					full, map[bool]string{true: "both lists", false: "neither list"}[readMethods[full]])
			}
		}
	}
}

func TestChangesOnTheSocketAreLoggedAsLocal(t *testing.T) {
	var buf bytes.Buffer
	changes := newChangeLog(slog.New(slog.NewTextHandler(&buf, nil)))
	ctx := peer.NewContext(context.Background(), &peer.Peer{Addr: &net.UnixAddr{Name: "agent.sock", Net: "unix"}})
	call := func(method string, req any, err error) {
		_, _ = changes.unary(ctx, req, &grpc.UnaryServerInfo{FullMethod: method}, func(context.Context, any) (any, error) { return nil, err })
	}
	call(netbootv1.Agent_DeleteBootEntry_FullMethodName, &netbootv1.DeleteBootEntryRequest{Name: "rescue"}, nil)
	call(netbootv1.Agent_PutBootServer_FullMethodName, &netbootv1.PutBootServerRequest{BootServer: &netbootv1.BootServer{Name: "lab"}},
		status.Error(codes.InvalidArgument, "prefix is required"))
	call(netbootv1.Agent_GetBootEntry_FullMethodName, &netbootv1.GetBootEntryRequest{Name: "rescue"}, nil)
	log := buf.String()
	for _, want := range []string{
		`msg="control change" component=control method=DeleteBootEntry caller=local object=rescue code=OK`,
		`msg="control change refused" component=control method=PutBootServer caller=local object=lab code=InvalidArgument`,
		`error="prefix is required"`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "GetBootEntry") || strings.Contains(log, "peer=") {
		t.Errorf("a read was logged, or the socket named as a peer:\n%s", log)
	}
}

func TestRefusedHandshakesAreRateLimited(t *testing.T) {
	var buf bytes.Buffer
	h := newHandshakeLogger(nil, slog.New(slog.NewTextHandler(&buf, nil)))
	addr := &net.TCPAddr{IP: net.ParseIP("2001:db8::5"), Port: 40000}
	for range 3 * handshakeLogBurst {
		h.refused(addr, errors.New("tls: client didn't provide a certificate"))
	}
	h.refused(addr, io.EOF) // a port probe: debug only
	if n := strings.Count(buf.String(), "control connection refused"); n != handshakeLogBurst {
		t.Fatalf("logged %d of %d refusals, want the burst of %d:\n%s", n, 3*handshakeLogBurst, handshakeLogBurst, buf.String())
	}
	if h.suppressed.Load() != 2*handshakeLogBurst {
		t.Errorf("counted %d refusals as not logged, want %d", h.suppressed.Load(), 2*handshakeLogBurst)
	}
}

// A read-only certificate reads boot servers without their HTTPS private
// keys; a read-write one, and the stored state, keep them.
func TestReadOnlyCallersGetNoPrivateKeys(t *testing.T) {
	withCert := func(ou ...string) context.Context {
		cert := &x509.Certificate{Subject: pkix.Name{CommonName: "viewer", OrganizationalUnit: ou}}
		return peer.NewContext(context.Background(), &peer.Peer{Addr: &net.TCPAddr{IP: net.IPv6loopback, Port: 4000},
			AuthInfo: credentials.TLSInfo{State: tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}}}})
	}
	stored := &netbootv1.BootServerState{Config: &netbootv1.BootServer{Name: "lab", Boot: &netbootv1.Boot{
		Https: &netbootv1.HTTPS{Enabled: true, CertificatePem: "CERT", PrivateKeyPem: "KEY"}}}}
	for _, tc := range []struct {
		method string
		resp   any
		keys   func(any) []string
	}{
		{netbootv1.Agent_GetBootServer_FullMethodName, stored, func(r any) []string {
			return []string{r.(*netbootv1.BootServerState).GetConfig().GetBoot().GetHttps().GetPrivateKeyPem()}
		}},
		{netbootv1.Agent_ListBootServers_FullMethodName, &netbootv1.ListBootServersResponse{BootServers: []*netbootv1.BootServerState{stored, {}}},
			func(r any) []string {
				var keys []string
				for _, st := range r.(*netbootv1.ListBootServersResponse).GetBootServers() {
					keys = append(keys, st.GetConfig().GetBoot().GetHttps().GetPrivateKeyPem())
				}
				return keys
			}},
	} {
		call := func(ctx context.Context) any {
			resp, err := authorizeRemote(ctx, nil, &grpc.UnaryServerInfo{FullMethod: tc.method},
				func(context.Context, any) (any, error) { return tc.resp, nil })
			if err != nil {
				t.Fatal(err)
			}
			return resp
		}
		if got := tc.keys(call(withCert(pki.ReadOnlyOU))); slices.ContainsFunc(got, func(k string) bool { return k != "" }) {
			t.Errorf("%s to a read-only certificate: private keys %q", tc.method, got)
		}
		if got := tc.keys(call(withCert())); got[0] != "KEY" {
			t.Errorf("%s to a read-write certificate: private key %q, want KEY", tc.method, got[0])
		}
		if got := tc.keys(tc.resp); got[0] != "KEY" {
			t.Errorf("%s: the agent's own value was changed to %q", tc.method, got[0])
		}
	}
}
