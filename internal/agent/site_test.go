package agent

import (
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/link"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/serve/httpboot"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/machineconfig"
	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/pki"
)

// The boot server's TFTP limits reach its TFTP server.
func TestTFTPConfigCarriesLimits(t *testing.T) {
	var c config.BootServer
	c.Boot = config.DefaultBoot()
	c.Boot.TFTPMaxTransfers, c.Boot.TFTPMaxTransfersPerClient = 100, 11
	got := (&site{}).tftpConfig(c)
	if got.MaxTransfers != 100 || got.MaxTransfersPerClient != 11 {
		t.Errorf("tftp.Config limits = %d, %d; want 100, 11", got.MaxTransfers, got.MaxTransfersPerClient)
	}
}

// A fake link lookup stands in for the host's interfaces: the site takes
// its boot address, serve addresses and MTU from what it returns.
func TestSiteResolvesLinkThroughLookup(t *testing.T) {
	var c config.BootServer
	c.Name, c.Interface, c.Prefix = "lab", "fake0", netip.MustParsePrefix("2001:db8:1::/64")
	c.Boot = config.DefaultBoot()
	ifi := link.Interface{Name: "fake0", Index: 7, MTU: 9000, Addrs: []link.Addr{
		{Addr: netip.MustParseAddr("fe80::1"), PrefixLen: 64, Permanent: true},
		{Addr: netip.MustParseAddr("2001:db8:9::1"), PrefixLen: 64, Permanent: true},
		{Addr: netip.MustParseAddr("2001:db8:1::1"), PrefixLen: 64, Permanent: true},
		{Addr: netip.MustParseAddr("2001:db8:1::abcd"), PrefixLen: 64},
	}}
	s := newSite(c, nil, slog.New(slog.DiscardHandler))
	s.lookup = func(name string) (link.Interface, error) {
		if name != "fake0" {
			t.Errorf("lookup(%q), want fake0", name)
		}
		return ifi, nil
	}
	s.resolveLink()
	if want := netip.MustParseAddr("2001:db8:1::1"); s.bootAddr != want {
		t.Errorf("boot address %v, want %v", s.bootAddr, want)
	}
	tc := s.tftpConfig(c)
	want := []netip.Addr{netip.MustParseAddr("2001:db8:1::1"), netip.MustParseAddr("2001:db8:9::1")}
	if !slices.Equal(tc.Addresses, want) || tc.MTU != 9000 {
		t.Errorf("tftp addresses %v MTU %d, want %v MTU 9000", tc.Addresses, tc.MTU, want)
	}
	want0 := machineconfig.Site{BootServer: "lab", HTTPBase: "http://[2001:db8:1::1]"}
	if got := s.scriptSite(); got != want0 {
		t.Errorf("script site %+v, want %+v", got, want0)
	}
	// HTTPS on a port of its own: its base carries the port.
	s.cfg.Boot.HTTPS = config.HTTPS{Enabled: true, Port: 8443}
	s.resolveLink()
	want0.HTTPSBase = "https://[2001:db8:1::1]:8443"
	if got := s.scriptSite(); got != want0 {
		t.Errorf("with HTTPS, script site %+v, want %+v", got, want0)
	}
}

// A serving site checks its HTTPS certificate every httpsCheckEvery, and
// says in the log when clients will refuse it.
func TestSiteWarnsOfAnHTTPSCertificateThatNoLongerFits(t *testing.T) {
	dir := t.TempDir()
	if err := pki.InitCA(dir, "boot CA", 48*time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := pki.Issue(dir, "other", pki.Request{Kind: pki.Server, CommonName: "other", Hosts: []string{"2001:db8:1::99"}, Validity: 48 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	certPEM, _ := os.ReadFile(filepath.Join(dir, "other.pem"))
	keyPEM, _ := os.ReadFile(filepath.Join(dir, "other-key.pem"))

	var c config.BootServer
	c.Name, c.Interface, c.Prefix = "lab", "fake0", netip.MustParsePrefix("2001:db8:1::/64")
	c.Boot = config.DefaultBoot()
	c.Boot.HTTPS = config.HTTPS{Enabled: true, Port: 443, CertificatePEM: string(certPEM), PrivateKeyPEM: string(keyPEM)}
	var logs testlab.SyncBuffer
	s := newSite(c, nil, slog.New(slog.NewTextHandler(&logs, nil)))
	s.lookup = func(string) (link.Interface, error) {
		return link.Interface{Name: "fake0", Index: 7, Addrs: []link.Addr{{Addr: netip.MustParseAddr("2001:db8:1::1"), PrefixLen: 64, Permanent: true}}}, nil
	}
	// Resolved once, so refresh sees no address change and starts nothing.
	if err := s.resolveLink(); err != nil {
		t.Fatal(err)
	}
	s.https = &httpboot.Server{} // serving, as far as refresh can tell
	s.httpsChecked = time.Now()
	s.refresh()
	if strings.Contains(logs.String(), "HTTPS clients will refuse") {
		t.Fatalf("checked again before httpsCheckEvery:\n%s", logs.String())
	}
	s.httpsChecked = time.Now().Add(-httpsCheckEvery)
	s.refresh()
	if !strings.Contains(logs.String(), "no subject alternative name for 2001:db8:1::1") {
		t.Errorf("no warning naming the boot address after httpsCheckEvery:\n%s", logs.String())
	}
}
