package tftp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// scriptedClient is a TFTP client whose ACKs a test decides: onData gets
// each DATA block number and payload and returns the blocks to ACK.
type scriptedClient struct {
	conn   *net.UDPConn
	server *net.UDPAddr // the transfer's address once it answers
}

func newScriptedClient(t *testing.T, srv netip.AddrPort, file string, opts ...string) *scriptedClient {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	req := rq(opRRQ, append([]string{file, "octet"}, opts...)...)
	if _, err := conn.WriteToUDP(req, net.UDPAddrFromAddrPort(srv)); err != nil {
		t.Fatal(err)
	}
	return &scriptedClient{conn: conn}
}

// next returns the next datagram's opcode, block (or error code) and payload.
func (c *scriptedClient) next(wait time.Duration) (op, block uint16, payload []byte, err error) {
	buf := make([]byte, 65536)
	c.conn.SetReadDeadline(time.Now().Add(wait))
	n, from, err := c.conn.ReadFromUDP(buf)
	if err != nil {
		return 0, 0, nil, err
	}
	if n < 4 {
		return 0, 0, nil, errors.New("short datagram")
	}
	c.server = from
	return binary.BigEndian.Uint16(buf), binary.BigEndian.Uint16(buf[2:]), buf[4:n], nil
}

func (c *scriptedClient) ack(t *testing.T, block uint16) {
	t.Helper()
	if _, err := c.conn.WriteToUDP(binary.BigEndian.AppendUint16([]byte{0, opACK}, block), c.server); err != nil {
		t.Fatal(err)
	}
}

// TestRetransmitsOnLostACK drops the client's first ACK of block 2: the
// server must send block 2 again after its timeout, and the file arrives
// whole.
func TestRetransmitsOnLostACK(t *testing.T) { forEachSocketKind(t, testRetransmitsOnLostACK) }

func testRetransmitsOnLostACK(t *testing.T, sockets *socketPolicy) {
	data := randomBytes(t, 3*512+100)
	s, _ := startLoopback(t, Config{Files: fstest.MapFS{"f": {Data: data}}, Timeout: 200 * time.Millisecond, sockets: sockets})
	c := newScriptedClient(t, s.Addrs()[0], "f")
	var got []byte
	seen := map[uint16]int{}
	start := time.Now()
	for {
		op, block, payload, err := c.next(2 * time.Second)
		if err != nil || op != opDATA {
			t.Fatalf("op %d, %v", op, err)
		}
		seen[block]++
		if seen[block] == 1 {
			got = append(got, payload...)
		}
		if block == 2 && seen[block] == 1 {
			continue // this ACK is "lost"
		}
		c.ack(t, block)
		if len(payload) < 512 {
			break
		}
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("got %d bytes, want %d", len(got), len(data))
	}
	if seen[2] != 2 || time.Since(start) < 200*time.Millisecond {
		t.Errorf("block 2 sent %d times within %v, want a resend after the 200ms timeout", seen[2], time.Since(start))
	}
	waitFor(t, func() bool { return s.Stats().TransfersOK == 1 })
}

// TestWindowSizeRecoversLostBlock follows RFC 7440: the client ACKs each
// full window, loses block 6 once and ACKs block 5 when block 7 comes
// instead; the server must resend from block 6 at once, not after a
// timeout.
func TestWindowSizeRecoversLostBlock(t *testing.T) {
	forEachSocketKind(t, testWindowSizeRecoversLostBlock)
}

func testWindowSizeRecoversLostBlock(t *testing.T, sockets *socketPolicy) {
	const window = 4
	data := randomBytes(t, 20*512+7)
	s, _ := startLoopback(t, Config{Files: fstest.MapFS{"f": {Data: data}}, Timeout: 5 * time.Second, sockets: sockets})
	c := newScriptedClient(t, s.Addrs()[0], "f", "windowsize", "4", "blksize", "512")
	op, _, payload, err := c.next(2 * time.Second)
	if err != nil || op != opOACK || !strings.Contains(string(payload), "windowsize\x004") {
		t.Fatalf("want an OACK with windowsize 4; got op %d %q, %v", op, payload, err)
	}
	c.ack(t, 0)
	var got []byte
	expected, inWindow, lost := uint16(1), 0, false
	start := time.Now()
	for {
		op, block, payload, err := c.next(time.Second)
		if err != nil || op != opDATA {
			t.Fatalf("op %d, %v (resend waited for a timeout?)", op, err)
		}
		if block == 6 && !lost {
			lost = true
			continue
		}
		if block != expected {
			if block == expected+1 {
				c.ack(t, expected-1) // out of order: ACK the last good block
				inWindow = 0
			}
			continue
		}
		got = append(got, payload...)
		expected++
		inWindow++
		if inWindow == window || len(payload) < 512 {
			c.ack(t, block)
			inWindow = 0
		}
		if len(payload) < 512 {
			break
		}
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("got %d bytes, want %d", len(got), len(data))
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("transfer took %v: recovery waited for a timeout", d)
	}
	waitFor(t, func() bool { return s.Stats().TransfersOK == 1 })
}

// TestStopWakesSilentClient: a client that negotiated the longest timeout
// and went silent must not hold Stop for longer than the server's timeout.
func TestStopWakesSilentClient(t *testing.T) { forEachSocketKind(t, testStopWakesSilentClient) }

func testStopWakesSilentClient(t *testing.T, sockets *socketPolicy) {
	s, err := Start(t.Context(), Config{
		Addresses: []netip.Addr{loopback}, Timeout: 300 * time.Millisecond,
		Files: fstest.MapFS{"f": {Data: randomBytes(t, 10000)}}, sockets: sockets,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := newScriptedClient(t, s.Addrs()[0], "f", "timeout", "255")
	if op, _, _, err := c.next(2 * time.Second); err != nil || op != opOACK {
		t.Fatalf("want an OACK; op %d, %v", op, err)
	}
	start := time.Now()
	s.Stop()
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("Stop took %v", d)
	}
	if st := s.Stats(); st.TransfersFailed != 1 {
		t.Errorf("stats = %+v, want one failed transfer", st)
	}
}

// TestWriteRequestRefused checks the ERROR code and that nothing is kept.
func TestWriteRequestRefused(t *testing.T) {
	s, _ := startLoopback(t, Config{Files: fstest.MapFS{}})
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(s.Addrs()[0]))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write(rq(opWRQ, "upload", "octet")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 600)
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf[:4], []byte{0, opERROR, 0, errCodeAccessViolation}) || !strings.Contains(string(buf[4:n]), "read-only") {
		t.Errorf("reply % x %q, want ERROR 2 read-only", buf[:4], buf[4:n])
	}
	if st := s.Stats(); st.RefusedWrite != 1 || st.Requests != 1 {
		t.Errorf("stats = %+v", st)
	}
}

// TestTransfersBesideOthersArePolled: the socket follows the transfers in
// flight, not the file's size.
func TestTransfersBesideOthersArePolled(t *testing.T) {
	s := &Server{sockets: socketPolicy{blocking: 1}}
	for _, c := range []struct {
		active int
		polled bool
	}{
		{1, false}, // alone: blocking
		{2, true},  // beside another: polled
		{50, true}, // among 50, whatever the file's size
	} {
		if got := s.polled(c.active); got != c.polled {
			t.Errorf("polled(%d active) = %v, want %v", c.active, got, c.polled)
		}
	}
}

// TestDefaultSocketsLeaveAPForThePoller: blocking transfers take at most
// all Ps but one, and a lone transfer always blocks.
func TestDefaultSocketsLeaveAPForThePoller(t *testing.T) {
	for _, c := range []struct{ procs, blocking int }{{1, 1}, {2, 1}, {4, 3}, {16, 15}} {
		prev := runtime.GOMAXPROCS(c.procs)
		got := defaultSockets().blocking
		runtime.GOMAXPROCS(prev)
		if got != c.blocking {
			t.Errorf("GOMAXPROCS %d: %d blocking transfers, want %d", c.procs, got, c.blocking)
		}
	}
}

// forEachSocketKind runs test with the transfer sockets a lone transfer
// gets (blocking) and those of a busy server (polled): see transferConn.
func forEachSocketKind(t *testing.T, test func(*testing.T, *socketPolicy)) {
	t.Run("blocking", func(t *testing.T) { test(t, nil) })
	t.Run("polled", func(t *testing.T) { test(t, &socketPolicy{}) })
}
