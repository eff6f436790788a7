package nfsserve

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// go-nfs v0.0.4 decodes a request's variable-length fields (credentials,
// file handles, names, write data) by allocating whatever length the
// client declares, up to 4 GiB, before reading the bytes: one 48-byte MOUNT
// call makes it allocate and zero 2 GiB. So every record is read whole
// here first (up to maxRecord) and checked the way go-nfs will decode it:
// a record whose declared lengths exceed what it carries closes the
// connection before go-nfs sees it. checkCall mirrors go-nfs v0.0.4's
// decoders, not RFC 1813 where they differ (LINK's arguments, padding after
// some opaques); check it again when upgrading go-nfs.
const (
	// maxRecord is the largest RPC record accepted: a 1 MiB WRITE (Linux's
	// largest wsize) with its headers.
	maxRecord = 1<<20 + 4096
	// minRecord is the smallest call go-nfs accepts: the RPC header with
	// empty credentials and verifier.
	minRecord = 40
	// maxReadCount caps the bytes one READ asks for (go-nfs allocates
	// them, up to 16 MiB): Linux's largest rsize. A client asking for more
	// gets a short read and asks again.
	maxReadCount = 1 << 20
	lastFragment = 1 << 31
)

// RPC programs and the procedures whose arguments go-nfs decodes.
const (
	progNFS   = 100003
	progMount = 100005

	mountMnt  = 1
	mountUmnt = 3

	nfsGetattr     = 1
	nfsSetattr     = 2
	nfsLookup      = 3
	nfsAccess      = 4
	nfsReadlink    = 5
	nfsRead        = 6
	nfsWrite       = 7
	nfsCreate      = 8
	nfsMkdir       = 9
	nfsSymlink     = 10
	nfsMknod       = 11
	nfsRemove      = 12
	nfsRmdir       = 13
	nfsRename      = 14
	nfsLink        = 15
	nfsReaddir     = 16
	nfsReaddirplus = 17
	nfsFsstat      = 18
	nfsFsinfo      = 19
	nfsPathconf    = 20
	nfsCommit      = 21
)

var errShort = errors.New("record ends inside an argument")

// xdrCursor walks a record, refusing to step past its end.
type xdrCursor struct {
	b   []byte
	off int
}

func (c *xdrCursor) u32() (uint32, error) {
	if len(c.b)-c.off < 4 {
		return 0, errShort
	}
	v := binary.BigEndian.Uint32(c.b[c.off:])
	c.off += 4
	return v, nil
}

func (c *xdrCursor) skip(n int) error {
	if len(c.b)-c.off < n {
		return errShort
	}
	c.off += n
	return nil
}

// opaque steps over a length-prefixed opaque or string and its padding to
// 4 bytes, as go-nfs's struct decoding (rasky/go-xdr) reads it. The length
// must fit in what is left of the record.
func (c *xdrCursor) opaque() error {
	n, err := c.length()
	if err != nil {
		return err
	}
	return c.skip((n + 3) &^ 3)
}

// rawOpaque steps over a length-prefixed opaque as go-nfs's
// xdr.ReadOpaque reads it: without the padding.
func (c *xdrCursor) rawOpaque() error {
	n, err := c.length()
	if err != nil {
		return err
	}
	return c.skip(n)
}

// opaqueBytes is opaque, returning the bytes.
func (c *xdrCursor) opaqueBytes() ([]byte, error) {
	n, err := c.length()
	if err != nil {
		return nil, err
	}
	b := c.b[c.off : c.off+n]
	return b, c.skip((n + 3) &^ 3)
}

// rawOpaqueBytes is rawOpaque, returning the bytes.
func (c *xdrCursor) rawOpaqueBytes() ([]byte, error) {
	n, err := c.length()
	if err != nil {
		return nil, err
	}
	b := c.b[c.off : c.off+n]
	return b, c.skip(n)
}

func (c *xdrCursor) length() (int, error) {
	n, err := c.u32()
	if err != nil {
		return 0, err
	}
	if uint64(n) > uint64(len(c.b)-c.off) {
		return 0, fmt.Errorf("declares %d bytes with %d left in the record", n, len(c.b)-c.off)
	}
	return int(n), nil
}

// sattr3 steps over set-attributes as go-nfs's ReadSetFileAttributes reads
// them: any non-zero flag means a value follows; times follow only for 2
// (SET_TO_CLIENT_TIME).
func (c *xdrCursor) sattr3() error {
	for _, size := range []int{4, 4, 4, 8} { // mode, uid, gid, size
		set, err := c.u32()
		if err != nil {
			return err
		}
		if set != 0 {
			if err := c.skip(size); err != nil {
				return err
			}
		}
	}
	for range 2 { // atime, mtime
		how, err := c.u32()
		if err != nil {
			return err
		}
		if how == 2 {
			if err := c.skip(8); err != nil {
				return err
			}
		}
	}
	return nil
}

// steps runs the cursor through a sequence of steps, stopping at the
// first error.
func (c *xdrCursor) steps(fns ...func() error) error {
	for _, f := range fns {
		if err := f(); err != nil {
			return err
		}
	}
	return nil
}

// checkCall checks one RPC call record (without its record mark) against
// how go-nfs will decode it, and caps a READ's count in place. Procedures
// go-nfs has no handler for are not decoded by it, so only their header
// is checked.
func checkCall(rec []byte) error {
	if len(rec) < minRecord {
		return fmt.Errorf("record of %d bytes, shorter than an RPC call header", len(rec))
	}
	c := &xdrCursor{b: rec}
	c.off = 4 // xid
	mtype, _ := c.u32()
	if mtype != 0 {
		return errors.New("not an RPC call")
	}
	c.off += 4 // rpcvers
	prog, _ := c.u32()
	c.off += 4 // program version: go-nfs dispatches on program and procedure only
	proc, _ := c.u32()
	u32 := func() error { _, err := c.u32(); return err }
	u64 := func() error { return c.skip(8) }
	for range 2 { // credential and verifier: flavor and body
		if err := c.steps(u32, c.opaque); err != nil {
			return fmt.Errorf("RPC header: %w", err)
		}
	}
	diropargs := func() error { return c.steps(c.opaque, c.opaque) }
	var err error
	switch {
	case prog == progMount && (proc == mountMnt || proc == mountUmnt):
		err = c.rawOpaque()
	case prog != progNFS:
	case proc == nfsGetattr, proc == nfsReadlink, proc == nfsFsstat, proc == nfsFsinfo,
		proc == nfsPathconf, proc == nfsCommit:
		err = c.rawOpaque()
	case proc == nfsSetattr:
		err = c.steps(c.rawOpaque, c.sattr3, func() error {
			guard, err := c.u32()
			if err == nil && guard != 0 {
				err = c.skip(8)
			}
			return err
		})
	case proc == nfsLookup, proc == nfsRemove, proc == nfsRmdir:
		err = diropargs()
	case proc == nfsAccess:
		err = c.steps(c.rawOpaque, u32)
	case proc == nfsRead:
		err = c.steps(c.opaque, u64)
		if err == nil && c.off+4 <= len(rec) && binary.BigEndian.Uint32(rec[c.off:]) > maxReadCount {
			binary.BigEndian.PutUint32(rec[c.off:], maxReadCount)
		}
		if err == nil {
			err = u32()
		}
	case proc == nfsWrite:
		err = c.steps(c.opaque, u64, u32, u32, c.opaque)
	case proc == nfsCreate:
		err = c.steps(diropargs, func() error {
			how, err := c.u32()
			switch {
			case err != nil:
				return err
			case how == 0 || how == 1: // UNCHECKED, GUARDED
				return c.sattr3()
			case how == 2: // EXCLUSIVE: a verifier
				return c.skip(8)
			}
			return nil
		})
	case proc == nfsMkdir:
		err = c.steps(diropargs, c.sattr3)
	case proc == nfsSymlink, proc == nfsLink: // go-nfs reads LINK's arguments as SYMLINK's
		err = c.steps(diropargs, c.sattr3, c.rawOpaque)
	case proc == nfsMknod:
		// go-nfs stops after the type: the export offers no mknod.
		err = c.steps(diropargs, u32)
	case proc == nfsRename:
		err = c.steps(diropargs, diropargs)
	case proc == nfsReaddir:
		err = c.steps(c.opaque, u64, u64, u32)
	case proc == nfsReaddirplus:
		err = c.steps(c.opaque, u64, u64, u32, u32)
	}
	if err != nil {
		return fmt.Errorf("program %d procedure %d: %w", prog, proc, err)
	}
	return nil
}
