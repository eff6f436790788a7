package pglease

import (
	"context"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
)

func inventoryOf(bootServers ...string) func() Inventory {
	return func() Inventory {
		return Inventory{Host: "h", Version: "v", Started: time.Now(), BootServers: bootServers, ConfigDigest: "c", ArtifactsDigest: "a", Artifacts: 2}
	}
}

func TestPeers(t *testing.T) {
	pg := testlab.StartPostgreSQL(t)
	a, b := openOn(t, pg.URL), openOn(t, pg.URL)
	if peers, err := a.Peers(context.Background()); err != nil || len(peers) != 0 {
		t.Fatalf("Peers before any report = %v, %v; want none", peers, err)
	}
	a.Report(inventoryOf("site"))
	b.Report(func() Inventory {
		inv := inventoryOf("site", "other")()
		inv.Listen, inv.ArtifactsDigest, inv.Artifacts = "[::]:7447", "b", 3
		return inv
	})
	peers, err := b.Peers(context.Background())
	if err != nil || len(peers) != 2 {
		t.Fatalf("Peers = %v, %v; want two", peers, err)
	}
	byName := map[string]Peer{}
	for _, p := range peers {
		byName[p.Name] = p
	}
	pa, pb := byName[a.Name()], byName[b.Name()]
	if !pa.Live || !pb.Live || pa.SeenAgo > time.Second || pa.Host != "h" || pa.Version != "v" || pa.Started.IsZero() {
		t.Errorf("peer a = %+v, want live, seen now", pa)
	}
	if len(pb.BootServers) != 2 || pb.Listen != "[::]:7447" || pb.ArtifactsDigest != "b" || pb.Artifacts != 3 || pa.ConfigDigest != pb.ConfigDigest {
		t.Errorf("peer b = %+v", pb)
	}
}

func TestForgetBootServer(t *testing.T) {
	for _, c := range []struct {
		name string
		// bServes: what b reports serving before a forgets "site".
		bServes []string
		kept    bool
	}{
		{"another agent serves it", []string{"site"}, true},
		{"another agent serves another one", []string{"other"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			pg := testlab.StartPostgreSQL(t)
			a, b := openOn(t, pg.URL), openOn(t, pg.URL)
			a.Report(inventoryOf("site"))
			b.Report(inventoryOf(c.bServes...))
			// One lease written by each agent, one of another boot server.
			if err := a.Leases("site").PutLeases([]lease.Lease{testLease("2001:db8::10", 1, 1)}, nil); err != nil {
				t.Fatal(err)
			}
			if err := b.Leases("site").PutLeases([]lease.Lease{testLease("2001:db8::11", 2, 1)}, nil); err != nil {
				t.Fatal(err)
			}
			if err := b.Leases("other").PutLeases([]lease.Lease{testLease("2001:db8::12", 3, 1)}, nil); err != nil {
				t.Fatal(err)
			}
			a.Report(inventoryOf())
			deleted, others, err := a.ForgetBootServer("site")
			if err != nil {
				t.Fatal(err)
			}
			left, err := b.Leases("site").Leases()
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int{true: 2, false: 0}[c.kept]; len(left) != want || deleted != int64(2-want) || (others > 0) != c.kept {
				t.Errorf("after forgetting: %d leases left and %d deleted, %d other agents; want %d left", len(left), deleted, others, want)
			}
			if other, err := b.Leases("other").Leases(); err != nil || len(other) != 1 {
				t.Errorf("the other boot server's leases: %v, %v; want its one", other, err)
			}
		})
	}
}

// TestForgetTogether has both agents forget a boot server at once, as
// terraform destroy does through two provider aliases: one of them deletes
// its leases.
func TestForgetTogether(t *testing.T) {
	pg := testlab.StartPostgreSQL(t)
	dbs := []*DB{openOn(t, pg.URL), openOn(t, pg.URL)}
	for i, db := range dbs {
		db.Report(inventoryOf("site"))
		addr := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(0x10 + i)}).String()
		if err := db.Leases("site").PutLeases([]lease.Lease{testLease(addr, byte(i+1), 1)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for _, db := range dbs {
		db.Report(inventoryOf())
		wg.Go(func() {
			if _, _, err := db.ForgetBootServer("site"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if left, err := dbs[0].Leases("site").Leases(); err != nil || len(left) != 0 {
		t.Errorf("leases left after both agents forgot the boot server: %v, %v", left, err)
	}
}

// TestHeartbeatAfterForget checks that a heartbeat whose inventory was
// taken before ForgetBootServer does not name the boot server again.
func TestHeartbeatAfterForget(t *testing.T) {
	pg := testlab.StartPostgreSQL(t)
	db := openOn(t, pg.URL)
	forgotten := make(chan struct{})
	var calls atomic.Int32
	db.Report(func() Inventory {
		if calls.Add(1) == 2 {
			// The agent deletes the boot server while this heartbeat
			// is under way.
			if _, _, err := db.ForgetBootServer("site"); err != nil {
				t.Error(err)
			}
			close(forgotten)
		}
		return inventoryOf("site")()
	})
	db.heartbeat()
	<-forgotten
	peers, err := db.Peers(context.Background())
	if err != nil || len(peers) != 1 {
		t.Fatalf("Peers = %v, %v", peers, err)
	}
	if len(peers[0].BootServers) != 0 {
		t.Errorf("after forgetting, the agent's row names %v", peers[0].BootServers)
	}
}
