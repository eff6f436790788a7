package dhcp6

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"golang.org/x/net/ipv6"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
)

// TestLimiterTable drives one table with a fake clock: each step sends n
// messages from key at an offset from t0, and the test counts how many
// pass, how many log lines the drops would produce, and whether they fell
// to the overflow bucket.
func TestLimiterTable(t *testing.T) {
	type step struct {
		key     string
		at      time.Duration
		n       int
		allowed int
		logs    int
		// overflow: the refused messages of the step fell to the shared
		// overflow bucket.
		overflow bool
	}
	tests := []struct {
		name       string
		rate       uint32
		burst      uint32
		max        int
		steps      []step
		wantLen    int
		wantLogged uint64 // dropped count of the last log line
	}{
		{
			name: "burst then refill", rate: 10, burst: 20, max: 8,
			steps: []step{
				{key: "a", n: 25, allowed: 20, logs: 1},
				// 100 ms later: one token back.
				{key: "a", at: 100 * time.Millisecond, n: 3, allowed: 1},
				// 1 s later: ten tokens back.
				{key: "a", at: 1100 * time.Millisecond, n: 12, allowed: 10},
			},
			wantLen: 1,
		},
		{
			name: "one log line per interval with the count", rate: 1, burst: 2, max: 8,
			steps: []step{
				{key: "a", n: 5, allowed: 2, logs: 1},
				{key: "a", at: 5 * time.Second, n: 10, allowed: 2, logs: 0}, // 5 tokens back, capped at 2
				{key: "a", at: rateLogInterval, n: 3, allowed: 2, logs: 1},
			},
			wantLen: 1, wantLogged: 2 + 8 + 1, // the 2 after the first line, 8, and this one
		},
		{
			name: "keys do not share buckets", rate: 1, burst: 2, max: 8,
			steps: []step{
				{key: "a", n: 3, allowed: 2, logs: 1},
				{key: "b", n: 3, allowed: 2, logs: 1},
				{key: "c", n: 2, allowed: 2},
			},
			wantLen: 3,
		},
		{
			name: "rate 0 allows everything and remembers nothing", rate: 0, burst: 0, max: 8,
			steps: []step{
				{key: "a", n: 1000, allowed: 1000},
			},
			wantLen: 0,
		},
		{
			// Two clients in debt fill the table; a third shares the
			// overflow bucket (64 clients' worth) instead of evicting them.
			name: "full table: newcomers share the overflow bucket", rate: 1, burst: 2, max: 2,
			steps: []step{
				{key: "a", n: 2, allowed: 2},
				{key: "b", n: 2, allowed: 2},
				{key: "c", n: 130, allowed: 128, logs: 1, overflow: true},
				{key: "d", n: 1, allowed: 0, overflow: true}, // logged with c's: one line per interval
				// a and b still have their own (empty) buckets.
				{key: "a", n: 1, allowed: 0, logs: 1},
				{key: "b", n: 1, allowed: 0, logs: 1},
			},
			wantLen: 2,
		},
		{
			// Once the least recently seen client's bucket is full again,
			// forgetting it loses nothing, so a newcomer takes its place.
			name: "full table: a refilled entry is reused", rate: 1, burst: 2, max: 2,
			steps: []step{
				{key: "a", n: 2, allowed: 2},
				{key: "b", at: time.Second, n: 1, allowed: 1},
				{key: "c", at: 2 * time.Second, n: 3, allowed: 2, logs: 1},
				// b was refilled too, and is now the oldest: d replaces it.
				{key: "d", at: 3 * time.Second, n: 2, allowed: 2},
				// a was forgotten full, so it starts full.
				{key: "a", at: 5 * time.Second, n: 2, allowed: 2},
			},
			wantLen: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab := newLimiterTable(tt.rate, tt.burst, tt.max)
			var last verdict
			for i, s := range tt.steps {
				allowed, logs, overflow := 0, 0, false
				for range s.n {
					v := tab.allow([]byte(s.key), t0.Add(s.at))
					if v.ok {
						allowed++
						continue
					}
					overflow = overflow || v.overflow
					if v.log {
						logs++
						last = v
					}
				}
				if allowed != s.allowed || logs != s.logs || overflow != s.overflow {
					t.Errorf("step %d (%s ×%d at %s): allowed %d, logged %d, overflow %v; want %d, %d, %v",
						i, s.key, s.n, s.at, allowed, logs, overflow, s.allowed, s.logs, s.overflow)
				}
			}
			if tab.len() != tt.wantLen {
				t.Errorf("table holds %d keys, want %d", tab.len(), tt.wantLen)
			}
			if tt.wantLogged != 0 && last.dropped != tt.wantLogged {
				t.Errorf("last log line counts %d drops, want %d", last.dropped, tt.wantLogged)
			}
		})
	}
}

// TestLimiterTableBounded: a flood of distinct keys, each over its limit,
// never grows the table past its capacity.
func TestLimiterTableBounded(t *testing.T) {
	tab := newLimiterTable(1, 2, 100)
	for i := range 10000 {
		key := []byte(fmt.Sprintf("duid-%d", i))
		for range 3 {
			tab.allow(key, t0.Add(time.Duration(i)*time.Millisecond))
		}
	}
	if tab.len() != 100 || len(tab.entries) != 100 {
		t.Fatalf("table holds %d keys (%d indexed), want its capacity of 100", tab.len(), len(tab.entries))
	}
}

// TestRateLimitedBeforeLeaseWork checks the serving path: a client over
// its limit, and a host sending many DUIDs over the per-source limit, are
// dropped before the handler sees them (no offer in the pool), counted as
// rate limited, and the limits follow Apply.
func TestRateLimitedBeforeLeaseWork(t *testing.T) {
	cfg := testConfig(config.DHCPv6Stateful)
	cfg.DHCPv6.RapidCommit = false
	cfg.DHCPv6.RateLimit = config.RateLimit{PerClientPerSecond: 1, Burst: 2, PerSourcePerSecond: 5, PerSourceBurst: 5}
	now := t0
	conn := &fakeConn{t: t}
	srv := newTestServer(t, cfg, newMemStore(), conn, &now)
	var b batch

	// One client, four Solicits at once: two pass.
	solicit := newSolicit(t)
	srv.serveBatch([]ipv6.Message{datagram(solicit, clientLL), datagram(solicit, clientLL), datagram(solicit, clientLL), datagram(solicit, clientLL)}, &b)
	if len(conn.sent) != 2 {
		t.Fatalf("sent %d Advertises, want 2", len(conn.sent))
	}
	s := srv.Stats().ByType["SOLICIT"]
	if s.Received != 4 || s.Replied != 2 || s.Dropped != 2 || s.RateLimited != 2 {
		t.Errorf("SOLICIT stats %+v, want 4 received, 2 replied, 2 dropped as rate limited", s)
	}

	// Another host rotating DUIDs: its source bucket holds 5, of which the
	// first client's host took none.
	host := netip.MustParseAddr("fe80::bad")
	var ms []ipv6.Message
	for i := range 10 {
		duid, _ := batchClient(100 + i)
		ms = append(ms, datagram(clientMessage(t, dhcpv6.MessageTypeSolicit, duid, nil, iaNA(1)), host))
	}
	srv.serveBatch(ms, &b)
	if len(conn.sent) != 2+5 {
		t.Fatalf("sent %d Advertises to the rotating host, want 5", len(conn.sent)-2)
	}
	for i := 5; i < 10; i++ {
		duid, _ := batchClient(100 + i)
		if _, offered := srv.h.pool.Lookup("", duid.ToBytes(), 1, now); offered {
			t.Errorf("client %d was rate limited yet holds a lease", i)
		}
	}
	if s := srv.Stats().ByType["SOLICIT"]; s.RateLimited != 2+5 {
		t.Errorf("%d Solicits rate limited, want 7", s.RateLimited)
	}

	// Apply turns the limits off: everything passes.
	cfg.DHCPv6.RateLimit = config.RateLimit{}
	srv.h.apply(cfg)
	srv.serveBatch(ms, &b)
	if len(conn.sent) != 2+5+10 {
		t.Errorf("after turning the limits off, sent %d of 10", len(conn.sent)-7)
	}
}
