package agent_test

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
)

// grant is one address a captured DHCPv6 Reply gave a client.
type grant struct {
	at      time.Time
	address string
	client  string // the client's DUID, hex
	server  string // the answering server's DUID, hex
}

// replyCapture records what reaches the client side's port 546 into a
// file, to decode once the load is over: writing raw packets keeps up with
// thousands per second where decoding them live does not.
type replyCapture struct {
	lab  *testlab.Lab
	file string
	cmd  interface{ Wait() error }
	stop func()
}

// captureReplies starts capturing on the lab's client interface.
func captureReplies(t *testing.T, lab *testlab.Lab) *replyCapture {
	t.Helper()
	file := filepath.Join(t.TempDir(), "replies.pcapng")
	cmd := lab.Command(t, lab.ClientNS, "tshark", "-i", lab.ClientIf, "-n", "-q", "-B", "64", "-f", "udp dst port 546", "-w", file)
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &replyCapture{lab: lab, file: file, cmd: cmd, stop: func() { _ = cmd.Process.Signal(os.Interrupt) }}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if info, err := os.Stat(file); err == nil && info.Size() > 0 {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatal("tshark did not start capturing within 10s")
		}
	}
}

// grants stops the capture and returns the addresses its Replies gave,
// in capture order. servers are the DUIDs (hex) of the answering servers:
// the other DUID of a Reply is its client's.
func (c *replyCapture) grants(t *testing.T, servers ...string) []grant {
	t.Helper()
	time.Sleep(500 * time.Millisecond) // the last Replies in flight
	c.stop()
	_ = c.cmd.Wait()
	out := c.lab.MustExec(t, c.lab.ClientNS, "tshark", "-r", c.file, "-n", "-Y", "dhcpv6.msgtype == 7",
		"-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,",
		"-e", "frame.time_epoch", "-e", "dhcpv6.iaaddr.ip", "-e", "dhcpv6.duid.bytes")
	var gs []grant
	for line := range strings.Lines(out) {
		f := strings.Split(strings.TrimRight(line, "\n"), "\t")
		if len(f) != 3 || f[1] == "" {
			continue // a Reply that gives no address
		}
		sec, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			t.Fatalf("tshark time %q: %v", f[0], err)
		}
		var g grant
		g.at = time.Unix(0, int64(sec*1e9))
		for _, duid := range strings.Split(strings.ReplaceAll(f[2], ":", ""), ",") {
			if slices.Contains(servers, duid) {
				g.server = duid
			} else {
				g.client = duid
			}
		}
		if g.server == "" || g.client == "" {
			t.Fatalf("Reply without a known server DUID and a client DUID: %q (servers %v)", line, servers)
		}
		for _, addr := range strings.Split(f[1], ",") {
			g.address = addr
			gs = append(gs, g)
		}
	}
	return gs
}

// checkOneClientEach fails t for every address that Replies gave to two
// clients.
func checkOneClientEach(t *testing.T, gs []grant) {
	t.Helper()
	client := map[string]string{}
	for _, g := range gs {
		if prev, ok := client[g.address]; ok && prev != g.client {
			t.Errorf("address %s granted to two clients: %s and %s", g.address, prev, g.client)
		}
		client[g.address] = g.client
	}
}
