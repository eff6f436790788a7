package nfsserve

import (
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	billy "github.com/go-git/go-billy/v5"
	"golang.org/x/sys/unix"
)

// The export is the billy filesystem go-nfs serves. go-nfs builds every name
// it passes here with Join from a file handle's path and the file names in
// requests, so Join is where a client's names are checked: a name with a
// slash, "", "." or ".." never becomes part of a path. The os.Root then
// keeps every operation beneath Dir, symbolic links included, without the
// check-then-open races of resolving paths by hand.
var (
	_ billy.Filesystem = (*export)(nil)
	_ billy.Capable    = (*export)(nil)
	_ billy.Change     = (*export)(nil)
	_ billy.File       = (*file)(nil)
)

// badName is what Join returns for names a client may not use; every
// method refuses it as not existing.
const badName = "\x00"

// joinNames joins path components from a file handle and a request into a
// name relative to the export root ("." for the root itself). A component
// that is empty, "." or "..", or holds a slash or NUL, makes it badName.
func joinNames(elem ...string) string {
	for _, e := range elem {
		if e == "" || e == "." || e == ".." || strings.ContainsAny(e, "/\x00") {
			return badName
		}
	}
	if len(elem) == 0 {
		return "."
	}
	return strings.Join(elem, "/")
}

// Join implements billy.Basic.
func (e *export) Join(elem ...string) string { return joinNames(elem...) }

// local checks a name before it reaches the os.Root.
func local(op, name string) error {
	if name != "." && !filepath.IsLocal(name) || strings.IndexByte(name, 0) >= 0 {
		return &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	return nil
}

func (e *export) writable(op, name string) error {
	if e.ReadOnly {
		return &fs.PathError{Op: op, Path: name, Err: billy.ErrReadOnly}
	}
	return local(op, name)
}

// Capabilities tells go-nfs whether to accept changes: without
// WriteCapability it answers every change with NFS3ERR_ROFS and ACCESS
// grants only read and lookup.
func (e *export) Capabilities() billy.Capability {
	if e.ReadOnly {
		return billy.ReadCapability | billy.SeekCapability
	}
	return billy.AllCapabilities
}

func (e *export) Create(name string) (billy.File, error) {
	return e.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o666)
}

func (e *export) Open(name string) (billy.File, error) { return e.OpenFile(name, os.O_RDONLY, 0) }

// OpenFile opens regular files and directories only. A device node or FIFO
// inside an export (a root file system image may hold some) belongs to the
// client's machine; opening it here would read the agent host's device or
// block on the pipe, so it is refused. O_NONBLOCK keeps the open itself from
// blocking on a FIFO.
func (e *export) OpenFile(name string, flag int, perm os.FileMode) (billy.File, error) {
	var err error
	if flag&(os.O_WRONLY|os.O_RDWR|os.O_CREATE|os.O_TRUNC|os.O_APPEND) != 0 {
		err = e.writable("open", name)
	} else {
		err = local("open", name)
	}
	if err != nil {
		return nil, err
	}
	f, err := e.root.OpenFile(name, flag|syscall.O_NONBLOCK|syscall.O_NOCTTY, perm)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() && !fi.IsDir() {
		_ = f.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	}
	return &file{File: f, name: name, stats: e.stats}, nil
}

func (e *export) Stat(name string) (os.FileInfo, error) {
	if err := local("stat", name); err != nil {
		return nil, err
	}
	return e.root.Stat(name)
}

func (e *export) Lstat(name string) (os.FileInfo, error) {
	if err := local("lstat", name); err != nil {
		return nil, err
	}
	return e.root.Lstat(name)
}

func (e *export) ReadDir(name string) ([]os.FileInfo, error) {
	if err := local("readdir", name); err != nil {
		return nil, err
	}
	d, err := e.root.Open(name)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Readdir(-1)
}

func (e *export) Readlink(name string) (string, error) {
	if err := local("readlink", name); err != nil {
		return "", err
	}
	return e.root.Readlink(name)
}

func (e *export) Rename(from, to string) error {
	if err := e.writable("rename", from); err != nil {
		return err
	}
	if err := e.writable("rename", to); err != nil {
		return err
	}
	if err := e.root.Rename(from, to); err != nil {
		return err
	}
	e.handles.renamed(strings.Split(from, "/"), strings.Split(to, "/"))
	return nil
}

func (e *export) Remove(name string) error {
	if err := e.writable("remove", name); err != nil {
		return err
	}
	return e.root.Remove(name)
}

func (e *export) MkdirAll(name string, perm os.FileMode) error {
	if err := e.writable("mkdir", name); err != nil {
		return err
	}
	return e.root.MkdirAll(name, perm)
}

// Symlink stores target as given: it is resolved by the client, against
// the client's root.
func (e *export) Symlink(target, link string) error {
	if err := e.writable("symlink", link); err != nil {
		return err
	}
	return e.root.Symlink(target, link)
}

func (e *export) Chmod(name string, mode os.FileMode) error {
	if err := e.writable("chmod", name); err != nil {
		return err
	}
	return e.root.Chmod(name, mode)
}

func (e *export) Lchown(name string, uid, gid int) error {
	if err := e.writable("lchown", name); err != nil {
		return err
	}
	return e.root.Lchown(name, uid, gid)
}

func (e *export) Chown(name string, uid, gid int) error {
	if err := e.writable("chown", name); err != nil {
		return err
	}
	return e.root.Chown(name, uid, gid)
}

func (e *export) Chtimes(name string, atime, mtime time.Time) error {
	if err := e.writable("chtimes", name); err != nil {
		return err
	}
	return e.root.Chtimes(name, atime, mtime)
}

// TempFile is not needed by go-nfs.
func (e *export) TempFile(string, string) (billy.File, error) { return nil, billy.ErrNotSupported }

// Chroot is not needed by go-nfs: sub-directories are not mountable.
func (e *export) Chroot(string) (billy.Filesystem, error) { return nil, billy.ErrNotSupported }

// Root implements billy.Chroot.
func (e *export) Root() string { return e.Dir }

// file counts the bytes clients read and write.
type file struct {
	*os.File
	name  string // relative to the export root
	stats *counters
}

// Name returns the name relative to the export root, as billy expects.
func (f *file) Name() string { return f.name }

func (f *file) Read(p []byte) (int, error) {
	n, err := f.File.Read(p)
	f.stats.bytesRead.Add(uint64(n))
	return n, err
}

func (f *file) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.File.ReadAt(p, off)
	f.stats.bytesRead.Add(uint64(n))
	return n, err
}

func (f *file) Write(p []byte) (int, error) {
	n, err := f.File.Write(p)
	f.stats.bytesWritten.Add(uint64(n))
	return n, err
}

func (f *file) Lock() error   { return unix.Flock(int(f.Fd()), unix.LOCK_EX) }
func (f *file) Unlock() error { return unix.Flock(int(f.Fd()), unix.LOCK_UN) }

// callFS is an export as one call sees it: what the call creates belongs to
// its caller (after root squashing), as a local file system would make it,
// not to the agent. In a set-group-ID directory it takes the directory's
// group instead of the caller's.
type callFS struct {
	*export
	caller credential
}

var _ billy.Filesystem = (*callFS)(nil)

func (c *callFS) Create(name string) (billy.File, error) {
	return c.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o666)
}

func (c *callFS) OpenFile(name string, flag int, perm os.FileMode) (billy.File, error) {
	if flag&os.O_CREATE == 0 {
		return c.export.OpenFile(name, flag, perm)
	}
	_, err := c.export.Lstat(name)
	existed := err == nil
	f, err := c.export.OpenFile(name, flag, perm)
	if err != nil || existed {
		return f, err
	}
	if err := c.own(name); err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

func (c *callFS) MkdirAll(name string, perm os.FileMode) error {
	if _, err := c.export.Lstat(name); err == nil {
		return c.export.MkdirAll(name, perm)
	}
	if err := c.export.MkdirAll(name, perm); err != nil {
		return err
	}
	return c.own(name)
}

func (c *callFS) Symlink(target, link string) error {
	if err := c.export.Symlink(target, link); err != nil {
		return err
	}
	return c.own(link)
}

// own gives the new file name to the caller; root's files stay the agent's.
func (c *callFS) own(name string) error {
	if c.caller.root() {
		return nil
	}
	gid := c.caller.gid
	if dir, err := c.root.Stat(path.Dir(name)); err == nil && dir.Mode()&fs.ModeSetgid != 0 {
		if st, ok := dir.Sys().(*syscall.Stat_t); ok {
			gid = st.Gid
		}
	}
	if err := c.root.Lchown(name, int(c.caller.uid), int(gid)); err != nil {
		return &fs.PathError{Op: "chown", Path: name, Err: err}
	}
	return nil
}
