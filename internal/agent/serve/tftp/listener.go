package tftp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// maxDatagram is the largest UDP payload a read-only server needs to
// receive: a request, an ACK or an ERROR. RFC 2347 caps a request at 512
// octets plus the 4-byte header.
const maxDatagram = 516

// listener is one bound address: it reads requests and starts a transfer,
// on a socket of its own, for each read request.
type listener struct {
	addr   netip.AddrPort // as bound, port resolved
	conn   *net.UDPConn
	raw    syscall.RawConn
	local  unix.Sockaddr   // addr with port 0: where transfer sockets bind
	ctx    context.Context // done when the listener stops
	cancel context.CancelFunc
	done   chan struct{} // closed when serve has returned

	transfers sync.WaitGroup
	mu        sync.Mutex // guards the fields below
	conns     map[*transferConn]struct{}
	closing   bool // stop has woken the transfers; no new ones
}

// newListener binds bind and serves it.
func (s *Server) newListener(bind netip.AddrPort) (*listener, error) {
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(bind))
	if err != nil {
		return nil, fmt.Errorf("binding %s: %w", bind, err)
	}
	l := &listener{conn: conn, done: make(chan struct{}), conns: make(map[*transferConn]struct{})}
	if err := l.init(bind.Addr()); err != nil {
		conn.Close()
		return nil, fmt.Errorf("binding %s: %w", bind, err)
	}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	go l.serve(s)
	return l, nil
}

// init reads the bound port and the socket transfers bind to; addr is the
// address as asked for, zone included.
func (l *listener) init(addr netip.Addr) error {
	var err error
	if l.raw, err = l.conn.SyscallConn(); err != nil {
		return err
	}
	var local unix.Sockaddr
	var serr error
	if err := l.raw.Control(func(fd uintptr) { local, serr = unix.Getsockname(int(fd)) }); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("reading the bound address: %w", serr)
	}
	ap, _ := sockaddrAddrPort(local)
	l.addr = netip.AddrPortFrom(addr, ap.Port())
	switch sa := local.(type) {
	case *unix.SockaddrInet6:
		sa.Port = 0
	case *unix.SockaddrInet4:
		sa.Port = 0
	}
	l.local = local
	return nil
}

// serve reads datagrams until the socket closes.
func (l *listener) serve(s *Server) {
	defer close(l.done)
	buf := make([]byte, maxDatagram)
	for {
		var (
			n    int
			from unix.Sockaddr
			rerr error
		)
		err := l.raw.Read(func(fd uintptr) bool {
			// MSG_TRUNC: n is the datagram's full length, so an
			// oversized one is seen as such.
			n, from, rerr = unix.Recvfrom(int(fd), buf, unix.MSG_TRUNC)
			return rerr != unix.EAGAIN
		})
		if err == nil {
			err = rerr
		}
		if err != nil {
			if l.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			s.logger.Warn("tftp: reading a request", "address", l.addr, "error", err)
			continue
		}
		peer, ok := sockaddrAddrPort(from)
		if !ok {
			continue
		}
		if n > maxDatagram {
			s.drop(l, peer, errors.New("datagram larger than any request"))
			continue
		}
		s.handleDatagram(l, buf[:n], from, peer)
	}
}

// sendTo sends a datagram from the listener's socket, for refusals. It is
// best effort: a client that misses a refusal asks again.
func (l *listener) sendTo(p []byte, to unix.Sockaddr) {
	_ = l.raw.Write(func(fd uintptr) bool {
		return unix.Sendto(int(fd), p, 0, to) != unix.EAGAIN
	})
}

// openTransfer opens a transfer socket and registers it for stop; it
// fails once stop has begun. polled: see transferConn.
func (l *listener) openTransfer(peer unix.Sockaddr, timeout time.Duration, polled bool) (*transferConn, error) {
	c, err := dialTransfer(l.local, peer, timeout, polled)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closing {
		c.close()
		return nil, errStopping
	}
	l.conns[c] = struct{}{}
	return c, nil
}

func (l *listener) closeTransfer(c *transferConn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
	c.close()
}

// stop ends the request loop, makes transfers abort at their next window
// with an ERROR to the client, and gives them up to timeout to do so; then
// it wakes any still waiting for a silent client (or one that negotiated a
// longer timeout) and waits for all.
func (l *listener) stop(timeout time.Duration) {
	l.cancel()
	_ = l.conn.Close()
	<-l.done
	ended := make(chan struct{})
	go func() {
		l.transfers.Wait()
		close(ended)
	}()
	select {
	case <-ended:
	case <-time.After(timeout):
		l.mu.Lock()
		l.closing = true
		for c := range l.conns {
			c.shutdown()
		}
		l.mu.Unlock()
		<-ended
	}
}

// Addr is the address and port as bound.
func (l *listener) Addr() netip.AddrPort { return l.addr }

func sockaddrAddrPort(sa unix.Sockaddr) (netip.AddrPort, bool) {
	switch sa := sa.(type) {
	case *unix.SockaddrInet6:
		a := netip.AddrFrom16(sa.Addr)
		if sa.ZoneId != 0 {
			a = a.WithZone(fmt.Sprint(sa.ZoneId))
		}
		return netip.AddrPortFrom(a.Unmap(), uint16(sa.Port)), true
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port)), true
	}
	return netip.AddrPort{}, false
}
