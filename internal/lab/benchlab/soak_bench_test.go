package benchlab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/store"
	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// soakBench offers the agent a steady stream of new clients whose leases
// last a minute, for a long while, and samples its memory and live leases:
// with expired leases reclaimed, memory must level off with the live set.
type soakBench struct {
	length time.Duration
	rate   int
	rows   []Row
}

func newSoakBench(length time.Duration) *soakBench {
	return &soakBench{length: length, rate: 1000}
}

func (b *soakBench) name() string { return "Soak" }

// soakLifetime is the valid lifetime of the soak's leases.
const soakLifetime = 60

func (b *soakBench) run(t *testing.T) {
	if err := errNotInstalled("perfdhcp"); err != nil {
		b.rows = append(b.rows, Row{Figure: "soak", Cells: []Cell{{Failures: []string{err.Error()}}}})
		return
	}
	lab := testlab.New(t)
	dir := t.TempDir()
	args := []string{"--metrics-listen", agentMetricsAddr}
	// NETBOOT_BENCH_PROFILE_DIR=DIR keeps a heap profile of the agent
	// at every sample, for pprof's -diff_base.
	pdir := os.Getenv("NETBOOT_BENCH_PROFILE_DIR")
	heap := filepath.Join(dir, "heap.pprof")
	if pdir != "" {
		args = append(args, "--mem-profile", heap)
	}
	a, err := startAgent(t, lab, dir, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer a.stop()
	bs := bootServer(lab, poolStart, poolEnd)
	d := bs.GetDhcpv6()
	d.RenewTimeSeconds, d.RebindTimeSeconds, d.PreferredLifetimeSeconds, d.ValidLifetimeSeconds = soakLifetime/2, soakLifetime*3/4, soakLifetime*5/6, soakLifetime
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := a.serve(ctx, bs); err != nil {
		t.Fatal(err)
	}
	seconds := int(b.length.Seconds())
	perf := lab.Command(t, lab.ClientNS, "perfdhcp", "-6", "-l", lab.ClientIf,
		"-r", strconv.Itoa(b.rate), "-p", strconv.Itoa(seconds), "-R", "1000000", "-W", "1000000")
	if err := perf.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- perf.Wait() }()
	every := max(b.length/15, 10*time.Second)
	started := time.Now()
	// rss and anon hold the samples taken while perfdhcp runs, for the
	// growth: RSS also counts the pages of the state file's memory map,
	// which the kernel may drop at will, anon only the process's own.
	var rss, anon []float64
	sample := func(running bool) {
		at := time.Since(started).Round(time.Second)
		c := Cell{}
		mem, err := a.memory()
		if err != nil {
			c.Fail(err.Error())
			b.rows = append(b.rows, Row{Figure: "after " + at.String(), Cells: []Cell{c}})
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		state, err := a.conn.GetBootServer(ctx, &netbootv1.GetBootServerRequest{Name: bs.GetName()})
		cancel()
		live := "?"
		if err == nil {
			live = FormatNumber(float64(state.GetStatus().GetActiveLeases()), 0)
		}
		file := "?"
		if info, err := os.Stat(filepath.Join(dir, store.FileName)); err == nil {
			file = FormatNumber(float64(info.Size())/1e6, 0)
		}
		goHeap := "?"
		if m, err := soakGoMemory(lab); err == nil {
			goHeap = fmt.Sprintf("%s MB (released to the OS %s MB)", FormatNumber(m["heap_inuse"], 0), FormatNumber(m["heap_released"], 0))
			t.Logf("soak after %s: Go heap alloc %.0f MB, in use %.0f MB, idle %.0f MB, released %.0f MB, sys %.0f MB, GC goal %.0f MB",
				at, m["heap_alloc"], m["heap_inuse"], m["heap_idle"], m["heap_released"], m["sys"], m["next_gc"])
		}
		if pdir != "" {
			if b, err := os.ReadFile(heap); err == nil {
				_ = os.WriteFile(filepath.Join(pdir, fmt.Sprintf("soak-heap-%04d.pprof", int(at.Seconds()))), b, 0o644)
			}
		}
		load := "?"
		if l, err := oneMinuteLoad(); err == nil {
			load = FormatNumber(l, 1)
		}
		c.Text = fmt.Sprintf("RSS %s MB (anonymous %s MB), Go heap in use %s, %s live leases, state.db %s MB, load %s",
			FormatNumber(mem.rss, 0), FormatNumber(mem.anon, 0), goHeap, live, file, load)
		t.Logf("soak after %s: %s", at, c.Text)
		if running {
			rss, anon = append(rss, mem.rss), append(anon, mem.anon)
		}
		b.rows = append(b.rows, Row{Figure: "after " + at.String(), Cells: []Cell{c}})
	}
	sample(true)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for running := true; running; {
		select {
		case <-done:
			running = false
		case <-tick.C:
			sample(true)
		}
	}
	sample(false)
	if n := len(rss); n >= 4 {
		for _, g := range []struct {
			name string
			mb   []float64
		}{{"RSS", rss}, {"Anonymous memory", anon}} {
			half := g.mb[n/2]
			b.rows = append(b.rows, Row{Figure: g.name + " growth over the second half of the load, %", Digits: 1, Better: LowerIsBetter,
				Cells: []Cell{{Runs: []float64{100 * (g.mb[n-1] - half) / half}}}})
		}
	}
}

// soakGoMemory reads the agent's Go memory figures (go_memstats_*, in MB)
// from its metrics.
func soakGoMemory(lab *testlab.Lab) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := scrapeAgent(ctx, lab)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, name := range []string{"heap_alloc", "heap_inuse", "heap_idle", "heap_released", "sys", "next_gc"} {
		v, err := m.Value("go_memstats_" + name + "_bytes")
		if err != nil {
			return nil, err
		}
		out[name] = v / 1e6
	}
	return out, nil
}

func (b *soakBench) section() Section {
	return Section{
		Title: "Soak: memory follows the live set",
		Intro: []string{fmt.Sprintf("perfdhcp offers %s new clients a second (`perfdhcp -6 -r %d -p %d -R 1000000 -W 1000000`) "+
			"for %s to the agent, whose leases last %d s (clients never renew them), so about %s are live at a time and the "+
			"agent reclaims the rest as they expire. The agent's RSS (VmRSS, its anonymous part RssAnon), its live leases, "+
			"the state file's size and the machine's one-minute load average are sampled throughout; memory must level off with the live set rather than grow with "+
			"the leases ever granted. `NETBOOT_BENCH_SOAK=5m` shortens it.",
			FormatNumber(float64(b.rate), 0), b.rate, int(b.length.Seconds()), b.length, soakLifetime, FormatNumber(float64(b.rate*soakLifetime), 0))},
		Servers: []string{"agent (bbolt, fsync per batch)"},
		Runs:    1,
		Rows:    b.rows,
	}
}
