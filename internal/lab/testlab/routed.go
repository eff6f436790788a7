package testlab

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// RouterAddr is the global address the lab's client namespace gets on the
// server's link when it routes to links behind it (AddRoutedLink).
const RouterAddr = "2001:db8:1::fe"

// RoutedLink is a link behind a router: a client namespace of its own,
// joined by a veth pair to the lab's client namespace, which routes between
// it and the server's link, as a site's router does between a VLAN and the
// boot server's link.
type RoutedLink struct {
	// NS is the namespace of the link's clients; ClientIf their side,
	// RouterIf the router's (in the lab's ClientNS).
	NS       string
	ClientIf string
	RouterIf string
	// Prefix is the link's /64; RouterAddr the router's global address on
	// it, which a DHCPv6 relay there puts in its link-address.
	Prefix     string
	RouterAddr string
}

// AddRoutedLink adds link n (1-9) behind the lab's client namespace, which
// becomes a router: forwarding on, RouterAddr on the server's link, a route
// to the link's prefix from the server namespace. The link's /64 is
// 2001:db8:<n>0::/64 with the router at ::1. The client side gets no global
// address (a DHCPv6 client leases one) and a default route through the
// router. Removed at cleanup, whatever runs in it killed.
func (l *Lab) AddRoutedLink(t testing.TB, n int) *RoutedLink {
	t.Helper()
	if n < 1 || n > 9 {
		t.Fatalf("AddRoutedLink: link %d, want 1-9", n)
	}
	r := &RoutedLink{
		NS:         fmt.Sprintf("nbt-%s-l%d", l.ID, n),
		ClientIf:   fmt.Sprintf("nb%sl%d", l.ID, n),
		RouterIf:   fmt.Sprintf("nb%sr%d", l.ID, n),
		Prefix:     fmt.Sprintf("2001:db8:%d0::/64", n),
		RouterAddr: fmt.Sprintf("2001:db8:%d0::1", n),
	}
	t.Cleanup(func() { destroyNamespaces(r.NS) })
	l.addNamespace(t, r.NS)
	if !strings.Contains(l.MustExec(t, l.ClientNS, "ip", "-6", "addr", "show", "dev", l.ClientIf), RouterAddr+"/") {
		l.MustExec(t, l.ClientNS, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
		l.MustExec(t, l.ClientNS, "ip", "-6", "addr", "add", RouterAddr+"/64", "dev", l.ClientIf, "nodad")
	}
	mustRun(t, "ip", "link", "add", r.RouterIf, "netns", l.ClientNS, "type", "veth", "peer", "name", r.ClientIf, "netns", r.NS)
	l.MustExec(t, l.ClientNS, "ip", "link", "set", r.RouterIf, "up")
	l.MustExec(t, l.ClientNS, "ip", "-6", "addr", "add", r.RouterAddr+"/64", "dev", r.RouterIf, "nodad")
	l.MustExec(t, r.NS, "ip", "link", "set", r.ClientIf, "up")
	l.MustExec(t, l.ServerNS, "ip", "-6", "route", "add", r.Prefix, "via", RouterAddr)
	r.waitLinkLocal(t, l)
	return r
}

// waitLinkLocal waits until both ends of the link have a usable link-local
// address: the client sends from it, the relay listens on it.
func (r *RoutedLink) waitLinkLocal(t testing.TB, l *Lab) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		a := l.MustExec(t, l.ClientNS, "ip", "-6", "addr", "show", "dev", r.RouterIf)
		b := l.MustExec(t, r.NS, "ip", "-6", "addr", "show", "dev", r.ClientIf)
		if strings.Contains(a, "fe80") && strings.Contains(b, "fe80") && !strings.Contains(a+b, "tentative") {
			l.MustExec(t, r.NS, "ip", "-6", "route", "add", "default", "via", linkLocalOf(a), "dev", r.ClientIf)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("link-local addresses on %s/%s still tentative after 10 s", r.RouterIf, r.ClientIf)
}

// linkLocalOf is the fe80:: address in `ip -6 addr show` output.
func linkLocalOf(out string) string {
	for _, f := range strings.Fields(out) {
		if strings.HasPrefix(f, "fe80:") {
			addr, _, _ := strings.Cut(f, "/")
			return addr
		}
	}
	return ""
}

// StartDhcrelay runs ISC dhcrelay -6 in the router (the lab's client
// namespace) for links: it hears their clients and unicasts to the server
// through the router's interface on the server's link, from RouterAddr.
// It is killed at cleanup; its output goes to the test log on failure.
func (l *Lab) StartDhcrelay(t testing.TB, links ...*RoutedLink) {
	t.Helper()
	args := []string{"dhcrelay", "-6", "-d", "-pf", filepath.Join(t.TempDir(), "dhcrelay.pid")}
	for _, r := range links {
		args = append(args, "-l", r.RouterIf)
	}
	out := &bytes.Buffer{}
	relay := l.Command(t, l.ClientNS, append(args, "-u", l.ServerAddr+"%"+l.ClientIf)...)
	relay.Stdout, relay.Stderr = out, out
	if err := relay.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("dhcrelay output:\n%s", out)
		}
	})
}
