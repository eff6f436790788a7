package agent

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// The agent's garbage comes from packets, and most of what it keeps alive
// is lease indexes without pointers (internal/agent/lease), which the
// collector marks at almost no cost. Go's GOGC lets the heap grow by a
// share of all of it before collecting: collecting at four times a small
// live heap halves the collector's share of a DHCPv6 storm's CPU for a
// few MB, but four times a million leases' index is gigabytes of garbage
// for nothing. So the growth allowed is three times the part the
// collector has to scan (at least gcMinRoom), as a share of the live heap
// (GOGC from gcMinPercent to gcMaxPercent), measured again every
// gcTuneEvery. It is at most gcMaxRoom or half the live heap, whichever is
// more, so memory follows the live set: under steady churn the scannable
// part (packets, store batches in flight) is about the whole live heap,
// three times it would be garbage the process holds, and the runtime
// returns freed pages to the OS only slowly, long after the peak.
const (
	gcMaxPercent = 300
	gcMinPercent = 10
	gcMinRoom    = 16 << 20
	gcMaxRoom    = 64 << 20
	gcTuneEvery  = time.Second
)

// gcPercent is the GOGC for a live heap of live bytes of which scan are
// scannable.
func gcPercent(live, scan uint64) int {
	if live == 0 {
		return gcMaxPercent
	}
	room := min(3*float64(max(scan, gcMinRoom)), max(gcMaxRoom, float64(live)/2))
	return int(max(gcMinPercent, min(gcMaxPercent, 100*room/float64(live))))
}

// TuneGC sets GOGC from the heap now and every gcTuneEvery until ctx
// ends. The agent runs it unless GOGC is set in its environment.
func TuneGC(ctx context.Context) {
	samples := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/scan/heap:bytes"}}
	tune := func() {
		metrics.Read(samples)
		if samples[0].Value.Kind() == metrics.KindUint64 && samples[1].Value.Kind() == metrics.KindUint64 {
			debug.SetGCPercent(gcPercent(samples[0].Value.Uint64(), samples[1].Value.Uint64()))
		}
	}
	tune()
	tick := time.NewTicker(gcTuneEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			tune()
		}
	}
}
