package dhcp6

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/store"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/lab/benchlab"
	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
)

// Third-party clients against the lines of the seed's dhcpd6.conf beyond
// plain IA_NA leasing: "range6 … temporary" (dhclient -T), "prefix6"
// (dhclient -P, perfdhcp -e address-and-prefix) and "allow leasequery" (a
// requestor on the link, by unicast).

// seedLabConfig is labConfig with a temporary range, prefix delegation
// (the seed's prefix6, moved next to the lab's /64) and preference 255.
func seedLabConfig(t testing.TB, lab *testlab.Lab) Config {
	cfg := labConfig(t, lab, config.DHCPv6Stateful)
	cfg.DHCPv6.TemporaryRanges = []config.AddressRange{{Start: netip.MustParseAddr("2001:db8:1::2000"), End: netip.MustParseAddr("2001:db8:1::2fff")}}
	cfg.DHCPv6.PrefixDelegation = &config.PrefixDelegation{Start: netip.MustParseAddr("2001:db8:1:100::"), End: netip.MustParseAddr("2001:db8:1:111::"), Length: 64}
	cfg.DHCPv6.Preference = 255
	cfg.DHCPv6.AllowLeasequery = true // the seed's "allow leasequery"
	return cfg
}

var (
	// leaseFileIAID is how dhclient writes an IAID: hex octets, or a quoted
	// string when all four bytes are printable (the IAID comes from the
	// random MAC, so either happens).
	leaseFileIAID = `(?:[0-9a-f:]+|"(?:[^"\\]|\\.)*")`
	iataPattern   = regexp.MustCompile(`(?s)ia-ta ` + leaseFileIAID + ` \{.*?iaaddr ([0-9a-f:]+) \{`)
	iaprefPattern = regexp.MustCompile(`(?s)ia-pd ` + leaseFileIAID + ` \{.*?iaprefix ([0-9a-f:]+/[0-9]+) \{`)
	duidPattern   = regexp.MustCompile(`default-duid "((?:[^"\\]|\\.)*)"`)
)

// leaseFileMatch returns the first group of pattern in dhclient's lease file.
func (d *dhclient) leaseFileMatch(t *testing.T, pattern *regexp.Regexp) string {
	t.Helper()
	b := mustRead(t, d.leaseFile)
	m := pattern.FindSubmatch(b)
	if m == nil {
		t.Fatalf("lease file has no match for %s:\n%s", pattern, b)
	}
	return string(m[1])
}

// duid reads the client DUID dhclient wrote into its lease file, a string
// with octal escapes for unprintable bytes.
func (d *dhclient) duid(t *testing.T) []byte {
	t.Helper()
	s := d.leaseFileMatch(t, duidPattern)
	var out []byte
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] != '\\' || i+1 == len(s):
			out = append(out, s[i])
		case i+3 < len(s) && s[i+1] >= '0' && s[i+1] <= '3':
			n, err := strconv.ParseUint(s[i+1:i+4], 8, 8)
			if err != nil {
				t.Fatalf("default-duid %q: %v", s, err)
			}
			out = append(out, byte(n))
			i += 3
		default:
			out = append(out, s[i+1])
			i++
		}
	}
	return out
}

func findKind(leases []lease.Lease, kind lease.Kind) []lease.Lease {
	var out []lease.Lease
	for _, l := range leases {
		if l.Kind == kind {
			out = append(out, l)
		}
	}
	return out
}

// TestDhclientTemporaryAddress: dhclient -T asks for an IA_TA only and gets
// a temporary address from the temporary range.
func TestDhclientTemporaryAddress(t *testing.T) {
	lab := newLab(t)
	cfg := seedLabConfig(t, lab)
	srv := startIn(t, lab.ServerNS, cfg, newMemStore())
	d := newDhclient(t)
	d.run(t, lab, "-T")
	d.waitEvent(t, 30*time.Second, "BOUND6")
	addr := netip.MustParseAddr(d.leaseFileMatch(t, iataPattern))
	if !cfg.DHCPv6.TemporaryRanges[0].Contains(addr) {
		t.Fatalf("dhclient got temporary address %s, outside %v", addr, cfg.DHCPv6.TemporaryRanges[0])
	}
	l, ok := findLease(srv.Leases(), addr)
	if !ok || l.Kind != lease.TA {
		t.Fatalf("server leases %v, want an IA_TA lease of %s", srv.Leases(), addr)
	}
	if na := findKind(srv.Leases(), lease.NA); len(na) != 0 {
		t.Errorf("IA_NA leases %v for a client that asked for a temporary address only", na)
	}
}

// TestDhclientPrefixDelegation: dhclient -P asks for an IA_PD and gets one
// of the delegated /64s.
func TestDhclientPrefixDelegation(t *testing.T) {
	lab := newLab(t)
	cfg := seedLabConfig(t, lab)
	srv := startIn(t, lab.ServerNS, cfg, newMemStore())
	d := newDhclient(t)
	d.run(t, lab, "-P")
	env := d.waitEvent(t, 30*time.Second, "BOUND6")
	p := netip.MustParsePrefix(d.leaseFileMatch(t, iaprefPattern))
	if !cfg.DHCPv6.PrefixDelegation.Contains(p) {
		t.Fatalf("dhclient got prefix %s, not one of %+v", p, *cfg.DHCPv6.PrefixDelegation)
	}
	if got := env["new_ip6_prefix"]; got != p.String() {
		t.Errorf("script got new_ip6_prefix=%q, lease file says %s", got, p)
	}
	l, ok := findLease(srv.Leases(), p.Addr())
	if !ok || l.Kind != lease.PD || l.Prefix() != p {
		t.Fatalf("server leases %v, want the delegation of %s", srv.Leases(), p)
	}
}

var perfRejected = regexp.MustCompile(`(?m)^rejected leases: (\d+)`)

// TestPerfdhcpAddressAndPrefix runs Kea's perfdhcp as up to 1000 clients
// asking for an IA_NA and an IA_PD each, with leases in bbolt: every
// exchange it completes must grant both.
func TestPerfdhcpAddressAndPrefix(t *testing.T) {
	testlab.RequireRoot(t, "perfdhcp")
	lab := testlab.New(t)
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := labConfig(t, lab, config.DHCPv6Stateful)
	cfg.DHCPv6.Ranges[0].End = netip.MustParseAddr("2001:db8:1::ffff")
	cfg.DHCPv6.PrefixDelegation = &config.PrefixDelegation{Start: netip.MustParseAddr("2001:db8:1:1000::"), End: netip.MustParseAddr("2001:db8:1:1fff::"), Length: 64}
	leases := st.Leases("lab")
	srv := startIn(t, lab.ServerNS, cfg, leases)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// perfdhcp exits 3 when it counted drops; the numbers say how many.
	out, err := lab.Exec(ctx, lab.ClientNS, "perfdhcp", "-6", "-l", lab.ClientIf, "-e", "address-and-prefix",
		"-r", "100", "-p", "5", "-R", "1000")
	t.Logf("perfdhcp:\n%s", out)
	r := parsePerfdhcp(out)
	if r.rate == "" || (err != nil && !strings.Contains(err.Error(), "exit status 3")) {
		t.Fatalf("perfdhcp failed: %v", err)
	}
	rejected := perfRejected.FindAllStringSubmatch(out, -1)
	if len(rejected) != 2 {
		t.Fatalf("perfdhcp reported %d rejected-lease counts, want one per exchange", len(rejected))
	}
	for _, m := range rejected {
		if m[1] != "0" {
			t.Errorf("perfdhcp rejected %s leases", m[1])
		}
	}
	for i, drops := range r.drops {
		// A drop is a reply perfdhcp gave up waiting for; a few at the
		// end of the run are the test stopping, not the server.
		if n, _ := strconv.Atoi(strings.Fields(drops)[0]); n > 10 {
			t.Errorf("exchange %d: %s drops", i+1, drops)
		}
	}
	srv.Stop()
	// The reply-time histograms count every answer sent, once: perfdhcp
	// received no more than that, and asked at least that often.
	counts, err := benchlab.ParsePerfdhcp(out)
	if err != nil {
		t.Fatal(err)
	}
	for i, msgType := range []string{"SOLICIT", "REQUEST"} {
		m := srv.Stats().ByType[msgType]
		if m.Latency.Count != m.Replied {
			t.Errorf("%s: reply-time histogram counts %d, %d answers sent", msgType, m.Latency.Count, m.Replied)
		}
		if n := int(m.Latency.Count); n < counts.Received[i] || n > counts.Sent[i] {
			t.Errorf("%s: reply-time histogram counts %d, perfdhcp sent %d and received %d answers", msgType, n, counts.Sent[i], counts.Received[i])
		}
	}
	stored, err := leases.Leases()
	if err != nil {
		t.Fatal(err)
	}
	na, pd := findKind(stored, lease.NA), findKind(stored, lease.PD)
	if len(pd) == 0 || len(na) != len(pd) {
		t.Errorf("stored %d IA_NA and %d IA_PD leases, want as many of each (one pair per client)", len(na), len(pd))
	}
	for _, l := range pd {
		if !cfg.DHCPv6.PrefixDelegation.Contains(l.Prefix()) {
			t.Errorf("stored delegation %s outside the pool", l.Prefix())
		}
	}
	t.Logf("server: %+v; stored %d addresses and %d prefixes", srv.Stats().ByType, len(na), len(pd))
}

// TestLeasequeryAfterDhclient: after dhclient -N -P got an address and a
// prefix, a requestor in the client's namespace asks the server, by
// unicast to its global address, about that address and then that client.
func TestLeasequeryAfterDhclient(t *testing.T) {
	lab := newLab(t)
	srv := startIn(t, lab.ServerNS, seedLabConfig(t, lab), newMemStore())
	d := newDhclient(t)
	d.run(t, lab, "-N", "-P")
	d.waitEvent(t, 30*time.Second, "BOUND6")
	addr := d.leasedAddr(t)
	prefix := netip.MustParsePrefix(d.leaseFileMatch(t, iaprefPattern))
	duid := d.duid(t)
	// The test's dhclient script configures nothing: put the leased
	// address on the interface as dhclient-script would.
	lab.MustExec(t, lab.ClientNS, "ip", "-6", "addr", "add", addr.String()+"/64", "dev", lab.ClientIf, "nodad")

	var (
		conn *net.UDPConn
		err  error
	)
	testlab.InNetns(t, lab.ClientNS, func() {
		conn, err = net.DialUDP("udp6", &net.UDPAddr{IP: addr.AsSlice()},
			&net.UDPAddr{IP: net.ParseIP(lab.ServerAddr), Port: dhcpv6.DefaultServerPort})
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })

	ask := func(t *testing.T, query dhcpv6.Option) lqAnswer {
		t.Helper()
		req := newLeasequery(t, requestorDUID, query)
		buf := make([]byte, 4096)
		for try := range 3 {
			if _, err := conn.Write(req.ToBytes()); err != nil {
				t.Fatal(err)
			}
			_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			n, err := conn.Read(buf)
			if err != nil {
				t.Logf("try %d: %v", try+1, err)
				continue
			}
			resp, err := dhcpv6.MessageFromBytes(buf[:n])
			if err != nil || resp.TransactionID != req.TransactionID {
				t.Fatalf("reply %v does not answer the query: %v", resp, err)
			}
			a, err := parseLQReply(resp)
			if err != nil {
				t.Fatalf("%v: %s", err, resp.Summary())
			}
			return a
		}
		t.Fatal("no LEASEQUERY-REPLY")
		return lqAnswer{}
	}
	check := func(t *testing.T, a lqAnswer) {
		t.Helper()
		if a.status != iana.StatusSuccess || !a.hasData {
			t.Fatalf("status %s, client data %v; want the client's bindings", a.status, a.hasData)
		}
		if !bytes.Equal(a.client, duid) {
			t.Errorf("client data for DUID %x, dhclient's is %x", a.client, duid)
		}
		if len(a.addrs) != 1 || !a.addrs[0].IPv6Addr.Equal(addr.AsSlice()) || a.addrs[0].ValidLifetime == 0 {
			t.Errorf("addresses %v, want %s", a.addrs, addr)
		}
		if len(a.prefixes) != 1 || a.prefixes[0].Prefix.String() != prefix.String() {
			t.Errorf("prefixes %v, want %s", a.prefixes, prefix)
		}
	}
	t.Run("by address", func(t *testing.T) { check(t, ask(t, byAddress(addr.String()))) })
	t.Run("by client ID", func(t *testing.T) {
		check(t, ask(t, lqQueryOption(lqQueryByClientID, netip.Addr{}, &dhcpv6.OptionGeneric{OptionCode: dhcpv6.OptionClientID, OptionData: duid})))
	})
	t.Run("by an address of another link", func(t *testing.T) {
		if a := ask(t, byAddress("2001:db8:99::1")); a.status != iana.StatusNotConfigured || a.hasData {
			t.Errorf("status %s, client data %v; want NotConfigured", a.status, a.hasData)
		}
	})
	if s := srv.Stats().ByType["LEASEQUERY"]; s.Received < 3 || s.Dropped != 0 {
		t.Errorf("LEASEQUERY stats %+v", s)
	}
	if _, err := os.Stat(d.leaseFile); err != nil {
		t.Fatal(err)
	}
}
