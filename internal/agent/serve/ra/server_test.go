package ra

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/ndp"
	"golang.org/x/net/ipv6"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/link"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
)

// testLogger sends the server's logs to the test log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(b), "\n"))
	return len(b), nil
}

// rdisc6 solicits once from the client side and returns what it printed.
func rdisc6(t *testing.T, lab *testlab.Lab) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := lab.Exec(ctx, lab.ClientNS, "rdisc6", "-1", "-n", "-w", "3000", lab.ClientIf)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("rdisc6:\n%s", out)
	return out
}

// hasField reports whether rdisc6 printed a line such as
// "Stateful address conf.    :           Yes".
func hasField(out, field, value string) bool {
	re := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(field) + `\s*:\s*` + regexp.QuoteMeta(value) + `(\s|$)`)
	return re.MatchString(out)
}

func wantField(t *testing.T, out, field, value string) {
	t.Helper()
	if !hasField(out, field, value) {
		t.Errorf("rdisc6 output lacks %q = %q", field, value)
	}
}

// clientListener opens an NDP socket on the client end of the lab link that
// receives only Router Advertisements.
func clientListener(t *testing.T, lab *testlab.Lab) *ndp.Conn {
	t.Helper()
	var conn *ndp.Conn
	err := testlab.RunInNetns(lab.ClientNS, func() error {
		ifi, err := net.InterfaceByName(lab.ClientIf)
		if err != nil {
			return err
		}
		conn, _, err = ndp.Listen(ifi, ndp.LinkLocal)
		if err != nil {
			return err
		}
		var f ipv6.ICMPFilter
		f.SetAll(true)
		f.Accept(ipv6.ICMPTypeRouterAdvertisement)
		return conn.SetICMPFilter(&f)
	})
	if err != nil {
		t.Fatalf("client listener: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// finalAdvertisement delivers the first advertisement with router lifetime
// 0 that conn receives within 10 s, skipping regular ones still in flight;
// the channel closes empty if none comes.
func finalAdvertisement(conn *ndp.Conn) <-chan *ndp.RouterAdvertisement {
	final := make(chan *ndp.RouterAdvertisement, 1)
	go func() {
		defer close(final)
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			msg, _, _, err := conn.ReadFrom()
			if err != nil {
				return
			}
			if ra, ok := msg.(*ndp.RouterAdvertisement); ok && ra.RouterLifetime == 0 {
				final <- ra
				return
			}
		}
	}()
	return final
}

func TestServerNamespace(t *testing.T) {
	testlab.RequireRoot(t, "rdisc6")
	lab := testlab.New(t)

	cfg := Config{
		Interface: testlab.Interface(t, lab.ServerNS, lab.ServerIf),
		Prefix:    netip.MustParsePrefix(lab.Prefix),
		RA: config.RouterAdvertisement{
			Managed:                 true,
			OtherConfig:             true,
			MinInterval:             200 * time.Second,
			MaxInterval:             600 * time.Second,
			RouterLifetime:          1800 * time.Second,
			PrefixOnLink:            true,
			PrefixAutonomous:        true,
			PrefixValidLifetime:     86400 * time.Second,
			PrefixPreferredLifetime: 14400 * time.Second,
			RDNSS:                   []netip.Addr{netip.MustParseAddr(lab.ServerAddr)},
			DNSSL:                   []string{"boot.example"},
			DNSLifetime:             1800 * time.Second,
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)

	var srv *Server
	err := testlab.RunInNetns(lab.ServerNS, func() (err error) {
		srv, err = Start(ctx, cfg, testLogger(t))
		return err
	})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(srv.Stop)

	out := rdisc6(t, lab)
	wantField(t, out, "Stateful address conf.", "Yes")
	wantField(t, out, "Stateful other conf.", "Yes")
	wantField(t, out, "Hop limit", "64")
	wantField(t, out, "Router lifetime", "1800")
	wantField(t, out, "Prefix", "2001:db8:1::/64")
	wantField(t, out, "On-link", "Yes")
	wantField(t, out, "Autonomous address conf.", "Yes")
	wantField(t, out, "Valid time", "86400")
	wantField(t, out, "Pref. time", "14400")
	wantField(t, out, "Recursive DNS server", lab.ServerAddr)
	wantField(t, out, "DNS search list", "boot.example")
	wantField(t, out, "MTU", "1500")

	// Stateless now, another DNS server, shorter router lifetime.
	next := cfg
	next.RA.Managed = false
	next.RA.RouterLifetime = 900 * time.Second
	next.RA.RDNSS = []netip.Addr{netip.MustParseAddr("2001:db8:1::53")}
	if err := srv.Apply(next); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	out = rdisc6(t, lab)
	wantField(t, out, "Stateful address conf.", "No")
	wantField(t, out, "Stateful other conf.", "Yes")
	wantField(t, out, "Router lifetime", "900")
	wantField(t, out, "Recursive DNS server", "2001:db8:1::53")
	if hasField(out, "Recursive DNS server", lab.ServerAddr) {
		t.Errorf("rdisc6 still shows the old RDNSS %s", lab.ServerAddr)
	}

	// The final advertisement is unsolicited, so listen for it directly.
	listener := clientListener(t, lab)

	// A second router with another opinion on M/O and its own SLAAC prefix:
	// the server must notice and count it (RFC 4861 6.2.7).
	rogue := Config{
		Prefix: netip.MustParsePrefix("2001:db8:99::/64"),
		RA:     config.RouterAdvertisement{PrefixOnLink: true, PrefixAutonomous: true, PrefixValidLifetime: time.Hour},
	}
	if err := listener.WriteTo(Advertisement(rogue, nil, 0), nil, netip.MustParseAddr("ff02::1")); err != nil {
		t.Fatalf("sending a rogue RA: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for srv.Stats().InconsistentAdvertisements == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if s := srv.Stats(); s.ForeignAdvertisements != 1 || s.InconsistentAdvertisements != 1 {
		t.Errorf("after one rogue RA: foreign %d, inconsistent %d; want 1 and 1", s.ForeignAdvertisements, s.InconsistentAdvertisements)
	}
	others := srv.OtherRouters()
	if len(others) != 1 {
		t.Fatalf("other routers = %+v, want the rogue one", others)
	}
	if o := others[0]; !o.Source.IsLinkLocalUnicast() || o.Messages != 1 ||
		!slices.ContainsFunc(o.Conflicts, func(c string) bool { return strings.HasPrefix(c, "O flag") }) ||
		!slices.ContainsFunc(o.Offers, func(c string) bool {
			return strings.HasPrefix(c, "prefix 2001:db8:99::/64: on-link true, autonomous true")
		}) {
		t.Errorf("rogue router recorded as %+v", o)
	}

	final := finalAdvertisement(listener)

	stats := srv.Stats()
	srv.Stop()
	srv.Stop() // idempotent

	ra, ok := <-final
	if !ok {
		t.Fatal("no final router advertisement within 10 s")
	}
	if ra.RouterLifetime != 0 {
		t.Errorf("final RA router lifetime %s, want 0", ra.RouterLifetime)
	}
	for _, o := range ra.Options {
		switch o := o.(type) {
		case *ndp.PrefixInformation:
			if o.ValidLifetime != 0 || o.PreferredLifetime != 0 {
				t.Errorf("final RA prefix lifetimes valid %s preferred %s, want 0", o.ValidLifetime, o.PreferredLifetime)
			}
		case *ndp.RecursiveDNSServer:
			if o.Lifetime != 0 {
				t.Errorf("final RA RDNSS lifetime %s, want 0", o.Lifetime)
			}
		}
	}

	if stats.RouterSolicitations < 2 || stats.SolicitedAdvertisements < 2 || stats.UnsolicitedAdvertisements < 1 {
		t.Errorf("stats before Stop %+v: want at least 2 solicitations answered and 1 unsolicited advertisement", stats)
	}
	if stats.SendErrors != 0 || stats.ReceiveErrors != 0 {
		t.Errorf("stats before Stop %+v: want no socket errors", stats)
	}
	if err := srv.Apply(next); !errors.Is(err, ErrStopped) {
		t.Errorf("Apply after Stop = %v, want ErrStopped", err)
	}
}

func TestStartErrors(t *testing.T) {
	_, err := Start(context.Background(), Config{Interface: link.Interface{Name: "nb-no-such-if0"}}, nil)
	if err == nil || !strings.Contains(err.Error(), `"nb-no-such-if0" is down`) {
		t.Errorf("Start on an interface that is down = %v, want an error naming it", err)
	}
}

func TestServerStopsOnContextCancel(t *testing.T) {
	testlab.RequireRoot(t)
	lab := testlab.New(t)
	cfg := Config{
		Interface: testlab.Interface(t, lab.ServerNS, lab.ServerIf),
		Prefix:    netip.MustParsePrefix(lab.Prefix),
		RA:        config.RouterAdvertisement{MinInterval: 200 * time.Second, MaxInterval: 600 * time.Second, PrefixOnLink: true},
	}
	ctx, cancel := context.WithCancel(context.Background())
	var srv *Server
	if err := testlab.RunInNetns(lab.ServerNS, func() (err error) {
		srv, err = Start(ctx, cfg, testLogger(t))
		return err
	}); err != nil {
		t.Fatalf("Start: %v", err)
	}
	cancel()

	stopped := make(chan struct{})
	go func() {
		srv.Stop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("goroutines still running 5 s after context cancellation")
	}
	if err := srv.Apply(cfg); !errors.Is(err, ErrStopped) {
		t.Errorf("Apply after cancellation = %v, want ErrStopped", err)
	}
	// The final advertisement, maybe after the initial one.
	if s := srv.Stats(); s.UnsolicitedAdvertisements < 1 || s.SendErrors != 0 {
		t.Errorf("stats %+v: want the final advertisement sent, no errors", s)
	}
}

func TestApplyMovesInterface(t *testing.T) {
	testlab.RequireRoot(t)
	lab := testlab.New(t)
	// A second link in the server namespace to move to (removed with it).
	moved, peer := "nb"+lab.ID+"d", "nb"+lab.ID+"e"
	lab.MustExec(t, lab.ServerNS, "ip", "link", "add", moved, "type", "veth", "peer", "name", peer)
	lab.MustExec(t, lab.ServerNS, "ip", "link", "set", peer, "up")
	lab.MustExec(t, lab.ServerNS, "ip", "link", "set", moved, "up")

	cfg := Config{
		Interface: testlab.Interface(t, lab.ServerNS, lab.ServerIf),
		Prefix:    netip.MustParsePrefix(lab.Prefix),
		RA: config.RouterAdvertisement{
			MinInterval: 200 * time.Second, MaxInterval: 600 * time.Second, RouterLifetime: 1800 * time.Second,
			PrefixOnLink: true, PrefixAutonomous: true, PrefixValidLifetime: time.Hour, PrefixPreferredLifetime: time.Hour,
		},
	}
	var srv *Server
	if err := testlab.RunInNetns(lab.ServerNS, func() (err error) {
		srv, err = Start(context.Background(), cfg, testLogger(t))
		return err
	}); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(srv.Stop)
	final := finalAdvertisement(clientListener(t, lab))

	next := cfg
	next.Interface = testlab.Interface(t, lab.ServerNS, moved)
	// Its link-local address appears asynchronously.
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := testlab.RunInNetns(lab.ServerNS, func() error { return srv.Apply(next) })
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Apply to %s: %v", moved, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Clients on the old link are told we left.
	if ra, ok := <-final; !ok {
		t.Fatal("no final advertisement on the old interface")
	} else if p := prefixInformation(ra.Options); len(p) != 1 || p[0].ValidLifetime != 0 {
		t.Errorf("final advertisement withdraws %d prefixes, valid lifetime not 0", len(p))
	}
	// The client no longer gets answers.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := lab.Exec(ctx, lab.ClientNS, "rdisc6", "-1", "-n", "-r", "1", "-w", "1000", lab.ClientIf); err == nil {
		t.Errorf("rdisc6 still got an answer on the old link:\n%s", out)
	}
	if s := srv.Stats(); s.SendErrors != 0 || s.ReceiveErrors != 0 {
		t.Errorf("stats %+v: want no socket errors", s)
	}
}
