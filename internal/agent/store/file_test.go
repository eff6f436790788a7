package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// filledStateDir makes a state file of a few hundred KiB: boot servers and
// a few thousand leases, over many pages, as a busy agent leaves it.
func filledStateDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		name := fmt.Sprintf("lab%d", i)
		if err := s.PutBootServer(&netbootv1.BootServer{Name: name, Interface: "eth0", Prefix: "2001:db8:1::/64"}); err != nil {
			t.Fatal(err)
		}
		var ls []lease.Lease
		for j := range 1500 {
			ls = append(ls, lease.Lease{
				Address:    netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 1, byte(i), 14: byte(j >> 8), 15: byte(j)}),
				DUID:       []byte{0, 4, byte(i), byte(j >> 8), byte(j)},
				IAID:       uint32(j),
				ValidUntil: time.Unix(2000000000, 0).UTC(),
			})
		}
		if err := s.Leases(name).PutLeases(ls, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// openAndRead opens dir and reads everything in it, as the agent does at
// start. A panic anywhere fails the test (or kills it, for one on a
// goroutine of bbolt's).
func openAndRead(t *testing.T, dir string, o Options) error {
	t.Helper()
	s, err := OpenWith(dir, o)
	if err != nil {
		return err
	}
	defer s.Close()
	servers, err := s.ListBootServers()
	if err != nil {
		return err
	}
	for _, b := range servers {
		if _, err := s.Leases(b.GetName()).Leases(); err != nil {
			return err
		}
	}
	return nil
}

func wantFileError(t *testing.T, err error, problem string) {
	t.Helper()
	var fe *FileError
	if !errors.As(err, &fe) {
		t.Fatalf("error = %v, want a *FileError", err)
	}
	if !strings.Contains(fe.Problem, problem) {
		t.Errorf("problem = %q, want it to say %q", fe.Problem, problem)
	}
	if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, fe.Path) {
		t.Errorf("error %q: want one line naming the file", msg)
	}
}

func TestOpenRefusesATruncatedFile(t *testing.T) {
	for _, keep := range []float64{0.5, 0.9, 0.25} {
		t.Run(fmt.Sprint(keep), func(t *testing.T) {
			dir := filledStateDir(t)
			path := filepath.Join(dir, FileName)
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, int64(float64(info.Size())*keep)); err != nil {
				t.Fatal(err)
			}
			err = openAndRead(t, dir, Options{})
			wantFileError(t, err, "cut short")
			if !strings.Contains(err.Error(), "no snapshot exists") {
				t.Errorf("error %q: want it to say no snapshot exists", err)
			}
		})
	}
}

// Random bit flips beyond the first pages (where the damage of a failing
// disk or a stray write lands): each file either opens and reads cleanly
// or is refused with a FileError, never a panic.
func TestOpenNeverPanicsOnBitFlips(t *testing.T) {
	refused := 0
	const runs = 40
	for seed := range uint64(runs) {
		dir := filledStateDir(t)
		path := filepath.Join(dir, FileName)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(seed, 14))
		for range 200 {
			i := 16<<10 + r.IntN(len(data)-16<<10)
			data[i] ^= 1 << r.IntN(8)
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		err = openAndRead(t, dir, Options{})
		var fe *FileError
		switch {
		case errors.As(err, &fe):
			refused++
		case err != nil && strings.Contains(err.Error(), "decoding"):
			// A flip inside a lease's JSON: the page structure is sound.
		case err != nil:
			t.Errorf("seed %d: error %v, want a FileError or success", seed, err)
		}
	}
	if refused < runs/2 {
		t.Errorf("only %d of %d damaged files were refused", refused, runs)
	}
}

func TestOpenNeverPanicsOnDamagedHeaders(t *testing.T) {
	dir := filledStateDir(t)
	path := filepath.Join(dir, FileName)
	clean, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The bytes of both meta pages and of the headers of the first data
	// pages: a damaged meta falls back to the other one or is refused.
	var offsets []int
	for i := 0; i < 80; i += 3 {
		offsets = append(offsets, i, 4096+i)
	}
	for page := 2; page < 6; page++ {
		for i := 0; i < 48; i += 5 {
			offsets = append(offsets, page*4096+i)
		}
	}
	for _, i := range offsets {
		data := append([]byte(nil), clean...)
		data[i] ^= 0xff
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := openAndRead(t, dir, Options{NoSync: true}); err != nil {
			var fe *FileError
			if !errors.As(err, &fe) && !strings.Contains(err.Error(), "decoding") && !strings.Contains(err.Error(), "schema") {
				t.Fatalf("byte %d: error %v, want a FileError", i, err)
			}
		}
	}
}

func TestEmptyOrMissingStateFile(t *testing.T) {
	for _, tc := range []struct {
		name        string
		snapshot    bool
		remove      bool // remove state.db instead of emptying it
		allowEmpty  bool
		wantProblem string // "" = opens
	}{
		{name: "empty", wantProblem: "is empty"},
		{name: "empty with snapshot", snapshot: true, wantProblem: "is empty"},
		{name: "empty allowed", allowEmpty: true},
		{name: "empty with snapshot allowed", snapshot: true, allowEmpty: true},
		{name: "missing, never ran", remove: true},
		{name: "missing with snapshot", snapshot: true, remove: true, wantProblem: "is missing"},
		{name: "missing with snapshot allowed", snapshot: true, remove: true, allowEmpty: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filledStateDir(t)
			path := filepath.Join(dir, FileName)
			if tc.snapshot {
				writeSnapshot(t, dir)
			}
			if tc.remove {
				must(t, os.Remove(path))
			} else {
				must(t, os.Truncate(path, 0))
			}
			err := openAndRead(t, dir, Options{AllowEmpty: tc.allowEmpty})
			if tc.wantProblem == "" {
				if err != nil {
					t.Fatal(err)
				}
				if aside, _ := filepath.Glob(filepath.Join(dir, SnapshotName+".replaced-*")); tc.snapshot && len(aside) != 1 {
					t.Errorf("the snapshot of the given-up state was not set aside: %v", aside)
				}
				return
			}
			wantFileError(t, err, tc.wantProblem)
			if tc.snapshot && !strings.Contains(err.Error(), "agent db restore --state-dir "+dir) {
				t.Errorf("error %q: want the restore command", err)
			}
		})
	}
}

func TestNewerSchemaIsRefusedWithAClearError(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	must(t, err)
	must(t, s.db.Update(func(tx *bolt.Tx) error {
		v, _ := json.Marshal(SchemaVersion + 1)
		return tx.Bucket(bucketMeta).Put(keySchemaVersion, v)
	}))
	must(t, s.Close())
	_, err = Open(dir)
	want := fmt.Sprintf("state written by a newer agent (schema %d, this agent knows %d): upgrade the agent", SchemaVersion+1, SchemaVersion)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Open = %v, want %q", err, want)
	}
}

func writeSnapshot(t *testing.T, dir string) {
	t.Helper()
	s, err := Open(dir)
	must(t, err)
	must(t, s.Snapshot())
	must(t, s.Close())
}

func TestRestoreFromSnapshot(t *testing.T) {
	dir := filledStateDir(t)
	path := filepath.Join(dir, FileName)
	writeSnapshot(t, dir)

	// No restore while an agent holds the file.
	s, err := Open(dir)
	must(t, err)
	if _, err := Restore(dir); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("Restore while open = %v, want in use", err)
	}
	must(t, s.Close())

	info, err := os.Stat(path)
	must(t, err)
	must(t, os.Truncate(path, info.Size()/2))
	wantFileError(t, openAndRead(t, dir, Options{}), "is damaged")

	reports := Check(dir)
	if reports[0].Err == nil || reports[1].Err != nil || reports[1].Objects["lease"] != 4500 || reports[1].Objects["boot server"] != 3 {
		t.Fatalf("Check = %+v, want state.db damaged and a sound snapshot of 3 boot servers and 4500 leases", reports)
	}

	restored, err := Restore(dir)
	must(t, err)
	if _, err := os.Stat(restored.Kept); err != nil {
		t.Errorf("the damaged file was not kept: %v", err)
	}
	s, err = Open(dir)
	must(t, err)
	defer s.Close()
	servers, err := s.ListBootServers()
	if err != nil || len(servers) != 3 {
		t.Fatalf("boot servers after restore = %v, %v", servers, err)
	}
	if ls, err := s.Leases("lab1").Leases(); err != nil || len(ls) != 1500 {
		t.Fatalf("leases after restore: %d, %v", len(ls), err)
	}
}

func TestRestoreRefusesADamagedSnapshot(t *testing.T) {
	dir := filledStateDir(t)
	writeSnapshot(t, dir)
	snap := filepath.Join(dir, SnapshotName)
	info, err := os.Stat(snap)
	must(t, err)
	must(t, os.Truncate(snap, info.Size()/2))
	before, err := os.ReadFile(filepath.Join(dir, FileName))
	must(t, err)
	if _, err := Restore(dir); err == nil || !strings.Contains(err.Error(), "damaged too") {
		t.Fatalf("Restore = %v, want the snapshot refused", err)
	}
	after, err := os.ReadFile(filepath.Join(dir, FileName))
	must(t, err)
	if string(before) != string(after) {
		t.Fatal("a refused restore changed the state file")
	}
}

func TestKeepSnapshotsAfterConfigChange(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	must(t, err)
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		s.KeepSnapshots(ctx, time.Hour, func(err error) { t.Error(err) })
		close(done)
	}()
	must(t, s.PutBootServer(&netbootv1.BootServer{Name: "lab", Interface: "eth0"}))
	deadline := time.Now().Add(5 * time.Second)
	for {
		if r := checkOne(filepath.Join(dir, SnapshotName)); r.Err == nil && r.Objects["boot server"] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no snapshot holds the new boot server")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Leases are in the snapshot taken when the loop stops.
	must(t, s.Leases("lab").PutLeases([]lease.Lease{{Address: netip.MustParseAddr("2001:db8::1"), DUID: []byte{1}}}, nil))
	cancel()
	<-done
	if r := checkOne(filepath.Join(dir, SnapshotName)); r.Err != nil || r.Objects["lease"] != 1 {
		t.Fatalf("final snapshot = %+v, want 1 lease", r)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// FuzzCheckFile: the check never panics on any bytes, and a file it lets
// through opens and reads without a panic.
func FuzzCheckFile(f *testing.F) {
	dir := f.TempDir()
	s, err := Open(dir)
	if err != nil {
		f.Fatal(err)
	}
	if err := s.PutBootServer(&netbootv1.BootServer{Name: "lab", Interface: "eth0"}); err != nil {
		f.Fatal(err)
	}
	if err := s.Leases("lab").PutLeases([]lease.Lease{{Address: netip.MustParseAddr("2001:db8::1"), DUID: []byte{1}}}, nil); err != nil {
		f.Fatal(err)
	}
	must := func(err error) {
		if err != nil {
			f.Fatal(err)
		}
	}
	must(s.Close())
	clean, err := os.ReadFile(filepath.Join(dir, FileName))
	must(err)
	f.Add(clean, 0, byte(0))
	f.Add(clean, 2*4096+20, byte(0xff))
	f.Add(clean, 3*4096+10, byte(1))
	f.Fuzz(func(t *testing.T, data []byte, at int, flip byte) {
		data = append([]byte(nil), data...)
		if at >= 0 && at < len(data) {
			data[at] ^= flip
		}
		dir := t.TempDir()
		path := filepath.Join(dir, FileName)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if checkFile(path) != nil || len(data) == 0 {
			return
		}
		_ = openAndRead(t, dir, Options{NoSync: true})
	})
}

// TestRestartKeepsAnUnchangedSnapshot: reopening a file a clean stop left
// snapshotted writes nothing, so the start copies no large file again;
// a change after the start is snapshotted as before.
func TestRestartKeepsAnUnchangedSnapshot(t *testing.T) {
	dir := t.TempDir()
	snapshots := func(s *Store, change func()) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			s.KeepSnapshots(ctx, time.Hour, func(err error) { t.Error(err) })
			close(done)
		}()
		if change != nil {
			change()
		}
		cancel()
		<-done
	}
	s, err := Open(dir)
	must(t, err)
	snapshots(s, func() { must(t, s.PutBootServer(&netbootv1.BootServer{Name: "lab", Interface: "eth0"})) })
	last := s.LastTx()
	must(t, s.Close())
	path := filepath.Join(dir, SnapshotName)
	before, err := os.Stat(path)
	must(t, err)

	s, err = Open(dir)
	must(t, err)
	defer s.Close()
	if s.LastTx() != last {
		t.Errorf("opening an up-to-date file wrote transaction %d (last was %d)", s.LastTx(), last)
	}
	snapshots(s, nil)
	if after, err := os.Stat(path); err != nil || !os.SameFile(before, after) {
		t.Errorf("the unchanged state was snapshotted again at start (%v)", err)
	}
	snapshots(s, func() {
		must(t, s.Leases("lab").PutLeases([]lease.Lease{{Address: netip.MustParseAddr("2001:db8::1"), DUID: []byte{1}}}, nil))
	})
	if r := checkOne(path); r.Err != nil || r.Objects["lease"] != 1 {
		t.Fatalf("snapshot after a change = %+v, want 1 lease", r)
	}
}
