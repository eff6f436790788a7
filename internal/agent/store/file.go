package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
	"google.golang.org/protobuf/encoding/protowire"
)

// SnapshotName is the last consistent copy of the state file, beside it.
// Its presence also tells that this state dir held an agent's state, so a
// missing or emptied state file is not taken for a new agent's.
const SnapshotName = FileName + ".snapshot"

// lockTimeout is how long Open waits for another process to release the
// state file.
const lockTimeout = 2 * time.Second

// FileError says why a state file cannot be used as it is, which file, and
// what the operator can do: the agent exits with it rather than guess.
type FileError struct {
	Path    string
	Problem string // "is damaged (…)", "is empty (0 bytes)", …
	Advice  string
}

func (e *FileError) Error() string {
	return fmt.Sprintf("state file %s %s; %s", e.Path, e.Problem, e.Advice)
}

// errInUse is the answer when another process holds the state file.
func errInUse(path string) error {
	return fmt.Errorf("opening %s: another agent holds it; stop that agent or use another --state-dir", path)
}

// checkBeforeOpen refuses a state file bbolt would panic on, and one that
// is missing or empty although the snapshot shows there was state, unless
// allowEmpty. It holds a shared lock while it reads, so it never reads a
// file a running agent is writing.
func checkBeforeOpen(dir string, allowEmpty bool) error {
	path := filepath.Join(dir, FileName)
	snapshot := snapshotInfo(dir)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		if snapshot == "" {
			return nil
		}
		if !allowEmpty {
			return &FileError{Path: path, Problem: "is missing although " + snapshot + " shows this agent had state",
				Advice: restoreAdvice(dir) + ", or start the agent once with --allow-empty-state to begin with no configuration and no leases"}
		}
		return setSnapshotAside(dir)
	}
	if err != nil {
		return fmt.Errorf("opening %s: %w", path, err)
	}
	defer f.Close()
	if err := lock(f, syscall.LOCK_SH); err != nil {
		return errInUse(path)
	}
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("opening %s: %w", path, err)
	}
	if info.Size() == 0 {
		if allowEmpty {
			return setSnapshotAside(dir)
		}
		advice := "remove it or start the agent once with --allow-empty-state to begin with no configuration and no leases"
		if snapshot != "" {
			advice = restoreAdvice(dir) + ", or " + advice
		}
		return &FileError{Path: path, Problem: "is empty (0 bytes): its configuration and leases are gone", Advice: advice}
	}
	if err := (&fileChecker{r: f, size: info.Size()}).check(); err != nil {
		return damaged(dir, err)
	}
	return nil
}

// setSnapshotAside keeps the snapshot of the state an agent starting
// empty gives up, under a name the next snapshot does not overwrite.
func setSnapshotAside(dir string) error {
	snapshot := filepath.Join(dir, SnapshotName)
	err := os.Rename(snapshot, snapshot+".replaced-"+time.Now().UTC().Format("20060102T150405Z"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("setting %s aside: %w", snapshot, err)
	}
	return nil
}

func damaged(dir string, err error) *FileError {
	advice := "no snapshot exists (" + SnapshotName + "): move the file away to start with no configuration and no leases, then apply the Terraform configuration again"
	if snapshotInfo(dir) != "" {
		advice = restoreAdvice(dir)
	}
	return &FileError{Path: filepath.Join(dir, FileName), Problem: "is damaged (" + err.Error() + ")", Advice: advice}
}

func restoreAdvice(dir string) string {
	return fmt.Sprintf("restore %s with `terraform-provider-netboot agent db restore --state-dir %s`", snapshotInfo(dir), dir)
}

// snapshotInfo names the snapshot and its age ("" when there is none).
func snapshotInfo(dir string) string {
	info, err := os.Stat(filepath.Join(dir, SnapshotName))
	if err != nil || info.Size() == 0 {
		return ""
	}
	return fmt.Sprintf("the snapshot %s of %s", SnapshotName, info.ModTime().UTC().Format(time.RFC3339))
}

// lock takes a flock of kind how (LOCK_SH or LOCK_EX) on f, waiting up to
// lockTimeout for another holder. bbolt takes the same locks, so this
// excludes a running agent.
func lock(f *os.File, how int) error {
	deadline := time.Now().Add(lockTimeout)
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err == nil || !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// openBolt opens path with bbolt, turning a panic on a page the check let
// through into an error rather than a crash.
func openBolt(path string, opts *bolt.Options) (db *bolt.DB, err error) {
	err = noPanic(func() error {
		db, err = bolt.Open(path, 0o600, opts)
		return err
	})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, errInUse(path)
	}
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	return db, nil
}

// errInconsistent marks a panic of bbolt's turned into an error.
var errInconsistent = errors.New("inconsistent pages")

// noPanic runs f, returning a panic in it (bbolt asserts on pages it finds
// inconsistent, and faults on a file shorter than its map) as an error.
func noPanic(f func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", errInconsistent, r)
		}
	}()
	return f()
}

// Snapshot writes a consistent copy of the state to SnapshotName: a read
// transaction's view, written so that a crash leaves the old or the new
// snapshot whole (writeAtomic).
func (s *Store) Snapshot() error {
	path := filepath.Join(filepath.Dir(s.db.Path()), SnapshotName)
	err := writeAtomic(path, func(f *os.File) error {
		return s.db.View(func(tx *bolt.Tx) error {
			_, err := tx.WriteTo(f)
			return err
		})
	})
	if err != nil {
		return fmt.Errorf("writing snapshot %s: %w", path, err)
	}
	return nil
}

// writeAtomic fills a temporary file beside path, fsyncs it, renames it
// over path and fsyncs the directory.
func writeAtomic(path string, fill func(*os.File) error) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	err = fill(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err == nil {
		err = syncDir(dir)
	}
	return err
}

// snapshotTx is the transaction id the snapshot in dir was taken at and
// its size, -1 when there is none or it cannot be read.
func snapshotTx(dir string) (int, int64) {
	f, err := os.Open(filepath.Join(dir, SnapshotName))
	if err != nil {
		return -1, 0
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return -1, 0
	}
	c := &fileChecker{r: f, size: info.Size()}
	if c.readMeta() != nil {
		return -1, 0
	}
	return int(c.meta.txid), info.Size()
}

// LastTx is the id of the last committed transaction: a snapshot taken at
// an equal id holds everything.
func (s *Store) LastTx() int {
	var id int
	_ = s.db.View(func(tx *bolt.Tx) error { id = tx.ID(); return nil })
	return id
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Restored says what Restore did.
type Restored struct {
	Snapshot string // "the snapshot state.db.snapshot of 2026-…"
	Kept     string // where the replaced state file is now ("" if none)
}

// Restore replaces the state file in dir with its snapshot, after checking
// the snapshot. The replaced file, if any, is kept beside it, for a later
// look. It refuses while a process holds the state file.
func Restore(dir string) (r Restored, err error) {
	path := filepath.Join(dir, FileName)
	snapPath := filepath.Join(dir, SnapshotName)
	if r.Snapshot = snapshotInfo(dir); r.Snapshot == "" {
		return r, fmt.Errorf("there is no snapshot %s to restore", snapPath)
	}
	if f, err := os.Open(path); err == nil {
		defer f.Close()
		if err := lock(f, syscall.LOCK_EX); err != nil {
			return r, fmt.Errorf("%s is in use by a running agent: stop it first", path)
		}
	}
	if err := checkFile(snapPath); err != nil {
		return r, fmt.Errorf("the snapshot %s is damaged too (%v): no good copy is left; move both away to start with no configuration and no leases", snapPath, err)
	}
	src, err := os.Open(snapPath)
	if err != nil {
		return r, err
	}
	defer src.Close()
	if info, err := os.Stat(path); err == nil && info.Size() > 0 {
		r.Kept = path + ".replaced-" + time.Now().UTC().Format("20060102T150405Z")
		if err := os.Link(path, r.Kept); err != nil {
			return r, fmt.Errorf("keeping the replaced file: %w", err)
		}
	}
	err = writeAtomic(path, func(f *os.File) error {
		if _, err := io.Copy(f, src); err != nil {
			return err
		}
		return f.Chmod(0o600)
	})
	if err != nil {
		return r, fmt.Errorf("copying %s to %s: %w", snapPath, path, err)
	}
	return r, nil
}

// FileReport is what Check found in one state file.
type FileReport struct {
	Path    string
	Missing bool
	InUse   bool // held by a running agent, so not read
	Written time.Time
	Schema  int
	Objects map[string]int // by noun: "boot server", …, "lease", "artifact"
	Err     error          // the damage found, nil when the file is sound
	// Journal: the file is a lease journal; Objects counts its "lease
	// change"s not yet in the state file, and Torn says where a torn
	// last frame was ignored ("" for none).
	Journal bool
	Torn    string

	journalFolded uint64 // of a state file: the journal's last generation in it
}

// Check reads the state file, the snapshot and the lease journal in dir
// through and reports on each: whether bbolt can read every page, whether
// every record decodes, and whether the journal can be replayed. Files a
// running agent holds are reported as in use.
func Check(dir string) []FileReport {
	state := checkOne(filepath.Join(dir, FileName))
	reports := []FileReport{state, checkOne(filepath.Join(dir, SnapshotName))}
	for i := range 2 {
		reports = append(reports, checkJournal(filepath.Join(dir, journalName(i)), state))
	}
	return reports
}

// checkJournal reports on journal file path beside the state file that
// state reports on.
func checkJournal(path string, state FileReport) FileReport {
	r := FileReport{Path: path, Journal: true, InUse: state.InUse}
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		r.Missing = true
		return r
	case err != nil:
		r.Err = err
		return r
	case r.InUse:
		return r
	}
	r.Written = info.ModTime()
	jc, err := readJournal(path, state.journalFolded)
	if err != nil {
		r.Err = errors.New(err.(*JournalError).Reason)
		return r
	}
	r.Torn = jc.torn
	r.Objects = map[string]int{}
	if jc.gen > state.journalFolded {
		for _, f := range jc.frames {
			r.Objects["lease change"] += len(f.changes)
		}
	}
	return r
}

func checkOne(path string) FileReport {
	r := FileReport{Path: path}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		r.Missing = true
		return r
	}
	if err != nil {
		r.Err = err
		return r
	}
	defer f.Close()
	if err := lock(f, syscall.LOCK_SH); err != nil {
		r.InUse = true
		return r
	}
	info, err := f.Stat()
	if err != nil {
		r.Err = err
		return r
	}
	r.Written = info.ModTime()
	if info.Size() == 0 {
		r.Err = errors.New("the file is empty (0 bytes)")
		return r
	}
	if err := (&fileChecker{r: f, size: info.Size()}).check(); err != nil {
		r.Err = err
		return r
	}
	db, err := openBolt(path, &bolt.Options{ReadOnly: true, Timeout: lockTimeout})
	if err != nil {
		r.Err = err
		return r
	}
	defer db.Close()
	r.Objects = map[string]int{}
	r.Err = noPanic(func() error { return db.View(func(tx *bolt.Tx) error { return checkRecords(tx, &r) }) })
	return r
}

// checkRecords decodes every record: configuration objects are protobuf,
// leases and artifact records JSON.
func checkRecords(tx *bolt.Tx, r *FileReport) error {
	if meta := tx.Bucket(bucketMeta); meta != nil {
		if v := meta.Get(keySchemaVersion); v != nil {
			if err := json.Unmarshal(v, &r.Schema); err != nil {
				return fmt.Errorf("schema version: %w", err)
			}
		}
		if v := meta.Get(keyJournalFolded); len(v) == 8 {
			r.journalFolded = binary.BigEndian.Uint64(v)
		}
	}
	for _, k := range []Kind{BootServers, BootEntries, BootMenus, NFSRootImages, Machines, MachineConfigs} {
		b := tx.Bucket(k.bucket)
		if b == nil {
			continue
		}
		err := b.ForEach(func(name, data []byte) error {
			r.Objects[k.noun]++
			if !validProto(data) {
				return fmt.Errorf("%s %q does not decode", k.noun, name)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if b := tx.Bucket(bucketArtifacts); b != nil {
		err := b.ForEach(func(path, data []byte) error {
			r.Objects["artifact"]++
			if !json.Valid(data) {
				return fmt.Errorf("artifact record %q does not decode", path)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	leases := tx.Bucket(bucketLeases)
	if leases == nil {
		return nil
	}
	return leases.ForEachBucket(func(server []byte) error {
		return leases.Bucket(server).ForEach(func(k, v []byte) error {
			r.Objects["lease"]++
			if _, ok := recordAddr(k, v); !ok || !json.Valid(recordJSON(k, v)) {
				return fmt.Errorf("a lease record of boot server %q does not decode", server)
			}
			return nil
		})
	})
}

// validProto says whether data is well-formed protobuf wire format.
func validProto(data []byte) bool {
	for len(data) > 0 {
		_, _, n := protowire.ConsumeField(data)
		if n < 0 {
			return false
		}
		data = data[n:]
	}
	return true
}

// updateConfig is db.Update for a configuration change, which asks for a
// new snapshot once it is stored.
func (s *Store) updateConfig(fn func(*bolt.Tx) error) error {
	if err := s.db.Update(fn); err != nil {
		return err
	}
	select {
	case s.configChanged <- struct{}{}:
	default: // one is already pending
	}
	return nil
}

// KeepSnapshots writes a snapshot now (unless the snapshot already holds
// the file as it is, as after a clean stop), after each configuration change,
// every period if leases changed since the last one, and once more when
// ctx ends, until then. A failed snapshot is reported to failed and tried
// again at the next occasion.
func (s *Store) KeepSnapshots(ctx context.Context, every time.Duration, failed func(error)) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	// Only the agent holding the state file gets here: a temporary file
	// left by one killed mid-write is no one's.
	tmps, _ := filepath.Glob(filepath.Join(filepath.Dir(s.db.Path()), "."+SnapshotName+"-*"))
	for _, tmp := range tmps {
		_ = os.Remove(tmp)
	}
	// A snapshot of the file as it is already exists when the agent
	// stopped cleanly: copying a large state file again at every start
	// would only slow the start.
	taken := -1
	_ = s.db.View(func(tx *bolt.Tx) error {
		if id, size := snapshotTx(filepath.Dir(s.db.Path())); id == tx.ID() && size == tx.Size() {
			taken = id
		}
		return nil
	})
	take := func() {
		// The snapshot holds the leases still in the journal too; one
		// that cannot be folded (a full disk) leaves a snapshot without.
		if err := s.fold(); err != nil {
			failed(err)
		}
		last := s.LastTx()
		if last == taken {
			return
		}
		if err := s.Snapshot(); err != nil {
			failed(err)
			return
		}
		taken = last
	}
	take()
	for {
		select {
		case <-ctx.Done():
			take()
			return
		case <-s.configChanged:
			take()
		case <-tick.C:
			take()
		}
	}
}
