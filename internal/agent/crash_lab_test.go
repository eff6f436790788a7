package agent_test

import (
	"bufio"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// TestLeasesSurviveKill9UnderLoad kills the agent with SIGKILL while Kea's
// perfdhcp runs 4-way exchanges against it. Every Reply that crossed the
// link (captured by tshark on the client side) must name a lease the
// restarted agent still holds for the same client, and no address may have
// been granted to two clients.
func TestLeasesSurviveKill9UnderLoad(t *testing.T) {
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

	capture := lab.Command(t, lab.ClientNS, "tshark", "-i", lab.ClientIf, "-l", "-n", "-f", "udp dst port 546",
		"-Y", "dhcpv6.msgtype == 7", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,",
		"-e", "dhcpv6.iaaddr.ip", "-e", "dhcpv6.duid.bytes")
	out, err := capture.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	capture.Stderr = nil
	if err := capture.Start(); err != nil {
		t.Fatal(err)
	}
	replies := make(chan [2]string, 100000)
	go func() {
		defer close(replies)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			f := strings.Split(sc.Text(), "\t")
			if len(f) != 2 || f[0] == "" {
				continue
			}
			for _, duid := range strings.Split(strings.ReplaceAll(f[1], ":", ""), ",") {
				if duid != serverDUID {
					replies <- [2]string{f[0], duid}
				}
			}
		}
	}()
	time.Sleep(2 * time.Second) // tshark needs a moment to open the interface

	load := lab.Command(t, lab.ClientNS, "perfdhcp", "-6", "-l", lab.ClientIf, "-r", "300", "-p", "8", "-R", "1000000")
	var loadOut strings.Builder
	load.Stdout, load.Stderr = &loadOut, &loadOut
	if err := load.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	agent.Kill9(t)
	time.Sleep(500 * time.Millisecond)
	agent.Restart(t)
	_ = load.Wait() // perfdhcp exits non-zero when it saw drops; the crash causes some
	time.Sleep(time.Second)
	_ = capture.Process.Signal(os.Interrupt)
	_ = capture.Wait()

	conn = connect(t, stateDir)
	leases, err := conn.ListLeases(ctx, &netbootv1.ListLeasesRequest{BootServer: "lab"})
	if err != nil {
		t.Fatal(err)
	}
	held := map[string]string{}
	for _, l := range leases.GetLeases() {
		held[l.GetAddress()] = l.GetClientDuid()
	}
	granted := map[string]string{}
	n := 0
	for r := range replies {
		n++
		if prev, ok := granted[r[0]]; ok && prev != r[1] {
			t.Errorf("address %s granted to two clients: %s and %s", r[0], prev, r[1])
		}
		granted[r[0]] = r[1]
	}
	if n < 100 {
		t.Fatalf("only %d Replies captured: the load did not run", n)
	}
	for addr, duid := range granted {
		if held[addr] != duid {
			t.Errorf("Reply granted %s to %s, but after kill -9 the agent holds it for %q", addr, duid, held[addr])
		}
	}
	t.Logf("perfdhcp:\n%s", loadOut.String())
	t.Logf("%d Replies granted %d addresses; after kill -9 and restart the agent holds %d leases", n, len(granted), len(held))
}
