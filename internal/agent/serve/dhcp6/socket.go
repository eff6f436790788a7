package dhcp6

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/link"
)

// serverLink is what Start takes from the interface the agent resolved.
type serverLink struct {
	ifi      *net.Interface
	duid     dhcpv6.DUID
	ownAddrs []netip.Addr // never leased to clients
}

func lookupLink(li link.Interface) (*serverLink, error) {
	ifi, name := li.Net(), li.Name
	var hwType iana.HWType
	switch len(ifi.HardwareAddr) {
	case 6:
		hwType = iana.HWTypeEthernet
	case 20:
		hwType = iana.HWTypeInfiniband
	default:
		return nil, fmt.Errorf("interface %s has no Ethernet or InfiniBand hardware address to build the server DUID-LL from", name)
	}
	l := &serverLink{ifi: ifi, duid: &dhcpv6.DUIDLL{HWType: hwType, LinkLayerAddr: ifi.HardwareAddr}}
	hasLinkLocal := false
	for _, a := range li.Addrs {
		if a.Addr.IsLinkLocalUnicast() {
			hasLinkLocal = true
			continue
		}
		l.ownAddrs = append(l.ownAddrs, a.Addr)
	}
	if !hasLinkLocal {
		return nil, fmt.Errorf("interface %s has no IPv6 link-local address: DHCPv6 replies are sent from one (is the link up, with IPv6 enabled?)", name)
	}
	return l, nil
}

// receiveBuffer holds the datagrams that arrive while the server waits for
// a commit's fsync: at 16,000 messages a second (a boot storm of 8,000
// clients a second) a 30 ms stall queues about 500 of them, which
// overflowed the kernel's default 208 KiB (Udp6RcvbufErrors in the DHCPv6
// benchmark). 4 MiB holds several times that.
const receiveBuffer = 4 << 20

// receiveTimeout is the longest a read waits before the serving loop wakes
// to expire leases; an idle server wakes once per receiveTimeout.
const receiveTimeout = time.Second

// listen opens [::]:547 bound to the interface (SO_BINDTODEVICE, with
// SO_REUSEADDR so boot servers on other interfaces can do the same) and
// joins All_DHCP_Relay_Agents_and_Servers (ff02::1:2) there. Only directly
// attached clients are served, so the site-scoped All_DHCP_Servers group,
// which relays use, is not joined. The socket blocks (blockingSocket).
func listen(ifi *net.Interface) (*ipv6.PacketConn, error) {
	sock, err := openBlocking(ifi.Name, dhcpv6.DefaultServerPort)
	if err != nil {
		return nil, fmt.Errorf("listening on [::]:%d on interface %s (is another DHCPv6 server running?): %w", dhcpv6.DefaultServerPort, ifi.Name, err)
	}
	conn := ipv6.NewPacketConn(sock)
	group := &net.UDPAddr{IP: dhcpv6.AllDHCPRelayAgentsAndServers}
	if err := conn.JoinGroup(ifi, group); err != nil {
		conn.Close()
		return nil, fmt.Errorf("joining %s on interface %s: %w", group.IP, ifi.Name, err)
	}
	// The destination tells multicast from unicast (RFC 8415 section 16).
	if err := conn.SetControlMessage(ipv6.FlagDst|ipv6.FlagInterface, true); err != nil {
		conn.Close()
		return nil, fmt.Errorf("enabling packet info on interface %s: %w", ifi.Name, err)
	}
	return conn, nil
}

// blockingSocket is the server's UDP socket in blocking mode, outside Go's
// poller. The serving goroutine's thread waits in recvmmsg itself and the
// kernel wakes that thread when a datagram arrives, as a C server's select
// loop is woken. On the poller, each datagram after a quiet spell cost a
// failed recvmmsg, an epoll wait, often a futex wake-up of another thread
// and a trip through the scheduler before the goroutine ran. Only one
// goroutine reads, so holding a thread costs one thread.
//
// It is a net.PacketConn only so that ipv6.PacketConn (which packs the
// mmsghdrs of ReadBatch and WriteBatch) takes it: ipv6.PacketConn uses its
// SyscallConn and Close, and the other methods report errUnsupported.
type blockingSocket struct {
	// mu is held shared around every system call on fd, and exclusively
	// by Close to close it, so no call ever reaches a reused descriptor.
	mu     sync.RWMutex
	fd     int
	closed atomic.Bool
}

var errUnsupported = errors.New("not supported on the DHCPv6 server socket")

// openBlocking opens the blocking socket bound to [::]:port on the interface
// named ifname, with the receive buffer and timeout set.
func openBlocking(ifname string, port int) (*blockingSocket, error) {
	fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	tv := unix.NsecToTimeval(receiveTimeout.Nanoseconds())
	for _, step := range []struct {
		name string
		err  error
	}{
		{"IPV6_V6ONLY", unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1)},
		{"SO_REUSEADDR", unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)},
		{"SO_BINDTODEVICE", unix.BindToDevice(fd, ifname)},
		{"SO_RCVTIMEO", unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)},
		{"bind", unix.Bind(fd, &unix.SockaddrInet6{Port: port})},
	} {
		if step.err != nil {
			_ = unix.Close(fd)
			return nil, os.NewSyscallError(step.name, step.err)
		}
	}
	// Best effort: the default buffer still serves, only less of a burst.
	// Beyond net.core.rmem_max where the agent may (root: SO_RCVBUFFORCE).
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, receiveBuffer)
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, receiveBuffer)
	return &blockingSocket{fd: fd}, nil
}

// Close wakes a read waiting on the socket (shutdown, which on an
// unconnected socket reports ENOTCONN but still wakes it), waits for the
// calls under way and closes the descriptor.
func (s *blockingSocket) Close() error {
	if s.closed.Swap(true) {
		return net.ErrClosed
	}
	_ = unix.Shutdown(s.fd, unix.SHUT_RDWR)
	s.mu.Lock()
	defer s.mu.Unlock()
	return unix.Close(s.fd)
}

// SyscallConn returns the socket as ipv6.PacketConn drives it.
func (s *blockingSocket) SyscallConn() (syscall.RawConn, error) { return blockingRaw{s}, nil }

func (s *blockingSocket) LocalAddr() net.Addr {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if sa, err := unix.Getsockname(s.fd); err == nil {
		if sa6, ok := sa.(*unix.SockaddrInet6); ok {
			return &net.UDPAddr{IP: sa6.Addr[:], Port: sa6.Port}
		}
	}
	return &net.UDPAddr{IP: net.IPv6unspecified}
}

func (s *blockingSocket) RemoteAddr() net.Addr                   { return nil }
func (s *blockingSocket) Read([]byte) (int, error)               { return 0, errUnsupported }
func (s *blockingSocket) Write([]byte) (int, error)              { return 0, errUnsupported }
func (s *blockingSocket) ReadFrom([]byte) (int, net.Addr, error) { return 0, nil, errUnsupported }
func (s *blockingSocket) WriteTo([]byte, net.Addr) (int, error)  { return 0, errUnsupported }
func (s *blockingSocket) SetDeadline(time.Time) error            { return errUnsupported }
func (s *blockingSocket) SetReadDeadline(time.Time) error        { return errUnsupported }
func (s *blockingSocket) SetWriteDeadline(time.Time) error       { return errUnsupported }
func (s *blockingSocket) ReadMsgUDP([]byte, []byte) (int, int, int, *net.UDPAddr, error) {
	return 0, 0, 0, nil, errUnsupported
}

// blockingRaw runs ipv6.PacketConn's system calls on the blocking
// descriptor: each once, since a blocking call waits by itself.
type blockingRaw struct{ s *blockingSocket }

func (r blockingRaw) Control(f func(fd uintptr)) error {
	return r.do(func(fd uintptr) bool { f(fd); return true })
}

// Read runs f, a read; f reports false when the read found nothing
// (EAGAIN), which without MSG_DONTWAIT means receiveTimeout passed.
func (r blockingRaw) Read(f func(fd uintptr) bool) error { return r.do(f) }

func (r blockingRaw) Write(f func(fd uintptr) bool) error { return r.do(f) }

func (r blockingRaw) do(f func(fd uintptr) bool) error {
	r.s.mu.RLock()
	defer r.s.mu.RUnlock()
	if r.s.closed.Load() {
		return net.ErrClosed
	}
	done := f(uintptr(r.s.fd))
	if r.s.closed.Load() {
		// Woken by Close: what the call returned is not a datagram.
		return net.ErrClosed
	}
	if !done {
		return os.ErrDeadlineExceeded
	}
	return nil
}
