package agent

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
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
