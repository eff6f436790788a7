package agent

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/netbootlab/terraform-provider-netboot/internal/wire/eventkind"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/pki"
)

// readMethods are the calls that change nothing: a read-only certificate
// may make them, and they are not logged as changes. Every other method is
// a change; TestEveryMethodIsClassified keeps the two lists complete, so a
// new RPC is a change until someone decides otherwise.
var readMethods = map[string]bool{
	netbootv1.Agent_GetBootServer_FullMethodName:      true,
	netbootv1.Agent_ListBootServers_FullMethodName:    true,
	netbootv1.Agent_ListLeases_FullMethodName:         true,
	netbootv1.Agent_GetAgentInfo_FullMethodName:       true,
	netbootv1.Agent_GetArtifact_FullMethodName:        true,
	netbootv1.Agent_ListArtifacts_FullMethodName:      true,
	netbootv1.Agent_GetBootEntry_FullMethodName:       true,
	netbootv1.Agent_ListBootEntries_FullMethodName:    true,
	netbootv1.Agent_GetBootMenu_FullMethodName:        true,
	netbootv1.Agent_ListBootMenus_FullMethodName:      true,
	netbootv1.Agent_RenderScript_FullMethodName:       true,
	netbootv1.Agent_GetNFSRootImage_FullMethodName:    true,
	netbootv1.Agent_ListNFSRootImages_FullMethodName:  true,
	netbootv1.Agent_WatchEvents_FullMethodName:        true,
	netbootv1.Agent_ListHosts_FullMethodName:          true,
	netbootv1.Agent_ListOperations_FullMethodName:     true,
	netbootv1.Agent_GetMachine_FullMethodName:         true,
	netbootv1.Agent_ListMachines_FullMethodName:       true,
	netbootv1.Agent_GetMachineConfig_FullMethodName:   true,
	netbootv1.Agent_ListMachineConfigs_FullMethodName: true,
	healthpb.Health_Check_FullMethodName:              true,
	healthpb.Health_List_FullMethodName:               true,
	healthpb.Health_Watch_FullMethodName:              true,
}

// changeMethods are the calls that change the agent's objects.
var changeMethods = map[string]bool{
	netbootv1.Agent_PutBootServer_FullMethodName:       true,
	netbootv1.Agent_DeleteBootServer_FullMethodName:    true,
	netbootv1.Agent_PutArtifact_FullMethodName:         true,
	netbootv1.Agent_DeleteArtifact_FullMethodName:      true,
	netbootv1.Agent_PutBootEntry_FullMethodName:        true,
	netbootv1.Agent_DeleteBootEntry_FullMethodName:     true,
	netbootv1.Agent_PutBootMenu_FullMethodName:         true,
	netbootv1.Agent_DeleteBootMenu_FullMethodName:      true,
	netbootv1.Agent_PutNFSRootImage_FullMethodName:     true,
	netbootv1.Agent_DeleteNFSRootImage_FullMethodName:  true,
	netbootv1.Agent_PutMachine_FullMethodName:          true,
	netbootv1.Agent_DeleteMachine_FullMethodName:       true,
	netbootv1.Agent_PutMachineConfig_FullMethodName:    true,
	netbootv1.Agent_DeleteMachineConfig_FullMethodName: true,
	// A probe sends traffic on the served links: an operator's act, not a read.
	netbootv1.Agent_ProbeOtherServers_FullMethodName: true,
}

// authorizeRemote lets a client certificate with the read-only OU call only
// readMethods, and withholds boot servers' private keys from it. TLS itself
// (RequireAndVerifyClientCert) has already rejected callers without a
// certificate from the client CA.
func authorizeRemote(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	readOnly, err := authorize(ctx, info.FullMethod)
	if err != nil {
		return nil, err
	}
	resp, err := handler(ctx, req)
	if readOnly && err == nil {
		resp = withheldFromReadOnly(resp)
	}
	return resp, err
}

// authorizeRemoteStream applies the same rule to streaming calls (uploads).
func authorizeRemoteStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if _, err := authorize(ss.Context(), info.FullMethod); err != nil {
		return err
	}
	return handler(srv, ss)
}

// authorize says whether the caller may make the call, and whether its
// certificate is read-only.
func authorize(ctx context.Context, fullMethod string) (readOnly bool, err error) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return false, status.Error(codes.Unauthenticated, "no peer information")
	}
	tlsInfo, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(tlsInfo.State.PeerCertificates) == 0 {
		return false, status.Error(codes.Unauthenticated, "a client certificate is required")
	}
	cert := tlsInfo.State.PeerCertificates[0]
	readOnly = slices.Contains(cert.Subject.OrganizationalUnit, pki.ReadOnlyOU)
	if readOnly && !readMethods[fullMethod] {
		return true, status.Errorf(codes.PermissionDenied, "certificate %q is read-only (OU %s): it may not call %s", cert.Subject.CommonName, pki.ReadOnlyOU, fullMethod)
	}
	return readOnly, nil
}

// withheldFromReadOnly is resp without the boot servers' HTTPS private keys:
// with one, a reader could answer in a boot server's place to every machine
// that trusts its CA. Only the boot server calls return them.
func withheldFromReadOnly(resp any) any {
	var states []*netbootv1.BootServerState
	switch r := resp.(type) {
	case *netbootv1.BootServerState:
		r = proto.CloneOf(r)
		resp, states = r, []*netbootv1.BootServerState{r}
	case *netbootv1.ListBootServersResponse:
		r = proto.CloneOf(r)
		resp, states = r, r.GetBootServers()
	}
	for _, st := range states {
		if h := st.GetConfig().GetBoot().GetHttps(); h.GetPrivateKeyPem() != "" {
			h.PrivateKeyPem = ""
		}
	}
	return resp
}

// localCaller names callers on the unix socket, which only root reaches.
const localCaller = "local"

// caller names who makes a call: the client certificate's common name over
// mutual TLS, or "local" on the control socket.
func caller(ctx context.Context) string {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return localCaller
	}
	if tlsInfo, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(tlsInfo.State.PeerCertificates) > 0 {
		return tlsInfo.State.PeerCertificates[0].Subject.CommonName
	}
	return localCaller
}

// changeLog logs every change with its caller, its object and its outcome,
// refused ones included, so an operator can tell who changed what.
type changeLog struct{ logger *slog.Logger }

func newChangeLog(logger *slog.Logger) changeLog {
	return changeLog{logger: logger.With(componentKey, string(eventkind.Control))}
}

func (c changeLog) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if readMethods[info.FullMethod] {
		return handler(ctx, req)
	}
	start := time.Now()
	resp, err := handler(ctx, req)
	c.log(ctx, info.FullMethod, requestObject(req), start, err)
	return resp, err
}

func (c changeLog) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if readMethods[info.FullMethod] {
		return handler(srv, ss)
	}
	start := time.Now()
	rs := &firstMessageStream{ServerStream: ss}
	err := handler(srv, rs)
	c.log(ss.Context(), info.FullMethod, requestObject(rs.first), start, err)
	return err
}

func (c changeLog) log(ctx context.Context, method, object string, start time.Time, err error) {
	attrs := []any{"method", method[strings.LastIndex(method, "/")+1:], "caller", caller(ctx), "object", object,
		"code", status.Code(err).String(), "duration", time.Since(start).Round(time.Millisecond)}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil && p.Addr.Network() != "unix" {
		attrs = append(attrs, "peer", p.Addr.String())
	}
	if err != nil {
		c.logger.Warn("control change refused", append(attrs, "error", status.Convert(err).Message())...)
		return
	}
	c.logger.Info("control change", attrs...)
}

// firstMessageStream keeps the first message a streaming call received
// (an upload's header), to name the object it changed.
type firstMessageStream struct {
	grpc.ServerStream
	first any
}

func (s *firstMessageStream) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	if err == nil && s.first == nil {
		s.first = m
	}
	return err
}

// requestObject names what a request is about: its name or path, looked
// for in the request and one level down (PutBootServer's config,
// PutArtifact's header).
func requestObject(req any) string {
	m, ok := req.(proto.Message)
	if !ok || m == nil {
		return ""
	}
	r := m.ProtoReflect()
	if s := nameOrPath(r); s != "" {
		return s
	}
	var found string
	r.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() == protoreflect.MessageKind && !fd.IsList() && !fd.IsMap() {
			found = nameOrPath(v.Message())
		}
		return found == ""
	})
	return found
}

func nameOrPath(r protoreflect.Message) string {
	for _, field := range []protoreflect.Name{"name", "path"} {
		if fd := r.Descriptor().Fields().ByName(field); fd != nil && fd.Kind() == protoreflect.StringKind && !fd.IsList() {
			if s := r.Get(fd).String(); s != "" {
				return s
			}
		}
	}
	return ""
}
