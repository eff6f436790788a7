package link

import (
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// tcpListener is a real socket, so binds fail as the kernel says.
type tcpListener struct {
	addr    netip.AddrPort
	ln      *net.TCPListener
	stopped bool
}

func (l *tcpListener) Addr() netip.AddrPort { return l.addr }

// recorder opens tcpListeners and logs binds, stops and commits in order.
type recorder struct {
	events []string
	open   []*tcpListener
}

func (r *recorder) bind(ap netip.AddrPort) (*tcpListener, error) {
	ln, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(ap))
	if err != nil {
		return nil, err
	}
	l := &tcpListener{addr: netip.AddrPortFrom(ap.Addr(), uint16(ln.Addr().(*net.TCPAddr).Port)), ln: ln}
	r.events = append(r.events, "bind "+ap.Addr().String())
	r.open = append(r.open, l)
	return l, nil
}

func (r *recorder) stop(l *tcpListener) {
	_ = l.ln.Close()
	l.stopped = true
}

func (r *recorder) stopped() []string {
	var out []string
	for _, l := range r.open {
		if l.stopped {
			out = append(out, l.addr.Addr().String())
		}
	}
	slices.Sort(out)
	return out
}

var (
	v6 = netip.IPv6Loopback()
	v4 = netip.MustParseAddr("127.0.0.1")
)

func TestListenersBindRebindStop(t *testing.T) {
	r := &recorder{}
	set := NewListeners(r.bind, r.stop)

	changed, err := set.Bind([]netip.Addr{v6, v4, v6}, 0, nil)
	if err != nil {
		t.Skipf("loopback: %v", err)
	}
	got := set.Addrs()
	if !changed || len(got) != 2 || got[0].Port() == 0 || got[0].Port() != got[1].Port() {
		t.Fatalf("first bind: changed %v, %v; want ::1 and 127.0.0.1 on one picked port", changed, got)
	}
	port := got[0].Port()

	// The same addresses: nothing opens or closes, and commit runs.
	committed := false
	if changed, err := set.Bind([]netip.Addr{v4, v6}, 0, func() { committed = true }); err != nil || changed || !committed {
		t.Fatalf("same addresses: changed %v, err %v, committed %v", changed, err, committed)
	}
	// Naming the port it has keeps it too.
	if changed, err := set.Bind([]netip.Addr{v4, v6}, int(port), nil); err != nil || changed {
		t.Fatalf("same port by number: changed %v, err %v", changed, err)
	}
	if len(r.events) != 2 {
		t.Errorf("binds %v, want only the first two", r.events)
	}

	// One address leaves: it closes, the other stays as it was.
	if changed, err := set.Bind([]netip.Addr{v6}, int(port), nil); err != nil || !changed {
		t.Fatalf("drop 127.0.0.1: changed %v, err %v", changed, err)
	}
	if got := r.stopped(); !slices.Equal(got, []string{"127.0.0.1"}) {
		t.Errorf("stopped %v, want 127.0.0.1", got)
	}
	if got := set.Addrs(); !slices.Equal(got, []netip.AddrPort{netip.AddrPortFrom(v6, port)}) {
		t.Errorf("addresses %v", got)
	}

	// It comes back on the port asked for.
	if _, err := set.Bind([]netip.Addr{v6, v4}, int(port), nil); err != nil {
		t.Fatal(err)
	}
	if got := set.Addrs(); len(got) != 2 || got[1] != netip.AddrPortFrom(v4, port) {
		t.Errorf("re-added 127.0.0.1: %v, want port %d", got, port)
	}

	// From a given port to any: every listener moves to a new one.
	if changed, err := set.Bind([]netip.Addr{v6, v4}, 0, nil); err != nil || !changed {
		t.Fatalf("port %d to any: changed %v, err %v", port, changed, err)
	}
	moved := set.Addrs()
	if len(moved) != 2 || moved[0].Port() == port || moved[0].Port() != moved[1].Port() {
		t.Errorf("after moving to any port: %v", moved)
	}

	set.Stop()
	if got := r.stopped(); !slices.Equal(got, []string{"127.0.0.1", "127.0.0.1", "127.0.0.1", "::1", "::1"}) {
		t.Errorf("after Stop, stopped %v", got)
	}
	for _, ap := range append(moved, netip.AddrPortFrom(v6, port)) {
		ln, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(ap))
		if err != nil {
			t.Errorf("%s still taken after Stop: %v", ap, err)
			continue
		}
		ln.Close()
	}
}

// A bind that fails leaves the set as it was: what the call bound closes,
// what it would have replaced stays, commit does not run.
func TestListenersFailedBindChangesNothing(t *testing.T) {
	r := &recorder{}
	set := NewListeners(r.bind, r.stop)
	if _, err := set.Bind([]netip.Addr{v6}, 0, nil); err != nil {
		t.Skipf("loopback: %v", err)
	}
	before := set.Addrs()
	notLocal := netip.MustParseAddr("2001:db8::dead")
	committed := false
	_, err := set.Bind([]netip.Addr{v4, notLocal}, 0, func() { committed = true })
	if err == nil || committed {
		t.Fatalf("bind on a foreign address: err %v, committed %v", err, committed)
	}
	if got := set.Addrs(); !slices.Equal(got, before) {
		t.Errorf("addresses %v after a failed bind, want %v", got, before)
	}
	if got := r.stopped(); !slices.Equal(got, []string{"127.0.0.1"}) {
		t.Errorf("stopped %v, want the 127.0.0.1 bound in the failed call", got)
	}
	set.Stop()
}

func TestListenersRefuse(t *testing.T) {
	r := &recorder{}
	set := NewListeners(r.bind, r.stop)
	for _, tt := range []struct {
		name  string
		addrs []netip.Addr
		port  int
		want  string
	}{
		{"none", nil, 0, "no addresses"},
		{"zero", []netip.Addr{{}}, 0, "invalid"},
		{"link-local without zone", []netip.Addr{netip.MustParseAddr("fe80::1")}, 0, "needs its interface as zone"},
		{"port", []netip.Addr{v6}, 70000, "out of range"},
	} {
		if _, err := set.Bind(tt.addrs, tt.port, nil); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
	if len(r.events) != 0 {
		t.Errorf("binds %v after refusals", r.events)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
