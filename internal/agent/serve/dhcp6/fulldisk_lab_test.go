package dhcp6

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"golang.org/x/net/ipv6"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/store"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
)

// TestLeasesOnFullDisk stores leases in bbolt on a small tmpfs and fills
// it: a batch of Renews and new Requests that cannot be stored gets no
// Reply, and the lease list stays what was stored before it; once there is
// room the retransmissions are stored and listed, and a reopened store
// holds exactly what was listed.
func TestLeasesOnFullDisk(t *testing.T) {
	dir := testlab.Tmpfs(t, "1m")
	db, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			db.Close()
		}
	})
	cfg := testConfig(config.DHCPv6Stateful)
	conn := &fakeConn{t: t}
	now := t0
	srv := newTestServer(t, cfg, db.Leases("lab"), conn, &now)
	var logs bytes.Buffer
	srv.logger = jsonLogger(&logs)
	messages := func(typ dhcpv6.MessageType, from, n int) []ipv6.Message {
		var out []ipv6.Message
		for i := range n {
			cid, ll := batchClient(from + i)
			out = append(out, datagram(clientMessage(t, typ, cid, serverDUID, iaNA(1)), ll))
		}
		return out
	}
	var b batch
	srv.serveBatch(messages(dhcpv6.MessageTypeRequest, 0, 100), &b)
	before := srv.Leases()
	if len(before) != 100 {
		t.Fatalf("%d leases listed, want 100", len(before))
	}

	filler := testlab.FillFS(t, dir, 2<<20)
	// The 100 renew, 100 more arrive: nothing can be stored.
	now = t0.Add(time.Hour)
	conn.sent = nil
	batch2 := append(messages(dhcpv6.MessageTypeRenew, 0, 100), messages(dhcpv6.MessageTypeRequest, 100, 100)...)
	srv.serveBatch(batch2, &b)
	if !strings.Contains(logs.String(), "no space left on device") {
		t.Fatalf("the store did not fail for lack of space:\n%.2000s", logs.String())
	}
	if len(conn.sent) != 0 {
		t.Errorf("disk full: %d Replies sent, want none", len(conn.sent))
	}
	if got := srv.Leases(); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Errorf("disk full: listed %d leases, not the %d stored before (valid until %s)", len(got), len(before), before[0].ValidUntil)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	srv.serveBatch(batch2, &b)
	listed := srv.Leases()
	if len(conn.sent) != len(batch2) || len(listed) != 200 || !listed[0].ValidUntil.After(before[0].ValidUntil) {
		t.Fatalf("with room again: %d Replies sent, %d leases listed; want 200 and 200, renewed", len(conn.sent), len(listed))
	}
	db.Close()
	closed = true
	db, err = store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stored, err := db.Leases("lab").Leases()
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(listed) {
		t.Fatalf("reopened store holds %d leases, %d were listed", len(stored), len(listed))
	}
	for i := range stored {
		if stored[i].Address != listed[i].Address || !stored[i].ValidUntil.Equal(listed[i].ValidUntil) {
			t.Errorf("stored %s until %s, listed %s until %s", stored[i].Address, stored[i].ValidUntil, listed[i].Address, listed[i].ValidUntil)
		}
	}
}
