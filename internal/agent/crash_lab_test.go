package agent_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/store"
	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// TestLeasesSurviveKill9UnderLoad kills the agent with SIGKILL while Kea's
// perfdhcp runs 4-way exchanges against it. Every Reply that crossed the
// link (captured on the client side) must name a lease the
// restarted agent still holds for the same client, and no address may have
// been granted to two clients.
func TestLeasesSurviveKill9UnderLoad(t *testing.T) { kill9UnderLoad(t, nil) }

// TestJournalLeasesSurviveKill9 is TestLeasesSurviveKill9UnderLoad seen
// from the state dir: when the agent dies, the leases of its last Replies
// are in the lease journal only (db check counts them), not yet in the
// state file, and the restarted agent holds them all the same.
//
// The agent folds the journal into the state file every second; at the
// test's 300 exchanges a second the next append comes a few milliseconds
// after a fold, and a kill that lands in between finds every change folded
// (a correct state, but not the one this test is about). Such a kill is
// followed by another, under the same load.
func TestJournalLeasesSurviveKill9(t *testing.T) {
	kill9UnderLoad(t, func(stateDir string) bool {
		pending := 0
		for _, r := range store.Check(stateDir) {
			if r.Journal {
				if r.Err != nil {
					t.Fatalf("lease journal %s after kill -9: %v", r.Path, r.Err)
				}
				pending += r.Objects["lease change"]
			}
		}
		if pending == 0 {
			t.Log("after kill -9 the lease journal holds no lease changes: the kill landed between a fold and the next append")
			return false
		}
		t.Logf("after kill -9: %d lease changes in the journal only", pending)
		return true
	})
}

// kill9Tries is how often kill9UnderLoad kills the agent at most, while
// afterKill asks for another kill.
const kill9Tries = 3

// kill9UnderLoad runs the test of TestLeasesSurviveKill9UnderLoad, calling
// afterKill (if set) with the state dir while the agent is dead; when it
// returns false, the agent is restarted and killed again, up to kill9Tries
// kills, during the same load.
func kill9UnderLoad(t *testing.T, afterKill func(stateDir string) bool) {
	testlab.RequireRoot(t, "perfdhcp", "tshark")
	lab := testlab.New(t)
	stateDir := t.TempDir()
	agent := lab.StartAgent(t, stateDir)
	conn := connect(t, stateDir)
	ctx := context.Background()

	bs := labBootServer(lab, "stateful")
	bs.Dhcpv6.Ranges = []*netbootv1.AddressRange{{Start: "2001:db8:1::1:0", End: "2001:db8:1::ffff:ffff"}}
	state, err := conn.PutBootServer(ctx, &netbootv1.PutBootServerRequest{BootServer: bs})
	if err != nil {
		t.Fatal(err)
	}
	serverDUID := state.GetStatus().GetServerDuid()

	capture := captureReplies(t, lab)

	load := lab.Command(t, lab.ClientNS, "perfdhcp", "-6", "-l", lab.ClientIf, "-r", "300", "-p", "8", "-R", "1000000")
	var loadOut strings.Builder
	load.Stdout, load.Stderr = &loadOut, &loadOut
	if err := load.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	for kill := 1; ; kill++ {
		agent.Kill9(t)
		done := afterKill == nil || afterKill(stateDir)
		time.Sleep(500 * time.Millisecond)
		agent.Restart(t)
		if done {
			break
		}
		if kill == kill9Tries {
			t.Fatalf("none of %d kills -9 under load landed while the lease journal held lease changes", kill)
		}
		time.Sleep(time.Second)
	}
	_ = load.Wait() // perfdhcp exits non-zero when it saw drops; the crash causes some
	gs := capture.grants(t, serverDUID)

	conn = connect(t, stateDir)
	leases, err := conn.ListLeases(ctx, &netbootv1.ListLeasesRequest{BootServer: "lab"})
	if err != nil {
		t.Fatal(err)
	}
	held := map[string]string{}
	for _, l := range leases.GetLeases() {
		held[l.GetAddress()] = l.GetClientDuid()
	}
	checkOneClientEach(t, gs)
	if len(gs) < 100 {
		t.Fatalf("only %d Replies captured: the load did not run", len(gs))
	}
	granted := map[string]string{}
	for _, g := range gs {
		granted[g.address] = g.client
	}
	for addr, duid := range granted {
		if held[addr] != duid {
			t.Errorf("Reply granted %s to %s, but after kill -9 the agent holds it for %q", addr, duid, held[addr])
		}
	}
	t.Logf("perfdhcp:\n%s", loadOut.String())
	t.Logf("%d Replies granted %d addresses; after kill -9 and restart the agent holds %d leases", len(gs), len(granted), len(held))
}
