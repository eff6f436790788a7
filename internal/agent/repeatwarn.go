package agent

import (
	"sync"
	"time"
)

// repeatWarnings keeps a warning that clients can set off again and again
// (a retrying firmware, a scanner) from filling the log: it is due once
// per key per interval. At most max keys are remembered, so a flood of
// new keys cannot grow memory; past that, a new key's warnings are held
// back until a remembered key's interval has passed. Held-back warnings
// are counted for the metrics.
type repeatWarnings struct {
	interval time.Duration
	max      int
	now      func() time.Time

	mu         sync.Mutex
	warned     map[string]time.Time
	suppressed uint64
}

func newRepeatWarnings(interval time.Duration, max int) *repeatWarnings {
	return &repeatWarnings{interval: interval, max: max, now: time.Now, warned: map[string]time.Time{}}
}

// due reports whether the warning of key should be logged now; a false
// is counted.
func (w *repeatWarnings) due(key string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	last, seen := w.warned[key]
	if seen && now.Sub(last) < w.interval {
		w.suppressed++
		return false
	}
	if !seen && len(w.warned) >= w.max {
		for k, t := range w.warned {
			if now.Sub(t) >= w.interval {
				delete(w.warned, k)
			}
		}
		if len(w.warned) >= w.max {
			w.suppressed++
			return false
		}
	}
	w.warned[key] = now
	return true
}

// suppressedTotal counts the warnings due returned false for.
func (w *repeatWarnings) suppressedTotal() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.suppressed
}
