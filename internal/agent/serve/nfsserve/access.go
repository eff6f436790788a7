package nfsserve

import (
	"encoding/binary"
	"slices"
	"syscall"
)

// go-nfs v0.0.4 hands its handlers neither the caller's credentials nor the
// connection, so the server checks permissions here, on each whole record
// before go-nfs sees it (see trackedConn): a request the caller may not make
// is answered NFS3ERR_ACCES at once, and ACCESS is answered from the mode
// bits. The rules are the kernel NFS server's: owner, group and other bits
// against the AUTH_SYS user and groups, root squashed to nobody unless the
// export says NoRootSquash, a read-only export answering changes with
// NFS3ERR_ROFS before any mode check.

// nobody is the user and group a squashed root and callers without AUTH_SYS
// credentials act as: exportfs's default anonuid and anongid.
const nobody = 65534

// RPC credential flavors (RFC 5531 section 8.2).
const (
	authNull = 0
	authSys  = 1
	// maxAuthSysGroups is the most supplementary groups AUTH_SYS carries.
	maxAuthSysGroups = 16
)

// credential is who a request acts as.
type credential struct {
	uid, gid uint32
	groups   []uint32
}

func (c credential) root() bool { return c.uid == 0 }

// anonymous is what AUTH_NULL and unknown flavors act as.
var anonymous = credential{uid: nobody, gid: nobody}

// parseCredential reads the credential of a call record that checkCall
// accepted: AUTH_SYS's user and groups, or anonymous for any other flavor
// or a malformed AUTH_SYS body.
func parseCredential(rec []byte) credential {
	c := &xdrCursor{b: rec, off: 24}
	flavor, err := c.u32()
	if err != nil || flavor != authSys {
		return anonymous
	}
	n, err := c.length()
	if err != nil {
		return anonymous
	}
	body := &xdrCursor{b: rec[c.off : c.off+n]}
	var cred credential
	if body.skip(4) != nil || body.opaque() != nil { // stamp, machine name
		return anonymous
	}
	if cred.uid, err = body.u32(); err != nil {
		return anonymous
	}
	if cred.gid, err = body.u32(); err != nil {
		return anonymous
	}
	count, err := body.u32()
	if err != nil || count > maxAuthSysGroups {
		return anonymous
	}
	for range count {
		g, err := body.u32()
		if err != nil {
			return anonymous
		}
		cred.groups = append(cred.groups, g)
	}
	return cred
}

// squash maps root (user 0, and group 0 wherever it appears) to nobody, as
// exportfs's root_squash does.
func squash(c credential) credential {
	if c.uid == 0 {
		c.uid = nobody
	}
	if c.gid == 0 {
		c.gid = nobody
	}
	if slices.Contains(c.groups, 0) {
		groups := slices.Clone(c.groups)
		for i, g := range groups {
			if g == 0 {
				groups[i] = nobody
			}
		}
		c.groups = groups
	}
	return c
}

// credential is what c acts as on e: root squashed unless e says not.
func (e *export) credential(c credential) credential {
	if e.NoRootSquash {
		return c
	}
	return squash(c)
}

// Mode bits asked of a file, as in its permission triplets.
const (
	mayRead  = 4
	mayWrite = 2
	mayExec  = 1
)

// permits reports whether c may do want (mayRead|mayWrite|mayExec) to a
// file with these attributes, by the owner, group or other bits that apply
// to c. Root may do anything, but execute only a directory or a file with
// some execute bit.
func permits(c credential, st *syscall.Stat_t, want uint32) bool {
	if c.root() {
		return want&mayExec == 0 || st.Mode&syscall.S_IFMT == syscall.S_IFDIR || st.Mode&0o111 != 0
	}
	var bits uint32
	switch {
	case c.uid == st.Uid:
		bits = st.Mode >> 6
	case c.gid == st.Gid || slices.Contains(c.groups, st.Gid):
		bits = st.Mode >> 3
	default:
		bits = st.Mode
	}
	return bits&7&want == want
}

// ACCESS3 bits (RFC 1813 section 3.3.4).
const (
	access3Read    = 0x01
	access3Lookup  = 0x02
	access3Modify  = 0x04
	access3Extend  = 0x08
	access3Delete  = 0x10
	access3Execute = 0x20
)

// accessGranted is what ACCESS answers: the bits of asked that c holds on a
// file with these attributes, as the kernel NFS server grants them (no
// EXECUTE on a directory, no DELETE on anything else; nothing that changes
// a read-only export).
func accessGranted(c credential, st *syscall.Stat_t, readOnly bool, asked uint32) uint32 {
	var granted uint32
	grant := func(bit, want uint32) {
		if permits(c, st, want) {
			granted |= bit
		}
	}
	grant(access3Read, mayRead)
	if st.Mode&syscall.S_IFMT == syscall.S_IFDIR {
		grant(access3Lookup, mayExec)
		grant(access3Modify|access3Extend|access3Delete, mayWrite|mayExec)
	} else {
		grant(access3Execute, mayExec)
		grant(access3Modify|access3Extend, mayWrite)
	}
	if readOnly {
		granted &^= access3Modify | access3Extend | access3Delete
	}
	return asked & granted
}

// sattr3 as a SETATTR asks it: which attributes change.
type setattrRequest struct {
	mode, uid, gid, size bool
	newUID, newGID       uint32
	// clientTimes is set when atime or mtime is set to a client's time;
	// serverTimes when to the server's ("touch").
	clientTimes, serverTimes bool
}

// permitsSetattr reports whether c may change what req asks of a file with
// these attributes: its owner may change its mode and times, and its group
// to one of the owner's; anyone who may write it its size and its times to
// now; only root its owner.
func permitsSetattr(c credential, st *syscall.Stat_t, req setattrRequest) bool {
	if c.root() {
		return true
	}
	owner := c.uid == st.Uid
	writable := owner || permits(c, st, mayWrite)
	switch {
	case req.uid && req.newUID != st.Uid:
		return false
	case req.gid && req.newGID != st.Gid && req.newGID != c.gid && !slices.Contains(c.groups, req.newGID):
		return false
	case (req.mode || req.gid || req.clientTimes) && !owner:
		return false
	case (req.size || req.serverTimes) && !writable:
		return false
	}
	return true
}

// permitsNewAttrs reports whether c may create a file with the owner and
// group req sets: its own, and one of its groups.
func permitsNewAttrs(c credential, req setattrRequest) bool {
	if c.root() {
		return true
	}
	return (!req.uid || req.newUID == c.uid) &&
		(!req.gid || req.newGID == c.gid || slices.Contains(c.groups, req.newGID))
}

// parseSetattr reads a sattr3 at c, as checkCall has checked it.
func parseSetattr(c *xdrCursor) (setattrRequest, error) {
	var req setattrRequest
	flags := []*bool{&req.mode, &req.uid, &req.gid, &req.size}
	for i, size := range []int{4, 4, 4, 8} {
		set, err := c.u32()
		if err != nil {
			return req, err
		}
		*flags[i] = set != 0
		if set == 0 {
			continue
		}
		switch i {
		case 1:
			req.newUID, err = c.u32()
		case 2:
			req.newGID, err = c.u32()
		default:
			err = c.skip(size)
		}
		if err != nil {
			return req, err
		}
	}
	for range 2 {
		how, err := c.u32()
		if err != nil {
			return req, err
		}
		switch how {
		case 1:
			req.serverTimes = true
		case 2:
			req.clientTimes = true
			if err := c.skip(8); err != nil {
				return req, err
			}
		}
	}
	return req, nil
}

// reply builds one RPC reply record (mark included) accepting the call xid
// with an NFS status and the words that follow it.
func reply(xid, status uint32, words ...uint32) []byte {
	// xid, REPLY, MSG_ACCEPTED, verifier AUTH_NULL (flavor, length), SUCCESS.
	out := binary.BigEndian.AppendUint32(nil, lastFragment|uint32(4*(7+len(words))))
	for _, w := range append([]uint32{xid, 1, 0, authNull, 0, 0, status}, words...) {
		out = binary.BigEndian.AppendUint32(out, w)
	}
	return out
}

// NFS3ERR_ACCES (RFC 1813 section 2.6).
const nfs3ErrAcces = 13

// Words of the failure body after the status that a refused procedure
// answers with, all zero: post_op_attr without attributes (one word), or
// wcc_data without either (two).
var refusalWords = map[uint32]int{
	nfsLookup: 1, nfsRead: 1, nfsReaddir: 1, nfsReaddirplus: 1,
	nfsWrite: 2, nfsCreate: 2, nfsMkdir: 2, nfsSymlink: 2, nfsMknod: 2,
	nfsRemove: 2, nfsRmdir: 2, nfsSetattr: 2,
	nfsLink: 3, nfsRename: 4,
}

// authorize decides a call record that checkCall accepted: it returns the
// reply record to send instead of passing the call to go-nfs (NFS3ERR_ACCES,
// or ACCESS's answer), or nil to pass it on. Calls it cannot place (an
// unknown handle, a file gone, a read-only export's changes) pass on, for
// go-nfs to answer as it does. Arguments are read as go-nfs reads them.
func (s *Server) authorize(rec []byte) []byte {
	c := &xdrCursor{b: rec, off: 12}
	prog, _ := c.u32()
	c.off = 20
	proc, _ := c.u32()
	if prog != progNFS {
		return nil
	}
	for range 2 { // credential and verifier
		if _, err := c.u32(); err != nil || c.opaque() != nil {
			return nil
		}
	}
	a := &authorization{s: s, cred: parseCredential(rec)}
	allowed := true
	switch proc {
	case nfsAccess:
		fh, err := c.rawOpaqueBytes()
		if err != nil {
			return nil
		}
		asked, err := c.u32()
		if err != nil {
			return nil
		}
		f, ok := a.file(fh)
		if !ok {
			return nil
		}
		// post_op_attr without attributes, then the access granted.
		return reply(binary.BigEndian.Uint32(rec), 0, 0, accessGranted(f.cred, f.st, f.e.ReadOnly, asked))
	case nfsLookup:
		d, ok := a.dirop(c)
		allowed = !ok || permits(d.cred, d.st, mayExec)
	case nfsReaddir, nfsReaddirplus:
		fh, err := c.opaqueBytes()
		if err != nil {
			return nil
		}
		f, ok := a.file(fh)
		allowed = !ok || !f.isDir() || permits(f.cred, f.st, mayRead)
	case nfsRead, nfsWrite:
		fh, err := c.opaqueBytes()
		if err != nil {
			return nil
		}
		f, ok := a.file(fh)
		if !ok || proc == nfsWrite && f.e.ReadOnly {
			return nil
		}
		// The owner may read and write whatever the mode, as an open file
		// stays usable after chmod; a file that may be run may be read (the
		// client reads it to run it).
		allowed = f.cred.uid == f.st.Uid || f.cred.root() ||
			proc == nfsWrite && permits(f.cred, f.st, mayWrite) ||
			proc == nfsRead && (permits(f.cred, f.st, mayRead) || permits(f.cred, f.st, mayExec))
	case nfsCreate, nfsMkdir, nfsSymlink, nfsMknod, nfsLink:
		// go-nfs reads LINK's arguments as SYMLINK's: the first handle is
		// the directory it creates in.
		d, ok := a.dirop(c)
		if !ok || d.e.ReadOnly {
			return nil
		}
		allowed = permits(d.cred, d.st, mayWrite|mayExec)
		// The new file's attributes, which go-nfs sets as the agent: not
		// an owner or group the caller could not give it.
		hasAttrs := proc != nfsMknod
		if proc == nfsCreate {
			how, err := c.u32()
			hasAttrs = err == nil && how <= 1 // UNCHECKED, GUARDED
		}
		if hasAttrs {
			req, err := parseSetattr(c)
			allowed = allowed && err == nil && permitsNewAttrs(d.cred, req)
		}
	case nfsRemove, nfsRmdir, nfsRename:
		// RENAME's two diropargs are checked alike: each directory is
		// changed, and the sticky bit guards the name taken out of the
		// first and the one replaced in the second.
		for range 1 + boolInt(proc == nfsRename) {
			d, ok := a.dirop(c)
			if ok && !d.e.ReadOnly && (!permits(d.cred, d.st, mayWrite|mayExec) || !d.stickyAllows()) {
				allowed = false
			}
		}
	case nfsSetattr:
		fh, err := c.rawOpaqueBytes()
		if err != nil {
			return nil
		}
		req, err := parseSetattr(c)
		if err != nil {
			return nil
		}
		f, ok := a.file(fh)
		allowed = !ok || f.e.ReadOnly || permitsSetattr(f.cred, f.st, req)
	}
	if allowed {
		return nil
	}
	return reply(binary.BigEndian.Uint32(rec), nfs3ErrAcces, make([]uint32, refusalWords[proc])...)
}

// authorization places the handles of one call for its credential.
type authorization struct {
	s    *Server
	cred credential
}

// placed is a file a call names, with the credential it acts as there.
type placed struct {
	e    *export
	path []string
	st   *syscall.Stat_t
	cred credential
	name string // for a diropargs, the name in the directory
}

func (p placed) isDir() bool { return p.st.Mode&syscall.S_IFMT == syscall.S_IFDIR }

// file places a handle, following a final symbolic link as go-nfs's opens
// do.
func (a *authorization) file(fh []byte) (placed, bool) {
	e, p, ok := a.s.resolve(fh)
	if !ok {
		return placed{}, false
	}
	fi, err := e.root.Stat(joinNames(p...))
	if err != nil {
		return placed{}, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return placed{}, false
	}
	return placed{e: e, path: p, st: st, cred: e.credential(a.cred)}, true
}

// dirop reads a diropargs at c and places its directory; false when the
// handle names no directory.
func (a *authorization) dirop(c *xdrCursor) (placed, bool) {
	fh, err := c.opaqueBytes()
	if err != nil {
		return placed{}, false
	}
	name, err := c.opaqueBytes()
	if err != nil {
		return placed{}, false
	}
	d, ok := a.file(fh)
	if !ok || !d.isDir() {
		return placed{}, false
	}
	d.name = string(name)
	return d, true
}

// stickyAllows reports whether the name in a directory with the sticky bit
// (/tmp) may be removed or replaced: only by the owner of the file or of the
// directory, or root.
func (p placed) stickyAllows() bool {
	if p.st.Mode&syscall.S_ISVTX == 0 || p.cred.root() || p.cred.uid == p.st.Uid {
		return true
	}
	fi, err := p.e.root.Lstat(joinNames(append(slices.Clone(p.path), p.name)...))
	if err != nil {
		return true // nothing there to protect; go-nfs answers as it does
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Uid == p.cred.uid
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
