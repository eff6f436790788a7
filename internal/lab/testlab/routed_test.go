package testlab

import (
	"net"
	"os/exec"
	"testing"
	"time"
)

// TestRoutedLinkRoutes checks that a datagram from a routed link's client
// reaches the server's address through the router, and that the link's
// namespace goes at cleanup.
func TestRoutedLinkRoutes(t *testing.T) {
	RequireRoot(t)
	var ns string
	t.Run("lab", func(t *testing.T) {
		lab := New(t)
		r := lab.AddRoutedLink(t, 3)
		ns = r.NS
		// A global source on the client side, as a leased address would be.
		lab.MustExec(t, r.NS, "ip", "-6", "addr", "add", "2001:db8:30::100/64", "dev", r.ClientIf, "nodad")
		var server net.PacketConn
		InNetns(t, lab.ServerNS, func() {
			var err error
			if server, err = net.ListenPacket("udp6", "["+lab.ServerAddr+"]:0"); err != nil {
				t.Fatal(err)
			}
		})
		defer server.Close()
		InNetns(t, r.NS, func() {
			c, err := net.Dial("udp6", server.LocalAddr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write([]byte("hello")); err != nil {
				t.Fatal(err)
			}
		})
		_ = server.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 16)
		n, from, err := server.ReadFrom(buf)
		if err != nil || string(buf[:n]) != "hello" {
			t.Fatalf("server read %q from %v: %v", buf[:n], from, err)
		}
		if got := from.(*net.UDPAddr).IP.String(); got != "2001:db8:30::100" {
			t.Errorf("datagram from %s, want the client's global address", got)
		}
	})
	if exec.Command("ip", "netns", "exec", ns, "true").Run() == nil {
		t.Errorf("namespace %s still exists after cleanup", ns)
	}
}
