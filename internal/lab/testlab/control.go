package testlab

import (
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// ControlLink joins the host namespace to the lab's server namespace by a
// second veth pair, for a control plane the host reaches over TCP: an agent
// in the server namespace listens on the returned address, and Terraform
// and the provider, in the host namespace, dial it. The link has a ULA /64
// of its own, fd00:6e62:<lab id>::/64, with ::2 on the host side and ::1
// in the namespace; its traffic never leaves the two ends. The pair is
// removed in t.Cleanup.
func (l *Lab) ControlLink(t testing.TB) (addr string) {
	t.Helper()
	hostIf, nsIf := "nb"+l.ID+"h", "nb"+l.ID+"a"
	prefix := "fd00:6e62:" + l.ID[:4] + ":" + l.ID[4:] + "::"
	// Deleting either end removes the pair; the namespace's end also goes
	// with the namespace.
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", hostIf).Run() })
	mustRun(t, "ip", "link", "add", hostIf, "type", "veth", "peer", "name", nsIf, "netns", l.ServerNS)
	mustRun(t, "ip", "-6", "addr", "add", prefix+"2/64", "dev", hostIf, "nodad")
	mustRun(t, "ip", "link", "set", hostIf, "up")
	l.MustExec(t, l.ServerNS, "ip", "-6", "addr", "add", prefix+"1/64", "dev", nsIf, "nodad")
	l.MustExec(t, l.ServerNS, "ip", "link", "set", nsIf, "up")
	l.waitLinkUp(t, hostIf, nsIf)
	return netip.MustParseAddr(prefix + "1").String()
}

// waitLinkUp waits until both ends of a veth pair are up: the addresses
// are usable at once (nodad), but packets only pass once the carrier is.
func (l *Lab) waitLinkUp(t testing.TB, hostIf, nsIf string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		h, err := exec.Command("ip", "link", "show", "dev", hostIf).CombinedOutput()
		if err != nil {
			t.Fatalf("ip link show dev %s: %v\n%s", hostIf, err, h)
		}
		n := l.MustExec(t, l.ServerNS, "ip", "link", "show", "dev", nsIf)
		if strings.Contains(string(h), "LOWER_UP") && strings.Contains(n, "LOWER_UP") {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("control link %s/%s not up after 10 s", hostIf, nsIf)
}
