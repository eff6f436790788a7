package benchlab

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
)

// addClients gives the client end of the link n addresses of its own, one
// per simulated machine: the agent limits TFTP transfers per client
// address, as a server facing real machines should, so 50 clients must not
// share one.
func addClients(t *testing.T, lab *testlab.Lab, n int) []string {
	t.Helper()
	var batch strings.Builder
	addrs := make([]string, n)
	for i := range n {
		addrs[i] = fmt.Sprintf("2001:db8:1::c:%x", i+1)
		fmt.Fprintf(&batch, "addr add %s/64 dev %s nodad\n", addrs[i], lab.ClientIf)
	}
	path := filepath.Join(t.TempDir(), "clients.batch")
	if err := os.WriteFile(path, []byte(batch.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	lab.MustExec(t, lab.ClientNS, "ip", "-batch", path)
	return addrs
}

// fetch is one curl transfer's outcome.
type fetch struct {
	bytes   int64
	seconds float64   // curl's time_total
	end     time.Time // when its curl exited
	code    int
	err     error
}

// fetchAll starts one curl per client address at once in the client
// namespace, each fetching url into /dev/null, and waits for them all. It
// returns each transfer's outcome and the wall time from starting the
// first curl to the exit of the last.
func fetchAll(lab *testlab.Lab, url string, clients []string, extra ...string) ([]fetch, time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	outs := make([]strings.Builder, len(clients))
	results := make([]fetch, len(clients))
	var wg sync.WaitGroup
	start := time.Now()
	for i, addr := range clients {
		args := append([]string{"netns", "exec", lab.ClientNS, "curl", "-g", "-sS", "--max-time", "300",
			"--interface", addr, "-o", "/dev/null", "-w", "%{size_download} %{time_total} %{response_code}"}, extra...)
		cmd := exec.CommandContext(ctx, "ip", append(args, url)...)
		cmd.Stdout, cmd.Stderr = &outs[i], &outs[i]
		if err := cmd.Start(); err != nil {
			results[i].err = err
			continue
		}
		// Each exit is timed as it happens: the transfers' span (see
		// transferSpan) is measured from these.
		wg.Go(func() {
			err := cmd.Wait()
			results[i].end = time.Now()
			out := outs[i].String()
			// -w's line comes last, after any error message.
			fields := strings.Fields(out)
			if len(fields) >= 3 {
				f := fields[len(fields)-3:]
				results[i].bytes, _ = strconv.ParseInt(f[0], 10, 64)
				results[i].seconds, _ = strconv.ParseFloat(f[1], 64)
				results[i].code, _ = strconv.Atoi(f[2])
			}
			if err != nil {
				results[i].err = fmt.Errorf("curl from %s: %w: %s", clients[i], err, strings.TrimSpace(out))
			}
		})
	}
	wg.Wait()
	return results, time.Since(start)
}

// transferSpan is the time from the first transfer's start to the last
// one's end by curl's own clock: each starts time_total before its curl
// exited. Unlike the wall time it leaves out starting the curl processes,
// which for a small file takes longer than the transfers.
func transferSpan(results []fetch) time.Duration {
	var first, last time.Time
	for i, r := range results {
		start := r.end.Add(-time.Duration(r.seconds * float64(time.Second)))
		if i == 0 || start.Before(first) {
			first = start
		}
		if i == 0 || r.end.After(last) {
			last = r.end
		}
	}
	return last.Sub(first)
}

// timeline describes how the transfers shared the span (transferSpan):
// each one's start and end in ms from the first start, by start. Whether
// they all end near the span's end (served side by side) or one after
// another (first come, first served) decides the mean time per fetch at
// the same rate.
func timeline(results []fetch) string {
	type interval struct{ start, end time.Time }
	spans := make([]interval, len(results))
	for i, r := range results {
		spans[i] = interval{r.end.Add(-time.Duration(r.seconds * float64(time.Second))), r.end}
	}
	slices.SortFunc(spans, func(a, b interval) int { return a.start.Compare(b.start) })
	var b strings.Builder
	b.WriteString("start→end ms:")
	for _, s := range spans {
		fmt.Fprintf(&b, " %.0f→%.0f", ms(s.start.Sub(spans[0].start)), ms(s.end.Sub(spans[0].start)))
	}
	return b.String()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// throughput checks that every fetch got size bytes and returns the mean
// time per fetch (ms) and the aggregate rate (MB/s, 10^6 bytes): all bytes
// over the transfers' span (transferSpan), so for one client the file
// size over curl's time.
func throughput(results []fetch, size int64) (perFetchMs, mbps float64, err error) {
	var sum float64
	failed := 0
	var first error
	for _, r := range results {
		switch {
		case r.err != nil:
			failed++
			first = cmp.Or(first, r.err)
		case r.bytes != size:
			failed++
			first = cmp.Or(first, fmt.Errorf("got %d of %d bytes (code %d)", r.bytes, size, r.code))
		case r.code != 0 && r.code != 200:
			failed++
			first = cmp.Or(first, fmt.Errorf("HTTP status %d", r.code))
		}
		sum += r.seconds
	}
	if failed > 0 {
		return 0, 0, fmt.Errorf("%d of %d fetches failed: %w", failed, len(results), first)
	}
	if len(results) == 0 {
		return 0, 0, errors.New("no fetches")
	}
	perFetchMs = 1000 * sum / float64(len(results))
	return perFetchMs, float64(size) * float64(len(results)) / transferSpan(results).Seconds() / 1e6, nil
}

// checkRange asks for the first 100 bytes of url and says whether the
// server honoured the Range header.
func checkRange(lab *testlab.Lab, url, client string) Cell {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := lab.Exec(ctx, lab.ClientNS, "curl", "-g", "-sS", "--interface", client, "-r", "0-99",
		"-o", "/dev/null", "-w", "%{response_code} %{size_download}", url)
	if err != nil {
		return Cell{Failures: []string{err.Error()}}
	}
	var code, size int
	if _, err := fmt.Sscanf(strings.TrimSpace(out), "%d %d", &code, &size); err != nil {
		return Cell{Failures: []string{"curl printed " + out}}
	}
	if code == 206 && size == 100 {
		return Cell{Text: "yes (206, 100 bytes)"}
	}
	return Cell{Text: fmt.Sprintf("no (%d, %s bytes)", code, FormatNumber(float64(size), 0))}
}

// t0 and at give the curl exit times of the tables below.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

// TestThroughputIsOverCurlsSpan: the rate is all bytes over the time from
// the first transfer's start to the last one's end, by curl's times, not
// the wall time that includes starting curl.
func TestThroughputIsOverCurlsSpan(t *testing.T) {
	for _, c := range []struct {
		name           string
		results        []fetch
		perFetch, mbps float64
	}{
		{"one client", []fetch{{bytes: 1e6, seconds: 0.5, end: at(900)}}, 500, 2},
		// Started 100 ms apart, 200 ms each: 400 ms from first start to last end.
		{"staggered", []fetch{{bytes: 1e6, seconds: 0.2, end: at(300)}, {bytes: 1e6, seconds: 0.2, end: at(400)},
			{bytes: 1e6, seconds: 0.2, end: at(500)}}, 200, 7.5},
		// The shortest transfer starts last; the longest ends last.
		{"overlapping", []fetch{{bytes: 1e6, seconds: 0.4, end: at(1000)}, {bytes: 1e6, seconds: 0.1, end: at(800)}}, 250, 5},
	} {
		t.Run(c.name, func(t *testing.T) {
			perFetch, mbps, err := throughput(c.results, 1e6)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(perFetch-c.perFetch) > 1e-6 || math.Abs(mbps-c.mbps) > 1e-6 {
				t.Errorf("throughput = %.3f ms per fetch, %.3f MB/s; want %.3f, %.3f", perFetch, mbps, c.perFetch, c.mbps)
			}
		})
	}
	if _, _, err := throughput([]fetch{{bytes: 10, seconds: 1, end: t0}}, 1e6); err == nil {
		t.Error("a short fetch was not an error")
	}
}

// TestTimeline: transfers are listed by start, in ms from the first start
// by curl's own times.
func TestTimeline(t *testing.T) {
	for _, c := range []struct {
		name    string
		results []fetch
		want    string
	}{
		{"one", []fetch{{seconds: 0.005, end: at(105)}}, "start→end ms: 0→5"},
		// The second to end started first.
		{"by start", []fetch{{seconds: 0.01, end: at(30)}, {seconds: 0.03, end: at(40)}},
			"start→end ms: 0→30 10→20"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := timeline(c.results); got != c.want {
				t.Errorf("timeline = %q, want %q", got, c.want)
			}
		})
	}
}
