package tftp

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"time"
)

// Admission of transfers to send (see gate). Both bounds are far below
// the time after which a client asks again: iPXE repeats an unanswered
// read request after a quarter of a second, curl after a second or more,
// PXE ROMs later still.
const (
	// admitWait is the longest a read request waits for a sending slot
	// before its transfer starts without one.
	admitWait = 50 * time.Millisecond
	// stallAfter is how long a transfer waits for an ACK before it gives
	// its slot to a waiting request: a client that answers slower than
	// this is slow or losing packets, and others need not wait for it.
	stallAfter = 50 * time.Millisecond
)

// gate lets a few transfers send at once and queues the read requests
// beyond those, first come first served. Sharing the CPU evenly among
// every transfer in flight makes each take about as long as all of them
// together; finishing the ones already sending before starting new ones
// moves the same bytes in the same time, but most transfers end much
// sooner. No request waits more than admitWait, and a transfer whose
// client is slow to ACK gives its slot up (stallAfter), so a silent or
// lossy client delays no one for long.
type gate struct {
	slots int           // transfers sending at once with a slot
	wait  time.Duration // admitWait; tests change both
	stall time.Duration // stallAfter

	mu      sync.Mutex
	held    int             // slots taken
	waiters []chan struct{} // in arrival order; closed when handed a slot
}

// defaultGate has a slot per P: more transfers than Ps sending at once
// only share the same CPUs.
func defaultGate() *gate {
	return &gate{slots: runtime.GOMAXPROCS(0), wait: admitWait, stall: stallAfter}
}

// slot is a transfer's place in the gate, held or not; one goroutine uses
// it.
type slot struct {
	g    *gate
	held bool
}

// enter waits for a slot, up to g.wait or until ctx is done; past that the
// transfer goes ahead without one. The caller releases the slot when done.
func (g *gate) enter(ctx context.Context) *slot {
	g.mu.Lock()
	if g.held < g.slots && len(g.waiters) == 0 {
		g.held++
		g.mu.Unlock()
		return &slot{g: g, held: true}
	}
	ch := make(chan struct{})
	g.waiters = append(g.waiters, ch)
	g.mu.Unlock()

	t := time.NewTimer(g.wait)
	defer t.Stop()
	select {
	case <-ch:
		return &slot{g: g, held: true}
	case <-t.C:
	case <-ctx.Done():
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if i := slices.Index(g.waiters, ch); i >= 0 {
		g.waiters = slices.Delete(g.waiters, i, i+1)
		return &slot{g: g}
	}
	// Handed a slot as the wait ended.
	return &slot{g: g, held: true}
}

// release gives the slot, if held, to the longest waiting request. It may
// be called more than once.
func (s *slot) release() {
	if s == nil || !s.held {
		return
	}
	s.held = false
	g := s.g
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.waiters) > 0 {
		close(g.waiters[0])
		g.waiters = slices.Delete(g.waiters, 0, 1)
		return
	}
	g.held--
}

// holding reports whether the transfer still holds its slot.
func (s *slot) holding() bool { return s != nil && s.held }

// patience is how long a transfer holding a slot waits for an ACK before
// it gives the slot up.
func (s *slot) patience() time.Duration { return s.g.stall }
