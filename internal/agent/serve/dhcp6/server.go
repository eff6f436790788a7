// Package dhcp6 is the DHCPv6 server (RFC 8415) of one boot server: in
// stateful mode it leases IA_NA addresses from the configured ranges, IA_TA
// temporary addresses from the temporary ranges and IA_PD prefixes from the
// prefix delegation pool; in both modes it answers Information-requests
// with DNS options, on one interface, for directly attached clients. When
// allowed, it answers RFC 5007 leasequeries by address and by client DUID,
// sent by unicast or multicast (leasequery.go).
//
// Clients on other links reach it through DHCPv6 relays (relay.go, RFC
// 8415 section 19): the innermost relay's link-address picks the link,
// among the configured relayed links, whose own pool and options serve the
// client; the reply goes back wrapped in one Relay-Reply per relay. A
// Relay-Forward naming no served link, or nested beyond the hop limit, is
// dropped and counted. A leasequery is answered from the link it names.
//
// Every message passes two token buckets first (ratelimit.go): one per
// source address, before the message is even parsed, and one per client
// DUID. What they refuse is dropped before any lease work, counted as
// rate limited, and logged at most once per client per rateLogInterval.
//
// In stateless mode a Solicit gets the Advertise RFC 8415 section 18.3.9
// requires when a server will assign no addresses: a NoAddrsAvail status
// and the two identifiers, nothing else. Clients ignore it (section 18.2.9)
// and fall back to Information-request, so firmware such as EDK2, which
// solicits even when the RA says stateless, learns quickly there is no
// address to wait for. A Request then gets IA_NAs with NoAddrsAvail.
//
// Clients whose Option Request option names the boot-file URL (option 59)
// get one chosen for them by bootfile.Select in every Advertise and Reply
// that carries configuration (boot.go): firmware an iPXE build over TFTP,
// iPXE its script over HTTP.
//
// A Reply that assigns or renews a lease is sent only once the lease is on
// disk, and one fsync serves many clients (group commit): the server waits
// for a datagram, takes whatever else is already queued on the socket (up
// to maxBatch), handles them in order, and stores their lease changes with
// one LeaseStore.PutLeases call. With store.Leases, each batch is one frame
// of the lease journal, fdatasynced before any Reply in it is sent. Under load (a read
// of overlapFrom datagrams or more) a committer goroutine stores a batch
// and sends its Replies while the datagrams arriving meanwhile are handled
// into the next batch, so each fsync covers every client that came during
// the one before. If storing fails,
// no Reply that depends on it is sent, the batch's new bindings are
// released and its renewals go back to their stored lifetimes, as do those
// of the batch handled meanwhile; the clients retransmit. Server.Leases
// lists a lease only once its batch is stored. Responses that store nothing
// (Advertise, Information-request and Confirm replies, Release and Decline
// replies, whose deletes are best effort as a stale record only keeps an
// address unused) are sent as soon as they are decided.
package dhcp6

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
	"golang.org/x/time/rate"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/histogram"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/link"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
)

// Config is what one DHCPv6 server serves, already validated by config.
type Config struct {
	// Interface is the served interface as the agent resolved it.
	Interface link.Interface
	Prefix    netip.Prefix
	DHCPv6    config.DHCPv6
	// Boot.Rules choose the boot-file URL (option 59) of clients that ask
	// for one; Boot.HTTPPort goes into http URLs of file rules.
	// Boot.ServerAddress is not read: ServerAddress is what counts.
	Boot config.Boot
	// ServerAddress is the host of the URLs of file rules, as the agent
	// resolved it (e.g. the interface's first global address). When it is
	// not a usable global IPv6 address, file rules send no option 59 (rules
	// with an absolute URL still do) and Start and Apply log a warning.
	ServerAddress netip.Addr
	// Reservations are the agent's machines' reserved addresses and
	// prefixes; each link (the direct one, every relayed one) serves the
	// addresses inside its prefix and the prefixes of the length it
	// delegates.
	Reservations []lease.Reservation
	// Machines are the agent's machines, by name: boot rules with labels
	// select the clients that are machines with those labels.
	Machines map[string]config.Machine

	// configOptions are the DNS options of every response, built once by
	// cloneConfig or newHandler (see configOptionsOf), and configWire
	// the same encoded.
	configOptions []dhcpv6.Option
	configWire    []encodedOption
	// machineIndex finds Machines by client, built by cloneConfig when a
	// boot rule selects by label (else empty: no client needs it).
	machineIndex lease.ClientIndex[*config.Machine]
}

// LeaseStore persists leases of this one boot server. PutLeases stores put
// and deletes the leases of del (deleting a missing one is no error); it
// must be atomic and durable when it returns, since the server sends the
// Replies announcing those leases only after it succeeds (store.Leases:
// one journal frame, fdatasynced). The server calls it from one goroutine
// at a time, once per batch of messages.
type LeaseStore interface {
	PutLeases(put []lease.Lease, del []netip.Addr) error
	Leases() ([]lease.Lease, error)
}

// expireInterval is how often ended leases are removed from storage.
const expireInterval = 30 * time.Second

// maxBatch bounds the datagrams read, handled and stored together. At a few
// thousand messages a second about a hundred arrive during one fsync; more
// wait in the socket's buffer for the next read.
const maxBatch = 128

// maxHeld bounds the Replies one batch holds while reads accumulate in it
// during a commit.
const maxHeld = 1024

// overlapFrom is Server.overlapFrom: a read of this many datagrams means
// they queued during the last commit, and overlapping pays.
const overlapFrom = 4

// maxDatagram is the longest datagram read whole, a jumbo frame. Client
// messages are a few hundred bytes; a longer one is counted malformed.
const maxDatagram = 9000

// packetConn is the server's socket as serve uses it; tests substitute one
// that records what is sent.
type packetConn interface {
	ReadBatch(ms []ipv6.Message, flags int) (int, error)
	WriteBatch(ms []ipv6.Message, flags int) (int, error)
}

// Server is a running DHCPv6 server.
type Server struct {
	link *serverLink
	conn packetConn
	// h serves the directly attached link; relayed, the links behind
	// relays (replaced whole by Apply).
	h       *handler
	relayed atomic.Pointer[[]*relayedLink]
	stats   counters
	// overlapFrom is the smallest read whose batch is stored by the
	// committer goroutine while the next is handled; smaller ones are
	// stored inline. Tests set 0 to always overlap.
	overlapFrom int
	// limits are used by the serving goroutine only; it makes them anew
	// when Apply changes dhcpv6.rate_limit.
	limits *limiters
	logger *slog.Logger
	now    func() time.Time
	// pacer spreads the responses out; see sendPaced.
	pacer *rate.Limiter
	// ifaceOOB is the control message of responses sent from the kernel's
	// choice of source address, made once.
	ifaceOOB []byte
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// Start opens the server's socket on cfg.Interface, loads the leases in
// store and serves until ctx is done or Stop is called. The socket is opened
// before Start returns, on the calling goroutine's thread, so a caller may
// run Start inside another network namespace (where it resolved
// cfg.Interface).
func Start(ctx context.Context, cfg Config, store LeaseStore, logger *slog.Logger) (*Server, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.DHCPv6.Mode == config.DHCPv6Off {
		return nil, fmt.Errorf("DHCPv6 on %s: mode is %q, nothing to serve", cfg.Interface.Name, cfg.DHCPv6.Mode)
	}
	cfg = cloneConfig(cfg)
	l, err := lookupLink(cfg.Interface)
	if err != nil {
		return nil, fmt.Errorf("starting DHCPv6 server: %w", err)
	}
	conn, err := listen(l.ifi)
	if err != nil {
		return nil, fmt.Errorf("starting DHCPv6 server: %w", err)
	}
	logger = logger.With("interface", l.ifi.Name)
	pool := lease.NewPool(spacesOf(cfg))
	pool.Exclude(l.ownAddrs...)
	s := &Server{link: l, conn: conn, logger: logger, now: time.Now, overlapFrom: overlapFrom, pacer: newPacer(),
		ifaceOOB: (&ipv6.ControlMessage{IfIndex: l.ifi.Index}).Marshal()}
	s.h = newHandler(l.duid, cfg, pool, store, logger)
	var stale batch
	if err := s.applyRelayedLinks(cfg, false); err != nil {
		conn.Close()
		return nil, fmt.Errorf("starting DHCPv6 server on %s: %w", l.ifi.Name, err)
	}
	if err := s.loadLeases(store, &stale); err != nil {
		conn.Close()
		return nil, fmt.Errorf("starting DHCPv6 server on %s: loading leases: %w", l.ifi.Name, err)
	}
	if err := s.h.persist(&stale); err != nil {
		// Only stale records stay; the next Start drops them again.
		logger.Warn("deleting leases that expired or lie outside the ranges from storage", "leases", len(stale.writes), "error", err)
	}
	ctx, s.cancel = context.WithCancel(ctx)
	s.wg.Go(func() {
		<-ctx.Done()
		conn.Close()
	})
	s.wg.Go(func() { s.serve(ctx) })
	// The index of leases by MAC, which loadLeases leaves: only name
	// lookups (ClientLeases) need it, and they finish it if they come first.
	s.wg.Go(func() {
		for h := range s.handlers() {
			h.pool.IndexHardware()
		}
	})
	logger.Info("DHCPv6 server started", append([]any{"server_duid", fmt.Sprintf("%x", l.duid.ToBytes()), "leases", pool.Count(s.now())}, configAttrs(cfg)...)...)
	warnBootAddr(logger, cfg)
	return s, nil
}

// Apply switches to a new configuration of the same interface: ranges,
// options and mode take effect with the next message. Leases stay; those
// outside the new ranges end at their next Renew or Rebind. A relayed link
// added gets the leases storage holds for its ranges; should reading them
// fail, Apply changes nothing.
func (s *Server) Apply(cfg Config) error {
	if cfg.Interface.Name != s.link.ifi.Name || cfg.Interface.Index != s.link.ifi.Index {
		return fmt.Errorf("moving the DHCPv6 server from %s to %s needs Stop and Start", s.link.ifi.Name, cfg.Interface.Name)
	}
	if cfg.DHCPv6.Mode == config.DHCPv6Off {
		return fmt.Errorf("DHCPv6 on %s: mode %q means Stop, not Apply", cfg.Interface.Name, cfg.DHCPv6.Mode)
	}
	cfg = cloneConfig(cfg)
	if err := s.applyRelayedLinks(cfg, true); err != nil {
		return fmt.Errorf("DHCPv6 on %s: %w", cfg.Interface.Name, err)
	}
	s.h.pool.Update(spacesOf(cfg))
	s.h.cfg.Store(&cfg)
	s.logger.Info("DHCPv6 configuration applied", configAttrs(cfg)...)
	warnBootAddr(s.logger, cfg)
	return nil
}

// spacesOf is what cfg leases, by kind, and how much of it one client may
// hold.
func spacesOf(cfg Config) lease.Spaces {
	return lease.Spaces{Addresses: cfg.DHCPv6.Ranges, Temporary: cfg.DHCPv6.TemporaryRanges, Prefixes: cfg.DHCPv6.PrefixDelegation,
		LeasesPerClient: cfg.DHCPv6.MaxLeasesPerClient, Reservations: reservationsIn(&cfg)}
}

// configAttrs are the log fields that sum up cfg.
func configAttrs(cfg Config) []any {
	attrs := []any{"mode", string(cfg.DHCPv6.Mode), "ranges", len(cfg.DHCPv6.Ranges), "temporary_ranges", len(cfg.DHCPv6.TemporaryRanges),
		"max_ias_per_message", cfg.DHCPv6.MaxIAsPerMessage, "max_leases_per_client", cfg.DHCPv6.MaxLeasesPerClient}
	if pd := cfg.DHCPv6.PrefixDelegation; pd != nil {
		attrs = append(attrs, "prefix_delegation", fmt.Sprintf("%s/%d-%s/%d", pd.Start, pd.Length, pd.End, pd.Length))
	}
	return append(attrs, "boot_rules", len(cfg.Boot.Rules), "boot_server_address", cfg.ServerAddress)
}

// warnBootAddr logs, once per Start or Apply, that file rules will send no
// boot-file URL because there is no address to put in it.
func warnBootAddr(logger *slog.Logger, cfg Config) {
	if !needsBootAddr(cfg.Boot.Rules) {
		return
	}
	if reason := bootAddrProblem(cfg.ServerAddress); reason != "" {
		logger.Warn("DHCPv6 clients matching boot rules with a file get no boot-file URL (option 59)", "reason", reason)
	}
}

// Stop closes the socket and waits for the server's goroutines. It may be
// called more than once.
func (s *Server) Stop() {
	s.cancel()
	s.wg.Wait()
}

// Leases returns the live leases of every kind and link sorted by address.
func (s *Server) Leases() []lease.Lease {
	now := s.now()
	if !s.hasRelayedLinks() {
		return s.h.pool.List(now)
	}
	var out []lease.Lease
	for h := range s.handlers() {
		out = append(out, h.pool.List(now)...)
	}
	slices.SortFunc(out, func(a, b lease.Lease) int { return a.Address.Compare(b.Address) })
	return out
}

// LeasesAfter returns the first limit live leases above after, by address,
// of every link (see lease.Pool.ListAfter).
func (s *Server) LeasesAfter(after netip.Addr, limit int) []lease.Lease {
	now := s.now()
	if !s.hasRelayedLinks() {
		return s.h.pool.ListAfter(after, limit, now)
	}
	var out []lease.Lease
	for h := range s.handlers() {
		out = append(out, h.pool.ListAfter(after, limit, now)...)
	}
	slices.SortFunc(out, func(a, b lease.Lease) int { return a.Address.Compare(b.Address) })
	if limit >= 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// LeaseAt returns the live lease of address a (IA_NA or IA_TA; a
// delegated prefix holding a is not a's lease), on any link.
func (s *Server) LeaseAt(a netip.Addr) (lease.Lease, bool) {
	now := s.now()
	for h := range s.handlers() {
		if l, ok := h.pool.LookupAddress(a, now); ok && l.Kind != lease.PD {
			return l, true
		}
	}
	return lease.Lease{}, false
}

// LiveLeases yields the live leases in no order, holding each link's pool
// lock in turn (see lease.Pool.Live).
func (s *Server) LiveLeases() iter.Seq[lease.Lease] {
	return func(yield func(lease.Lease) bool) {
		now := s.now()
		for h := range s.handlers() {
			for l := range h.pool.Live(now) {
				if !yield(l) {
					return
				}
			}
		}
	}
}

// LeasedAddress returns the live lease on address a, of any link, as
// storage holds it: what a DNS PTR query asks.
func (s *Server) LeasedAddress(a netip.Addr) (lease.Lease, bool) {
	now := s.now()
	for h := range s.handlers() {
		if l, ok := h.pool.LookupAddress(a, now); ok {
			return l, true
		}
	}
	return lease.Lease{}, false
}

// ClientLeases returns the live leases, of every link, of the clients with
// one of duids or showing one of macs as their hardware address (see
// lease.Pool.LookupHardware): one machine's, by its identifiers. Each
// lookup uses the pools' indexes, so its cost does not grow with the
// number of leases.
func (s *Server) ClientLeases(duids [][]byte, macs []string) []lease.Lease {
	now := s.now()
	var out []lease.Lease
	for h := range s.handlers() {
		for _, d := range duids {
			out = append(out, h.pool.LookupClient(d, now)...)
		}
		for _, m := range macs {
			out = append(out, h.pool.LookupHardware(m, now)...)
		}
	}
	slices.SortFunc(out, func(a, b lease.Lease) int { return a.Address.Compare(b.Address) })
	return slices.CompactFunc(out, func(a, b lease.Lease) bool { return a.Address == b.Address })
}

// leaseLoader is a LeaseStore that can hand over its leases one at a time
// (store.Leases), each a view valid during the call, so a million need not
// be held at once while loading.
type leaseLoader interface {
	Load(each func(lease.Lease) error) error
}

// loadLeases hands each stored lease to the pool of its link, and records
// in stale the deletion of those no pool takes (expired, or in no range).
// The pools' hardware address indexes are left to IndexHardware.
func (s *Server) loadLeases(store LeaseStore, stale *batch) error {
	now := s.now()
	loaders := map[*handler]*lease.Loader{}
	add := func(l lease.Lease) error {
		h := s.leaseHandler(l)
		ld := loaders[h]
		if ld == nil {
			ld = h.pool.Loader(now)
			loaders[h] = ld
		}
		ld.Add(l)
		return nil
	}
	var err error
	if loader, ok := store.(leaseLoader); ok {
		err = loader.Load(add)
	} else {
		var stored []lease.Lease
		stored, err = store.Leases()
		for _, l := range stored {
			_ = add(l)
		}
	}
	for _, ld := range loaders {
		stale.forget(ld.Done())
	}
	return err
}

// leaseHandler is the handler whose pool a stored lease belongs to: the
// relayed link whose ranges hold it, else the direct link's.
func (s *Server) leaseHandler(l lease.Lease) *handler {
	if cur := s.relayed.Load(); cur != nil {
		for _, rl := range *cur {
			if ownsLease(rl.h.cfg.Load(), l) {
				return rl.h
			}
		}
	}
	return s.h
}

// ServerDUID is the server's DUID-LL, built from the interface's hardware
// address, so it survives restarts (RFC 8415 section 11.4).
func (s *Server) ServerDUID() []byte { return s.link.duid.ToBytes() }

// Stats returns the message counters since Start.
func (s *Server) Stats() Stats { return s.stats.snapshot() }

func (s *Server) serve(ctx context.Context) {
	ms := newMessages()
	// Two batches take turns: while the committer stores one (and then
	// sends its Replies), this goroutine reads and handles the next, so
	// handling overlaps the fsync instead of waiting for it.
	var batches [2]batch
	cur := &batches[0]
	commits := make(chan *batch)
	results := make(chan error, 1)
	var committer sync.WaitGroup
	committer.Go(func() {
		for b := range commits {
			results <- s.commit(b)
		}
	})
	var pending *batch // with the committer, its result not yet taken
	defer func() {
		if pending != nil {
			<-results
		}
		close(commits)
		committer.Wait()
	}()
	nextExpiry := s.now().Add(expireInterval)
	// accumulating: a commit is pending and cur holds reads handled since;
	// while the committer is busy, more reads join cur, so the next commit
	// covers every client that arrived during the last one.
	accumulating := false
	for {
		// ReadBatch (recvmmsg) waits for one datagram, at most the
		// socket's receiveTimeout, and returns it with those queued
		// behind it.
		flags := unix.MSG_WAITFORONE
		if accumulating {
			flags = unix.MSG_DONTWAIT
		} else {
			cur.reset()
		}
		n, err := s.conn.ReadBatch(ms, flags)
		n = max(n, 0) // -1 with an error
		if now := s.now(); !accumulating && !now.Before(nextExpiry) {
			for h := range s.handlers() {
				cur.forget(h.pool.Expire(now))
			}
			nextExpiry = now.Add(expireInterval)
		}
		switch {
		case err == nil:
			s.handleBatch(ms[:n], cur)
			cur.reads += n
		case accumulating && errors.Is(err, unix.EAGAIN):
			// Nothing more queued.
		case errors.Is(err, unix.EINTR):
			// A signal (the Go runtime's, a profiler's) cut a waiting
			// read short: a blocking socket with a receive timeout is
			// not restarted. Nothing was read; read again at once.
		case ctx.Err() != nil || errors.Is(err, net.ErrClosed):
			return
		case errors.Is(err, os.ErrDeadlineExceeded):
		default:
			s.logger.Error("reading DHCPv6 socket", "error", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
		if pending != nil {
			var result error
			if n > 0 && len(cur.held) < maxHeld {
				select {
				case result = <-results:
				default:
					accumulating = true
					continue
				}
			} else {
				result = <-results
			}
			stored := pending
			pending, accumulating = nil, false
			// cur was handled on top of pending's bindings: if those could
			// not be stored, cur cannot be either.
			if result != nil {
				s.abandon(stored, result)
				s.abandon(cur, fmt.Errorf("an earlier batch was not stored: %w", result))
				continue
			}
		}
		if len(cur.writes) == 0 && len(cur.held) == 0 {
			continue
		}
		if cur.reads < s.overlapFrom {
			// Light load: handing a batch of a few datagrams to another
			// goroutine costs more than the overlap gains. Holding it open
			// for more Requests to share the sync costs more too: the
			// timed waits and extra reads outweigh the syncs saved.
			if err := s.commit(cur); err != nil {
				s.abandon(cur, err)
			}
			continue
		}
		commits <- cur
		pending = cur
		if cur == &batches[0] {
			cur = &batches[1]
		} else {
			cur = &batches[0]
		}
	}
}

// newMessages returns maxBatch receive slots for ReadBatch, each with room
// for a datagram and the control message naming its destination.
func newMessages() []ipv6.Message {
	oobLen := len(ipv6.NewControlMessage(ipv6.FlagDst | ipv6.FlagInterface))
	buf := make([]byte, maxBatch*maxDatagram)
	oob := make([]byte, maxBatch*oobLen)
	ms := make([]ipv6.Message, maxBatch)
	for i := range ms {
		ms[i].Buffers = [][]byte{buf[i*maxDatagram : (i+1)*maxDatagram : (i+1)*maxDatagram]}
		ms[i].OOB = oob[i*oobLen : (i+1)*oobLen : (i+1)*oobLen]
	}
	return ms
}

// response is a decided Advertise or Reply, encoded, waiting to be sent.
type response struct {
	wire []byte
	dst  *net.UDPAddr
	// src is the address a unicast message was sent to, which the
	// response comes from; nil lets the kernel choose (the link-local
	// address, for a client's link-local source).
	src  net.IP
	peer netip.Addr
	typ  dhcpv6.MessageType // of the client's message, for the counters
	// read is when the read that brought the client's message returned,
	// for the latency histogram.
	read time.Time
	// stored: the response announces leases in the batch, so it may be
	// sent only once the batch is committed.
	stored bool
}

// serveBatch handles the datagrams of one read and stores their lease
// changes before it returns: serve without the overlap, for tests.
func (s *Server) serveBatch(ms []ipv6.Message, b *batch) {
	b.reset()
	s.handleBatch(ms, b)
	if err := s.commit(b); err != nil {
		s.abandon(b, err)
	}
}

// handleBatch handles the datagrams of one read in order, sending at once
// the responses that announce no lease and holding the rest in b until b
// is stored.
func (s *Server) handleBatch(ms []ipv6.Message, b *batch) {
	read := time.Now()
	for i := range ms {
		r, ok := s.handleDatagram(&ms[i], b)
		r.read = read
		switch {
		case !ok:
		case r.stored:
			b.held = append(b.held, r)
		default:
			b.now = append(b.now, r)
		}
		if len(b.now) == sendEvery {
			s.sendNow(b)
		}
	}
	s.sendNow(b)
}

// sendEvery is how many responses that wait for no commit handleBatch
// gathers before it sends them: after a stall a read brings up to maxBatch
// datagrams, and the first client's Advertise need not wait for the
// other answers of the read to be decided. One sendmmsg still carries
// many.
const sendEvery = 16

// sendNow sends the responses b gathered that wait for no commit.
func (s *Server) sendNow(b *batch) {
	s.sendPaced(b.now, &b.out)
	clear(b.now)
	b.now = b.now[:0]
}

// commit stores b's lease changes, then sends the responses b held. It
// reads b and the store only, so it runs beside the handling of the next
// batch.
func (s *Server) commit(b *batch) error {
	if len(b.writes) > 0 {
		start := time.Now()
		err := s.h.persist(b)
		histogram.Latency.Observe(&s.stats.commit, int64(time.Since(start)))
		if err != nil {
			return err
		}
	}
	for h := range s.handlers() {
		h.stored(b)
	}
	s.sendPaced(b.held, &b.out)
	s.h.logStored(b)
	return nil
}

// abandon gives up a batch whose changes were not stored: its new bindings
// are released and the Replies it held are dropped, so the clients
// retransmit.
func (s *Server) abandon(b *batch, err error) {
	for h := range s.handlers() {
		h.abandon(b, err, s.now())
	}
	if len(b.held) > 0 {
		s.logger.Error("storing leases: withholding the Replies that announce them", "replies", len(b.held), "error", err)
	}
	for _, r := range b.held {
		s.stats.byType[r.typ].dropped.Add(1)
		s.stats.byType[r.typ].notStored.Add(1)
		s.logger.Error("dropping DHCPv6 message: its lease is not stored", "peer", r.peer, "msg_type", r.typ.String(), "error", err)
	}
}

// handleDatagram decides the response to one datagram, recording its lease
// changes in b; ok is false when there is none to send.
func (s *Server) handleDatagram(m *ipv6.Message, b *batch) (r response, ok bool) {
	udp, isUDP := m.Addr.(*net.UDPAddr)
	if !isUDP {
		return response{}, false
	}
	peer, _ := netip.AddrFromSlice(udp.IP)
	peer = peer.Unmap()
	data := m.Buffers[0][:m.N]
	defer func() {
		// A parser or handler bug must cost one message, not the server.
		if p := recover(); p != nil {
			s.stats.malformed.Add(1)
			s.logger.Error("panic while handling DHCPv6 message", "peer", peer, "panic", p, "message", fmt.Sprintf("%x", data))
			r, ok = response{}, false
		}
	}()
	if m.Flags&unix.MSG_TRUNC != 0 {
		s.stats.malformed.Add(1)
		s.logger.Debug("dropping DHCPv6 datagram longer than the receive buffer", "peer", peer, "max_bytes", maxDatagram)
		return response{}, false
	}
	now := s.now()
	limits := s.rateLimiters()
	// A flood from one address costs no parsing: the message type is the
	// first byte.
	// A relay's address is the source of every client behind it: its
	// Relay-Forwards pass a bucket per relay (allowRelay), and its clients
	// are limited by the client's own address, once unwrapped.
	if len(data) > 0 {
		typ := dhcpv6.MessageType(data[0])
		var allowed bool
		if typ == dhcpv6.MessageTypeRelayForward {
			allowed = s.allowRelay(limits, peer, now)
		} else {
			allowed = s.allowSource(limits, peer, typ, now)
		}
		if !allowed {
			s.stats.byType[typ].received.Add(1)
			return response{}, false
		}
	}
	parsed, ignored, err := parseDatagram(data)
	if err != nil {
		s.stats.malformed.Add(1)
		s.logger.Debug("dropping malformed DHCPv6 message", "peer", peer, "error", err)
		return response{}, false
	}
	counts := &s.stats.byType[parsed.Type()]
	counts.received.Add(1)
	if ignored != nil {
		s.logger.Debug("answering DHCPv6 message without an option it could not parse", "peer", peer, "msg_type", parsed.Type().String(), "reason", ignored)
	}
	h, clientPeer, typ := s.h, peer, parsed.Type()
	var relays []*dhcpv6.RelayMessage
	var relayedMAC net.HardwareAddr
	req, isMsg := parsed.(*dhcpv6.Message)
	if !isMsg {
		var rc relayedClient
		var ok bool
		if relays, req, h, rc, ok = s.unwrapDatagram(parsed.(*dhcpv6.RelayMessage), peer); !ok {
			return response{}, false
		}
		clientPeer, relayedMAC = rc.peer, rc.hwAddr
		if !s.allowSource(limits, clientPeer, typ, now) {
			return response{}, false
		}
	}
	if cid := req.GetOneOption(dhcpv6.OptionClientID); cid != nil {
		duid := cid.ToBytes()
		if v := limits.client.allow(duid, now); !v.ok {
			s.rateLimited(v, typ, "client", limits.cfg.PerClientPerSecond, limits.cfg.Burst, "peer", peer, "duid", hex.EncodeToString(duid))
			return response{}, false
		}
	}
	var cm ipv6.ControlMessage
	unicast := cm.Parse(m.OOB[:m.NN]) == nil && cm.Dst != nil && !cm.Dst.IsMulticast()
	var src net.IP
	if unicast {
		src = cm.Dst
	}
	if relays == nil && req.MessageType == dhcpv6.MessageTypeLeaseQuery {
		h = s.leasequeryHandler(req, now)
	}
	puts := b.puts
	// A relayed message counts as multicast (RFC 8415 section 18.4 is
	// about clients unicasting to the server, not relays).
	resp, err := h.handleFrom(b, req, clientPeer, relayedMAC, unicast && relays == nil, now)
	if err != nil {
		counts.dropped.Add(1)
		level := slog.LevelError
		if errors.Is(err, errDiscard) {
			level = slog.LevelDebug
			counts.refused.Add(1)
		} else {
			counts.failed.Add(1)
		}
		s.logger.Log(context.Background(), level, "dropping DHCPv6 message", "peer", peer, "client_peer", clientPeer, "msg_type", req.MessageType.String(), "error", err)
		return response{}, false
	}
	// Replies go to the client's source address (link-local, or a
	// leasequery requestor's) on this interface; the control message in
	// send names the interface, so no zone is needed. A relayed client's
	// goes to the relay that sent it, wrapped. Encoding now frees the
	// receive slot for the next read.
	dst := &net.UDPAddr{IP: udp.IP, Port: udp.Port}
	var wire dhcpv6.DHCPv6 = resp
	if relays != nil {
		wire = wrapReply(relays, resp)
		dst.Port = relayReplyPort(relays[0], udp.Port)
	}
	return response{
		wire:   encode(wire, h.serverIDWire[:], h.cfg.Load().configWire),
		dst:    dst,
		src:    src,
		peer:   peer,
		typ:    typ,
		stored: b.puts != puts,
	}, true
}

// allowSource is the per-source token bucket of a message of typ from
// source; it counts as dropped, and logs, what it refuses.
func (s *Server) allowSource(limits *limiters, source netip.Addr, typ dhcpv6.MessageType, now time.Time) bool {
	key := source.As16()
	v := limits.source.allow(key[:], now)
	if !v.ok {
		s.rateLimited(v, typ, "source", limits.cfg.PerSourcePerSecond, limits.cfg.PerSourceBurst, "peer", source)
	}
	return v.ok
}

// rateLimiters returns the rate-limit tables of the current configuration.
func (s *Server) rateLimiters() *limiters {
	if cfg := s.h.cfg.Load().DHCPv6.RateLimit; s.limits == nil || s.limits.cfg != cfg {
		s.limits = newLimiters(cfg)
	}
	return s.limits
}

// rateLimited counts a received message of typ dropped by the per-client
// or per-source bucket and logs it when v says to: at most once per
// rateLogInterval per client or source, so a flood cannot flood the log.
func (s *Server) rateLimited(v verdict, typ dhcpv6.MessageType, bucket string, perSecond, burst uint32, attrs ...any) {
	counts := &s.stats.byType[typ]
	counts.dropped.Add(1)
	counts.rateLimited.Add(1)
	if !v.log {
		return
	}
	attrs = append(attrs, "msg_type", typ.String(), "bucket", bucket, "per_second", perSecond, "burst", burst,
		"dropped", v.dropped, "log_interval", rateLogInterval)
	if v.overflow {
		s.logger.Warn("dropping DHCPv6 messages over the rate limit shared by new clients: too many clients are over their own limit", attrs...)
		return
	}
	s.logger.Warn("dropping DHCPv6 messages over the rate limit", attrs...)
}

// outbox is the scratch memory of sendAll, kept per batch so the serving
// goroutine and the committer each have their own.
type outbox struct {
	ms   []ipv6.Message
	bufs [][]byte
}

// sendAll sends rs with as few system calls as it can: sendmmsg takes
// them all at once, where a sendmsg each cost a fifth of the server's CPU
// at 12,000 exchanges a second. A response that cannot be sent is counted
// and logged, and the rest still go.
func (s *Server) sendAll(rs []response, out *outbox) {
	if len(rs) == 0 {
		return
	}
	out.ms, out.bufs = out.ms[:0], out.bufs[:0]
	for i := range rs {
		out.bufs = append(out.bufs, rs[i].wire)
		out.ms = append(out.ms, ipv6.Message{Buffers: out.bufs[i : i+1 : i+1], OOB: s.controlMessage(rs[i].src), Addr: rs[i].dst})
	}
	for sent := 0; sent < len(rs); {
		n, err := s.conn.WriteBatch(out.ms[sent:], 0)
		n = max(n, 0) // -1 with an error
		now := time.Now()
		for _, r := range rs[sent : sent+n] {
			t := &s.stats.byType[r.typ]
			t.replied.Add(1)
			histogram.Latency.Observe(&t.latency, int64(now.Sub(r.read)))
		}
		sent += n
		if err == nil && n > 0 || errors.Is(err, unix.EINTR) {
			// Sent some, or a signal cut the call short before it sent
			// any: send the rest.
			continue
		}
		if err == nil {
			err = errors.New("sendmmsg sent nothing")
		}
		// The kernel stops at the first message it refuses.
		r := rs[sent]
		s.stats.byType[r.typ].dropped.Add(1)
		s.stats.byType[r.typ].sendFailed.Add(1)
		s.logger.Warn("sending DHCPv6 response", "peer", r.peer, "msg_type", r.typ.String(), "error", err)
		sent++
	}
	clear(out.ms)
	clear(out.bufs)
}

// pacedChunk and pacedGap pace every response the server sends, Advertise
// or Reply: bursts of at most pacedChunk, and on average no more than one
// chunk per pacedGap (64 a millisecond, about three times the answers of
// 12,000 exchanges a second). Whenever the server falls behind (a slow
// fsync, a stretch without the CPU) it catches up in bursts of hundreds,
// and sent at once those overran the receiver's socket buffer (the default
// 208 KiB holds about 170 datagrams): in the DHCPv6 benchmark, perfdhcp's
// Udp6RcvbufErrors. At 12,000 exchanges a second, four runs each lost
// 94–226 answers with only the Replies paced, and 0–163 (two runs none)
// with the Advertises paced too.
const (
	pacedChunk = 32
	pacedGap   = 500 * time.Microsecond
)

// newPacer returns the token bucket that sendPaced draws from, shared by
// the serving goroutine (Advertises) and the committer (Replies).
func newPacer() *rate.Limiter {
	return rate.NewLimiter(rate.Every(pacedGap/pacedChunk), pacedChunk)
}

// sendPaced is sendAll in chunks of at most pacedChunk, each waiting for
// its share of s.pacer.
func (s *Server) sendPaced(rs []response, out *outbox) {
	for len(rs) > 0 {
		n := min(len(rs), pacedChunk)
		// WaitN fails only for n above the burst or a done context:
		// neither happens here.
		_ = s.pacer.WaitN(context.Background(), n)
		s.sendAll(rs[:n], out)
		rs = rs[n:]
	}
}

// controlMessage names the interface a response leaves by and, for the
// answer to a unicast message, the address it comes from.
func (s *Server) controlMessage(src net.IP) []byte {
	if src == nil && s.ifaceOOB != nil {
		return s.ifaceOOB
	}
	return (&ipv6.ControlMessage{IfIndex: s.link.ifi.Index, Src: src}).Marshal()
}

func cloneConfig(cfg Config) Config {
	cfg.DHCPv6.Ranges = slices.Clone(cfg.DHCPv6.Ranges)
	cfg.DHCPv6.TemporaryRanges = slices.Clone(cfg.DHCPv6.TemporaryRanges)
	if pd := cfg.DHCPv6.PrefixDelegation; pd != nil {
		clone := *pd
		cfg.DHCPv6.PrefixDelegation = &clone
	}
	cfg.DHCPv6.DNSServers = slices.Clone(cfg.DHCPv6.DNSServers)
	cfg.DHCPv6.DomainSearch = slices.Clone(cfg.DHCPv6.DomainSearch)
	cfg.Boot.Rules = slices.Clone(cfg.Boot.Rules)
	for i := range cfg.Boot.Rules {
		r := &cfg.Boot.Rules[i]
		r.Arch = slices.Clone(r.Arch)
		r.DUIDs = slices.Clone(r.DUIDs)
		r.MACs = slices.Clone(r.MACs)
		r.Labels = maps.Clone(r.Labels)
		r.Parameters = slices.Clone(r.Parameters)
	}
	cfg.machineIndex = machineIndexOf(cfg.Boot.Rules, cfg.Machines)
	cfg.configOptions = configOptionsOf(&cfg)
	cfg.configWire = encodedOptions(cfg.configOptions)
	return cfg
}
