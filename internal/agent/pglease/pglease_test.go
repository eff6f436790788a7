package pglease

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
)

// open starts a PostgreSQL for the test and returns two agents' stores of
// one boot server on it.
func open(t *testing.T) (pg *testlab.PostgreSQL, a, b *Leases) {
	t.Helper()
	pg = testlab.StartPostgreSQL(t)
	return pg, openOn(t, pg.URL).Leases("site"), openOn(t, pg.URL).Leases("site")
}

func openOn(t *testing.T, url string) *DB {
	t.Helper()
	db, err := Open(context.Background(), url, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

func testLease(addr string, duid byte, iaid uint32) lease.Lease {
	now := time.Now().Truncate(time.Microsecond)
	arch := uint16(7)
	return lease.Lease{Kind: lease.NA, Address: netip.MustParseAddr(addr), DUID: []byte{0, 3, 0, 1, duid}, IAID: iaid,
		PreferredUntil: now.Add(time.Hour), ValidUntil: now.Add(2 * time.Hour), LastTransaction: now,
		ClientArch: &arch, UserClass: "iPXE", HardwareAddr: "02:00:00:00:00:01", HardwareAddrSource: "duid"}
}

func sortLeases(ls []lease.Lease) {
	slices.SortFunc(ls, func(a, b lease.Lease) int { return a.Address.Compare(b.Address) })
}

func equalLeases(t *testing.T, got, want []lease.Lease) {
	t.Helper()
	sortLeases(got)
	sortLeases(want)
	if len(got) != len(want) {
		t.Fatalf("got %d leases %v, want %d %v", len(got), got, len(want), want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Kind != w.Kind || g.Address != w.Address || g.PrefixLength != w.PrefixLength || string(g.DUID) != string(w.DUID) || g.IAID != w.IAID ||
			!g.PreferredUntil.Equal(w.PreferredUntil) || !g.ValidUntil.Equal(w.ValidUntil) || !g.LastTransaction.Equal(w.LastTransaction) ||
			(g.ClientArch == nil) != (w.ClientArch == nil) || (g.ClientArch != nil && *g.ClientArch != *w.ClientArch) ||
			g.UserClass != w.UserClass || g.HardwareAddr != w.HardwareAddr || g.HardwareAddrSource != w.HardwareAddrSource {
			t.Errorf("lease %d: got %+v, want %+v", i, g, w)
		}
	}
}

func TestPutReloadDelete(t *testing.T) {
	pg, a, _ := open(t)
	pd := testLease("2001:db8:100::", 2, 1)
	pd.Kind, pd.PrefixLength, pd.ClientArch = lease.PD, 56, nil
	put := []lease.Lease{testLease("2001:db8::10", 1, 1), pd}
	if err := a.PutLeases(put, nil); err != nil {
		t.Fatal(err)
	}
	// Another process (a restarted agent) loads what the first stored.
	got, err := openOn(t, pg.URL).Leases("site").Leases()
	if err != nil {
		t.Fatal(err)
	}
	equalLeases(t, got, put)
	if other, err := openOn(t, pg.URL).Leases("other").Leases(); err != nil || len(other) != 0 {
		t.Errorf("another boot server's leases: %v, %v; want none", other, err)
	}
	after, err := a.LeasesAfter(netip.MustParseAddr("2001:db8::10"), 10)
	if err != nil || len(after) != 1 || after[0].Address != pd.Address {
		t.Errorf("LeasesAfter(2001:db8::10) = %v, %v; want the prefix only", after, err)
	}
	if err := a.PutLeases(nil, []netip.Addr{put[0].Address, netip.MustParseAddr("2001:db8::99")}); err != nil {
		t.Fatal(err)
	}
	got, err = a.Leases()
	if err != nil {
		t.Fatal(err)
	}
	equalLeases(t, got, put[1:])
}

func TestConflictBetweenAgents(t *testing.T) {
	_, a, b := open(t)
	mine := testLease("2001:db8::10", 1, 1)
	if err := a.PutLeases([]lease.Lease{mine}, nil); err != nil {
		t.Fatal(err)
	}
	// The peer grants the same address to another client, with a lease
	// of its own that would otherwise commit: nothing of the batch is
	// stored, and the error names the holder.
	theirs, other := testLease("2001:db8::10", 2, 1), testLease("2001:db8::20", 3, 1)
	err := b.PutLeases([]lease.Lease{other, theirs}, nil)
	var conflict *lease.ConflictError
	if !errors.As(err, &conflict) {
		t.Fatalf("PutLeases of a taken address: %v, want a ConflictError", err)
	}
	equalLeases(t, conflict.Taken, []lease.Lease{mine})
	got, err := b.Leases()
	if err != nil {
		t.Fatal(err)
	}
	equalLeases(t, got, []lease.Lease{mine})
	if err := b.db.Err(); err != nil {
		t.Errorf("a conflict marks the database unhealthy: %v", err)
	}

	// The holder renewing at the peer takes over its row.
	renewed := mine
	renewed.ValidUntil = renewed.ValidUntil.Add(time.Hour)
	if err := b.PutLeases([]lease.Lease{renewed}, nil); err != nil {
		t.Fatalf("renewal of the same client at the peer: %v", err)
	}
	// a no longer wrote the row last: its delete (say of a lease it
	// believes expired) leaves the peer's lease alone.
	if err := a.PutLeases(nil, []netip.Addr{mine.Address}); err != nil {
		t.Fatal(err)
	}
	got, err = a.Leases()
	if err != nil {
		t.Fatal(err)
	}
	equalLeases(t, got, []lease.Lease{renewed})
}

// TestDeleteAfterRestart: an agent opened again under the same writer
// name deletes what it wrote before; another agent does not.
func TestDeleteAfterRestart(t *testing.T) {
	pg := testlab.StartPostgreSQL(t)
	open := func(writer string) *Leases {
		db, err := Open(context.Background(), pg.URL, writer, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(db.Close)
		return db.Leases("site")
	}
	l := testLease("2001:db8::10", 1, 1)
	if err := open("host/a").PutLeases([]lease.Lease{l}, nil); err != nil {
		t.Fatal(err)
	}
	if err := open("host/b").PutLeases(nil, []netip.Addr{l.Address}); err != nil {
		t.Fatal(err)
	}
	restarted := open("host/a")
	if got, err := restarted.Leases(); err != nil || len(got) != 1 {
		t.Fatalf("after another agent's delete: %v, %v; want the lease kept", got, err)
	}
	if err := restarted.PutLeases(nil, []netip.Addr{l.Address}); err != nil {
		t.Fatal(err)
	}
	if got, err := restarted.Leases(); err != nil || len(got) != 0 {
		t.Errorf("after the restarted writer's delete: %v, %v; want none", got, err)
	}
}

func TestExpiredRowIsFree(t *testing.T) {
	_, a, b := open(t)
	old := testLease("2001:db8::10", 1, 1)
	old.PreferredUntil, old.ValidUntil = time.Now().Add(-2*time.Minute).Truncate(time.Microsecond), time.Now().Add(-time.Minute).Truncate(time.Microsecond)
	if err := a.PutLeases([]lease.Lease{old}, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := a.Leases(); err != nil || len(got) != 0 {
		t.Errorf("Leases lists expired leases: %v, %v", got, err)
	}
	next := testLease("2001:db8::10", 2, 1)
	if err := b.PutLeases([]lease.Lease{next}, nil); err != nil {
		t.Fatalf("taking over an expired lease: %v", err)
	}
}

func TestLeaseOf(t *testing.T) {
	_, a, b := open(t)
	l := testLease("2001:db8::10", 1, 7)
	if err := a.PutLeases([]lease.Lease{l}, nil); err != nil {
		t.Fatal(err)
	}
	got, ok, err := b.LeaseOf(lease.NA, l.DUID, 7)
	if err != nil || !ok {
		t.Fatalf("LeaseOf = %v, %v", ok, err)
	}
	equalLeases(t, []lease.Lease{got}, []lease.Lease{l})
	for _, c := range []struct {
		kind lease.Kind
		iaid uint32
	}{{lease.NA, 8}, {lease.TA, 7}} {
		if _, ok, err := b.LeaseOf(c.kind, l.DUID, c.iaid); ok || err != nil {
			t.Errorf("LeaseOf(%s, %d) = %v, %v; want none", c.kind, c.iaid, ok, err)
		}
	}
}

// LeaseAt finds the address lease another agent stored, not a delegated
// prefix's row nor an expired one.
func TestLeaseAt(t *testing.T) {
	_, a, b := open(t)
	na := testLease("2001:db8::10", 1, 7)
	pd := testLease("2001:db8:ff::", 2, 1)
	pd.Kind, pd.PrefixLength = lease.PD, 56
	old := testLease("2001:db8::11", 3, 1)
	old.PreferredUntil, old.ValidUntil = time.Now().Add(-2*time.Hour), time.Now().Add(-time.Hour)
	if err := a.PutLeases([]lease.Lease{na, pd, old}, nil); err != nil {
		t.Fatal(err)
	}
	got, ok, err := b.LeaseAt(na.Address)
	if err != nil || !ok {
		t.Fatalf("LeaseAt(%s) = %v, %v", na.Address, ok, err)
	}
	equalLeases(t, []lease.Lease{got}, []lease.Lease{na})
	for _, addr := range []string{"2001:db8:ff::", "2001:db8::11", "2001:db8::12"} {
		if _, ok, err := b.LeaseAt(netip.MustParseAddr(addr)); ok || err != nil {
			t.Errorf("LeaseAt(%s) = %v, %v; want none", addr, ok, err)
		}
	}
}

func TestUnreachableAndBack(t *testing.T) {
	pg, a, _ := open(t)
	pg.Stop(t)
	if err := a.PutLeases([]lease.Lease{testLease("2001:db8::10", 1, 1)}, nil); err == nil {
		t.Fatal("PutLeases with the database stopped succeeded")
	}
	if a.db.Err() == nil || a.db.Failures() == 0 {
		t.Errorf("Err() = %v, Failures() = %d after a failed commit", a.db.Err(), a.db.Failures())
	}
	pg.Start(t)
	// The agent notices by itself, with no lease asked for, and the pool
	// reconnects.
	for i := 0; a.db.Err() != nil; i++ {
		if i == 100 {
			t.Fatalf("Err() = %v 10s after PostgreSQL is back", a.db.Err())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := a.PutLeases([]lease.Lease{testLease("2001:db8::10", 1, 1)}, nil); err != nil {
		t.Fatalf("after PostgreSQL is back: %v", err)
	}
}

func TestSchemaMigration(t *testing.T) {
	pg := testlab.StartPostgreSQL(t)
	openOn(t, pg.URL)
	openOn(t, pg.URL) // a second agent finds the schema current
	conn, err := pgx.Connect(context.Background(), pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var versions []int
	rows, _ := conn.Query(context.Background(), `SELECT version FROM netboot_schema_migrations ORDER BY version`)
	if versions, err = pgx.CollectRows(rows, pgx.RowTo[int]); err != nil {
		t.Fatal(err)
	}
	if len(versions) != SchemaVersion || versions[len(versions)-1] != SchemaVersion {
		t.Errorf("schema versions %v, want 1..%d once each", versions, SchemaVersion)
	}
	if _, err := conn.Exec(context.Background(), `INSERT INTO netboot_schema_migrations (version) VALUES ($1)`, SchemaVersion+1); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), pg.URL, "", nil); err == nil {
		t.Error("Open of a database with a newer schema succeeded")
	}
	if _, err := Open(context.Background(), "postgres://[::1", "", nil); err == nil {
		t.Error("Open of a malformed URL succeeded")
	}
}
