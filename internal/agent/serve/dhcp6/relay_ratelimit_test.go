package dhcp6

import (
	"bytes"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"golang.org/x/net/ipv6"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
)

// TestRelayRateLimit checks that the Relay-Forwards of one relay address
// over its bucket are dropped before they are parsed, counted and logged
// once, while another relay's clients are still answered.
func TestRelayRateLimit(t *testing.T) {
	cfg := testConfig(config.DHCPv6Stateful)
	cfg.DHCPv6.RelayedLinks = []config.RelayedLink{vlan10, vlan20}
	cfg.DHCPv6.RateLimit = config.RateLimit{PerRelayPerSecond: 1, PerRelayBurst: 3}
	now := t0
	conn := &rawConn{}
	srv := newTestServer(t, cfg, newMemStore(), conn, &now)
	var logs bytes.Buffer
	srv.logger = slog.New(slog.NewTextHandler(&logs, nil))
	if err := srv.applyRelayedLinks(cfg, false); err != nil {
		t.Fatal(err)
	}
	flooder, other := netip.MustParseAddr("2001:db8:1::bad"), netip.MustParseAddr("2001:db8:1::fe")
	from := func(relay netip.Addr, b []byte) ipv6.Message {
		return ipv6.Message{Buffers: [][]byte{b}, N: len(b), Addr: &net.UDPAddr{IP: relay.AsSlice(), Port: dhcpv6.DefaultServerPort}}
	}
	solicit := func(n int, linkAddr string) []byte {
		cid, _ := batchClient(n)
		return relayed(t, clientMessage(t, dhcpv6.MessageTypeSolicit, cid, nil, iaNA(1)), relayHop{linkAddr: linkAddr}).ToBytes()
	}

	var ms []ipv6.Message
	for i := range 10 {
		ms = append(ms, from(flooder, solicit(i, "2001:db8:10::1")))
	}
	// Garbage after the message type: not parsed once the bucket is empty.
	for range 5 {
		ms = append(ms, from(flooder, []byte{byte(dhcpv6.MessageTypeRelayForward), 0xff}))
	}
	ms = append(ms, from(other, solicit(100, "2001:db8:20::1")), from(other, solicit(101, "2001:db8:20::1")))
	var b batch
	srv.serveBatch(ms, &b)

	answered := map[string]int{}
	for _, dst := range conn.dsts {
		answered[dst.IP.String()]++
	}
	if answered[flooder.String()] != 3 || answered[other.String()] != 2 {
		t.Errorf("answered %v, want 3 to the flooding relay (its burst) and 2 to the other", answered)
	}
	st := srv.Stats()
	if rf := st.ByType["RELAY-FORW"]; rf.Received != 17 || rf.RateLimited != 12 || rf.Dropped != 12 || st.RelayRateLimited != 12 {
		t.Errorf("RELAY-FORW %+v, relay rate limited %d; want 17 received, 12 dropped as rate limited", rf, st.RelayRateLimited)
	}
	if st.Malformed != 0 {
		t.Errorf("%d malformed: rate-limited Relay-Forwards were parsed", st.Malformed)
	}
	lines := strings.Count(logs.String(), "over the rate limit")
	if lines != 1 || !strings.Contains(logs.String(), "bucket=relay") || !strings.Contains(logs.String(), "peer="+flooder.String()) {
		t.Errorf("logged %d rate-limit lines, want one naming the relay bucket and %s:\n%s", lines, flooder, logs.String())
	}

	// The default lets a relay's burst of clients through.
	cfg.DHCPv6.RateLimit = config.Defaults.RateLimit
	srv.h.apply(cfg)
	conn.sent, conn.dsts = nil, nil
	ms = ms[:0]
	for i := range 200 {
		ms = append(ms, from(flooder, solicit(1000+i, "2001:db8:10::1")))
	}
	srv.serveBatch(ms, &b)
	if len(conn.sent) != 200 {
		t.Errorf("with the default limits, answered %d of 200 relayed Solicits", len(conn.sent))
	}
}
