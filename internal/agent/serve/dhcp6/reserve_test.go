package dhcp6

import (
	"net"
	"net/netip"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv6"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
)

// A machine behind a relay is recognised by the MAC address the relay
// reports (option 79), though its DUID (iPXE's DUID-UUID) holds none, and
// gets the address reserved for it on that relayed link, outside the
// link's ranges; another client on the link does not.
func TestRelayedClientGetsItsReservation(t *testing.T) {
	reserved := netip.MustParseAddr("2001:db8:10::77")
	cfg := testConfig(config.DHCPv6Stateful)
	cfg.DHCPv6.RelayedLinks = []config.RelayedLink{vlan10, vlan20}
	cfg.Reservations = []lease.Reservation{{Owner: "pxe1", Address: reserved, MACs: []string{relayMAC.String()}}}
	now := t0
	conn := &rawConn{}
	srv := newTestServer(t, cfg, newMemStore(), conn, &now)
	if err := srv.applyRelayedLinks(cfg, true); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		uuid byte
		mac  net.HardwareAddr
		want bool
	}{
		{"the machine", 1, relayMAC, true},
		{"another client", 2, net.HardwareAddr{0x02, 0, 0, 0, 0x10, 0x02}, false},
	} {
		req := clientMessage(t, dhcpv6.MessageTypeRequest, &dhcpv6.DUIDUUID{UUID: [16]byte{tc.uuid}}, serverDUID, iaNA(1))
		_, reply, _ := sendRelayed(t, srv, conn, relayed(t, req, relayHop{linkAddr: "2001:db8:10::1", mac: tc.mac}), dhcpv6.DefaultServerPort)
		if reply == nil {
			t.Fatalf("%s: no Relay-Reply", tc.name)
		}
		addr, _, _ := leased(t, reply)
		if got := addr == reserved; got != tc.want {
			t.Errorf("%s leased %s; reserved %s: want %v", tc.name, addr, reserved, tc.want)
		}
	}
}
