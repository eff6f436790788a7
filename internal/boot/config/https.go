package config

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// httpsPath is where the HTTPS settings sit in a boot server.
var httpsPath = []any{"boot", "https"}

func httpsField(name string) []any { return append(slices.Clone(httpsPath), name) }

// validateHTTPS checks what does not change with the clock or the link:
// the port, and that the certificate and key parse and belong together.
// A certificate is checked even while HTTPS is off, so turning it on later
// cannot fail on it.
func (bt *Boot) validateHTTPS(errs *FieldErrors) {
	h := bt.HTTPS
	if h.Port < 1 || h.Port > 65535 {
		errs.add("must be a TCP port between 1 and 65535", httpsField("port")...)
	} else if h.Enabled && bt.HTTP && h.Port == bt.HTTPPort {
		errs.addVs(fmt.Sprintf("is %d, the port of boot.http_port: HTTP and HTTPS listen on the same addresses, so they need different ports", h.Port),
			httpsField("port"), []any{"boot", "http_port"})
	}
	if h.Enabled && h.CertificatePEM == "" {
		errs.add("must be set when boot.https.enabled is true: the server certificate, PEM (e.g. from `agent certs boot-server`)", httpsField("certificate_pem")...)
	}
	if h.Enabled && h.PrivateKeyPEM == "" {
		errs.add("must be set when boot.https.enabled is true: the private key of certificate_pem, PEM", httpsField("private_key_pem")...)
	}
	if h.CertificatePEM == "" || h.PrivateKeyPEM == "" {
		return
	}
	if _, err := h.KeyPair(); err != nil {
		if fe, ok := err.(*FieldError); ok {
			*errs = append(*errs, fe)
		} else {
			errs.add(err.Error(), httpsField("certificate_pem")...)
		}
	}
}

// KeyPair parses the certificate chain and the key, with the leaf parsed
// too. Its errors are *FieldError naming the attribute at fault.
func (h HTTPS) KeyPair() (tls.Certificate, error) {
	if problem := certificatesProblem(h.CertificatePEM); problem != "" {
		return tls.Certificate{}, &FieldError{Path: httpsField("certificate_pem"), Reason: problem}
	}
	if b, _ := pem.Decode([]byte(h.PrivateKeyPEM)); b == nil || !strings.HasSuffix(b.Type, "PRIVATE KEY") {
		return tls.Certificate{}, &FieldError{Path: httpsField("private_key_pem"),
			Reason: "must be a PEM private key (\"-----BEGIN PRIVATE KEY-----\", \"EC PRIVATE KEY\" or \"RSA PRIVATE KEY\")"}
	}
	pair, err := tls.X509KeyPair([]byte(h.CertificatePEM), []byte(h.PrivateKeyPEM))
	if err != nil {
		reason := "cannot be used: " + err.Error()
		if strings.Contains(err.Error(), "does not match") {
			reason = "does not match certificate_pem: it is the key of another certificate"
		}
		return tls.Certificate{}, &FieldError{Path: httpsField("private_key_pem"), Reason: reason, Depends: [][]any{httpsField("certificate_pem")}}
	}
	return pair, nil
}

// certificatesProblem says why s is not a PEM chain of certificates with a
// server certificate first, or "" when it is.
func certificatesProblem(s string) string {
	rest := []byte(s)
	n := 0
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return fmt.Sprintf("must hold only PEM certificates (\"-----BEGIN CERTIFICATE-----\"), found a %q block; the key goes into private_key_pem", b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return fmt.Sprintf("certificate %d does not parse: %v", n+1, err)
		}
		if n == 0 {
			if c.IsCA {
				return "its first certificate is a CA certificate: put the server certificate first, then any intermediate CA certificates"
			}
			if len(c.ExtKeyUsage) > 0 && !slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageServerAuth) && !slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageAny) {
				return "is not a server certificate: its extended key usage does not include server authentication"
			}
		}
		n++
	}
	if n == 0 {
		return "must be a PEM certificate (\"-----BEGIN CERTIFICATE-----\")"
	}
	return ""
}

// CheckHTTPSCertificate checks what validation cannot know: that the
// certificate is valid at now, and that it names addr, the address in the
// boot URLs, as an IP subject alternative name (clients compare the URL's
// host with it). An invalid addr is not checked. Nil when HTTPS is off.
func (bt *Boot) CheckHTTPSCertificate(now time.Time, addr netip.Addr) error {
	if !bt.HTTPS.Enabled {
		return nil
	}
	pair, err := bt.HTTPS.KeyPair()
	if err != nil {
		return err
	}
	leaf := pair.Leaf
	var errs FieldErrors
	at := httpsField("certificate_pem")
	switch {
	case now.After(leaf.NotAfter):
		errs.add(fmt.Sprintf("expired on %s: issue a new one (`agent certs boot-server`)", leaf.NotAfter.UTC().Format(time.RFC3339)), at...)
	case now.Before(leaf.NotBefore):
		errs.add(fmt.Sprintf("is not valid before %s: check the clock of the host that issued it", leaf.NotBefore.UTC().Format(time.RFC3339)), at...)
	}
	if addr.IsValid() && !slices.ContainsFunc(leaf.IPAddresses, func(ip net.IP) bool {
		a, ok := netip.AddrFromSlice(ip)
		return ok && a.Unmap() == addr.Unmap()
	}) {
		errs.addVs(fmt.Sprintf("has no subject alternative name for %s, the address in this boot server's URLs (it names %s): issue one with --host %s",
			addr, certificateNames(leaf), addr), at, []any{"boot", "server_address"})
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// certificateNames lists a certificate's subject alternative names.
func certificateNames(c *x509.Certificate) string {
	var names []string
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	names = append(names, c.DNSNames...)
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
