package agent

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/link"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/serve/dhcp6"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/serve/dhcp6probe"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/serve/dnsserve"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/serve/httpboot"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/serve/nfsserve"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/serve/otherserver"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/serve/ra"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/serve/tftp"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/bootfile"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/machineconfig"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/menu"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/eventkind"
)

// site is one boot server as it runs: its configuration and the protocol
// servers serving it. A site whose interface is missing keeps its config and
// reports why it is not serving; the agent retries it.
type site struct {
	cfg    config.BootServer
	leases leaseStore
	logger *slog.Logger
	// scripts are what TFTP and HTTP serve (servedFiles): the generated
	// scripts and configs over the artifacts; chain warns of a missing
	// file of the Secure Boot chain; claims holds back repeated warnings
	// of host script paths naming another machine (warnClaimed);
	// activity notes what machines fetched (nil: nothing is noted).
	scripts  *menu.FS
	chain    *chainWarnings
	claims   *repeatWarnings
	activity *machineActivity
	// attribution is what requests' source addresses are attributed to
	// machines with (publishAttribution).
	attribution atomic.Pointer[attribution]

	ra     *ra.Server
	dhcp   *dhcp6.Server
	tftp   *tftp.Server
	http   *httpboot.Server
	https  *httpboot.Server // the same files and handler as http, over TLS
	nfs    *nfsserve.Server
	dns    *dnsserve.Server
	images []nfsImage // NFS root images: exports and the DNS names nfsroot= uses
	// lookup resolves the interface; link.Resolve, or a fake in tests.
	lookup link.Lookup
	// link is the link served as last resolved, and bootAddr and
	// serveAddrs what the link package's address rules take from it.
	link       link.Link
	bootAddr   netip.Addr   // the address in boot URLs; invalid when there is none
	serveAddrs []netip.Addr // where TFTP, HTTP, NFS and DNS listen
	ctx        context.Context
	// siteURL is the name and URL bases rendered scripts and configs
	// carry; HTTP requests read it while the service may be changing the site.
	siteURL atomic.Pointer[machineconfig.Site]
	err     error // why the site is not serving, nil when it is

	// probe looks for other DHCPv6 servers on the link every
	// probeInterval; nil when that is 0 or its socket failed.
	probe         *dhcp6probe.Prober
	probeInterval time.Duration
	offline       *Offline // Options.Offline: start binds nothing
	// machines are the agent's machines, read whenever the DHCPv6 server
	// (their reserved addresses) or the DNS responder (their names) is
	// configured; nil: none.
	machines func() map[string]config.Machine

	// httpsChecked is when the HTTPS certificate was last checked against
	// the clock and the boot address (warnHTTPSCertificate).
	httpsChecked time.Time
}

// serverLogger is the site's logger for one of its servers, naming it so
// that its records that name no kind get the server's (componentKey).
func (s *site) serverLogger(component eventkind.Kind) *slog.Logger {
	return s.logger.With(componentKey, string(component))
}

// leaseStore keeps one boot server's leases: the state file's bucket
// (store.Leases) or the shared lease database (pglease.Leases).
type leaseStore interface {
	dhcp6.LeaseStore
	LeasesAfter(after netip.Addr, limit int) ([]lease.Lease, error)
}

func newSite(cfg config.BootServer, leases leaseStore, logger *slog.Logger) *site {
	return &site{cfg: cfg, leases: leases, lookup: link.Resolve, logger: logger.With("boot_server", cfg.Name)}
}

// scriptSite is what rendered scripts and configs say of this boot server:
// its name and its HTTP and HTTPS URL bases, e.g. "http://[2001:db8:1::1]";
// empty before the link was first resolved.
func (s *site) scriptSite() machineconfig.Site {
	if p := s.siteURL.Load(); p != nil {
		return *p
	}
	return machineconfig.Site{}
}

// start brings every protocol server up; on error nothing is left running.
func (s *site) start(ctx context.Context) (err error) {
	if err := s.resolveLink(); err != nil {
		return err
	}
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
	s.publishAttribution()
	s.syncProbe()
	if err := s.syncFileServers(); err != nil {
		return err
	}
	s.err = nil
	s.logger.Info("boot server serving", eventkind.Config.Attr(), "interface", s.cfg.Interface, "prefix", s.cfg.Prefix,
		"dhcpv6_mode", s.cfg.DHCPv6.Mode, "boot_address", s.bootAddr, "tftp", s.cfg.Boot.TFTP, "http", s.cfg.Boot.HTTP,
		"https", s.cfg.Boot.HTTPS.Enabled)
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
		s.logger.Error("restoring the previous configuration failed", eventkind.Agent.Attr(), "error", rerr)
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
	if err := s.resolveLink(); err != nil {
		return err
	}
	if err := s.ra.Apply(s.raConfig(next)); err != nil {
		return fmt.Errorf("updating router advertisements: %w", err)
	}
	var err error
	s.dhcp, err = toggle(s.dhcp, next.DHCPv6.Mode != config.DHCPv6Off,
		func() (*dhcp6.Server, error) {
			return dhcp6.Start(ctx, s.dhcpConfig(next), s.leases, s.serverLogger("dhcpv6"))
		},
		func(d *dhcp6.Server) error { return d.Apply(s.dhcpConfig(next)) })
	s.publishAttribution()
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
	cfg := dhcp6probe.Config{Interface: s.iface(), Interval: s.probeInterval}
	if s.dhcp != nil {
		cfg.OwnDUID = s.dhcp.ServerDUID()
	}
	if s.probe != nil {
		if err := s.probe.Apply(cfg); err != nil {
			s.logger.Warn("updating the DHCPv6 probe", eventkind.DHCPv6.Attr(), "error", err)
		}
		return
	}
	p, err := dhcp6probe.Start(s.ctx, cfg, s.serverLogger("dhcpv6"))
	if err != nil {
		s.logger.Warn("other DHCPv6 servers on this link go unnoticed: the probe did not start", eventkind.DHCPv6.Attr(), "interface", s.cfg.Interface, "error", err)
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
// operator's addresses (see link.Link.ServeAddresses); until the interface has one
// they wait, and refresh starts them when it appears.
func (s *site) syncFileServers() error {
	var err error
	haveAddrs := len(s.serveAddrs) > 0
	if (s.cfg.Boot.TFTP || s.cfg.Boot.HTTP || s.cfg.Boot.HTTPS.Enabled) && !haveAddrs {
		s.logger.Warn("TFTP and HTTP wait for a permanent global address on the interface (or set boot.server_address)", eventkind.Agent.Attr(), "interface", s.cfg.Interface)
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
	s.https, err = toggle(s.https, s.cfg.Boot.HTTPS.Enabled && haveAddrs,
		func() (*httpboot.Server, error) {
			cfg, err := s.httpsConfig(s.cfg)
			if err != nil {
				return nil, err
			}
			return httpboot.Start(s.ctx, cfg, s.serverLogger("http"))
		},
		func(h *httpboot.Server) error {
			cfg, err := s.httpsConfig(s.cfg)
			if err != nil {
				return err
			}
			return h.Apply(cfg)
		})
	if err != nil {
		return fmt.Errorf("HTTPS on %s port %d: %w", s.cfg.Interface, s.cfg.Boot.HTTPS.Port, err)
	}
	if s.https != nil {
		s.warnHTTPSCertificate()
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
	return s.syncDNS()
}

// syncDNS runs the DNS responder while it has names to answer: NFS root
// images' host names, or machines' names (MachineDNS).
func (s *site) syncDNS() error {
	haveAddrs := len(s.serveAddrs) > 0
	want := haveAddrs && (len(s.images) > 0 && s.bootAddr.IsValid() || s.cfg.MachineDNS)
	var err error
	s.dns, err = toggle(s.dns, want,
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
	cfg := nfsserve.Config{Addresses: s.serveAddrs, Port: nfsserve.DefaultPort}
	for _, img := range s.images {
		cfg.Exports = append(cfg.Exports, img.export)
	}
	return cfg
}

// dnsConfig answers the images' host names with the boot address, which is
// also the resolver the images' kernel arguments name.
func (s *site) dnsConfig() dnsserve.Config {
	cfg := dnsserve.Config{Addresses: s.serveAddrs, Port: dnsserve.DefaultPort, Records: map[string][]netip.Addr{}}
	for _, img := range s.images {
		cfg.Records[img.hostname] = []netip.Addr{s.bootAddr}
	}
	if s.cfg.MachineDNS && s.machines != nil {
		var leases clientLeases // nil, not a nil *dhcp6.Server: no names from leases
		if s.dhcp != nil {
			leases = s.dhcp
		}
		addMachineNames(&cfg, s.cfg, s.machines(), leases, s.logger)
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

// httpsCheckEvery is how often a serving site checks its HTTPS certificate,
// so one that expires while the agent runs is reported.
const httpsCheckEvery = time.Hour

// refresh follows address changes on a serving interface: a boot address
// configured after the server started, or a new global address to serve
// TFTP and HTTP on. It also checks the HTTPS certificate now and then.
func (s *site) refresh() {
	prevBoot, prevServe, prevMTU := s.bootAddr, s.serveAddrs, s.mtu()
	if err := s.resolveLink(); err != nil {
		s.logger.Debug("interface not resolved", "error", err)
		return
	}
	if s.https != nil && time.Since(s.httpsChecked) >= httpsCheckEvery {
		s.warnHTTPSCertificate()
	}
	if s.bootAddr == prevBoot && slices.Equal(s.serveAddrs, prevServe) && s.mtu() == prevMTU {
		return
	}
	s.logger.Info("interface addresses changed", eventkind.Agent.Attr(), "boot_address", s.bootAddr, "serving_on", s.serveAddrs)
	if s.dhcp != nil {
		if err := s.dhcp.Apply(s.dhcpConfig(s.cfg)); err != nil {
			s.logger.Warn("updating DHCPv6 boot address", eventkind.DHCPv6.Attr(), "error", err)
		}
	}
	if err := s.syncFileServers(); err != nil {
		s.logger.Warn("updating TFTP/HTTP addresses", eventkind.Agent.Attr(), "error", err)
	}
}

// resolveLink looks the interface up and takes the boot address and the
// serve addresses from it by the link package's rules. Every server of the
// site is configured from this one value. A missing interface is an error
// and changes nothing.
func (s *site) resolveLink() error {
	ifi, err := s.lookup(s.cfg.Interface)
	if err != nil {
		return err
	}
	l := link.Link{Prefix: s.cfg.Prefix, Interface: &ifi, ServiceAddress: s.cfg.Boot.ServerAddress}
	s.link = l
	s.bootAddr = l.BootAddress()
	s.serveAddrs = l.ServeAddresses()
	_, httpBase, httpsBase := s.urlBases()
	s.siteURL.Store(&machineconfig.Site{BootServer: s.cfg.Name, HTTPBase: httpBase, HTTPSBase: httpsBase})
	return nil
}

// iface is the served interface as last resolved; before that, only its
// name (its servers then fail to start, saying why).
func (s *site) iface() link.Interface {
	if s.link.Interface == nil {
		return link.Interface{Name: s.cfg.Interface}
	}
	return *s.link.Interface
}

// mtu is the served interface's MTU; 0 when unknown.
func (s *site) mtu() int { return s.iface().MTU }

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
	if s.https != nil {
		s.https.Stop()
		s.https = nil
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
	s.publishAttribution()
}

func (s *site) serving() bool { return s.ra != nil }

// urlBases are where this site's files are, for the status.
func (s *site) urlBases() (tftpBase, httpBase, httpsBase string) {
	if !s.bootAddr.IsValid() {
		return "", "", ""
	}
	server := bootfile.Server{Address: s.bootAddr, HTTPPort: s.cfg.Boot.HTTPPort, HTTPSPort: s.cfg.Boot.HTTPS.Port}
	if s.cfg.Boot.TFTP {
		tftpBase = bootfile.URLBase(bootfile.TFTP, server)
	}
	if s.cfg.Boot.HTTP {
		httpBase = bootfile.URLBase(bootfile.HTTP, server)
	}
	if s.cfg.Boot.HTTPS.Enabled {
		httpsBase = bootfile.URLBase(bootfile.HTTPS, server)
	}
	return tftpBase, httpBase, httpsBase
}

func (s *site) raConfig(c config.BootServer) ra.Config {
	return ra.Config{Interface: s.iface(), Prefix: c.Prefix, RA: c.RA}
}

func (s *site) dhcpConfig(c config.BootServer) dhcp6.Config {
	cfg := dhcp6.Config{Interface: s.iface(), Prefix: c.Prefix, DHCPv6: c.DHCPv6, Boot: c.Boot, ServerAddress: s.bootAddr}
	if s.machines != nil {
		cfg.Machines = s.machines()
		cfg.Reservations = reservationsOf(cfg.Machines)
	}
	return cfg
}

func (s *site) tftpConfig(c config.BootServer) tftp.Config {
	return tftp.Config{Addresses: s.serveAddrs, MTU: s.mtu(), Port: tftp.DefaultPort, Files: servedFiles{site: s, bootServer: c.Name, protocol: protocolTFTP},
		MaxTransfers: c.Boot.TFTPMaxTransfers, MaxTransfersPerClient: c.Boot.TFTPMaxTransfersPerClient}
}

func (s *site) httpConfig(c config.BootServer) httpboot.Config {
	return httpboot.Config{Addresses: s.serveAddrs, Port: c.Boot.HTTPPort, Files: servedFiles{site: s, bootServer: c.Name, protocol: protocolHTTP}}
}

// httpsConfig is httpConfig on HTTPS's port with the certificate. The
// pair passed validation; a failure here is reported, not served.
func (s *site) httpsConfig(c config.BootServer) (httpboot.Config, error) {
	pair, err := c.Boot.HTTPS.KeyPair()
	if err != nil {
		return httpboot.Config{}, err
	}
	cfg := s.httpConfig(c)
	cfg.Port, cfg.Certificate = c.Boot.HTTPS.Port, &pair
	cfg.Files = servedFiles{site: s, bootServer: c.Name, protocol: protocolHTTPS}
	return cfg, nil
}

// warnHTTPSCertificate says in the log when the certificate no longer fits:
// expired, or without the boot address the interface now has. Clients then
// refuse it, and HTTP still serves.
func (s *site) warnHTTPSCertificate() {
	s.httpsChecked = time.Now()
	if err := s.cfg.Boot.CheckHTTPSCertificate(time.Now(), s.bootAddr); err != nil {
		s.logger.Warn("HTTPS clients will refuse the certificate", eventkind.HTTP.Attr(), "error", err)
	}
}
