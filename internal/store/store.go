// Package store keeps the agent's configuration and leases in one bbolt file
// under the state dir. Every write is one bbolt transaction, fsynced before it
// returns, so a kill -9 at any moment leaves either the old or the new state.
package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
	"google.golang.org/protobuf/proto"

	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/api/netbootv1"
	"github.com/netbootlab/terraform-provider-netboot/internal/lease"
)

// SchemaVersion is the layout of the state file. Open migrates older layouts
// forward and refuses newer ones, so an upgrade never loses leases and a
// downgrade never misreads them.
const SchemaVersion = 1

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
	db *bolt.DB
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
}

// OpenWith is Open with options.
func OpenWith(dir string, o Options) (*Store, error) {
	path := filepath.Join(dir, FileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout: 2 * time.Second,
		NoSync:  o.NoSync,
		// Lease commits are frequent and small: not writing the free list
		// with each (it is rebuilt by a scan at open) and keeping it in a
		// map (etcd's settings) cuts what each commit writes and costs.
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("opening %s: another agent holds it; stop that agent or use another --state-dir", path)
	}
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	s := &Store{db: db}
	if err := s.migrate(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	return s, nil
}

// Close releases the file.
func (s *Store) Close() error { return s.db.Close() }

func (s *Store) migrate() error {
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
		for _, name := range [][]byte{BootServers.bucket, BootEntries.bucket, BootMenus.bucket, NFSRootImages.bucket, bucketLeases} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		v, _ := json.Marshal(SchemaVersion)
		return meta.Put(keySchemaVersion, v)
	})
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
)

// Put creates or replaces the object name of kind k.
func (s *Store) Put(k Kind, name string, m proto.Message) error {
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return fmt.Errorf("encoding %s %q: %w", k.noun, name, err)
	}
	return s.db.Update(func(tx *bolt.Tx) error {
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
	return s.db.Update(func(tx *bolt.Tx) error {
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

// Leases returns the lease store of one boot server.
func (s *Store) Leases(bootServer string) *Leases {
	return &Leases{db: s.db, bucket: []byte(bootServer)}
}

// Leases persists the leases of one boot server. PutLeases writes a whole
// batch in one transaction, so one fsync covers it (the DHCPv6 server's
// group commit), and returns only once the changes are on disk.
type Leases struct {
	db     *bolt.DB
	bucket []byte
}

// PutLeases stores put and forgets the leases of del (missing ones are no
// error) in one transaction, fsynced before it returns: either all of it is
// on disk or, on error, none of it. Deletes apply after puts.
func (ls *Leases) PutLeases(put []lease.Lease, del []netip.Addr) error {
	if len(put) == 0 && len(del) == 0 {
		return nil
	}
	data := make([][]byte, len(put))
	for i, l := range put {
		var err error
		if data[i], err = json.Marshal(l); err != nil {
			return fmt.Errorf("encoding lease of %s: %w", l.Address, err)
		}
	}
	return ls.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.Bucket(bucketLeases).CreateBucketIfNotExists(ls.bucket)
		if err != nil {
			return err
		}
		for i, l := range put {
			if err := b.Put(l.Address.AsSlice(), data[i]); err != nil {
				return fmt.Errorf("storing lease of %s: %w", l.Address, err)
			}
		}
		for _, a := range del {
			if err := b.Delete(a.AsSlice()); err != nil {
				return fmt.Errorf("deleting lease of %s: %w", a, err)
			}
		}
		return nil
	})
}

// Leases returns every stored lease, sorted by address.
func (ls *Leases) Leases() ([]lease.Lease, error) {
	var out []lease.Lease
	err := ls.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLeases).Bucket(ls.bucket)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, data []byte) error {
			var l lease.Lease
			if err := json.Unmarshal(data, &l); err != nil {
				return fmt.Errorf("decoding lease: %w", err)
			}
			out = append(out, l)
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Address.Less(out[j].Address) })
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
	return s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketArtifacts)
		if err != nil {
			return err
		}
		return b.Put([]byte(r.Path), data)
	})
}

// DeleteArtifact forgets path; ErrNotFound when it is unknown.
func (s *Store) DeleteArtifact(path string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
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
