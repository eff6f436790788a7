package agent

import (
	"context"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/bootfile"
	"github.com/netbootlab/terraform-provider-netboot/internal/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/dhcp6"
	"github.com/netbootlab/terraform-provider-netboot/internal/dhcp6probe"
	"github.com/netbootlab/terraform-provider-netboot/internal/dnsserve"
	"github.com/netbootlab/terraform-provider-netboot/internal/httpboot"
	"github.com/netbootlab/terraform-provider-netboot/internal/nfsserve"
	"github.com/netbootlab/terraform-provider-netboot/internal/otherserver"
	"github.com/netbootlab/terraform-provider-netboot/internal/ra"
	"github.com/netbootlab/terraform-provider-netboot/internal/store"
	"github.com/netbootlab/terraform-provider-netboot/internal/tftp"
)

// site is one boot server as it runs: its configuration and the protocol
// servers serving it. A site whose interface is missing keeps its config and
// reports why it is not serving; the agent retries it.
type site struct {
	cfg    config.BootServer
	leases *store.Leases
	files  fs.FS // what TFTP and HTTP serve
	logger *slog.Logger

	ra         *ra.Server
	dhcp       *dhcp6.Server
	tftp       *tftp.Server
	http       *httpboot.Server
	nfs        *nfsserve.Server
	dns        *dnsserve.Server
	images     []nfsImage   // NFS root images: exports and the DNS names nfsroot= uses
	bootAddr   netip.Addr   // the address in boot URLs; invalid when there is none
	serveAddrs []netip.Addr // where TFTP and HTTP listen
	ctx        context.Context
	// httpURL is the HTTP base for rendered scripts; HTTP requests read it
	// while the service may be changing the site.
	httpURL atomic.Pointer[string]
	err     error // why the site is not serving, nil when it is

	// probe looks for other DHCPv6 servers on the link every
	// probeInterval; nil when that is 0 or its socket failed.
	probe         *dhcp6probe.Prober
	probeInterval time.Duration
	offline       *Offline // Options.Offline: start binds nothing
}

// serverLogger is the site's logger for one of its servers, naming it so
// that its events get the server's kind (componentKey).
func (s *site) serverLogger(component string) *slog.Logger {
	return s.logger.With(componentKey, component)
}

func newSite(cfg config.BootServer, leases *store.Leases, logger *slog.Logger) *site {
	return &site{cfg: cfg, leases: leases, logger: logger.With("boot_server", cfg.Name)}
}

// httpBase is the HTTP URL base scripts link to, e.g. "http://[2001:db8:1::1]".
func (s *site) httpBase() string {
	if p := s.httpURL.Load(); p != nil {
		return *p
	}
	return ""
}

// start brings every protocol server up; on error nothing is left running.
func (s *site) start(ctx context.Context) (err error) {
	s.resolveAddresses()
	if s.offline != nil {
		s.ctx, s.err = ctx, errOffline
		return nil
	}
	defer func() {
		if err != nil {
			s.stop()
		}
	}()
	if s.ra, err = ra.Start(ctx, s.raConfig(s.cfg), s.serverLogger("ra")); err != nil {
		return fmt.Errorf("starting router advertisements on %s: %w", s.cfg.Interface, err)
	}
	if s.cfg.DHCPv6.Mode != config.DHCPv6Off {
		if s.dhcp, err = dhcp6.Start(ctx, s.dhcpConfig(s.cfg), s.leases, s.serverLogger("dhcpv6")); err != nil {
			return fmt.Errorf("starting DHCPv6 on %s: %w", s.cfg.Interface, err)
		}
	}
	s.ctx = ctx
	s.syncProbe()
	if err := s.syncFileServers(); err != nil {
		return err
	}
	s.err = nil
	s.logger.Info("boot server serving", "interface", s.cfg.Interface, "prefix", s.cfg.Prefix,
		"dhcpv6_mode", s.cfg.DHCPv6.Mode, "boot_address", s.bootAddr, "tftp", s.cfg.Boot.TFTP, "http", s.cfg.Boot.HTTP)
	return nil
}

// apply moves a serving site to next in place. If any server refuses, the
// site goes back to the previous configuration as a whole, so it is never
// left half-applied.
func (s *site) apply(ctx context.Context, next config.BootServer) error {
	prev := s.cfg
	err := s.applyInPlace(ctx, next)
	if err == nil {
		s.cfg = next
		return nil
	}
	s.stop()
	s.cfg = prev
	if rerr := s.start(ctx); rerr != nil {
		s.err = rerr
		s.logger.Error("restoring the previous configuration failed", "error", rerr)
	}
	return err
}

func (s *site) applyInPlace(ctx context.Context, next config.BootServer) error {
	if s.ra == nil || next.Interface != s.cfg.Interface {
		s.stop()
		s.cfg = next
		return s.start(ctx)
	}
	s.cfg = next
	s.resolveAddresses()
	if err := s.ra.Apply(s.raConfig(next)); err != nil {
		return fmt.Errorf("updating router advertisements: %w", err)
	}
	var err error
	s.dhcp, err = toggle(s.dhcp, next.DHCPv6.Mode != config.DHCPv6Off,
		func() (*dhcp6.Server, error) {
			return dhcp6.Start(ctx, s.dhcpConfig(next), s.leases, s.serverLogger("dhcpv6"))
		},
		func(d *dhcp6.Server) error { return d.Apply(s.dhcpConfig(next)) })
	if err != nil {
		return fmt.Errorf("updating DHCPv6: %w", err)
	}
	s.syncProbe()
	return s.syncFileServers()
}

// syncProbe starts the DHCPv6 probe or tells it our server's current DUID.
// A probe that cannot start (port 546 taken by a DHCPv6 client on the
// agent host) leaves the site serving, with a warning.
func (s *site) syncProbe() {
	if s.probeInterval <= 0 {
		return
	}
	cfg := dhcp6probe.Config{Interface: s.cfg.Interface, Interval: s.probeInterval}
	if s.dhcp != nil {
		cfg.OwnDUID = s.dhcp.ServerDUID()
	}
	if s.probe != nil {
		if err := s.probe.Apply(cfg); err != nil {
			s.logger.Warn("updating the DHCPv6 probe", "error", err)
		}
		return
	}
	p, err := dhcp6probe.Start(s.ctx, cfg, s.serverLogger("dhcpv6"))
	if err != nil {
		s.logger.Warn("other DHCPv6 servers on this link go unnoticed: the probe did not start", "interface", s.cfg.Interface, "error", err)
		return
	}
	s.probe = p
}

// otherServers are the other routers and DHCPv6 servers heard on the link.
func (s *site) otherServers() []otherserver.Server {
	var out []otherserver.Server
	if s.ra != nil {
		out = append(out, s.ra.OtherRouters()...)
	}
	if s.probe != nil {
		out = append(out, s.probe.OtherServers()...)
	}
	return out
}

// syncFileServers starts, stops or rebinds TFTP and HTTP to match the
// configuration and the addresses they serve on. They serve only the
// operator's addresses (see resolveAddresses); until the interface has one
// they wait, and refresh starts them when it appears.
func (s *site) syncFileServers() error {
	var err error
	haveAddrs := len(s.serveAddrs) > 0
	if (s.cfg.Boot.TFTP || s.cfg.Boot.HTTP) && !haveAddrs {
		s.logger.Warn("TFTP and HTTP wait for a permanent global address on the interface (or set boot.server_address)", "interface", s.cfg.Interface)
	}
	s.tftp, err = toggle(s.tftp, s.cfg.Boot.TFTP && haveAddrs,
		func() (*tftp.Server, error) {
			return tftp.Start(s.ctx, s.tftpConfig(s.cfg), s.serverLogger("tftp"))
		},
		func(t *tftp.Server) error { return t.Apply(s.tftpConfig(s.cfg)) })
	if err != nil {
		return fmt.Errorf("TFTP on %s: %w", s.cfg.Interface, err)
	}
	s.http, err = toggle(s.http, s.cfg.Boot.HTTP && haveAddrs,
		func() (*httpboot.Server, error) {
			return httpboot.Start(s.ctx, s.httpConfig(s.cfg), s.serverLogger("http"))
		},
		func(h *httpboot.Server) error { return h.Apply(s.httpConfig(s.cfg)) })
	if err != nil {
		return fmt.Errorf("HTTP on %s port %d: %w", s.cfg.Interface, s.cfg.Boot.HTTPPort, err)
	}
	wantNFS := len(s.images) > 0 && haveAddrs && s.bootAddr.IsValid()
	s.nfs, err = toggle(s.nfs, wantNFS,
		func() (*nfsserve.Server, error) {
			return nfsserve.Start(s.ctx, s.nfsConfig(), s.serverLogger("nfs"))
		},
		func(n *nfsserve.Server) error { return n.Apply(s.nfsConfig()) })
	if err != nil {
		return fmt.Errorf("NFS on %s: %w", s.cfg.Interface, err)
	}
	s.dns, err = toggle(s.dns, wantNFS,
		func() (*dnsserve.Server, error) {
			return dnsserve.Start(s.ctx, s.dnsConfig(), s.serverLogger("dns"))
		},
		func(d *dnsserve.Server) error { return d.Apply(s.dnsConfig()) })
	if err != nil {
		return fmt.Errorf("DNS on %s: %w", s.cfg.Interface, err)
	}
	return nil
}

func (s *site) nfsConfig() nfsserve.Config {
	cfg := nfsserve.Config{Interface: s.cfg.Interface, Addresses: s.serveAddrs, Port: nfsserve.DefaultPort}
	for _, img := range s.images {
		cfg.Exports = append(cfg.Exports, img.export)
	}
	return cfg
}

// dnsConfig answers the images' host names with the boot address, which is
// also the resolver the images' kernel arguments name.
func (s *site) dnsConfig() dnsserve.Config {
	cfg := dnsserve.Config{Interface: s.cfg.Interface, Addresses: s.serveAddrs, Port: dnsserve.DefaultPort, Records: map[string][]netip.Addr{}}
	for _, img := range s.images {
		cfg.Records[img.hostname] = []netip.Addr{s.bootAddr}
	}
	return cfg
}

// stoppable is what every protocol server offers.
type stoppable interface{ Stop() }

// toggle starts, stops or reconfigures one server so it matches want.
func toggle[S stoppable](cur S, want bool, start func() (S, error), apply func(S) error) (S, error) {
	var none S
	running := any(cur) != any(none)
	switch {
	case want && !running:
		return start()
	case !want && running:
		cur.Stop()
		return none, nil
	case want:
		return cur, apply(cur)
	}
	return cur, nil
}

// refresh follows address changes on a serving interface: a boot address
// configured after the server started, or a new global address to serve
// TFTP and HTTP on.
func (s *site) refresh() {
	prevBoot, prevServe := s.bootAddr, s.serveAddrs
	s.resolveAddresses()
	if s.bootAddr == prevBoot && slices.Equal(s.serveAddrs, prevServe) {
		return
	}
	s.logger.Info("interface addresses changed", "boot_address", s.bootAddr, "serving_on", s.serveAddrs)
	if s.dhcp != nil {
		if err := s.dhcp.Apply(s.dhcpConfig(s.cfg)); err != nil {
			s.logger.Warn("updating DHCPv6 boot address", "error", err)
		}
	}
	if err := s.syncFileServers(); err != nil {
		s.logger.Warn("updating TFTP/HTTP addresses", "error", err)
	}
}

// resolveAddresses finds the boot address (the configured one, or the
// interface's first permanent global address inside the prefix) and the
// addresses TFTP and HTTP bind: the boot address when configured, else the
// permanent global ones. Autoconfigured addresses come and go (the host may
// even take one from our own RA), so nothing binds to them.
func (s *site) resolveAddresses() {
	permanent, err := s.offline.permanentGlobalAddresses(s.cfg.Interface)
	if err != nil {
		permanent = nil
	}
	s.bootAddr = s.cfg.Boot.ServerAddress
	s.serveAddrs = permanent
	if s.bootAddr.IsValid() {
		s.serveAddrs = []netip.Addr{s.bootAddr}
	}
	for _, a := range permanent {
		if !s.bootAddr.IsValid() && s.cfg.Prefix.Contains(a) {
			s.bootAddr = a
		}
	}
	_, httpBase := s.urlBases()
	s.httpURL.Store(&httpBase)
}

// stop ends serving; the RA server sends its final lifetime-0 advertisement.
func (s *site) stop() {
	if s.dns != nil {
		s.dns.Stop()
		s.dns = nil
	}
	if s.nfs != nil {
		s.nfs.Stop()
		s.nfs = nil
	}
	if s.http != nil {
		s.http.Stop()
		s.http = nil
	}
	if s.tftp != nil {
		s.tftp.Stop()
		s.tftp = nil
	}
	if s.probe != nil {
		s.probe.Stop()
		s.probe = nil
	}
	if s.dhcp != nil {
		s.dhcp.Stop()
		s.dhcp = nil
	}
	if s.ra != nil {
		s.ra.Stop()
		s.ra = nil
	}
}

func (s *site) serving() bool { return s.ra != nil }

// urlBases are where this site's files are, for the status.
func (s *site) urlBases() (tftpBase, httpBase string) {
	if !s.bootAddr.IsValid() {
		return "", ""
	}
	server := bootfile.Server{Address: s.bootAddr, HTTPPort: s.cfg.Boot.HTTPPort}
	if s.cfg.Boot.TFTP {
		tftpBase = bootfile.URLBase(bootfile.TFTP, server)
	}
	if s.cfg.Boot.HTTP {
		httpBase = bootfile.URLBase(bootfile.HTTP, server)
	}
	return tftpBase, httpBase
}

func (s *site) raConfig(c config.BootServer) ra.Config {
	return ra.Config{Interface: c.Interface, Prefix: c.Prefix, RA: c.RA}
}

func (s *site) dhcpConfig(c config.BootServer) dhcp6.Config {
	return dhcp6.Config{Interface: c.Interface, Prefix: c.Prefix, DHCPv6: c.DHCPv6, Boot: c.Boot, ServerAddress: s.bootAddr}
}

func (s *site) tftpConfig(c config.BootServer) tftp.Config {
	return tftp.Config{Interface: c.Interface, Addresses: s.serveAddrs, Port: tftp.DefaultPort, Files: s.files,
		MaxTransfers: c.Boot.TFTPMaxTransfers, MaxTransfersPerClient: c.Boot.TFTPMaxTransfersPerClient}
}

func (s *site) httpConfig(c config.BootServer) httpboot.Config {
	return httpboot.Config{Interface: c.Interface, Addresses: s.serveAddrs, Port: c.Boot.HTTPPort, Files: s.files}
}

// interfaceAddresses reads the interface's link-local and global addresses
// from /proc/net/if_inet6, which unlike net.Interface.Addrs carries flags:
// addresses the operator configured (permanent) come first, then ones the
// host autoconfigured (it may take a prefix from our own RA), and temporary
// privacy addresses are left out: clients must be able to reach the server at
// the first address for years, not hours.
func interfaceAddresses(name string) (linkLocal netip.Addr, global []netip.Addr, err error) {
	if _, err := net.InterfaceByName(name); err != nil {
		return netip.Addr{}, nil, err
	}
	data, err := os.ReadFile("/proc/net/if_inet6")
	if err != nil {
		return netip.Addr{}, nil, err
	}
	addrs := parseIfInet6(data, name)
	for _, a := range addrs {
		if a.addr.IsLinkLocalUnicast() {
			linkLocal = a.addr
		}
	}
	slices.SortStableFunc(addrs, func(a, b ifAddr) int {
		if a.permanent != b.permanent {
			if a.permanent {
				return -1
			}
			return 1
		}
		return a.addr.Compare(b.addr)
	})
	for _, a := range addrs {
		if a.addr.IsGlobalUnicast() && !a.addr.IsLinkLocalUnicast() && !a.temporary {
			global = append(global, a.addr)
		}
	}
	return linkLocal, global, nil
}

// permanentGlobalAddresses are the global addresses the operator configured
// on the interface, sorted.
func permanentGlobalAddresses(name string) ([]netip.Addr, error) {
	data, err := os.ReadFile("/proc/net/if_inet6")
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, a := range parseIfInet6(data, name) {
		if a.permanent && a.addr.IsGlobalUnicast() && !a.addr.IsLinkLocalUnicast() {
			out = append(out, a.addr)
		}
	}
	slices.SortFunc(out, func(a, b netip.Addr) int { return a.Compare(b) })
	return out, nil
}

type ifAddr struct {
	addr                 netip.Addr
	permanent, temporary bool
}

// Flags from linux/if_addr.h.
const (
	ifaFlagTemporary = 0x01
	ifaFlagPermanent = 0x80
)

// parseIfInet6 reads lines like
// "20010db8000100000000000000000001 03 40 00 80 eth0" (address, index,
// prefix length, scope, flags, name) for one interface.
func parseIfInet6(data []byte, name string) []ifAddr {
	var out []ifAddr
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) != 6 || f[5] != name || len(f[0]) != 32 {
			continue
		}
		raw, err := hex.DecodeString(f[0])
		if err != nil {
			continue
		}
		flags, err := strconv.ParseUint(f[4], 16, 32)
		if err != nil {
			continue
		}
		out = append(out, ifAddr{
			addr:      netip.AddrFrom16([16]byte(raw)),
			permanent: flags&ifaFlagPermanent != 0,
			temporary: flags&ifaFlagTemporary != 0,
		})
	}
	return out
}

// interfaceExists explains a missing interface with the ones that exist.
func interfaceExists(name string) error {
	if _, err := net.InterfaceByName(name); err == nil {
		return nil
	}
	ifaces, _ := net.Interfaces()
	var names []string
	for _, ifi := range ifaces {
		names = append(names, ifi.Name)
	}
	return fmt.Errorf("interface %q does not exist on the agent host (it has: %v); create it or set interface to one of those", name, names)
}
