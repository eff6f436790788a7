// Package nfsserve serves directories of the agent host to diskless clients
// over NFSv3 (RFC 1813) with its MOUNT protocol, on the addresses it is
// given.
//
// It wraps github.com/willscott/go-nfs, which answers MOUNT and NFS on the
// same TCP port: clients need no rpcbind, but must be told the port for
// both (`port=2049,mountport=2049`), and `nolock` (no NLM) and `noacl` (no
// NFS_ACL side protocol). A Linux client mounts an export with
//
//	mount -t nfs -o vers=3,proto=tcp6,port=2049,mountport=2049,mountproto=tcp6,nolock,noacl \
//	    '[2001:db8:1::1]:/roots/debian' /mnt
//
// Each export is one directory opened as an os.Root: every file operation
// stays beneath it, whatever names or symbolic links a client sends.
// Symbolic links are served as links, for the client to resolve against its
// own root, as NFS intends. A read-only export refuses every change with
// NFS3ERR_ROFS. File handles name an export and a path by hash, so they stay
// valid across Apply and across agent restarts: a diskless client whose
// root file system is mounted from here does not see ESTALE because the
// agent restarted. They follow renames while the server runs.
//
// Every RPC record is read whole and checked before go-nfs decodes it (see
// record.go): go-nfs allocates whatever lengths a request declares.
//
// Each request is checked against the owner, group and mode bits of the
// files it names, with the user and groups of its AUTH_SYS credential (other
// flavors act as nobody), as the kernel NFS server does; root is squashed to
// nobody unless the export says NoRootSquash (see access.go). What a call
// creates belongs to its caller, as on a local file system. AUTH_SYS
// proves nothing: any host that reaches the port can claim any user, so
// this keeps careless clients from files they should not read, not
// hostile ones.
package nfsserve

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/link"
)

// DefaultPort is the port the agent sets: NFS's well-known port, shared
// here by MOUNT.
const DefaultPort = 2049

// Export is one directory tree clients may mount.
type Export struct {
	// Path is what clients mount, e.g. "/roots/debian": absolute and clean.
	// A client must name it exactly; sub-directories are not mountable.
	Path string
	// Dir is the directory on the agent host served under Path.
	Dir string
	// ReadOnly refuses every change (NFS3ERR_ROFS).
	ReadOnly bool
	// NoRootSquash lets a client's root (user 0) act as root on the export,
	// as exportfs's no_root_squash does. Otherwise it acts as nobody
	// (65534), group 0 too, as with exportfs's default root_squash.
	NoRootSquash bool
}

// Config says what to serve and where. The agent validates it; Start and
// Apply only refuse what they cannot use.
type Config struct {
	// Addresses to bind (link.Link.ServeAddresses); a link-local one
	// carries its interface as zone.
	Addresses []netip.Addr
	// Port is the TCP port for both MOUNT and NFS; 0 picks a free one (for
	// tests), shared by all addresses. The agent sets DefaultPort.
	Port int
	// Exports are the trees served. None is valid: every mount is refused.
	Exports []Export
}

// Stats are the server's counters since Start.
type Stats struct {
	// Connections counts TCP connections accepted; ConnectionsRefused
	// those closed at once because maxConnections were open, and
	// ConnectionsIdleClosed those closed after idleTimeout without traffic.
	Connections           uint64
	ConnectionsRefused    uint64
	ConnectionsIdleClosed uint64
	// Mounts counts MOUNT requests granted, MountsRefused those naming no
	// export.
	Mounts        uint64
	MountsRefused uint64
	// MalformedRequests counts RPC records refused before go-nfs saw them
	// (in several fragments, over 1 MiB of arguments, or declaring more
	// bytes than they carry); each closes its connection.
	MalformedRequests uint64
	// StaleHandles counts file handles that named no current export or no
	// file it ever served (answered NFS3ERR_STALE).
	StaleHandles uint64
	// BytesRead and BytesWritten count file data read for and written by
	// clients.
	BytesRead    uint64
	BytesWritten uint64
}

// ErrStopped is returned by Apply after Stop or context cancellation.
var ErrStopped = errors.New("nfs server stopped")

// Server serves NFSv3 and MOUNT on a set of addresses until stopped.
type Server struct {
	logger  *slog.Logger
	exports atomic.Pointer[exportSet]
	stats   counters
	// openConns counts connections of all listeners, for maxConnections.
	openConns atomic.Int64
	done      chan struct{} // closed by Stop
	// writeVerifier is what WRITE and COMMIT answer: random for each Start,
	// so a client resends unstable writes after a restart, and the same on
	// every connection meanwhile.
	writeVerifier [8]byte

	mu        sync.Mutex // guards the fields below; held for all of Apply and Stop
	listeners *link.Listeners[*listener]
	stopped   bool
}

type counters struct {
	conns, connsRefused, connsIdle atomic.Uint64
	mounts, mountsRefused, stale   atomic.Uint64
	malformed                      atomic.Uint64
	bytesRead, bytesWritten        atomic.Uint64
}

// Start opens every export and binds every address before it returns, so a
// missing directory, a port in use or a missing address is an error naming
// it, and serves until Stop or ctx is done.
func Start(ctx context.Context, cfg Config, logger *slog.Logger) (*Server, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := validate(cfg); err != nil {
		return nil, err
	}
	s := &Server{logger: logger, done: make(chan struct{})}
	s.listeners = link.NewListeners(s.bind, (*listener).stop)
	if _, err := rand.Read(s.writeVerifier[:]); err != nil {
		return nil, fmt.Errorf("nfs: write verifier: %w", err)
	}
	set, err := openExports(cfg.Exports, nil, &s.stats)
	if err != nil {
		return nil, err
	}
	s.exports.Store(set)
	routeLibraryLogs(logger)
	if _, err := s.listeners.Bind(cfg.Addresses, cfg.Port, nil); err != nil {
		set.close()
		return nil, fmt.Errorf("nfs: %w", err)
	}
	go s.closeIdle(idleTimeout)
	go func() {
		select {
		case <-ctx.Done():
			s.Stop()
		case <-s.done:
		}
	}()
	logger.Info("nfs server started", "addresses", s.Addrs(), "exports", set.describe())
	return s, nil
}

// Apply swaps the exports in place and rebinds only when the addresses or
// the port change, new sockets
// before old ones close, so a failed bind or a missing directory changes
// nothing. Clients keep their mounts and file handles of exports that stay
// (same Path and Dir); those of removed exports get NFS3ERR_STALE. An
// export whose Dir was replaced on disk (another inode) is reopened.
func (s *Server) Apply(cfg Config) error {
	if err := validate(cfg); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return ErrStopped
	}
	old := s.exports.Load()
	next, err := openExports(cfg.Exports, old, &s.stats)
	if err != nil {
		return err
	}
	rebound, err := s.listeners.Bind(cfg.Addresses, cfg.Port, func() {
		s.exports.Store(next)
		old.closeExcept(next)
	})
	if err != nil {
		next.closeExcept(old)
		return fmt.Errorf("nfs: %w", err)
	}
	if rebound {
		s.logger.Info("nfs server rebound", "addresses", s.listeners.Addrs())
	}
	if d := next.describe(); !slices.Equal(d, old.describe()) {
		s.logger.Info("nfs exports changed", "exports", d)
	}
	return nil
}

// Stop closes every socket and every client connection; requests being
// answered at that moment end with their connection. It is safe to call
// more than once.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	s.stopped = true
	close(s.done)
	s.listeners.Stop()
	s.exports.Load().close()
	s.logger.Info("nfs server stopped")
}

// Addrs returns the bound addresses with their port; with Port 0 this is
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
		Connections:           c.conns.Load(),
		ConnectionsRefused:    c.connsRefused.Load(),
		ConnectionsIdleClosed: c.connsIdle.Load(),
		Mounts:                c.mounts.Load(),
		MountsRefused:         c.mountsRefused.Load(),
		MalformedRequests:     c.malformed.Load(),
		StaleHandles:          c.stale.Load(),
		BytesRead:             c.bytesRead.Load(),
		BytesWritten:          c.bytesWritten.Load(),
	}
}

// validate refuses what no server could serve. Directories are checked when
// they are opened.
func validate(cfg Config) error {
	if cfg.Port < 0 || cfg.Port > 65535 {
		return fmt.Errorf("nfs: port %d out of range", cfg.Port)
	}
	seen := make(map[string]bool, len(cfg.Exports))
	for _, e := range cfg.Exports {
		if !validExportPath(e.Path) {
			return fmt.Errorf("nfs: export path %q is not an absolute, clean path of at most %d bytes", e.Path, maxMountPath)
		}
		if seen[e.Path] {
			return fmt.Errorf("nfs: export path %q given twice", e.Path)
		}
		seen[e.Path] = true
		if e.Dir == "" {
			return fmt.Errorf("nfs: export %s has no directory", e.Path)
		}
	}
	return nil
}
