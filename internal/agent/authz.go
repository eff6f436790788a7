package agent

import (
	"context"
	"slices"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/netbootlab/terraform-provider-netboot/internal/pki"
)

// readOnlyMethod reports whether a gRPC method only reads: Get*, List*,
// Watch* and health checks.
func readOnlyMethod(fullMethod string) bool {
	method := fullMethod[strings.LastIndex(fullMethod, "/")+1:]
	return strings.HasPrefix(method, "Get") || strings.HasPrefix(method, "List") || strings.HasPrefix(method, "Watch") ||
		strings.HasPrefix(fullMethod, "/grpc.health.v1.Health/")
}

// authorizeRemote lets a client certificate with the read-only OU call only
// reading methods. TLS itself (RequireAndVerifyClientCert) has already
// rejected callers without a certificate from the client CA.
func authorizeRemote(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := authorize(ctx, info.FullMethod); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// authorizeRemoteStream applies the same rule to streaming calls (uploads).
func authorizeRemoteStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if err := authorize(ss.Context(), info.FullMethod); err != nil {
		return err
	}
	return handler(srv, ss)
}

func authorize(ctx context.Context, fullMethod string) error {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return status.Error(codes.Unauthenticated, "no peer information")
	}
	tlsInfo, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(tlsInfo.State.PeerCertificates) == 0 {
		return status.Error(codes.Unauthenticated, "a client certificate is required")
	}
	cert := tlsInfo.State.PeerCertificates[0]
	if slices.Contains(cert.Subject.OrganizationalUnit, pki.ReadOnlyOU) && !readOnlyMethod(fullMethod) {
		return status.Errorf(codes.PermissionDenied, "certificate %q is read-only (OU %s): it may not call %s", cert.Subject.CommonName, pki.ReadOnlyOU, fullMethod)
	}
	return nil
}
