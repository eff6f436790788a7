package agentcli

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"syscall"
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
	b := newLineBatcher(out, nil)
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
	b := newLineBatcher(out, nil)
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
	b := newLineBatcher(out, nil)
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
	b := newLineBatcher(out, nil)
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

// fullDisk takes at most room bytes, then fails as a full disk does,
// having written part of the slice it was given.
type fullDisk struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	room int
}

func (d *fullDisk) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := min(len(p), d.room)
	d.buf.Write(p[:n])
	d.room -= n
	if n < len(p) {
		return n, syscall.ENOSPC
	}
	return n, nil
}

func (d *fullDisk) free(n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.room += n
}

func (d *fullDisk) String() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.buf.String()
}

// reports collects what a lineBatcher reports.
type reports struct {
	mu  sync.Mutex
	got []logFailure
}

func (r *reports) add(f logFailure) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, f)
}

func (r *reports) all() []logFailure {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// A disk that fills up in the middle of a line: the rest of the line and
// every line after it are written once there is room again, and the
// failure is reported.
func TestLineBatcherKeepsLinesWhileOutputFails(t *testing.T) {
	disk := &fullDisk{room: 25}
	var rep reports
	b := newLineBatcher(disk, rep.add)
	b.retry = 10 * time.Millisecond
	var want strings.Builder
	for i := range 100 {
		line := fmt.Sprintf("level=ERROR msg=\"storing leases\" n=%d\n", i)
		want.WriteString(line)
		b.Write([]byte(line))
	}
	time.Sleep(50 * time.Millisecond) // a few retries fail
	disk.free(1 << 20)
	deadline := time.Now().Add(5 * time.Second)
	for len(rep.all()) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if got := disk.String(); got != want.String() {
		t.Errorf("output after the disk had room again:\n%.300s\nwant every line whole and in order", got)
	}
	r := rep.all()
	if len(r) != 1 || !errors.Is(r[0].err, syscall.ENOSPC) || r[0].dropped != 0 {
		t.Errorf("reports %+v; want one, of ENOSPC, nothing dropped", r)
	}
}

// While the output fails, writers neither wait nor queue without bound:
// records past maxPendingLog are dropped and counted, and no line is torn.
func TestLineBatcherDropsWhenOutputFailsLong(t *testing.T) {
	disk := &fullDisk{room: 10}
	var rep reports
	b := newLineBatcher(disk, rep.add)
	b.retry = time.Hour // no retry until the test frees the disk
	line := []byte(strings.Repeat("x", 1023) + "\n")
	lines := 3 * maxPendingLog / len(line)
	wrote := make(chan struct{})
	go func() {
		for range lines {
			b.Write(line)
		}
		close(wrote)
	}()
	select {
	case <-wrote:
	case <-time.After(10 * time.Second):
		t.Fatal("writers wait for an output that fails")
	}
	disk.free(1 << 30)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	got := disk.String()
	if !strings.HasSuffix(got, "\n") || strings.Count(got, "\n") < maxPendingLog/len(line) {
		t.Fatalf("%d bytes, %d lines written; want at least the %d that fit in the queue, whole", len(got), strings.Count(got, "\n"), maxPendingLog/len(line))
	}
	for l := range strings.SplitSeq(strings.TrimSuffix(got, "\n"), "\n") {
		if l+"\n" != string(line) {
			t.Fatalf("torn line of %d bytes", len(l))
		}
	}
	written := strings.Count(got, "\n")
	if r := rep.all(); len(r) != 1 || r[0].dropped != lines-written {
		t.Errorf("reports %+v; want one counting the %d records dropped", r, lines-written)
	}
}

// The report of a failure goes through the batcher itself, as the agent's
// logger does, while the queue is full: it must not wait for the goroutine
// that is making it.
func TestLineBatcherReportsThroughItselfWhenFull(t *testing.T) {
	disk := &fullDisk{}
	reported := make(chan struct{})
	b := newLineBatcher(disk, nil)
	b.retry = 10 * time.Millisecond
	b.report = func(f logFailure) {
		fmt.Fprintf(b, "log failed: %v, %d dropped\n", f.err, f.dropped)
		close(reported)
	}
	line := []byte(strings.Repeat("x", 1023) + "\n")
	for range 2 * maxPendingLog / len(line) {
		b.Write(line)
	}
	disk.free(1 << 30)
	select {
	case <-reported:
	case <-time.After(10 * time.Second):
		t.Fatal("no report: the batcher waits for itself")
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(disk.String(), "log failed: no space left on device") {
		t.Errorf("the report did not reach the output")
	}
}

// Records that come within the gather time of the first leave in one
// write; the gather ends when its time is up, when a burst fills half the
// bound, or at Close.
func TestLineBatcherGathersRecords(t *testing.T) {
	waitFor := func(out *recordingWriter, n int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for len(out.String()) < n {
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d bytes written", len(out.String()), n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	out := &recordingWriter{}
	b := newLineBatcher(out, nil)
	b.gather = time.Hour
	var want strings.Builder
	for i := range 50 {
		line := fmt.Sprintf("lease %d\n", i)
		want.WriteString(line)
		b.Write([]byte(line))
	}
	time.Sleep(50 * time.Millisecond)
	if got := out.String(); got != "" {
		t.Errorf("written during the gather: %q", got)
	}
	b.Close()
	if out.writes != 1 || out.String() != want.String() {
		t.Errorf("%d writes of %q, want 1 of the 50 lines", out.writes, out.String())
	}

	out = &recordingWriter{}
	b = newLineBatcher(out, nil)
	b.gather = 20 * time.Millisecond
	b.Write([]byte("alone\n"))
	waitFor(out, len("alone\n"))
	b.Close()

	out = &recordingWriter{}
	b = newLineBatcher(out, nil)
	defer b.Close()
	b.gather = time.Hour
	line := bytes.Repeat([]byte("x"), 1023)
	line = append(line, '\n')
	for range maxPendingLog / 2 / len(line) {
		b.Write(line)
	}
	waitFor(out, maxPendingLog/2)
}
