package store

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The lease journal. A bbolt commit writes its pages, syncs, writes its
// meta page and syncs again, and with one commit per DHCPv6 batch that
// was most of the server's CPU and delay at ordinary loads. So PutLeases
// appends the batch's lease changes to a journal file instead, in one
// synced write (write and fdatasync), and returns; a goroutine folds the journal into bbolt every
// foldEvery (and sooner when it grows past foldAt), in one transaction
// for many batches. Open replays what was not folded yet.
//
// Two journal files take turns: a fold switches appends to the other file
// and then folds the records of the one it left, so appends never wait
// for bbolt. A file is overwritten in place once its records are folded:
// its blocks stay allocated and written, so an fdatasync after an append
// flushes the data alone, not the file's size or block map. It grows by
// writing zeros when a burst outruns the folds.
//
// Every append is a frame at a journalAlign boundary: a header (CRC-32C
// of the rest, length, generation, sequence number) and the changes. A
// file is written with one generation at a time (numbered up from one),
// its frames numbered from 0; the state file's meta bucket records the
// last generation folded (keyJournalFolded), so a replay skips what is
// already in bbolt. The zero header written after every frame, or a frame
// left from the file's earlier use (another generation), ends a file. A frame whose checksum fails is the torn tail
// of an append a crash cut short (its Reply never left): it is ignored and
// reported. A good frame of the same generation after it would mean a
// frame that was on disk has since been damaged: that file is refused.

// journalName is the name of journal file i beside the state file.
func journalName(i int) string { return fmt.Sprintf("%s.journal.%d", FileName, i) }

const (
	journalMagic = "netboot lease journal 1\n"
	// journalAlign is where frames start: a damaged frame is skipped by
	// looking at the next boundaries.
	journalAlign = 512
	// frameHeaderSize: CRC-32C u32, length u32, generation u64, sequence u64.
	frameHeaderSize = 24
	// journalFirstSize is a new journal file's size. An append that
	// needs more grows it by up to growStep, and after each fold the file
	// appends move to next is grown ahead, off their path, to twice the
	// most a file has held.
	journalFirstSize = 64 << 10
	growStep         = 256 << 10
	// foldAt is the size of the active file past which it is folded at
	// once rather than at the next tick.
	foldAt = 1 << 20
	// foldEvery is how often the journal is folded into bbolt.
	foldEvery = time.Second

	opPut    = 1
	opDelete = 2
)

var (
	keyJournalFolded = []byte("journal_folded")
	castagnoli       = crc32.MakeTable(crc32.Castagnoli)
)

// change is one lease change of a journal frame: the lease record as
// bbolt stores it (record), or a delete (record nil).
type change struct {
	addr   netip.Addr
	record []byte
}

// frame is one decoded journal frame: the changes of one PutLeases call.
type frame struct {
	gen, seq uint64
	bucket   string
	changes  []change
}

// appendFrame appends f encoded to buf, padded with zeros to journalAlign
// and followed by a zero header that ends the file there.
func appendFrame(buf []byte, f frame) []byte {
	start := len(buf)
	buf = append(buf, make([]byte, frameHeaderSize)...)
	buf = binary.LittleEndian.AppendUint16(buf, uint16(len(f.bucket)))
	buf = append(buf, f.bucket...)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(f.changes)))
	for _, c := range f.changes {
		a := c.addr.As16()
		if c.record == nil {
			buf = append(buf, opDelete)
			buf = append(buf, a[:]...)
			continue
		}
		buf = append(buf, opPut)
		buf = binary.LittleEndian.AppendUint32(buf, uint32(len(c.record)))
		buf = append(buf, c.record...)
	}
	h := buf[start:]
	binary.LittleEndian.PutUint32(h[4:], uint32(len(h)))
	binary.LittleEndian.PutUint64(h[8:], f.gen)
	binary.LittleEndian.PutUint64(h[16:], f.seq)
	binary.LittleEndian.PutUint32(h[0:], crc32.Checksum(h[4:], castagnoli))
	return append(buf, make([]byte, padding(len(h))+frameHeaderSize)...)
}

// padding is how many zeros take n bytes to the next journalAlign.
func padding(n int) int { return (journalAlign - n%journalAlign) % journalAlign }

// frameEnd says why a frame could not be read at an offset.
type frameEnd int

const (
	frameOK   frameEnd = iota
	frameZero          // the zero header: the file ends cleanly
	frameBad           // damaged or torn
)

// parseFrame reads the frame at the start of data (which runs to the end
// of the file), returning it and its length.
func parseFrame(data []byte) (frame, int, frameEnd, error) {
	if len(data) < frameHeaderSize {
		return frame{}, 0, frameZero, nil
	}
	sum, n := binary.LittleEndian.Uint32(data), binary.LittleEndian.Uint32(data[4:])
	if sum == 0 && n == 0 {
		return frame{}, 0, frameZero, nil
	}
	if n < frameHeaderSize || uint64(n) > uint64(len(data)) {
		return frame{}, 0, frameBad, fmt.Errorf("a frame claims %d bytes", n)
	}
	data = data[:n]
	if crc32.Checksum(data[4:], castagnoli) != sum {
		return frame{}, 0, frameBad, errors.New("a frame's checksum does not match")
	}
	f := frame{gen: binary.LittleEndian.Uint64(data[8:]), seq: binary.LittleEndian.Uint64(data[16:])}
	body := data[frameHeaderSize:]
	// Past the checksum, a malformed body is a bug of the writer, not a
	// torn write; it is refused all the same.
	bad := func(what string) (frame, int, frameEnd, error) {
		return frame{}, 0, frameBad, fmt.Errorf("frame %d of generation %d: %s", f.seq, f.gen, what)
	}
	if len(body) < 2 || len(body) < 2+int(binary.LittleEndian.Uint16(body))+4 {
		return bad("shorter than its boot server name")
	}
	nameLen := int(binary.LittleEndian.Uint16(body))
	f.bucket, body = string(body[2:2+nameLen]), body[2+nameLen:]
	count := binary.LittleEndian.Uint32(body)
	body = body[4:]
	if uint64(count) > uint64(len(body))/17 {
		return bad(fmt.Sprintf("claims %d changes, more than fit", count))
	}
	f.changes = make([]change, 0, count)
	for range count {
		if len(body) < 1 {
			return bad("a change is cut short")
		}
		op := body[0]
		body = body[1:]
		switch op {
		case opDelete:
			if len(body) < 16 {
				return bad("a delete is cut short")
			}
			f.changes = append(f.changes, change{addr: netip.AddrFrom16([16]byte(body[:16]))})
			body = body[16:]
		case opPut:
			if len(body) < 4 {
				return bad("a lease is cut short")
			}
			size := binary.LittleEndian.Uint32(body)
			body = body[4:]
			if size < 16 || uint64(size) > uint64(len(body)) {
				return bad(fmt.Sprintf("a lease claims %d bytes", size))
			}
			record := body[:size:size]
			f.changes = append(f.changes, change{addr: netip.AddrFrom16([16]byte(record[:16])), record: record})
			body = body[size:]
		default:
			return bad(fmt.Sprintf("a change has the unknown kind %d", op))
		}
	}
	if len(body) != 0 {
		return bad("bytes follow its last change")
	}
	return f, int(n), frameOK, nil
}

// journalContents is what a journal file holds.
type journalContents struct {
	gen    uint64 // of its frames; 0: none
	frames []frame
	// torn is where a torn last frame was found and why, "" for none.
	torn string
}

// parseJournal reads a whole journal file, whose generations up to folded
// are in bbolt. It fails only when the file is not a journal or a frame
// was damaged after a later one was written.
func parseJournal(data []byte, folded uint64) (journalContents, error) {
	var jc journalContents
	if len(data) < journalAlign || string(data[:len(journalMagic)]) != journalMagic {
		return jc, errors.New("it does not start with the journal header")
	}
	off := journalAlign
	for off < len(data) {
		f, n, end, err := parseFrame(data[off:])
		if end == frameZero {
			break
		}
		if end == frameOK && (jc.gen == 0 || f.gen == jc.gen) && f.seq == uint64(len(jc.frames)) {
			jc.gen = f.gen
			jc.frames = append(jc.frames, f)
			off += n + padding(n)
			continue
		}
		if end == frameOK {
			break // a frame of an earlier use of the file
		}
		if later := frameAfter(data, off, jc, folded); later != "" {
			return jc, fmt.Errorf("at byte %d: %v, yet %s follows", off, err, later)
		}
		jc.torn = fmt.Sprintf("at byte %d: %v", off, err)
		break
	}
	return jc, nil
}

// frameAfter names a sound frame of jc's generation (any after folded
// when the bad frame was the first) past the bad one at off, "" when there
// is none: the bad frame was then the last written.
func frameAfter(data []byte, off int, jc journalContents, folded uint64) string {
	for at := off + journalAlign; at < len(data); at += journalAlign {
		f, _, end, _ := parseFrame(data[at:])
		current := f.gen == jc.gen || (jc.gen == 0 && f.gen > folded)
		if end == frameOK && current && f.seq > uint64(len(jc.frames)) {
			return fmt.Sprintf("frame %d at byte %d", f.seq, at)
		}
	}
	return ""
}

// JournalError says why a lease journal file cannot be replayed.
type JournalError struct {
	Path   string
	Reason string
}

func (e *JournalError) Error() string {
	return fmt.Sprintf("lease journal %s is damaged (%s): leases granted since the state file was last written cannot be read back; move it away to start without them", e.Path, e.Reason)
}

// readJournal reads journal file path (see parseJournal); a missing file
// is an empty one.
func readJournal(path string, folded uint64) (journalContents, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return journalContents{}, nil
	}
	if err != nil {
		return journalContents{}, fmt.Errorf("reading lease journal: %w", err)
	}
	jc, err := parseJournal(data, folded)
	if err != nil {
		return jc, &JournalError{Path: path, Reason: err.Error()}
	}
	return jc, nil
}

// journalFile is one of the two journal files, open for appends.
type journalFile struct {
	f    *os.File
	fd   int
	gen  uint64 // of the frames being written; its records are folded once gen <= journal.folded
	seq  uint64 // of the next frame
	off  int64  // where the next frame goes
	size int64  // bytes written (zeros beyond off)
}

// journal is the open lease journal of a Store.
type journal struct {
	sync bool
	// noDSync: the kernel refused RWF_DSYNC; write, then fdatasync.
	noDSync bool

	mu     sync.Mutex
	files  [2]journalFile
	active int
	// folded is the last generation folded into bbolt.
	folded uint64
	// pending are the changes appended and not yet folded, in order.
	pending []pendingChange
	// foldErr is the last fold's failure, nil once one succeeds.
	foldErr error
	// peak is the most a file held between two folds.
	peak int64
	buf  []byte

	// foldMu makes one fold at a time.
	foldMu sync.Mutex
	kick   chan struct{}
	stop   chan struct{}
	done   chan struct{}
}

type pendingChange struct {
	ls *Leases
	change
}

// openJournal opens (creating) the two journal files in dir for appends,
// the first active with generation next.
func openJournal(dir string, next, folded uint64, sync bool) (*journal, error) {
	j := &journal{sync: sync, folded: folded, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	for i := range j.files {
		path := filepath.Join(dir, journalName(i))
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			err := writeAtomic(path, func(f *os.File) error {
				header := make([]byte, journalFirstSize)
				copy(header, journalMagic)
				_, err := f.Write(header)
				return err
			})
			if err != nil {
				j.close()
				return nil, fmt.Errorf("creating lease journal %s: %w", path, err)
			}
		}
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			j.close()
			return nil, fmt.Errorf("opening lease journal: %w", err)
		}
		info, err := f.Stat()
		if err != nil {
			f.Close()
			j.close()
			return nil, fmt.Errorf("opening lease journal: %w", err)
		}
		j.files[i] = journalFile{f: f, fd: int(f.Fd()), off: journalAlign, size: info.Size()}
	}
	// What the files hold is folded (replayJournal): a zero header at each
	// one's first frame hides it, so a torn frame found there is reported
	// once, not at every start.
	for i := range j.files {
		if err := j.write(&j.files[i], make([]byte, frameHeaderSize)); err != nil {
			j.close()
			return nil, err
		}
	}
	j.files[0].gen = next
	return j, nil
}

func (j *journal) close() {
	for _, f := range j.files {
		if f.f != nil {
			f.f.Close()
		}
	}
}

// append writes the changes of one PutLeases call of ls as one frame,
// synced unless the store is NoSync, and queues them for the next fold.
func (j *journal) append(ls *Leases, changes []change) error {
	if len(ls.bucket) > bolt.MaxKeySize {
		return fmt.Errorf("storing leases of boot server %.40q…: its name is longer than %d bytes", ls.bucket, bolt.MaxKeySize)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	jf := &j.files[j.active]
	j.buf = appendFrame(j.buf[:0], frame{gen: jf.gen, seq: jf.seq, bucket: string(ls.bucket), changes: changes})
	if err := j.write(jf, j.buf); err != nil {
		return err
	}
	jf.off += int64(len(j.buf) - frameHeaderSize)
	jf.seq++
	for _, c := range changes {
		j.pending = append(j.pending, pendingChange{ls, c})
	}
	if jf.off >= foldAt {
		select {
		case j.kick <- struct{}{}:
		default:
		}
	}
	return nil
}

// grow writes zeros to jf up to size, so that appends there overwrite
// blocks the file has (see journal). It syncs only with the next write.
func grow(jf *journalFile, size int64) error {
	if size <= jf.size {
		return nil
	}
	if _, err := jf.f.WriteAt(make([]byte, size-jf.size), jf.size); err != nil {
		if info, serr := jf.f.Stat(); serr == nil {
			jf.size = info.Size()
		}
		return fmt.Errorf("growing lease journal %s: %w", jf.f.Name(), err)
	}
	jf.size = size
	return nil
}

// write writes data at jf.off, growing the file with zeros first when it
// is too short, and syncs it.
func (j *journal) write(jf *journalFile, data []byte) error {
	if end := jf.off + int64(len(data)); end > jf.size {
		if err := grow(jf, max(min(2*jf.size, jf.size+growStep), end)); err != nil {
			return err
		}
	}
	if j.sync && !j.noDSync {
		// One system call writes and syncs; a kernel or file system
		// without it gets the two calls.
		n, supported, err := writeDSync(jf.fd, data, jf.off)
		switch {
		case !supported:
			j.noDSync = true
		case err != nil:
			return fmt.Errorf("writing lease journal %s: %w", jf.f.Name(), err)
		case n == len(data):
			return nil
		}
	}
	if _, err := jf.f.WriteAt(data, jf.off); err != nil {
		return fmt.Errorf("writing lease journal %s: %w", jf.f.Name(), err)
	}
	if !j.sync {
		return nil
	}
	if err := syncData(jf.fd); err != nil {
		return fmt.Errorf("syncing lease journal %s: %w", jf.f.Name(), err)
	}
	return nil
}

// takeForFold hands the pending changes to a fold, with the generation
// folding them completes. It switches appends to the other file when that
// one's records are all folded; otherwise (a fold failed) the active
// file's are folded as far as they go and folded again at a replay, which
// does no harm, as a later change of an address replaces an earlier one.
func (j *journal) takeForFold() ([]pendingChange, uint64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	cur, other := &j.files[j.active], &j.files[1-j.active]
	j.peak = max(j.peak, cur.off)
	through := other.gen
	if other.gen <= j.folded {
		through = cur.gen
		other.gen, other.seq, other.off = cur.gen+1, 0, journalAlign
		j.active = 1 - j.active
	}
	pending := j.pending
	j.pending = nil
	return pending, through
}

// foldDone records the outcome of a fold of pending through generation
// through.
func (j *journal) foldDone(pending []pendingChange, through uint64, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.foldErr = err
	if err != nil {
		j.pending = append(pending, j.pending...)
		return
	}
	j.folded = max(j.folded, through)
}

// fold writes the journal's pending changes into bbolt, in one
// transaction that also records the generation they complete.
func (s *Store) fold() error {
	j := s.journal
	j.foldMu.Lock()
	defer j.foldMu.Unlock()
	j.mu.Lock()
	empty := len(j.pending) == 0
	j.mu.Unlock()
	if empty {
		return nil
	}
	// Frames of the file's earlier use stay behind the new ones, but a
	// replay skips their generation, which is folded.
	pending, through := j.takeForFold()
	err := s.applyChanges(pending, through)
	j.foldDone(pending, through, err)
	if err != nil {
		return fmt.Errorf("writing the lease journal into %s: %w", s.db.Path(), err)
	}
	j.growAhead()
	return nil
}

// growAhead grows the file appends do not use to twice the peak, so that
// when a fold switches appends to it a burst finds its blocks written. Only
// a fold (holding foldMu) switches files, so appends never touch it
// meanwhile. Best effort: an append grows what is still missing.
func (j *journal) growAhead() {
	j.mu.Lock()
	idle, want := &j.files[1-j.active], 2*j.peak
	j.mu.Unlock()
	if idle.size >= want {
		return
	}
	size := idle.size
	err := grow(idle, want)
	if err == nil && j.sync {
		err = syncData(idle.fd)
	}
	if err != nil {
		j.mu.Lock()
		idle.size = size // the sync failed: appends grow it again
		j.mu.Unlock()
	}
}

// foldLoop folds the journal every foldEvery, and when an append kicks it,
// until stop.
func (s *Store) foldLoop() {
	j := s.journal
	defer close(j.done)
	tick := time.NewTicker(foldEvery)
	defer tick.Stop()
	for {
		select {
		case <-j.stop:
			return
		case <-tick.C:
		case <-j.kick:
		}
		// A failure is kept in foldErr: the next PutLeases reports it.
		_ = s.fold()
	}
}

// foldFailed is the last fold's failure, once a fold tried again at once
// fails as well.
func (s *Store) foldFailed() error {
	s.journal.mu.Lock()
	err := s.journal.foldErr
	s.journal.mu.Unlock()
	if err == nil {
		return nil
	}
	return s.fold()
}

// replayJournal reads both journal files of dir and returns their frames
// of generations after folded, oldest first, the highest generation seen
// and the torn frames it ignored.
func replayJournal(dir string, folded uint64) (frames []frame, last uint64, notices []string, err error) {
	var files []journalContents
	last = folded
	for i := range 2 {
		path := filepath.Join(dir, journalName(i))
		jc, err := readJournal(path, folded)
		if err != nil {
			return nil, 0, nil, err
		}
		if jc.torn != "" {
			notices = append(notices, fmt.Sprintf("lease journal %s: ignored a torn last frame %s (an append a crash cut short, whose Replies never left)", path, jc.torn))
		}
		if jc.gen > folded {
			files = append(files, jc)
		}
		last = max(last, jc.gen)
	}
	slices.SortFunc(files, func(a, b journalContents) int { return cmp.Compare(a.gen, b.gen) })
	for _, jc := range files {
		frames = append(frames, jc.frames...)
	}
	return frames, last, notices, nil
}
