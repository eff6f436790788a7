package agentcli

import (
	"io"
	"sync"
	"time"
)

// maxPendingLog bounds the log bytes waiting for the output: past it a
// writer waits for the output to catch up, so a stalled log pipe slows the
// agent down instead of filling its memory.
const maxPendingLog = 1 << 20

// logRetryInterval is how often a failing output (a full disk) is tried
// again.
const logRetryInterval = time.Second

// logFailure is what lineBatcher reports once its output works again
// after failing: the first error, when it began, and how many records
// were dropped meanwhile.
type logFailure struct {
	err     error
	since   time.Time
	dropped int
}

// logGather is how long the writing goroutine, woken by a record, waits
// for more before it writes. Woken for each record instead (a thread
// woken, a write, the thread asleep again), it was a large share of the
// agent's CPU at moderate DHCPv6 loads, where each commit logs a lease or
// two.
const logGather = 10 * time.Millisecond

// lineBatcher passes log records to out from a goroutine of its own. A
// DHCPv6 storm logs a line per lease, thousands a second; records that
// arrive within logGather of the first, or while the previous write is in
// progress, leave together in one write, so the storm costs a write per
// burst instead of one per line, and a record reaches out within about
// logGather. A crash loses what has not reached out yet: the lines of the
// last logGather, unless out had stalled.
//
// A write that fails (no space left on device) loses nothing: what out did
// not take, even the rest of a half-written line, is written first when a
// retry succeeds. While out fails, records queue up to maxPendingLog and
// later ones are dropped rather than stopping the agent; once out works
// again, report is told what happened so the log itself records it.
type lineBatcher struct {
	out    io.Writer
	report func(logFailure)
	// retry is how long to wait before trying a failing out again.
	retry time.Duration

	mu      sync.Mutex
	drained sync.Cond // signalled when pending is taken for writing
	pending []byte
	closed  bool // Close has begun: no more wake tokens
	flushed bool // Close has written pending: writes go straight to out
	// failure is set while out fails; writers then drop records instead of
	// waiting for room.
	failure *logFailure
	// reporting: run is in report, whose record must not wait for run.
	reporting bool

	wake chan struct{} // holds a token when pending has news
	// gather is logGather (tests set 0); full holds a token when pending
	// grows past half its bound, which ends a gather early; closing is
	// closed by Close, which also does.
	gather  time.Duration
	full    chan struct{}
	closing chan struct{}
	done    chan struct{} // closed when the writing goroutine has returned
}

// newLineBatcher starts a batcher writing to out; report, if not nil, is
// called from the batcher's goroutine after out recovers from failing.
func newLineBatcher(out io.Writer, report func(logFailure)) *lineBatcher {
	b := &lineBatcher{out: out, report: report, retry: logRetryInterval, wake: make(chan struct{}, 1), done: make(chan struct{}),
		gather: logGather, full: make(chan struct{}, 1), closing: make(chan struct{})}
	b.drained.L = &b.mu
	go b.run()
	return b
}

// Write queues p for out. slog handlers call it once per record, so a
// record is never split between two writes.
func (b *lineBatcher) Write(p []byte) (int, error) {
	b.mu.Lock()
	for len(b.pending) >= maxPendingLog && !b.closed && b.failure == nil && !b.reporting {
		b.drained.Wait()
	}
	defer b.mu.Unlock()
	if b.flushed {
		return b.out.Write(p)
	}
	if b.failure != nil && len(b.pending) >= maxPendingLog {
		// out is failing: waiting for it would stop the agent.
		b.failure.dropped++
		return len(p), nil
	}
	b.pending = append(b.pending, p...)
	b.wakeLocked()
	if len(b.pending) >= maxPendingLog/2 {
		select {
		case b.full <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

// wakeLocked leaves a wake token for run, unless one is waiting already.
func (b *lineBatcher) wakeLocked() {
	if b.closed {
		return
	}
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

func (b *lineBatcher) run() {
	defer close(b.done)
	// out holds what was taken from pending and not yet written.
	var out, spare []byte
	var retry <-chan time.Time
	gather := time.NewTimer(time.Hour)
	gather.Stop()
	for closed := false; !closed; {
		select {
		case _, open := <-b.wake:
			closed = !open
			if retry != nil && !closed {
				continue // out is failing: wait for the retry
			}
			if !closed && b.gather > 0 {
				// While this goroutine waits here, Write's wake tokens
				// wake nobody.
				gather.Reset(b.gather)
				select {
				case <-gather.C:
				case <-b.full:
					gather.Stop()
				case <-b.closing:
					gather.Stop()
				}
			}
		case <-retry:
		}
		retry = nil
		b.mu.Lock()
		if len(out) == 0 {
			out, b.pending = b.pending, spare[:0]
			b.drained.Broadcast()
		}
		b.mu.Unlock()
		var err error
		if len(out) > 0 {
			var n int
			n, err = b.out.Write(out)
			out = out[:copy(out, out[n:])]
		}
		b.mu.Lock()
		if err != nil {
			if b.failure == nil {
				b.failure = &logFailure{err: err, since: time.Now()}
				b.drained.Broadcast() // writers waiting for room drop instead
			}
			if closed {
				b.pending = append(out, b.pending...) // Close tries once more
			}
			b.mu.Unlock()
			retry = time.After(b.retry)
			continue
		}
		failure := b.failure
		b.failure = nil
		if len(b.pending) > 0 {
			b.wakeLocked() // tokens were spent while out failed
		}
		report := failure != nil && b.report != nil
		b.reporting = report
		b.mu.Unlock()
		if report {
			b.report(*failure)
			b.mu.Lock()
			b.reporting = false
			b.mu.Unlock()
		}
		// Keep the buffer unless one burst made it huge.
		if cap(out) <= maxPendingLog {
			spare = out[:0]
		} else {
			spare = nil
		}
		out = nil
	}
}

// Close writes what is pending and returns once it is written; later
// writes go straight to out.
func (b *lineBatcher) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	close(b.wake)
	close(b.closing)
	b.drained.Broadcast()
	b.mu.Unlock()
	<-b.done
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushed = true
	if len(b.pending) == 0 {
		return nil
	}
	// Queued after the writing goroutine's last take, or left by a failing
	// out.
	_, err := b.out.Write(b.pending)
	b.pending = nil
	return err
}
