package nfsserve

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
	nfsc "github.com/willscott/go-nfs-client/nfs"
	"github.com/willscott/go-nfs-client/nfs/rpc"
	"github.com/willscott/go-nfs-client/nfs/xdr"
)

var loopback = netip.MustParseAddr("::1")

// NFSv3 status codes (RFC 1813 section 2.6) the tests expect.
const (
	nfs3OK       = 0
	nfs3ErrNoEnt = 2
	nfs3ErrROFS  = 30
	nfs3ErrStale = 70
)

func startLoopback(t *testing.T, cfg Config) (*Server, *testlab.SyncBuffer) {
	t.Helper()
	cfg.Addresses = []netip.Addr{loopback}
	var logs testlab.SyncBuffer
	s, err := Start(context.Background(), cfg, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return s, &logs
}

// mount dials addr and mounts path with go-nfs-client, as a client would
// over MOUNT then NFS on one port.
func mount(t *testing.T, addr netip.AddrPort, path string) (*nfsc.Target, error) {
	t.Helper()
	return mountAs(t, addr, path, rpc.AuthNull)
}

// mountAs mounts path with cred, which the client then sends with every
// call it makes.
func mountAs(t *testing.T, addr netip.AddrPort, path string, cred rpc.Auth) (*nfsc.Target, error) {
	t.Helper()
	c, err := rpc.DialTCP("tcp", addr.String(), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	m := nfsc.Mount{Client: c}
	return m.Mount(path, cred)
}

func mustMount(t *testing.T, addr netip.AddrPort, path string) *nfsc.Target {
	t.Helper()
	target, err := mount(t, addr, path)
	if err != nil {
		t.Fatalf("mount %s: %v", path, err)
	}
	return target
}

// Raw NFSv3 arguments (RFC 1813), for what go-nfs-client cannot send: names
// with slashes, reads of symbolic links, handles from elsewhere.
type (
	nfsCall struct {
		rpc.Header
		Args any
	}
	dirOpArgs struct {
		Dir  []byte
		Name string
	}
	readArgs struct {
		FH     []byte
		Offset uint64
		Count  uint32
	}
	createArgs struct {
		Dir  []byte
		Name string
		How  uint32    // UNCHECKED
		Attr [6]uint32 // sattr3 setting nothing
	}
)

// call sends one NFSv3 procedure and returns the status and the rest of
// the reply.
func call(t *testing.T, target *nfsc.Target, proc uint32, args any) (uint32, io.ReadSeeker) {
	t.Helper()
	return callAs(t, target, rpc.AuthNull, proc, args)
}

// callAs is call with the credential cred.
func callAs(t *testing.T, target *nfsc.Target, cred rpc.Auth, proc uint32, args any) (uint32, io.ReadSeeker) {
	t.Helper()
	res, err := target.Call(&nfsCall{
		Header: rpc.Header{Rpcvers: 2, Prog: nfsc.Nfs3Prog, Vers: nfsc.Nfs3Vers, Proc: proc, Cred: cred, Verf: rpc.AuthNull},
		Args:   args,
	})
	if err != nil {
		t.Fatalf("NFS procedure %d: %v", proc, err)
	}
	status, err := xdr.ReadUint32(res)
	if err != nil {
		t.Fatal(err)
	}
	return status, res
}

func lookupFH(t *testing.T, target *nfsc.Target, p string) []byte {
	t.Helper()
	_, fh, err := target.Lookup(p)
	if err != nil {
		t.Fatalf("lookup %s: %v", p, err)
	}
	return fh
}

// read returns the data of one READ, or the status.
func read(t *testing.T, target *nfsc.Target, fh []byte) (uint32, []byte) {
	t.Helper()
	return readAs(t, target, rpc.AuthNull, fh)
}

func readAs(t *testing.T, target *nfsc.Target, cred rpc.Auth, fh []byte) (uint32, []byte) {
	t.Helper()
	status, data, err := tryReadAs(target, cred, fh)
	if err != nil {
		t.Fatal(err)
	}
	return status, data
}

func tryRead(target *nfsc.Target, fh []byte) (uint32, []byte, error) {
	return tryReadAs(target, rpc.AuthNull, fh)
}

func tryReadAs(target *nfsc.Target, cred rpc.Auth, fh []byte) (uint32, []byte, error) {
	res, err := target.Call(&nfsCall{
		Header: rpc.Header{Rpcvers: 2, Prog: nfsc.Nfs3Prog, Vers: nfsc.Nfs3Vers, Proc: nfsc.NFSProc3Read, Cred: cred, Verf: rpc.AuthNull},
		Args:   readArgs{FH: fh, Count: 1 << 16},
	})
	if err != nil {
		return 0, nil, err
	}
	status, err := xdr.ReadUint32(res)
	if err != nil || status != nfs3OK {
		return status, nil, err
	}
	var ok struct {
		Attr  nfsc.PostOpAttr
		Count uint32
		EOF   uint32
	}
	if err := xdr.Read(res, &ok); err != nil {
		return status, nil, err
	}
	data, err := xdr.ReadOpaque(res)
	return status, data, err
}

func readAll(t *testing.T, target *nfsc.Target, p string) []byte {
	t.Helper()
	f, err := target.Open(p)
	if err != nil {
		t.Fatalf("open %s: %v", p, err)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatalf("read %s: %v", p, err)
	}
	return b
}

func isStatus(err error, status uint32) bool {
	var e *nfsc.Error
	return errors.As(err, &e) && e.ErrorNum == status
}

// rootTree builds what a diskless root looks like: files, directories,
// absolute and relative symbolic links, a FIFO; plus a secret next to it.
func rootTree(t *testing.T) (dir string, big []byte) {
	t.Helper()
	base := t.TempDir()
	dir = filepath.Join(base, "root")
	big = make([]byte, 3<<20+17)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(base, "secret"), []byte("outside the export"))
	writeFile(t, filepath.Join(dir, "etc", "hostname"), []byte("diskless\n"))
	writeFile(t, filepath.Join(dir, "usr", "lib", "big.bin"), big)
	for link, target := range map[string]string{
		"lib":                 "usr/lib",
		"etc/localtime":       "/usr/share/zoneinfo/Etc/UTC",
		"etc/mtab":            "/proc/self/mounts",
		"etc/escape-relative": "../../secret",
		"etc/escape-absolute": filepath.Join(base, "secret"),
	} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	// Readable by all, so that READ reaches the open (and its refusal).
	if err := syscall.Mkfifo(filepath.Join(dir, "etc", "initctl"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, big
}

func TestReadOnlyExport(t *testing.T) {
	dir, big := rootTree(t)
	s, logs := startLoopback(t, Config{Exports: []Export{{Path: "/roots/test", Dir: dir, ReadOnly: true}}})
	addr := s.Addrs()[0]
	target := mustMount(t, addr, "/roots/test")

	t.Run("read files", func(t *testing.T) {
		if got := readAll(t, target, "etc/hostname"); string(got) != "diskless\n" {
			t.Errorf("etc/hostname = %q", got)
		}
		if got := readAll(t, target, "usr/lib/big.bin"); !bytes.Equal(got, big) {
			t.Errorf("usr/lib/big.bin: got %d bytes, differing from the %d served", len(got), len(big))
		}
	})

	t.Run("symbolic links are served as links", func(t *testing.T) {
		for link, want := range map[string]string{
			"lib":                 "usr/lib",
			"etc/localtime":       "/usr/share/zoneinfo/Etc/UTC",
			"etc/escape-relative": "../../secret",
		} {
			f, err := target.Open(link)
			if err != nil {
				t.Fatalf("lookup %s: %v", link, err)
			}
			if got, err := f.Readlink(); err != nil || got != want {
				t.Errorf("readlink %s = %q, %v; want %q", link, got, err, want)
			}
		}
	})

	t.Run("reading through a link never leaves the export", func(t *testing.T) {
		for _, link := range []string{"etc/escape-relative", "etc/escape-absolute", "etc/mtab"} {
			status, data := read(t, target, lookupFH(t, target, link))
			if status == nfs3OK {
				t.Errorf("READ of link %s succeeded with %q", link, data)
			}
		}
		// A relative link inside the export may be followed.
		if status, _ := read(t, target, lookupFH(t, target, "lib")); status == nfs3OK {
			t.Errorf("READ of a directory (through link lib) succeeded")
		}
	})

	t.Run("names with slashes or dots find nothing", func(t *testing.T) {
		root := lookupFH(t, target, ".")
		etc := lookupFH(t, target, "etc")
		for _, op := range []dirOpArgs{
			{root, "../secret"}, {etc, "../../secret"}, {root, "etc/hostname"}, {root, "/etc/hostname"},
			{root, ""}, {etc, "..\x00"}, {root, "\x00"},
		} {
			if status, _ := call(t, target, nfsc.NFSProc3Lookup, op); status == nfs3OK {
				t.Errorf("LOOKUP %q succeeded", op.Name)
			}
		}
		if status, _ := call(t, target, nfsc.NFSProc3Lookup, dirOpArgs{root, ".."}); status != nfs3ErrAcces {
			t.Errorf("LOOKUP .. at the export root: status %d, want NFS3ERR_ACCES", status)
		}
	})

	t.Run("FIFO is not opened", func(t *testing.T) {
		type result struct {
			status uint32
			err    error
		}
		done := make(chan result, 1)
		fh := lookupFH(t, target, "etc/initctl")
		go func() { status, _, err := tryRead(target, fh); done <- result{status, err} }()
		select {
		case r := <-done:
			if r.err != nil || r.status == nfs3OK {
				t.Errorf("READ of a FIFO: status %d, %v; want an error status", r.status, r.err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("READ of a FIFO hangs")
		}
	})

	t.Run("changes refused", func(t *testing.T) {
		root := lookupFH(t, target, ".")
		if _, err := target.Create("new", 0o644); !isStatus(err, nfs3ErrROFS) {
			t.Errorf("create: %v, want NFS3ERR_ROFS", err)
		}
		if _, err := target.Mkdir("newdir", 0o755); !isStatus(err, nfs3ErrROFS) {
			t.Errorf("mkdir: %v, want NFS3ERR_ROFS", err)
		}
		if err := target.Remove("etc/hostname"); !isStatus(err, nfs3ErrROFS) {
			t.Errorf("remove: %v, want NFS3ERR_ROFS", err)
		}
		if err := target.Rename("etc/hostname", "etc/other"); !isStatus(err, nfs3ErrROFS) {
			t.Errorf("rename: %v, want NFS3ERR_ROFS", err)
		}
		if status, _ := call(t, target, nfsc.NFSProc3Create, createArgs{Dir: root, Name: "raw"}); status != nfs3ErrROFS {
			t.Errorf("raw CREATE: status %d, want NFS3ERR_ROFS", status)
		}
		f, err := target.Open("etc/hostname")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte("pwned")); err == nil {
			t.Error("write to a file succeeded")
		}
		if got, _ := os.ReadFile(filepath.Join(dir, "etc", "hostname")); string(got) != "diskless\n" {
			t.Errorf("etc/hostname on disk is now %q", got)
		}
		if _, err := os.Stat(filepath.Join(dir, "new")); err == nil {
			t.Error("a file was created")
		}
	})

	t.Run("unknown export", func(t *testing.T) {
		for _, p := range []string{"/roots", "/roots/test/etc", "/", "roots/test", "/roots/other"} {
			if _, err := mount(t, addr, p); err == nil || !strings.Contains(err.Error(), "MNT3ERR_NOENT") {
				t.Errorf("mount %q: %v, want MNT3ERR_NOENT", p, err)
			}
		}
		// Cleaned, the path names the export.
		mustMount(t, addr, "//roots/./test/")
	})

	st := s.Stats()
	if st.Mounts != 2 || st.MountsRefused != 5 {
		t.Errorf("mounts %d, refused %d; want 2, 5", st.Mounts, st.MountsRefused)
	}
	if st.BytesRead < uint64(len(big)) || st.BytesWritten != 0 {
		t.Errorf("stats = %+v", st)
	}
	if !strings.Contains(logs.String(), `msg="nfs: mount refused: no such export"`) || !strings.Contains(logs.String(), "path=/roots/other") {
		t.Errorf("no log line for the refused mount:\n%s", logs.String())
	}
}

func TestWritableExport(t *testing.T) {
	dir := t.TempDir()
	s, _ := startLoopback(t, Config{Exports: []Export{{Path: "/scratch", Dir: dir, NoRootSquash: true}}})
	asRoot := authSysCred(0, 0)
	target, err := mountAs(t, s.Addrs()[0], "/scratch", asRoot)
	if err != nil {
		t.Fatal(err)
	}

	if _, err := target.Mkdir("d", 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := target.OpenFile("d/f", 0o644)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("written over NFS")
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "d", "f")); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("d/f on disk = %q, %v", got, err)
	}
	if err := target.Symlink("/absolute/target", "d/link"); err != nil {
		t.Fatal(err)
	}
	if got, err := os.Readlink(filepath.Join(dir, "d", "link")); err != nil || got != "/absolute/target" {
		t.Errorf("d/link on disk -> %q, %v", got, err)
	}
	if err := target.Setattr("d/f", nfsc.Sattr3{Mode: nfsc.SetMode{SetIt: true, Mode: 0o600}}); err != nil {
		t.Fatalf("setattr: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "d", "f")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("d/f on disk after chmod over NFS: %v, %v", fi.Mode(), err)
	}
	fh := lookupFH(t, target, "d/f")
	if err := target.Rename("d/f", "d/g"); err != nil {
		t.Fatal(err)
	}
	// Handles follow a renamed file, and everything below a renamed
	// directory.
	if status, got := readAs(t, target, asRoot, fh); status != nfs3OK || !bytes.Equal(got, data) {
		t.Errorf("READ through the handle from before the rename: status %d, %q", status, got)
	}
	if err := target.Rename("d", "e"); err != nil {
		t.Fatal(err)
	}
	if status, got := readAs(t, target, asRoot, fh); status != nfs3OK || !bytes.Equal(got, data) {
		t.Errorf("READ after renaming the directory: status %d, %q", status, got)
	}
	if err := target.Rename("e", "d"); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, target, "d/g"); !bytes.Equal(got, data) {
		t.Errorf("d/g = %q", got)
	}
	gone := lookupFH(t, target, "d/g")
	if err := target.Remove("d/g"); err != nil {
		t.Fatal(err)
	}
	// (STALE for the name removed, NOENT for the older name that followed
	// it.)
	if status, _ := readAs(t, target, asRoot, fh); status != nfs3ErrNoEnt {
		t.Errorf("READ through the handle of a removed file: status %d, want NFS3ERR_NOENT", status)
	}
	if status, _ := readAs(t, target, asRoot, gone); status != nfs3ErrStale {
		t.Errorf("READ through the removed name's handle: status %d, want NFS3ERR_STALE", status)
	}
	if _, err := os.Stat(filepath.Join(dir, "d", "g")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("d/g still on disk: %v", err)
	}
	root := lookupFH(t, target, ".")
	for _, name := range []string{"../escape", "d/../../escape", "/tmp/escape"} {
		if status, _ := callAs(t, target, asRoot, nfsc.NFSProc3Create, createArgs{Dir: root, Name: name}); status == nfs3OK {
			t.Errorf("CREATE %q succeeded", name)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "escape")); err == nil {
		t.Error("a file was created outside the export")
	}
	if st := s.Stats(); st.BytesWritten != uint64(len(data)) {
		t.Errorf("BytesWritten = %d, want %d", st.BytesWritten, len(data))
	}
}

// TestHandlesSurviveRestart: a diskless client keeps its root mounted while
// the agent restarts; its file handles must still work afterwards.
func TestHandlesSurviveRestart(t *testing.T) {
	dir, _ := rootTree(t)
	cfg := Config{Addresses: []netip.Addr{loopback}, Exports: []Export{{Path: "/roots/test", Dir: dir, ReadOnly: true}}}
	first, err := Start(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	target := mustMount(t, first.Addrs()[0], "/roots/test")
	fh := lookupFH(t, target, "etc/hostname")
	first.Stop()

	cfg.Port = int(first.Addrs()[0].Port())
	second, err := Start(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Stop()
	// A new connection, as the client makes when it reconnects.
	again := mustMount(t, second.Addrs()[0], "/roots/test")
	if status, data := read(t, again, fh); status != nfs3OK || string(data) != "diskless\n" {
		t.Errorf("READ with a handle from before the restart: status %d, %q", status, data)
	}
	bogus := append([]byte(nil), fh...)
	bogus[len(bogus)-1] ^= 0xff
	if status, _ := read(t, again, bogus); status != nfs3ErrStale {
		t.Errorf("READ with an unknown handle: status %d, want NFS3ERR_STALE", status)
	}
	if status, _ := read(t, again, []byte("short")); status != nfs3ErrStale {
		t.Errorf("READ with a malformed handle: status %d, want NFS3ERR_STALE", status)
	}
	if st := second.Stats(); st.StaleHandles != 2 {
		t.Errorf("StaleHandles = %d, want 2", st.StaleHandles)
	}
}

func TestApply(t *testing.T) {
	dirA, dirB := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dirA, "a"), []byte("A"))
	writeFile(t, filepath.Join(dirB, "b"), []byte("B"))
	cfg := Config{Exports: []Export{{Path: "/a", Dir: dirA, ReadOnly: true}}}
	s, _ := startLoopback(t, cfg)
	addr := s.Addrs()[0]
	targetA := mustMount(t, addr, "/a")
	fhA := lookupFH(t, targetA, "a")

	cfg.Addresses = []netip.Addr{loopback}
	cfg.Port = int(addr.Port())
	cfg.Exports = append(cfg.Exports, Export{Path: "/b", Dir: dirB})
	if err := s.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	if got := s.Addrs(); len(got) != 1 || got[0] != addr {
		t.Errorf("Addrs after Apply = %v, want %v", got, addr)
	}
	targetB := mustMount(t, addr, "/b")
	if got := readAll(t, targetB, "b"); string(got) != "B" {
		t.Errorf("b = %q", got)
	}
	if status, data := read(t, targetA, fhA); status != nfs3OK || string(data) != "A" {
		t.Errorf("READ on the kept export over the same connection: status %d, %q", status, data)
	}

	t.Run("failed Apply changes nothing", func(t *testing.T) {
		bad := cfg
		bad.Exports = []Export{{Path: "/missing", Dir: filepath.Join(dirA, "missing")}}
		if err := s.Apply(bad); err == nil {
			t.Fatal("Apply with a missing directory succeeded")
		}
		if status, _ := read(t, targetA, fhA); status != nfs3OK {
			t.Errorf("READ after a failed Apply: status %d", status)
		}
	})

	t.Run("export made read-only", func(t *testing.T) {
		ro := cfg
		ro.Exports = []Export{cfg.Exports[0], {Path: "/b", Dir: dirB, ReadOnly: true}}
		if err := s.Apply(ro); err != nil {
			t.Fatal(err)
		}
		if _, err := targetB.Create("new", 0o644); !isStatus(err, nfs3ErrROFS) {
			t.Errorf("create after the export became read-only: %v", err)
		}
	})

	t.Run("removed export", func(t *testing.T) {
		only := cfg
		only.Exports = cfg.Exports[1:]
		if err := s.Apply(only); err != nil {
			t.Fatal(err)
		}
		if status, _ := read(t, targetA, fhA); status != nfs3ErrStale {
			t.Errorf("READ on a removed export: status %d, want NFS3ERR_STALE", status)
		}
		if _, err := mount(t, addr, "/a"); err == nil {
			t.Error("mount of a removed export succeeded")
		}
	})

	t.Run("new port", func(t *testing.T) {
		moved := cfg
		moved.Port = 0
		if err := s.Apply(moved); err != nil {
			t.Fatal(err)
		}
		got := s.Addrs()
		if len(got) != 1 || got[0] == addr {
			t.Fatalf("Addrs after a port change = %v", got)
		}
		if _, err := net.Dial("tcp", addr.String()); err == nil {
			t.Error("the old port still accepts connections")
		}
		mustMount(t, got[0], "/a")
	})

	s.Stop()
	s.Stop()
	if err := s.Apply(cfg); !errors.Is(err, ErrStopped) {
		t.Errorf("Apply after Stop: %v, want ErrStopped", err)
	}
}

func TestStopClosesConnections(t *testing.T) {
	s, _ := startLoopback(t, Config{Exports: []Export{{Path: "/x", Dir: t.TempDir()}}})
	conn, err := net.Dial("tcp", s.Addrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	waitFor(t, func() bool { return s.Stats().Connections == 1 })
	s.Stop()
	if err := conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("read after Stop: %v, want EOF", err)
	}
}

func TestIdleConnectionsClosed(t *testing.T) {
	defer func(d time.Duration) { idleTimeout = d }(idleTimeout)
	idleTimeout = 300 * time.Millisecond
	s, _ := startLoopback(t, Config{})
	conn, err := net.Dial("tcp", s.Addrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Half a record mark, then silence.
	if _, err := conn.Write([]byte{0x80, 0}); err != nil {
		t.Fatal(err)
	}
	if err := conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("read from an idle connection: %v, want EOF", err)
	}
	if st := s.Stats(); st.ConnectionsIdleClosed != 1 {
		t.Errorf("ConnectionsIdleClosed = %d, want 1", st.ConnectionsIdleClosed)
	}
}

func TestStartRefuses(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	writeFile(t, notDir, nil)
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"port", Config{Port: 70000}, "out of range"},
		{"relative export path", Config{Exports: []Export{{Path: "roots/x", Dir: dir}}}, "not an absolute, clean path"},
		{"unclean export path", Config{Exports: []Export{{Path: "/roots/x/", Dir: dir}}}, "not an absolute, clean path"},
		{"duplicate export path", Config{Exports: []Export{{Path: "/x", Dir: dir}, {Path: "/x", Dir: dir}}}, "given twice"},
		{"no directory", Config{Exports: []Export{{Path: "/x"}}}, "has no directory"},
		{"missing directory", Config{Exports: []Export{{Path: "/x", Dir: filepath.Join(dir, "nope")}}}, "no such file"},
		{"not a directory", Config{Exports: []Export{{Path: "/x", Dir: notDir}}}, "is not a directory"},
		{"no address", Config{}, "no addresses to listen on"},
		{"link-local without zone", Config{Addresses: []netip.Addr{netip.MustParseAddr("fe80::1")}}, "needs its interface as zone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.cfg.Exports) > 0 || tt.cfg.Port != 0 {
				tt.cfg.Addresses = []netip.Addr{loopback}
			}
			s, err := Start(context.Background(), tt.cfg, nil)
			if err == nil {
				s.Stop()
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

func TestContextStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s, err := Start(ctx, Config{Addresses: []netip.Addr{loopback}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	waitFor(t, func() bool { return errors.Is(s.Apply(Config{Addresses: []netip.Addr{loopback}}), ErrStopped) })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 10 s")
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
