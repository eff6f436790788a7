package agent

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/grpc/credentials"

	"github.com/netbootlab/terraform-provider-netboot/internal/wire/eventkind"
)

// handshakeLogRate bounds how many refused TLS handshakes are logged: a
// scanner or a misconfigured client retrying in a loop must not flood the
// log. Refusals beyond it are counted and the count is logged with the
// next one that is.
const (
	handshakeLogEvery = time.Second
	handshakeLogBurst = 10
)

// handshakeLogger wraps the remote listener's TLS credentials to log each
// refused handshake with its reason: gRPC drops these errors silently.
type handshakeLogger struct {
	credentials.TransportCredentials
	logger     *slog.Logger
	limit      *rate.Limiter
	suppressed *atomic.Int64
}

func newHandshakeLogger(creds credentials.TransportCredentials, logger *slog.Logger) *handshakeLogger {
	return &handshakeLogger{
		TransportCredentials: creds,
		logger:               logger.With(componentKey, string(eventkind.Control)),
		limit:                rate.NewLimiter(rate.Every(handshakeLogEvery), handshakeLogBurst),
		suppressed:           new(atomic.Int64),
	}
}

func (h *handshakeLogger) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	c, info, err := h.TransportCredentials.ServerHandshake(conn)
	if err != nil {
		h.refused(conn.RemoteAddr(), err)
	}
	return c, info, err
}

func (h *handshakeLogger) Clone() credentials.TransportCredentials {
	return &handshakeLogger{TransportCredentials: h.TransportCredentials.Clone(), logger: h.logger, limit: h.limit, suppressed: h.suppressed}
}

func (h *handshakeLogger) refused(remote net.Addr, err error) {
	reason, subject := handshakeRefusal(err)
	if reason == "" {
		// The peer hung up without a word (a port probe, a health check):
		// nothing an operator needs to act on.
		h.logger.Debug("control connection closed during the TLS handshake", "peer", remote.String(), "error", err)
		return
	}
	if !h.limit.Allow() {
		h.suppressed.Add(1)
		return
	}
	attrs := []any{"peer", remote.String(), "reason", reason, "error", err.Error()}
	if subject != "" {
		attrs = append(attrs, "certificate", subject)
	}
	if n := h.suppressed.Swap(0); n > 0 {
		attrs = append(attrs, "not_logged_since", n)
	}
	h.logger.Warn("control connection refused: TLS handshake failed", attrs...)
}

// handshakeRefusal says why a handshake failed in words an operator can act
// on, and whose certificate it was; reason is empty when the peer simply
// closed the connection.
func handshakeRefusal(err error) (reason, subject string) {
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return "", ""
	}
	var verify *tls.CertificateVerificationError
	if errors.As(err, &verify) && len(verify.UnverifiedCertificates) > 0 {
		subject = verify.UnverifiedCertificates[0].Subject.String()
	}
	var (
		unknownCA x509.UnknownAuthorityError
		invalid   x509.CertificateInvalidError
	)
	msg := err.Error()
	switch {
	case errors.As(err, &invalid) && invalid.Reason == x509.IncompatibleUsage:
		return "the client certificate lacks the client-auth extended key usage (a server certificate?); issue one with `agent certs client`", subject
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return "the client certificate has expired or is not yet valid", subject
	case errors.As(err, &unknownCA):
		return "the client certificate is not signed by --client-ca", subject
	case strings.Contains(msg, "didn't provide a certificate"):
		return "the client sent no certificate (it has none, or none signed by --client-ca)", ""
	case strings.Contains(msg, "does not look like a TLS handshake"):
		return "the client does not speak TLS", ""
	case errors.As(err, &invalid):
		return "the client certificate is invalid", subject
	}
	return "TLS handshake failed", subject
}
