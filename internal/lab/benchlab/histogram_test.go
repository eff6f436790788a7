package benchlab

import (
	"math"
	"strings"
	"testing"
)

func TestHistogramQuantile(t *testing.T) {
	// 10 observations: 4 up to 1, 4 in (1, 2], 1 in (2, 4], 1 above 4.
	h := Histogram{Bounds: []float64{1, 2, 4}, Cumulative: []uint64{4, 8, 9}, Count: 10, Sum: 25}
	for _, tc := range []struct {
		name string
		h    Histogram
		q    float64
		want float64
	}{
		{"median inside the second bucket", h, 0.5, 1.25},
		{"inside the first bucket, from 0", h, 0.2, 0.5},
		{"at a bound", h, 0.4, 1},
		{"third bucket", h, 0.85, 3},
		{"rank in the +Inf bucket gives the last bound", h, 0.99, 4},
		{"q=1 in the +Inf bucket", h, 1, 4},
		{"q=0", h, 0, 0},
		{"all in +Inf", Histogram{Bounds: []float64{1, 2}, Cumulative: []uint64{0, 0}, Count: 3, Sum: 9}, 0.5, 2},
		{"empty", Histogram{Bounds: []float64{1, 2}, Cumulative: []uint64{0, 0}}, 0.5, math.NaN()},
		{"no buckets", Histogram{Count: 2, Sum: 1}, 0.5, math.NaN()},
		{"q above 1", h, 1.5, math.NaN()},
		{"q below 0", h, -0.1, math.NaN()},
		{"q NaN", h, math.NaN(), math.NaN()},
		{"negative first bound", Histogram{Bounds: []float64{-1, 1}, Cumulative: []uint64{2, 4}, Count: 4}, 0.25, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.h.Quantile(tc.q)
			if math.IsNaN(tc.want) != math.IsNaN(got) || (!math.IsNaN(got) && math.Abs(got-tc.want) > 1e-12) {
				t.Errorf("Quantile(%g) = %g, want %g", tc.q, got, tc.want)
			}
		})
	}
	if got := h.Mean(); got != 2.5 {
		t.Errorf("Mean = %g, want 2.5", got)
	}
	if got := (Histogram{}).Mean(); !math.IsNaN(got) {
		t.Errorf("Mean of an empty histogram = %g, want NaN", got)
	}
}

func TestHistogramSince(t *testing.T) {
	before := Histogram{Bounds: []float64{1, 2}, Cumulative: []uint64{1, 2}, Count: 3, Sum: 4}
	after := Histogram{Bounds: []float64{1, 2}, Cumulative: []uint64{4, 6}, Count: 8, Sum: 10}
	d, err := after.Since(before)
	if err != nil || d.Count != 5 || d.Sum != 6 || d.Cumulative[0] != 3 || d.Cumulative[1] != 4 {
		t.Errorf("Since = %+v, %v; want counts 3, 4 of 5, sum 6", d, err)
	}
	if d, err := after.Since(Histogram{}); err != nil || d.Count != 8 {
		t.Errorf("Since an empty histogram = %+v, %v; want the histogram itself", d, err)
	}
	if _, err := before.Since(after); err == nil || !strings.Contains(err.Error(), "restarted") {
		t.Errorf("a count that went down: %v", err)
	}
	if _, err := after.Since(Histogram{Bounds: []float64{1, 3}, Cumulative: []uint64{0, 0}}); err == nil || !strings.Contains(err.Error(), "differ") {
		t.Errorf("other buckets: %v", err)
	}
}

// scrape is the agent's exposition of two boot servers' histograms.
const scrape = `# HELP netboot_dhcpv6_reply_duration_seconds Time from read to send.
# TYPE netboot_dhcpv6_reply_duration_seconds histogram
netboot_dhcpv6_reply_duration_seconds_bucket{boot_server="a",message_type="REQUEST",le="0.001"} 3
netboot_dhcpv6_reply_duration_seconds_bucket{boot_server="a",message_type="REQUEST",le="0.01"} 5
netboot_dhcpv6_reply_duration_seconds_bucket{boot_server="a",message_type="REQUEST",le="+Inf"} 6
netboot_dhcpv6_reply_duration_seconds_sum{boot_server="a",message_type="REQUEST"} 1.5
netboot_dhcpv6_reply_duration_seconds_count{boot_server="a",message_type="REQUEST"} 6
netboot_dhcpv6_reply_duration_seconds_bucket{boot_server="b",message_type="REQUEST",le="0.001"} 1
netboot_dhcpv6_reply_duration_seconds_bucket{boot_server="b",message_type="REQUEST",le="0.01"} 1
netboot_dhcpv6_reply_duration_seconds_bucket{boot_server="b",message_type="REQUEST",le="+Inf"} 1
netboot_dhcpv6_reply_duration_seconds_sum{boot_server="b",message_type="REQUEST"} 0.5
netboot_dhcpv6_reply_duration_seconds_count{boot_server="b",message_type="REQUEST"} 1
netboot_dhcpv6_reply_duration_seconds_bucket{boot_server="a",message_type="SOLICIT",le="0.001"} 0
netboot_dhcpv6_reply_duration_seconds_bucket{boot_server="a",message_type="SOLICIT",le="0.01"} 0
netboot_dhcpv6_reply_duration_seconds_bucket{boot_server="a",message_type="SOLICIT",le="+Inf"} 0
netboot_dhcpv6_reply_duration_seconds_sum{boot_server="a",message_type="SOLICIT"} 0
netboot_dhcpv6_reply_duration_seconds_count{boot_server="a",message_type="SOLICIT"} 0
# TYPE netboot_dhcpv6_malformed_total counter
netboot_dhcpv6_malformed_total{boot_server="a"} 0
`

func TestMetricsHistogram(t *testing.T) {
	m, err := ParseMetrics(strings.NewReader(scrape))
	if err != nil {
		t.Fatal(err)
	}
	h, err := m.Histogram("netboot_dhcpv6_reply_duration_seconds", "message_type", "REQUEST")
	if err != nil {
		t.Fatal(err)
	}
	want := Histogram{Bounds: []float64{0.001, 0.01}, Cumulative: []uint64{4, 6}, Count: 7, Sum: 2}
	if h.Count != want.Count || h.Sum != want.Sum || len(h.Bounds) != 2 || h.Bounds[0] != want.Bounds[0] ||
		h.Bounds[1] != want.Bounds[1] || h.Cumulative[0] != 4 || h.Cumulative[1] != 6 {
		t.Errorf("summed over boot servers: %+v, want %+v", h, want)
	}
	if h, err := m.Histogram("netboot_dhcpv6_reply_duration_seconds", "message_type", "SOLICIT"); err != nil || h.Count != 0 || !math.IsNaN(h.Quantile(0.5)) {
		t.Errorf("empty SOLICIT series: %+v, %v", h, err)
	}
	for _, tc := range []struct {
		name   string
		labels []string
		want   string
	}{
		{"netboot_nothing", nil, "no metric netboot_nothing"},
		{"netboot_dhcpv6_malformed_total", nil, "not a histogram"},
		{"netboot_dhcpv6_reply_duration_seconds", []string{"message_type", "RENEW"}, "no series"},
		{"netboot_dhcpv6_reply_duration_seconds", []string{"message_type"}, "pairs"},
	} {
		if _, err := m.Histogram(tc.name, tc.labels...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Histogram(%s, %q) = %v, want an error with %q", tc.name, tc.labels, err, tc.want)
		}
	}
	if _, err := ParseMetrics(strings.NewReader("netboot{ 1\n")); err == nil {
		t.Error("a broken scrape parsed")
	}
}

func TestMetricsValue(t *testing.T) {
	m, err := ParseMetrics(strings.NewReader(`# TYPE go_memstats_heap_inuse_bytes gauge
go_memstats_heap_inuse_bytes 8.5e+07
# TYPE netboot_ra_sent_total counter
netboot_ra_sent_total 12
# TYPE netboot_dhcpv6_leases gauge
netboot_dhcpv6_leases{kind="na"} 3
netboot_dhcpv6_leases{kind="pd"} 4
`))
	if err != nil {
		t.Fatal(err)
	}
	if v, err := m.Value("go_memstats_heap_inuse_bytes"); err != nil || v != 85e6 {
		t.Errorf("gauge = %v, %v", v, err)
	}
	if v, err := m.Value("netboot_ra_sent_total"); err != nil || v != 12 {
		t.Errorf("counter = %v, %v", v, err)
	}
	for _, name := range []string{"missing", "netboot_dhcpv6_leases"} {
		if _, err := m.Value(name); err == nil {
			t.Errorf("Value(%q) gave no error", name)
		}
	}
}
