package agentclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/wire/pki"
)

// diagnoseTLS dials the endpoint with plain crypto/tls to turn gRPC's
// opaque "connection closed" into the cause a user can fix: unknown CA,
// expired certificate, wrong name, or a client certificate the agent
// refused. It returns nil when the TLS handshake is fine.
func diagnoseTLS(endpoint string, cfg *tls.Config) error {
	host, _, err := net.SplitHostPort(endpoint)
	if err != nil {
		return fmt.Errorf("endpoint %q must be host:port (IPv6 as [addr]:port): %w", endpoint, err)
	}
	cfg = cfg.Clone()
	cfg.ServerName = host
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(dialer, "tcp", endpoint, cfg)
	if err != nil {
		return explainTLS(endpoint, host, cfg, err)
	}
	defer conn.Close()
	// In TLS 1.3 the server checks our certificate after the client's
	// handshake finishes; its verdict arrives as an alert on the first read.
	_ = conn.SetReadDeadline(time.Now().Add(time.Second))
	_, err = conn.Read(make([]byte, 1))
	var netErr net.Error
	if err == nil || (errors.As(err, &netErr) && netErr.Timeout()) {
		return nil
	}
	return explainTLS(endpoint, host, cfg, err)
}

// explainTLS turns a handshake error into its cause; cfg holds the client
// certificate that was offered.
func explainTLS(endpoint, host string, cfg *tls.Config, err error) error {
	var (
		unknownCA x509.UnknownAuthorityError
		invalid   x509.CertificateInvalidError
		hostname  x509.HostnameError
		opErr     *net.OpError
	)
	msg := err.Error()
	switch {
	case errors.As(err, &unknownCA):
		return fmt.Errorf("the agent at %s presents a certificate not signed by ca_cert (unknown certificate authority); set ca_cert to the CA that issued the agent's --tls-cert", endpoint)
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return fmt.Errorf("the agent's certificate at %s has expired or is not yet valid (%v); issue a new one with `terraform-provider-netboot agent certs server`", endpoint, invalid)
	case errors.As(err, &hostname):
		return fmt.Errorf("the agent's certificate is for %v, not for %q (wrong SAN); reissue it with --host %s or use an endpoint it names", certNames(hostname.Certificate), host, host)
	case strings.Contains(msg, "certificate required"):
		// Go sends no certificate the agent's CA list does not cover, so a
		// certificate from another CA also ends here.
		return fmt.Errorf("the agent at %s requires a client certificate signed by its --client-ca: client_cert is missing or not signed by it", endpoint)
	case strings.Contains(msg, "bad certificate") && !clientAuthAllowed(cfg):
		// The agent verifies the usage along with the signature and
		// answers both with the same alert: name the usage, which the
		// client can see, rather than blame the CA.
		return fmt.Errorf("the agent at %s rejected client_cert: it lacks the client-auth extended key usage (is it a server certificate?); issue a client certificate with `terraform-provider-netboot agent certs client`", endpoint)
	case strings.Contains(msg, "unknown certificate authority") || strings.Contains(msg, "bad certificate"):
		return fmt.Errorf("the agent at %s rejected client_cert: it is not signed by the agent's --client-ca", endpoint)
	case strings.Contains(msg, "expired certificate"):
		return fmt.Errorf("the agent at %s rejected client_cert: it has expired; issue a new one with `terraform-provider-netboot agent certs client`", endpoint)
	case strings.Contains(msg, "first record does not look like a TLS handshake"):
		return fmt.Errorf("%s does not speak TLS; is it the agent's --listen address?", endpoint)
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return fmt.Errorf("nothing answers at %s (%v); start the agent with --listen there or fix endpoint", endpoint, opErr.Err)
	}
	return fmt.Errorf("TLS with the agent at %s failed: %w", endpoint, err)
}

// clientAuthAllowed reports whether cfg's client certificate may
// authenticate a client; true when there is none to judge.
func clientAuthAllowed(cfg *tls.Config) bool {
	if cfg == nil || len(cfg.Certificates) == 0 || cfg.Certificates[0].Leaf == nil {
		return true
	}
	return pki.MayAuthenticateClient(cfg.Certificates[0].Leaf)
}

func certNames(c *x509.Certificate) []string {
	if c == nil {
		return nil
	}
	names := append([]string{}, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	return names
}
