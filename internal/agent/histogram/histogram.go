// Package histogram counts observations into fixed buckets with atomics,
// cheap enough for a server's hot path: the servers keep the counts, and
// the agent turns a Snapshot into a Prometheus histogram at scrape time.
package histogram

import (
	"sync/atomic"
	"time"
)

// MaxBuckets is the most bounds a Layout may have.
const MaxBuckets = 20

// Counts are the counts of one histogram. The zero value is empty and
// ready; a Layout says what its buckets mean.
type Counts struct {
	buckets [MaxBuckets]atomic.Uint64
	count   atomic.Uint64
	sum     atomic.Int64
}

// Layout is the buckets of a kind of histogram: ascending upper bounds,
// and the factor that turns an observed value into the exported unit.
type Layout struct {
	bounds []int64
	scale  float64
}

// NewLayout panics on bounds that are not ascending or too many: layouts
// are package variables, so that is a programming error found by any test.
func NewLayout(scale float64, bounds ...int64) *Layout {
	if len(bounds) == 0 || len(bounds) > MaxBuckets {
		panic("histogram: need 1 to MaxBuckets bounds")
	}
	for i := 1; i < len(bounds); i++ {
		if bounds[i] <= bounds[i-1] {
			panic("histogram: bounds not ascending")
		}
	}
	return &Layout{bounds: bounds, scale: scale}
}

// Latency is for durations from tens of microseconds to a second, in
// seconds.
var Latency = NewLayout(1e-9, durations(
	50*time.Microsecond, 100*time.Microsecond, 250*time.Microsecond, 500*time.Microsecond,
	time.Millisecond, 2500*time.Microsecond, 5*time.Millisecond, 10*time.Millisecond,
	25*time.Millisecond, 50*time.Millisecond, 100*time.Millisecond, 250*time.Millisecond,
	500*time.Millisecond, time.Second)...)

// TransferTime is for file transfers, from a menu script in milliseconds
// to an installer image over minutes, in seconds.
var TransferTime = NewLayout(1e-9, durations(
	10*time.Millisecond, 50*time.Millisecond, 100*time.Millisecond, 250*time.Millisecond,
	500*time.Millisecond, time.Second, 2500*time.Millisecond, 5*time.Second, 10*time.Second,
	30*time.Second, time.Minute, 2*time.Minute, 5*time.Minute, 10*time.Minute)...)

// Bytes is for file sizes, from a script of a few KiB to an image of GiB.
var Bytes = NewLayout(1, 1<<10, 4<<10, 16<<10, 64<<10, 256<<10, 1<<20, 4<<20, 16<<20, 64<<20,
	256<<20, 1<<30, 4<<30)

func durations(ds ...time.Duration) []int64 {
	out := make([]int64, len(ds))
	for i, d := range ds {
		out[i] = int64(d)
	}
	return out
}

// Observe counts v in c.
func (l *Layout) Observe(c *Counts, v int64) {
	for i, bound := range l.bounds {
		if v <= bound {
			c.buckets[i].Add(1)
			break
		}
	}
	c.sum.Add(v)
	c.count.Add(1)
}

// Snapshot is c read under l.
func (l *Layout) Snapshot(c *Counts) Snapshot {
	s := Snapshot{Bounds: l.bounds, Scale: l.scale, Buckets: make([]uint64, len(l.bounds))}
	// The count first: a reader may see a bucket ahead of it, not behind.
	s.Count = c.count.Load()
	for i := range s.Buckets {
		s.Buckets[i] = c.buckets[i].Load()
	}
	s.Sum = c.sum.Load()
	return s
}

// Snapshot is a histogram's counts at one moment. Buckets[i] counts the
// values at most Bounds[i] and above Bounds[i-1] (not cumulative); Count
// counts all, those above the last bound too. Values times Scale are in
// the exported unit.
type Snapshot struct {
	Bounds  []int64
	Buckets []uint64
	Count   uint64
	Sum     int64
	Scale   float64
}

// Cumulative is s in the exported unit with Prometheus's cumulative
// buckets, keyed by upper bound.
func (s Snapshot) Cumulative() (buckets map[float64]uint64, sum float64) {
	buckets = make(map[float64]uint64, len(s.Bounds))
	var below uint64
	for i, n := range s.Buckets {
		below += n
		buckets[float64(s.Bounds[i])*s.Scale] = min(below, s.Count)
	}
	return buckets, float64(s.Sum) * s.Scale
}
