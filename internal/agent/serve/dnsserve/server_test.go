package dnsserve

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
	"golang.org/x/net/dns/dnsmessage"
)

var loopback = netip.MustParseAddr("::1")

func startLoopback(t *testing.T, cfg Config) (*Server, *testlab.SyncBuffer) {
	t.Helper()
	cfg.Addresses = []netip.Addr{loopback}
	var logs testlab.SyncBuffer
	s, err := Start(context.Background(), cfg, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return s, &logs
}

// resolver is Go's own stub resolver sending every query to server: UDP
// first, TCP after a truncated reply.
func resolver(server netip.AddrPort) *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, server.String())
	}}
}

func testRecords() map[string][]netip.Addr {
	many := make([]netip.Addr, 60)
	for i := range many {
		many[i] = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i + 1)})
	}
	return map[string][]netip.Addr{
		"boot.netboot.test": {bootAddr},
		"many.netboot.test": many,
	}
}

func TestResolve(t *testing.T) {
	s, logs := startLoopback(t, Config{Records: testRecords()})
	r := resolver(s.Addrs()[0])
	ctx := context.Background()

	got, err := r.LookupNetIP(ctx, "ip6", "Boot.Netboot.Test.")
	if err != nil || !slices.Equal(got, []netip.Addr{bootAddr}) {
		t.Errorf("boot.netboot.test = %v, %v", got, err)
	}
	// Over UDP the reply to 60 AAAA records is truncated; the resolver
	// retries over TCP and gets them all.
	got, err = r.LookupNetIP(ctx, "ip6", "many.netboot.test.")
	if err != nil || len(got) != 60 {
		t.Errorf("many.netboot.test: %d addresses, %v", len(got), err)
	}
	if _, err := r.LookupNetIP(ctx, "ip6", "debian.org."); err == nil {
		t.Error("debian.org resolved")
	}
	st := s.Stats()
	if st.Answers < 3 || st.Truncated < 1 || st.Refused < 1 || st.Errors != 0 || st.Dropped != 0 {
		t.Errorf("stats = %+v", st)
	}
	if !strings.Contains(logs.String(), `name=Boot.Netboot.Test. type=TypeAAAA rcode=RCodeSuccess answers=1`) {
		t.Errorf("no log line for the query:\n%s", logs.String())
	}
}

func TestTCPPipelined(t *testing.T) {
	s, _ := startLoopback(t, Config{Records: testRecords()})
	c, err := net.Dial("tcp", s.Addrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Two queries in one write; two replies in order.
	var out []byte
	for id := range uint16(2) {
		q := query{id: id, name: "boot.netboot.test.", qtype: dnsmessage.TypeAAAA}.pack(t)
		out = binary.BigEndian.AppendUint16(out, uint16(len(q)))
		out = append(out, q...)
	}
	if _, err := c.Write(out); err != nil {
		t.Fatal(err)
	}
	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	for id := range uint16(2) {
		var size [2]byte
		if _, err := io.ReadFull(c, size[:]); err != nil {
			t.Fatal(err)
		}
		reply := make([]byte, binary.BigEndian.Uint16(size[:]))
		if _, err := io.ReadFull(c, reply); err != nil {
			t.Fatal(err)
		}
		var m dnsmessage.Message
		if err := m.Unpack(reply); err != nil || m.Header.ID != id || len(m.Answers) != 1 {
			t.Errorf("reply %d: %v, %+v", id, err, m.Header)
		}
	}
}

// TestTCPIdleConnectionsFromOneSource fills every TCP slot the server has
// with idle connections from one loopback address; a client at another
// address must still be answered at once, not after the idle timeout.
func TestTCPIdleConnectionsFromOneSource(t *testing.T) {
	hog, other := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2")
	var logs testlab.SyncBuffer
	s, err := Start(context.Background(), Config{Addresses: []netip.Addr{hog}, Records: testRecords()},
		slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	srv := s.Addrs()[0].String()
	dialFrom := func(a netip.Addr) net.Conn {
		t.Helper()
		d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(a, 0)), Timeout: 2 * time.Second}
		c, err := d.Dial("tcp", srv)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	idle := make([]net.Conn, maxTCPConns)
	for i := range idle {
		idle[i] = dialFrom(hog)
	}
	c := dialFrom(other)
	start := time.Now()
	q := query{id: 7, name: "boot.netboot.test.", qtype: dnsmessage.TypeAAAA}.pack(t)
	if _, err := c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(q))), q...)); err != nil {
		t.Fatal(err)
	}
	if err := c.SetReadDeadline(time.Now().Add(2 * time.Second)); err != nil {
		t.Fatal(err)
	}
	var size [2]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		t.Fatalf("query from %s with %d idle connections from %s: %v\n%s", other, len(idle), hog, err, logs.String())
	}
	reply := make([]byte, binary.BigEndian.Uint16(size[:]))
	if _, err := io.ReadFull(c, reply); err != nil {
		t.Fatal(err)
	}
	var m dnsmessage.Message
	if err := m.Unpack(reply); err != nil || m.Header.ID != 7 || len(m.Answers) != 1 {
		t.Errorf("reply: %v, %+v", err, m.Header)
	}
	t.Logf("answered in %s", time.Since(start).Round(time.Millisecond))
	// The server closes the connections beyond the per-source limit, soon
	// but not at once on a loaded machine. Only the connections it keeps
	// make the reads wait out their deadline.
	closed := 0
	for _, c := range idle {
		if err := c.SetReadDeadline(time.Now().Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Read(make([]byte, 1)); errors.Is(err, io.EOF) {
			closed++
		}
	}
	if want := maxTCPConns - maxTCPConnsPerSource; closed != want {
		t.Errorf("server closed %d of %d idle connections from %s, want %d", closed, len(idle), hog, want)
	}
	if !strings.Contains(logs.String(), "limit per peer address reached") {
		t.Errorf("no log line for the refused connections:\n%s", logs.String())
	}
}

func TestUDPGarbage(t *testing.T) {
	s, _ := startLoopback(t, Config{Records: testRecords()})
	c, err := net.Dial("udp", s.Addrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, msg := range [][]byte{{1}, bytes.Repeat([]byte{0xff}, 3000)} {
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
	}
	// The server is still answering.
	r := resolver(s.Addrs()[0])
	if _, err := r.LookupNetIP(context.Background(), "ip6", "boot.netboot.test."); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { st := s.Stats(); return st.Dropped+st.Errors == 2 })
}

func TestApply(t *testing.T) {
	cfg := Config{Records: testRecords()}
	s, _ := startLoopback(t, cfg)
	addr := s.Addrs()[0]
	ctx := context.Background()

	other := netip.MustParseAddr("2001:db8:2::1")
	cfg.Addresses, cfg.Port = []netip.Addr{loopback}, int(addr.Port())
	cfg.Records = map[string][]netip.Addr{"nfs.netboot.test": {other}}
	if err := s.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	if got := s.Addrs(); len(got) != 1 || got[0] != addr {
		t.Errorf("Addrs after Apply = %v, want %v", got, addr)
	}
	r := resolver(addr)
	if got, err := r.LookupNetIP(ctx, "ip6", "nfs.netboot.test."); err != nil || !slices.Equal(got, []netip.Addr{other}) {
		t.Errorf("nfs.netboot.test = %v, %v", got, err)
	}
	if _, err := r.LookupNetIP(ctx, "ip6", "boot.netboot.test."); err == nil {
		t.Error("a removed name still resolves")
	}

	bad := cfg
	bad.Records = map[string][]netip.Addr{"bad name": nil}
	if err := s.Apply(bad); err == nil {
		t.Error("Apply with a bad name succeeded")
	}
	if _, err := r.LookupNetIP(ctx, "ip6", "nfs.netboot.test."); err != nil {
		t.Errorf("after a failed Apply: %v", err)
	}

	moved := cfg
	moved.Port = 0
	if err := s.Apply(moved); err != nil {
		t.Fatal(err)
	}
	now := s.Addrs()
	if len(now) != 1 || now[0] == addr {
		t.Fatalf("Addrs after a port change = %v", now)
	}
	if _, err := resolver(now[0]).LookupNetIP(ctx, "ip6", "nfs.netboot.test."); err != nil {
		t.Error(err)
	}

	s.Stop()
	s.Stop()
	if err := s.Apply(cfg); !errors.Is(err, ErrStopped) {
		t.Errorf("Apply after Stop: %v, want ErrStopped", err)
	}
}

func TestStopClosesTCP(t *testing.T) {
	s, _ := startLoopback(t, Config{})
	c, err := net.Dial("tcp", s.Addrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(50 * time.Millisecond) // let the server accept it
	start := time.Now()
	s.Stop()
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Stop took %s with an idle TCP connection", took)
	}
	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("read after Stop: %v, want EOF", err)
	}
}

func TestStartRefuses(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"port", Config{Addresses: []netip.Addr{loopback}, Port: -1}, "out of range"},
		{"bad name", Config{Addresses: []netip.Addr{loopback}, Records: map[string][]netip.Addr{"a_b c": nil}}, "not allowed"},
		{"no address", Config{}, "no addresses to listen on"},
		{"link-local without zone", Config{Addresses: []netip.Addr{netip.MustParseAddr("fe80::1")}}, "needs its interface as zone"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Start(context.Background(), tt.cfg, nil)
			if err == nil {
				s.Stop()
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
	// A port taken for TCP only is refused with its name.
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	if s, err := Start(context.Background(), Config{Addresses: []netip.Addr{loopback}, Port: port}, nil); err == nil {
		s.Stop()
		t.Error("Start on a taken TCP port succeeded")
	} else if !strings.Contains(err.Error(), "binding TCP") {
		t.Errorf("error %q does not name TCP", err)
	}
}

func TestContextStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s, err := Start(ctx, Config{Addresses: []netip.Addr{loopback}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	waitFor(t, func() bool { return errors.Is(s.Apply(Config{Addresses: []netip.Addr{loopback}}), ErrStopped) })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 10 s")
}
