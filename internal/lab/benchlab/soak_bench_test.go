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
	a, err := startAgent(t, lab, dir)
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
	// rss holds the samples taken while perfdhcp runs, for the growth.
	var rss []float64
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
		c.Text = fmt.Sprintf("RSS %s MB (anonymous %s MB), %s live leases, state.db %s MB",
			FormatNumber(mem.rss, 0), FormatNumber(mem.anon, 0), live, file)
		t.Logf("soak after %s: %s", at, c.Text)
		if running {
			rss = append(rss, mem.rss)
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
		half := rss[n/2]
		b.rows = append(b.rows, Row{Figure: "RSS growth over the second half of the load, %", Digits: 1, Better: LowerIsBetter,
			Cells: []Cell{{Runs: []float64{100 * (rss[n-1] - half) / half}}}})
	}
}

func (b *soakBench) section() Section {
	return Section{
		Title: "Soak: memory follows the live set",
		Intro: []string{fmt.Sprintf("perfdhcp offers %s new clients a second (`perfdhcp -6 -r %d -p %d -R 1000000 -W 1000000`) "+
			"for %s to the agent, whose leases last %d s (clients never renew them), so about %s are live at a time and the "+
			"agent reclaims the rest as they expire. The agent's RSS (VmRSS, its anonymous part RssAnon), its live leases and "+
			"the state file's size are sampled throughout; memory must level off with the live set rather than grow with "+
			"the leases ever granted. `NETBOOT_BENCH_SOAK=5m` shortens it.",
			FormatNumber(float64(b.rate), 0), b.rate, int(b.length.Seconds()), b.length, soakLifetime, FormatNumber(float64(b.rate*soakLifetime), 0))},
		Servers: []string{"agent (bbolt, fsync per batch)"},
		Runs:    1,
		Rows:    b.rows,
	}
}
