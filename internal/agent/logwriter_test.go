package agent

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// recordingWriter keeps what it is given, and how many writes it took;
// gate, if set, holds each write until it is closed or receives.
type recordingWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
	gate   chan struct{}
}

func (w *recordingWriter) Write(p []byte) (int, error) {
	if w.gate != nil {
		<-w.gate
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes++
	return w.buf.Write(p)
}

func (w *recordingWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func TestLineBatcherKeepsEveryLineInOrder(t *testing.T) {
	out := &recordingWriter{}
	b := newLineBatcher(out)
	var want strings.Builder
	for i := range 10000 {
		line := fmt.Sprintf("line %d\n", i)
		want.WriteString(line)
		if _, err := b.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Write([]byte("after close\n")); err != nil {
		t.Fatal(err)
	}
	want.WriteString("after close\n")
	if got := out.String(); got != want.String() {
		t.Fatalf("output differs from the lines written: %d bytes, want %d", len(got), want.Len())
	}
}

// While one write is in progress, the lines that arrive leave together in
// the next: that is the point of the batcher.
func TestLineBatcherJoinsLinesWrittenDuringAWrite(t *testing.T) {
	out := &recordingWriter{gate: make(chan struct{})}
	b := newLineBatcher(out)
	b.Write([]byte("first\n"))
	// The writing goroutine is now waiting in out.Write with "first".
	deadline := time.Now().Add(5 * time.Second)
	for {
		b.mu.Lock()
		taken := len(b.pending) == 0
		b.mu.Unlock()
		if taken {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the batcher did not start writing the first line")
		}
		time.Sleep(time.Millisecond)
	}
	for i := range 100 {
		fmt.Fprintf(b, "queued %d\n", i)
	}
	close(out.gate)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if out.writes > 3 {
		t.Errorf("101 lines took %d writes; want the 100 queued behind the first to leave together", out.writes)
	}
	if !strings.HasPrefix(out.String(), "first\nqueued 0\n") || !strings.HasSuffix(out.String(), "queued 99\n") {
		t.Errorf("output out of order:\n%.200s", out.String())
	}
}

// A stalled output makes writers wait once maxPendingLog bytes are queued,
// rather than queueing without bound.
func TestLineBatcherBoundsWhatWaits(t *testing.T) {
	out := &recordingWriter{gate: make(chan struct{})}
	b := newLineBatcher(out)
	line := []byte(strings.Repeat("x", 1023) + "\n")
	wrote := make(chan int)
	go func() {
		n := 0
		for range 3 * maxPendingLog / len(line) {
			b.Write(line)
			n++
		}
		wrote <- n
	}()
	time.Sleep(200 * time.Millisecond)
	b.mu.Lock()
	pending := len(b.pending)
	b.mu.Unlock()
	if pending > maxPendingLog+len(line) {
		t.Errorf("%d bytes queued behind a stalled output; want at most %d", pending, maxPendingLog+len(line))
	}
	close(out.gate)
	if n := <-wrote; n != 3*maxPendingLog/len(line) {
		t.Errorf("wrote %d lines", n)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := len(out.String()), 3*maxPendingLog/len(line)*len(line); got != want {
		t.Errorf("%d bytes reached the output; want %d", got, want)
	}
}

func TestLineBatcherConcurrentWriters(t *testing.T) {
	out := &recordingWriter{}
	b := newLineBatcher(out)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 500 {
				fmt.Fprintf(b, "writer %d line %d\n", w, i)
			}
		})
	}
	wg.Wait()
	b.Close()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 8*500 {
		t.Fatalf("%d lines, want %d", len(lines), 8*500)
	}
	next := map[string]int{}
	for _, l := range lines {
		var w, i int
		if _, err := fmt.Sscanf(l, "writer %d line %d", &w, &i); err != nil {
			t.Fatalf("torn line %q", l)
		}
		if key := fmt.Sprint(w); next[key] != i {
			t.Fatalf("writer %d: line %d came before line %d", w, i, next[key])
		}
		next[fmt.Sprint(w)]++
	}
}
