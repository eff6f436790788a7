package dhcp6

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
)

// TestDhclientThroughDhcrelay is the three-namespace topology of a site:
// clients on two links, a router running ISC dhcrelay -6 for both, and the
// server on a third link. Each dhclient leases from its own link's range
// and gets the boot-file URL naming the server's global address.
func TestDhclientThroughDhcrelay(t *testing.T) {
	lab, links, cfg := relayLab(t)
	srv := startIn(t, lab.ServerNS, cfg, newMemStore())
	lab.StartDhcrelay(t, links...)

	for i, l := range links {
		want := cfg.DHCPv6.RelayedLinks[i]
		d := newDhclient(t)
		conf := strings.Join([]string{
			"option dhcp6.bootfile-url code 59 = string;",
			"option dhcp6.client-arch-type code 61 = unsigned integer 16;",
			"send dhcp6.client-arch-type 7;",
			"also request dhcp6.name-servers;",
			"also request dhcp6.bootfile-url;",
			"",
		}, "\n")
		if err := os.WriteFile(filepath.Join(d.dir, "dhclient.conf"), []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		d.runOn(t, lab, l.NS, l.ClientIf)
		env := d.waitEvent(t, 60*time.Second, "BOUND6")
		addr := d.leasedAddr(t)
		if !inRanges(addr, want.Ranges) {
			t.Errorf("client on %s leased %s, want one of %s's range %s-%s", l.Prefix, addr, want.Name, want.Ranges[0].Start, want.Ranges[0].End)
		}
		if got, want := env["new_dhcp6_bootfile_url"], "tftp://["+lab.ServerAddr+"]/ipxe.efi"; got != want {
			t.Errorf("client on %s: boot-file URL %q, want %q", l.Prefix, got, want)
		}
		if _, ok := findLease(srv.Leases(), addr); !ok {
			t.Errorf("no server lease for %s", addr)
		}
	}
	for _, ls := range srv.RelayedLinks() {
		if ls.Leases != 1 || len(ls.Relays) != 1 || ls.Relays[0] != netip.MustParseAddr(testlab.RouterAddr) {
			t.Errorf("status of %s: %d leases, relays %v; want 1 and the router's %s", ls.Name, ls.Leases, ls.Relays, testlab.RouterAddr)
		}
	}
	st := srv.Stats()
	if c := st.ByType["RELAY-FORW"]; c.Received == 0 || c.Replied == 0 {
		t.Errorf("RELAY-FORW counted %+v, want received and replied", c)
	}
	if st.RelayUnknownLink != 0 || st.RelayHopLimit != 0 {
		t.Errorf("relay drops: unknown link %d, hop limit %d", st.RelayUnknownLink, st.RelayHopLimit)
	}
}

// relayLab is the lab of a site with two links behind one router, and a
// configuration serving both as relayed links, each leasing from ::2 to
// ::ff of its prefix.
func relayLab(t *testing.T) (*testlab.Lab, []*testlab.RoutedLink, Config) {
	t.Helper()
	testlab.RequireRoot(t, "dhclient", "dhcrelay")
	lab := testlab.New(t)
	links := []*testlab.RoutedLink{lab.AddRoutedLink(t, 1), lab.AddRoutedLink(t, 2)}
	cfg := labBootConfig(t, lab, config.DHCPv6Stateful)
	for i, l := range links {
		p := netip.MustParsePrefix(l.Prefix)
		cfg.DHCPv6.RelayedLinks = append(cfg.DHCPv6.RelayedLinks, config.RelayedLink{
			Name: fmt.Sprintf("link%d", i+1), Prefix: p,
			Ranges: []config.AddressRange{{Start: p.Addr().Next().Next(), End: netip.MustParseAddr(strings.TrimSuffix(l.Prefix, "/64") + "ff")}},
		})
	}
	return lab, links, cfg
}

// TestDhclientPrefixDelegationThroughDhcrelay: a router behind dhcrelay
// -6 asks for a prefix (dhclient -P) and gets one of its own link's pool,
// which the server counts on that link.
func TestDhclientPrefixDelegationThroughDhcrelay(t *testing.T) {
	lab, links, cfg := relayLab(t)
	pool := &config.PrefixDelegation{Start: netip.MustParseAddr("2001:db8:1000::"), End: netip.MustParseAddr("2001:db8:1000:ff00::"), Length: 56}
	cfg.DHCPv6.RelayedLinks[0].PrefixDelegation = pool
	srv := startIn(t, lab.ServerNS, cfg, newMemStore())
	lab.StartDhcrelay(t, links...)

	d := newDhclient(t)
	d.runOn(t, lab, links[0].NS, links[0].ClientIf, "-P")
	env := d.waitEvent(t, 60*time.Second, "BOUND6")
	p := netip.MustParsePrefix(d.leaseFileMatch(t, iaprefPattern))
	if !pool.Contains(p) {
		t.Fatalf("dhclient on %s got prefix %s, not one of link1's pool %+v", links[0].Prefix, p, *pool)
	}
	if got := env["new_ip6_prefix"]; got != p.String() {
		t.Errorf("script got new_ip6_prefix=%q, lease file says %s", got, p)
	}
	if l, ok := findLease(srv.Leases(), p.Addr()); !ok || l.Kind != lease.PD || l.Prefix() != p {
		t.Fatalf("server leases %v, want the delegation of %s", srv.Leases(), p)
	}
	if st := srv.RelayedLinks(); st[0].Leases != 1 || st[1].Leases != 0 {
		t.Errorf("RelayedLinks() = %+v, want the delegation on link1", st)
	}
}

// TestRelayFloodDoesNotStarveOtherRelays: on link2, a rogue host runs
// Kea's perfdhcp as a relay (-A 1) flooding the server from its own
// address, while dhcrelay on the router relays a real client of link1:
// the flood is cut to its relay's rate limit before any parsing, and the
// client behind dhcrelay, whose relay has a bucket of its own, gets its
// lease at once.
func TestRelayFloodDoesNotStarveOtherRelays(t *testing.T) {
	testlab.RequireRoot(t, "perfdhcp")
	lab, links, cfg := relayLab(t)
	cfg.DHCPv6.RateLimit.PerRelayPerSecond, cfg.DHCPv6.RateLimit.PerRelayBurst = 200, 400
	srv := startIn(t, lab.ServerNS, cfg, newMemStore())
	lab.StartDhcrelay(t, links[0])
	const flooder = "2001:db8:20::fd"
	lab.MustExec(t, links[1].NS, "ip", "-6", "addr", "add", flooder+"/64", "dev", links[1].ClientIf, "nodad")

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	flood := make(chan string, 1)
	go func() {
		// perfdhcp exits non-zero when its exchanges are dropped: the point.
		out, _ := lab.Exec(ctx, links[1].NS, "perfdhcp", "-6", "-A", "1", "-l", links[1].ClientIf, "-r", "3000", "-p", "8", "-R", "100000", lab.ServerAddr)
		flood <- out
	}()
	time.Sleep(2 * time.Second)
	start := time.Now()
	d := newDhclient(t)
	d.runOn(t, lab, links[0].NS, links[0].ClientIf)
	d.waitEvent(t, 30*time.Second, "BOUND6")
	// Unthrottled, dhclient binds after its first Solicit's one second of
	// collecting Advertises; starved, it would wait out retransmissions.
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the client behind dhcrelay took %s to bind during the flood", took.Round(time.Second))
	}
	addr := d.leasedAddr(t)
	if !inRanges(addr, cfg.DHCPv6.RelayedLinks[0].Ranges) {
		t.Errorf("client behind dhcrelay leased %s, want one of link1's", addr)
	}
	out := <-flood
	st := srv.Stats()
	rf := st.ByType["RELAY-FORW"]
	t.Logf("RELAY-FORW %+v, relay rate limited %d, unknown link %d", rf, st.RelayRateLimited, st.RelayUnknownLink)
	if st.RelayRateLimited == 0 {
		t.Errorf("no Relay-Forward of the flood was rate limited; perfdhcp said:\n%s", out)
	}
	// About burst + 8 s × rate passed; the rest was refused unparsed.
	if passed := rf.Received - st.RelayRateLimited; passed > 400+9*200+20 {
		t.Errorf("%d Relay-Forwards passed the relay limit of 200/s (burst 400) in 8 s", passed)
	}
	for _, ls := range srv.RelayedLinks() {
		want := testlab.RouterAddr
		if ls.Name == "link2" {
			want = flooder
		}
		if len(ls.Relays) != 1 || ls.Relays[0] != netip.MustParseAddr(want) {
			t.Errorf("%s heard relays %v, want %s", ls.Name, ls.Relays, want)
		}
	}
}
