package tftp

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
	ptftp "github.com/pin/tftp/v3"
)

var loopback = netip.MustParseAddr("::1")

// startLoopback starts a server on [::1] and a free port.
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

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestServesFilesWithNegotiatedOptions(t *testing.T) {
	forEachSocketKind(t, testServesFilesWithNegotiatedOptions)
}

func testServesFilesWithNegotiatedOptions(t *testing.T, sockets *socketPolicy) {
	big := randomBytes(t, 1<<20+7)
	files := fstest.MapFS{
		"undionly.kpxe":     {Data: []byte("small boot loader")},
		"boot/ipxe.efi":     {Data: big},
		"exact":             {Data: randomBytes(t, 2*1432)},
		"empty":             {Data: nil},
		"boot/x86_64/dummy": {Data: []byte("x")},
	}
	s, logs := startLoopback(t, Config{Files: files, sockets: sockets})
	srv := s.Addrs()[0]

	tests := []struct {
		name, file string
		opts       []string
		want       []byte
		wantOACK   map[string]string
	}{
		{name: "plain RFC 1350", file: "undionly.kpxe", want: files["undionly.kpxe"].Data},
		{name: "leading slash", file: "/undionly.kpxe", want: files["undionly.kpxe"].Data},
		{
			name: "blksize and tsize as iPXE asks", file: "boot/ipxe.efi",
			opts: []string{"blksize", "1432", "tsize", "0"}, want: big,
			wantOACK: map[string]string{"blksize": "1432", "tsize": strconv.Itoa(len(big))},
		},
		{
			name: "blksize above the cap is lowered", file: "boot/ipxe.efi",
			opts: []string{"blksize", "8192"}, want: big,
			wantOACK: map[string]string{"blksize": "1432"},
		},
		{
			// rawGet ACKs every block, not each window as RFC 7440 clients
			// do: TestWindowSizeRecoversLostBlock tests the transfer.
			name: "windowsize (RFC 7440)", file: "undionly.kpxe",
			opts: []string{"blksize", "1024", "windowsize", "8"}, want: files["undionly.kpxe"].Data,
			wantOACK: map[string]string{"blksize": "1024", "windowsize": "8"},
		},
		{
			name: "multiple of the block size ends with an empty block", file: "exact",
			opts: []string{"blksize", "1432"}, want: files["exact"].Data,
			wantOACK: map[string]string{"blksize": "1432"},
		},
		{name: "empty file", file: "empty", want: []byte{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, oack, err := rawGet(srv, tt.file, tt.opts, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("got %d bytes, want %d (contents differ)", len(got), len(tt.want))
			}
			if fmt.Sprint(oack) != fmt.Sprint(tt.wantOACK) {
				t.Errorf("OACK = %v, want %v", oack, tt.wantOACK)
			}
		})
	}
	// The client is done once it sends the last ACK; the server a moment later.
	waitFor(t, func() bool { return s.Stats().TransfersOK+s.Stats().TransfersFailed == uint64(len(tests)) })
	st := s.Stats()
	if st.TransfersOK != uint64(len(tests)) || st.TransfersFailed != 0 || st.Requests != uint64(len(tests)) {
		t.Errorf("stats = %+v, want %d requests all ok", st, len(tests))
	}
	if want := uint64(2*len(big) + 3*len(files["undionly.kpxe"].Data) + len(files["exact"].Data)); st.BytesSent != want {
		t.Errorf("BytesSent = %d, want %d", st.BytesSent, want)
	} else if st.TransferBytes.Count != uint64(len(tests)) || uint64(st.TransferBytes.Sum) != want || st.TransferSeconds.Count != uint64(len(tests)) {
		t.Errorf("transfer histograms: bytes %d observations summing to %d, durations %d; want %d transfers of %d bytes", st.TransferBytes.Count, st.TransferBytes.Sum, st.TransferSeconds.Count, len(tests), want)
	}
	for _, want := range []string{
		"tftp transfer complete", "client=[::1]:", "file=boot/ipxe.efi", "bytes=1048583", "duration=",
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

// TestPinClient checks interoperability with pin/tftp's own client, which
// learns the size from tsize.
func TestPinClient(t *testing.T) {
	data := randomBytes(t, 300000)
	s, _ := startLoopback(t, Config{Files: fstest.MapFS{"f": {Data: data}}})
	c, err := ptftp.NewClient(s.Addrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	c.SetBlockSize(1428)
	c.RequestTSize(true)
	wt, err := c.Receive("f", "octet")
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := wt.(ptftp.IncomingTransfer).Size(); !ok || n != int64(len(data)) {
		t.Errorf("tsize = %d, %v; want %d", n, ok, len(data))
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), data) {
		t.Fatal("contents differ")
	}
	waitFor(t, func() bool { return s.Stats().TransfersOK == 1 })
}

func TestRefusals(t *testing.T) {
	files := fstest.MapFS{
		"boot/ipxe.efi": {Data: []byte("x")},
		"secret":        {Data: []byte("y")},
	}
	s, logs := startLoopback(t, Config{Files: files})
	tests := []struct {
		file, wantMsg string
	}{
		{"../../etc/passwd", "invalid file name"},
		{"/../secret", "invalid file name"},
		{"boot/../secret", "invalid file name"},
		{`..\secret`, "invalid file name"},
		{"boot//ipxe.efi", "invalid file name"},
		{"missing.efi", "file not found"},
		{"boot", "file not found"}, // a directory: no listings
	}
	for _, tt := range tests {
		_, _, err := rawGet(s.Addrs()[0], tt.file, nil, nil)
		if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
			t.Errorf("get %q: error %v, want %q", tt.file, err, tt.wantMsg)
		}
	}
	c, err := ptftp.NewClient(s.Addrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	rf, err := c.Send("upload", "octet")
	if err == nil {
		_, err = rf.ReadFrom(strings.NewReader("data"))
	}
	if err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("write request: error %v, want read-only refusal", err)
	}

	st := s.Stats()
	if st.RefusedBadPath != 5 || st.RefusedNotFound != 2 || st.RefusedWrite != 1 || st.TransfersOK != 0 {
		t.Errorf("stats = %+v", st)
	}
	if !strings.Contains(logs.String(), `file=../../etc/passwd reason="file name has a \".\" or \"..\" path element"`) {
		t.Errorf("log does not explain the traversal refusal:\n%s", logs.String())
	}
}

func TestTransferLimits(t *testing.T) {
	gate := make(chan struct{})
	files := gatedFS{MapFS: fstest.MapFS{"slow": {Data: randomBytes(t, 5000)}, "fast": {Data: []byte("ok")}}, gate: gate}
	s, _ := startLoopback(t, Config{Files: files, MaxTransfers: 1, MaxTransfersPerClient: 1})
	srv := s.Addrs()[0]

	slow := make(chan error, 1)
	go func() {
		got, _, err := rawGet(srv, "slow", []string{"blksize", "1024"}, nil)
		if err == nil && len(got) != 5000 {
			err = fmt.Errorf("got %d bytes", len(got))
		}
		slow <- err
	}()
	waitFor(t, func() bool { return s.Stats().Requests == 1 })
	if _, _, err := rawGet(srv, "fast", nil, nil); err == nil || !strings.Contains(err.Error(), "too many transfers") {
		t.Errorf("second transfer while one runs: error %v, want refusal", err)
	}
	// Apply raises the limits live, without touching the transfer in flight.
	if err := s.Apply(Config{Addresses: []netip.Addr{loopback}, Files: files, MaxTransfers: 2, MaxTransfersPerClient: 2}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := rawGet(srv, "fast", nil, nil); err != nil {
		t.Errorf("after raising limits: %v", err)
	}
	close(gate)
	if err := <-slow; err != nil {
		t.Errorf("slow transfer: %v", err)
	}
	waitFor(t, func() bool { return s.Stats().TransfersOK == 2 })
	if st := s.Stats(); st.RefusedBusy != 1 {
		t.Errorf("stats = %+v", st)
	}
}

// TestTransferLimitPerClient: with MaxTransfersPerClient transfers from
// one address in flight, that address is refused and another is served;
// Apply changes the limit live.
func TestTransferLimitPerClient(t *testing.T) {
	busy, other := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2")
	gate := make(chan struct{})
	files := gatedFS{MapFS: fstest.MapFS{"slow": {Data: randomBytes(t, 3000)}, "fast": {Data: []byte("ok")}}, gate: gate}
	cfg := Config{Addresses: []netip.Addr{busy}, Files: files, MaxTransfers: 10, MaxTransfersPerClient: 3}
	s, err := Start(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	srv := s.Addrs()[0]

	slow := make(chan error, cfg.MaxTransfersPerClient)
	for range cfg.MaxTransfersPerClient {
		go func() {
			_, _, err := rawGetFrom(busy, srv, "slow", nil, nil)
			slow <- err
		}()
	}
	waitFor(t, func() bool { return s.Stats().Requests == uint64(cfg.MaxTransfersPerClient) })
	if _, _, err := rawGetFrom(busy, srv, "fast", nil, nil); err == nil || !strings.Contains(err.Error(), "too many transfers in progress for this client") {
		t.Errorf("transfer %d from %s: error %v, want the per-client refusal", cfg.MaxTransfersPerClient+1, busy, err)
	}
	if got, _, err := rawGetFrom(other, srv, "fast", nil, nil); err != nil || string(got) != "ok" {
		t.Errorf("transfer from %s beside %d from %s: %q, %v", other, cfg.MaxTransfersPerClient, busy, got, err)
	}
	cfg.MaxTransfersPerClient++
	if err := s.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	if got, _, err := rawGetFrom(busy, srv, "fast", nil, nil); err != nil || string(got) != "ok" {
		t.Errorf("after raising the limit to %d: %q, %v", cfg.MaxTransfersPerClient, got, err)
	}
	close(gate)
	for range cfg.MaxTransfersPerClient - 1 {
		if err := <-slow; err != nil {
			t.Errorf("slow transfer: %v", err)
		}
	}
	waitFor(t, func() bool { return s.Stats().TransfersOK == 5 })
	if st := s.Stats(); st.RefusedBusy != 1 {
		t.Errorf("stats = %+v, want 1 refused", st)
	}
}

func TestApply(t *testing.T) {
	s, _ := startLoopback(t, Config{Files: fstest.MapFS{"f": {Data: []byte("one")}}})
	before := s.Addrs()

	// New files, same addresses and port 0: served at once, no rebind.
	cfg := Config{Addresses: []netip.Addr{loopback}, Files: fstest.MapFS{"f": {Data: []byte("two")}}}
	if err := s.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	if got := s.Addrs(); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Errorf("Apply with the same addresses rebound: %v -> %v", before, got)
	}
	if got, _, err := rawGet(before[0], "f", nil, nil); err != nil || string(got) != "two" {
		t.Errorf("after Apply got %q, %v; want two", got, err)
	}
	waitFor(t, func() bool { return s.Stats().TransfersOK == 1 })

	// A new port rebinds.
	cfg.Port = freeUDPPort(t)
	if err := s.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	after := s.Addrs()
	if len(after) != 1 || int(after[0].Port()) != cfg.Port {
		t.Fatalf("Addrs after new port = %v, want port %d", after, cfg.Port)
	}
	if got, _, err := rawGet(after[0], "f", nil, nil); err != nil || string(got) != "two" {
		t.Errorf("on the new port got %q, %v", got, err)
	}
	waitFor(t, func() bool { return s.Stats().TransfersOK == 2 })

	// A new block-size cap restarts the listener on the same port.
	cfg.MaxBlockSize = 600
	if err := s.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	if _, oack, err := rawGet(after[0], "f", []string{"blksize", "1432"}, nil); err != nil || oack["blksize"] != "600" {
		t.Errorf("after lowering the cap: OACK %v, %v; want blksize 600", oack, err)
	}
	waitFor(t, func() bool { return s.Stats().TransfersOK == 3 })

	// A bind failure changes nothing.
	busy, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	bad := cfg
	bad.Port = busy.LocalAddr().(*net.UDPAddr).Port
	if err := s.Apply(bad); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("[::1]:%d", bad.Port)) {
		t.Errorf("Apply onto a busy port: error %v, want one naming [::1]:%d", err, bad.Port)
	}
	if got, _, err := rawGet(after[0], "f", nil, nil); err != nil || string(got) != "two" {
		t.Errorf("after failed Apply got %q, %v", got, err)
	}
	waitFor(t, func() bool { return s.Stats().TransfersOK == 4 })
}

func TestStartErrors(t *testing.T) {
	busy, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.LocalAddr().(*net.UDPAddr).Port
	files := fstest.MapFS{}
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"port in use", Config{Addresses: []netip.Addr{loopback}, Port: port, Files: files}, fmt.Sprintf("binding [::1]:%d", port)},
		{"no files", Config{Addresses: []netip.Addr{loopback}}, "Files is nil"},
		{"nothing to bind", Config{Files: files}, "no addresses"},
		{"link-local without zone", Config{Addresses: []netip.Addr{netip.MustParseAddr("fe80::1")}, Files: files}, "needs its interface as zone"},
		{"tiny block size", Config{Addresses: []netip.Addr{loopback}, Files: files, MaxBlockSize: 100}, "block size 100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Start(context.Background(), tt.cfg, nil)
			if err == nil {
				s.Stop()
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestStop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s, err := Start(ctx, Config{Addresses: []netip.Addr{loopback}, Files: fstest.MapFS{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := s.Addrs()[0]
	cancel()
	waitFor(t, func() bool {
		return errors.Is(s.Apply(Config{Files: fstest.MapFS{}, Addresses: []netip.Addr{loopback}}), ErrStopped)
	})
	s.Stop() // idempotent
	// The port is free again.
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
	if err != nil {
		t.Fatalf("port still bound after Stop: %v", err)
	}
	conn.Close()
}

// TestStopAbortsTransferInFlight checks that Stop does not wait for a long
// transfer to finish.
func TestStopAbortsTransferInFlight(t *testing.T) {
	forEachSocketKind(t, testStopAbortsTransferInFlight)
}

func testStopAbortsTransferInFlight(t *testing.T, sockets *socketPolicy) {
	s, err := Start(context.Background(), Config{
		Addresses: []netip.Addr{loopback}, Timeout: 500 * time.Millisecond,
		Files: fstest.MapFS{"big": {Data: make([]byte, 50<<20)}}, sockets: sockets,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	result := make(chan error, 1)
	go func() {
		_, _, err := rawGet(s.Addrs()[0], "big", nil, nil)
		result <- err
	}()
	waitFor(t, func() bool { return s.Stats().BytesSent > 0 || s.Stats().Requests > 0 })
	start := time.Now()
	s.Stop()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Stop took %v", d)
	}
	if err := <-result; err == nil || !strings.Contains(err.Error(), "server shutting down") {
		t.Errorf("transfer during Stop: error %v, want an ERROR saying the server shuts down", err)
	}
	if st := s.Stats(); st.TransfersFailed != 1 {
		t.Errorf("stats = %+v, want one failed transfer", st)
	}
}

// TestSurvivesJunk sends what a confused or hostile client might: short and
// unknown datagrams, stray ACKs, and oversized datagrams into a running
// transfer, which would panic pin/tftp v3.1.0 without the socket filter.
func TestSurvivesJunk(t *testing.T) { forEachSocketKind(t, testSurvivesJunk) }

func testSurvivesJunk(t *testing.T, sockets *socketPolicy) {
	data := randomBytes(t, 20000)
	s, _ := startLoopback(t, Config{Files: fstest.MapFS{"f": {Data: data}}, sockets: sockets})
	srv := s.Addrs()[0]

	junk, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(srv))
	if err != nil {
		t.Fatal(err)
	}
	defer junk.Close()
	for _, p := range [][]byte{
		{}, {0}, {0, 1}, {0, 9, 1, 2}, {0, 4, 0, 1}, {0, 3, 0, 1, 'x'}, {0, 5, 0, 1, 0},
		append([]byte{0, 1}, bytes.Repeat([]byte("a"), 1400)...), // oversized RRQ
	} {
		if _, err := junk.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	// Mid-transfer, from the transfer's own port: an oversized datagram and
	// a duplicate ACK.
	got, _, err := rawGet(srv, "f", []string{"blksize", "1432"}, func(c *net.UDPConn, server *net.UDPAddr) {
		c.WriteToUDP(bytes.Repeat([]byte{0, 4}, 600), server)
		c.WriteToUDP([]byte{0, 4, 0, 1}, server)
	})
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("transfer with junk: %d bytes, %v", len(got), err)
	}
	if got, _, err := rawGet(srv, "f", nil, nil); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("transfer after junk: %d bytes, %v", len(got), err)
	}
	waitFor(t, func() bool { return s.Stats().TransfersOK == 2 })
	if st := s.Stats(); st.DroppedPackets == 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestDefaults(t *testing.T) {
	cfg, err := withDefaults(Config{Files: fstest.MapFS{}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Port != 0 || cfg.MaxBlockSize != DefaultMaxBlockSize || cfg.Timeout != DefaultTimeout ||
		cfg.MaxTransfers != DefaultMaxTransfers || cfg.MaxTransfersPerClient != DefaultMaxTransfersPerClient {
		t.Errorf("withDefaults = %+v", cfg)
	}
	for _, tt := range []struct{ max, mtu, want int }{
		{1432, 0, 1432}, {1432, 1500, 1432}, {1468, 1500, 1448}, {8000, 9000, 8000}, {1432, 1280, 1228}, {1432, 500, 512},
	} {
		if got := blockSizeFor(tt.max, tt.mtu); got != tt.want {
			t.Errorf("blockSizeFor(%d, MTU %d) = %d, want %d", tt.max, tt.mtu, got, tt.want)
		}
	}
}

// rawGet is a minimal TFTP client that reports the server's OACK. during,
// if set, runs once after the first DATA block.
func rawGet(server netip.AddrPort, file string, opts []string, during func(*net.UDPConn, *net.UDPAddr)) ([]byte, map[string]string, error) {
	return rawGetFrom(loopback, server, file, opts, during)
}

// rawGetFrom is rawGet from the local address client.
func rawGetFrom(client netip.Addr, server netip.AddrPort, file string, opts []string, during func(*net.UDPConn, *net.UDPAddr)) ([]byte, map[string]string, error) {
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(client, 0)))
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close()
	req := append([]byte{0, 1}, file...)
	req = append(req, 0)
	req = append(req, "octet"...)
	req = append(req, 0)
	for _, o := range opts {
		req = append(append(req, o...), 0)
	}
	dst := net.UDPAddrFromAddrPort(server)
	if _, err := conn.WriteToUDP(req, dst); err != nil {
		return nil, nil, err
	}
	var (
		data     = []byte{}
		oack     map[string]string
		blksize  = 512
		expected = uint16(1)
		buf      = make([]byte, 65536)
	)
	ack := func(block uint16, to *net.UDPAddr) error {
		_, err := conn.WriteToUDP(binary.BigEndian.AppendUint16([]byte{0, 4}, block), to)
		return err
	}
	for {
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, from, err := conn.ReadFromUDP(buf)
		if err != nil {
			return data, oack, err
		}
		p := buf[:n]
		if n < 4 {
			return data, oack, fmt.Errorf("short packet % x", p)
		}
		switch binary.BigEndian.Uint16(p) {
		case 6: // OACK
			oack = map[string]string{}
			fields := strings.Split(strings.TrimSuffix(string(p[2:]), "\x00"), "\x00")
			for i := 0; i+1 < len(fields); i += 2 {
				oack[fields[i]] = fields[i+1]
			}
			if b, err := strconv.Atoi(oack["blksize"]); err == nil {
				blksize = b
			}
			if err := ack(0, from); err != nil {
				return data, oack, err
			}
		case 3: // DATA
			block := binary.BigEndian.Uint16(p[2:])
			if block == expected {
				data = append(data, p[4:]...)
				expected++
			}
			if err := ack(block, from); err != nil {
				return data, oack, err
			}
			if block == 1 && during != nil {
				during(conn, from)
				during = nil
			}
			if block == expected-1 && n-4 < blksize {
				return data, oack, nil
			}
		case 5: // ERROR
			return data, oack, fmt.Errorf("TFTP error %d: %s", binary.BigEndian.Uint16(p[2:]), strings.TrimRight(string(p[4:]), "\x00"))
		default:
			return data, oack, fmt.Errorf("unexpected packet % x", p[:4])
		}
	}
}

func freeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// gatedFS serves MapFS files whose reads wait until gate closes.
type gatedFS struct {
	fstest.MapFS
	gate chan struct{}
}

func (g gatedFS) Open(name string) (fs.File, error) {
	f, err := g.MapFS.Open(name)
	if err != nil || name != "slow" {
		return f, err
	}
	return gatedFile{File: f, gate: g.gate}, nil
}

type gatedFile struct {
	fs.File
	gate chan struct{}
}

func (f gatedFile) Read(p []byte) (int, error) {
	<-f.gate
	return f.File.Read(p)
}

// clientMapFS serves its files only to the address owner.
type clientMapFS struct {
	fstest.MapFS
	owner netip.Addr
}

func (c clientMapFS) OpenFrom(client netip.Addr, name string) (fs.File, error) {
	if client != c.owner {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("not %s: %w", c.owner, fs.ErrPermission)}
	}
	return c.Open(name)
}

// An FS with OpenFrom is opened with the client's address, and its refusal
// is an access violation, counted and logged with the reason.
func TestOpensWithTheClientAddress(t *testing.T) {
	data := fstest.MapFS{"user-data": {Data: []byte("secret")}}
	s, _ := startLoopback(t, Config{Files: clientMapFS{MapFS: data, owner: loopback}})
	if _, _, err := rawGet(s.Addrs()[0], "user-data", nil, nil); err != nil {
		t.Errorf("from the owner: %v", err)
	}
	s, logs := startLoopback(t, Config{Files: clientMapFS{MapFS: data, owner: netip.MustParseAddr("2001:db8::1")}})
	_, _, err := rawGet(s.Addrs()[0], "user-data", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "access denied") {
		t.Errorf("from another address: error %v, want access denied", err)
	}
	if st := s.Stats(); st.RefusedDenied != 1 {
		t.Errorf("stats = %+v", st)
	}
	if !strings.Contains(logs.String(), "not 2001:db8::1") {
		t.Errorf("log lacks the reason:\n%s", logs.String())
	}
}
