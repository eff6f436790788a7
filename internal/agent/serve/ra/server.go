// Package ra is a Router Advertisement server for one interface: the router
// side of IPv6 Neighbor Discovery (RFC 4861 section 6.2), what radvd does.
// It tells clients whether to use DHCPv6 (M/O flags), which prefix is
// on-link and autonomous, and which DNS servers and search domains to use
// (RFC 8106).
package ra

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mdlayher/ndp"
	"golang.org/x/net/ipv6"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/link"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/serve/otherserver"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
)

// Config is what the server advertises, and where.
type Config struct {
	// Interface is the interface advertised on, as the agent resolved it
	// (link.Resolve) in the namespace the server runs in.
	Interface link.Interface
	Prefix    netip.Prefix
	RA        config.RouterAdvertisement
}

// Stats are the server's counters since Start.
type Stats struct {
	// RouterSolicitations counts valid Router Solicitations received.
	RouterSolicitations uint64
	// SolicitedAdvertisements counts advertisements sent in reply to
	// solicitations, unicast or multicast.
	SolicitedAdvertisements uint64
	// UnsolicitedAdvertisements counts periodic, initial, configuration
	// change and final advertisements.
	UnsolicitedAdvertisements uint64
	// ForeignAdvertisements counts advertisements from other routers on the
	// link; InconsistentAdvertisements those among them that contradict
	// ours (RFC 4861 6.2.7).
	ForeignAdvertisements      uint64
	InconsistentAdvertisements uint64
	// InvalidMessages counts received messages discarded by RFC 4861 6.1
	// validation.
	InvalidMessages uint64
	// ReceiveErrors and SendErrors count failed socket reads and writes.
	ReceiveErrors uint64
	SendErrors    uint64
}

// ErrStopped is returned by Apply after Stop or context cancellation.
var ErrStopped = errors.New("router advertisement server stopped")

var (
	allNodes   = netip.MustParseAddr("ff02::1")
	allRouters = netip.MustParseAddr("ff02::2")
)

// Server advertises on one interface until stopped.
type Server struct {
	logger        *slog.Logger
	cancel        context.CancelFunc
	done          <-chan struct{}
	changed       chan struct{}
	solicitations chan solicitation
	wg            sync.WaitGroup
	applyMu       sync.Mutex // serializes Apply calls

	mu      sync.Mutex // guards the fields below and every write to link.conn
	cfg     Config
	link    *ndpLink
	stopped bool

	stats  counters
	others *otherserver.Book
}

type counters struct {
	routerSolicitations, solicited, unsolicited atomic.Uint64
	foreign, inconsistent, invalid              atomic.Uint64
	receiveErrors, sendErrors                   atomic.Uint64
}

// ndpLink is the open socket on one interface. The interface's index, MAC
// and MTU are those it was opened with: sockets belong to the network
// namespace they were created in, and later lookups by name could see
// another one.
type ndpLink struct {
	conn *ndp.Conn
	ifi  *net.Interface
	addr netip.Addr // our link-local source address
	// forwardingOff is true when the kernel says IPv6 forwarding is off on
	// the interface, false when it is on or unknown.
	forwardingOff bool
}

type solicitation struct {
	link *ndpLink
	src  netip.Addr
}

// Start opens the ICMPv6 socket on cfg.Interface and starts advertising: an
// initial burst of unsolicited advertisements a few seconds apart, then one
// every random interval in [MinInterval, MaxInterval] to ff02::1, plus
// replies to Router Solicitations. All socket setup happens before Start
// returns. Cancelling ctx stops the server as Stop does, final advertisement
// included.
func Start(ctx context.Context, cfg Config, logger *slog.Logger) (*Server, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	l, err := openLink(cfg.Interface)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &Server{
		logger:        logger,
		cancel:        cancel,
		done:          ctx.Done(),
		changed:       make(chan struct{}, 1),
		solicitations: make(chan solicitation, 16),
		cfg:           cfg,
		link:          l,
		others:        otherserver.NewBook(logger.With("interface", l.ifi.Name)),
	}
	s.wg.Add(2)
	go s.receive(l)
	go s.run(ctx)
	s.logStarted("router advertisements started", l, cfg)
	return s, nil
}

// Apply changes what is advertised. The socket stays open unless the
// interface changes. Like a restart, it begins a new initial burst (RFC 4861
// 6.2.4), so one advertisement with the new configuration goes out at once,
// or within MIN_DELAY_BETWEEN_RAS (3 s) of the previous multicast one.
func (s *Server) Apply(cfg Config) error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()

	s.mu.Lock()
	stopped := s.stopped
	sameInterface := cfg.Interface.Name == s.cfg.Interface.Name && cfg.Interface.Index == s.cfg.Interface.Index
	s.mu.Unlock()
	if stopped {
		return ErrStopped
	}
	var next *ndpLink
	if !sameInterface {
		var err error
		if next, err = openLink(cfg.Interface); err != nil {
			return err
		}
	}

	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		if next != nil {
			_ = next.conn.Close()
		}
		return ErrStopped
	}
	if next != nil {
		// The old interface ceases to be an advertising interface (6.2.5).
		s.sendFinal(s.link, s.cfg)
		_ = s.link.conn.Close()
		s.link = next
		s.wg.Add(1)
		go s.receive(next)
	}
	s.cfg = cfg
	l := s.link
	s.mu.Unlock()

	select {
	case s.changed <- struct{}{}:
	default: // a restart is already pending
	}
	s.logStarted("router advertisement configuration applied", l, cfg)
	return nil
}

// Stop sends a final advertisement (see FinalAdvertisement) to ff02::1,
// closes the socket and waits for the server's goroutines. It is idempotent.
func (s *Server) Stop() {
	s.cancel()
	s.wg.Wait()
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	c := &s.stats
	return Stats{
		RouterSolicitations:        c.routerSolicitations.Load(),
		SolicitedAdvertisements:    c.solicited.Load(),
		UnsolicitedAdvertisements:  c.unsolicited.Load(),
		ForeignAdvertisements:      c.foreign.Load(),
		InconsistentAdvertisements: c.inconsistent.Load(),
		InvalidMessages:            c.invalid.Load(),
		ReceiveErrors:              c.receiveErrors.Load(),
		SendErrors:                 c.sendErrors.Load(),
	}
}

// openLink opens and configures the NDP socket on the interface.
func openLink(li link.Interface) (*ndpLink, error) {
	ifi, name := li.Net(), li.Name
	if ifi.Flags&net.FlagUp == 0 {
		return nil, fmt.Errorf("interface %q is down", name)
	}
	conn, addr, err := ndp.Listen(ifi, ndp.LinkLocal)
	if err != nil {
		return nil, fmt.Errorf("opening ICMPv6 socket on interface %q (it needs an IPv6 link-local address that has finished duplicate address detection): %w", name, err)
	}
	l := &ndpLink{conn: conn, ifi: ifi, addr: addr, forwardingOff: ipv6ForwardingOff(name)}
	if err := l.configure(); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("configuring ICMPv6 socket on interface %q: %w", name, err)
	}
	return l, nil
}

func (l *ndpLink) configure() error {
	// Solicitations go to all-routers (RFC 4861 6.2.2).
	if err := l.conn.JoinGroup(allRouters); err != nil {
		return fmt.Errorf("joining %s: %w", allRouters, err)
	}
	var f ipv6.ICMPFilter
	f.SetAll(true)
	f.Accept(ipv6.ICMPTypeRouterSolicitation)
	f.Accept(ipv6.ICMPTypeRouterAdvertisement)
	if err := l.conn.SetICMPFilter(&f); err != nil {
		return fmt.Errorf("setting ICMPv6 filter: %w", err)
	}
	// Validation needs each packet's hop limit (RFC 4861 6.1).
	if err := l.conn.SetControlMessage(ipv6.FlagHopLimit, true); err != nil {
		return fmt.Errorf("requesting hop limits: %w", err)
	}
	return nil
}

// ipv6ForwardingOff reads the interface's forwarding sysctl now, in the
// caller's network namespace. Errors count as "unknown", not "off".
func ipv6ForwardingOff(name string) bool {
	b, err := os.ReadFile("/proc/sys/net/ipv6/conf/" + name + "/forwarding")
	return err == nil && strings.TrimSpace(string(b)) == "0"
}

func (s *Server) logStarted(msg string, l *ndpLink, cfg Config) {
	s.logger.Info(msg,
		"interface", l.ifi.Name, "source", l.addr, "prefix", cfg.Prefix,
		"managed", cfg.RA.Managed, "other_config", cfg.RA.OtherConfig,
		"router_lifetime", cfg.RA.RouterLifetime, "rdnss", cfg.RA.RDNSS, "dnssl", cfg.RA.DNSSL)
	if cfg.RA.RouterLifetime > 0 && l.forwardingOff {
		// corerad refuses to advertise a default route then; we advertise
		// what was configured but say why off-link traffic will fail.
		s.logger.Warn("advertising a default route but IPv6 forwarding is off: clients' off-link traffic sent here is dropped",
			"interface", l.ifi.Name, "router_lifetime", cfg.RA.RouterLifetime)
	}
}

// run owns the schedule and sends every advertisement until ctx ends.
func (s *Server) run(ctx context.Context) {
	defer s.wg.Done()
	var sched schedule
	sched.restart(time.Now())
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		timer.Reset(time.Until(sched.next()))
		select {
		case <-ctx.Done():
			s.shutdown()
			return
		case rs := <-s.solicitations:
			if rs.link == s.currentLink() {
				sched.solicit(time.Now(), rs.src, rand.N(maxRADelayTime))
			}
		case <-s.changed:
			sched.restart(time.Now())
		case <-timer.C:
			unicast, multicast := sched.due(time.Now(), s.interval())
			for _, dst := range unicast {
				s.advertise(dst, true)
			}
			if multicast != noMulticast {
				s.advertise(allNodes, multicast == solicitedMulticast)
			}
		}
	}
}

func (s *Server) currentLink() *ndpLink {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.link
}

// interval picks the next unsolicited interval uniformly in
// [MinInterval, MaxInterval] (RFC 4861 6.2.4), never below the multicast
// rate limit even if a caller skipped config validation.
func (s *Server) interval() time.Duration {
	s.mu.Lock()
	lo, hi := s.cfg.RA.MinInterval, s.cfg.RA.MaxInterval
	s.mu.Unlock()
	d := lo
	if hi > lo {
		d += rand.N(hi - lo + 1)
	}
	return max(d, minDelayBetweenRAs)
}

func (s *Server) advertise(dst netip.Addr, solicited bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	l := s.link
	if err := l.conn.WriteTo(Advertisement(s.cfg, l.ifi.HardwareAddr, l.ifi.MTU), nil, dst); err != nil {
		s.stats.sendErrors.Add(1)
		s.logger.Warn("sending router advertisement failed", "interface", l.ifi.Name, "peer", dst, "solicited", solicited, "error", err)
		return
	}
	if solicited {
		s.stats.solicited.Add(1)
	} else {
		s.stats.unsolicited.Add(1)
	}
	s.logger.Debug("sent router advertisement", "interface", l.ifi.Name, "peer", dst, "solicited", solicited)
}

// sendFinal withdraws cfg from l's link; the caller holds s.mu.
func (s *Server) sendFinal(l *ndpLink, cfg Config) {
	if err := l.conn.WriteTo(FinalAdvertisement(cfg, l.ifi.HardwareAddr, l.ifi.MTU), nil, allNodes); err != nil {
		s.stats.sendErrors.Add(1)
		s.logger.Warn("sending final router advertisement failed", "interface", l.ifi.Name, "error", err)
		return
	}
	s.stats.unsolicited.Add(1)
	s.logger.Info("sent final router advertisement (router lifetime 0)", "interface", l.ifi.Name)
}

func (s *Server) shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	s.sendFinal(s.link, s.cfg)
	_ = s.link.conn.Close()
}

// receive reads l's socket until it is closed.
func (s *Server) receive(l *ndpLink) {
	defer s.wg.Done()
	buf := make([]byte, max(l.ifi.MTU, minLinkMTU))
	for {
		n, cm, src, err := l.conn.ReadRaw(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.stats.receiveErrors.Add(1)
			s.logger.Warn("receiving ICMPv6 failed", "interface", l.ifi.Name, "error", err)
			select {
			case <-s.done:
				return
			case <-time.After(time.Second):
			}
			continue
		}
		// The zone is always this interface; without it, "::" compares as
		// unspecified and replies key on the bare address.
		src = src.WithZone("")
		// Our own multicast advertisements loop back.
		if src == l.addr.WithZone("") {
			continue
		}
		hopLimit := 0
		if cm != nil {
			hopLimit = cm.HopLimit
		}
		s.handle(l, buf[:n], src, hopLimit)
	}
}

func (s *Server) handle(l *ndpLink, b []byte, src netip.Addr, hopLimit int) {
	msg, err := parseInbound(b, src, hopLimit)
	if err != nil {
		s.stats.invalid.Add(1)
		s.logger.Debug("discarded ICMPv6 message", "interface", l.ifi.Name, "peer", src, "reason", err)
		return
	}
	switch m := msg.(type) {
	case *ndp.RouterSolicitation:
		s.stats.routerSolicitations.Add(1)
		s.logger.Debug("received router solicitation", "interface", l.ifi.Name, "peer", src)
		select {
		case s.solicitations <- solicitation{link: l, src: src}:
		case <-s.done:
		}
	case *ndp.RouterAdvertisement:
		s.checkForeign(l, src, m)
	}
}

// checkForeign records another router on the link, what it advertises and
// what of it contradicts ours (RFC 4861 6.2.7 asks routers to log
// inconsistencies); the book warns once per router per hour.
func (s *Server) checkForeign(l *ndpLink, src netip.Addr, theirs *ndp.RouterAdvertisement) {
	s.stats.foreign.Add(1)
	s.mu.Lock()
	ours := Advertisement(s.cfg, l.ifi.HardwareAddr, l.ifi.MTU)
	s.mu.Unlock()
	sighting := otherserver.Sighting{
		Protocol:  otherserver.RouterAdvertisement,
		Source:    src,
		Offers:    offersOf(theirs),
		Conflicts: inconsistencies(ours, theirs),
	}
	if lla := sourceLinkLayerAddress(theirs.Options); lla != nil {
		sighting.LinkLayerAddress = lla.Addr.String()
	}
	if len(sighting.Conflicts) > 0 {
		s.stats.inconsistent.Add(1)
	}
	s.others.Note(sighting)
	s.logger.Debug("received router advertisement from another router", "interface", l.ifi.Name, "peer", src,
		"conflicts", len(sighting.Conflicts))
}

// OtherRouters lists the other routers heard on the link within the last
// otherserver.ForgetAfter.
func (s *Server) OtherRouters() []otherserver.Server { return s.others.Servers() }
