package agent_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/agentclient"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// TestTwoAgentsOneLinkSurviveKill9 runs two agents in two namespaces
// bridged onto one client link, both on one PostgreSQL lease database and
// with the same boot server. dhclient gets a lease; the agent that granted
// it is killed with SIGKILL; dhclient run again with its lease file gets the
// same address from the other agent, which then holds the lease.
func TestTwoAgentsOneLinkSurviveKill9(t *testing.T) {
	testlab.RequireRoot(t, "dhclient")
	lab := testlab.New(t)
	second := lab.AddServer(t)
	pg := testlab.StartPostgreSQL(t)
	ctx := context.Background()

	dirs := []string{t.TempDir(), t.TempDir()}
	agents := []*testlab.Agent{
		lab.StartAgent(t, dirs[0], "--lease-db", pg.URL),
		lab.StartAgentIn(t, second.NS, dirs[1], "--lease-db", pg.URL),
	}
	conns := make([]*agentclient.Conn, len(agents))
	for i, dir := range dirs {
		conns[i] = connect(t, dir)
		state, err := conns[i].PutBootServer(ctx, &netbootv1.PutBootServerRequest{BootServer: labBootServer(lab, "stateful")})
		if err != nil {
			t.Fatal(err)
		}
		if !state.GetStatus().GetServing() || state.GetStatus().GetError() != "" {
			t.Fatalf("agent %d: status after put = %v", i, state.GetStatus())
		}
	}

	client := t.TempDir()
	leased := lastIAAddr(t, dhclient(t, lab, client))
	answered := -1
	for i, conn := range conns {
		if holds(t, conn, leased) {
			answered = i
		}
	}
	if answered < 0 {
		t.Fatalf("neither agent holds the lease of %s", leased)
	}
	survivor := 1 - answered
	t.Logf("agent %d granted %s; killing it", answered, leased)
	agents[answered].Kill9(t)

	// The client's lease is older than T2: dhclient confirms it, then
	// rebinds at once (its Renews name the dead agent, whom alone they are
	// for), and the other agent answers.
	again := rebind(t, lab, client, 2900*time.Second)
	if again != leased {
		t.Fatalf("after kill -9 of the granting agent, the client rebound to %s, want %s", again, leased)
	}
	if !holds(t, conns[survivor], leased) {
		t.Errorf("the surviving agent does not hold the lease of %s", leased)
	}

	db, err := pgx.Connect(ctx, pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM netboot_leases WHERE boot_server = 'lab' AND address = $1::inet`, leased).Scan(&n); err != nil || n != 1 {
		t.Errorf("netboot_leases rows of %s: %d, %v; want 1", leased, n, err)
	}
}

// TestTwoAgentsKill9UnderLoad runs a perfdhcp storm at 2,000 exchanges/s
// against two agents on one link and one PostgreSQL lease database, and
// kills one of them with SIGKILL halfway. Every address a captured Reply
// gave is in the database exactly once, for the client it was given to;
// no address went to two clients; the survivor kept answering.
func TestTwoAgentsKill9UnderLoad(t *testing.T) {
	testlab.RequireRoot(t, "perfdhcp", "tshark")
	lab := testlab.New(t)
	second := lab.AddServer(t)
	pg := testlab.StartPostgreSQL(t)
	ctx := context.Background()

	bs := labBootServer(lab, "stateful")
	bs.Dhcpv6.Ranges = []*netbootv1.AddressRange{{Start: "2001:db8:1::1:0", End: "2001:db8:1::ffff:ffff"}}
	dirs := []string{t.TempDir(), t.TempDir()}
	agents := []*testlab.Agent{
		lab.StartAgent(t, dirs[0], "--lease-db", pg.URL),
		lab.StartAgentIn(t, second.NS, dirs[1], "--lease-db", pg.URL),
	}
	duids := make([]string, len(agents))
	for i, dir := range dirs {
		state, err := connect(t, dir).PutBootServer(ctx, &netbootv1.PutBootServerRequest{BootServer: bs})
		if err != nil {
			t.Fatal(err)
		}
		duids[i] = state.GetStatus().GetServerDuid()
	}

	capture := captureReplies(t, lab)
	load := lab.Command(t, lab.ClientNS, "perfdhcp", "-6", "-l", lab.ClientIf, "-r", "2000", "-p", "10", "-R", "1000000")
	var loadOut strings.Builder
	load.Stdout, load.Stderr = &loadOut, &loadOut
	if err := load.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Second)
	agents[0].Kill9(t)
	killed := time.Now()
	_ = load.Wait() // perfdhcp exits non-zero when it saw drops; the kill causes some
	gs := capture.grants(t, duids...)
	t.Logf("perfdhcp:\n%s", loadOut.String())

	checkOneClientEach(t, gs)
	stored := leaseRows(t, pg)
	var before, after [2]int
	for _, g := range gs {
		i := slices.Index(duids, g.server)
		if g.at.Before(killed) {
			before[i]++
		} else {
			after[i]++
		}
		switch rows := stored[g.address]; {
		case len(rows) != 1:
			t.Errorf("Reply of agent %d gave %s to %s; the database holds it %d times: %v", i, g.address, g.client, len(rows), rows)
		case rows[0] != g.client:
			t.Errorf("Reply of agent %d gave %s to %s; the database holds it for %s", i, g.address, g.client, rows[0])
		}
	}
	t.Logf("Replies before the kill: %v; after: %v (by agent); %d rows in the database", before, after, len(stored))
	if before[0] < 100 || before[1] < 100 {
		t.Errorf("Replies of each agent before the kill: %v, want 100 or more: both should answer", before)
	}
	if after[1] < 100 {
		t.Errorf("the surviving agent sent %d Replies after the kill, want 100 or more", after[1])
	}
}

// leaseRows are the client DUIDs (hex) the database holds for each
// address of boot server "lab", live or not.
func leaseRows(t *testing.T, pg *testlab.PostgreSQL) map[string][]string {
	t.Helper()
	ctx := context.Background()
	db, err := pgx.Connect(ctx, pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	rows, err := db.Query(ctx, `SELECT host(address), encode(duid, 'hex') FROM netboot_leases WHERE boot_server = 'lab'`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	var addr, duid string
	if _, err := pgx.ForEachRow(rows, []any{&addr, &duid}, func() error {
		out[addr] = append(out[addr], duid)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestTwoAgentsPeersAndDeletion runs two agents on one PostgreSQL lease
// database: the status of either lists both, with whether they hold the
// same configuration and artifacts; a boot server's leases stay in the
// database while the other agent still serves it, and go once neither does.
func TestTwoAgentsPeersAndDeletion(t *testing.T) {
	testlab.RequireRoot(t, "dhclient")
	lab := testlab.New(t)
	second := lab.AddServer(t)
	pg := testlab.StartPostgreSQL(t)
	ctx := context.Background()
	dirs := []string{t.TempDir(), t.TempDir()}
	lab.StartAgent(t, dirs[0], "--lease-db", pg.URL)
	lab.StartAgentIn(t, second.NS, dirs[1], "--lease-db", pg.URL)
	conns := make([]*agentclient.Conn, len(dirs))
	names := make([]string, len(dirs))
	for i, dir := range dirs {
		conns[i] = connect(t, dir)
		if _, err := conns[i].PutBootServer(ctx, &netbootv1.PutBootServerRequest{BootServer: labBootServer(lab, "stateful")}); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, "lease-db-writer"))
		if err != nil {
			t.Fatal(err)
		}
		names[i] = strings.TrimSpace(string(b))
	}
	leased := lastIAAddr(t, dhclient(t, lab, t.TempDir()))

	// peers waits until agent 0's status shows what ok accepts.
	peers := func(what string, ok func(map[string]*netbootv1.LeaseDatabaseAgent) bool) {
		t.Helper()
		var db *netbootv1.LeaseDatabase
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			info, err := conns[0].GetAgentInfo(ctx, &netbootv1.GetAgentInfoRequest{})
			if err != nil {
				t.Fatal(err)
			}
			db = info.GetLeaseDatabase()
			byName := map[string]*netbootv1.LeaseDatabaseAgent{}
			for _, a := range db.GetAgents() {
				byName[a.GetName()] = a
			}
			if db.GetReachable() && db.GetAgent() == names[0] && ok(byName) {
				return
			}
		}
		t.Fatalf("status of agent 0 does not show %s within 10s: %v", what, db)
	}
	peers("both agents serving lab with the same objects", func(a map[string]*netbootv1.LeaseDatabaseAgent) bool {
		return len(a) == 2 && a[names[0]].GetThis() && a[names[1]].GetLive() && slices.Equal(a[names[1]].GetBootServers(), []string{"lab"}) &&
			a[names[1]].GetSameConfig() && a[names[1]].GetSameArtifacts()
	})
	out := lab.MustExec(t, lab.ServerNS, testlab.Binary(t), "agent", "status", "--state-dir", dirs[0])
	t.Logf("agent status:\n%s", out)
	for _, want := range []string{"LEASE DATABASE (PostgreSQL): reachable", names[0] + " (this)", names[1]} {
		if !strings.Contains(out, want) {
			t.Errorf("agent status lacks %q:\n%s", want, out)
		}
	}

	content := []byte("only on agent 1\n")
	if _, err := putArtifact(t, conns[1], &netbootv1.ArtifactHeader{Path: "only.txt", Sha256: sha(content)}, content); err != nil {
		t.Fatal(err)
	}
	peers("agent 1 holding other artifacts", func(a map[string]*netbootv1.LeaseDatabaseAgent) bool {
		return a[names[1]].GetSameConfig() && !a[names[1]].GetSameArtifacts() && a[names[1]].GetArtifacts() == a[names[0]].GetArtifacts()+1
	})

	rows := func() int {
		t.Helper()
		return len(leaseRows(t, pg))
	}
	if _, err := conns[0].DeleteBootServer(ctx, &netbootv1.DeleteBootServerRequest{Name: "lab"}); err != nil {
		t.Fatal(err)
	}
	if n := rows(); n != 1 {
		t.Errorf("after agent 0 deleted boot server lab, which agent 1 still serves: %d lease rows, want the 1 of %s", n, leased)
	}
	peers("agent 0 serving nothing", func(a map[string]*netbootv1.LeaseDatabaseAgent) bool {
		return len(a[names[0]].GetBootServers()) == 0 && !a[names[1]].GetSameConfig()
	})
	if _, err := conns[1].DeleteBootServer(ctx, &netbootv1.DeleteBootServerRequest{Name: "lab"}); err != nil {
		t.Fatal(err)
	}
	if n := rows(); n != 0 {
		t.Errorf("after both agents deleted boot server lab: %d lease rows, want none", n)
	}
}

var startsPattern = regexp.MustCompile(`starts (\d+);`)

// rebind ages the lease that dhclient recorded in dir by age, runs dhclient
// in the foreground until its script reports a Rebind, and returns the
// address the Reply gave.
func rebind(t *testing.T, lab *testlab.Lab, dir string, age time.Duration) string {
	t.Helper()
	lf := filepath.Join(dir, "dhclient6.leases")
	leases, err := os.ReadFile(lf)
	if err != nil {
		t.Fatal(err)
	}
	aged := startsPattern.ReplaceAllStringFunc(string(leases), func(m string) string {
		n, _ := strconv.ParseInt(startsPattern.FindStringSubmatch(m)[1], 10, 64)
		return fmt.Sprintf("starts %d;", n-int64(age.Seconds()))
	})
	if err := os.WriteFile(lf, []byte(aged), 0o644); err != nil {
		t.Fatal(err)
	}
	// The script records only the Rebind's address, in dir.
	rebound := filepath.Join(dir, "rebound")
	script := filepath.Join(dir, "rebind.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n[ \"$reason\" = REBIND6 ] && echo \"$new_ip6_address\" >> \""+rebound+"\"\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := lab.Command(t, lab.ClientNS, "dhclient", "-6", "-d", "-v", "-cf", filepath.Join(dir, "dhclient6.conf"), "-lf", lf,
		"-pf", filepath.Join(dir, "dhclient6-rebind.pid"), "-sf", script, lab.ClientIf)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if got, err := os.ReadFile(rebound); err == nil && strings.HasSuffix(string(got), "\n") {
			return strings.TrimSpace(string(got))
		}
	}
	t.Fatalf("dhclient did not rebind within 60s:\n%s", out.String())
	return ""
}

// lastIAAddr is the last address a dhclient lease file records: the
// file gains a lease per run.
func lastIAAddr(t *testing.T, leaseFile string) string {
	t.Helper()
	m := iaaddrPattern.FindAllStringSubmatch(leaseFile, -1)
	if m == nil {
		t.Fatalf("no iaaddr in dhclient lease:\n%s", leaseFile)
	}
	return m[len(m)-1][1]
}

func holds(t *testing.T, conn *agentclient.Conn, address string) bool {
	t.Helper()
	leases, err := conn.ListLeases(context.Background(), &netbootv1.ListLeasesRequest{BootServer: "lab"})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range leases.GetLeases() {
		if l.GetAddress() == address {
			return true
		}
	}
	return false
}

// TestLeaseDatabaseOutage stops PostgreSQL under an agent: status and
// metrics say so, a new client gets no lease while RA and
// Information-requests are still answered, and once PostgreSQL is back the
// agent grants leases again without a restart.
func TestLeaseDatabaseOutage(t *testing.T) {
	testlab.RequireRoot(t, "dhclient", "rdisc6", "curl", "tftp")
	lab := testlab.New(t)
	pg := testlab.StartPostgreSQL(t)
	stateDir := t.TempDir()
	lab.StartAgent(t, stateDir, "--lease-db", pg.URL, "--metrics-listen", "[::1]:9447")
	conn := connect(t, stateDir)
	ctx := context.Background()
	if _, err := conn.PutBootServer(ctx, &netbootv1.PutBootServerRequest{BootServer: labBootServer(lab, "stateful")}); err != nil {
		t.Fatal(err)
	}
	putOutageArtifact(t, conn)

	pg.Stop(t)
	checkLeaseDBDown(t, lab, conn)
	// No Advertise: dhclient -1 gives up on getting a lease.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "dhclient6.conf"), []byte("timeout 5;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := lab.Exec(ctx, lab.ClientNS, "dhclient", "-6", "-1", "-v", "-cf", filepath.Join(dir, "dhclient6.conf"),
		"-lf", filepath.Join(dir, "leases"), "-pf", filepath.Join(dir, "pid"), "-sf", "/bin/true", lab.ClientIf)
	if err == nil || strings.Contains(out, "Bound to lease") {
		t.Errorf("dhclient got a lease while the database is down:\n%s", out)
	}

	pg.Start(t)
	checkLeaseDBUp(t, lab, conn)
	leased := lastIAAddr(t, dhclient(t, lab, t.TempDir()))
	if !holds(t, conn, leased) {
		t.Errorf("agent does not hold %s after the database came back", leased)
	}
}

// TestLeaseDatabaseOutageUnderLoad stops PostgreSQL while perfdhcp runs
// 1,000 exchanges/s against an agent, and starts it again: no Reply gives
// an address the database lacks, none leaves while it is down (though RA
// and Information-requests are answered, and the log, status and metrics
// say so), and Replies resume without restarting the agent.
func TestLeaseDatabaseOutageUnderLoad(t *testing.T) {
	testlab.RequireRoot(t, "perfdhcp", "tshark", "dhclient", "rdisc6", "curl", "tftp")
	lab := testlab.New(t)
	pg := testlab.StartPostgreSQL(t)
	stateDir := t.TempDir()
	agent := lab.StartAgent(t, stateDir, "--lease-db", pg.URL, "--metrics-listen", "[::1]:9447")
	conn := connect(t, stateDir)
	ctx := context.Background()
	bs := labBootServer(lab, "stateful")
	bs.Dhcpv6.Ranges = []*netbootv1.AddressRange{{Start: "2001:db8:1::1:0", End: "2001:db8:1::ffff:ffff"}}
	state, err := conn.PutBootServer(ctx, &netbootv1.PutBootServerRequest{BootServer: bs})
	if err != nil {
		t.Fatal(err)
	}
	putOutageArtifact(t, conn)

	capture := captureReplies(t, lab)
	load := lab.Command(t, lab.ClientNS, "perfdhcp", "-6", "-l", lab.ClientIf, "-r", "1000", "-p", "16", "-R", "1000000")
	var loadOut strings.Builder
	load.Stdout, load.Stderr = &loadOut, &loadOut
	if err := load.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	pg.Stop(t)
	// A Reply whose commit the database acknowledged as it went down may
	// still be on its way.
	down := time.Now().Add(200 * time.Millisecond)
	checkLeaseDBDown(t, lab, conn)
	time.Sleep(3 * time.Second)
	up := time.Now()
	pg.Start(t)
	checkLeaseDBUp(t, lab, conn)
	_ = load.Wait() // perfdhcp exits non-zero when it saw drops; the outage causes many
	gs := capture.grants(t, state.GetStatus().GetServerDuid())
	t.Logf("perfdhcp:\n%s", loadOut.String())

	checkOneClientEach(t, gs)
	stored := leaseRows(t, pg)
	var before, during, after int
	for _, g := range gs {
		switch {
		case g.at.Before(down):
			before++
		case g.at.Before(up):
			during++
			t.Errorf("Reply gave %s to %s at %s, while the lease database was down", g.address, g.client, g.at.Format(time.StampMicro))
		default:
			after++
		}
		if rows := stored[g.address]; len(rows) != 1 || rows[0] != g.client {
			t.Errorf("Reply gave %s to %s; the database holds it for %v", g.address, g.client, rows)
		}
	}
	t.Logf("Replies before the outage: %d, during: %d, after: %d; %d rows in the database", before, during, after, len(stored))
	if before < 100 || after < 100 {
		t.Errorf("Replies before the outage: %d, after: %d; want 100 or more of each", before, after)
	}
	log, err := os.ReadFile(agent.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"lease database unreachable: granting no new leases until it is back", "lease database reachable again"} {
		if !strings.Contains(string(log), want) {
			t.Errorf("agent log lacks %q", want)
		}
	}
}

// leaseDBStatus is the error the agent's status shows for boot server lab.
func leaseDBStatus(t *testing.T, conn *agentclient.Conn) string {
	t.Helper()
	st, err := conn.GetBootServer(context.Background(), &netbootv1.GetBootServerRequest{Name: "lab"})
	if err != nil {
		t.Fatal(err)
	}
	return st.GetStatus().GetError()
}

// waitLeaseDB waits until the status of boot server lab says the lease
// database is down, or says nothing.
func waitLeaseDB(t *testing.T, conn *agentclient.Conn, down bool) {
	t.Helper()
	for i := 0; (leaseDBStatus(t, conn) != "") != down; i++ {
		if i == 100 {
			t.Fatalf("status error %q 10s on, want the database down = %v", leaseDBStatus(t, conn), down)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// labMetrics are the metrics of the agent started with --metrics-listen
// [::1]:9447 in the lab's server namespace.
func labMetrics(t *testing.T, lab *testlab.Lab) string {
	t.Helper()
	return lab.MustExec(t, lab.ServerNS, "curl", "-g", "-sS", "--fail", "http://[::1]:9447/metrics")
}

// outageArtifact is what checkLeaseDBDown fetches over HTTP and TFTP.
var outageArtifact = []byte("served while the lease database is down\n")

func putOutageArtifact(t *testing.T, conn *agentclient.Conn) {
	t.Helper()
	if _, err := putArtifact(t, conn, &netbootv1.ArtifactHeader{Path: "outage.txt", Sha256: sha(outageArtifact)}, outageArtifact); err != nil {
		t.Fatal(err)
	}
}

// checkLeaseDBDown waits until the agent notices that the lease database is
// down, then checks that its status and metrics say so and that it still
// answers Router Solicitations and Information-requests, and serves
// artifacts over HTTP and TFTP (putOutageArtifact).
func checkLeaseDBDown(t *testing.T, lab *testlab.Lab, conn *agentclient.Conn) {
	t.Helper()
	waitLeaseDB(t, conn, true)
	if got := leaseDBStatus(t, conn); !strings.Contains(got, "lease database unreachable, granting no new leases") {
		t.Errorf("status error %q", got)
	}
	if m := labMetrics(t, lab); !strings.Contains(m, "netboot_lease_database_up 0") {
		t.Errorf("metrics while the database is down lack netboot_lease_database_up 0:\n%s", m)
	}
	lab.MustExec(t, lab.ClientNS, "rdisc6", "-1", "-w", "3000", lab.ClientIf)
	if info := dhclient(t, lab, t.TempDir(), "-S"); !strings.Contains(info, "new_dhcp6_name_servers=2001:db8:1::53") {
		t.Errorf("Information-request unanswered while the database is down:\n%s", info)
	}
	if body := lab.MustExec(t, lab.ClientNS, "curl", "-g", "-6", "-sS", "--fail", "http://["+lab.ServerAddr+"]/outage.txt"); body != string(outageArtifact) {
		t.Errorf("HTTP while the database is down got %q", body)
	}
	got := filepath.Join(t.TempDir(), "outage.txt")
	lab.MustExec(t, lab.ClientNS, "tftp", "-6", lab.ServerAddr, "-m", "binary", "-c", "get", "outage.txt", got)
	if body, err := os.ReadFile(got); err != nil || string(body) != string(outageArtifact) {
		t.Errorf("TFTP while the database is down got %q, %v", body, err)
	}
}

// checkLeaseDBUp waits until the agent's status no longer says the lease
// database is down, and checks its metrics agree.
func checkLeaseDBUp(t *testing.T, lab *testlab.Lab, conn *agentclient.Conn) {
	t.Helper()
	waitLeaseDB(t, conn, false)
	if m := labMetrics(t, lab); !strings.Contains(m, "netboot_lease_database_up 1") {
		t.Errorf("metrics after the database is back lack netboot_lease_database_up 1:\n%s", m)
	}
}
