package benchlab

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/agentclient"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// daemon is a server process started in a lab namespace; the lab kills it
// at cleanup if stop was never called.
type daemon struct {
	name string
	log  string
	cmd  *exec.Cmd
	done chan struct{}
}

// startDaemon runs args in namespace ns with output to logPath.
func startDaemon(t *testing.T, lab *testlab.Lab, ns, name, logPath string, env []string, args ...string) (*daemon, error) {
	t.Helper()
	if _, err := exec.LookPath(args[0]); err != nil {
		return nil, fmt.Errorf("%s not installed", args[0])
	}
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	d := &daemon{name: name, log: logPath, cmd: lab.Command(t, ns, args...), done: make(chan struct{})}
	d.cmd.Stdout, d.cmd.Stderr = logFile, logFile
	d.cmd.Env = append(os.Environ(), env...)
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() { _ = d.cmd.Wait(); close(d.done) }()
	t.Cleanup(d.stop)
	return d, nil
}

// stop ends the process (SIGTERM, then SIGKILL after 5 s) and waits for it.
// `ip netns exec` execs the server, so the PID is the server's own.
func (d *daemon) stop() {
	select {
	case <-d.done:
		return
	default:
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(5 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.done
	}
}

// failure describes why the daemon is not serving, with the end of its log.
func (d *daemon) failure(what string) error {
	log, _ := os.ReadFile(d.log)
	tail := strings.TrimSpace(string(log))
	if len(tail) > 400 {
		tail = "..." + tail[len(tail)-400:]
	}
	return fmt.Errorf("%s %s: %s", d.name, what, tail)
}

// clockTicks is the unit of /proc/PID/stat's CPU times (USER_HZ), 100 on
// every Linux architecture Debian ships.
const clockTicks = 100

// cpuTime is the user plus system time the process has used so far, all
// its threads together.
func (d *daemon) cpuTime() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", d.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("reading %s's CPU time: %w", d.name, err)
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("%s's /proc stat is short: %q", d.name, b)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("parsing %s's CPU time: %w", d.name, err)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// waitListening waits until something in the server namespace listens on
// port (proto "udp" or "tcp"), or d exits.
func waitListening(lab *testlab.Lab, d *daemon, proto string, port int) error {
	flag := map[string]string{"udp": "-Hlun", "tcp": "-Hltn"}[proto]
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-d.done:
			return d.failure("exited")
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		out, err := lab.Exec(ctx, lab.ServerNS, "ss", flag, fmt.Sprintf("sport = :%d", port))
		cancel()
		if err == nil && strings.TrimSpace(out) != "" {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.stop()
	return d.failure(fmt.Sprintf("did not listen on %s port %d within 15 s", proto, port))
}

// agent is the real agent binary in the lab's server namespace, at the
// default log level (info), as it runs in production; testlab.StartAgent
// logs at debug, which would tax the serving path being measured.
type agent struct {
	*daemon
	conn *agentclient.Conn
}

func startAgent(t *testing.T, lab *testlab.Lab, stateDir string, extraArgs ...string) (*agent, error) {
	t.Helper()
	argv := append([]string{agentBinary(t), "agent", "--state-dir", stateDir}, extraArgs...)
	// NETBOOT_BENCH_AGENT_ENV adds to the agent's environment, e.g.
	// "GOGC=100 GOMAXPROCS=1", to try runtime settings.
	env := strings.Fields(os.Getenv("NETBOOT_BENCH_AGENT_ENV"))
	d, err := startDaemon(t, lab, lab.ServerNS, "agent", filepath.Join(stateDir, "agent-bench.log"), env, argv...)
	if err != nil {
		return nil, err
	}
	socket := filepath.Join(stateDir, "agent.sock")
	deadline := time.Now().Add(15 * time.Second)
	for {
		if c, err := net.Dial("unix", socket); err == nil {
			c.Close()
			break
		}
		select {
		case <-d.done:
			return nil, d.failure("exited")
		default:
		}
		if time.Now().After(deadline) {
			d.stop()
			return nil, d.failure("opened no control socket within 15 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	conn, err := agentclient.Connect(context.Background(), agentclient.Options{StateDir: stateDir, NoLaunch: true, Timeout: 10 * time.Second})
	if err != nil {
		d.stop()
		return nil, fmt.Errorf("connecting to the agent: %w", err)
	}
	a := &agent{daemon: d, conn: conn}
	t.Cleanup(func() { conn.Close() })
	return a, nil
}

// agentBinary is the agent measured: this tree's, or the build named by
// NETBOOT_BENCH_AGENT_BINARY, to compare with an earlier version.
func agentBinary(t *testing.T) string {
	if bin := os.Getenv("NETBOOT_BENCH_AGENT_BINARY"); bin != "" {
		return bin
	}
	return testlab.Binary(t)
}

// agentMetricsAddr is where the benches' agents serve their metrics
// (--metrics-listen), in the lab's server namespace: one agent at a time.
const agentMetricsAddr = "[::1]:9447"

// scrapeAgent reads the metrics of the agent listening on agentMetricsAddr
// in lab's server namespace.
func scrapeAgent(ctx context.Context, lab *testlab.Lab) (Metrics, error) {
	out, err := lab.Exec(ctx, lab.ServerNS, "curl", "-g", "-sS", "--fail", "http://"+agentMetricsAddr+"/metrics")
	if err != nil {
		return nil, fmt.Errorf("scraping the agent's metrics: %w", err)
	}
	return ParseMetrics(strings.NewReader(out))
}

// serve configures the lab's link on the agent and waits until it serves.
func (a *agent) serve(ctx context.Context, bs *netbootv1.BootServer) error {
	state, err := a.conn.PutBootServer(ctx, &netbootv1.PutBootServerRequest{BootServer: bs})
	if err != nil {
		return fmt.Errorf("PutBootServer: %w", err)
	}
	if !state.GetStatus().GetServing() {
		return fmt.Errorf("boot server not serving: %s", state.GetStatus().GetError())
	}
	return nil
}

// upload streams content to the agent as artifact path, in 256 KiB chunks.
func (a *agent) upload(ctx context.Context, path string, content []byte) error {
	stream, err := a.conn.PutArtifact(ctx)
	if err != nil {
		return err
	}
	if err := stream.Send(&netbootv1.PutArtifactRequest{Part: &netbootv1.PutArtifactRequest_Header{Header: &netbootv1.ArtifactHeader{Path: path}}}); err != nil {
		return err
	}
	for len(content) > 0 {
		n := min(len(content), 256<<10)
		if err := stream.Send(&netbootv1.PutArtifactRequest{Part: &netbootv1.PutArtifactRequest_Chunk{Chunk: content[:n]}}); err != nil {
			return err
		}
		content = content[n:]
	}
	if _, err := stream.CloseAndRecv(); err != nil {
		return fmt.Errorf("PutArtifact %s: %w", path, err)
	}
	return nil
}

// bootServer is the agent's configuration of the lab link: stateful
// DHCPv6 over range (like internal/agent's lab tests), TFTP and HTTP on.
func bootServer(lab *testlab.Lab, rangeStart, rangeEnd string) *netbootv1.BootServer {
	return &netbootv1.BootServer{
		Name:      "bench",
		Interface: lab.ServerIf,
		Prefix:    lab.Prefix,
		RouterAdvertisement: &netbootv1.RouterAdvertisement{
			Managed: true, OtherConfig: true,
			MinIntervalSeconds: 30, MaxIntervalSeconds: 60,
			PrefixOnLink: true, PrefixAutonomous: true,
			PrefixValidLifetimeSeconds: 86400, PrefixPreferredLifetimeSeconds: 14400,
			Rdnss: []string{lab.ServerAddr}, Dnssl: []string{"lab.example"}, DnsLifetimeSeconds: 180,
		},
		Dhcpv6: &netbootv1.DHCPv6{
			Mode:       "stateful",
			Ranges:     []*netbootv1.AddressRange{{Start: rangeStart, End: rangeEnd}},
			DnsServers: []string{lab.ServerAddr}, DomainSearch: []string{"lab.example"},
			Preference: 255, RenewTimeSeconds: 1000, RebindTimeSeconds: 2000,
			PreferredLifetimeSeconds: 3000, ValidLifetimeSeconds: 4000,
			// perfdhcp sends all its simulated clients from one address,
			// which the default per-source limit (20,000 messages/s, there
			// for a host gone wild or a flood) would cap at 10,000
			// exchanges/s, and, relayed, the per-relay limit at 2,500; Kea
			// has no such limits. The per-DUID limit stays.
			RateLimit: &netbootv1.DHCPv6RateLimit{
				PerClientPerSecond: config.Defaults.RateLimit.PerClientPerSecond, Burst: config.Defaults.RateLimit.Burst,
			},
		},
	}
}

// The /96 both DHCPv6 servers lease from: room for every perfdhcp client.
const (
	poolPrefix = "2001:db8:1::1:0:0/96"
	poolStart  = "2001:db8:1::1:0:0"
	poolEnd    = "2001:db8:1::1:ffff:ffff"
)

// relayedSubnet is a link behind a relay, as the DHCPv6 servers serve it
// in the relayed benchmark: its /64 and a /96 pool in it.
type relayedSubnet struct {
	Name, Prefix, Pool, PoolStart, PoolEnd string
	// ID is Kea's subnet-id: set, as the lab subnet's 1 is, so Kea does
	// not number a relayed subnet 1 as well and refuse its configuration.
	ID int
}

// relayedSubnets are the two links perfdhcp -A 1 names by link-address
// (-J), one at random per exchange.
var relayedSubnets = []relayedSubnet{
	{"vlan10", "2001:db8:10::/64", "2001:db8:10::1:0:0/96", "2001:db8:10::1:0:0", "2001:db8:10::1:ffff:ffff", 10},
	{"vlan20", "2001:db8:20::/64", "2001:db8:20::1:0:0/96", "2001:db8:20::1:0:0", "2001:db8:20::1:ffff:ffff", 20},
}

// relayedBootServer is bootServer over the lab pool, also serving relayed.
func relayedBootServer(lab *testlab.Lab, relayed []relayedSubnet) *netbootv1.BootServer {
	bs := bootServer(lab, poolStart, poolEnd)
	if len(relayed) > 0 {
		bs.Dhcpv6.RelayedLinks = map[string]*netbootv1.RelayedLink{}
	}
	for _, r := range relayed {
		bs.Dhcpv6.RelayedLinks[r.Name] = &netbootv1.RelayedLink{Prefix: r.Prefix,
			Ranges: []*netbootv1.AddressRange{{Start: r.PoolStart, End: r.PoolEnd}}}
	}
	return bs
}

// peerParams are what a run adds to a peer template's parameters; the
// zero value is the plain lab link.
type peerParams struct {
	// PgHost, PgName and PgUser put Kea's leases in a PostgreSQL database
	// that kea-admin db-init made (PgHost: its unix socket directory);
	// without them, in a memfile in the run directory, persist on.
	PgHost, PgName, PgUser string
	// MultiThreading > 0 turns Kea's multi-threading on with that many
	// threads, which Kea's manual advises with a database backend.
	MultiThreading int
	// Relayed are links behind a relay that Kea serves too, each picked
	// by the relay's link-address.
	Relayed []relayedSubnet
}

// startKea runs kea-dhcp6 with testdata/peers/kea-dhcp6.json.tmpl on the
// lab link (the agent's lifetimes and boot-file classes) and p, its logs,
// PID and lock files in dir.
func startKea(t *testing.T, lab *testlab.Lab, dir string, p peerParams) (*daemon, error) {
	t.Helper()
	path := filepath.Join(dir, "kea6.json")
	if err := writePeerConfig(path, "kea-dhcp6.json.tmpl", lab, dir, p); err != nil {
		return nil, err
	}
	d, err := startDaemon(t, lab, lab.ServerNS, "kea-dhcp6", filepath.Join(dir, "kea6.out"),
		[]string{"KEA_PIDFILE_DIR=" + dir, "KEA_LOCKFILE_DIR=" + dir}, "kea-dhcp6", "-c", path)
	if err != nil {
		return nil, err
	}
	if err := waitListening(lab, d, "udp", 547); err != nil {
		return nil, err
	}
	return d, nil
}

//go:embed testdata/peers/*.tmpl
var peerConfigs embed.FS

// writePeerConfig fills in a reference peer's configuration template for
// this lab, run directory and p and writes it to path.
func writePeerConfig(path, name string, lab *testlab.Lab, dir string, p peerParams) error {
	tmpl, err := template.ParseFS(peerConfigs, "testdata/peers/"+name)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	values := struct {
		Interface, ServerAddr, Prefix, Pool, Dir string
		peerParams
	}{lab.ServerIf, lab.ServerAddr, lab.Prefix, poolPrefix, dir, p}
	if err := tmpl.Execute(&out, values); err != nil {
		return fmt.Errorf("rendering %s: %w", name, err)
	}
	return os.WriteFile(path, out.Bytes(), 0o644)
}

// startTFTPD runs tftpd-hpa serving dir; it drops to user nobody, so dir
// and its files must be world-readable.
func startTFTPD(t *testing.T, lab *testlab.Lab, dir, logDir string) (*daemon, error) {
	t.Helper()
	d, err := startDaemon(t, lab, lab.ServerNS, "in.tftpd", filepath.Join(logDir, "tftpd.log"), nil,
		"in.tftpd", "-L", "-6", "-a", "["+lab.ServerAddr+"]:69", "-s", dir)
	if err != nil {
		return nil, err
	}
	if err := waitListening(lab, d, "udp", 69); err != nil {
		return nil, err
	}
	return d, nil
}

// python is Debian's python3 rather than a version manager's shim on PATH.
func python() string {
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	return "python3"
}

// startPythonHTTP runs the reference HTTP server (testdata/peers/README.md) on port 80.
func startPythonHTTP(t *testing.T, lab *testlab.Lab, dir, logDir string) (*daemon, error) {
	t.Helper()
	d, err := startDaemon(t, lab, lab.ServerNS, "python3 -m http.server", filepath.Join(logDir, "http-python.log"), nil,
		python(), "-m", "http.server", "80", "--bind", lab.ServerAddr, "--directory", dir)
	if err != nil {
		return nil, err
	}
	if err := waitListening(lab, d, "tcp", 80); err != nil {
		return nil, err
	}
	return d, nil
}

// startBusyboxHTTP runs busybox httpd in the foreground on port 80.
func startBusyboxHTTP(t *testing.T, lab *testlab.Lab, dir, logDir string) (*daemon, error) {
	t.Helper()
	d, err := startDaemon(t, lab, lab.ServerNS, "busybox httpd", filepath.Join(logDir, "http-busybox.log"), nil,
		"busybox", "httpd", "-f", "-p", "["+lab.ServerAddr+"]:80", "-h", dir)
	if err != nil {
		return nil, err
	}
	if err := waitListening(lab, d, "tcp", 80); err != nil {
		return nil, err
	}
	return d, nil
}

// startRadvd runs radvd in the foreground with testdata/peers/radvd.conf.tmpl
// on the lab link.
func startRadvd(t *testing.T, lab *testlab.Lab, dir string) (*daemon, error) {
	t.Helper()
	path := filepath.Join(dir, "radvd.conf")
	if err := writePeerConfig(path, "radvd.conf.tmpl", lab, dir, peerParams{}); err != nil {
		return nil, err
	}
	d, err := startDaemon(t, lab, lab.ServerNS, "radvd", filepath.Join(dir, "radvd.out"), nil,
		"radvd", "-n", "-C", path, "-p", filepath.Join(dir, "radvd.pid"), "-m", "logfile", "-l", filepath.Join(dir, "radvd.log"))
	if err != nil {
		return nil, err
	}
	// radvd binds no port; give it a moment to fail on a bad config.
	select {
	case <-d.done:
		return nil, d.failure("exited")
	case <-time.After(time.Second):
	}
	return d, nil
}

// errNotInstalled reports tools missing from PATH, or nil.
func errNotInstalled(tools ...string) error {
	var missing []string
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		return errors.New(strings.Join(missing, ", ") + " not installed")
	}
	return nil
}

// TestPeerConfigsRender checks the reference peers' templates fill in
// completely: Kea's is valid JSON serving the lab link and each relayed
// link (by link-address: no interface), and neither leaves a field unset.
func TestPeerConfigsRender(t *testing.T) {
	lab := &testlab.Lab{ServerIf: "nbs0", ServerAddr: "2001:db8:1::1", Prefix: "2001:db8:1::/64"}
	pg := peerParams{PgHost: "/tmp/pg", PgName: "bench_1", PgUser: "postgres"}
	pgThreads, pgRelayed, relayed := pg, pg, peerParams{Relayed: relayedSubnets}
	pgThreads.MultiThreading = 4
	pgRelayed.Relayed = relayedSubnets
	for _, c := range []struct {
		name   string
		params peerParams
		want   string
	}{
		{"kea-dhcp6.json.tmpl", peerParams{}, `"memfile"`},
		{"kea-dhcp6.json.tmpl", pg, `"type": "postgresql", "host": "/tmp/pg"`},
		{"kea-dhcp6.json.tmpl", pgThreads, `"thread-pool-size": 4`},
		{"kea-dhcp6.json.tmpl", relayed, `"memfile"`},
		{"kea-dhcp6.json.tmpl", pgRelayed, `"type": "postgresql", "host": "/tmp/pg"`},
		{"radvd.conf.tmpl", peerParams{}, "nbs0"},
	} {
		name := c.name
		path := filepath.Join(t.TempDir(), name)
		if err := writePeerConfig(path, name, lab, "/run/peer", c.params); err != nil {
			t.Fatal(err)
		}
		out, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(out), "<no value>") || !strings.Contains(string(out), "nbs0") || !strings.Contains(string(out), c.want) {
			t.Errorf("%s with %+v rendered incompletely, or without %s:\n%s", name, c.params, c.want, out)
		}
		if !strings.HasSuffix(name, ".json.tmpl") {
			continue
		}
		var kea struct {
			Dhcp6 struct {
				Subnet6 []struct {
					ID                int
					Subnet, Interface string
					Pools             []struct{ Pool string }
				}
			}
		}
		if err := json.Unmarshal(out, &kea); err != nil {
			t.Errorf("%s is not valid JSON: %v\n%s", name, err, out)
			continue
		}
		type subnet struct{ prefix, iface, pool string }
		want := []subnet{{lab.Prefix, lab.ServerIf, poolPrefix}}
		for _, r := range c.params.Relayed {
			want = append(want, subnet{r.Prefix, "", r.Pool})
		}
		var got []subnet
		ids := map[int]bool{}
		for _, s := range kea.Dhcp6.Subnet6 {
			// Kea numbers a subnet without an id itself, and refuses a
			// configuration where that number is one already given.
			if s.ID == 0 || ids[s.ID] {
				t.Errorf("%s with %+v: subnet %s has id %d, want one of its own", name, c.params, s.Subnet, s.ID)
			}
			ids[s.ID] = true
			if len(s.Pools) != 1 {
				t.Errorf("%s with %+v: subnet %s has %d pools, want 1", name, c.params, s.Subnet, len(s.Pools))
				continue
			}
			got = append(got, subnet{s.Subnet, s.Interface, s.Pools[0].Pool})
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s with %+v: subnet6 is %+v, want %+v", name, c.params, got, want)
		}
	}
}
