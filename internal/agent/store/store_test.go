package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

func TestBootServerRoundTripAndReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := &netbootv1.BootServer{Name: "lab", Interface: "eth0", Prefix: "2001:db8:1::/64"}
	if err := s.PutBootServer(want); err != nil {
		t.Fatal(err)
	}
	l := lease.Lease{Address: netip.MustParseAddr("2001:db8:1::100"), DUID: []byte{0, 4, 1}, IAID: 7, ValidUntil: time.Unix(2000000000, 0).UTC()}
	if err := s.Leases("lab").PutLeases([]lease.Lease{l}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.GetBootServer("lab")
	if err != nil || got.GetInterface() != "eth0" || got.GetPrefix() != want.Prefix {
		t.Fatalf("GetBootServer after reopen = %v, %v", got, err)
	}
	leases, err := s.Leases("lab").Leases()
	if err != nil || len(leases) != 1 || leases[0].Address != l.Address || leases[0].IAID != 7 {
		t.Fatalf("leases after reopen = %+v, %v", leases, err)
	}

	if err := s.DeleteBootServer("lab"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetBootServer("lab"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetBootServer after delete: %v, want ErrNotFound", err)
	}
	if leases, _ := s.Leases("lab").Leases(); len(leases) != 0 {
		t.Fatalf("leases survived delete: %+v", leases)
	}
	if err := s.DeleteBootServer("lab"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v, want ErrNotFound", err)
	}
}

func TestSecondOpenIsRefusedWithAClearError(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := Open(dir); err == nil {
		t.Fatal("second Open of a held state file succeeded")
	}
}

func TestConcurrentLeaseWritesAllLand(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ls := s.Leases("lab")
	base := netip.MustParseAddr("2001:db8:1::1000")
	var wg sync.WaitGroup
	addr := base
	for i := 0; i < 50; i++ {
		a := addr
		addr = addr.Next()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := ls.PutLeases([]lease.Lease{{Address: a, DUID: []byte{1}, ValidUntil: time.Now().Add(time.Hour)}}, nil); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, err := ls.Leases()
	if err != nil || len(got) != 50 || got[0].Address != base {
		t.Fatalf("got %d leases (first %v), err %v", len(got), got[0].Address, err)
	}
}

func TestPutLeasesIsAtomic(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ls := s.Leases("lab")
	at := func(a string) lease.Lease {
		return lease.Lease{Address: netip.MustParseAddr(a), DUID: []byte{1}, ValidUntil: time.Unix(2000000000, 0).UTC()}
	}
	a, b, c := at("2001:db8:1::a"), at("2001:db8:1::b"), at("2001:db8:1::c")
	if err := ls.PutLeases([]lease.Lease{a}, nil); err != nil {
		t.Fatal(err)
	}
	addrs := func() []netip.Addr {
		t.Helper()
		got, err := ls.Leases()
		if err != nil {
			t.Fatal(err)
		}
		var out []netip.Addr
		for _, l := range got {
			out = append(out, l.Address)
		}
		return out
	}

	// A lease without an address could never be found again: the whole
	// batch is refused, and the delete of a never runs.
	if err := ls.PutLeases([]lease.Lease{b, c, {DUID: []byte{2}}}, []netip.Addr{a.Address}); !errors.Is(err, errNoAddress) {
		t.Fatalf("PutLeases of a lease without an address: %v, want %v", err, errNoAddress)
	}
	if got := addrs(); !slices.Equal(got, []netip.Addr{a.Address}) {
		t.Fatalf("after a failed PutLeases: %v, want only %s", got, a.Address)
	}

	if err := ls.PutLeases([]lease.Lease{b, c}, []netip.Addr{a.Address, netip.MustParseAddr("2001:db8:1::dead")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ls = s.Leases("lab")
	if got := addrs(); !slices.Equal(got, []netip.Addr{b.Address, c.Address}) {
		t.Fatalf("after PutLeases and reopen: %v, want %s and %s", got, b.Address, c.Address)
	}
}

// TestLeaseRecordsAreReplaced: storing a lease again (a renewal) replaces
// its record rather than adding one, deleting removes it, and both hold
// across a reopen, which learns the records afresh.
func TestLeaseRecordsAreReplaced(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	at := func(a string, valid int64) lease.Lease {
		return lease.Lease{Address: netip.MustParseAddr(a), DUID: []byte{1}, ValidUntil: time.Unix(valid, 0).UTC()}
	}
	ls := s.Leases("lab")
	steps := []struct {
		reopen bool
		put    []lease.Lease
		del    []string
		want   []lease.Lease
	}{
		{put: []lease.Lease{at("2001:db8::a", 1), at("2001:db8::b", 1)}, want: []lease.Lease{at("2001:db8::a", 1), at("2001:db8::b", 1)}},
		// The same address twice in one batch: the later one stands.
		{put: []lease.Lease{at("2001:db8::a", 2), at("2001:db8::a", 3)}, want: []lease.Lease{at("2001:db8::a", 3), at("2001:db8::b", 1)}},
		{put: []lease.Lease{at("2001:db8::c", 1)}, del: []string{"2001:db8::b", "2001:db8::d"}, want: []lease.Lease{at("2001:db8::a", 3), at("2001:db8::c", 1)}},
		{reopen: true, put: []lease.Lease{at("2001:db8::c", 4)}, del: []string{"2001:db8::a"}, want: []lease.Lease{at("2001:db8::c", 4)}},
	}
	for i, st := range steps {
		if st.reopen {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if s, err = Open(dir); err != nil {
				t.Fatal(err)
			}
			ls = s.Leases("lab")
		}
		var del []netip.Addr
		for _, a := range st.del {
			del = append(del, netip.MustParseAddr(a))
		}
		if err := ls.PutLeases(st.put, del); err != nil {
			t.Fatalf("step %d: %v", i+1, err)
		}
		got, err := ls.Leases()
		if err != nil || !slices.EqualFunc(got, st.want, func(a, b lease.Lease) bool { return a.Address == b.Address && a.ValidUntil.Equal(b.ValidUntil) }) {
			t.Fatalf("step %d: leases = %+v, %v; want %+v", i+1, got, err, st.want)
		}
	}
	s.Close()
}

// TestReadsSchema1Leases opens a state file whose lease records are keyed
// by address, as schema 1 wrote them: they are read, replaced when their
// lease changes and deleted by address.
func TestReadsSchema1Leases(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	old := []lease.Lease{
		{Address: netip.MustParseAddr("2001:db8::a"), DUID: []byte{1}, ValidUntil: time.Unix(100, 0).UTC()},
		{Address: netip.MustParseAddr("2001:db8::b"), DUID: []byte{2}, ValidUntil: time.Unix(100, 0).UTC()},
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.Bucket(bucketLeases).CreateBucket([]byte("lab"))
		if err != nil {
			return err
		}
		for _, l := range old {
			data, _ := json.Marshal(l)
			if err := b.Put(l.Address.AsSlice(), data); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keySchemaVersion, []byte("1"))
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ls := s.Leases("lab")
	if got, err := ls.Leases(); err != nil || len(got) != 2 || got[1].DUID[0] != 2 {
		t.Fatalf("schema 1 leases read as %+v, %v", got, err)
	}
	renewed := old[0]
	renewed.ValidUntil = time.Unix(200, 0).UTC()
	if err := ls.PutLeases([]lease.Lease{renewed}, []netip.Addr{old[1].Address}); err != nil {
		t.Fatal(err)
	}
	got, err := ls.Leases()
	if err != nil || len(got) != 1 || !got[0].ValidUntil.Equal(renewed.ValidUntil) {
		t.Fatalf("after renewing one schema 1 lease and deleting the other: %+v, %v", got, err)
	}
}

// TestLeaseIndexSurvivesBootServerDelete: deleting a boot server drops its
// lease bucket, and a new one of the same name numbers its records from 1
// again; the old index must not make a delete hit the new lease that now
// holds an old key.
func TestLeaseIndexSurvivesBootServerDelete(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.PutBootServer(&netbootv1.BootServer{Name: "lab"}); err != nil {
		t.Fatal(err)
	}
	a := lease.Lease{Address: netip.MustParseAddr("2001:db8::a"), DUID: []byte{1}}
	b := lease.Lease{Address: netip.MustParseAddr("2001:db8::b"), DUID: []byte{2}}
	ls := s.Leases("lab")
	if err := ls.PutLeases([]lease.Lease{a}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteBootServer("lab"); err != nil {
		t.Fatal(err)
	}
	if err := ls.PutLeases([]lease.Lease{b}, []netip.Addr{a.Address}); err != nil {
		t.Fatal(err)
	}
	if got, err := ls.Leases(); err != nil || len(got) != 1 || got[0].Address != b.Address {
		t.Fatalf("leases = %+v, %v; want only %s", got, err, b.Address)
	}
}

// BenchmarkPutLeases stores batches of 64 leases at random addresses of a
// /96, as a DHCPv6 storm's group commits do, into a database already
// holding 100,000 leases, with the journal folded in the background as
// in the agent, and reports the slowest PutLeases: a fold must never hold
// up an append (the Replies waiting on it).
func BenchmarkPutLeases(b *testing.B) {
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ls := s.Leases("bench")
	rng := rand.New(rand.NewPCG(1, 2))
	until := time.Now().Add(time.Hour)
	batch := func() []lease.Lease {
		put := make([]lease.Lease, 64)
		for i := range put {
			a := [16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 1}
			binary.BigEndian.PutUint32(a[12:], rng.Uint32())
			put[i] = lease.Lease{Address: netip.AddrFrom16(a), DUID: []byte{0, 3, 0, 1, 2, 3, 4, 5, 6, 7}, IAID: 1, ValidUntil: until, PreferredUntil: until}
		}
		return put
	}
	for range 100_000 / 64 {
		if err := ls.PutLeases(batch(), nil); err != nil {
			b.Fatal(err)
		}
	}
	var slowest time.Duration
	for b.Loop() {
		put := batch()
		start := time.Now()
		if err := ls.PutLeases(put, nil); err != nil {
			b.Fatal(err)
		}
		slowest = max(slowest, time.Since(start))
	}
	b.ReportMetric(float64(b.N*64)/b.Elapsed().Seconds(), "leases/s")
	b.ReportMetric(float64(slowest.Microseconds())/1000, "max-ms")
}
