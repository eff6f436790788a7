package benchlab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
	"golang.org/x/sys/unix"
)

// dhcpv6Bench drives perfdhcp's simulated clients (1,000,000 random DUIDs)
// at fixed rates against each of its servers, each freshly started with an
// empty lease database for every run. With relayed set, perfdhcp acts as
// one relay (-A 1) for the clients of those links.
type dhcpv6Bench struct {
	key   string // its name in NETBOOT_BENCH_ONLY
	title string
	intro []string
	// servers are the table's columns, the agent's first.
	servers []dhcpServer
	// prepare, when set, runs once before the runs, e.g. to start a
	// database the servers share; an error fails every cell.
	prepare func(t *testing.T) error
	// relayed, when set, are the links behind perfdhcp's relay, which
	// every server serves beside the lab link.
	relayed []relayedSubnet
	runs    int
	rates   []int
	// Per rate, one cell per server.
	exchanges, drops, avgDelay, maxDelay, cpu map[int][]Cell
	// inAgent has, per figures entry, per rate, one cell per server:
	// what the agent's own histograms say ("–" for other servers).
	figures []dhcpFigure
	inAgent []map[int][]Cell
	// held is the highest rate with drops under holdDrops, per run.
	held []Cell
	// fsync is one fdatasync of a 4 KiB write in the directory the
	// servers' state lives in, ms: the floor under the first column's
	// Replies. fsyncCPU is the CPU one write and fdatasync cost the
	// writing thread, µs.
	fsync, fsyncCPU Cell
}

// dhcpServer is one column of a DHCPv6 section.
type dhcpServer struct {
	// key names it in NETBOOT_BENCH_DHCP_SKIP; label heads its column.
	key, label string
	// agent is set for the agent, which serves its metrics at
	// agentMetricsAddr.
	agent bool
	// needs are the programs it runs, reported missing in its cells.
	needs []string
	// start starts it serving the lab link and the relayed links, state
	// in dir, on an empty lease database; the caller stops what it returns.
	start func(t *testing.T, lab *testlab.Lab, dir string, relayed []relayedSubnet) (*daemon, error)
}

// agentServer is the agent with args as a DHCPv6 column.
func agentServer(key, label string, args ...func(t *testing.T) ([]string, error)) dhcpServer {
	return dhcpServer{key: key, label: label, agent: true, start: func(t *testing.T, lab *testlab.Lab, dir string, relayed []relayedSubnet) (*daemon, error) {
		argv := []string{"--metrics-listen", agentMetricsAddr}
		for _, f := range args {
			more, err := f(t)
			if err != nil {
				return nil, err
			}
			argv = append(argv, more...)
		}
		// NETBOOT_BENCH_PROFILE_DIR=DIR keeps a CPU profile of every agent
		// run there, to find what an exchange costs.
		if pdir := os.Getenv("NETBOOT_BENCH_PROFILE_DIR"); pdir != "" {
			argv = append(argv, "--cpu-profile", filepath.Join(pdir, fmt.Sprintf("dhcpv6-%s-%s.pprof", key, filepath.Base(dir))))
		}
		a, err := startAgent(t, lab, dir, argv...)
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := a.serve(ctx, relayedBootServer(lab, relayed)); err != nil {
			a.stop()
			return nil, err
		}
		return a.daemon, nil
	}}
}

// fixedArgs are agent arguments known in advance.
func fixedArgs(args ...string) func(*testing.T) ([]string, error) {
	return func(*testing.T) ([]string, error) { return args, nil }
}

// The servers of the DHCPv6 sections, by key.
var (
	dhcpAgent        = agentServer("agent", "agent (bbolt, fsync per batch)")
	dhcpAgentNoFsync = agentServer("agent-nofsync", "agent --fsync=false (bbolt, no fsync)", fixedArgs("--fsync=false"))
	dhcpKea          = dhcpServer{key: "kea", label: "Kea 2.2 (memfile, persist=true, no fsync)", needs: []string{"kea-dhcp6"},
		start: func(t *testing.T, lab *testlab.Lab, dir string, relayed []relayedSubnet) (*daemon, error) {
			return startKea(t, lab, dir, peerParams{Relayed: relayed})
		}}
)

// holdDrops is the drop share (%) under which a server holds a rate.
const holdDrops = 0.1

// perfdhcpSeconds is how long each perfdhcp run offers load (-p).
const perfdhcpSeconds = 10

func newDHCPv6Bench(runs int, rates []int) *dhcpv6Bench {
	return newDHCPBench(&dhcpv6Bench{
		key:     "DHCPv6",
		title:   "DHCPv6: 4-way exchanges (perfdhcp)",
		servers: []dhcpServer{dhcpAgent, dhcpKea, dhcpAgentNoFsync},
		intro: []string{
			"**How each persists.** By default the agent appends every lease to its lease journal before the Reply " +
				"that grants it leaves, and folds the journal into bbolt in the background every second: one fdatasync per " +
				"batch of messages read together (group commit), so a granted lease survives a power cut. Kea's memfile with `persist: true` appends each lease to its CSV file but **never fsyncs**: " +
				"the leases of the last seconds before a power cut are lost, and so it does less work per lease. " +
				"The third column is the agent with `--fsync=false`, which persists as Kea does (each lease written to " +
				"the OS before its Reply, safe against a crash or kill -9, not against a power cut): that column against " +
				"Kea compares like with like, and against the first column shows what durability costs. " +
				"The agent runs at its default log level (info: a line per lease), Kea at WARN as in the reference config.",
		},
	}, runs, rates)
}

// newDHCPBench sizes b's cells for its servers and rates.
func newDHCPBench(b *dhcpv6Bench, runs int, rates []int) *dhcpv6Bench {
	b.runs, b.rates = runs, rates
	b.exchanges, b.drops, b.avgDelay, b.maxDelay, b.cpu = map[int][]Cell{}, map[int][]Cell{}, map[int][]Cell{}, map[int][]Cell{}, map[int][]Cell{}
	for _, r := range b.rates {
		for _, m := range b.metrics() {
			m[r] = make([]Cell, len(b.servers))
		}
	}
	b.figures = dhcpFigures(len(b.relayed) > 0)
	b.inAgent = make([]map[int][]Cell, len(b.figures))
	for f := range b.figures {
		b.inAgent[f] = map[int][]Cell{}
		for _, r := range b.rates {
			b.inAgent[f][r] = make([]Cell, len(b.servers))
			for s, srv := range b.servers {
				if !srv.agent {
					b.inAgent[f][r][s].Text = "–"
				}
			}
		}
	}
	b.held = make([]Cell, len(b.servers))
	return b
}

func (b *dhcpv6Bench) metrics() []map[int][]Cell {
	return append([]map[int][]Cell{b.exchanges, b.drops, b.avgDelay, b.maxDelay, b.cpu}, b.inAgent...)
}

// dhcpFigure is a row read from the agent's own histograms after each
// run: the mean (quantile 0) or a quantile, in ms; or, perExchange, the
// histogram's count per 1,000 completed exchanges.
type dhcpFigure struct {
	figure, metric, messageType string
	quantile                    float64
	perExchange                 bool
}

const (
	replyDuration       = "netboot_dhcpv6_reply_duration_seconds"
	leaseCommitDuration = "netboot_dhcpv6_lease_commit_duration_seconds"
)

// dhcpFigures are the rows of a DHCPv6 section. The agent counts a
// relayed message under RELAY-FORW, whatever it carries, so through a
// relay Advertises and Replies are one histogram.
func dhcpFigures(relayed bool) []dhcpFigure {
	var out []dhcpFigure
	answers := [][2]string{{"Advertise", "SOLICIT"}, {"Reply", "REQUEST"}}
	if relayed {
		answers = [][2]string{{"Relay-Reply (Advertise or Reply)", "RELAY-FORW"}}
	}
	for _, a := range answers {
		for _, q := range []struct {
			name string
			q    float64
		}{{"mean", 0}, {"p50", 0.5}, {"p99", 0.99}} {
			out = append(out, dhcpFigure{figure: a[0] + " in the agent, " + q.name + " ms", metric: replyDuration, messageType: a[1], quantile: q.q})
		}
	}
	return append(out,
		dhcpFigure{figure: "lease commit, mean ms", metric: leaseCommitDuration},
		dhcpFigure{figure: "lease commit, p99 ms", metric: leaseCommitDuration, quantile: 0.99},
		// With fsync each commit is one synced write, so this row times
		// the CPU of one (the fsync floor) is what durability costs.
		dhcpFigure{figure: "lease commits per 1,000 exchanges", metric: leaseCommitDuration, perExchange: true})
}

// addInAgent records, for server s at rate, the figures of m, the agent's
// metrics after a run with p's counts.
func (b *dhcpv6Bench) addInAgent(t *testing.T, s, rate int, m Metrics, p Perfdhcp) {
	for f, fig := range b.figures {
		var labels []string
		if fig.messageType != "" {
			labels = []string{"message_type", fig.messageType}
		}
		h, err := m.Histogram(fig.metric, labels...)
		if err != nil {
			b.inAgent[f][rate][s].Fail(err.Error())
			continue
		}
		switch {
		case fig.perExchange && p.Received[1] > 0:
			b.inAgent[f][rate][s].Add(1000 * float64(h.Count) / float64(p.Received[1]))
		case fig.perExchange:
			b.inAgent[f][rate][s].Fail("no exchange completed")
		case fig.quantile > 0:
			b.inAgent[f][rate][s].Add(1000 * h.Quantile(fig.quantile))
		default:
			b.inAgent[f][rate][s].Add(1000 * h.Mean())
		}
	}
	// Every answer the agent sent and perfdhcp did not count was lost
	// on the way (a full receive buffer on perfdhcp's side, or past its
	// wait): the two counts differ by no more than those.
	if len(b.relayed) > 0 {
		if h, err := m.Histogram(replyDuration, "message_type", "RELAY-FORW"); err == nil {
			t.Logf("%d/s, %s: the agent counted %d Relay-Replies sent, perfdhcp %d answers received", rate, b.servers[s].key, h.Count, p.Received[0]+p.Received[1])
		}
	} else if h, err := m.Histogram(replyDuration, "message_type", "REQUEST"); err == nil {
		t.Logf("%d/s, %s: the agent counted %d Replies sent, perfdhcp %d received", rate, b.servers[s].key, h.Count, p.Received[1])
	}
}

func (b *dhcpv6Bench) name() string { return b.key }

// fail records reason for server s in every cell of rate (0: every rate).
func (b *dhcpv6Bench) fail(s, rate int, reason string) {
	for _, r := range b.rates {
		if rate == 0 || r == rate {
			for _, m := range b.metrics() {
				m[r][s].Fail(reason)
			}
		}
	}
	if rate == 0 {
		b.held[s].Fail(reason)
	}
}

func (b *dhcpv6Bench) run(t *testing.T) {
	if err := errNotInstalled("perfdhcp"); err != nil {
		for s := range b.servers {
			b.fail(s, 0, err.Error())
		}
		return
	}
	missing := make([]error, len(b.servers))
	for s, srv := range b.servers {
		if missing[s] = errNotInstalled(srv.needs...); missing[s] != nil {
			b.fail(s, 0, missing[s].Error())
		}
	}
	if b.prepare != nil {
		if err := b.prepare(t); err != nil {
			for s := range b.servers {
				b.fail(s, 0, err.Error())
			}
			return
		}
	}
	if err := measureFsync(t.TempDir(), &b.fsync, &b.fsyncCPU); err != nil {
		b.fsync.Fail(err.Error())
	}
	lab := testlab.New(t)
	var clientFlags []string
	if len(b.relayed) > 0 {
		clientFlags = relayClient(t, lab, b.relayed)
	}
	for run := range b.runs {
		held := make([]float64, len(b.servers))
		measured := make([]bool, len(b.servers))
		for _, rate := range b.rates {
			for s, srv := range b.servers {
				if missing[s] != nil || skipped(srv.key) {
					continue
				}
				p, cpu, m, err := b.once(t, lab, srv, rate, clientFlags)
				if err != nil {
					t.Logf("run %d, %d/s, %s: %v", run+1, rate, srv.label, err)
					b.fail(s, rate, err.Error())
					continue
				}
				cpuPer1000 := 1000 * cpu.Seconds() * 1000 / float64(max(p.Received[1], 1))
				t.Logf("run %d, %d/s, %s: %.0f exchanges/s, %.3f %% drops, avg delay %.3f ms, max %.1f ms, server CPU %s (%.0f ms per 1,000 exchanges)",
					run+1, rate, srv.label, p.Rate, p.DropPercent(), p.AvgDelayMs(), p.MaxDelayMs(), cpu, cpuPer1000)
				b.exchanges[rate][s].Add(p.Rate)
				b.drops[rate][s].Add(p.DropPercent())
				b.avgDelay[rate][s].Add(p.AvgDelayMs())
				b.maxDelay[rate][s].Add(p.MaxDelayMs())
				b.cpu[rate][s].Add(cpuPer1000)
				if srv.agent {
					if m == nil {
						for f := range b.figures {
							b.inAgent[f][rate][s].Fail("no metrics scraped")
						}
					} else {
						b.addInAgent(t, s, rate, m, p)
					}
				}
				measured[s] = true
				if p.DropPercent() < holdDrops {
					held[s] = max(held[s], float64(rate))
				}
			}
		}
		for s := range b.servers {
			if measured[s] {
				b.held[s].Add(held[s])
			}
		}
	}
}

// once starts srv on an empty lease database, offers rate exchanges per
// second for perfdhcpSeconds (with clientFlags added to perfdhcp's) and
// stops it. It returns perfdhcp's report, the CPU time the server used
// meanwhile and, for the agent, its metrics at the end (nil when the
// scrape failed, which the log says).
func (b *dhcpv6Bench) once(t *testing.T, lab *testlab.Lab, srv dhcpServer, rate int, clientFlags []string) (Perfdhcp, time.Duration, Metrics, error) {
	server, err := srv.start(t, lab, t.TempDir(), b.relayed)
	if err != nil {
		return Perfdhcp{}, 0, nil, err
	}
	defer server.stop()
	cpuBefore, err := server.cpuTime()
	if err != nil {
		return Perfdhcp{}, 0, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(perfdhcpSeconds+60)*time.Second)
	defer cancel()
	clientBefore, serverBefore := udpErrors(ctx, lab, lab.ClientNS), udpErrors(ctx, lab, lab.ServerNS)
	// perfdhcp exits 3 when packets were dropped: that is data here.
	argv := []string{"perfdhcp", "-6", "-l", lab.ClientIf,
		"-r", strconv.Itoa(rate), "-p", strconv.Itoa(perfdhcpSeconds), "-R", "1000000", "-W", "1000000"}
	argv = append(argv, clientFlags...)
	// NETBOOT_BENCH_PERFDHCP_ARGS adds perfdhcp flags, e.g. "-t 1" for a
	// report every second (shown with -v), to see when answers go missing.
	extra := strings.Fields(os.Getenv("NETBOOT_BENCH_PERFDHCP_ARGS"))
	argv = append(argv, extra...)
	sc := countSyscalls(t, server.cmd.Process.Pid)
	out, runErr := lab.Exec(ctx, lab.ClientNS, argv...)
	counted := sc.stop()
	if len(extra) > 0 {
		t.Logf("perfdhcp output:\n%s", out)
	}
	cpuAfter, err := server.cpuTime()
	if err != nil {
		return Perfdhcp{}, 0, nil, err
	}
	// Where datagrams were lost: a socket whose receive buffer was full
	// (Udp6RcvbufErrors) on the client's or the server's side.
	t.Logf("%d/s, %s: UDP receive-buffer drops: perfdhcp's side %d, server's side %d",
		rate, srv.key, udpErrors(ctx, lab, lab.ClientNS)-clientBefore, udpErrors(ctx, lab, lab.ServerNS)-serverBefore)
	p, err := ParsePerfdhcp(out)
	if err != nil {
		return p, 0, nil, fmt.Errorf("%w (perfdhcp: %v)", err, runErr)
	}
	// perfdhcp divides by its whole run, the -W wait included.
	p.Rate = float64(p.Received[1]) / perfdhcpSeconds
	if sc != nil {
		t.Logf("%d/s, %s: system calls per exchange: %s\n%s", rate, srv.key, perExchange(counted, p.Received[1]), counted)
	}
	if p.Received[0] == 0 {
		return p, 0, nil, errors.New("no Advertise came back")
	}
	var m Metrics
	if srv.agent {
		// After the CPU reading, so the scrape's cost is not counted.
		if m, err = scrapeAgent(ctx, lab); err != nil {
			t.Logf("%d/s, %s: %v", rate, srv.key, err)
		}
	}
	return p, cpuAfter - cpuBefore, m, nil
}

// dhcpServerKeys name the servers in NETBOOT_BENCH_DHCP_SKIP, which
// leaves some out (e.g. "kea,agent-nofsync" for A/B runs of the agent).
func dhcpServerKeys(benches []bench) []string {
	var keys []string
	for _, b := range benches {
		if d, ok := b.(*dhcpv6Bench); ok {
			for _, s := range d.servers {
				if !slices.Contains(keys, s.key) {
					keys = append(keys, s.key)
				}
			}
		}
	}
	return keys
}

func skipped(key string) bool {
	return slices.Contains(strings.Split(os.Getenv("NETBOOT_BENCH_DHCP_SKIP"), ","), key)
}

func (b *dhcpv6Bench) section() Section {
	s := Section{
		Title: b.title,
		Intro: append([]string{
			fmt.Sprintf("`perfdhcp -6 -l <client interface> -r RATE -p %d -R 1000000 -W 1000000` in the client namespace: "+
				"Solicit → Advertise → Request → Reply for up to a million simulated clients (random DUIDs), "+
				"against a server started afresh, with an empty lease database, for every run. Every server leases from "+
				"the same /96 (`%s`) with the same lifetimes and boot-file classes (`internal/lab/benchlab/testdata/peers/kea-dhcp6.json.tmpl` "+
				"on the lab's interface and prefix), and the same options in every answer (DNS server, domain search list, "+
				"preference 255; Kea with `always-send`), so their answers are within a few bytes of each other. "+
				"perfdhcp sends all its clients from one address, so the agent's per-source limit (`rate_limit.per_source_per_second`, "+
				"20,000 messages/s by default) is off here, as Kea has none; its per-client limit stays on.", perfdhcpSeconds, poolPrefix),
		}, append(slices.Clone(b.intro), fsyncLine(b.fsync, b.fsyncCPU),
			"Drops = Solicits that never got their Reply (either answer lost), as a share of Solicits sent. "+
				"`-W 1000000` lets perfdhcp wait one second (its drop time) for answers still in flight when the offered load "+
				"stops, so those count as answered, not lost; 4-way exchanges/s = completed exchanges ÷ the seconds of offered load. "+
				"Delay = time from a Solicit or Request to its answer, averaged over all answers; max is the longest. "+
				"Server CPU = user + system time of the server process during the run (from /proc), per 1,000 completed "+
				"exchanges: what each exchange costs, whatever else loads the machine; time spent waiting for fsync is not CPU.",
			"**In the agent** rows are the agent's own histograms, scraped from its `/metrics` after each run (README \"Metrics\"): "+
				"`netboot_dhcpv6_reply_duration_seconds` for Solicits (Advertise) and Requests (Reply) (through a relay both are "+
				"Relay-Forwards, one histogram), from the read that "+
				"brought the message to the send of its answer, the lease commit a Reply waits for included; and "+
				"`netboot_dhcpv6_lease_commit_duration_seconds`, one store of a batch of leases. perfdhcp's delay adds what "+
				"lies outside the process: both kernels' UDP paths, the veth pair, the wait in the socket's receive queue "+
				"before the agent reads, and perfdhcp's own scheduling; the gap between the two is that. p50 and p99 are "+
				"estimated from the buckets as Prometheus's `histogram_quantile` does (linear inside a bucket); a p99 "+
				"beyond the last bucket (1 s) reads as 1,000. Kea keeps no such histograms: \"–\".")...),
		Runs: b.runs,
	}
	for _, srv := range b.servers {
		s.Servers = append(s.Servers, srv.label)
	}
	for _, r := range b.rates {
		rate := FormatNumber(float64(r), 0) + "/s offered"
		s.Rows = append(s.Rows,
			Row{Figure: rate + ": 4-way exchanges/s", Digits: 0, Better: HigherIsBetter, Cells: b.exchanges[r]},
			Row{Figure: rate + ": drops %", Digits: 3, Better: LowerIsBetter, Cells: b.drops[r]},
			Row{Figure: rate + ": avg delay ms", Digits: 2, Better: LowerIsBetter, Cells: b.avgDelay[r]},
			Row{Figure: rate + ": max delay ms", Digits: 1, Better: LowerIsBetter, Cells: b.maxDelay[r]},
			Row{Figure: rate + ": server CPU ms per 1,000 exchanges", Digits: 0, Better: LowerIsBetter, Cells: b.cpu[r]},
		)
		for f, fig := range b.figures {
			digits := 3
			if fig.perExchange {
				digits = 0
			}
			s.Rows = append(s.Rows, Row{Figure: rate + ": " + fig.figure, Digits: digits, Better: LowerIsBetter, Cells: b.inAgent[f][r]})
		}
	}
	s.Rows = append(s.Rows, Row{Figure: fmt.Sprintf("highest offered rate held with < %.1f %% drops (0: none)", holdDrops),
		Digits: 0, Better: HigherIsBetter, Cells: b.held})
	return s
}

// udpErrors returns the Udp6RcvbufErrors counter of namespace ns: datagrams
// dropped because a socket's receive buffer was full (0 if unreadable).
func udpErrors(ctx context.Context, lab *testlab.Lab, ns string) int {
	out, err := lab.Exec(ctx, ns, "cat", "/proc/net/snmp6")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "Udp6RcvbufErrors" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

// fsyncSamples is how many fsyncs measureFsync times.
const fsyncSamples = 200

// measureFsync times fdatasync after a 4 KiB write in dir, over and over,
// and records each in c (ms), and the CPU a write and its fdatasync cost
// the thread making them, on average, in cpu (µs).
func measureFsync(dir string, c, cpu *Cell) error {
	f, err := os.CreateTemp(dir, "fsync-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	page := make([]byte, 4096)
	// The thread's own rusage, so the test's other goroutines do not count.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var before, after unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &before); err != nil {
		return fmt.Errorf("getrusage: %w", err)
	}
	defer func() {
		if unix.Getrusage(unix.RUSAGE_THREAD, &after) == nil {
			used := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
			cpu.Add(float64(used.Microseconds()) / fsyncSamples)
		}
	}()
	for i := range fsyncSamples {
		// Within the first 64 KiB, as a small state file's pages are.
		if _, err := f.WriteAt(page, int64(i%16)*int64(len(page))); err != nil {
			return err
		}
		start := time.Now()
		if err := syscall.Fdatasync(int(f.Fd())); err != nil {
			return fmt.Errorf("fdatasync: %w", err)
		}
		c.Add(float64(time.Since(start).Microseconds()) / 1000)
	}
	return nil
}

// fsyncLine describes the fsync floor for the report: c its times, cpu
// its CPU.
func fsyncLine(c, cpu Cell) string {
	if len(c.Runs) == 0 {
		return fmt.Sprintf("**The fsync floor** could not be measured (%s).", strings.Join(c.Failures, "; "))
	}
	s := Summarize(c.Runs)
	sorted := slices.Sorted(slices.Values(c.Runs))
	return fmt.Sprintf("**The fsync floor.** One `fdatasync` after a 4 KiB write in the servers' state directory took %s ms "+
		"(median of %d; 10th–90th percentile %s–%s ms) on this disk during the run. A journal append syncs once (a bbolt commit, "+
		"which the fold makes once a second, syncs twice), so a Reply of the first column waits for at least one of these; an "+
		"Advertise waits for none.%s",
		FormatNumber(s.Median, 2), s.N, FormatNumber(sorted[len(sorted)/10], 2), FormatNumber(sorted[len(sorted)*9/10], 2), fsyncCPULine(cpu))
}

// fsyncCPULine is what a synced write costs in CPU, the floor under the
// first column's CPU per exchange.
func fsyncCPULine(cpu Cell) string {
	if len(cpu.Runs) == 0 {
		return ""
	}
	return fmt.Sprintf(" Each write and its fdatasync cost the writing thread %s µs of CPU (user + system, mean of the same %d): "+
		"the first column's CPU per 1,000 exchanges includes that times its \"lease commits per 1,000 exchanges\" row, "+
		"CPU that Kea's memfile and the third column do not spend.", FormatNumber(Summarize(cpu.Runs).Median, 0), fsyncSamples)
}
