// Package dnsserve answers DNS queries for the names the boot server owns,
// over UDP and TCP on the addresses it is given.
//
// A diskless client mounts its root over NFS by host name (the kernel's
// nfsroot and mount.nfs do not take every IPv6 literal), so the agent
// answers for that name and the client's resolver is pointed here (RDNSS
// in the RA). Machines get names too: AAAA for their reserved or leased
// addresses, and PTR in ip6.arpa for those addresses. It is an
// authoritative responder for those names, not a resolver: other names are
// REFUSED, so a client with a second DNS server moves on to it. See answer
// for the rules.
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
	"syscall"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/link"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/peerlimit"
)

// DefaultPort is the port the agent sets.
const DefaultPort = 53

// Config says what to answer and where. The agent validates it; Start and
// Apply only refuse what they cannot use.
type Config struct {
	// Addresses to bind (link.Link.ServeAddresses); a link-local one
	// carries its interface as zone.
	Addresses []netip.Addr
	// Port is the UDP and TCP port; 0 picks a free one (for tests), shared
	// by all addresses and both protocols. The agent sets DefaultPort.
	Port int
	// Records maps fully qualified names (any case, trailing dot optional)
	// to their addresses: IPv6 ones are served as AAAA, IPv4 ones as A. A
	// name with no addresses is owned but answers NODATA.
	Records map[string][]netip.Addr
	// Pointers maps IPv6 addresses (without zone) to the fully qualified
	// name a PTR query for the address in ip6.arpa gets (RFC 3596).
	Pointers map[netip.Addr]string
	// Dynamic answers, at query time, the names and addresses that follow
	// DHCPv6 leases; nil: none. Records and Pointers come first.
	Dynamic Resolver
}

// Resolver answers names and addresses that change between Applies. It is
// asked on every query that Records and Pointers do not answer, from the
// goroutines serving queries, so it must be quick and safe for concurrent
// use.
type Resolver interface {
	// Addresses returns the addresses of name (lowercase, with the
	// trailing dot); none means name is not owned, and is REFUSED.
	Addresses(name string) []netip.Addr
	// Name returns the fully qualified name of the IPv6 address a, or ""
	// for none.
	Name(a netip.Addr) string
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

// Server answers DNS on a set of addresses until stopped.
type Server struct {
	logger *slog.Logger
	zone   atomic.Pointer[zone]
	stats  counters
	// tcpConns counts open TCP connections, on all addresses together.
	tcpConns peerlimit.Counter
	done     chan struct{} // closed by Stop

	mu        sync.Mutex // guards the fields below; held for all of Apply and Stop
	listeners *link.Listeners[*listener]
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
	z, err := newZone(cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{logger: logger, done: make(chan struct{})}
	s.listeners = link.NewListeners(s.bind, (*listener).stop)
	s.zone.Store(&z)
	if _, err := s.listen(cfg, nil); err != nil {
		return nil, err
	}
	go func() {
		select {
		case <-ctx.Done():
			s.Stop()
		case <-s.done:
		}
	}()
	logger.Info("dns server started", "addresses", s.Addrs(), "names", z.sortedNames())
	return s, nil
}

// Apply swaps the records in place; sockets are rebound only when the
// addresses or the port change, new ones before old ones close, so a failed bind changes nothing.
func (s *Server) Apply(cfg Config) error {
	if cfg.Port < 0 || cfg.Port > 65535 {
		return fmt.Errorf("dns: port %d out of range", cfg.Port)
	}
	z, err := newZone(cfg)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return ErrStopped
	}
	var old *zone
	rebound, err := s.listen(cfg, func() { old = s.zone.Swap(&z) })
	if err != nil {
		return err
	}
	if rebound {
		s.logger.Info("dns server rebound", "addresses", s.listeners.Addrs())
	}
	if names := z.sortedNames(); !slices.Equal(names, old.sortedNames()) {
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
	s.listeners.Stop()
	s.logger.Info("dns server stopped")
}

// Addrs returns the bound addresses with their port (the same for UDP and
// TCP); with Port 0 this is how a test learns the port.
func (s *Server) Addrs() []netip.AddrPort {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listeners.Addrs()
}

// listen binds cfg's addresses (see link.Listeners.Bind). With port 0 it
// tries again when a picked port is free for UDP but not for TCP.
func (s *Server) listen(cfg Config, commit func()) (rebound bool, err error) {
	for try := 1; ; try++ {
		rebound, err = s.listeners.Bind(cfg.Addresses, cfg.Port, commit)
		if err == nil || cfg.Port != 0 || try == bindTries || !errors.Is(err, syscall.EADDRINUSE) {
			if err != nil {
				err = fmt.Errorf("dns: %w", err)
			}
			return rebound, err
		}
	}
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
func (z *zone) sortedNames() []string {
	out := make([]string, 0, len(z.names))
	for n := range z.names {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}
