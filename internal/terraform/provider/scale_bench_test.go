package provider

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/agentclient"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/paths"
)

// Environment of TestTerraformScaling.
const (
	benchEnv        = "NETBOOT_BENCH"          // "1" runs it
	benchTFOutEnv   = "NETBOOT_BENCH_TF_OUT"   // file the results table is written to
	benchTFSizesEnv = "NETBOOT_BENCH_TF_SIZES" // entry counts instead of 1,100,1000
	// A directory for the provider's CPU profiles of one more, untimed plan
	// per N (in DIR/plan-N); see cpuProfileDirEnv in main.go.
	benchTFProfileEnv = "NETBOOT_BENCH_TF_PROFILE_DIR"
	// "1" times the plans alone: one untimed apply before them, one
	// destroy after.
	benchTFPlanOnlyEnv = "NETBOOT_BENCH_TF_PLAN_ONLY"
	benchRuns          = 3 // timed runs per operation
)

// TestTerraformScaling times the real terraform CLI against the real
// provider binary and a real agent (in a lab namespace) for 1, 100 and
// 1,000 boot entries in one menu: apply (create), plan (refresh of N+2
// resources, no changes), plan -refresh=false and destroy, each benchRuns
// times. The timed runs talk to the agent directly; one more run of each
// goes through a counting gRPC proxy, which shows how many agent RPCs an
// operation makes and how long the agent took to answer them. A config of
// the same shape on Terraform's built-in terraform_data shows Terraform's
// own share of the time.
//
// The provider needs no terraform init: a CLI configuration with
// dev_overrides points Terraform at the built binary.
//
//	NETBOOT_BENCH=1 go test ./internal/terraform/provider/ -run TestTerraformScaling -v -timeout 30m
func TestTerraformScaling(t *testing.T) {
	if os.Getenv(benchEnv) != "1" {
		t.Skip("benchmark: set " + benchEnv + "=1 (and run as root) to run it")
	}
	tfBin, err := exec.LookPath("terraform")
	if err != nil {
		testlab.Unavailable(t, "needs terraform on PATH")
	}
	testlab.RequireRoot(t)
	lab := testlab.New(t)
	stateDir := t.TempDir()
	lab.StartAgent(t, stateDir)

	bin := testlab.Binary(t)
	cliConfig := filepath.Join(t.TempDir(), "terraformrc")
	if err := os.WriteFile(cliConfig, []byte(fmt.Sprintf(`provider_installation {
  dev_overrides {
    "registry.terraform.io/netbootlab/netboot" = %q
  }
  direct {}
}
`, filepath.Dir(bin))), 0o644); err != nil {
		t.Fatal(err)
	}
	proxy := startRPCProxy(t, stateDir)
	b := &tfBench{
		terraform: tfBin,
		stateDir:  stateDir,
		proxy:     proxy,
		env: append(os.Environ(),
			"TF_CLI_CONFIG_FILE="+cliConfig,
			"TF_IN_AUTOMATION=1",
			"CHECKPOINT_DISABLE=1",
			// The agent must be the lab's: never launch one in the host namespace.
			agentclient.AgentBinaryEnv+"=/bin/false",
		),
	}
	version, _ := exec.Command(tfBin, "version").Output()
	t.Logf("%s; provider %s; %d CPUs", firstLine(string(version)), bin, runtime.NumCPU())

	var results []scaleResult
	sizes := []int{1, 100, 1000}
	if v := os.Getenv(benchTFSizesEnv); v != "" {
		sizes = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				t.Fatalf("%s: want sizes like 1,100,1000, got %q", benchTFSizesEnv, v)
			}
			sizes = append(sizes, n)
		}
	}
	var baseline []scaleResult
	for _, n := range sizes {
		results = append(results, b.measure(t, lab, n))
		baseline = append(baseline, b.measureBaseline(t, n))
	}
	report := scaleReport(results, baseline)
	t.Log("\n" + report)
	if out := os.Getenv(benchTFOutEnv); out != "" {
		if err := os.WriteFile(out, []byte(report), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// planTarget is the target for a plan of 1,000 entries. Missing it
// is reported in the table, not as a failure: the test measures, and the
// time depends on the machine and what else runs on it.
const planTarget = 3 * time.Second

// Operations measured for every N.
const (
	opApply     = "apply"
	opPlan      = "plan"
	opPlanNoRef = "plan -refresh=false"
	opPlanP50   = "plan -parallelism=50"
	opDestroy   = "destroy"
	// Without a refresh Terraform reads nothing, so the proxied run shows
	// the RPCs the provider itself adds to the Deletes.
	opDestroyNoRef = "destroy -refresh=false"
)

type scaleResult struct {
	n     int
	times map[string][]timing
	rpcs  map[string]rpcCounts // one proxied run of each operation
}

type tfBench struct {
	terraform string
	stateDir  string
	proxy     *rpcProxy
	env       []string
}

// scaleConfig is one boot server, n Linux entries with artifact paths and
// one default menu listing them all.
func scaleConfig(lab *testlab.Lab, n int) string {
	return fmt.Sprintf(`terraform {
  required_providers {
    netboot = { source = "netbootlab/netboot" }
  }
}

variable "state_dir" { type = string }

provider "netboot" {
  state_dir = var.state_dir
  timeout   = 10
}

resource "netboot_ipv6_boot_server" "bench" {
  name      = "bench"
  interface = %q
  prefix    = %q
  dhcpv6    = { ranges = [{ start = "2001:db8:1::1000", end = "2001:db8:1::1fff" }] }
  # Left out, router_advertisement plans an update of global_addresses on
  # every plan: its default leaves the RA flags null.
  router_advertisement = {}
}

resource "netboot_boot_entry" "e" {
  count = %d
  name  = format("e%%04d", count.index)
  title = "Entry ${count.index}"
  linux = {
    kernel  = "bench/vmlinuz"
    initrds = ["bench/initrd.img"]
    args    = "console=ttyS0 ip=dhcp6 entry={{ .Entry }}"
  }
}

resource "netboot_boot_menu" "main" {
  name         = "main"
  title        = "Scale test"
  items        = [for e in netboot_boot_entry.e : { entry = e.name }]
  is_default   = true
  boot_servers = [netboot_ipv6_boot_server.bench.name]
}
`, lab.ServerIf, lab.Prefix, n)
}

// baselineConfig is scaleConfig's shape with Terraform's built-in
// terraform_data instead of this provider: what Terraform alone costs.
func baselineConfig(n int) string {
	return fmt.Sprintf(`variable "state_dir" { type = string }

resource "terraform_data" "e" {
  count = %d
  input = {
    name  = format("e%%04d", count.index)
    title = "Entry ${count.index}"
    linux = {
      kernel  = "bench/vmlinuz"
      initrds = ["bench/initrd.img"]
      args    = "console=ttyS0 ip=dhcp6 entry={{ .Entry }}"
    }
  }
}

resource "terraform_data" "main" {
  input = [for e in terraform_data.e : { entry = e.input.name }]
}
`, n)
}

// measureBaseline times apply, plan, plan -refresh=false and destroy of
// baselineConfig: Terraform's own share of the times measure reports.
func (b *tfBench) measureBaseline(t *testing.T, n int) scaleResult {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(baselineConfig(n)), 0o644); err != nil {
		t.Fatal(err)
	}
	r := scaleResult{n: n, times: map[string][]timing{}}
	timed := func(op string, args ...string) {
		d := b.run(t, dir, false, 0, args...)
		r.times[op] = append(r.times[op], d)
		t.Logf("N=%d terraform_data %s: %s", n, op, d)
	}
	plan := []string{"plan", "-input=false", "-no-color", "-detailed-exitcode"}
	timed(opApply, "apply", "-auto-approve", "-input=false", "-no-color")
	for i := 0; i < benchRuns; i++ {
		timed(opPlan, plan...)
	}
	for i := 0; i < benchRuns; i++ {
		timed(opPlanNoRef, append(plan, "-refresh=false")...)
	}
	timed(opDestroy, "destroy", "-auto-approve", "-input=false", "-no-color")
	return r
}

// measure runs every operation for n entries and leaves the agent empty.
func (b *tfBench) measure(t *testing.T, lab *testlab.Lab, n int) scaleResult {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(scaleConfig(lab, n)), 0o644); err != nil {
		t.Fatal(err)
	}
	r := scaleResult{n: n, times: map[string][]timing{}, rpcs: map[string]rpcCounts{}}
	timed := func(op string, wantExit int, args ...string) {
		d := b.run(t, dir, false, wantExit, args...)
		r.times[op] = append(r.times[op], d)
		t.Logf("N=%d %s: %s", n, op, d)
	}
	counted := func(op string, wantExit int, args ...string) {
		b.proxy.reset()
		d := b.run(t, dir, true, wantExit, args...)
		r.rpcs[op] = b.proxy.snapshot()
		t.Logf("N=%d %s via proxy: %s, %s", n, op, d, r.rpcs[op])
	}
	apply := []string{"apply", "-auto-approve", "-input=false", "-no-color"}
	destroy := []string{"destroy", "-auto-approve", "-input=false", "-no-color"}
	plan := []string{"plan", "-input=false", "-no-color", "-detailed-exitcode"}

	// Warm up: the first run of a binary pays for reading it from disk.
	b.run(t, dir, false, 0, "plan", "-input=false", "-no-color", "-refresh=false")
	planOnly := os.Getenv(benchTFPlanOnlyEnv) == "1"
	if planOnly {
		b.run(t, dir, false, 0, apply...)
	} else {
		for i := 0; i < benchRuns; i++ {
			timed(opApply, 0, apply...)
			b.checkAgent(t, n)
			timed(opDestroy, 0, destroy...)
			b.checkAgent(t, -1)
		}
		counted(opApply, 0, apply...)
	}
	b.checkAgent(t, n)

	// Exit code 0 with -detailed-exitcode: no changes.
	for i := 0; i < benchRuns; i++ {
		timed(opPlan, 0, plan...)
	}
	counted(opPlan, 0, plan...)
	if profiles := os.Getenv(benchTFProfileEnv); profiles != "" {
		b.profiledPlan(t, dir, profiles, n, plan)
	}
	for i := 0; i < benchRuns; i++ {
		timed(opPlanNoRef, 0, append(plan, "-refresh=false")...)
	}
	counted(opPlanNoRef, 0, append(plan, "-refresh=false")...)
	if n >= 1000 {
		for i := 0; i < benchRuns; i++ {
			timed(opPlanP50, 0, append(plan, "-parallelism=50")...)
		}
	}

	if planOnly {
		b.run(t, dir, false, 0, destroy...)
		b.checkAgent(t, -1)
		return r
	}
	counted(opDestroy, 0, destroy...)
	b.checkAgent(t, -1)
	b.run(t, dir, false, 0, apply...)
	b.checkAgent(t, n)
	counted(opDestroyNoRef, 0, append(destroy, "-refresh=false")...)
	b.checkAgent(t, -1)
	return r
}

// profiledPlan runs one more plan in dir whose provider processes write
// CPU profiles into profiles/plan-N. It runs without TestMain's GOGC, so
// the provider collects garbage as it does for a user.
func (b *tfBench) profiledPlan(t *testing.T, dir, profiles string, n int, plan []string) {
	t.Helper()
	out := filepath.Join(profiles, fmt.Sprintf("plan-%d", n))
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	profiled := *b
	profiled.env = slices.DeleteFunc(slices.Clone(b.env), func(kv string) bool { return strings.HasPrefix(kv, "GOGC=") })
	profiled.env = append(profiled.env, "NETBOOT_PROVIDER_CPU_PROFILE_DIR="+out)
	t.Logf("N=%d plan, provider profiled into %s: %s", n, out, profiled.run(t, dir, false, 0, plan...))
}

// timing is one terraform run: wall-clock time, and CPU time (user and
// system) of terraform and the provider it started, which a busy machine
// inflates less than the wall clock.
type timing struct{ wall, cpu time.Duration }

func (d timing) String() string {
	return fmt.Sprintf("%.2f s (CPU %.2f s)", d.wall.Seconds(), d.cpu.Seconds())
}

// run runs terraform in dir, through the counting proxy or straight to the
// agent, fails the test unless it exits with wantExit, and returns how long
// it took.
func (b *tfBench) run(t *testing.T, dir string, viaProxy bool, wantExit int, args ...string) timing {
	t.Helper()
	stateDir := b.stateDir
	if viaProxy {
		stateDir = b.proxy.dir
	}
	args = append(append([]string{"-chdir=" + dir}, args...), "-var", "state_dir="+stateDir)
	cmd := exec.Command(b.terraform, args...)
	cmd.Env = b.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	code := 0
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatalf("terraform %s: %v", strings.Join(args, " "), err)
	}
	if code != wantExit {
		t.Fatalf("terraform %s exited %d, want %d:\n%s", strings.Join(args, " "), code, wantExit, tail(out.String(), 4000))
	}
	// wait4's usage of terraform includes the provider: terraform waits for it.
	return timing{wall: took, cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
}

// checkAgent checks that the agent holds n entries and one menu of n items,
// or nothing when n < 0.
func (b *tfBench) checkAgent(t *testing.T, n int) {
	t.Helper()
	ctx := context.Background()
	conn, err := agentclient.Connect(ctx, agentclient.Options{StateDir: b.stateDir, NoLaunch: true, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	entries, err := agentclient.All(ctx, conn.ListBootEntries, &netbootv1.ListBootEntriesRequest{}, (*netbootv1.ListBootEntriesResponse).GetEntries)
	if err != nil {
		t.Fatal(err)
	}
	menus, err := agentclient.All(ctx, conn.ListBootMenus, &netbootv1.ListBootMenusRequest{}, (*netbootv1.ListBootMenusResponse).GetMenus)
	if err != nil {
		t.Fatal(err)
	}
	if n < 0 {
		if len(entries)+len(menus) != 0 {
			t.Fatalf("after destroy the agent still holds %d entries and %d menus", len(entries), len(menus))
		}
		return
	}
	if len(entries) != n || len(menus) != 1 || len(menus[0].GetItems()) != n {
		t.Fatalf("after apply the agent holds %d entries and %d menus, want %d entries and one menu of %d items",
			len(entries), len(menus), n, n)
	}
}

// scaleReport is the results as Markdown: times, then agent RPCs.
func scaleReport(results, baseline []scaleResult) string {
	var sb strings.Builder
	cell := func(ts []timing) string {
		if len(ts) == 0 {
			return "–"
		}
		wall, cpu := walls(ts), cpus(ts)
		return fmt.Sprintf("%.2f (%.2f–%.2f) · CPU %.2f", median(wall).Seconds(), slices.Min(wall).Seconds(),
			slices.Max(wall).Seconds(), median(cpu).Seconds())
	}
	growth := func(rs []scaleResult, i int, op string) string {
		if i == 0 {
			return "–"
		}
		if len(rs[i].times[op]) == 0 || len(rs[i-1].times[op]) == 0 {
			return "–"
		}
		factor := func(f func([]timing) []time.Duration) float64 {
			return median(f(rs[i].times[op])).Seconds() / median(f(rs[i-1].times[op])).Seconds()
		}
		return fmt.Sprintf("×%.1f (CPU ×%.1f)", factor(walls), factor(cpus))
	}
	table := func(rs []scaleResult) {
		sb.WriteString("| N | apply s | plan s | plan -refresh=false s | destroy s | growth apply / plan / plan -refresh=false |\n")
		sb.WriteString("|---:|---|---|---|---|---|\n")
		for i, r := range rs {
			fmt.Fprintf(&sb, "| %d | %s | %s | %s | %s | %s / %s / %s |\n", r.n,
				cell(r.times[opApply]), cell(r.times[opPlan]), cell(r.times[opPlanNoRef]), cell(r.times[opDestroy]),
				growth(rs, i, opApply), growth(rs, i, opPlan), growth(rs, i, opPlanNoRef))
		}
	}
	fmt.Fprintf(&sb, "Terraform scaling: wall seconds, median (min–max) of %d runs, and median CPU seconds of terraform "+
		"and the provider (%d CPUs); growth is the wall median's factor over the previous N.\n\n", benchRuns, runtime.NumCPU())
	table(results)
	for _, r := range results {
		if ts := r.times[opPlanP50]; len(ts) > 0 {
			fmt.Fprintf(&sb, "\nN=%d plan: -parallelism=10 (default) %s s, -parallelism=50 %s s.\n", r.n, cell(r.times[opPlan]), cell(ts))
		}
	}
	for _, r := range results {
		if r.n == 1000 {
			verdict := "met"
			if median(walls(r.times[opPlan])) > planTarget {
				verdict = "MISSED"
			}
			fmt.Fprintf(&sb, "\nTarget: plan of 1,000 entries under %.0f s: %s (median %.2f s).", planTarget.Seconds(), verdict,
				median(walls(r.times[opPlan])).Seconds())
			for _, b := range baseline {
				if b.n == r.n {
					fmt.Fprintf(&sb, " Terraform alone plans the same shape in %.2f s, CPU %.2f s: the floor on this machine.",
						median(walls(b.times[opPlan])).Seconds(), median(cpus(b.times[opPlan])).Seconds())
				}
			}
			sb.WriteString("\n")
		}
	}
	sb.WriteString("\nTerraform alone: the same shape with the built-in terraform_data (no provider process, no agent); " +
		"apply and destroy once, plans as above:\n\n")
	table(baseline)
	sb.WriteString("\nAgent RPCs per operation (one run through a counting gRPC proxy; Health/Check is the provider's connect):\n\n")
	sb.WriteString("| N | operation | RPCs | per method | agent time: sum / max per call |\n")
	sb.WriteString("|---:|---|---:|---|---|\n")
	for _, r := range results {
		for _, op := range []string{opApply, opPlan, opPlanNoRef, opDestroy, opDestroyNoRef} {
			c, ok := r.rpcs[op]
			if !ok {
				continue
			}
			fmt.Fprintf(&sb, "| %d | %s | %d | %s | %.3f s / %.1f ms |\n", r.n, op, c.total(), c.methods(),
				c.sum().Seconds(), float64(c.max())/float64(time.Millisecond))
		}
	}
	return sb.String()
}

func walls(ts []timing) []time.Duration {
	out := make([]time.Duration, len(ts))
	for i, t := range ts {
		out[i] = t.wall
	}
	return out
}

func cpus(ts []timing) []time.Duration {
	out := make([]time.Duration, len(ts))
	for i, t := range ts {
		out[i] = t.cpu
	}
	return out
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// rpcProxy is a gRPC proxy on its own state directory's agent.sock that
// forwards every call, whatever its method, to the agent's socket, and
// counts and times them. It knows no message types: frames pass through
// as bytes.
type rpcProxy struct {
	dir string

	mu    sync.Mutex
	calls map[string]*rpcStat
}

type rpcStat struct {
	n        int
	sum, max time.Duration
}

// rpcCounts is a snapshot of the proxy's counters, by full method name.
type rpcCounts map[string]rpcStat

func startRPCProxy(t *testing.T, agentStateDir string) *rpcProxy {
	t.Helper()
	p := &rpcProxy{dir: t.TempDir(), calls: map[string]*rpcStat{}}
	upstream, err := grpc.NewClient("unix://"+filepath.Join(agentStateDir, paths.SocketName),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", filepath.Join(p.dir, paths.SocketName))
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ForceServerCodec(rawCodec{}), grpc.UnknownServiceHandler(func(_ any, ss grpc.ServerStream) error {
		return p.forward(upstream, ss)
	}))
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Stop()
		_ = upstream.Close()
	})
	return p
}

func (p *rpcProxy) forward(upstream *grpc.ClientConn, ss grpc.ServerStream) error {
	method, _ := grpc.MethodFromServerStream(ss)
	start := time.Now()
	defer func() { p.record(method, time.Since(start)) }()
	ctx, cancel := context.WithCancel(ss.Context())
	defer cancel()
	cs, err := upstream.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}, method, grpc.ForceCodec(rawCodec{}))
	if err != nil {
		return err
	}
	go func() {
		for {
			var f rawFrame
			if err := ss.RecvMsg(&f); err != nil {
				if errors.Is(err, io.EOF) {
					_ = cs.CloseSend()
				} else {
					cancel()
				}
				return
			}
			if err := cs.SendMsg(&f); err != nil {
				return
			}
		}
	}()
	if md, err := cs.Header(); err == nil {
		_ = ss.SendHeader(md)
	}
	for {
		var f rawFrame
		err := cs.RecvMsg(&f)
		if errors.Is(err, io.EOF) {
			ss.SetTrailer(cs.Trailer())
			return nil
		}
		if err != nil {
			ss.SetTrailer(cs.Trailer())
			return err // the agent's status, code and all
		}
		if err := ss.SendMsg(&f); err != nil {
			return err
		}
	}
}

func (p *rpcProxy) record(method string, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.calls[method]
	if s == nil {
		s = &rpcStat{}
		p.calls[method] = s
	}
	s.n++
	s.sum += d
	s.max = max(s.max, d)
}

func (p *rpcProxy) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = map[string]*rpcStat{}
}

func (p *rpcProxy) snapshot() rpcCounts {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := rpcCounts{}
	for m, s := range p.calls {
		c[m] = *s
	}
	return c
}

func (c rpcCounts) total() int {
	n := 0
	for _, s := range c {
		n += s.n
	}
	return n
}

func (c rpcCounts) sum() time.Duration {
	var d time.Duration
	for _, s := range c {
		d += s.sum
	}
	return d
}

func (c rpcCounts) max() time.Duration {
	var d time.Duration
	for _, s := range c {
		d = max(d, s.max)
	}
	return d
}

// methods is "GetBootEntry 1000, GetBootMenu 1, ..." with short names.
func (c rpcCounts) methods() string {
	names := make([]string, 0, len(c))
	for m := range c {
		names = append(names, m)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, m := range names {
		short := m[strings.LastIndex(m, "/")+1:]
		if strings.Contains(m, "grpc.health") {
			short = "Health/Check"
		}
		parts = append(parts, fmt.Sprintf("%s %d", short, c[m].n))
	}
	return strings.Join(parts, ", ")
}

func (c rpcCounts) String() string {
	return fmt.Sprintf("%d RPCs (%s), agent time %.3f s", c.total(), c.methods(), c.sum().Seconds())
}

// rawFrame is one gRPC message, undecoded.
type rawFrame struct{ b []byte }

// rawCodec passes messages through as bytes. It is named "proto" so the
// agent, which picks its codec by content subtype, decodes them as usual.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return v.(*rawFrame).b, nil }

func (rawCodec) Unmarshal(data []byte, v any) error {
	f := v.(*rawFrame)
	f.b = append(f.b[:0], data...)
	return nil
}

func (rawCodec) Name() string { return "proto" }
