package testlab

import (
	"os/exec"
	"testing"
)

// TestRoutedLinkRoutes checks that a routed link's client reaches the
// server's address through the router, and that its namespace goes at
// cleanup.
func TestRoutedLinkRoutes(t *testing.T) {
	RequireRoot(t, "ping")
	var ns string
	t.Run("lab", func(t *testing.T) {
		lab := New(t)
		r := lab.AddRoutedLink(t, 3)
		ns = r.NS
		// A global source on the client side, as a leased address would be.
		lab.MustExec(t, r.NS, "ip", "-6", "addr", "add", "2001:db8:30::100/64", "dev", r.ClientIf, "nodad")
		lab.MustExec(t, r.NS, "ping", "-6", "-c", "1", "-W", "5", lab.ServerAddr)
	})
	if exec.Command("ip", "netns", "exec", ns, "true").Run() == nil {
		t.Errorf("namespace %s still exists after cleanup", ns)
	}
}
