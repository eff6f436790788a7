package agent

import (
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/artifact"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/histogram"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/store"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestAddStructNamesCountersFromFields(t *testing.T) {
	var got []string
	out := sink{
		counter: func(name, help string, v uint64, labels ...label) {
			got = append(got, fmt.Sprintf("%s%v=%d %q", name, labels, v, help))
		},
		histogram: func(name, help string, h histogram.Snapshot, labels ...label) {
			got = append(got, fmt.Sprintf("%s%v count=%d %q", name, labels, h.Count, help))
		},
	}
	addStruct(out, "netboot_tftp", "TFTP server", struct {
		TransfersOK     uint64
		BytesSent       uint64 `help:"Bytes of file data sent."`
		RefusedBadPath  uint64
		MaxBlockSizeSet bool
		TransferSeconds histogram.Snapshot
	}{TransfersOK: 1, BytesSent: 2, RefusedBadPath: 3, TransferSeconds: histogram.Snapshot{Count: 4}}, label{"boot_server", "lab"})
	want := []string{
		`netboot_tftp_transfers_ok_total[{boot_server lab}]=1 "TFTP server: transfers ok."`,
		`netboot_tftp_bytes_sent_total[{boot_server lab}]=2 "Bytes of file data sent."`,
		`netboot_tftp_refused_bad_path_total[{boot_server lab}]=3 "TFTP server: refused bad path."`,
		`netboot_tftp_transfer_seconds[{boot_server lab}] count=4 "TFTP server: transfer seconds."`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// collectorFunc lets a test feed samples through the same path as the
// agent's collector.
type collectorFunc func(emitFunc)

func (collectorFunc) Describe(chan<- *prometheus.Desc) {}
func (f collectorFunc) Collect(ch chan<- prometheus.Metric) {
	f(func(name, help string, v uint64, labels ...label) { ch <- constMetric(name, help, v, labels) })
}

// counterSink is a sink of counters only.
func counterSink(emit emitFunc) sink { return sink{counter: emit} }

func TestMetricTextKeepsNamesAndLabels(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectorFunc(func(emit emitFunc) {
		server := label{"boot_server", "lab"}
		emit("netboot_boot_server_serving", "Serving.", 1, server)
		addStruct(counterSink(emit), "netboot_http", "HTTP server", struct{ Requests uint64 }{2}, server, label{"scheme", "http"})
		addStruct(counterSink(emit), "netboot_http", "HTTP server", struct{ Requests uint64 }{5}, server, label{"scheme", "https"})
	}))
	want := `# HELP netboot_boot_server_serving Serving.
# TYPE netboot_boot_server_serving gauge
netboot_boot_server_serving{boot_server="lab"} 1
# HELP netboot_http_requests_total HTTP server: requests.
# TYPE netboot_http_requests_total counter
netboot_http_requests_total{boot_server="lab",scheme="http"} 2
netboot_http_requests_total{boot_server="lab",scheme="https"} 5
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
}

// TestReplyDurationHistogramIsCumulativeSeconds checks the conversion of
// the DHCPv6 server's own buckets to Prometheus's cumulative ones.
func TestReplyDurationHistogramIsCumulativeSeconds(t *testing.T) {
	var c histogram.Counts
	for _, d := range []time.Duration{10 * time.Microsecond, 50 * time.Microsecond, 3 * time.Millisecond, 2 * time.Second} {
		histogram.Latency.Observe(&c, int64(d))
	}
	h := histogram.Latency.Snapshot(&c)
	reg := prometheus.NewRegistry()
	got := constHistogram("netboot_dhcpv6_reply_duration_seconds", "Latency.", h, []label{{"boot_server", "lab"}, {"message_type", "REQUEST"}})
	reg.MustRegister(constCollector{got})
	var want strings.Builder
	want.WriteString("# HELP netboot_dhcpv6_reply_duration_seconds Latency.\n# TYPE netboot_dhcpv6_reply_duration_seconds histogram\n")
	cumulative := []int{2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3}
	for i, bound := range h.Bounds {
		fmt.Fprintf(&want, "netboot_dhcpv6_reply_duration_seconds_bucket{boot_server=\"lab\",message_type=\"REQUEST\",le=\"%g\"} %d\n", time.Duration(bound).Seconds(), cumulative[i])
	}
	want.WriteString(`netboot_dhcpv6_reply_duration_seconds_bucket{boot_server="lab",message_type="REQUEST",le="+Inf"} 4
netboot_dhcpv6_reply_duration_seconds_sum{boot_server="lab",message_type="REQUEST"} 2.00306
netboot_dhcpv6_reply_duration_seconds_count{boot_server="lab",message_type="REQUEST"} 4
`)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want.String())); err != nil {
		t.Fatal(err)
	}
}

type constCollector struct{ m prometheus.Metric }

func (constCollector) Describe(chan<- *prometheus.Desc)      {}
func (c constCollector) Collect(ch chan<- prometheus.Metric) { ch <- c.m }

// TestMetricsHandlerServesRuntimeAndAgentMetrics scrapes an agent with no
// boot server: the Go and process collectors and the agent's own gauges are
// there with their help, and other paths are not found.
func TestMetricsHandlerServesRuntimeAndAgentMetrics(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := newTestService(t, dir, st, artifact.SourceOptions{}).metricsHandler()

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body := rec.Body.String()
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", rec.Code, body)
	}
	for _, want := range []string{"# HELP netboot_artifacts ", "# TYPE netboot_artifacts gauge", "netboot_artifacts 0", "go_goroutines ", "process_resident_memory_bytes "} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/other", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("GET /other: %d, want 404", rec.Code)
	}
}

// TestLeasesByState counts a stopped boot server's stored leases by kind
// and by whether their preferred lifetime has passed; expired ones are
// left out.
func TestLeasesByState(t *testing.T) {
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	l := func(kind lease.Kind, addr string, preferred, valid time.Duration) lease.Lease {
		return lease.Lease{Kind: kind, Address: netip.MustParseAddr(addr), DUID: []byte{1, byte(len(addr))}, PreferredUntil: now.Add(preferred), ValidUntil: now.Add(valid)}
	}
	leases := st.Leases("lab")
	if err := leases.PutLeases([]lease.Lease{
		l(lease.NA, "2001:db8::1", time.Hour, 2*time.Hour),
		l(lease.NA, "2001:db8::2", -time.Minute, time.Hour),
		l(lease.NA, "2001:db8::3", -2*time.Hour, -time.Hour),
		l(lease.PD, "2001:db8:100::", 0, time.Hour),
	}, nil); err != nil {
		t.Fatal(err)
	}
	s := &core{}
	got := s.leasesByState(newSite(config.BootServer{Name: "lab"}, leases, slog.New(slog.DiscardHandler)), now)
	want := map[leaseState]uint64{{lease.NA, "preferred"}: 1, {lease.NA, "deprecated"}: 1, {lease.PD, "deprecated"}: 1}
	if !maps.Equal(got, want) {
		t.Errorf("leases by state %v, want %v", got, want)
	}
}

// slowLeases is a lease store whose Leases waits for release, as reading
// a large one takes a while; entered is closed when a read has started.
type slowLeases struct {
	leaseStore
	entered, release chan struct{}
	once             sync.Once
}

func (l *slowLeases) Leases() ([]lease.Lease, error) {
	l.once.Do(func() { close(l.entered) })
	<-l.release
	return l.leaseStore.Leases()
}

// TestScrapeDoesNotHoldTheAgentLock scrapes while reading a stopped boot
// server's leases takes long: the agent's lock stays free meanwhile, and
// sites added and removed during scrapes race with nothing (-race).
func TestScrapeDoesNotHoldTheAgentLock(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := newTestService(t, dir, st, artifact.SourceOptions{})
	h := s.metricsHandler()
	slow := &slowLeases{leaseStore: st.Leases("lab"), entered: make(chan struct{}), release: make(chan struct{})}
	logger := slog.New(slog.DiscardHandler)
	s.mu.Lock()
	s.sites["lab"] = newSite(config.BootServer{Name: "lab"}, slow, logger)
	s.mu.Unlock()

	scraped := make(chan string)
	scrape := func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		scraped <- rec.Body.String()
	}
	go scrape()
	<-slow.entered
	locked := make(chan struct{})
	go func() {
		s.mu.Lock()
		// A write while the scrape reads: another site comes and goes.
		s.sites["other"] = newSite(config.BootServer{Name: "other"}, st.Leases("other"), logger)
		s.mu.Unlock()
		close(locked)
	}()
	select {
	case <-locked:
	case <-time.After(5 * time.Second):
		close(slow.release)
		<-scraped
		t.Fatal("the agent's lock stayed held while a scrape read leases")
	}
	go scrape()
	for range 20 {
		s.mu.Lock()
		delete(s.sites, "other")
		s.mu.Unlock()
		s.mu.Lock()
		s.sites["other"] = newSite(config.BootServer{Name: "other"}, st.Leases("other"), logger)
		s.mu.Unlock()
	}
	close(slow.release)
	for range 2 {
		if body := <-scraped; !strings.Contains(body, `netboot_boot_server_serving{boot_server="lab"} 0`) {
			t.Errorf("scrape lacks the lab boot server:\n%s", body)
		}
	}
}
