package dhcp6

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"

	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
)

// TestBlockingSocket checks the server's socket on loopback: it blocks
// (no O_NONBLOCK: its thread waits in recvmmsg, outside Go's poller), a
// read returns the datagrams queued without waiting to fill the batch, an
// idle read gives up after receiveTimeout so expired leases get reaped,
// and Close wakes a read under way.
func TestBlockingSocket(t *testing.T) {
	testlab.RequireRoot(t) // SO_BINDTODEVICE
	sock, err := openBlocking("lo", 0)
	if err != nil {
		t.Fatal(err)
	}
	conn := ipv6.NewPacketConn(sock)
	closed := false
	t.Cleanup(func() {
		if !closed {
			conn.Close()
		}
	})
	flags, err := unix.FcntlInt(uintptr(sock.fd), unix.F_GETFL, 0)
	if err != nil || flags&unix.O_NONBLOCK != 0 {
		t.Fatalf("socket flags %#x (%v): want a blocking socket", flags, err)
	}
	if err := conn.SetControlMessage(ipv6.FlagDst|ipv6.FlagInterface, true); err != nil {
		t.Fatal(err)
	}
	client, err := net.DialUDP("udp6", nil, &net.UDPAddr{IP: net.IPv6loopback, Port: sock.LocalAddr().(*net.UDPAddr).Port})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	for _, m := range []string{"one", "two", "three"} {
		if _, err := client.Write([]byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	ms := newMessages()
	start := time.Now()
	n, err := conn.ReadBatch(ms, unix.MSG_WAITFORONE)
	if err != nil || n != 3 || string(ms[2].Buffers[0][:ms[2].N]) != "three" {
		t.Fatalf("ReadBatch = %d, %v; want the 3 datagrams queued", n, err)
	}
	if d := time.Since(start); d > receiveTimeout/2 {
		t.Errorf("ReadBatch took %v for datagrams already queued", d)
	}
	if _, err := conn.ReadBatch(ms, unix.MSG_DONTWAIT); !errors.Is(err, unix.EAGAIN) {
		t.Errorf("ReadBatch(MSG_DONTWAIT) on an empty socket: %v, want EAGAIN", err)
	}

	start = time.Now()
	if _, err := conn.ReadBatch(ms, unix.MSG_WAITFORONE); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("idle ReadBatch: %v, want os.ErrDeadlineExceeded", err)
	}
	if d := time.Since(start); d < receiveTimeout*9/10 || d > 3*receiveTimeout {
		t.Errorf("idle ReadBatch returned after %v, want about %v", d, receiveTimeout)
	}

	read := make(chan error, 1)
	go func() {
		_, err := conn.ReadBatch(ms, unix.MSG_WAITFORONE)
		read <- err
	}()
	time.Sleep(receiveTimeout / 10)
	closedAt := time.Now()
	closed = true
	if err := conn.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	select {
	case err := <-read:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("ReadBatch woken by Close: %v, want net.ErrClosed", err)
		}
		if d := time.Since(closedAt); d > receiveTimeout/2 {
			t.Errorf("ReadBatch returned %v after Close", d)
		}
	case <-time.After(3 * receiveTimeout):
		t.Fatal("Close did not wake ReadBatch")
	}
	if _, err := conn.WriteBatch(ms[:1], 0); !errors.Is(err, net.ErrClosed) {
		t.Errorf("WriteBatch after Close: %v, want net.ErrClosed", err)
	}
}
