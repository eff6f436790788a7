package dhcp6

import (
	"testing"
	"time"
)

func TestHistogramBuckets(t *testing.T) {
	for _, tc := range []struct {
		d      time.Duration
		bucket int // -1: above the last bound
	}{
		{0, 0},
		{50 * time.Microsecond, 0},
		{51 * time.Microsecond, 1},
		{time.Millisecond, 4},
		{3 * time.Millisecond, 6},
		{time.Second, len(LatencyBounds) - 1},
		{2 * time.Second, -1},
	} {
		var h histogram
		h.observe(tc.d)
		s := h.snapshot()
		for i, n := range s.Buckets {
			if want := uint64(0); i == tc.bucket {
				want = 1
				if n != want {
					t.Errorf("%v: bucket %d (≤ %v) holds %d, want %d", tc.d, i, LatencyBounds[i], n, want)
				}
			} else if n != want {
				t.Errorf("%v: bucket %d (≤ %v) holds %d, want 0", tc.d, i, LatencyBounds[i], n)
			}
		}
		if s.Count != 1 || s.Sum != tc.d {
			t.Errorf("%v: count %d sum %v, want 1 and %v", tc.d, s.Count, s.Sum, tc.d)
		}
	}
}

// BenchmarkHistogramObserve is the cost each reply adds for its latency.
func BenchmarkHistogramObserve(b *testing.B) {
	var h histogram
	d := 3 * time.Millisecond
	for b.Loop() {
		h.observe(d)
	}
}
