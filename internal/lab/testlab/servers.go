package testlab

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Server is one more server namespace on the lab's link (AddServer).
type Server struct {
	NS string
	// If is the server's interface, named as ServerIf is in ServerNS, so
	// one boot server configuration fits every server.
	If   string
	Addr string // e.g. "2001:db8:1::2"
}

// AddServer adds a server namespace to the link, for two agents serving one
// link. The first call turns the client side into a bridge named ClientIf
// (the client's veth end is renamed and enslaved to it), so clients keep
// using ClientIf and hear every server. Its cleanup is the Lab's.
func (l *Lab) AddServer(t testing.TB) Server {
	t.Helper()
	n := len(l.Servers) + 1
	if n == 1 {
		old := l.ClientIf + "0"
		l.MustExec(t, l.ClientNS, "ip", "link", "set", l.ClientIf, "down")
		l.MustExec(t, l.ClientNS, "ip", "link", "set", l.ClientIf, "name", old)
		// No snooping and no forwarding delay: DHCPv6 multicast reaches
		// every port at once.
		l.MustExec(t, l.ClientNS, "ip", "link", "add", l.ClientIf, "type", "bridge", "forward_delay", "0", "mcast_snooping", "0")
		l.MustExec(t, l.ClientNS, "ip", "link", "set", old, "master", l.ClientIf)
		l.MustExec(t, l.ClientNS, "ip", "link", "set", old, "up")
		l.MustExec(t, l.ClientNS, "ip", "link", "set", l.ClientIf, "up")
	}
	s := Server{NS: fmt.Sprintf("nbt-%s-srv%d", l.ID, n+1), If: l.ServerIf, Addr: fmt.Sprintf("2001:db8:1::%d", n+1)}
	l.Servers = append(l.Servers, s)
	mustRun(t, "ip", "netns", "add", s.NS)
	l.MustExec(t, s.NS, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0")
	l.MustExec(t, s.NS, "ip", "link", "set", "lo", "up")
	port := fmt.Sprintf("%s%d", l.ClientIf, n)
	mustRun(t, "ip", "link", "add", s.If, "netns", s.NS, "type", "veth", "peer", "name", port, "netns", l.ClientNS)
	l.MustExec(t, l.ClientNS, "ip", "link", "set", port, "master", l.ClientIf)
	l.MustExec(t, l.ClientNS, "ip", "link", "set", port, "up")
	l.MustExec(t, s.NS, "ip", "link", "set", s.If, "up")
	l.MustExec(t, s.NS, "ip", "-6", "addr", "add", s.Addr+"/64", "dev", s.If, "nodad")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		a := l.MustExec(t, s.NS, "ip", "-6", "addr", "show", "dev", s.If)
		c := l.MustExec(t, l.ClientNS, "ip", "-6", "addr", "show", "dev", l.ClientIf)
		if strings.Contains(a, "fe80") && strings.Contains(c, "fe80") && !strings.Contains(a+c, "tentative") {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("link-local addresses in %s still tentative after 10 s", s.NS)
		}
	}
}
