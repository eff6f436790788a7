package nfsserve

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	nfs "github.com/willscott/go-nfs"
)

// maxConnections caps open client connections. A Linux client keeps one TCP
// connection per server, so this is about how many clients are mounted at
// once.
const maxConnections = 1024

// idleTimeout closes connections without traffic, as the kernel's nfsd
// does after 6 minutes; a client reconnects when it next needs one. Tests
// shorten it.
var idleTimeout = 6 * time.Minute

// listener is one bound address with its go-nfs server and the
// connections it accepted.
type listener struct {
	addr   netip.AddrPort // as bound, port resolved
	ln     net.Listener
	conns  connSet
	cancel context.CancelFunc // ends go-nfs's per-connection goroutines
	done   chan struct{}      // closed when Serve has returned
}

// bind opens one listener on ap and serves it.
func (s *Server) bind(ap netip.AddrPort) (*listener, error) {
	ln, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(ap))
	if err != nil {
		return nil, fmt.Errorf("binding %s: %w", ap, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &listener{addr: netip.AddrPortFrom(ap.Addr(), uint16(ln.Addr().(*net.TCPAddr).Port)), ln: ln, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		if err := s.serve(ctx, &trackingListener{Listener: ln, s: s, l: l}); !errors.Is(err, net.ErrClosed) {
			s.logger.Error("nfs: listener failed", "address", l.addr, "error", err)
		}
	}()
	return l, nil
}

// serve accepts connections until tl fails, as go-nfs's Server.Serve does,
// but gives each connection a go-nfs server and handler of its own, so the
// handler knows whose call it handles (see trackedConn.cred).
func (s *Server) serve(ctx context.Context, tl *trackingListener) error {
	dirs := &dirListings{}
	var delay time.Duration
	for {
		c, err := tl.Accept()
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			time.Sleep(delay)
			continue
		case err != nil:
			return err
		}
		delay = 0
		srv := &nfs.Server{Handler: &handler{s: s, conn: c, dirs: dirs}, Context: ctx, ID: s.writeVerifier}
		go func() { _ = srv.Serve(&oneConn{c: c}) }()
	}
}

// oneConn is a listener that accepts one connection, then is done: go-nfs
// serves that connection on until it closes.
type oneConn struct {
	c    net.Conn
	done bool
}

func (o *oneConn) Accept() (net.Conn, error) {
	if o.done {
		return nil, net.ErrClosed
	}
	o.done = true
	return o.c, nil
}

// Close leaves the connection open: go-nfs closes the listener as soon as
// it has accepted the connection.
func (o *oneConn) Close() error   { return nil }
func (o *oneConn) Addr() net.Addr { return o.c.LocalAddr() }

// stop closes the socket, waits for go-nfs to stop accepting, then closes
// every connection.
func (l *listener) stop() {
	_ = l.ln.Close()
	<-l.done
	l.conns.closeAll()
	l.cancel()
}

// Addr is the address and port as bound.
func (l *listener) Addr() netip.AddrPort { return l.addr }

// closeIdle closes connections idle for idleTimeout until the server stops.
func (s *Server) closeIdle(idleTimeout time.Duration) {
	t := time.NewTicker(idleTimeout / 6)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case now := <-t.C:
			s.mu.Lock()
			ls := s.listeners.All()
			s.mu.Unlock()
			for _, l := range ls {
				for _, c := range l.conns.idleSince(now.Add(-idleTimeout)) {
					s.stats.connsIdle.Add(1)
					s.logger.Debug("nfs: closing idle connection", "client", c.RemoteAddr().String())
					_ = c.Close()
				}
			}
		}
	}
}

// trackingListener hands go-nfs connections the server can find again to
// close, and refuses connections beyond maxConnections.
type trackingListener struct {
	net.Listener
	s *Server
	l *listener
}

func (tl *trackingListener) Accept() (*trackedConn, error) {
	for {
		c, err := tl.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if tl.s.openConns.Add(1) > maxConnections {
			tl.s.openConns.Add(-1)
			tl.s.stats.connsRefused.Add(1)
			tl.s.logger.Warn("nfs: connection refused: too many open", "client", c.RemoteAddr().String(), "limit", maxConnections)
			_ = c.Close()
			continue
		}
		tl.s.stats.conns.Add(1)
		tc := &trackedConn{Conn: c, s: tl.s, set: &tl.l.conns}
		tc.touch()
		tl.l.conns.add(tc)
		return tc, nil
	}
}

// trackedConn hands go-nfs only whole, checked RPC records (see
// record.go) that their credentials allow (see access.go), notes when it
// last carried data, and leaves its set when closed. It answers a refused
// call itself: a reply may then overtake go-nfs's to an earlier call, which
// RPC allows (replies are matched by xid), and each reply goes out in one
// Write, which net.Conn keeps whole against go-nfs's.
type trackedConn struct {
	net.Conn
	s         *Server
	set       *connSet
	last      atomic.Int64 // unix nanoseconds of the last read or write
	closeOnce sync.Once
	pending   []byte // the rest of the current record, mark included
	// cred is the credential of the call go-nfs is handling (read and
	// handled on the same goroutine, one call at a time).
	cred  credential
	small []byte // reused for records up to smallRecord bytes
}

// smallRecord is the record size up to which a connection reuses its
// buffer; larger ones (WRITEs) are allocated each time, so an idle
// connection does not hold a megabyte.
const smallRecord = 8 << 10

func (c *trackedConn) touch() { c.last.Store(time.Now().UnixNano()) }

func (c *trackedConn) Read(b []byte) (int, error) {
	for len(c.pending) == 0 {
		if err := c.nextRecord(); err != nil {
			return 0, err
		}
	}
	n := copy(b, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

// nextRecord reads and checks one record. A bad one closes the connection:
// go-nfs answers none of them, and the stream cannot be trusted after.
func (c *trackedConn) nextRecord() error {
	var mark [4]byte
	if _, err := io.ReadFull(c.Conn, mark[:]); err != nil {
		return err
	}
	c.touch()
	m := binary.BigEndian.Uint32(mark[:])
	size := int(m &^ lastFragment)
	var reason error
	switch {
	case m&lastFragment == 0:
		// Linux sends every call as one fragment; go-nfs takes no others.
		reason = errors.New("record in several fragments")
	case size > maxRecord:
		reason = fmt.Errorf("record of %d bytes, over %d", size, maxRecord)
	}
	if reason == nil {
		buf := make([]byte, 4+size)
		if 4+size <= smallRecord {
			if c.small == nil {
				c.small = make([]byte, smallRecord)
			}
			buf = c.small[:4+size]
		}
		copy(buf, mark[:])
		if _, err := io.ReadFull(c.Conn, buf[4:]); err != nil {
			return err
		}
		c.touch()
		if reason = checkCall(buf[4:]); reason == nil {
			// A call the credential may not make is answered here and
			// never reaches go-nfs (pending stays empty).
			if answer := c.s.authorize(buf[4:]); answer != nil {
				_, err := c.Write(answer)
				return err
			}
			c.pending = buf
			c.cred = parseCredential(buf[4:])
			return nil
		}
	}
	c.s.stats.malformed.Add(1)
	c.s.logger.Warn("nfs: malformed request; closing the connection", "client", c.RemoteAddr().String(), "reason", reason)
	_ = c.Close()
	return io.EOF
}

func (c *trackedConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if n > 0 {
		c.touch()
	}
	return n, err
}

func (c *trackedConn) Close() error {
	err := net.ErrClosed
	c.closeOnce.Do(func() {
		c.set.remove(c)
		c.s.openConns.Add(-1)
		err = c.Conn.Close()
	})
	return err
}

type connSet struct {
	mu    sync.Mutex
	conns map[*trackedConn]struct{}
}

func (cs *connSet) add(c *trackedConn) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.conns == nil {
		cs.conns = make(map[*trackedConn]struct{})
	}
	cs.conns[c] = struct{}{}
}

func (cs *connSet) remove(c *trackedConn) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	delete(cs.conns, c)
}

func (cs *connSet) idleSince(t time.Time) []*trackedConn {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	var out []*trackedConn
	for c := range cs.conns {
		if c.last.Load() < t.UnixNano() {
			out = append(out, c)
		}
	}
	return out
}

func (cs *connSet) closeAll() {
	cs.mu.Lock()
	all := make([]*trackedConn, 0, len(cs.conns))
	for c := range cs.conns {
		all = append(all, c)
	}
	cs.mu.Unlock()
	for _, c := range all {
		_ = c.Close()
	}
}
