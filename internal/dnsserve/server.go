// Package dnsserve answers DNS queries for the names the boot server owns,
// over UDP and TCP on one interface's addresses.
//
// A diskless client mounts its root over NFS by host name (the kernel's
// nfsroot and mount.nfs do not take every IPv6 literal), so the agent
// answers for that name and the client's resolver is pointed here (RDNSS
// in the RA). It is an authoritative responder for a fixed set of names, not
// a resolver: other names are REFUSED, so a client with a second DNS
// server moves on to it. See answer for the rules.
package dnsserve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/netbootlab/terraform-provider-netboot/internal/peerlimit"
)

// DefaultPort is the port the agent sets.
const DefaultPort = 53

// Config says what to answer and where. The agent validates it; Start and
// Apply only refuse what they cannot use.
type Config struct {
	// Interface is the interface served. It supplies the addresses when
	// Addresses is empty, and the zone of link-local addresses.
	Interface string
	// Addresses to bind. Empty means every global and unique-local IPv6
	// address Interface has at Start (or Apply).
	Addresses []netip.Addr
	// Port is the UDP and TCP port; 0 picks a free one (for tests), shared
	// by all addresses and both protocols. The agent sets DefaultPort.
	Port int
	// Records maps fully qualified names (any case, trailing dot optional)
	// to their addresses: IPv6 ones are served as AAAA, IPv4 ones as A. A
	// name with no addresses is owned but answers NODATA.
	Records map[string][]netip.Addr
}

// Stats are the server's counters since Start, by reply.
type Stats struct {
	// Queries counts messages received over UDP and TCP.
	Queries uint64
	// Answers counts NOERROR replies with records, NoData those without
	// (another type of an owned name).
	Answers uint64
	NoData  uint64
	// Refused counts queries for names not owned, or of a class other than
	// IN.
	Refused uint64
	// Errors counts FORMERR, NOTIMP and BADVERS replies.
	Errors uint64
	// Truncated counts UDP replies sent without records, with TC set,
	// because they did not fit.
	Truncated uint64
	// Dropped counts messages not answered: responses, and fragments
	// too short for a DNS header.
	Dropped uint64
}

// ErrStopped is returned by Apply after Stop or context cancellation.
var ErrStopped = errors.New("dns server stopped")

// Server answers DNS on one interface until stopped.
type Server struct {
	logger *slog.Logger
	zone   atomic.Pointer[zone]
	stats  counters
	// tcpConns counts open TCP connections, on all addresses together.
	tcpConns peerlimit.Counter
	done     chan struct{} // closed by Stop

	mu        sync.Mutex // guards the fields below; held for all of Apply and Stop
	iface     string
	port      int // as configured; 0 means "any free port"
	listeners []*listener
	stopped   bool
}

type counters struct {
	queries, answers, noData, refused, errors, truncated, dropped atomic.Uint64
}

// Start binds UDP and TCP on every address before it returns, so a port in
// use or a missing address is an error naming it, and serves until Stop or
// ctx is done.
func Start(ctx context.Context, cfg Config, logger *slog.Logger) (*Server, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("dns: port %d out of range", cfg.Port)
	}
	z, err := newZone(cfg.Records)
	if err != nil {
		return nil, err
	}
	addrs, err := bindAddrs(cfg.Interface, cfg.Addresses)
	if err != nil {
		return nil, fmt.Errorf("dns on %s: %w", cfg.Interface, err)
	}
	s := &Server{logger: logger, done: make(chan struct{}), iface: cfg.Interface, port: cfg.Port}
	s.zone.Store(&z)
	if s.listeners, err = s.listen(addrs, cfg.Port); err != nil {
		return nil, err
	}
	go func() {
		select {
		case <-ctx.Done():
			s.Stop()
		case <-s.done:
		}
	}()
	logger.Info("dns server started", "interface", cfg.Interface, "addresses", s.Addrs(), "names", z.names())
	return s, nil
}

// Apply swaps the records in place; sockets are rebound only when the
// addresses (as given, or as the interface has them now) or the port
// change, new ones before old ones close, so a failed bind changes nothing.
func (s *Server) Apply(cfg Config) error {
	if cfg.Port < 0 || cfg.Port > 65535 {
		return fmt.Errorf("dns: port %d out of range", cfg.Port)
	}
	z, err := newZone(cfg.Records)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return ErrStopped
	}
	addrs, err := bindAddrs(cfg.Interface, cfg.Addresses)
	if err != nil {
		return fmt.Errorf("dns on %s: %w", cfg.Interface, err)
	}
	var keep, drop []*listener
	for _, l := range s.listeners {
		samePort := cfg.Port == s.port || cfg.Port == int(l.addr.Port())
		if samePort && slices.Contains(addrs, l.addr.Addr()) {
			keep = append(keep, l)
		} else {
			drop = append(drop, l)
		}
	}
	var missing []netip.Addr
	for _, a := range addrs {
		if !slices.ContainsFunc(keep, func(l *listener) bool { return l.addr.Addr() == a }) {
			missing = append(missing, a)
		}
	}
	port := cfg.Port
	if port == 0 && len(keep) > 0 {
		port = int(keep[0].addr.Port())
	}
	added, err := s.listen(missing, port)
	if err != nil {
		return err
	}
	old := s.zone.Swap(&z)
	stopAll(drop)
	s.listeners = append(keep, added...)
	s.iface, s.port = cfg.Interface, cfg.Port
	if len(added) > 0 || len(drop) > 0 {
		s.logger.Info("dns server rebound", "interface", s.iface, "addresses", addrsOf(s.listeners))
	}
	if names := z.names(); !slices.Equal(names, old.names()) {
		s.logger.Info("dns names changed", "names", names)
	}
	return nil
}

// Stop closes every socket and TCP connection and waits for the goroutines
// serving them. It is safe to call more than once.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	s.stopped = true
	close(s.done)
	stopAll(s.listeners)
	s.logger.Info("dns server stopped", "interface", s.iface)
}

// Addrs returns the bound addresses with their port (the same for UDP and
// TCP); with Port 0 this is how a test learns the port.
func (s *Server) Addrs() []netip.AddrPort {
	s.mu.Lock()
	defer s.mu.Unlock()
	return addrsOf(s.listeners)
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	c := &s.stats
	return Stats{
		Queries:   c.queries.Load(),
		Answers:   c.answers.Load(),
		NoData:    c.noData.Load(),
		Refused:   c.refused.Load(),
		Errors:    c.errors.Load(),
		Truncated: c.truncated.Load(),
		Dropped:   c.dropped.Load(),
	}
}

// names lists the owned names, sorted, for logs.
func (z *zone) names() []string {
	out := make([]string, 0, len(*z))
	for n := range *z {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}
