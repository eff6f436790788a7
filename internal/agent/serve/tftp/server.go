// Package tftp serves boot loaders (undionly.kpxe, ipxe.efi, …) read-only
// over TFTP (RFC 1350, with the options of RFC 2347, 2348, 2349 and 7440:
// blksize, tsize, timeout, windowsize) on the addresses it is given, from
// an fs.FS.
//
// Requests arrive on the sockets bound at Start, one per address; each
// transfer then runs over a socket of its own (its TID), bound to the
// same address. Transfer sockets are opened later, from whichever thread
// runs the transfer, so the server serves the network namespace of its
// process: to serve another, run the process there (`ip netns exec`), as
// the tests do. See sender for why the data path is not pin/tftp's.
package tftp

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/histogram"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/link"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/peerlimit"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
)

// Defaults the agent fills in; a zero Config field other than Port means
// the matching default.
const (
	DefaultPort = 69
	// DefaultMaxBlockSize is what iPXE asks for. It fits an IPv6 packet in
	// a 1500-byte MTU (1500 - 40 IPv6 - 8 UDP - 4 TFTP = 1448) with room
	// to spare; RFC 2348's 1468 is an IPv4 figure and would fragment.
	DefaultMaxBlockSize = 1432
	// DefaultTimeout is how long a block waits for its ACK before it is
	// sent again; five tries are made.
	DefaultTimeout               = 2 * time.Second
	DefaultMaxTransfers          = config.DefaultTFTPMaxTransfers
	DefaultMaxTransfersPerClient = config.DefaultTFTPMaxTransfersPerClient
)

// Config says what to serve and where. The agent validates it; Start and
// Apply only refuse what they cannot use.
type Config struct {
	// Addresses to bind (link.Link.ServeAddresses); a link-local one
	// carries its interface as zone.
	Addresses []netip.Addr
	// MTU of the link served, which caps the block size; 0 when unknown.
	MTU int
	// Port is the UDP port to bind; 0 picks a free one (for tests), shared
	// by all addresses. The agent sets DefaultPort.
	Port int
	// Files is the tree served; names in requests are relative to its
	// root. When it has a method OpenFrom(client netip.Addr, name string)
	// (fs.File, error), every request opens its file through it with the
	// client's address, so what is served may depend on who asks; an
	// fs.ErrPermission error is then an access violation.
	Files fs.FS
	// MaxBlockSize caps blksize negotiation (RFC 2348). It is lowered to
	// what fits MTU.
	MaxBlockSize int
	// Timeout is the retransmission timeout per block.
	Timeout time.Duration
	// MaxTransfers caps concurrent transfers overall, and
	// MaxTransfersPerClient those to one client address (boot.tftp_max_*
	// in the API). A request beyond either gets an ERROR.
	MaxTransfers          int
	MaxTransfersPerClient int

	// sockets overrides defaultSockets; tests use it to run every
	// transfer on one kind of socket. Apply does not change it.
	sockets *socketPolicy
}

// Stats are the server's counters since Start.
type Stats struct {
	// Requests counts read and write requests that reached the server.
	Requests uint64
	// TransfersOK counts files sent completely; TransfersFailed requests
	// for an existing file that did not end so: the file could not be
	// read, the client went silent or sent an error, or the server stopped.
	TransfersOK     uint64
	TransfersFailed uint64
	// BytesSent counts file bytes sent, in failed transfers too.
	BytesSent uint64
	// Refusals, by reason: a file name that is not a clean relative path,
	// a file that does not exist or is not a regular file, a file for
	// another client (see Config.Files), a transfer limit reached, and
	// write requests (this server is read-only).
	RefusedBadPath  uint64
	RefusedNotFound uint64
	RefusedDenied   uint64
	RefusedBusy     uint64
	RefusedWrite    uint64
	// DroppedPackets counts datagrams discarded: malformed or oversized,
	// or an ACK, DATA or ERROR that belongs to no transfer.
	DroppedPackets uint64
	// TransferSeconds and TransferBytes are the duration and the bytes
	// sent of every transfer started, failed ones included.
	TransferSeconds histogram.Snapshot `help:"Duration of TFTP transfers, from the request to the last ACK or the failure."`
	TransferBytes   histogram.Snapshot `help:"File bytes sent per TFTP transfer, failed ones included."`
}

// ErrStopped is returned by Apply after Stop or context cancellation.
var ErrStopped = errors.New("tftp server stopped")

// Server serves TFTP read requests on a set of addresses until stopped.
type Server struct {
	logger   *slog.Logger
	settings atomic.Pointer[settings]
	limiter  peerlimit.Counter // transfers in flight
	stats    counters
	done     chan struct{} // closed by Stop
	sockets  socketPolicy

	mu        sync.Mutex // guards the fields below; held for all of Apply and Stop
	listeners *link.Listeners[*listener]
	stopped   bool
}

// settings are what a request needs, swapped whole by Apply.
type settings struct {
	files                 fs.FS
	blockSize             int // cap for blksize, fitted to the MTU
	timeout               time.Duration
	maxTransfers          int
	maxTransfersPerClient int
}

type counters struct {
	requests, ok, failed, bytes                     atomic.Uint64
	badPath, notFound, denied, busy, write, dropped atomic.Uint64

	transferTime, transferBytes histogram.Counts
}

// Start binds every address before it returns, so a port in use or a missing
// address is an error naming it, and serves until Stop or ctx is done.
func Start(ctx context.Context, cfg Config, logger *slog.Logger) (*Server, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg, err := withDefaults(cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{logger: logger, done: make(chan struct{}), sockets: defaultSockets()}
	if cfg.sockets != nil {
		s.sockets = *cfg.sockets
	}
	// A listener stopping gives its transfers the timeout in force.
	s.listeners = link.NewListeners(s.newListener, func(l *listener) { l.stop(s.settings.Load().timeout) })
	s.settings.Store(settingsOf(cfg))
	if _, err := s.listeners.Bind(cfg.Addresses, cfg.Port, nil); err != nil {
		return nil, fmt.Errorf("tftp: %w", err)
	}
	go func() {
		select {
		case <-ctx.Done():
			s.Stop()
		case <-s.done:
		}
	}()
	logger.Info("tftp server started", "addresses", s.Addrs(),
		"max_block_size", s.settings.Load().blockSize, "timeout", cfg.Timeout)
	return s, nil
}

// Apply swaps the files, block-size cap, timeout and limits in place;
// transfers in flight finish with what they started with. Sockets are
// rebound only when the addresses or the port change, new ones before old ones close, so a failed
// bind changes nothing.
func (s *Server) Apply(cfg Config) error {
	cfg, err := withDefaults(cfg)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return ErrStopped
	}
	// Old sockets close only once the new ones are bound, and the new
	// settings take effect only once nothing can fail any more.
	rebound, err := s.listeners.Bind(cfg.Addresses, cfg.Port, func() { s.settings.Store(settingsOf(cfg)) })
	if err != nil {
		return fmt.Errorf("tftp: %w", err)
	}
	if rebound {
		s.logger.Info("tftp server rebound", "addresses", s.listeners.Addrs())
	}
	return nil
}

// Stop closes every socket and waits for transfers in flight to end: each
// aborts at its next window of blocks, with an ERROR to the client; one
// whose client has gone silent is cut off after one Timeout. It is safe to call more than
// once.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	s.stopped = true
	close(s.done)
	s.listeners.Stop()
	s.logger.Info("tftp server stopped")
}

// Addrs returns the bound addresses with their ports; with Port 0 this is
// how a test learns the port.
func (s *Server) Addrs() []netip.AddrPort {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listeners.Addrs()
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	c := &s.stats
	return Stats{
		Requests:        c.requests.Load(),
		TransfersOK:     c.ok.Load(),
		TransfersFailed: c.failed.Load(),
		BytesSent:       c.bytes.Load(),
		RefusedBadPath:  c.badPath.Load(),
		RefusedNotFound: c.notFound.Load(),
		RefusedDenied:   c.denied.Load(),
		RefusedBusy:     c.busy.Load(),
		RefusedWrite:    c.write.Load(),
		DroppedPackets:  c.dropped.Load(),
		TransferSeconds: histogram.TransferTime.Snapshot(&c.transferTime),
		TransferBytes:   histogram.Bytes.Snapshot(&c.transferBytes),
	}
}

// socketPolicy picks the kind of socket a transfer gets (see
// transferConn) by how many transfers are in flight when it starts, never
// by the file's size: what a blocking wait costs depends on how many
// threads want a P at once, not on how long they keep wanting one.
type socketPolicy struct {
	// blocking is how many transfers in flight get a blocking socket.
	blocking int
}

// defaultSockets leaves all but one P to blocking transfers, so a thread
// woken by its ACK finds a P free and the poller keeps one for the rest.
// Counted per block (perf stat on the server): a lone transfer costs
// fewer system calls and less CPU blocking than polled, where each ACK
// also takes a recvfrom that finds nothing and an epoll_pwait. With many
// at once, blocking waits cost a sleep and a wake-up per block each,
// while on the poller most ACKs are already there when a running thread
// looks, short files and long alike.
func defaultSockets() socketPolicy {
	return socketPolicy{blocking: max(1, runtime.GOMAXPROCS(0)-1)}
}

// withDefaults fills zero fields and refuses values no server could use.
func withDefaults(cfg Config) (Config, error) {
	if cfg.Files == nil {
		return cfg, errors.New("tftp: no files to serve (Files is nil)")
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return cfg, fmt.Errorf("tftp: port %d out of range", cfg.Port)
	}
	if cfg.MaxBlockSize == 0 {
		cfg.MaxBlockSize = DefaultMaxBlockSize
	}
	if cfg.MaxBlockSize < 512 || cfg.MaxBlockSize > 65464 {
		return cfg, fmt.Errorf("tftp: block size %d outside 512..65464 (RFC 2348)", cfg.MaxBlockSize)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxTransfers == 0 {
		cfg.MaxTransfers = DefaultMaxTransfers
	}
	if cfg.MaxTransfersPerClient == 0 {
		cfg.MaxTransfersPerClient = DefaultMaxTransfersPerClient
	}
	if cfg.Timeout < 0 || cfg.MaxTransfers < 0 || cfg.MaxTransfersPerClient < 0 {
		return cfg, errors.New("tftp: negative timeout or transfer limit")
	}
	return cfg, nil
}

// blockSizeFor caps the configured block size to what fits the link's
// MTU in one IPv6 packet: MTU - 40 (IPv6) - 8 (UDP) - 4 (TFTP header).
func blockSizeFor(maxBlockSize, mtu int) int {
	if mtu > 0 {
		maxBlockSize = min(maxBlockSize, max(mtu-52, 512))
	}
	return maxBlockSize
}

func settingsOf(cfg Config) *settings {
	return &settings{
		files:                 cfg.Files,
		blockSize:             blockSizeFor(cfg.MaxBlockSize, cfg.MTU),
		timeout:               cfg.Timeout,
		maxTransfers:          cfg.MaxTransfers,
		maxTransfersPerClient: cfg.MaxTransfersPerClient,
	}
}
