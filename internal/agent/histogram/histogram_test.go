package histogram

import (
	"testing"
	"time"
)

func TestObserveBuckets(t *testing.T) {
	for _, tc := range []struct {
		d      time.Duration
		bucket int // -1: above the last bound
	}{
		{0, 0},
		{50 * time.Microsecond, 0},
		{51 * time.Microsecond, 1},
		{time.Millisecond, 4},
		{3 * time.Millisecond, 6},
		{time.Second, 13},
		{2 * time.Second, -1},
	} {
		var c Counts
		Latency.Observe(&c, int64(tc.d))
		s := Latency.Snapshot(&c)
		for i, n := range s.Buckets {
			want := uint64(0)
			if i == tc.bucket {
				want = 1
			}
			if n != want {
				t.Errorf("%v: bucket %d (≤ %d) holds %d, want %d", tc.d, i, s.Bounds[i], n, want)
			}
		}
		if s.Count != 1 || s.Sum != int64(tc.d) {
			t.Errorf("%v: count %d sum %d, want 1 and %d", tc.d, s.Count, s.Sum, tc.d)
		}
	}
}

func TestCumulative(t *testing.T) {
	l := NewLayout(0.5, 10, 20, 30)
	var c Counts
	for _, v := range []int64{5, 10, 25, 40} {
		l.Observe(&c, v)
	}
	buckets, sum := l.Snapshot(&c).Cumulative()
	if len(buckets) != 3 || buckets[5] != 2 || buckets[10] != 2 || buckets[15] != 3 || sum != 40 {
		t.Errorf("cumulative %v sum %g, want map[5:2 10:2 15:3] and 40", buckets, sum)
	}
}

func TestNewLayoutRefusesUnorderedBounds(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewLayout(1, 2, 1) did not panic")
		}
	}()
	NewLayout(1, 2, 1)
}

// BenchmarkObserve is the cost a server adds per observation.
func BenchmarkObserve(b *testing.B) {
	var c Counts
	v := int64(3 * time.Millisecond)
	for b.Loop() {
		Latency.Observe(&c, v)
	}
}
