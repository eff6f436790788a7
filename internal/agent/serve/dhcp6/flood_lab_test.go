package dhcp6

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
)

// floodHeapBound is how much the live heap may grow during the flood. What
// the flood can fill is bounded: lease.MaxOffers offers and the rate
// limiter's tables (maxClientBuckets, maxSourceBuckets), a few MB each.
const floodHeapBound = 32 << 20

// TestSolicitFloodBoundedMemory floods the server for 20 s with Solicits,
// each from a new random DUID-UUID, sent by a Go sender in the client
// namespace from a second link-local address, while dhclient -6 boots from
// the interface's own address. The live heap (after GC, in this process,
// where the server runs) must stay within floodHeapBound of what it was
// before, dhclient must get its lease during the flood, and the rate
// limiter's log lines must stay few.
func TestSolicitFloodBoundedMemory(t *testing.T) {
	lab := newLab(t)
	const (
		// dhclient starts 2 s in and retransmits its Solicit after about
		// 1, 3, 7.5 and 15 s: 18 s of flood after it starts cover that
		// fifth try, so a CI run where the first ones were lost (the
		// socket's queue overflows when other tests take the CPU the
		// server drains it with) does not fail, while a server that
		// ignored it throughout still does.
		floodFor  = 20 * time.Second
		floodRate = 30000 // Solicits a second offered
		floodSrc  = "fe80::f100:d"
	)
	cfg := labConfig(t, lab, config.DHCPv6Stateful)
	cfg.DHCPv6.Ranges[0].End = netip.MustParseAddr("2001:db8:1::ffff:ffff")
	// Far below what any machine delivers of the flood (the test requires
	// 20,000 Solicits received), so the per-source bucket works however
	// much of it the kernel drops; still above the offer cap, so more
	// offers are made than the pool may hold.
	const perSource = 1000
	cfg.DHCPv6.RateLimit.PerSourcePerSecond, cfg.DHCPv6.RateLimit.PerSourceBurst = perSource, perSource
	logs := &countingHandler{}
	var (
		srv *Server
		err error
	)
	testlab.InNetns(t, lab.ServerNS, func() { srv, err = Start(context.Background(), cfg, newMemStore(), slog.New(logs)) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	lab.MustExec(t, lab.ClientNS, "ip", "-6", "addr", "add", floodSrc+"/64", "dev", lab.ClientIf, "nodad")
	var conn *net.UDPConn
	testlab.InNetns(t, lab.ClientNS, func() {
		conn, err = net.ListenUDP("udp6", &net.UDPAddr{IP: net.ParseIP(floodSrc), Zone: lab.ClientIf})
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	// Drain the Advertises so they cost the kernel nothing.
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, _, err := conn.ReadFrom(buf); err != nil {
				return
			}
		}
	}()

	base := liveHeap()
	floodStart := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), floodFor)
	defer cancel()
	var sent atomic.Uint64
	var wg sync.WaitGroup
	wg.Go(func() { sent.Store(floodSolicits(ctx, t, conn, lab.ClientIf, floodRate)) })
	var peak uint64
	wg.Go(func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				peak = max(peak, liveHeap())
			}
		}
	})

	time.Sleep(2 * time.Second)
	start := time.Now()
	d := newDhclient(t)
	d.run(t, lab)
	d.waitEvent(t, 30*time.Second, "BOUND6")
	latency := time.Since(start)
	wg.Wait()
	peak = max(peak, liveHeap())

	st := srv.Stats().ByType["SOLICIT"]
	// The server may still be reading the flood's backlog from its socket
	// after the flood: its bucket refills meanwhile.
	served := time.Since(floodStart)
	t.Logf("flood: %d Solicits sent in %s from %d random DUIDs; server received %d, answered %d, rate limited %d",
		sent.Load(), floodFor, sent.Load(), st.Received, st.Replied, st.RateLimited)
	t.Logf("live heap %.1f MB before, peak %.1f MB (bound: +%d MB); dhclient bound after %s, started 2 s into the flood",
		mb(base), mb(peak), floodHeapBound>>20, latency.Round(time.Millisecond))
	if latency >= floodFor-2*time.Second {
		t.Errorf("dhclient took %s, longer than the flood lasted after it started", latency)
	}
	if peak > base+floodHeapBound {
		t.Errorf("live heap grew from %.1f MB to %.1f MB, more than %d MB", mb(base), mb(peak), floodHeapBound>>20)
	}
	if st.Received < 20000 {
		t.Errorf("server received only %d Solicits: not much of a flood", st.Received)
	}
	if st.RateLimited == 0 {
		t.Error("no Solicit was rate limited although the flood exceeded the per-source limit")
	}
	passed, allowed := st.Received-st.RateLimited, uint64(perSource*(served.Seconds()+1)+perSource)
	if passed == 0 || passed > allowed {
		t.Errorf("%d Solicits got past the per-source limit to the lease work, want 1 to %d", passed, allowed)
	}
	// One source over its limit: one line per rateLogInterval, plus the
	// overflow bucket's.
	if n := logs.count("over the rate limit"); n == 0 || n > 2*int(floodFor/rateLogInterval+1) {
		t.Errorf("%d rate-limit log lines for one flooding source", n)
	}
}

// floodSolicits sends Solicits from random DUID-UUIDs to ff02::1:2 at
// about rate a second until ctx is done, building each in one reused
// buffer, and returns how many it sent.
func floodSolicits(ctx context.Context, t *testing.T, conn *net.UDPConn, ifname string, rate int) uint64 {
	// Client ID (DUID-UUID), IA_NA, Elapsed Time: 48 bytes.
	msg := make([]byte, 0, 48)
	msg = append(msg, byte(dhcpv6.MessageTypeSolicit), 0, 0, 0)
	msg = append(msg, 0, 1, 0, 18, 0, 4)
	duidAt := len(msg)
	msg = append(msg, make([]byte, 16)...)
	msg = append(msg, 0, 3, 0, 12, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0)
	msg = append(msg, 0, 8, 0, 2, 0, 0)
	dst := &net.UDPAddr{IP: dhcpv6.AllDHCPRelayAgentsAndServers, Port: dhcpv6.DefaultServerPort, Zone: ifname}
	const tick = 10 * time.Millisecond
	perTick := rate * int(tick) / int(time.Second)
	var sent uint64
	next := time.Now()
	for ctx.Err() == nil {
		for range perTick {
			_, _ = rand.Read(msg[duidAt : duidAt+16])
			binary.BigEndian.PutUint32(msg[0:4], uint32(sent)&0xffffff|uint32(dhcpv6.MessageTypeSolicit)<<24)
			if _, err := conn.WriteTo(msg, dst); err != nil {
				if ctx.Err() == nil && !strings.Contains(err.Error(), "no buffer space") {
					t.Errorf("sending Solicit: %v", err)
					return sent
				}
				continue
			}
			sent++
		}
		next = next.Add(tick)
		time.Sleep(time.Until(next))
	}
	return sent
}

// liveHeap is the heap in use after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func mb(n uint64) float64 { return float64(n) / (1 << 20) }

// countingHandler is a slog.Handler that keeps only a count of each
// message: the flood's Info lines would otherwise fill the test's memory.
type countingHandler struct {
	mu     sync.Mutex
	counts map[string]int
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *countingHandler) WithGroup(string) slog.Handler            { return h }

func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.counts == nil {
		h.counts = map[string]int{}
	}
	h.counts[r.Message]++
	return nil
}

// count is how many records had a message containing s.
func (h *countingHandler) count(s string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for msg, c := range h.counts {
		if strings.Contains(msg, s) {
			n += c
		}
	}
	return n
}
