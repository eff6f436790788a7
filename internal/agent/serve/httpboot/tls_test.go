package httpboot

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/wire/pki"
)

// testPKI is a CA in a temporary directory that issues server
// certificates for ::1.
type testPKI struct {
	dir  string
	pool *x509.CertPool
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	dir := t.TempDir()
	if err := pki.InitCA(dir, "test CA", 48*time.Hour); err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, pki.CACertFile))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &testPKI{dir: dir, pool: pool}
}

func (p *testPKI) issue(t *testing.T, name string) *tls.Certificate {
	t.Helper()
	if err := pki.Issue(p.dir, name, pki.Request{Kind: pki.Server, CommonName: name, Hosts: []string{"::1"}, Validity: 48 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(filepath.Join(p.dir, name+".pem"), filepath.Join(p.dir, name+"-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return &pair
}

// TestHTTPS: the same handler over TLS, TLS 1.2 at least, the certificate
// swapped by Apply for the next handshake, and the scheme in every log line.
func TestHTTPS(t *testing.T) {
	ca := newTestPKI(t)
	files := fstest.MapFS{"vmlinuz": {Data: []byte("kernel"), ModTime: modTime}}
	s, logs := startLoopback(t, Config{Files: files, Certificate: ca.issue(t, "first")})
	url := "https://" + s.Addrs()[0].String() + "/vmlinuz"

	fetch := func(cfg *tls.Config) (string, string, error) {
		tr := &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(url)
		if err != nil {
			return "", "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return string(body), resp.TLS.PeerCertificates[0].Subject.CommonName, err
	}
	body, cn, err := fetch(&tls.Config{RootCAs: ca.pool})
	if err != nil || body != "kernel" || cn != "first" {
		t.Fatalf("GET over HTTPS = %q from %q, %v; want \"kernel\" from \"first\"", body, cn, err)
	}
	if _, _, err := fetch(&tls.Config{}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("GET without the CA: %v, want a certificate verification error", err)
	}
	if _, _, err := fetch(&tls.Config{RootCAs: ca.pool, MaxVersion: tls.VersionTLS11, MinVersion: tls.VersionTLS10}); err == nil {
		t.Error("a TLS 1.1 client was served")
	}
	// net/http answers plain HTTP on a TLS port with a 400 and no file.
	if resp, err := http.Get("http://" + s.Addrs()[0].String() + "/vmlinuz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP on the HTTPS port: %s, want 400", resp.Status)
		}
	}

	if err := s.Apply(Config{Addresses: []netip.Addr{loopback}, Port: int(s.Addrs()[0].Port()), Files: files, Certificate: ca.issue(t, "second")}); err != nil {
		t.Fatal(err)
	}
	if _, cn, err := fetch(&tls.Config{RootCAs: ca.pool}); err != nil || cn != "second" {
		t.Errorf("after Apply, the server presented %q (%v), want \"second\"", cn, err)
	}
	if err := s.Apply(Config{Addresses: []netip.Addr{loopback}, Port: int(s.Addrs()[0].Port()), Files: files}); err == nil ||
		!strings.Contains(err.Error(), "between HTTP and HTTPS") {
		t.Errorf("Apply without a certificate: %v, want a refusal", err)
	}
	if !strings.Contains(logs.String(), `msg="http request" scheme=https`) {
		t.Errorf("log has no scheme=https:\n%s", logs)
	}
	if got := s.Stats(); got.OK != 2 {
		t.Errorf("stats %+v, want 2 OK (the refused handshakes are no requests)", got)
	}
}

// A client failing handshakes in a loop gets a few warnings, then one
// saying how many were left out.
func TestHandshakeFailuresLogRateLimited(t *testing.T) {
	ca := newTestPKI(t)
	s, logs := startLoopback(t, Config{Files: fstest.MapFS{}, Certificate: ca.issue(t, "lab")})
	addr := s.Addrs()[0].String()
	for range errorLogBurst + 20 {
		conn, err := tls.Dial("tcp", addr, &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
		if err == nil {
			conn.Close()
		}
	}
	// The server logs after the client gave up: wait for the last one.
	time.Sleep(200 * time.Millisecond)
	if n := strings.Count(logs.String(), "TLS handshake error"); n < 1 || n > errorLogBurst+1 {
		t.Errorf("%d handshake warnings logged, want 1 to %d:\n%s", n, errorLogBurst+1, logs)
	}
	time.Sleep(errorLogEvery)
	if _, err := tls.Dial("tcp", addr, &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}); err == nil {
		t.Fatal("a TLS 1.1 handshake succeeded")
	}
	waitFor(t, func() bool { return strings.Contains(logs.String(), "not_logged_since=") })
}
