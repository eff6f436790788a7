// Package store keeps the agent's configuration and leases in one bbolt file
// under the state dir. Every configuration write is one bbolt transaction,
// fsynced before it returns, so a kill -9 at any moment leaves either the
// old or the new state. Lease changes are appended to a journal beside it,
// fsynced before PutLeases returns, and folded into the bbolt file in the
// background (journal.go).
package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
	"google.golang.org/protobuf/proto"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/keyset"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// SchemaVersion is the layout of the state file. Open migrates older layouts
// forward and refuses newer ones, so an upgrade never loses leases and a
// downgrade never misreads them.
//
// Version 2 added lease records keyed by sequence (see Leases); version 1
// records, keyed by address, are still read and are replaced as their
// leases change, so the step from 1 is only the version number.
const SchemaVersion = 2

// FileName is the state file inside the state dir.
const FileName = "state.db"

var (
	bucketMeta       = []byte("meta")
	bucketLeases     = []byte("leases") // holds one sub-bucket per boot server
	keySchemaVersion = []byte("schema_version")
)

// ErrNotFound is returned when an object does not exist.
var ErrNotFound = errors.New("not found")

// Store is the agent's persistent state.
type Store struct {
	db      *bolt.DB
	journal *journal
	// notices are what Open found and recovered from (a torn journal
	// frame), for the agent to log.
	notices   []string
	closeOnce sync.Once
	closeErr  error

	mu     sync.Mutex
	leases map[string]*Leases // by boot server: one index per bucket

	// configChanged asks the snapshot loop for a new snapshot.
	configChanged chan struct{}
}

// Open opens (creating if needed) the state file in dir. Every write is
// on disk (fsync) when it returns.
func Open(dir string) (*Store, error) { return OpenWith(dir, Options{}) }

// Options tune how the state file is written.
type Options struct {
	// NoSync leaves writes in the OS page cache instead of fsyncing each
	// transaction: they still survive the agent crashing or being killed
	// (the kernel holds them), but not a power cut or kernel crash, which
	// may lose the last seconds of changes. Atomicity is unchanged: bbolt
	// never exposes a half-written transaction. It is what Kea's memfile
	// lease file does, and trades durability for latency.
	NoSync bool
	// AllowEmpty starts with no configuration and no leases when the state
	// file is missing or empty although a snapshot shows there was state:
	// the operator's word that it is gone for good. The snapshot is set
	// aside, not overwritten.
	AllowEmpty bool
}

// OpenWith is Open with options. It first checks the file (see
// checkFile): a damaged, emptied or vanished state file is a *FileError
// that names the file and the way out, never a panic and never a silent
// fresh start.
func OpenWith(dir string, o Options) (*Store, error) {
	// A journal beside a state file that is not there (or empty) belongs
	// to state given up for good: it is set aside, never replayed into a
	// new file.
	info, err := os.Stat(filepath.Join(dir, FileName))
	fresh := err != nil || info.Size() == 0
	if err := checkBeforeOpen(dir, o.AllowEmpty); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, FileName)
	db, err := openBolt(path, &bolt.Options{
		Timeout: lockTimeout,
		NoSync:  o.NoSync,
		// Lease commits are frequent and small: not writing the free list
		// with each (it is rebuilt by a scan at open) and keeping it in a
		// map (etcd's settings) cuts what each commit writes and costs.
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	})
	if errors.Is(err, errInconsistent) {
		return nil, damaged(dir, err)
	}
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, configChanged: make(chan struct{}, 1)}
	if err := noPanic(s.migrate); err != nil {
		_ = db.Close()
		if errors.Is(err, errInconsistent) {
			return nil, damaged(dir, err)
		}
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	if fresh {
		err = setJournalAside(dir)
	}
	if err == nil {
		err = s.openJournal(dir, !o.NoSync)
	}
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	go s.foldLoop()
	return s, nil
}

// openJournal replays the lease journal into bbolt and opens it for
// appends.
func (s *Store) openJournal(dir string, sync bool) error {
	var folded uint64
	_ = s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keyJournalFolded); len(v) == 8 {
			folded = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	frames, last, notices, err := replayJournal(dir, folded)
	if err != nil {
		return err
	}
	s.notices = notices
	if last > folded {
		var pending []pendingChange
		for _, f := range frames {
			ls := s.Leases(f.bucket)
			for _, c := range f.changes {
				pending = append(pending, pendingChange{ls, c})
			}
		}
		if err := s.applyChanges(pending, last); err != nil {
			return fmt.Errorf("replaying the lease journal into %s: %w", s.db.Path(), err)
		}
	}
	s.journal, err = openJournal(dir, last+1, last, sync)
	return err
}

// setJournalAside keeps journal files of state given up under names the
// agent does not read.
func setJournalAside(dir string) error {
	for i := range 2 {
		path := filepath.Join(dir, journalName(i))
		err := os.Rename(path, path+".replaced-"+time.Now().UTC().Format("20060102T150405Z"))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("setting %s aside: %w", path, err)
		}
	}
	return nil
}

// Notices are what Open recovered from, one line each, for the log.
func (s *Store) Notices() []string { return s.notices }

// Close folds the lease journal into the state file and releases both.
// Closing again does nothing.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.journal.stop)
		<-s.journal.done
		err := s.fold()
		s.journal.close()
		s.closeErr = errors.Join(err, s.db.Close())
	})
	return s.closeErr
}

func (s *Store) migrate() error {
	if s.current() {
		return nil
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		version := 0
		if v := meta.Get(keySchemaVersion); v != nil {
			if err := json.Unmarshal(v, &version); err != nil {
				return fmt.Errorf("reading schema version: %w", err)
			}
		}
		if version > SchemaVersion {
			return fmt.Errorf("state written by a newer agent (schema %d, this agent knows %d): upgrade the agent", version, SchemaVersion)
		}
		// Version 0 is an empty file; later versions add their steps here.
		for _, name := range buckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		v, _ := json.Marshal(SchemaVersion)
		return meta.Put(keySchemaVersion, v)
	})
}

// buckets are the top-level buckets of the current schema.
var buckets = [][]byte{BootServers.bucket, BootEntries.bucket, BootMenus.bucket, NFSRootImages.bucket, Machines.bucket, MachineConfigs.bucket, bucketLeases}

// current reports whether the file already has the current schema and
// every bucket, so that opening it need not write (and a snapshot of it
// stays current).
func (s *Store) current() bool {
	ok := false
	_ = s.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil || string(meta.Get(keySchemaVersion)) != strconv.Itoa(SchemaVersion) {
			return nil
		}
		ok = !slices.ContainsFunc(buckets, func(name []byte) bool { return tx.Bucket(name) == nil })
		return nil
	})
	return ok
}

// Kind is a bucket of named API objects stored as protobuf.
type Kind struct {
	bucket []byte
	noun   string // for errors: "boot server", "boot entry", …
}

// The kinds of object the agent stores.
var (
	BootServers = Kind{[]byte("boot_servers"), "boot server"}
	BootEntries = Kind{[]byte("boot_entries"), "boot entry"}
	BootMenus   = Kind{[]byte("boot_menus"), "boot menu"}
	// NFSRootImages stores NFSRootImageState: the config plus what the
	// agent built from it.
	NFSRootImages = Kind{[]byte("nfs_root_images"), "NFS root image"}
	Machines      = Kind{[]byte("machines"), "machine"}
	// MachineConfigs are netboot_config templates.
	MachineConfigs = Kind{[]byte("machine_configs"), "machine config"}
)

// Put creates or replaces the object name of kind k.
func (s *Store) Put(k Kind, name string, m proto.Message) error {
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return fmt.Errorf("encoding %s %q: %w", k.noun, name, err)
	}
	return s.updateConfig(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(k.bucket)
		if err != nil {
			return err
		}
		return b.Put([]byte(name), data)
	})
}

// Get decodes the object name into m; ErrNotFound when it does not exist.
func (s *Store) Get(k Kind, name string, m proto.Message) error {
	return s.db.View(func(tx *bolt.Tx) error {
		var data []byte
		if b := tx.Bucket(k.bucket); b != nil {
			data = b.Get([]byte(name))
		}
		if data == nil {
			return fmt.Errorf("%s %q: %w", k.noun, name, ErrNotFound)
		}
		return proto.Unmarshal(data, m)
	})
}

// List calls each with every object of kind k, in name order.
func (s *Store) List(k Kind, each func(name string, data []byte) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(k.bucket)
		if b == nil {
			return nil
		}
		return b.ForEach(func(name, data []byte) error { return each(string(name), data) })
	})
}

// Delete removes the object name; ErrNotFound when it does not exist. For
// boot servers it removes their leases in the same transaction.
func (s *Store) Delete(k Kind, name string) error {
	// The boot server's leases still in the journal go with its bucket,
	// and are not replayed into a new one of the same name.
	if string(k.bucket) == string(BootServers.bucket) {
		if err := s.fold(); err != nil {
			return err
		}
	}
	return s.updateConfig(func(tx *bolt.Tx) error {
		b := tx.Bucket(k.bucket)
		if b == nil || b.Get([]byte(name)) == nil {
			return fmt.Errorf("%s %q: %w", k.noun, name, ErrNotFound)
		}
		if err := b.Delete([]byte(name)); err != nil {
			return err
		}
		if string(k.bucket) != string(BootServers.bucket) {
			return nil
		}
		err := tx.Bucket(bucketLeases).DeleteBucket([]byte(name))
		if errors.Is(err, berrors.ErrBucketNotFound) {
			return nil
		}
		return err
	})
}

// PutBootServer creates or replaces a boot server's configuration.
func (s *Store) PutBootServer(b *netbootv1.BootServer) error {
	return s.Put(BootServers, b.GetName(), b)
}

// GetBootServer returns ErrNotFound when name is unknown.
func (s *Store) GetBootServer(name string) (*netbootv1.BootServer, error) {
	b := &netbootv1.BootServer{}
	if err := s.Get(BootServers, name, b); err != nil {
		return nil, err
	}
	return b, nil
}

// ListBootServers returns every boot server, sorted by name.
func (s *Store) ListBootServers() ([]*netbootv1.BootServer, error) {
	var out []*netbootv1.BootServer
	err := s.List(BootServers, func(_ string, data []byte) error {
		b := &netbootv1.BootServer{}
		if err := proto.Unmarshal(data, b); err != nil {
			return err
		}
		out = append(out, b)
		return nil
	})
	return out, err
}

// DeleteBootServer removes a boot server and its leases in one transaction.
func (s *Store) DeleteBootServer(name string) error { return s.Delete(BootServers, name) }

// Leases returns the lease store of one boot server, the same one for
// every call with the same name.
func (s *Store) Leases(bootServer string) *Leases {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.leases == nil {
		s.leases = make(map[string]*Leases)
	}
	ls := s.leases[bootServer]
	if ls == nil {
		ls = &Leases{s: s, db: s.db, bucket: []byte(bootServer)}
		s.leases[bootServer] = ls
	}
	return ls
}

// Leases persists the leases of one boot server. PutLeases appends a whole
// batch to the lease journal, so one fdatasync covers it (the DHCPv6
// server's group commit), and returns only once the changes are on disk;
// the journal is folded into bbolt in the background, and before every
// read here, so reads see every change.
//
// A lease record is keyed by a sequence number from the bucket, its value
// the 16-byte address and then the lease as JSON; a changed lease gets a
// new record and its old one is deleted. Keyed by address, as schema 1
// stored them (and as is still read), the records of a boot storm land on
// random pages, since addresses are spread by a hash of the client:
// storing 64 new leases then rewrote about as many 4 KiB pages, and the
// commits were a quarter of the DHCPv6 server's CPU at 12,000 exchanges a
// second. Keyed by sequence, new leases append to the last page.
type Leases struct {
	s      *Store
	db     *bolt.DB
	bucket []byte

	mu sync.Mutex // guards keys
	// keys is the record key of each address's lease (see keyOf), learned
	// by Load or by a scan on first use. It is checked against the record
	// before a delete, and learned again if it is stale (the bucket was
	// deleted with its boot server). Plain numbers by plain addresses: a
	// million of them take tens of MB and nothing for the garbage collector
	// to scan.
	keys map[[16]byte]uint64
}

// keyOf is the record key of a's lease from its index entry: its sequence
// number, or (0) the address itself for a schema 1 record.
func keyOf(a [16]byte, seq uint64) []byte {
	if seq == 0 {
		return a[:]
	}
	return binary.BigEndian.AppendUint64(nil, seq)
}

// seqOf is the index entry of record key k.
func seqOf(k []byte) uint64 {
	if len(k) == 8 {
		return binary.BigEndian.Uint64(k)
	}
	return 0
}

// errNoAddress refuses a lease without a plain IPv6 address (no zone):
// it could never be found again by address.
var errNoAddress = errors.New("lease has no IPv6 address without a zone")

// PutLeases stores put and forgets the leases of del (missing ones are no
// error) in one journal frame, synced before it returns: either all of it
// is on disk or, on error, none of it. Deletes apply after puts.
func (ls *Leases) PutLeases(put []lease.Lease, del []netip.Addr) error {
	if len(put) == 0 && len(del) == 0 {
		return nil
	}
	changes := make([]change, 0, len(put)+len(del))
	for _, l := range put {
		if !l.Address.Is6() || l.Address.Zone() != "" {
			return fmt.Errorf("storing lease %q of DUID %x: %w", l.Address, l.DUID, errNoAddress)
		}
		a := l.Address.As16()
		record, err := lease.AppendJSON(append(make([]byte, 0, 256), a[:]...), l)
		if err != nil {
			return fmt.Errorf("encoding lease of %s: %w", l.Address, err)
		}
		changes = append(changes, change{addr: l.Address, record: record})
	}
	for _, a := range del {
		if a.Is6() && a.Zone() == "" {
			changes = append(changes, change{addr: a})
		}
	}
	// A fold that failed (a full disk) fails the writes too until one
	// works again, as writing to bbolt directly would.
	if err := ls.s.foldFailed(); err != nil {
		return err
	}
	return ls.s.journal.append(ls, changes)
}

// applyChanges writes journal changes into bbolt in one transaction that
// also records through as the last generation folded. Within a boot
// server the changes apply in order, a later change of an address
// replacing an earlier one.
func (s *Store) applyChanges(pending []pendingChange, through uint64) error {
	groups := map[*Leases][]change{}
	var order []*Leases
	for _, p := range pending {
		if _, ok := groups[p.ls]; !ok {
			order = append(order, p.ls)
		}
		groups[p.ls] = append(groups[p.ls], p.change)
	}
	slices.SortFunc(order, func(a, b *Leases) int { return bytes.Compare(a.bucket, b.bucket) })
	for _, ls := range order {
		ls.mu.Lock()
		defer ls.mu.Unlock()
	}
	// The index changes with the transaction and is thrown away if it
	// fails, to be learned again. A nil key is a deleted record.
	changed := make(map[*Leases]map[netip.Addr][]byte, len(order))
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, ls := range order {
			b, err := tx.Bucket(bucketLeases).CreateBucketIfNotExists(ls.bucket)
			if err != nil {
				return err
			}
			// Records are appended: pack the pages full.
			b.FillPercent = 0.95
			if ls.keys == nil {
				ls.keys = scanKeys(b)
			}
			ch := make(map[netip.Addr][]byte, len(groups[ls]))
			changed[ls] = ch
			for _, c := range groups[ls] {
				if err := ls.deleteRecord(b, c.addr, ch); err != nil {
					return fmt.Errorf("replacing lease of %s: %w", c.addr, err)
				}
				if c.record == nil {
					continue
				}
				seq, err := b.NextSequence()
				if err != nil {
					return fmt.Errorf("storing lease of %s: %w", c.addr, err)
				}
				key := binary.BigEndian.AppendUint64(nil, seq)
				if err := b.Put(key, c.record); err != nil {
					return fmt.Errorf("storing lease of %s: %w", c.addr, err)
				}
				ch[c.addr] = key
			}
		}
		return tx.Bucket(bucketMeta).Put(keyJournalFolded, binary.BigEndian.AppendUint64(nil, through))
	})
	for _, ls := range order {
		if err != nil {
			ls.keys = nil
			continue
		}
		for a, key := range changed[ls] {
			if key == nil {
				delete(ls.keys, a.As16())
			} else {
				ls.keys[a.As16()] = seqOf(key)
			}
		}
	}
	return err
}

// deleteRecord deletes the record of a's lease, if any, and notes it in
// changed (nil: no record). A stale index is learned again from b.
func (ls *Leases) deleteRecord(b *bolt.Bucket, a netip.Addr, changed map[netip.Addr][]byte) error {
	key, ok := changed[a]
	if !ok {
		key = ls.indexed(a)
	}
	if key != nil && !recordOf(b, key, a) {
		ls.keys = scanKeys(b)
		clear(changed) // the scan sees this transaction's writes
		key = ls.indexed(a)
	}
	changed[a] = nil
	if key == nil {
		return nil
	}
	return b.Delete(key)
}

// indexed is the record key of a's lease in keys, nil for none.
func (ls *Leases) indexed(a netip.Addr) []byte {
	seq, ok := ls.keys[a.As16()]
	if !ok {
		return nil
	}
	return keyOf(a.As16(), seq)
}

// recordOf says whether b's record under key is a lease of address a.
func recordOf(b *bolt.Bucket, key []byte, a netip.Addr) bool {
	v := b.Get(key)
	addr, ok := recordAddr(key, v)
	return ok && addr == a
}

// recordAddr is the address of the lease record key → v: in the key of a
// schema 1 record, ahead of the JSON in a sequence-keyed one.
func recordAddr(key, v []byte) (netip.Addr, bool) {
	switch {
	case v == nil:
		return netip.Addr{}, false
	case len(key) == 16:
		return netip.AddrFrom16([16]byte(key)), true
	case len(key) == 8 && len(v) >= 16:
		return netip.AddrFrom16([16]byte(v[:16])), true
	}
	return netip.Addr{}, false
}

// recordJSON is the lease JSON of the record key → v.
func recordJSON(key, v []byte) []byte {
	if len(key) == 8 && len(v) >= 16 {
		return v[16:]
	}
	return v
}

// scanKeys indexes b's records by address.
func scanKeys(b *bolt.Bucket) map[[16]byte]uint64 {
	keys := make(map[[16]byte]uint64)
	_ = b.ForEach(func(k, v []byte) error {
		if a, ok := recordAddr(k, v); ok {
			keys[a.As16()] = seqOf(k)
		}
		return nil
	})
	return keys
}

// Leases returns every stored lease, sorted by address.
func (ls *Leases) Leases() ([]lease.Lease, error) {
	var out []lease.Lease
	if err := ls.s.fold(); err != nil {
		return nil, err
	}
	err := ls.scan(lease.Decode, func(l lease.Lease) error {
		out = append(out, l)
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Address.Less(out[j].Address) })
	return out, err
}

// Load calls each with every stored lease, in no particular order, and
// learns the index of their records on the way, so that a server loading
// a million leases at start neither holds them all at once nor scans them
// again at its first write. Each lease is a view of the state file's
// memory (lease.DecodeView), valid only during the call: each copies what
// it keeps.
func (ls *Leases) Load(each func(lease.Lease) error) error {
	if err := ls.s.fold(); err != nil {
		return err
	}
	return ls.scan(lease.DecodeView, each)
}

// dropEvery is how many records scan reads between letting go of the
// file's pages (dropResident), so a scan never holds much of the file.
const dropEvery = 1 << 16

// scan decodes every record with decode and calls each, learning the index.
// One goroutine walks and decodes the records, a batch ahead, while this
// one hands them to each, so loading a million leases uses two cores.
func (ls *Leases) scan(decode func([]byte, *lease.Lease) error, each func(lease.Lease) error) error {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	keys := make(map[[16]byte]uint64)
	err := ls.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLeases).Bucket(ls.bucket)
		if b == nil {
			return nil
		}
		defer dropResident(ls.db, tx)
		// Two batches take turns; a batch's leases, and the memory
		// DecodeView reuses in each, are the decoder's again once each
		// has seen them.
		free, full, stop := make(chan []lease.Lease, 2), make(chan []lease.Lease, 2), make(chan struct{})
		free <- make([]lease.Lease, scanBatch)
		free <- make([]lease.Lease, scanBatch)
		var walkErr error
		go func() {
			defer close(full)
			var batch []lease.Lease
			n, records := 0, 0
			walkErr = b.ForEach(func(k, v []byte) error {
				if records++; records%dropEvery == 0 {
					dropResident(ls.db, tx)
				}
				if a, ok := recordAddr(k, v); ok {
					keys[a.As16()] = seqOf(k)
				}
				if batch == nil {
					select {
					case batch = <-free:
					case <-stop:
						return errStopped
					}
				}
				if err := decode(recordJSON(k, v), &batch[n]); err != nil {
					return fmt.Errorf("decoding lease: %w", err)
				}
				if n++; n == len(batch) {
					full <- batch
					batch, n = nil, 0
				}
				return nil
			})
			if n > 0 {
				full <- batch[:n]
			}
		}()
		var eachErr error
		for batch := range full {
			for _, l := range batch {
				if eachErr != nil {
					break
				}
				if eachErr = each(l); eachErr != nil {
					close(stop)
				}
			}
			free <- batch[:cap(batch)]
		}
		if eachErr != nil {
			return eachErr
		}
		return walkErr
	})
	if err == nil {
		ls.keys = keys
	}
	return err
}

// scanBatch is how many records scan decodes ahead.
const scanBatch = 1024

// errStopped ends a scan whose caller gave up.
var errStopped = errors.New("scan stopped")

// LeasesAfter returns, sorted by address, the first limit stored leases
// whose address is above after (from the lowest when after is invalid),
// live or not. It decodes only those: a page of a large bucket costs one
// pass over its keys.
func (ls *Leases) LeasesAfter(after netip.Addr, limit int) ([]lease.Lease, error) {
	var out []lease.Lease
	if err := ls.s.fold(); err != nil {
		return nil, err
	}
	err := ls.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLeases).Bucket(ls.bucket)
		if b == nil {
			return nil
		}
		page := keyset.New[netip.Addr, []byte](limit, netip.Addr.Compare)
		err := b.ForEach(func(k, v []byte) error {
			if a, ok := recordAddr(k, v); ok && (!after.IsValid() || a.Compare(after) > 0) {
				page.Offer(a, k) // k stays valid until the transaction ends
			}
			return nil
		})
		if err != nil {
			return err
		}
		addrs, keys := page.Sorted()
		for _, a := range addrs {
			var l lease.Lease
			if err := lease.Decode(recordJSON(keys[a], b.Get(keys[a])), &l); err != nil {
				return fmt.Errorf("decoding lease of %s: %w", a, err)
			}
			out = append(out, l)
		}
		return nil
	})
	return out, err
}

var bucketArtifacts = []byte("artifacts")

// ArtifactRecord is what the store keeps about one served file; its content
// lives in the artifact blob store under SHA256.
type ArtifactRecord struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	Source string `json:"source"`
}

// PutArtifact records path → content.
func (s *Store) PutArtifact(r ArtifactRecord) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return s.updateConfig(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketArtifacts)
		if err != nil {
			return err
		}
		return b.Put([]byte(r.Path), data)
	})
}

// DeleteArtifact forgets path; ErrNotFound when it is unknown.
func (s *Store) DeleteArtifact(path string) error {
	return s.updateConfig(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketArtifacts)
		if b == nil || b.Get([]byte(path)) == nil {
			return fmt.Errorf("artifact %q: %w", path, ErrNotFound)
		}
		return b.Delete([]byte(path))
	})
}

// ListArtifacts returns every artifact record, sorted by path.
func (s *Store) ListArtifacts() ([]ArtifactRecord, error) {
	var out []ArtifactRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketArtifacts)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, data []byte) error {
			var r ArtifactRecord
			if err := json.Unmarshal(data, &r); err != nil {
				return fmt.Errorf("decoding artifact record: %w", err)
			}
			out = append(out, r)
			return nil
		})
	})
	return out, err
}
