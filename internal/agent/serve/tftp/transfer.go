package tftp

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// retries is how many times a window is sent before the client counts as
// gone: five tries, as tftpd-hpa and pin/tftp make.
const retries = 5

var (
	errTimeout    = errors.New("client stopped acknowledging")
	errClientGone = errors.New("client port unreachable")
)

// clientError is an ERROR the client sent; it needs no ERROR back.
type clientError struct {
	code uint16
	msg  string
}

func (e *clientError) Error() string {
	return fmt.Sprintf("client sent error %d: %s", e.code, e.msg)
}

// transferConn is a transfer's own socket (its TID, RFC 1350), bound to the
// listener's address and connected to the client, so the kernel drops
// datagrams from anyone else.
//
// It works in one of two ways, chosen when it is opened. A blocking socket
// used with plain read/write system calls, as tftpd-hpa's processes do:
// the sender waits for every ACK in recv (having let the client it just
// woke answer first, see read), with fewer system calls and less of the
// scheduler's work than a goroutine parked on the poller. But every such
// wait holds a thread, and a woken thread must win one of GOMAXPROCS Ps
// before it runs: with more transfers than Ps, threads queue for Ps and
// each ACK costs a sleep and a wake-up more. So a transfer that starts
// beside enough others (see socketPolicy) uses a non-blocking socket on Go's
// poller instead (polled), where a running thread picks up the ACKs of
// many transfers without sleeping between them.
type transferConn struct {
	mu sync.Mutex // guards fd against shutdown racing close
	fd int        // -1 once closed
	// timeout is the receive timeout set on fd.
	timeout time.Duration
	// file and raw are set when polled: file owns fd.
	file *os.File
	raw  syscall.RawConn
	shut atomic.Bool // shutdown was called
}

// dialTransfer opens a transfer socket from local (port 0) to peer; polled
// puts it on Go's poller (see transferConn).
func dialTransfer(local, peer unix.Sockaddr, timeout time.Duration, polled bool) (*transferConn, error) {
	domain := unix.AF_INET6
	if _, ok := local.(*unix.SockaddrInet4); ok {
		domain = unix.AF_INET
	}
	typ := unix.SOCK_DGRAM | unix.SOCK_CLOEXEC
	if polled {
		typ |= unix.SOCK_NONBLOCK
	}
	fd, err := unix.Socket(domain, typ, 0)
	if err != nil {
		return nil, fmt.Errorf("opening transfer socket: %w", err)
	}
	c := &transferConn{fd: fd}
	if err := unix.Bind(fd, ownSockaddr(local)); err != nil {
		c.close()
		return nil, fmt.Errorf("binding transfer socket: %w", err)
	}
	if err := unix.Connect(fd, peer); err != nil {
		c.close()
		return nil, fmt.Errorf("connecting transfer socket: %w", err)
	}
	if polled {
		// A non-blocking descriptor makes a pollable File.
		c.file = os.NewFile(uintptr(fd), "tftp-transfer")
		if c.raw, err = c.file.SyscallConn(); err != nil {
			c.close()
			return nil, fmt.Errorf("polling transfer socket: %w", err)
		}
	}
	if err := c.setTimeout(timeout); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// ownSockaddr copies sa for one system call: the call encodes the address
// into sa's private buffer, so transfers sharing their listener's address
// must not pass the same value.
func ownSockaddr(sa unix.Sockaddr) unix.Sockaddr {
	switch sa := sa.(type) {
	case *unix.SockaddrInet6:
		return &unix.SockaddrInet6{Port: sa.Port, ZoneId: sa.ZoneId, Addr: sa.Addr}
	case *unix.SockaddrInet4:
		return &unix.SockaddrInet4{Port: sa.Port, Addr: sa.Addr}
	}
	return sa
}

// setTimeout makes the reads that follow wait up to d from now.
func (c *transferConn) setTimeout(d time.Duration) error {
	if c.file != nil {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.shut.Load() {
			return nil // shutdown's deadline stands
		}
		return c.file.SetReadDeadline(time.Now().Add(d))
	}
	if d == c.timeout {
		return nil
	}
	tv := unix.NsecToTimeval(max(d, time.Millisecond).Nanoseconds())
	if err := unix.SetsockoptTimeval(c.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return fmt.Errorf("setting receive timeout: %w", err)
	}
	c.timeout = d
	return nil
}

func (c *transferConn) write(p []byte) error {
	for {
		var err error
		if c.raw != nil {
			if perr := c.raw.Write(func(fd uintptr) bool {
				_, err = unix.Write(int(fd), p)
				return err != unix.EAGAIN
			}); perr != nil {
				return fmt.Errorf("sending to client: %w", perr)
			}
		} else {
			_, err = unix.Write(c.fd, p)
		}
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.ECONNREFUSED:
			return errClientGone
		case err != nil:
			return fmt.Errorf("sending to client: %w", err)
		}
		return nil
	}
}

// read waits up to the receive timeout for a datagram and returns its full
// length, which may exceed len(p). It returns 0 bytes and no error after
// shutdown.
func (c *transferConn) read(p []byte) (int, error) {
	var (
		n   int
		err error
	)
	if c.raw != nil {
		perr := c.raw.Read(func(fd uintptr) bool {
			n, _, err = unix.Recvfrom(int(fd), p, unix.MSG_TRUNC)
			return err != unix.EAGAIN
		})
		switch {
		case perr == nil:
		case c.shut.Load():
			return 0, nil
		case errors.Is(perr, os.ErrDeadlineExceeded):
			return 0, errTimeout
		default:
			return 0, perr
		}
	} else {
		// The DATA just sent woke the client, most often on this CPU,
		// where it waits for this thread to give way. Yielding first
		// lets it read the block and send its ACK before the recv below,
		// which then mostly finds the ACK there instead of sleeping until
		// a wake-up brings it. With no one waiting for this CPU it
		// returns at once.
		_, _, _ = unix.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
		n, _, err = unix.Recvfrom(c.fd, p, unix.MSG_TRUNC)
	}
	switch {
	case err == unix.EAGAIN:
		return 0, errTimeout
	case err == unix.ECONNREFUSED:
		return 0, errClientGone
	case err != nil:
		return 0, err
	}
	return n, nil
}

// shutdown wakes a read blocked on c, so Stop need not wait out a long
// timeout a client negotiated.
func (c *transferConn) shutdown() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fd < 0 {
		return
	}
	c.shut.Store(true)
	if c.file != nil {
		// The poller wakes a reader at its deadline, not on shutdown(2).
		_ = c.file.SetReadDeadline(time.Now())
		return
	}
	_ = unix.Shutdown(c.fd, unix.SHUT_RD)
}

func (c *transferConn) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.file != nil:
		_ = c.file.Close()
		c.fd = -1
	case c.fd >= 0:
		_ = unix.Close(c.fd)
		c.fd = -1
	}
}

// sender sends one file in lock-step windows (RFC 1350; RFC 7440 when the
// window is larger than one block).
//
// It is hand-written rather than pin/tftp's because of measured figures:
// fetching 50 MiB with curl (blksize 1428, one client, loopback), pin/tftp
// v3.1.0 reached 14 MB/s in single-port mode (a netlink interface lookup
// and a channel hand-off per ACK) and 20 MB/s with a socket per transfer
// (a poller wake-up per ACK), against 78 MB/s for tftpd-hpa; this sender,
// blocking in recv as tftpd-hpa does, matches or beats it. With many
// transfers at once the poller wins instead (transferConn).
type sender struct {
	conn    *transferConn
	ctx     context.Context
	opts    transferOptions
	recv    []byte
	dropped *atomic.Uint64
}

// sendFile sends the OACK if any, then r, and returns the file bytes the
// client acknowledged.
func (s *sender) sendFile(r io.Reader) (int64, error) {
	if len(s.opts.oack) > 0 {
		if _, err := s.sendWindow([][]byte{packOACK(s.opts.oack)}, 0); err != nil {
			return 0, err
		}
	}
	var (
		window = make([][]byte, 0, s.opts.windowSize) // window[0] is block first
		spare  [][]byte
		first  = uint16(1) // wraps to 0 after 65535, as tftpd-hpa's does
		eof    bool
		total  int64
	)
	for {
		for len(window) < s.opts.windowSize && !eof {
			var buf []byte
			if n := len(spare); n > 0 {
				buf, spare = spare[n-1], spare[:n-1]
			} else {
				buf = make([]byte, 4+s.opts.blockSize)
			}
			n, err := io.ReadFull(r, buf[4:])
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				eof = true // a short block, possibly empty, ends the file
			} else if err != nil {
				return total, fmt.Errorf("reading file: %w", err)
			}
			binary.BigEndian.PutUint16(buf, opDATA)
			binary.BigEndian.PutUint16(buf[2:], first+uint16(len(window)))
			window = append(window, buf[:4+n])
		}
		if len(window) == 0 {
			return total, nil
		}
		if s.ctx.Err() != nil {
			return total, errStopping
		}
		acked, err := s.sendWindow(window, first)
		if err != nil {
			return total, err
		}
		for _, p := range window[:acked] {
			total += int64(len(p) - 4)
			spare = append(spare, p[:cap(p)])
		}
		window = window[:copy(window, window[acked:])]
		first += uint16(acked)
	}
}

// sendWindow sends the window, numbered from first, and waits for an ACK
// of any of its blocks; it returns how many are acknowledged. The caller
// sends the next window from the block after the one acknowledged, which
// is how an RFC 7440 client that lost a block asks for the rest again. A
// timeout sends the window again, up to retries times. A repeated ACK of
// the block before the window also means a loss; the window goes again at
// once, but only once, as a client may repeat that ACK for every block
// after the lost one. With a window of one such an ACK is a stale
// duplicate and is ignored, which avoids the Sorcerer's Apprentice bug
// (RFC 1123 4.2.3.1).
func (s *sender) sendWindow(window [][]byte, first uint16) (int, error) {
	resendOnRepeat := len(window) > 1
	for try := 1; ; {
		for _, p := range window {
			if err := s.conn.write(p); err != nil {
				return 0, err
			}
		}
		acked, err := s.awaitACK(len(window), first, resendOnRepeat)
		switch {
		case err == nil && acked > 0:
			return acked, nil
		case err == nil:
			resendOnRepeat = false
		case err != errTimeout:
			return 0, err
		case try == retries:
			return 0, errTimeout
		default:
			try++
		}
	}
}

// awaitACK reads until an ACK for one of n blocks from first arrives, or a
// resend is due: after the timeout (errTimeout) or, if resendOnRepeat, on
// an ACK of the block before first (0, nil).
func (s *sender) awaitACK(n int, first uint16, resendOnRepeat bool) (int, error) {
	deadline := time.Now().Add(s.opts.timeout)
	if err := s.conn.setTimeout(s.opts.timeout); err != nil {
		return 0, err
	}
	for {
		m, err := s.conn.read(s.recv)
		if err == unix.EINTR {
			if err = s.conn.setTimeout(time.Until(deadline)); err == nil {
				continue
			}
		}
		if err != nil {
			return 0, err
		}
		if m == 0 && s.ctx.Err() != nil {
			return 0, errStopping
		}
		switch {
		case m >= 4 && m <= len(s.recv) && binary.BigEndian.Uint16(s.recv) == opACK:
			block := binary.BigEndian.Uint16(s.recv[2:])
			if i := int(block - first); i < n {
				return i + 1, nil
			}
			if resendOnRepeat && block == first-1 {
				return 0, nil
			}
		case m >= 4 && m <= len(s.recv) && binary.BigEndian.Uint16(s.recv) == opERROR:
			msg, _, _ := bytes.Cut(s.recv[4:m], []byte{0})
			return 0, &clientError{code: binary.BigEndian.Uint16(s.recv[2:]), msg: string(msg)}
		default:
			s.dropped.Add(1)
		}
		// Junk or a stale ACK must not extend the wait.
		left := time.Until(deadline)
		if left <= 0 {
			return 0, errTimeout
		}
		if err := s.conn.setTimeout(left); err != nil {
			return 0, err
		}
	}
}
