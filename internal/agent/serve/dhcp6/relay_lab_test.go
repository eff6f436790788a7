package dhcp6

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
)

// TestDhclientThroughDhcrelay is the three-namespace topology of a site:
// clients on two links, a router running ISC dhcrelay -6 for both, and the
// server on a third link. Each dhclient leases from its own link's range
// and gets the boot-file URL naming the server's global address.
func TestDhclientThroughDhcrelay(t *testing.T) {
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
	srv := startIn(t, lab.ServerNS, cfg, newMemStore())

	// The relay hears clients on both links and unicasts to the server
	// through the router's interface on the server's link.
	relayOut := &bytes.Buffer{}
	relay := lab.Command(t, lab.ClientNS, "dhcrelay", "-6", "-d", "-pf", filepath.Join(t.TempDir(), "dhcrelay.pid"),
		"-l", links[0].RouterIf, "-l", links[1].RouterIf, "-u", lab.ServerAddr+"%"+lab.ClientIf)
	relay.Stdout, relay.Stderr = relayOut, relayOut
	if err := relay.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("dhcrelay output:\n%s", relayOut)
		}
	})

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
