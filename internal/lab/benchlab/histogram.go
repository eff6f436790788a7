package benchlab

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Histogram is a Prometheus histogram as scraped: Cumulative[i] counts
// the observations at most Bounds[i] (ascending, finite); Count counts
// all of them, those above the last bound too (the +Inf bucket).
type Histogram struct {
	Bounds     []float64
	Cumulative []uint64
	Count      uint64
	Sum        float64
}

// Mean is Sum/Count; NaN when the histogram is empty.
func (h Histogram) Mean() float64 {
	if h.Count == 0 {
		return math.NaN()
	}
	return h.Sum / float64(h.Count)
}

// Quantile estimates the q-quantile (0 ≤ q ≤ 1) as Prometheus's
// histogram_quantile does: find the bucket holding the rank q·Count and
// interpolate linearly inside it, the first bucket starting at 0. A rank
// in the +Inf bucket gives the last finite bound, a floor rather than an
// estimate. NaN when the histogram is empty or q is out of range.
func (h Histogram) Quantile(q float64) float64 {
	if h.Count == 0 || q < 0 || q > 1 || math.IsNaN(q) || len(h.Bounds) == 0 {
		return math.NaN()
	}
	rank := q * float64(h.Count)
	b, _ := slices.BinarySearchFunc(h.Cumulative, rank, func(c uint64, r float64) int {
		if float64(c) < r {
			return -1
		}
		return 1
	})
	if b == len(h.Bounds) {
		return h.Bounds[len(h.Bounds)-1]
	}
	start, below := 0.0, uint64(0)
	if b > 0 {
		start, below = h.Bounds[b-1], h.Cumulative[b-1]
	} else if h.Bounds[0] <= 0 {
		return h.Bounds[0]
	}
	in := h.Cumulative[b] - below
	if in == 0 {
		return h.Bounds[b]
	}
	return start + (h.Bounds[b]-start)*(rank-float64(below))/float64(in)
}

// Since is what h counted after before, an earlier scrape of the same
// histogram: the observations of the span between the two. An empty
// before (no buckets) is no observations.
func (h Histogram) Since(before Histogram) (Histogram, error) {
	if before.Bounds == nil {
		return h, nil
	}
	if !slices.Equal(h.Bounds, before.Bounds) {
		return Histogram{}, fmt.Errorf("buckets %v differ from the earlier %v", h.Bounds, before.Bounds)
	}
	if h.Count < before.Count {
		return Histogram{}, fmt.Errorf("count %d below the earlier %d: the server restarted", h.Count, before.Count)
	}
	d := Histogram{Bounds: h.Bounds, Cumulative: make([]uint64, len(h.Bounds)), Count: h.Count - before.Count, Sum: h.Sum - before.Sum}
	for i := range h.Cumulative {
		d.Cumulative[i] = h.Cumulative[i] - min(before.Cumulative[i], h.Cumulative[i])
	}
	return d, nil
}

// add merges o, which must have h's bounds, into h.
func (h *Histogram) add(o Histogram) error {
	if h.Bounds == nil {
		h.Bounds, h.Cumulative = o.Bounds, make([]uint64, len(o.Bounds))
	}
	if !slices.Equal(h.Bounds, o.Bounds) {
		return fmt.Errorf("buckets %v differ from %v", o.Bounds, h.Bounds)
	}
	for i, c := range o.Cumulative {
		h.Cumulative[i] += c
	}
	h.Count += o.Count
	h.Sum += o.Sum
	return nil
}

// Metrics are the samples of one scrape in Prometheus's text format.
type Metrics map[string]*dto.MetricFamily

// ParseMetrics reads a scrape in Prometheus's text format.
func ParseMetrics(r io.Reader) (Metrics, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parsing metrics: %w", err)
	}
	return Metrics(families), nil
}

// Histogram is the histogram family name summed over its series whose
// labels include every name=value pair of labels (e.g. over boot servers).
// A family that is missing, not a histogram, or has no matching series
// is an error.
func (m Metrics) Histogram(name string, labels ...string) (Histogram, error) {
	if len(labels)%2 != 0 {
		return Histogram{}, fmt.Errorf("histogram %s: labels must be name, value pairs, got %q", name, labels)
	}
	f, ok := m[name]
	if !ok {
		return Histogram{}, fmt.Errorf("no metric %s in the scrape", name)
	}
	if f.GetType() != dto.MetricType_HISTOGRAM {
		return Histogram{}, fmt.Errorf("metric %s is a %s, not a histogram", name, f.GetType())
	}
	var sum Histogram
	matched := false
	for _, metric := range f.GetMetric() {
		if !hasLabels(metric, labels) {
			continue
		}
		var h Histogram
		for _, b := range metric.GetHistogram().GetBucket() {
			if math.IsInf(b.GetUpperBound(), +1) {
				continue // Count is the +Inf bucket
			}
			h.Bounds = append(h.Bounds, b.GetUpperBound())
			h.Cumulative = append(h.Cumulative, b.GetCumulativeCount())
		}
		h.Count, h.Sum = metric.GetHistogram().GetSampleCount(), metric.GetHistogram().GetSampleSum()
		if err := sum.add(h); err != nil {
			return Histogram{}, fmt.Errorf("histogram %s: %w", name, err)
		}
		matched = true
	}
	if !matched {
		return Histogram{}, fmt.Errorf("no series of %s with labels %s", name, strings.Join(labels, " "))
	}
	return sum, nil
}

// Value is the value of the unlabelled gauge or counter name, such as
// go_memstats_heap_inuse_bytes.
func (m Metrics) Value(name string) (float64, error) {
	f, ok := m[name]
	if !ok || len(f.GetMetric()) != 1 {
		return 0, fmt.Errorf("no single series of %s in the scrape", name)
	}
	switch metric := f.GetMetric()[0]; f.GetType() {
	case dto.MetricType_GAUGE:
		return metric.GetGauge().GetValue(), nil
	case dto.MetricType_COUNTER:
		return metric.GetCounter().GetValue(), nil
	default:
		return 0, fmt.Errorf("metric %s is a %s, not a gauge or counter", name, f.GetType())
	}
}

func hasLabels(m *dto.Metric, pairs []string) bool {
	for i := 0; i < len(pairs); i += 2 {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == pairs[i] && l.GetValue() == pairs[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}
