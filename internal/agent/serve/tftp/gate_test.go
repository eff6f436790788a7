package tftp

import (
	"context"
	"testing"
	"testing/fstest"
	"time"
)

// enterAsync enters g from a goroutine and waits until the request is
// queued, so the order of calls is the order of arrival.
func enterAsync(t *testing.T, ctx context.Context, g *gate) <-chan *slot {
	t.Helper()
	g.mu.Lock()
	queued := len(g.waiters)
	g.mu.Unlock()
	got := make(chan *slot, 1)
	go func() { got <- g.enter(ctx) }()
	waitFor(t, func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return len(g.waiters) > queued
	})
	return got
}

// TestGateFirstComeFirstServed: with the slots taken, requests queue in
// arrival order and each released slot goes to the longest waiting.
func TestGateFirstComeFirstServed(t *testing.T) {
	g := &gate{slots: 1, wait: time.Minute, stall: time.Minute}
	ctx := context.Background()
	a := g.enter(ctx)
	if !a.holding() {
		t.Fatal("first request got no free slot")
	}
	b := enterAsync(t, ctx, g)
	c := enterAsync(t, ctx, g)
	a.release()
	a.release() // a second release gives nothing more away
	sb := <-b
	if !sb.holding() {
		t.Fatal("second request got no slot when the first released it")
	}
	select {
	case <-c:
		t.Fatal("third request admitted while the second holds the only slot")
	case <-time.After(50 * time.Millisecond):
	}
	sb.release()
	sc := <-c
	if !sc.holding() {
		t.Fatal("third request got no slot")
	}
	sc.release()
	if g.held != 0 || len(g.waiters) != 0 {
		t.Errorf("after all released: held %d, waiting %d", g.held, len(g.waiters))
	}
}

// TestGateWaitIsBounded: a request goes ahead without a slot after the
// wait, or when the server stops, and leaves the count alone.
func TestGateWaitIsBounded(t *testing.T) {
	g := &gate{slots: 1, wait: 30 * time.Millisecond, stall: time.Minute}
	a := g.enter(context.Background())
	start := time.Now()
	b := g.enter(context.Background())
	if waited := time.Since(start); b.holding() || waited < g.wait || waited > time.Second {
		t.Errorf("with the slot held: holding %v after %v, want going ahead without one after %v", b.holding(), waited, g.wait)
	}
	b.release()

	g.wait = time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	c := enterAsync(t, ctx, g)
	cancel()
	if s := <-c; s.holding() {
		t.Error("a request waiting as the server stopped got a slot")
	}
	a.release()
	if g.held != 0 || len(g.waiters) != 0 {
		t.Errorf("after all released: held %d, waiting %d", g.held, len(g.waiters))
	}
}

// TestTransferInProgressGoesFirst: with one slot, a request that arrives
// while a transfer is sending waits until that transfer ends rather than
// sharing the server with it.
func TestTransferInProgressGoesFirst(t *testing.T) {
	data := randomBytes(t, 200*512)
	s, _ := startLoopback(t, Config{Files: fstest.MapFS{"f": {Data: data}},
		Timeout: 500 * time.Millisecond, gate: &gate{slots: 1, wait: time.Minute, stall: time.Minute}})
	first := newScriptedClient(t, s.Addrs()[0], "f")
	op, block, _, err := first.next(2 * time.Second)
	if err != nil || op != opDATA || block != 1 {
		t.Fatalf("first client: op %d block %d, %v", op, block, err)
	}
	second := newScriptedClient(t, s.Addrs()[0], "f")
	waitFor(t, func() bool { return s.Stats().Requests == 2 })
	for want := uint16(1); ; want++ {
		first.ack(t, want)
		if want == 200 {
			break
		}
		// The first transfer runs to its end while the second waits.
		if _, _, _, err := second.next(time.Millisecond); err == nil {
			t.Fatalf("second transfer sent before the first ended (at block %d)", want)
		}
		op, block, _, err := first.next(2 * time.Second)
		if err != nil || op != opDATA || block != want+1 {
			t.Fatalf("first client, block %d: op %d block %d, %v", want+1, op, block, err)
		}
	}
	// The last block is short: 200 full blocks end with an empty 201st.
	if op, block, _, err := first.next(2 * time.Second); err != nil || op != opDATA || block != 201 {
		t.Fatalf("first client's last block: op %d block %d, %v", op, block, err)
	}
	first.ack(t, 201)
	if op, block, _, err := second.next(2 * time.Second); err != nil || op != opDATA || block != 1 {
		t.Fatalf("second client after the first ended: op %d block %d, %v", op, block, err)
	}
}

// TestSilentClientGivesUpItsSlot: a client that stops acknowledging holds
// the only slot no longer than the gate's stall time, so the next request
// is served long before its wait for a slot would have ended.
func TestSilentClientGivesUpItsSlot(t *testing.T) {
	g := &gate{slots: 1, wait: time.Minute, stall: stallAfter}
	s, _ := startLoopback(t, Config{Files: fstest.MapFS{"f": {Data: randomBytes(t, 5000)}}, Timeout: 500 * time.Millisecond, gate: g})
	silent := newScriptedClient(t, s.Addrs()[0], "f")
	if op, _, _, err := silent.next(2 * time.Second); err != nil || op != opDATA {
		t.Fatalf("silent client: op %d, %v", op, err)
	}
	start := time.Now()
	next := newScriptedClient(t, s.Addrs()[0], "f")
	op, block, _, err := next.next(10 * time.Second)
	if err != nil || op != opDATA || block != 1 {
		t.Fatalf("next client: op %d block %d, %v", op, block, err)
	}
	if waited := time.Since(start); waited > stallAfter+time.Second {
		t.Errorf("next client waited %v behind a silent one, want about %v", waited, stallAfter)
	}
}

// TestWaitingRequestServedWithinTheBound: a request that finds every slot
// held by a busy transfer starts within the gate's wait, well before a
// client would send it again.
func TestWaitingRequestServedWithinTheBound(t *testing.T) {
	// 20,000 blocks of 512 bytes keep the first transfer sending
	// throughout; it never stalls.
	s, _ := startLoopback(t, Config{Files: fstest.MapFS{"f": {Data: randomBytes(t, 20000*512)}},
		Timeout: 500 * time.Millisecond, gate: &gate{slots: 1, wait: admitWait, stall: time.Minute}})
	busy := newScriptedClient(t, s.Addrs()[0], "f")
	stop := make(chan struct{})
	acking := make(chan struct{})
	go func() {
		defer close(acking)
		for {
			select {
			case <-stop:
				return
			default:
			}
			op, block, _, err := busy.next(time.Second)
			if err != nil || op != opDATA {
				return
			}
			ack := []byte{0, opACK, byte(block >> 8), byte(block)}
			if _, err := busy.conn.WriteToUDP(ack, busy.server); err != nil {
				return
			}
		}
	}()
	defer func() { close(stop); <-acking }()
	waitFor(t, func() bool { return s.Stats().BytesSent > 0 })
	start := time.Now()
	next := newScriptedClient(t, s.Addrs()[0], "f")
	op, block, _, err := next.next(5 * time.Second)
	if err != nil || op != opDATA || block != 1 {
		t.Fatalf("waiting client: op %d block %d, %v", op, block, err)
	}
	if waited := time.Since(start); waited > 250*time.Millisecond {
		t.Errorf("waiting client served after %v, want within %v of the request (iPXE asks again after 250 ms)", waited, admitWait)
	}
}
