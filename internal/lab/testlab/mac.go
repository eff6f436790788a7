package testlab

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// SetClientMAC gives the client interface the MAC address mac, so one
// namespace plays several machines in turn: its link-local address (the
// EUI-64 of mac) and the DUIDs clients make from it change with it. It
// waits until the new link-local address is usable. Addresses added by
// hand are gone afterwards, as the link went down.
func (l *Lab) SetClientMAC(t testing.TB, mac string) {
	t.Helper()
	hw, err := net.ParseMAC(mac)
	if err != nil || len(hw) != 6 {
		t.Fatalf("SetClientMAC(%q): not an Ethernet MAC address", mac)
	}
	l.MustExec(t, l.ClientNS, "ip", "link", "set", "dev", l.ClientIf, "down")
	l.MustExec(t, l.ClientNS, "ip", "link", "set", "dev", l.ClientIf, "address", mac)
	l.MustExec(t, l.ClientNS, "ip", "link", "set", "dev", l.ClientIf, "up")
	ll := netip.AddrFrom16([16]byte{0xfe, 0x80, 8: hw[0] ^ 2, hw[1], hw[2], 0xff, 0xfe, hw[3], hw[4], hw[5]}).String() + "/64"
	deadline := time.Now().Add(10 * time.Second)
	for {
		out := l.MustExec(t, l.ClientNS, "ip", "-6", "addr", "show", "dev", l.ClientIf)
		if strings.Contains(out, ll) && !strings.Contains(out, "tentative") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has no usable %s 10 s after its MAC address changed:\n%s", l.ClientIf, ll, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
