package benchlab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
)

// transferBench fetches files with many curl clients at once from the
// agent and from reference file servers (TFTP or HTTP).
type transferBench struct {
	title   string
	runs    int
	scheme  string   // "tftp" or "http"
	curl    []string // extra curl arguments
	servers []fileServer
	cases   []transferCase
	// Per case, one cell per server.
	perFetch, rate [][]Cell
	// histogram is the agent's histogram of transfer times, and inAgent
	// its mean and p99 per case, one cell per server ("–" for peers).
	histogram string
	inAgent   [2][][]Cell
	// rangeCheck asks each server for bytes 0-99 of the first case's file.
	rangeCheck bool
	ranges     []Cell
	intro      []string
	notes      []string
	// unit is what NETBOOT_BENCH_SYSCALLS counts are per, and units how
	// many of them a case moves.
	unit  string
	units func(transferCase) int
}

type transferCase struct {
	file    string
	size    int64
	clients int
	// maxRuns, when set, caps the runs of a case too slow to repeat
	// within make bench's time.
	maxRuns int
}

// fileServer is one implementation under test: start serves the payload
// directory on the lab link until the daemon returned stops.
type fileServer struct {
	name  string
	agent bool // serves its metrics at agentMetricsAddr
	needs []string
	start func(t *testing.T, lab *testlab.Lab) (*daemon, error)
}

// maxClients is the most concurrent clients a case uses.
const maxClients = 50

func newTransferBench(title string, runs int, scheme string, curl []string, servers []fileServer, cases []transferCase) *transferBench {
	b := &transferBench{title: title, runs: runs, scheme: scheme, curl: curl, servers: servers, cases: cases,
		ranges: make([]Cell, len(servers))}
	for range cases {
		b.perFetch = append(b.perFetch, make([]Cell, len(servers)))
		b.rate = append(b.rate, make([]Cell, len(servers)))
		for i := range b.inAgent {
			cells := make([]Cell, len(servers))
			for s, srv := range servers {
				if !srv.agent {
					cells[s].Text = "–"
				}
			}
			b.inAgent[i] = append(b.inAgent[i], cells)
		}
	}
	return b
}

// agentFiles serves p's files from the agent, uploaded once to a state
// dir the agent keeps across the runs' restarts.
func agentFiles(p *payloads, files ...string) fileServer {
	var stateDir string
	var uploaded bool
	return fileServer{name: "agent", agent: true, start: func(t *testing.T, lab *testlab.Lab) (*daemon, error) {
		if stateDir == "" {
			stateDir = t.TempDir()
		}
		return agentServing(t, lab, stateDir, p, files, &uploaded)
	}}
}

// peerFiles serves p's directory with a reference server.
func peerFiles(name string, p *payloads, needs []string, start func(*testing.T, *testlab.Lab, string, string) (*daemon, error)) fileServer {
	return fileServer{name: name, needs: needs, start: func(t *testing.T, lab *testlab.Lab) (*daemon, error) {
		return start(t, lab, p.dir, t.TempDir())
	}}
}

// tftpBlockSize is the blksize curl asks for, as iPXE-sized clients do.
const tftpBlockSize = 1428

func newTFTPBench(runs int, p *payloads) *transferBench {
	b := newTransferBench("TFTP", runs, "tftp", []string{"--tftp-blksize", strconv.Itoa(tftpBlockSize)},
		[]fileServer{
			agentFiles(p, bootLoader, bigFile),
			peerFiles("tftpd-hpa (in.tftpd)", p, []string{"in.tftpd"}, startTFTPD),
		},
		[]transferCase{
			{bootLoader, p.sizes[bootLoader], 1, 0}, {bootLoader, p.sizes[bootLoader], maxClients, 0},
			{bigFile, p.sizes[bigFile], 1, 0},
			// About 25 s a run for either server: two runs.
			{bigFile, p.sizes[bigFile], maxClients, 2},
		})
	// A file ends with a short block, empty if its size is a multiple.
	b.histogram = "netboot_tftp_transfer_seconds"
	b.unit = "per DATA block"
	b.units = func(tc transferCase) int { return tc.clients * int(tc.size/tftpBlockSize+1) }
	b.intro = []string{
		fmt.Sprintf("`curl --tftp-blksize %d tftp://[server]/FILE` from the client namespace, each client from an "+
			"address of its own (the agent allows 4 transfers per client address). `%s` is %s (%s); `%s` is %s of random bytes. "+
			"`in.tftpd -L -6 -a [server]:69 -s DIR` in the server namespace; the agent serves the same files uploaded with PutArtifact.",
			tftpBlockSize, bootLoader, sizeText(p.sizes[bootLoader]), p.about[bootLoader], bigFile, sizeText(p.sizes[bigFile])),
	}
	b.notes = []string{transferNote, inAgentNote("`netboot_tftp_transfer_seconds`, from the read of the request to the last block's ACK"),
		fmt.Sprintf("%d clients × %s (2.5 GB a run, about 25 s) runs twice per server (n=2) to keep `make bench` short.",
			maxClients, sizeText(p.sizes[bigFile]))}
	return b
}

func newHTTPBench(runs int, p *payloads) *transferBench {
	b := newTransferBench("HTTP", runs, "http", nil,
		[]fileServer{
			agentFiles(p, kernelFile, initrdFile),
			peerFiles("python3 -m http.server", p, []string{python()}, startPythonHTTP),
			peerFiles("busybox httpd", p, []string{"busybox"}, startBusyboxHTTP),
		},
		[]transferCase{{kernelFile, p.sizes[kernelFile], maxClients, 0}, {initrdFile, p.sizes[initrdFile], maxClients, 0}})
	b.rangeCheck = true
	b.histogram = "netboot_http_response_seconds"
	b.unit = "per MiB"
	b.units = func(tc transferCase) int { return tc.clients * int(max(tc.size>>20, 1)) }
	b.intro = []string{
		fmt.Sprintf("%d clients at once, each from an address of its own, `curl http://[server]/FILE`. `%s` is %s (%s), "+
			"`%s` %s of random bytes. The lab README's reference HTTP server is `python3 -m http.server`; busybox httpd "+
			"is a second, lighter peer.", maxClients, kernelFile, sizeText(p.sizes[kernelFile]), p.about[kernelFile],
			initrdFile, sizeText(p.sizes[initrdFile])),
	}
	b.notes = []string{transferNote, inAgentNote("`netboot_http_response_seconds`, from the request's headers read to the last byte of the body written to the socket"),
		"Range: `curl -r 0-99` must give status 206 and 100 bytes; iPXE and UEFI HTTP boot resume and probe with Range requests."}
	return b
}

const transferNote = "Time per fetch is the mean of curl's `time_total` over the clients of a run. MB/s is 10^6 bytes per second: " +
	"all bytes over the span from the first transfer's start to the last one's end, by curl's own clock (each transfer starts " +
	"its `time_total` before its curl exits), so for one client the file size over curl's time. The span leaves out starting " +
	"the curl processes, which for 50 clients of a small file takes longer than the transfers and would rank the servers by " +
	"how fast curl starts; the test log prints the wall-time rate beside it."

// inAgentNote explains the rows read from the agent's histogram what.
func inAgentNote(what string) string {
	return "The \"in the agent\" rows are the agent's own histogram " + what + ", scraped from its `/metrics` before and after " +
		"each case (README \"Metrics\"): the mean, and the p99 estimated from the buckets as Prometheus's `histogram_quantile` " +
		"does. curl's time adds connecting, the kernel and the veth pair, and its own start; a transfer faster than the first " +
		"bucket (10 ms) gets a p99 interpolated inside it, so only the mean is exact there. The peers keep no such histogram: \"–\"."
}

func (b *transferBench) name() string { return b.title }

func (b *transferBench) fail(s int, reason string) {
	for c := range b.cases {
		b.perFetch[c][s].Fail(reason)
		b.rate[c][s].Fail(reason)
	}
	if b.rangeCheck && len(b.ranges[s].Runs) == 0 && b.ranges[s].Text == "" {
		b.ranges[s].Fail(reason)
	}
}

func (b *transferBench) run(t *testing.T) {
	if err := errNotInstalled("curl"); err != nil {
		for s := range b.servers {
			b.fail(s, err.Error())
		}
		return
	}
	missing := make([]error, len(b.servers))
	for s, srv := range b.servers {
		if missing[s] = errNotInstalled(srv.needs...); missing[s] != nil {
			b.fail(s, missing[s].Error())
		}
	}
	lab := testlab.New(t)
	clients := addClients(t, lab, maxClients)
	for run := range b.runs {
		for s, srv := range b.servers {
			if missing[s] != nil {
				continue
			}
			server, err := srv.start(t, lab)
			if err != nil {
				t.Logf("run %d, %s: %v", run+1, srv.name, err)
				b.fail(s, err.Error())
				continue
			}
			if b.rangeCheck && run == 0 {
				b.ranges[s] = checkRange(lab, b.url(lab, b.cases[0].file), clients[0])
			}
			for c, tc := range b.cases {
				if tc.maxRuns > 0 && run >= tc.maxRuns || !caseChosen(tc) {
					continue
				}
				var before Histogram
				if srv.agent {
					before = b.scrapeHistogram(t, lab)
				}
				sc := countSyscalls(t, server.cmd.Process.Pid)
				results, wall := fetchAll(lab, b.url(lab, tc.file), clients[:tc.clients], b.curl...)
				counted := sc.stop()
				if srv.agent {
					b.addInAgent(c, s, before, b.scrapeHistogram(t, lab))
				}
				perFetch, mbps, err := throughput(results, tc.size)
				if err != nil {
					t.Logf("run %d, %s, %s ×%d: %v", run+1, srv.name, tc.file, tc.clients, err)
					b.perFetch[c][s].Fail(err.Error())
					b.rate[c][s].Fail(err.Error())
					continue
				}
				t.Logf("run %d, %s, %s ×%d: %.1f ms per fetch, %.1f MB/s over curl's span %s (wall with curl's start-up %s: %.1f MB/s)",
					run+1, srv.name, tc.file, tc.clients, perFetch, mbps, transferSpan(results).Round(time.Millisecond),
					wall.Round(time.Millisecond), float64(tc.size)*float64(tc.clients)/wall.Seconds()/1e6)
				if tc.clients > 1 {
					t.Logf("run %d, %s, %s ×%d: %s", run+1, srv.name, tc.file, tc.clients, timeline(results))
				}
				if sc != nil {
					t.Logf("run %d, %s, %s ×%d: server's %s: %s\n%s", run+1, srv.name, tc.file, tc.clients,
						b.unit, perExchange(counted, b.units(tc)), counted)
				}
				b.perFetch[c][s].Add(perFetch)
				b.rate[c][s].Add(mbps)
			}
			server.stop()
		}
	}
}

// scrapeHistogram is the agent's b.histogram now; empty (no buckets) when
// the scrape failed, which the log says.
func (b *transferBench) scrapeHistogram(t *testing.T, lab *testlab.Lab) Histogram {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := scrapeAgent(ctx, lab)
	var h Histogram
	if err == nil {
		h, err = m.Histogram(b.histogram)
	}
	if err != nil {
		t.Logf("%s: %v", b.title, err)
	}
	return h
}

// addInAgent records server s's mean and p99 transfer time of case c from
// its histogram before and after the case.
func (b *transferBench) addInAgent(c, s int, before, after Histogram) {
	d, err := after.Since(before)
	if err == nil && after.Bounds == nil {
		err = errors.New("no metrics scraped")
	}
	for i, q := range []float64{0, 0.99} {
		switch {
		case err != nil:
			b.inAgent[i][c][s].Fail(err.Error())
		case q == 0:
			b.inAgent[i][c][s].Add(1000 * d.Mean())
		default:
			b.inAgent[i][c][s].Add(1000 * d.Quantile(q))
		}
	}
}

// caseChosen: NETBOOT_BENCH_CASES=undionly.kpxe×50,… measures only the
// cases named, to look into one.
func caseChosen(tc transferCase) bool {
	only := os.Getenv("NETBOOT_BENCH_CASES")
	return only == "" || slices.Contains(strings.Split(only, ","), tc.name())
}

// name is FILE×CLIENTS, as NETBOOT_BENCH_CASES names a case.
func (tc transferCase) name() string { return fmt.Sprintf("%s×%d", tc.file, tc.clients) }

func (b *transferBench) url(lab *testlab.Lab, file string) string {
	return b.scheme + "://[" + lab.ServerAddr + "]/" + file
}

func (b *transferBench) section() Section {
	s := Section{Title: b.title, Intro: b.intro, Notes: b.notes, Runs: b.runs}
	for _, srv := range b.servers {
		s.Servers = append(s.Servers, srv.name)
	}
	for c, tc := range b.cases {
		what := fmt.Sprintf("%s (%s), %d client", tc.file, sizeText(tc.size), tc.clients)
		if tc.clients > 1 {
			what += "s"
		}
		s.Rows = append(s.Rows,
			Row{Figure: what + ": time per fetch ms", Digits: 1, Better: LowerIsBetter, Cells: b.perFetch[c]},
			Row{Figure: what + ": in the agent, mean ms", Digits: 1, Better: LowerIsBetter, Cells: b.inAgent[0][c]},
			Row{Figure: what + ": in the agent, p99 ms", Digits: 1, Better: LowerIsBetter, Cells: b.inAgent[1][c]},
			Row{Figure: what + ": MB/s", Digits: 1, Better: HigherIsBetter, Cells: b.rate[c]})
	}
	if b.rangeCheck {
		s.Rows = append(s.Rows, Row{Figure: fmt.Sprintf("honours Range (`curl -r 0-99` of %s)", b.cases[0].file), Cells: b.ranges})
	}
	return s
}
