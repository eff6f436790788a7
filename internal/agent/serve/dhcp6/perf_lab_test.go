package dhcp6

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/store"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
)

// TestPerfdhcpThroughput measures, rather than checks, how many Solicit,
// Advertise, Request, Reply exchanges per second the server sustains with
// leases in bbolt, using Kea's perfdhcp as up to a million simulated
// clients. It runs only with NETBOOT_PERF=1; compare its log lines before
// and after a change to the serving path.
func TestPerfdhcpThroughput(t *testing.T) {
	if os.Getenv("NETBOOT_PERF") != "1" {
		t.Skip("a measurement, not a check: set NETBOOT_PERF=1 to run it")
	}
	testlab.RequireRoot(t, "perfdhcp")
	for _, rate := range []int{500, 1000, 2000, 4000} {
		t.Run(strconv.Itoa(rate), func(t *testing.T) {
			lab := testlab.New(t)
			st, err := store.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			cfg := labConfig(t, lab, config.DHCPv6Stateful)
			// Room for every simulated client.
			cfg.DHCPv6.Ranges[0].End = netip.MustParseAddr("2001:db8:1::ffff:ffff")
			// Info-level logs are formatted as in production, then dropped.
			logger := slog.New(slog.NewTextHandler(io.Discard, nil))
			ts := &timedStore{LeaseStore: st.Leases("lab")}
			var srv *Server
			testlab.InNetns(t, lab.ServerNS, func() { srv, err = Start(context.Background(), cfg, ts, logger) })
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(srv.Stop)

			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			// perfdhcp exits 3 when packets were dropped: that is data here.
			out, err := lab.Exec(ctx, lab.ClientNS, "perfdhcp", "-6", "-l", lab.ClientIf,
				"-r", strconv.Itoa(rate), "-p", "10", "-R", "1000000")
			r := parsePerfdhcp(out)
			if r.rate == "" {
				t.Fatalf("no rate in perfdhcp output (%v):\n%s", err, out)
			}
			t.Logf("rate %d/s: achieved %s exchanges/s; Solicit-Advertise drops %s, avg delay %s ms; Request-Reply drops %s, avg delay %s ms",
				rate, r.rate, r.drops[0], r.delay[0], r.drops[1], r.delay[1])
			srv.Stop()
			t.Logf("server: %+v", srv.Stats().ByType)
			t.Logf("storage: %s", ts)
			if out, err := lab.Exec(ctx, lab.ServerNS, "nstat", "-az", "Udp6RcvbufErrors"); err == nil {
				t.Logf("server socket: %s", strings.Join(strings.Fields(out), " "))
			}
		})
	}
}

// timedStore measures the commits of a LeaseStore.
type timedStore struct {
	LeaseStore
	mu         sync.Mutex
	commits    int
	leases     int
	total, max time.Duration
}

func (s *timedStore) PutLeases(put []lease.Lease, del []netip.Addr) error {
	start := time.Now()
	err := s.LeaseStore.PutLeases(put, del)
	took := time.Since(start)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commits++
	s.leases += len(put) + len(del)
	s.total += took
	s.max = max(s.max, took)
	return err
}

func (s *timedStore) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.commits == 0 {
		return "no commits"
	}
	return fmt.Sprintf("%d commits of %.1f leases on average, taking %s on average, %s at most",
		s.commits, float64(s.leases)/float64(s.commits), (s.total / time.Duration(s.commits)).Round(time.Microsecond), s.max.Round(time.Microsecond))
}

// perfdhcpResult is what TestPerfdhcpThroughput reports of perfdhcp's
// output; index 0 is Solicit-Advertise, 1 Request-Reply.
type perfdhcpResult struct {
	rate         string
	drops, delay [2]string
}

var (
	perfRate  = regexp.MustCompile(`(?m)^Rate: ([0-9.]+)`)
	perfDrops = regexp.MustCompile(`(?m)^drops: (\d+)`)
	perfRatio = regexp.MustCompile(`(?m)^drops ratio: ([0-9.]+ ?%)`)
	perfDelay = regexp.MustCompile(`(?m)^avg delay: ([0-9.]+) ms`)
)

func parsePerfdhcp(out string) perfdhcpResult {
	var r perfdhcpResult
	if m := perfRate.FindStringSubmatch(out); m != nil {
		r.rate = m[1]
	}
	drops, ratios, delays := perfDrops.FindAllStringSubmatch(out, 2), perfRatio.FindAllStringSubmatch(out, 2), perfDelay.FindAllStringSubmatch(out, 2)
	for i := range 2 {
		r.drops[i], r.delay[i] = "?", "?"
		if i < len(drops) {
			r.drops[i] = drops[i][1]
			if i < len(ratios) {
				r.drops[i] += " (" + ratios[i][1] + ")"
			}
		}
		if i < len(delays) {
			r.delay[i] = delays[i][1]
		}
	}
	return r
}
