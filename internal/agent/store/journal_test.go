package store

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

func journalLease(i int) lease.Lease {
	return lease.Lease{
		Kind: lease.NA, Address: netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i)}),
		DUID: []byte{0, 3, 0, 1, byte(i)}, IAID: 1, ValidUntil: time.Unix(2000000000, 0).UTC(),
	}
}

// crashCopy copies the state file and the journal of s, as they are on
// disk between two folds, to a new directory: what a kill -9 or a power
// cut at that moment leaves behind. The caller holds s.journal.foldMu.
func crashCopy(t *testing.T, s *Store) string {
	t.Helper()
	from, to := filepath.Dir(s.db.Path()), t.TempDir()
	for _, name := range []string{FileName, journalName(0), journalName(1)} {
		data, err := os.ReadFile(filepath.Join(from, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

// frameOffsets are where the frames of journal file path start.
func frameOffsets(t *testing.T, path string) []int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var offs []int
	for off := journalAlign; ; {
		_, n, end, _ := parseFrame(data[off:])
		if end != frameOK {
			return offs
		}
		offs = append(offs, off)
		off += n + padding(n)
	}
}

// threeBatches stores leases 1–2, 3–4 (deleting 1) and 5 in three
// PutLeases calls, and returns the store with them still in the journal
// and no fold allowed until release.
func threeBatches(t *testing.T) (s *Store, release func()) {
	t.Helper()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ls := s.Leases("lab")
	s.journal.foldMu.Lock()
	release = sync.OnceFunc(s.journal.foldMu.Unlock)
	t.Cleanup(release)
	for _, b := range []struct {
		put []lease.Lease
		del []netip.Addr
	}{
		{put: []lease.Lease{journalLease(1), journalLease(2)}},
		{put: []lease.Lease{journalLease(3), journalLease(4)}, del: []netip.Addr{journalLease(1).Address}},
		{put: []lease.Lease{journalLease(5)}},
	} {
		if err := ls.PutLeases(b.put, b.del); err != nil {
			t.Fatal(err)
		}
	}
	return s, release
}

// reopened opens the store in dir, as the agent does at start, and
// returns the leases of boot server "lab" and what Open noticed.
func reopened(t *testing.T, dir string) ([]lease.Lease, []string) {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Leases("lab").Leases()
	if err != nil {
		t.Fatal(err)
	}
	return got, s.Notices()
}

// storedAddrs is reopened with each lease as its address's last byte.
func storedAddrs(t *testing.T, dir string) ([]int, []string) {
	t.Helper()
	got, notices := reopened(t, dir)
	var out []int
	for _, l := range got {
		out = append(out, int(l.Address.As16()[15]))
	}
	return out, notices
}

// TestJournalReplaysWhatWasNotFolded: leases still only in the journal
// when the agent dies are in the state file after the next Open, in the
// order they were stored.
func TestJournalReplaysWhatWasNotFolded(t *testing.T) {
	s, _ := threeBatches(t)
	dir := crashCopy(t, s)
	// db check counts what the journal holds beyond the state file.
	if r := Check(dir)[2]; r.Err != nil || !r.Journal || r.Objects["lease change"] != 6 {
		t.Fatalf("check of the journal: %+v; want 6 lease changes", r)
	}
	if got, notices := storedAddrs(t, dir); fmt.Sprint(got) != "[2 3 4 5]" || len(notices) != 0 {
		t.Fatalf("after replay: leases %v, notices %q; want [2 3 4 5] and none", got, notices)
	}
	// The replay is folded: a second start has nothing to replay and
	// reads the same.
	if got, _ := storedAddrs(t, dir); fmt.Sprint(got) != "[2 3 4 5]" {
		t.Fatalf("after a second start: leases %v", got)
	}
}

// TestJournalTornTailIsIgnoredAndReported: a last frame a crash cut short
// is ignored (its Replies never left) and reported once.
func TestJournalTornTailIsIgnoredAndReported(t *testing.T) {
	s, _ := threeBatches(t)
	dir := crashCopy(t, s)
	path := filepath.Join(dir, journalName(0))
	offs := frameOffsets(t, path)
	if len(offs) != 3 {
		t.Fatalf("%d frames in the journal, want 3", len(offs))
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("torn"), int64(offs[2]+frameHeaderSize+8)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if r := Check(dir)[2]; r.Err != nil || r.Torn == "" || r.Objects["lease change"] != 5 {
		t.Fatalf("check of a journal with a torn last frame: %+v; want it sound, torn, with 5 lease changes", r)
	}
	got, notices := storedAddrs(t, dir)
	if fmt.Sprint(got) != "[2 3 4]" {
		t.Errorf("after a torn last frame: leases %v, want [2 3 4]", got)
	}
	if len(notices) != 1 || !strings.Contains(notices[0], path) || !strings.Contains(notices[0], "torn") {
		t.Errorf("notices %q, want one naming %s and the torn frame", notices, path)
	}
	if _, notices := storedAddrs(t, dir); len(notices) != 0 {
		t.Errorf("the torn frame is reported again at the next start: %q", notices)
	}
}

// TestDamagedJournalIsRefused: a journal whose header is not one, or with
// a damaged frame before a sound one, stops Open with one line naming the
// file and the reason; leases are never silently dropped.
func TestDamagedJournalIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(offs []int) (int, string)
		want   string
	}{
		{"header", func([]int) (int, string) { return 0, "garbage" }, "does not start with the journal header"},
		{"middle frame", func(offs []int) (int, string) { return offs[0] + frameHeaderSize + 3, "flip" }, "yet frame 1 at byte"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := threeBatches(t)
			dir := crashCopy(t, s)
			path := filepath.Join(dir, journalName(0))
			at, bytes := tc.damage(frameOffsets(t, path))
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteAt([]byte(bytes), int64(at)); err != nil {
				t.Fatal(err)
			}
			f.Close()
			if r := Check(dir)[2]; r.Err == nil || !strings.Contains(r.Err.Error(), tc.want) {
				t.Errorf("check of the damaged journal: %+v", r)
			}
			_, err = Open(dir)
			var je *JournalError
			if !errors.As(err, &je) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Open = %v; want one line naming %s and %q", err, path, tc.want)
			}
		})
	}
}

// TestJournalOfADeletedBootServerIsNotReplayed: deleting a boot server
// drops its leases still in the journal too.
func TestJournalOfADeletedBootServerIsNotReplayed(t *testing.T) {
	s, release := threeBatches(t)
	release()
	if err := s.PutBootServer(&netbootv1.BootServer{Name: "lab"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteBootServer("lab"); err != nil {
		t.Fatal(err)
	}
	s.journal.foldMu.Lock()
	dir := crashCopy(t, s)
	s.journal.foldMu.Unlock()
	if got, _ := storedAddrs(t, dir); len(got) != 0 {
		t.Fatalf("leases of the deleted boot server after a restart: %v", got)
	}
}

// TestJournalFileWritesDataOnly: once a journal file is written, appends
// overwrite blocks it already has, so its size stays and the fdatasync of
// an append has no metadata to flush.
func TestJournalFileWritesDataOnly(t *testing.T) {
	s, _ := threeBatches(t)
	path := filepath.Join(filepath.Dir(s.db.Path()), journalName(0))
	size := func() int64 {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return info.Size()
	}
	before := size()
	ls := s.Leases("lab")
	for i := range 100 {
		if err := ls.PutLeases([]lease.Lease{journalLease(i)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if after := size(); after != before || before != journalFirstSize {
		t.Fatalf("journal file grew from %d to %d bytes over 100 small appends; want %d throughout", before, after, journalFirstSize)
	}
}

// TestJournalSurvivesKill9: a process storing leases is killed with
// SIGKILL at a random moment (between appends, during one, during a fold):
// every lease whose PutLeases returned is there after the next Open.
func TestJournalSurvivesKill9(t *testing.T) {
	if dir := os.Getenv("NETBOOT_STORE_KILL_CHILD"); dir != "" {
		killChild(dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestJournalSurvivesKill9$")
	cmd.Env = append(os.Environ(), "NETBOOT_STORE_KILL_CHILD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	acked := map[netip.Addr]bool{}
	lines := bufio.NewScanner(out)
	// Past a fold or two (foldEvery), then at a moment of the scheduler's.
	deadline := time.Now().Add(foldEvery + 700*time.Millisecond)
	for lines.Scan() {
		a, err := netip.ParseAddr(lines.Text())
		if err != nil {
			t.Fatalf("child: %s", lines.Text())
		}
		acked[a] = true
		if time.Now().After(deadline) {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, out)
	_ = cmd.Wait()
	if len(acked) < 100 {
		t.Fatalf("only %d leases stored before the kill", len(acked))
	}
	got, notices := reopened(t, dir)
	held := map[netip.Addr]bool{}
	for _, l := range got {
		held[l.Address] = true
	}
	for a := range acked {
		if !held[a] {
			t.Errorf("lease of %s was stored before the kill but is gone after it", a)
		}
	}
	t.Logf("%d leases acknowledged, %d held after kill -9 (notices: %q)", len(acked), len(held), notices)
}

// killChild stores batches of leases until killed, printing the address of
// each lease once PutLeases returned.
func killChild(dir string) {
	s, err := Open(dir)
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	ls := s.Leases("lab")
	w := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		var put []lease.Lease
		for k := range 1 + i%7 {
			l := journalLease(0)
			a := l.Address.As16()
			a[12], a[13], a[14], a[15] = byte(i>>16), byte(i>>8), byte(i), byte(k)
			l.Address = netip.AddrFrom16(a)
			put = append(put, l)
		}
		if err := ls.PutLeases(put, nil); err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		for _, l := range put {
			fmt.Fprintln(w, l.Address)
		}
		w.Flush()
	}
}

// FuzzParseJournal: no journal file, however damaged, panics the parser,
// and a file it accepts yields frames in order.
func FuzzParseJournal(f *testing.F) {
	header := make([]byte, journalAlign)
	copy(header, journalMagic)
	var file []byte
	file = append(file, header...)
	file = appendFrame(file, frame{gen: 3, bucket: "lab", changes: []change{{addr: journalLease(1).Address, record: append(journalLease(1).Address.AsSlice(), `{"kind":"na"}`...)}}})
	file = file[:len(file)-frameHeaderSize]
	file = appendFrame(file, frame{gen: 3, seq: 1, bucket: "lab", changes: []change{{addr: journalLease(1).Address}}})
	f.Add(file)
	f.Add(header)
	f.Add(file[:len(file)-300])
	f.Fuzz(func(t *testing.T, data []byte) {
		jc, err := parseJournal(data, 0)
		if err != nil {
			return
		}
		for i, fr := range jc.frames {
			if fr.seq != uint64(i) || fr.gen != jc.gen {
				t.Fatalf("frame %d is numbered %d of generation %d in a file of generation %d", i, fr.seq, fr.gen, jc.gen)
			}
			for _, c := range fr.changes {
				if c.record != nil && (len(c.record) < 16 || c.addr.As16() != [16]byte(c.record[:16])) {
					t.Fatalf("a put's address %s is not its record's", c.addr)
				}
			}
		}
	})
}
