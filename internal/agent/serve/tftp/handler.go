package tftp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"time"

	"github.com/pin/tftp/v3/netascii"
	"golang.org/x/sys/unix"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/histogram"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/peerlimit"
)

// Errors a client sees in the TFTP ERROR packet.
var (
	errBadPath  = errors.New("invalid file name")
	errNotFound = errors.New("file not found")
	errReadOnly = errors.New("read-only server: write requests are refused")
	errStopping = errors.New("server shutting down")
	errInternal = errors.New("internal server error")
	errDenied   = errors.New("access denied")
	// A transfer limit reached (see Config.MaxTransfers); the client may
	// try again later.
	errServerBusy = errors.New("too many transfers in progress")
	errClientBusy = errors.New("too many transfers in progress for this client")
)

// busyError words a refusal by the transfer limiter for the client.
func busyError(err error) error {
	if errors.Is(err, peerlimit.ErrPerPeer) {
		return errClientBusy
	}
	return errServerBusy
}

// readBuffer is how much of a file is read at once, rather than a block
// (one system call) per DATA.
const readBuffer = 64 << 10

// handleDatagram answers one datagram sent to the listener's port: a read
// request starts a transfer, anything else is refused or dropped.
func (s *Server) handleDatagram(l *listener, p []byte, from unix.Sockaddr, peer netip.AddrPort) {
	req, err := parseRequest(p)
	if err != nil {
		s.drop(l, peer, err)
		if len(p) >= 2 && p[0] == 0 && (p[1] == opRRQ || p[1] == opWRQ) {
			l.sendTo(packError(errCodeIllegal, "malformed request: "+err.Error()), from)
		}
		return
	}
	s.stats.requests.Add(1)
	if req.write {
		s.stats.write.Add(1)
		s.logger.Warn("tftp request refused", "client", peer, "file", req.filename, "reason", "write request")
		l.sendTo(packError(errCodeAccessViolation, errReadOnly.Error()), from)
		return
	}
	l.transfers.Add(1)
	go func() {
		defer l.transfers.Done()
		s.serveRead(l, req, from, peer)
	}()
}

// serveRead serves one read request: check the name, take a transfer
// slot, open the file, send it from a socket of its own, log it.
func (s *Server) serveRead(l *listener, req request, from unix.Sockaddr, client netip.AddrPort) {
	start := time.Now()
	log := s.logger.With("client", client, "server", l.addr.Addr(), "file", req.filename)
	refuse := func(code uint16, err error) { l.sendTo(packError(code, err.Error()), from) }
	if l.ctx.Err() != nil {
		log.Info("tftp request refused", "reason", "server shutting down")
		refuse(errCodeUndefined, errStopping)
		return
	}
	set := s.settings.Load()

	name, err := requestPath(req.filename)
	if err != nil {
		s.stats.badPath.Add(1)
		log.Warn("tftp request refused", "reason", err)
		refuse(errCodeAccessViolation, errBadPath)
		return
	}
	release, active, err := s.limiter.Acquire(client.Addr(), set.maxTransfers, set.maxTransfersPerClient)
	if err != nil {
		err = busyError(err)
		s.stats.busy.Add(1)
		log.Warn("tftp request refused", "reason", err,
			"max_transfers", set.maxTransfers, "max_transfers_per_client", set.maxTransfersPerClient)
		refuse(errCodeUndefined, err)
		return
	}
	defer release()

	f, size, err := openRegular(set.files, client.Addr(), name)
	if errors.Is(err, fs.ErrNotExist) {
		s.stats.notFound.Add(1)
		log.Warn("tftp request refused", "reason", err)
		refuse(errCodeNotFound, errNotFound)
		return
	}
	if errors.Is(err, fs.ErrPermission) {
		// A file for another client: the reason goes to the log only.
		s.stats.denied.Add(1)
		log.Warn("tftp request refused", "reason", err)
		refuse(errCodeAccessViolation, errDenied)
		return
	}
	if err != nil {
		s.stats.failed.Add(1)
		log.Error("tftp transfer failed", "error", err)
		refuse(errCodeUndefined, errInternal)
		return
	}
	defer f.Close()

	opts := negotiate(req, size, set.blockSize, set.timeout)
	conn, err := l.openTransfer(from, opts.timeout, s.polled(active))
	if err != nil {
		s.stats.failed.Add(1)
		log.Error("tftp transfer failed", "error", err)
		refuse(errCodeUndefined, errInternal)
		return
	}
	defer l.closeTransfer(conn)
	var r io.Reader = bufio.NewReaderSize(f, readBuffer)
	if req.mode == "netascii" {
		r = netascii.ToReader(r)
	}
	snd := sender{conn: conn, ctx: l.ctx, opts: opts, recv: make([]byte, maxDatagram), dropped: &s.stats.dropped}
	n, err := snd.sendFile(r)
	s.stats.bytes.Add(uint64(n))
	histogram.TransferTime.Observe(&s.stats.transferTime, int64(time.Since(start)))
	histogram.Bytes.Observe(&s.stats.transferBytes, n)
	log = log.With("bytes", n, "size", size, "blksize", opts.blockSize, "windowsize", opts.windowSize,
		"duration", time.Since(start).Round(time.Millisecond))
	if err != nil {
		s.stats.failed.Add(1)
		log.Warn("tftp transfer failed", "error", err)
		if msg := abortMessage(err); msg != "" {
			_ = conn.write(packError(errCodeUndefined, msg))
		}
		return
	}
	s.stats.ok.Add(1)
	log.Info("tftp transfer complete")
}

// polled reports whether a transfer that starts with active transfers in
// flight (itself included) goes on the poller: see socketPolicy.
func (s *Server) polled(active int) bool {
	return active > s.sockets.blocking
}

// abortMessage is what the client is told when a transfer fails, or ""
// when it need not be told: it sent an ERROR itself or its port is gone.
func abortMessage(err error) string {
	var ce *clientError
	switch {
	case errors.As(err, &ce), errors.Is(err, errClientGone):
		return ""
	case errors.Is(err, errStopping), errors.Is(err, errTimeout):
		return err.Error()
	}
	return errInternal.Error()
}

// drop counts and logs a datagram that is no request.
func (s *Server) drop(l *listener, peer netip.AddrPort, reason error) {
	s.stats.dropped.Add(1)
	s.logger.Debug("tftp datagram dropped", "server", l.addr, "client", peer, "error", reason)
}

// clientFS is a served tree whose files depend on who asks (see
// Config.Files).
type clientFS interface {
	OpenFrom(client netip.Addr, name string) (fs.File, error)
}

// openRegular opens name for client and returns it with its size, refusing
// anything but a regular file: a directory is "not found" (no listings).
func openRegular(files fs.FS, client netip.Addr, name string) (fs.File, int64, error) {
	var f fs.File
	var err error
	if cf, ok := files.(clientFS); ok {
		f, err = cf.OpenFrom(client, name)
	} else {
		f, err = files.Open(name)
	}
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("stat %s: %w", name, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, 0, fmt.Errorf("%s is not a regular file: %w", name, fs.ErrNotExist)
	}
	return f, fi.Size(), nil
}
