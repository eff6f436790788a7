// Package httpboot serves iPXE scripts, kernels and initrds over HTTP, or
// HTTPS with a Certificate, on the addresses it is given, read-only, from an
// fs.FS: GET and HEAD with Range and conditional requests
// (http.ServeContent), no directory listings, and a cap on concurrent
// requests so a boot storm gets 503 + Retry-After (iPXE retries) instead of
// starving every client. An HTTP and an HTTPS server of the same files are
// two Servers with the same handler.
package httpboot

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/histogram"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/link"
)

// Defaults the agent fills in; a zero MaxConcurrent means the default.
const (
	DefaultPort          = 80
	DefaultMaxConcurrent = 64
)

// stopGrace is how long Stop and a rebind let requests in flight finish
// before their connections are closed.
const stopGrace = 5 * time.Second

// Config says what to serve and where. The agent validates it; Start and
// Apply only refuse what they cannot use.
type Config struct {
	// Addresses to bind (link.Link.ServeAddresses); a link-local one
	// carries its interface as zone.
	Addresses []netip.Addr
	// Port is the TCP port to bind; 0 picks a free one (for tests), shared
	// by all addresses. The agent sets DefaultPort.
	Port int
	// Files is the tree served; URL paths are relative to its root. When
	// it has a method OpenFrom(client netip.Addr, name string) (fs.File,
	// error), every request opens its file through it with the request's
	// source address, so what is served may depend on who asks; an
	// fs.ErrPermission error is then a 403.
	Files fs.FS
	// MaxConcurrent caps requests in progress; more get 503 with
	// Retry-After.
	MaxConcurrent int
	// Certificate, when set, makes the server speak HTTPS (TLS 1.2 and
	// later) with it instead of HTTP. Apply swaps it for new handshakes;
	// a server cannot change between HTTP and HTTPS.
	Certificate *tls.Certificate
}

// Stats are the server's counters since Start, by response status.
type Stats struct {
	Requests uint64
	// OK counts 2xx and 3xx responses (200, 206, 304).
	OK uint64
	// NotFound counts 404s: missing files, directories and the root.
	NotFound uint64
	// BadRequests counts other 4xx: a path that is not a clean relative
	// path (400), a method other than GET or HEAD (405), an unsatisfiable
	// range (416).
	BadRequests uint64
	// Busy counts 503s sent because MaxConcurrent requests were running.
	Busy uint64
	// Errors counts other 5xx: a file that could not be opened or read.
	Errors uint64
	// BytesSent counts body bytes written.
	BytesSent uint64
	// ResponseSeconds and ResponseBytes are the duration and body bytes of
	// the responses that sent a file (status below 400).
	ResponseSeconds histogram.Snapshot `help:"Duration of HTTP boot responses that sent a file (status below 400), by scheme."`
	ResponseBytes   histogram.Snapshot `help:"Body bytes of HTTP boot responses that sent a file (status below 400), by scheme."`
}

// ErrStopped is returned by Apply after Stop or context cancellation.
var ErrStopped = errors.New("http boot server stopped")

// Server serves HTTP on a set of addresses until stopped.
type Server struct {
	logger   *slog.Logger
	settings atomic.Pointer[settings]
	active   atomic.Int64 // requests in progress, for MaxConcurrent
	stats    counters
	done     chan struct{} // closed by Stop

	// errorLog takes net/http's own messages (failed TLS handshakes,
	// mostly), rate-limited.
	errorLog *log.Logger

	mu        sync.Mutex // guards the fields below; held for all of Apply and Stop
	listeners *link.Listeners[*listener]
	stopped   bool
	tls       *tls.Config // nil: plain HTTP
}

// settings are what a request needs, swapped whole by Apply.
type settings struct {
	files         fs.FS
	maxConcurrent int64
	certificate   *tls.Certificate
}

type counters struct {
	requests, ok, notFound, badRequests, busy, errors, bytes atomic.Uint64

	responseTime, responseBytes histogram.Counts
}

// listener is one bound address with its http.Server.
type listener struct {
	addr netip.AddrPort // as bound, port resolved
	srv  *http.Server
	done chan struct{} // closed when Serve has returned
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
	s := &Server{done: make(chan struct{})}
	if cfg.Certificate != nil {
		s.tls = &tls.Config{
			MinVersion: tls.VersionTLS12,
			// HTTP/1.1 only, as on the plain listener: boot clients speak
			// nothing newer.
			NextProtos: []string{"http/1.1"},
			// Read per handshake, so a certificate Apply swaps in serves
			// the next connection.
			GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
				return s.settings.Load().certificate, nil
			},
		}
	}
	// Every record says which scheme it is about: the access log lines of
	// an HTTP and an HTTPS server of one site look alike otherwise.
	s.logger = logger.With("scheme", s.scheme())
	s.errorLog = log.New(newLimitedLog(s.logger), "", 0)
	s.listeners = link.NewListeners(s.bind, (*listener).stop)
	s.settings.Store(settingsOf(cfg))
	if _, err := s.listeners.Bind(cfg.Addresses, cfg.Port, nil); err != nil {
		return nil, fmt.Errorf("%s: %w", s.scheme(), err)
	}
	go func() {
		select {
		case <-ctx.Done():
			s.Stop()
		case <-s.done:
		}
	}()
	s.logger.Info("http boot server started", "addresses", s.Addrs())
	return s, nil
}

// scheme is "https" for a server with a certificate, else "http".
func (s *Server) scheme() string {
	if s.tls != nil {
		return "https"
	}
	return "http"
}

// Apply swaps the files, the concurrency cap and the certificate in place;
// requests in flight finish with the file they opened, and connections
// already open keep the certificate of their handshake. Sockets are rebound
// only when the addresses or the port change, new ones before old ones
// close, so a failed bind changes nothing.
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
	if (cfg.Certificate != nil) != (s.tls != nil) {
		return fmt.Errorf("%s: cannot change between HTTP and HTTPS in place: start another server", s.scheme())
	}
	rebound, err := s.listeners.Bind(cfg.Addresses, cfg.Port, func() { s.settings.Store(settingsOf(cfg)) })
	if err != nil {
		return fmt.Errorf("%s: %w", s.scheme(), err)
	}
	if rebound {
		s.logger.Info("http boot server rebound", "addresses", s.listeners.Addrs())
	}
	return nil
}

// Stop stops accepting, lets requests in flight finish for a few seconds,
// then closes their connections, and returns when every listener is done.
// It is safe to call more than once.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	s.stopped = true
	close(s.done)
	s.listeners.Stop()
	s.logger.Info("http boot server stopped")
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
		Requests:    c.requests.Load(),
		OK:          c.ok.Load(),
		NotFound:    c.notFound.Load(),
		BadRequests: c.badRequests.Load(),
		Busy:        c.busy.Load(),
		Errors:      c.errors.Load(),
		BytesSent:   c.bytes.Load(),

		ResponseSeconds: histogram.TransferTime.Snapshot(&c.responseTime),
		ResponseBytes:   histogram.Bytes.Snapshot(&c.responseBytes),
	}
}

// bind opens one listener on ap and serves it.
func (s *Server) bind(ap netip.AddrPort) (*listener, error) {
	tcp, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(ap))
	if err != nil {
		return nil, fmt.Errorf("binding %s: %w", ap, err)
	}
	var ln net.Listener = tcp
	if s.tls != nil {
		ln = tls.NewListener(tcp, s.tls)
	}
	l := &listener{
		addr: netip.AddrPortFrom(ap.Addr(), uint16(tcp.Addr().(*net.TCPAddr).Port)),
		srv: &http.Server{
			Handler:           http.HandlerFunc(s.serveHTTP),
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          s.errorLog,
		},
		done: make(chan struct{}),
	}
	go func() {
		defer close(l.done)
		if err := l.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.logger.Error(s.scheme()+": listener failed", "address", l.addr, "error", err)
		}
	}()
	return l, nil
}

// stop closes the listener, gives requests in flight stopGrace to finish,
// then closes their connections.
func (l *listener) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), stopGrace)
	defer cancel()
	if err := l.srv.Shutdown(ctx); err != nil {
		_ = l.srv.Close()
	}
	<-l.done
}

// Addr is the address and port as bound.
func (l *listener) Addr() netip.AddrPort { return l.addr }

// withDefaults fills zero fields and refuses values no server could use.
func withDefaults(cfg Config) (Config, error) {
	if cfg.Files == nil {
		return cfg, errors.New("http: no files to serve (Files is nil)")
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return cfg, fmt.Errorf("http: port %d out of range", cfg.Port)
	}
	if cfg.MaxConcurrent == 0 {
		cfg.MaxConcurrent = DefaultMaxConcurrent
	}
	if cfg.MaxConcurrent < 0 {
		return cfg, fmt.Errorf("http: negative MaxConcurrent %d", cfg.MaxConcurrent)
	}
	if cfg.Certificate != nil && len(cfg.Certificate.Certificate) == 0 {
		return cfg, errors.New("https: the certificate holds no certificate")
	}
	return cfg, nil
}

func settingsOf(cfg Config) *settings {
	return &settings{files: cfg.Files, maxConcurrent: int64(cfg.MaxConcurrent), certificate: cfg.Certificate}
}
