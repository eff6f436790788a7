package dnsserve

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

const (
	// maxTCPConns caps open DNS-over-TCP connections, and
	// maxTCPConnsPerSource those from one client address, so idle
	// connections from one host cannot shut out the others. Clients only
	// use TCP after a truncated UDP reply, one connection at a time.
	maxTCPConns          = 64
	maxTCPConnsPerSource = 4
	// tcpIdle is how long a TCP connection may wait for its next query
	// (RFC 7766 section 6.2.3 suggests seconds).
	tcpIdle = 10 * time.Second
	// bindTries is how often Start looks for a port free for both UDP and
	// TCP when asked for any free port: the first UDP bind picks a port,
	// which TCP and the other addresses then share, and one of them may
	// not have it.
	bindTries = 10
)

// listener is one address served over UDP and TCP on the same port.
type listener struct {
	addr   netip.AddrPort // as bound, port resolved
	udp    *net.UDPConn
	tcp    *net.TCPListener
	wg     sync.WaitGroup // the goroutines serving this address
	mu     sync.Mutex     // guards conns and closed
	conns  map[net.Conn]struct{}
	closed bool
}

// bind opens UDP on ap, then TCP on the port UDP got.
func (s *Server) bind(ap netip.AddrPort) (*listener, error) {
	a := ap.Addr()
	udp, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
	if err != nil {
		return nil, fmt.Errorf("binding UDP %s: %w", ap, err)
	}
	ap = netip.AddrPortFrom(a, uint16(udp.LocalAddr().(*net.UDPAddr).Port))
	tcp, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(ap))
	if err != nil {
		_ = udp.Close()
		return nil, fmt.Errorf("binding TCP %s: %w", ap, err)
	}
	l := &listener{addr: ap, udp: udp, tcp: tcp, conns: make(map[net.Conn]struct{})}
	l.wg.Add(2)
	go s.serveUDP(l)
	go s.serveTCP(l)
	return l, nil
}

// serveUDP answers datagrams until the socket closes.
func (s *Server) serveUDP(l *listener) {
	defer l.wg.Done()
	buf := make([]byte, 65535)
	for {
		n, from, err := l.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.logger.Error("dns: UDP listener failed", "address", l.addr, "error", err)
			}
			return
		}
		if reply := s.handle(buf[:n], false, from); reply != nil {
			if _, err := l.udp.WriteToUDPAddrPort(reply, from); err != nil {
				s.logger.Debug("dns: cannot send reply", "client", from, "error", err)
			}
		}
	}
}

// serveTCP accepts connections until the listener closes.
func (s *Server) serveTCP(l *listener) {
	defer l.wg.Done()
	for {
		c, err := l.tcp.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.logger.Error("dns: TCP listener failed", "address", l.addr, "error", err)
			}
			return
		}
		from := c.RemoteAddr().(*net.TCPAddr).AddrPort()
		release, _, err := s.tcpConns.Acquire(from.Addr(), maxTCPConns, maxTCPConnsPerSource)
		if err != nil {
			s.logger.Warn("dns: TCP connection refused", "client", from, "reason", err,
				"max_connections", maxTCPConns, "max_connections_per_source", maxTCPConnsPerSource)
			_ = c.Close()
			continue
		}
		if !l.track(c) {
			release()
			_ = c.Close()
			continue
		}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			defer release()
			defer l.untrack(c)
			s.serveConn(c, from)
		}()
	}
}

// serveConn answers length-prefixed queries (RFC 1035 section 4.2.2) in
// order until the client closes, goes idle for tcpIdle, or sends garbage.
func (s *Server) serveConn(c net.Conn, from netip.AddrPort) {
	var size [2]byte
	for {
		if err := c.SetReadDeadline(time.Now().Add(tcpIdle)); err != nil {
			return
		}
		if _, err := io.ReadFull(c, size[:]); err != nil {
			return
		}
		msg := make([]byte, binary.BigEndian.Uint16(size[:]))
		if _, err := io.ReadFull(c, msg); err != nil {
			return
		}
		reply := s.handle(msg, true, from)
		if reply == nil {
			return
		}
		if err := c.SetWriteDeadline(time.Now().Add(tcpIdle)); err != nil {
			return
		}
		if _, err := c.Write(binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(reply)), uint16(len(reply)))); err != nil {
			return
		}
		if _, err := c.Write(reply); err != nil {
			return
		}
	}
}

// handle answers one query and counts and logs what it did.
func (s *Server) handle(msg []byte, overTCP bool, from netip.AddrPort) []byte {
	s.stats.queries.Add(1)
	reply, res := answer(msg, *s.zone.Load(), overTCP)
	c := &s.stats
	switch {
	case reply == nil:
		c.dropped.Add(1)
		s.logger.Debug("dns: message dropped", "client", from, "bytes", len(msg))
		return nil
	case res.rcode == dnsmessage.RCodeSuccess && res.answers > 0:
		c.answers.Add(1)
	case res.rcode == dnsmessage.RCodeSuccess:
		c.noData.Add(1)
	case res.rcode == dnsmessage.RCodeRefused:
		c.refused.Add(1)
	default:
		c.errors.Add(1)
	}
	if res.truncated {
		c.truncated.Add(1)
	}
	proto := "udp"
	if overTCP {
		proto = "tcp"
	}
	s.logger.Debug("dns: query", "client", from, "proto", proto, "name", res.name, "type", res.qtype,
		"rcode", res.rcode, "answers", res.answers, "truncated", res.truncated)
	return reply
}

// track registers c for stop; it fails once stop has begun.
func (l *listener) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.conns[c] = struct{}{}
	return true
}

func (l *listener) untrack(c net.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.conns, c)
	_ = c.Close()
}

// stop closes both sockets and every TCP connection, and waits for the
// goroutines serving them.
func (l *listener) stop() {
	_ = l.udp.Close()
	_ = l.tcp.Close()
	l.mu.Lock()
	l.closed = true
	for c := range l.conns {
		_ = c.Close()
	}
	l.mu.Unlock()
	l.wg.Wait()
}

// Addr is the address and port as bound.
func (l *listener) Addr() netip.AddrPort { return l.addr }
