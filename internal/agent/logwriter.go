package agent

import (
	"io"
	"sync"
)

// maxPendingLog bounds the log bytes waiting for the output: past it a
// writer waits for the output to catch up, so a stalled log pipe slows the
// agent down instead of filling its memory.
const maxPendingLog = 1 << 20

// lineBatcher passes log records to out from a goroutine of its own. A
// DHCPv6 storm logs a line per lease, thousands a second; records that
// arrive while the previous write is in progress leave together in the next
// one, so the storm costs a write per burst instead of one per line. A lone
// record is written at once, as without the batcher. A crash loses what
// has not reached out yet: the lines of the last microseconds, unless out
// had stalled.
type lineBatcher struct {
	out io.Writer

	mu      sync.Mutex
	drained sync.Cond // signalled when pending is taken for writing
	pending []byte
	closed  bool // Close has begun: no more wake tokens
	flushed bool // Close has written pending: writes go straight to out

	wake chan struct{} // holds a token when pending has news
	done chan struct{} // closed when the writing goroutine has returned
}

func newLineBatcher(out io.Writer) *lineBatcher {
	b := &lineBatcher{out: out, wake: make(chan struct{}, 1), done: make(chan struct{})}
	b.drained.L = &b.mu
	go b.run()
	return b
}

// Write queues p for out. slog handlers call it once per record, so a
// record is never split between two writes.
func (b *lineBatcher) Write(p []byte) (int, error) {
	b.mu.Lock()
	for len(b.pending) >= maxPendingLog && !b.closed {
		b.drained.Wait()
	}
	defer b.mu.Unlock()
	if b.flushed {
		return b.out.Write(p)
	}
	b.pending = append(b.pending, p...)
	if !b.closed {
		select {
		case b.wake <- struct{}{}:
		default: // a token is waiting already
		}
	}
	return len(p), nil
}

func (b *lineBatcher) run() {
	defer close(b.done)
	var spare []byte
	for range b.wake {
		b.mu.Lock()
		batch := b.pending
		b.pending = spare[:0]
		closed := b.closed
		b.drained.Broadcast()
		b.mu.Unlock()
		if len(batch) > 0 {
			// A log write has nowhere to report its error; the next
			// batch tries again.
			_, _ = b.out.Write(batch)
		}
		if closed {
			return // Close writes the rest
		}
		// Keep the buffer unless one burst made it huge.
		if cap(batch) <= maxPendingLog {
			spare = batch
		} else {
			spare = nil
		}
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
	b.drained.Broadcast()
	b.mu.Unlock()
	<-b.done
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushed = true
	if len(b.pending) == 0 {
		return nil
	}
	// Queued after the writing goroutine's last take.
	_, err := b.out.Write(b.pending)
	b.pending = nil
	return err
}
