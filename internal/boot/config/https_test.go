package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// testCert is a self-signed server certificate and its key, PEM.
type testCert struct{ cert, key string }

func makeTestCert(t testing.TB, notBefore, notAfter time.Time, ips ...string) testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "boot"},
		NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, ip := range ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(ip))
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return testCert{
		cert: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		key:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})),
	}
}

func TestValidateHTTPS(t *testing.T) {
	now := time.Now()
	good := makeTestCert(t, now.Add(-time.Hour), now.Add(24*time.Hour), "2001:db8:1::1")
	other := makeTestCert(t, now.Add(-time.Hour), now.Add(24*time.Hour), "2001:db8:1::1")
	on := func(c testCert) HTTPS {
		return HTTPS{Enabled: true, Port: 443, CertificatePEM: c.cert, PrivateKeyPEM: c.key}
	}
	tests := []struct {
		name   string
		https  HTTPS
		field  string
		reason string
	}{
		{"off by default", HTTPS{Port: 443}, "", ""},
		{"on with a pair", on(good), "", ""},
		{"off with a pair", HTTPS{Port: 443, CertificatePEM: good.cert, PrivateKeyPEM: good.key}, "", ""},
		{"no certificate", HTTPS{Enabled: true, Port: 443, PrivateKeyPEM: good.key}, "boot.https.certificate_pem", "must be set"},
		{"no key", HTTPS{Enabled: true, Port: 443, CertificatePEM: good.cert}, "boot.https.private_key_pem", "must be set"},
		{"port zero", HTTPS{Port: 0}, "boot.https.port", "between 1 and 65535"},
		{"HTTP's port", HTTPS{Enabled: true, Port: 80, CertificatePEM: good.cert, PrivateKeyPEM: good.key}, "boot.https.port", "boot.http_port"},
		{"key of another certificate", HTTPS{Enabled: true, Port: 443, CertificatePEM: good.cert, PrivateKeyPEM: other.key},
			"boot.https.private_key_pem", "does not match certificate_pem"},
		{"key in the certificate", HTTPS{Enabled: true, Port: 443, CertificatePEM: good.key, PrivateKeyPEM: good.key},
			"boot.https.certificate_pem", `found a "PRIVATE KEY" block`},
		{"not PEM", HTTPS{Enabled: true, Port: 443, CertificatePEM: "hello", PrivateKeyPEM: good.key}, "boot.https.certificate_pem", "must be a PEM certificate"},
		{"certificate as key", HTTPS{Enabled: true, Port: 443, CertificatePEM: good.cert, PrivateKeyPEM: good.cert}, "boot.https.private_key_pem", "PEM private key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := validStateful()
			b.Boot = DefaultBoot()
			b.Boot.HTTPS = tt.https
			checkFieldError(t, b.Validate(), tt.field, tt.reason)
		})
	}
}

func TestCheckHTTPSCertificate(t *testing.T) {
	now := time.Now()
	addr := netip.MustParseAddr("2001:db8:1::1")
	tests := []struct {
		name   string
		cert   testCert
		addr   netip.Addr
		field  string
		reason string
	}{
		{"valid, names the address", makeTestCert(t, now.Add(-time.Hour), now.Add(time.Hour), "2001:db8:1::1"), addr, "", ""},
		{"address not known yet", makeTestCert(t, now.Add(-time.Hour), now.Add(time.Hour), "2001:db8:1::2"), netip.Addr{}, "", ""},
		{"expired", makeTestCert(t, now.Add(-48*time.Hour), now.Add(-24*time.Hour), "2001:db8:1::1"), addr, "boot.https.certificate_pem", "expired on"},
		{"not yet valid", makeTestCert(t, now.Add(24*time.Hour), now.Add(48*time.Hour), "2001:db8:1::1"), addr, "boot.https.certificate_pem", "not valid before"},
		{"no SAN for the address", makeTestCert(t, now.Add(-time.Hour), now.Add(time.Hour), "2001:db8:1::2"), addr,
			"boot.https.certificate_pem", "no subject alternative name for 2001:db8:1::1, the address in this boot server's URLs (it names 2001:db8:1::2)"},
		{"no SAN at all", makeTestCert(t, now.Add(-time.Hour), now.Add(time.Hour)), addr, "boot.https.certificate_pem", "(it names none)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bt := DefaultBoot()
			bt.HTTPS = HTTPS{Enabled: true, Port: 443, CertificatePEM: tt.cert.cert, PrivateKeyPEM: tt.cert.key}
			checkFieldError(t, bt.CheckHTTPSCertificate(now, tt.addr), tt.field, tt.reason)
			bt.HTTPS.Enabled = false
			if err := bt.CheckHTTPSCertificate(now, tt.addr); err != nil {
				t.Errorf("with HTTPS off: %v", err)
			}
		})
	}
}

// TestHTTPSProto: the settings survive the API, and a boot server without
// them reads back without them.
func TestHTTPSProto(t *testing.T) {
	c := makeTestCert(t, time.Now().Add(-time.Hour), time.Now().Add(time.Hour), "2001:db8:1::1")
	b := validStateful()
	b.Boot = DefaultBoot()
	if b.ToProto().GetBoot().GetHttps() != nil {
		t.Error("default HTTPS settings written to the API")
	}
	b.Boot.HTTPS = HTTPS{Enabled: true, Port: 8443, CertificatePEM: c.cert, PrivateKeyPEM: c.key}
	got, err := FromProto(b.ToProto())
	if err != nil {
		t.Fatal(err)
	}
	if got.Boot.HTTPS != b.Boot.HTTPS {
		t.Errorf("HTTPS after the API = %+v, want %+v", got.Boot.HTTPS, b.Boot.HTTPS)
	}
}

func checkFieldError(t *testing.T, err error, field, reason string) {
	t.Helper()
	if field == "" {
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	fes, _ := AsFieldErrors(err)
	for _, fe := range fes {
		if fe.Field() == field && strings.Contains(fe.Reason, reason) {
			return
		}
	}
	t.Fatalf("error %v, want one on %s containing %q", err, field, reason)
}
