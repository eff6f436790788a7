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
func TestJournalLeasesSurviveKill9(t *testing.T) {
	kill9UnderLoad(t, func(stateDir string) {
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
			t.Fatal("after kill -9 under load the lease journal holds no lease changes: the kill did not land between two folds")
		}
		t.Logf("after kill -9: %d lease changes in the journal only", pending)
	})
}

// kill9UnderLoad runs the test of TestLeasesSurviveKill9UnderLoad, calling
// afterKill (if set) with the state dir while the agent is dead.
func kill9UnderLoad(t *testing.T, afterKill func(stateDir string)) {
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
	agent.Kill9(t)
	if afterKill != nil {
		afterKill(stateDir)
	}
	time.Sleep(500 * time.Millisecond)
	agent.Restart(t)
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
