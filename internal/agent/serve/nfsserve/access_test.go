package nfsserve

import (
	"bytes"
	"context"
	"encoding/binary"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	nfsc "github.com/willscott/go-nfs-client/nfs"
	"github.com/willscott/go-nfs-client/nfs/rpc"
	"github.com/willscott/go-nfs-client/nfs/xdr"
)

// authSysCred is an AUTH_SYS credential (RFC 5531 section 14) for uid, gid and
// supplementary groups.
func authSysCred(uid, gid uint32, groups ...uint32) rpc.Auth {
	var b []byte
	b = binary.BigEndian.AppendUint32(b, 1) // stamp
	b = binary.BigEndian.AppendUint32(b, 4) // machine name length
	b = append(b, "test"...)                // machine name
	b = binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(b, uid), gid)
	b = binary.BigEndian.AppendUint32(b, uint32(len(groups)))
	for _, g := range groups {
		b = binary.BigEndian.AppendUint32(b, g)
	}
	return rpc.Auth{Flavor: authSys, Body: b}
}

func TestParseCredential(t *testing.T) {
	record := func(cred rpc.Auth) []byte {
		c := newCall(progNFS, nfsGetattr)
		c.b = c.b[:24] // up to the credential
		c.u32(cred.Flavor).opaque(cred.Body).u32(0).u32(0)
		return c.b
	}
	for _, tc := range []struct {
		name string
		cred rpc.Auth
		want credential
	}{
		{"AUTH_NULL", rpc.AuthNull, anonymous},
		{"AUTH_SYS", authSysCred(1000, 100, 24, 27), credential{uid: 1000, gid: 100, groups: []uint32{24, 27}}},
		{"AUTH_SYS root", authSysCred(0, 0), credential{}},
		{"go-nfs-client's AUTH_SYS", rpc.NewAuthUnix("host", 7, 8).Auth(), credential{uid: 7, gid: 8, groups: []uint32{0}}},
		{"17 groups", authSysCred(1, 1, make([]uint32, 17)...), anonymous},
		{"AUTH_SYS cut short", rpc.Auth{Flavor: authSys, Body: authSysCred(5, 5).Body[:14]}, anonymous},
		{"RPCSEC_GSS", rpc.Auth{Flavor: 6, Body: []byte{0, 0, 0, 1}}, anonymous},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := parseCredential(record(tc.cred))
			if got.uid != tc.want.uid || got.gid != tc.want.gid || !slices.Equal(got.groups, tc.want.groups) {
				t.Errorf("parseCredential = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestSquash(t *testing.T) {
	got := squash(credential{uid: 0, gid: 0, groups: []uint32{0, 5}})
	if got.uid != nobody || got.gid != nobody || !slices.Equal(got.groups, []uint32{nobody, 5}) {
		t.Errorf("squash(root) = %+v", got)
	}
	user := credential{uid: 1000, gid: 100, groups: []uint32{0}}
	if got := squash(user); got.uid != 1000 || got.gid != 100 || got.groups[0] != nobody {
		t.Errorf("squash(user in group 0) = %+v", got)
	}
	if user.groups[0] != 0 {
		t.Error("squash changed its argument's groups")
	}
}

func stat(mode uint32, uid, gid uint32) *syscall.Stat_t {
	return &syscall.Stat_t{Mode: mode, Uid: uid, Gid: gid}
}

func TestPermits(t *testing.T) {
	const file, dir = syscall.S_IFREG, syscall.S_IFDIR
	user := credential{uid: 1000, gid: 100, groups: []uint32{24}}
	root := credential{}
	for _, tc := range []struct {
		name string
		cred credential
		st   *syscall.Stat_t
		want uint32
		ok   bool
	}{
		{"nobody reads root's 0600", anonymous, stat(file|0o600, 0, 0), mayRead, false},
		{"nobody reads 0644", anonymous, stat(file|0o644, 0, 0), mayRead, true},
		{"nobody writes 0644", anonymous, stat(file|0o644, 0, 0), mayWrite, false},
		{"owner reads 0600", user, stat(file|0o600, 1000, 0), mayRead, true},
		{"owner bits apply, not other's", user, stat(file|0o066, 1000, 0), mayRead, false},
		{"primary group reads 0640", user, stat(file|0o640, 0, 100), mayRead, true},
		{"supplementary group reads 0640", user, stat(file|0o640, 0, 24), mayRead, true},
		{"other group reads 0640", user, stat(file|0o640, 0, 5), mayRead, false},
		{"search 0711 directory", user, stat(dir|0o711, 0, 0), mayExec, true},
		{"list 0711 directory", user, stat(dir|0o711, 0, 0), mayRead, false},
		{"create in 0755 directory", user, stat(dir|0o755, 0, 0), mayWrite | mayExec, false},
		{"create in 1777 directory", user, stat(dir|0o1777, 0, 0), mayWrite | mayExec, true},
		{"root reads 0000", root, stat(file, 5, 5), mayRead | mayWrite, true},
		{"root runs 0644", root, stat(file|0o644, 0, 0), mayExec, false},
		{"root runs 0100", root, stat(file|0o100, 5, 5), mayExec, true},
		{"root searches 0700 directory", root, stat(dir|0o700, 5, 5), mayExec, true},
	} {
		if got := permits(tc.cred, tc.st, tc.want); got != tc.ok {
			t.Errorf("%s: permits = %v, want %v", tc.name, got, tc.ok)
		}
	}
}

func TestAccessGranted(t *testing.T) {
	const all = access3Read | access3Lookup | access3Modify | access3Extend | access3Delete | access3Execute
	user := credential{uid: 1000, gid: 100}
	for _, tc := range []struct {
		name     string
		cred     credential
		st       *syscall.Stat_t
		readOnly bool
		want     uint32
	}{
		{"nobody, root's 0600 file", anonymous, stat(syscall.S_IFREG|0o600, 0, 0), false, 0},
		{"nobody, 0755 file", anonymous, stat(syscall.S_IFREG|0o755, 0, 0), false, access3Read | access3Execute},
		{"owner, 0644 file", user, stat(syscall.S_IFREG|0o644, 1000, 0), false, access3Read | access3Modify | access3Extend},
		{"owner, 0644 file, read-only export", user, stat(syscall.S_IFREG|0o644, 1000, 0), true, access3Read},
		{"owner, 0755 directory", user, stat(syscall.S_IFDIR|0o755, 1000, 0), false,
			access3Read | access3Lookup | access3Modify | access3Extend | access3Delete},
		{"nobody, 0711 directory", anonymous, stat(syscall.S_IFDIR|0o711, 0, 0), false, access3Lookup},
		{"root, 0600 file", credential{}, stat(syscall.S_IFREG|0o600, 5, 5), false, access3Read | access3Modify | access3Extend},
	} {
		if got := accessGranted(tc.cred, tc.st, tc.readOnly, all); got != tc.want {
			t.Errorf("%s: granted %#x, want %#x", tc.name, got, tc.want)
		}
	}
	if got := accessGranted(anonymous, stat(syscall.S_IFREG|0o755, 0, 0), false, access3Read); got != access3Read {
		t.Errorf("granted %#x beyond the READ asked", got)
	}
}

func TestPermitsSetattr(t *testing.T) {
	user := credential{uid: 1000, gid: 100, groups: []uint32{24}}
	own := stat(syscall.S_IFREG|0o644, 1000, 100)
	others := stat(syscall.S_IFREG|0o666, 0, 0)
	for _, tc := range []struct {
		name string
		st   *syscall.Stat_t
		req  setattrRequest
		ok   bool
	}{
		{"owner chmod", own, setattrRequest{mode: true}, true},
		{"chmod of another's file", others, setattrRequest{mode: true}, false},
		{"owner chgrp to own group", own, setattrRequest{gid: true, newGID: 24}, true},
		{"owner chgrp to another group", own, setattrRequest{gid: true, newGID: 0}, false},
		{"owner chown to self", own, setattrRequest{uid: true, newUID: 1000}, true},
		{"owner chown away", own, setattrRequest{uid: true, newUID: 0}, false},
		{"truncate a writable file", others, setattrRequest{size: true}, true},
		{"truncate a read-only file", stat(syscall.S_IFREG|0o644, 0, 0), setattrRequest{size: true}, false},
		{"touch a writable file", others, setattrRequest{serverTimes: true}, true},
		{"set another's times", others, setattrRequest{clientTimes: true}, false},
	} {
		if got := permitsSetattr(user, tc.st, tc.req); got != tc.ok {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.ok)
		}
	}
	if !permitsSetattr(credential{}, others, setattrRequest{uid: true, newUID: 5}) {
		t.Error("root may not chown")
	}
}

// TestPermissions: the server answers each caller as the kernel NFS server
// would, by mode bits, with root squashed to nobody unless the export says
// otherwise.
func TestPermissions(t *testing.T) {
	dir := t.TempDir()
	files := []struct {
		name     string
		mode     os.FileMode
		uid, gid int
	}{
		{"secret", 0o600, 0, 0},
		{"public", 0o644, 0, 0},
		{"group", 0o640, 0, 1234},
		{"users", 0o600, 1000, 1000},
		{"private", 0o700 | os.ModeDir, 0, 0},
		{"private/inner", 0o644, 0, 0},
		{"tmp", 0o777 | os.ModeDir | os.ModeSticky, 0, 0},
		{"tmp/theirs", 0o644, 1001, 1001},
		{"home", 0o755 | os.ModeDir, 1000, 1000},
		{"shared", 0o775 | os.ModeDir | os.ModeSetgid, 0, 1234},
	}
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if f.mode.IsDir() {
			if err := os.Mkdir(p, 0); err != nil {
				t.Fatal(err)
			}
		} else {
			writeFile(t, p, []byte(f.name+"\n"))
		}
		if err := os.Chmod(p, f.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, f.uid, f.gid); err != nil {
			t.Fatal(err)
		}
	}
	s, _ := startLoopback(t, Config{Exports: []Export{
		{Path: "/ro", Dir: dir, ReadOnly: true},
		{Path: "/rw", Dir: dir},
		{Path: "/rw-root", Dir: dir, NoRootSquash: true},
	}})
	addr := s.Addrs()[0]
	// Handles come from the unsquashed root's mount, which may look
	// everywhere, and from a user's mount of the others.
	handles := map[string]map[string][]byte{}
	for export, cred := range map[string]rpc.Auth{"/ro": authSysCred(1000, 1000), "/rw": authSysCred(1000, 1000), "/rw-root": authSysCred(0, 0)} {
		m, err := mountAs(t, addr, export, cred)
		if err != nil {
			t.Fatal(err)
		}
		handles[export] = map[string][]byte{".": lookupFH(t, m, ".")}
		for _, f := range files {
			if filepath.Dir(f.name) == "." || export == "/rw-root" {
				handles[export][f.name] = lookupFH(t, m, f.name)
			}
		}
	}
	target := mustMount(t, addr, "/ro") // the connection; each call says who it is

	nobodyCred, rootCred := authSysCred(nobody, nobody), authSysCred(0, 0)
	user, other := authSysCred(1000, 1000), authSysCred(1001, 1001)
	groupMember := authSysCred(1002, 1002, 1234)
	type readDirArgs struct {
		FH       []byte
		Cookie   uint64
		Verifier uint64
		Count    uint32
	}
	type setattrArgs struct {
		FH    []byte
		Attr  [7]uint32 // a mode, then nothing else set
		Guard uint32
	}
	type writeArgs struct {
		FH     []byte
		Offset uint64
		Count  uint32
		How    uint32 // UNSTABLE
		Data   []byte
	}
	type readDirPlusArgs struct {
		FH       []byte
		Cookie   uint64
		Verifier uint64
		Count    uint32
		MaxCount uint32
	}
	t.Run("reads", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			cred   rpc.Auth
			export string
			file   string
			want   uint32
		}{
			{"nobody reads root's 0600", nobodyCred, "/ro", "secret", nfs3ErrAcces},
			{"squashed root reads root's 0600", rootCred, "/ro", "secret", nfs3ErrAcces},
			{"AUTH_NULL reads root's 0600", rpc.AuthNull, "/ro", "secret", nfs3ErrAcces},
			{"unsquashed root reads root's 0600", rootCred, "/rw-root", "secret", nfs3OK},
			{"nobody reads 0644", nobodyCred, "/ro", "public", nfs3OK},
			{"squashed root reads 0644", rootCred, "/ro", "public", nfs3OK},
			{"owner reads own 0600", user, "/ro", "users", nfs3OK},
			{"another user reads it", other, "/ro", "users", nfs3ErrAcces},
			{"group member reads 0640", groupMember, "/ro", "group", nfs3OK},
			{"non-member reads 0640", user, "/ro", "group", nfs3ErrAcces},
		} {
			status, data, err := tryReadAs(target, tc.cred, handles[tc.export][tc.file])
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if status != tc.want || status == nfs3OK && string(data) != tc.file+"\n" {
				t.Errorf("%s: status %d (%q), want %d", tc.name, status, data, tc.want)
			}
		}
	})

	t.Run("lookups and listings", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			cred   rpc.Auth
			export string
			proc   uint32
			want   uint32
		}{
			{"nobody looks into a 0700 directory", nobodyCred, "/ro", nfsc.NFSProc3Lookup, nfs3ErrAcces},
			{"squashed root looks into it", rootCred, "/ro", nfsc.NFSProc3Lookup, nfs3ErrAcces},
			{"unsquashed root looks into it", rootCred, "/rw-root", nfsc.NFSProc3Lookup, nfs3OK},
			{"nobody lists it", nobodyCred, "/ro", nfsReaddir, nfs3ErrAcces},
			{"nobody lists it (READDIRPLUS)", nobodyCred, "/ro", nfsc.NFSProc3ReadDirPlus, nfs3ErrAcces},
			{"unsquashed root lists it", rootCred, "/rw-root", nfsReaddir, nfs3OK},
		} {
			fh := handles[tc.export]["private"]
			var args any = dirOpArgs{fh, "inner"}
			switch tc.proc {
			case nfsReaddir:
				args = readDirArgs{FH: fh, Count: 4096}
			case nfsc.NFSProc3ReadDirPlus:
				args = readDirPlusArgs{FH: fh, Count: 4096, MaxCount: 4096}
			}
			if status, _ := callAs(t, target, tc.cred, tc.proc, args); status != tc.want {
				t.Errorf("%s: status %d, want %d", tc.name, status, tc.want)
			}
		}
		// A readable directory lists for anyone.
		if status, _ := callAs(t, target, nobodyCred, nfsReaddir, readDirArgs{FH: handles["/ro"]["."], Count: 4096}); status != nfs3OK {
			t.Errorf("nobody lists the export root: status %d", status)
		}
	})

	t.Run("ACCESS", func(t *testing.T) {
		const asked = access3Read | access3Lookup | access3Modify | access3Extend | access3Delete | access3Execute
		for _, tc := range []struct {
			name   string
			cred   rpc.Auth
			export string
			file   string
			want   uint32
		}{
			{"nobody, root's 0600", nobodyCred, "/ro", "secret", 0},
			{"squashed root, root's 0600", rootCred, "/rw", "secret", 0},
			{"unsquashed root, root's 0600", rootCred, "/rw-root", "secret", access3Read | access3Modify | access3Extend},
			{"owner, own 0600, read-only export", user, "/ro", "users", access3Read},
			{"owner, own 0600", user, "/rw", "users", access3Read | access3Modify | access3Extend},
			{"nobody, 0700 directory", nobodyCred, "/ro", "private", 0},
			{"nobody, sticky 1777 directory", nobodyCred, "/rw", "tmp",
				access3Read | access3Lookup | access3Modify | access3Extend | access3Delete},
		} {
			status, res := callAs(t, target, tc.cred, nfsc.NFSProc3Access, struct {
				FH   []byte
				Mask uint32
			}{handles[tc.export][tc.file], asked})
			var ok struct {
				Attr   nfsc.PostOpAttr
				Access uint32
			}
			if status != nfs3OK {
				t.Errorf("%s: status %d", tc.name, status)
				continue
			}
			if err := xdr.Read(res, &ok); err != nil {
				t.Fatal(err)
			}
			if ok.Access != tc.want {
				t.Errorf("%s: access %#x, want %#x", tc.name, ok.Access, tc.want)
			}
		}
	})

	t.Run("changes", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			cred   rpc.Auth
			export string
			proc   uint32
			args   func(h map[string][]byte) any
			want   uint32
		}{
			{"squashed root creates in root's 0755", rootCred, "/rw", nfsc.NFSProc3Create,
				func(h map[string][]byte) any { return createArgs{Dir: h["."], Name: "a"} }, nfs3ErrAcces},
			{"unsquashed root creates there", rootCred, "/rw-root", nfsc.NFSProc3Create,
				func(h map[string][]byte) any { return createArgs{Dir: h["."], Name: "b"} }, nfs3OK},
			{"owner creates in own directory", user, "/rw", nfsc.NFSProc3Create,
				func(h map[string][]byte) any { return createArgs{Dir: h["home"], Name: "c"} }, nfs3OK},
			{"another user creates there", other, "/rw", nfsc.NFSProc3Create,
				func(h map[string][]byte) any { return createArgs{Dir: h["home"], Name: "d"} }, nfs3ErrAcces},
			{"a read-only export still says ROFS", user, "/ro", nfsc.NFSProc3Create,
				func(h map[string][]byte) any { return createArgs{Dir: h["home"], Name: "e"} }, nfs3ErrROFS},
			{"user removes another's file from sticky /tmp", user, "/rw", nfsc.NFSProc3Remove,
				func(h map[string][]byte) any { return dirOpArgs{h["tmp"], "theirs"} }, nfs3ErrAcces},
			{"user renames another's file out of sticky /tmp", user, "/rw", nfsc.NFSProc3Rename,
				func(h map[string][]byte) any { return [2]dirOpArgs{{h["tmp"], "theirs"}, {h["home"], "mine"}} }, nfs3ErrAcces},
			{"user writes root's 0644", user, "/rw", nfsc.NFSProc3Write,
				func(h map[string][]byte) any { return writeArgs{FH: h["public"], Count: 1, Data: []byte("x")} }, nfs3ErrAcces},
			{"user chmods root's file", user, "/rw", nfsc.NFSProc3SetAttr,
				func(h map[string][]byte) any { return setattrArgs{FH: h["public"], Attr: [7]uint32{1, 0o666}} }, nfs3ErrAcces},
			{"owner chmods own file", user, "/rw", nfsc.NFSProc3SetAttr,
				func(h map[string][]byte) any { return setattrArgs{FH: h["users"], Attr: [7]uint32{1, 0o640}} }, nfs3OK},
			{"owner removes another's file from sticky /tmp", authSysCred(1001, 1001), "/rw", nfsc.NFSProc3Remove,
				func(h map[string][]byte) any { return dirOpArgs{h["tmp"], "theirs"} }, nfs3OK},
		} {
			if status, _ := callAs(t, target, tc.cred, tc.proc, tc.args(handles[tc.export])); status != tc.want {
				t.Errorf("%s: status %d, want %d", tc.name, status, tc.want)
			}
		}
		for name, want := range map[string]bool{"a": false, "b": true, "home/c": true, "home/d": false, "home/e": false, "tmp/theirs": false, "public": true} {
			if _, err := os.Lstat(filepath.Join(dir, name)); (err == nil) != want {
				t.Errorf("%s on disk: %v, want existing %v", name, err, want)
			}
		}
		if got, _ := os.ReadFile(filepath.Join(dir, "public")); string(got) != "public\n" {
			t.Errorf("public on disk is now %q", got)
		}
		if fi, _ := os.Stat(filepath.Join(dir, "users")); fi.Mode().Perm() != 0o640 {
			t.Errorf("users on disk has mode %v, want the owner's chmod to 0640", fi.Mode())
		}
	})

	t.Run("new files belong to their creator", func(t *testing.T) {
		rw := handles["/rw"]
		for _, tc := range []struct {
			name     string
			cred     rpc.Auth
			proc     uint32
			args     any
			path     string
			uid, gid uint32
		}{
			{"user's file", user, nfsc.NFSProc3Create, createArgs{Dir: rw["home"], Name: "mine"}, "home/mine", 1000, 1000},
			{"user's directory", user, nfsc.NFSProc3Mkdir, struct {
				Dir  []byte
				Name string
				Attr [7]uint32 // mode 0755
			}{rw["home"], "sub", [7]uint32{1, 0o755}}, "home/sub", 1000, 1000},
			{"user's symbolic link", user, nfsc.NFSProc3Symlink, struct {
				Dir    []byte
				Name   string
				Attr   [6]uint32
				Target string
			}{Dir: rw["home"], Name: "link", Target: "mine"}, "home/link", 1000, 1000},
			{"squashed root's file", rootCred, nfsc.NFSProc3Create, createArgs{Dir: rw["tmp"], Name: "squashed"}, "tmp/squashed", nobody, nobody},
			{"unsquashed root's file", rootCred, nfsc.NFSProc3Create, createArgs{Dir: handles["/rw-root"]["tmp"], Name: "roots"}, "tmp/roots", 0, 0},
			{"in a set-group-ID directory", groupMember, nfsc.NFSProc3Create, createArgs{Dir: rw["shared"], Name: "f"}, "shared/f", 1002, 1234},
		} {
			if status, _ := callAs(t, target, tc.cred, tc.proc, tc.args); status != nfs3OK {
				t.Errorf("%s: status %d", tc.name, status)
				continue
			}
			fi, err := os.Lstat(filepath.Join(dir, tc.path))
			if err != nil {
				t.Fatal(err)
			}
			if st := fi.Sys().(*syscall.Stat_t); st.Uid != tc.uid || st.Gid != tc.gid {
				t.Errorf("%s: %s is owned by %d:%d, want %d:%d", tc.name, tc.path, st.Uid, st.Gid, tc.uid, tc.gid)
			}
		}

		// A user may not create a file owned by someone else.
		giveToRoot := struct {
			Dir  []byte
			Name string
			How  uint32    // UNCHECKED
			Attr [7]uint32 // uid 0, nothing else
		}{rw["home"], "setuid", 0, [7]uint32{0, 1, 0}}
		if status, _ := callAs(t, target, user, nfsc.NFSProc3Create, giveToRoot); status != nfs3ErrAcces {
			t.Errorf("a user creating a file owned by root: status %d, want NFS3ERR_ACCES", status)
		}

		// The creator writes what it created, though the agent created it.
		m, err := mountAs(t, addr, "/rw", user)
		if err != nil {
			t.Fatal(err)
		}
		fh := lookupFH(t, m, "home/mine")
		if status, _ := callAs(t, target, user, nfsc.NFSProc3Write, writeArgs{FH: fh, Count: 2, Data: []byte("ok")}); status != nfs3OK {
			t.Errorf("the creator's WRITE to its new file: status %d", status)
		}
		if got, _ := os.ReadFile(filepath.Join(dir, "home", "mine")); string(got) != "ok" {
			t.Errorf("home/mine on disk = %q", got)
		}
	})
}

// FuzzAuthorize: whatever a call carries, authorize never panics, and what
// it answers is one whole reply to that call. Seeds name the export's
// files through placeholder handles, replaced by real ones.
func FuzzAuthorize(f *testing.F) {
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "secret"), []byte("x"), 0o600); err != nil {
		f.Fatal(err)
	}
	s, err := Start(context.Background(), Config{Addresses: []netip.Addr{loopback}, Exports: []Export{{Path: "/x", Dir: dir}}}, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(s.Stop)
	e := s.exports.Load().byPath["/x"]
	rootPlaceholder := bytes.Repeat([]byte{0xfe}, handleLen)
	filePlaceholder := bytes.Repeat([]byte{0xfd}, handleLen)
	rootFH := makeHandle(e.key, e.handles.remember(nil))
	fileFH := makeHandle(e.key, e.handles.remember([]string{"secret"}))

	nobodyCred := authSysCred(nobody, nobody, 1, 2)
	withCred := func(proc uint32) *call3 {
		c := &call3{}
		c.u32(7).u32(0).u32(2).u32(progNFS).u32(3).u32(proc)
		return c.u32(nobodyCred.Flavor).opaque(nobodyCred.Body).u32(0).u32(0)
	}
	f.Add(withCred(nfsAccess).raw(fileFH).u32(0x3f).b)
	f.Add(withCred(nfsRead).opaque(filePlaceholder).u64(0).u32(4096).b)
	f.Add(withCred(nfsLookup).opaque(rootPlaceholder).opaque([]byte("secret")).b)
	f.Add(withCred(nfsReaddirplus).opaque(rootPlaceholder).u64(0).u64(0).u32(4096).u32(4096).b)
	f.Add(withCred(nfsRename).opaque(rootPlaceholder).opaque([]byte("secret")).opaque(rootPlaceholder).opaque([]byte("b")).b)
	f.Add(withCred(nfsRemove).opaque(rootPlaceholder).opaque([]byte("secret")).b)
	f.Add(withCred(nfsSetattr).raw(filePlaceholder).sattr(1, 0o644, 1, 0, 1, 5, 0, 0, 2, 0, 0, 1).u32(0).b)
	f.Add(withCred(nfsWrite).opaque(filePlaceholder).u64(0).u32(1).u32(0).opaque([]byte("y")).b)
	f.Fuzz(func(t *testing.T, rec []byte) {
		rec = bytes.ReplaceAll(rec, rootPlaceholder, rootFH)
		rec = bytes.ReplaceAll(rec, filePlaceholder, fileFH)
		if checkCall(rec) != nil {
			return
		}
		parseCredential(rec)
		answer := s.authorize(rec)
		if answer == nil {
			return
		}
		if len(answer) < 32 || binary.BigEndian.Uint32(answer) != lastFragment|uint32(len(answer)-4) {
			t.Fatalf("reply record %x is not one whole record", answer)
		}
		if !bytes.Equal(answer[4:8], rec[:4]) {
			t.Fatalf("reply xid %x, call xid %x", answer[4:8], rec[:4])
		}
	})
}
