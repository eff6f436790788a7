package nfsserve

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io/fs"
	"net"
	"sync"
	"syscall"

	billy "github.com/go-git/go-billy/v5"
	nfs "github.com/willscott/go-nfs"
	"golang.org/x/sys/unix"
)

var (
	_ nfs.Handler        = (*handler)(nil)
	_ nfs.CachingHandler = (*handler)(nil)
)

// handleLimit is what HandleLimit reports. The handle table is not bounded,
// but go-nfs also caps a READDIR reply at half this many entries.
const handleLimit = 1 << 20

// errStale is returned for unknown handles; go-nfs answers NFS3ERR_STALE.
var errStale = errors.New("unknown file handle")

// handler is what go-nfs calls for MOUNT and for file handles: it routes a
// mount to its export and maps handles to (export, path). There is one per
// connection, whose go-nfs server handles one call at a time: conn's
// credential is that of the call being handled.
type handler struct {
	s    *Server
	conn *trackedConn
	dirs *dirListings // the listener's, shared by its connections
}

// exportOf is the export behind a filesystem go-nfs hands back.
func exportOf(f billy.Filesystem) (*export, bool) {
	switch f := f.(type) {
	case *export:
		return f, true
	case *callFS:
		return f.export, true
	}
	return nil, false
}

// Mount grants a mount of an export named exactly, offering AUTH_NULL: go-nfs
// answers only that, and Linux clients send AUTH_SYS anyway, whose user and
// groups the server checks (see access.go).
func (h *handler) Mount(_ context.Context, conn net.Conn, req nfs.MountRequest) (nfs.MountStatus, billy.Filesystem, []nfs.AuthFlavor) {
	e, ok := h.s.exports.Load().lookup(req.Dirpath)
	if !ok {
		h.s.stats.mountsRefused.Add(1)
		h.s.logger.Warn("nfs: mount refused: no such export", "client", conn.RemoteAddr().String(), "path", string(req.Dirpath))
		return nfs.MountStatusErrNoEnt, nil, nil
	}
	h.s.stats.mounts.Add(1)
	h.s.logger.Info("nfs: mount", "client", conn.RemoteAddr().String(), "path", e.Path, "dir", e.Dir, "read_only", e.ReadOnly)
	return nfs.MountStatusOk, e, []nfs.AuthFlavor{nfs.AuthFlavorNull}
}

// Change gives go-nfs setattr on writable exports only.
func (h *handler) Change(f billy.Filesystem) billy.Change {
	if e, ok := exportOf(f); ok && !e.ReadOnly {
		return e
	}
	return nil
}

// FSStat reports the space of the file system holding the export.
func (h *handler) FSStat(_ context.Context, f billy.Filesystem, st *nfs.FSStat) error {
	e, ok := exportOf(f)
	if !ok {
		return nil
	}
	var sfs unix.Statfs_t
	if err := unix.Statfs(e.Dir, &sfs); err != nil {
		return nil // go-nfs's defaults stand
	}
	bs := uint64(sfs.Bsize)
	st.TotalSize, st.FreeSize, st.AvailableSize = sfs.Blocks*bs, sfs.Bfree*bs, sfs.Bavail*bs
	st.TotalFiles, st.FreeFiles, st.AvailableFiles = sfs.Files, sfs.Ffree, sfs.Ffree
	return nil
}

// ToHandle is called by go-nfs for every file it names to a client,
// including after a refused mount, with no filesystem.
func (h *handler) ToHandle(f billy.Filesystem, path []string) []byte {
	e, ok := exportOf(f)
	if !ok {
		return nil
	}
	return makeHandle(e.key, e.handles.remember(path))
}

// FromHandle gives go-nfs the export as the call's caller sees it: what the
// call creates belongs to the caller.
func (h *handler) FromHandle(fh []byte) (billy.Filesystem, []string, error) {
	e, p, ok := h.s.resolve(fh)
	if !ok {
		h.s.stats.stale.Add(1)
		return nil, nil, errStale
	}
	return &callFS{export: e, caller: e.credential(h.conn.cred)}, p, nil
}

// resolve finds the export and path a file handle names.
func (s *Server) resolve(fh []byte) (*export, []string, bool) {
	key, sum, ok := parseHandle(fh)
	if !ok {
		return nil, nil, false
	}
	e, ok := s.exports.Load().byKey[key]
	if !ok {
		return nil, nil, false
	}
	p, ok := e.handles.lookup(sum, e.root.FS())
	if !ok {
		return nil, nil, false
	}
	return e, p, true
}

// InvalidateHandle is called for removed and renamed files.
func (h *handler) InvalidateHandle(f billy.Filesystem, fh []byte) error {
	e, ok := exportOf(f)
	if !ok {
		return nil
	}
	if key, sum, ok := parseHandle(fh); ok && key == e.key {
		e.handles.forget(sum)
	}
	return nil
}

func (h *handler) HandleLimit() int { return handleLimit }

// VerifierFor and DataForVerifier keep a directory's listing while a client
// reads it in several READDIR(PLUS) replies, so each reply does not list
// and stat the whole directory again.
func (h *handler) VerifierFor(path string, contents []fs.FileInfo) uint64 {
	v := verifierOf(path, contents)
	h.dirs.put(v, path, contents)
	return v
}

func (h *handler) DataForVerifier(path string, v uint64) []fs.FileInfo {
	return h.dirs.get(v, path)
}

// verifierOf hashes a directory's path and entries (names and inode
// numbers, so two exports' directories that look alike differ) into the
// cookie verifier clients send back.
func verifierOf(path string, contents []fs.FileInfo) uint64 {
	d := sha256.New()
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(path)))
	d.Write(n[:])
	d.Write([]byte(path))
	for _, c := range contents {
		d.Write([]byte(c.Name()))
		d.Write([]byte{0})
		if st, ok := c.Sys().(*syscall.Stat_t); ok {
			binary.BigEndian.PutUint64(n[:], st.Ino)
			d.Write(n[:])
		}
	}
	v := binary.BigEndian.Uint64(d.Sum(nil))
	if v == 0 {
		v = 1 // 0 means "no verifier" to go-nfs
	}
	return v
}

// maxDirListings bounds the listings kept for READDIR continuations; the
// oldest goes first. A client whose listing was dropped gets
// NFS3ERR_BAD_COOKIE only if the directory changed meanwhile.
const maxDirListings = 256

type dirListings struct {
	mu    sync.Mutex
	byV   map[uint64]dirListing
	order []uint64 // insertion order, oldest first
}

type dirListing struct {
	path     string
	contents []fs.FileInfo
}

func (d *dirListings) put(v uint64, path string, contents []fs.FileInfo) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.byV == nil {
		d.byV = make(map[uint64]dirListing)
	}
	if _, ok := d.byV[v]; !ok {
		d.order = append(d.order, v)
	}
	d.byV[v] = dirListing{path, contents}
	for len(d.order) > maxDirListings {
		delete(d.byV, d.order[0])
		d.order = d.order[1:]
	}
}

func (d *dirListings) get(v uint64, path string) []fs.FileInfo {
	d.mu.Lock()
	defer d.mu.Unlock()
	if l, ok := d.byV[v]; ok && l.path == path {
		return l.contents
	}
	return nil
}
