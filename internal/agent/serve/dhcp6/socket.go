package dhcp6

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/dhcpv6/server6"
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

// growReceiveBuffer sets the socket's receive buffer to receiveBuffer,
// beyond net.core.rmem_max where the agent may (root: SO_RCVBUFFORCE). It
// is best effort: the default buffer still serves, only less of a burst.
func growReceiveBuffer(c *net.UDPConn) {
	_ = c.SetReadBuffer(receiveBuffer)
	if raw, err := c.SyscallConn(); err == nil {
		_ = raw.Control(func(fd uintptr) {
			_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, receiveBuffer)
		})
	}
}

// listen opens [::]:547 bound to the interface (SO_BINDTODEVICE, with
// SO_REUSEADDR so boot servers on other interfaces can do the same) and
// joins All_DHCP_Relay_Agents_and_Servers (ff02::1:2) there. Only directly
// attached clients are served, so the site-scoped All_DHCP_Servers group,
// which relays use, is not joined.
func listen(ifi *net.Interface) (*ipv6.PacketConn, error) {
	udp, err := server6.NewIPv6UDPConn(ifi.Name, &net.UDPAddr{IP: net.IPv6unspecified, Port: dhcpv6.DefaultServerPort})
	if err != nil {
		return nil, fmt.Errorf("listening on [::]:%d on interface %s (is another DHCPv6 server running?): %w", dhcpv6.DefaultServerPort, ifi.Name, err)
	}
	growReceiveBuffer(udp)
	conn := ipv6.NewPacketConn(udp)
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
