package nfsserve

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"runtime"
	"syscall"
	"testing"
	"time"

	nfsc "github.com/willscott/go-nfs-client/nfs"
	"github.com/willscott/go-nfs-client/nfs/xdr"
)

// call3 builds an RPC call record (without its mark) field by field.
type call3 struct{ b []byte }

func newCall(prog, proc uint32) *call3 {
	c := &call3{}
	c.u32(7).u32(0).u32(2).u32(prog).u32(3).u32(proc)
	return c.u32(0).u32(0).u32(0).u32(0) // AUTH_NULL credential and verifier
}

func (c *call3) u32(v uint32) *call3 { c.b = binary.BigEndian.AppendUint32(c.b, v); return c }
func (c *call3) u64(v uint64) *call3 { c.b = binary.BigEndian.AppendUint64(c.b, v); return c }

// opaque appends a length-prefixed opaque with its padding.
func (c *call3) opaque(data []byte) *call3 {
	c.u32(uint32(len(data)))
	c.b = append(c.b, data...)
	for len(c.b)%4 != 0 {
		c.b = append(c.b, 0)
	}
	return c
}

// raw appends an opaque as go-nfs's xdr.ReadOpaque reads it: no padding.
func (c *call3) raw(data []byte) *call3 {
	c.u32(uint32(len(data)))
	c.b = append(c.b, data...)
	return c
}

func (c *call3) sattr(words ...uint32) *call3 {
	for _, w := range words {
		c.u32(w)
	}
	return c
}

// noAttrs is an sattr3 setting nothing.
var noAttrs = []uint32{0, 0, 0, 0, 0, 0}

func TestCheckCall(t *testing.T) {
	fh := make([]byte, handleLen)
	huge := uint32(0x7ffffff0)
	tests := []struct {
		name string
		rec  []byte
		ok   bool
	}{
		{"NULL", newCall(progNFS, 0).b, true},
		{"MOUNT", newCall(progMount, mountMnt).raw([]byte("/roots/debian")).b, true},
		{"MOUNT without padding, as go-nfs reads it", newCall(progMount, mountMnt).raw([]byte("/x")).b, true},
		{"MOUNT path longer than the record", newCall(progMount, mountMnt).u32(huge).u32(0).b, false},
		{"MOUNT cut", newCall(progMount, mountMnt).b, false},
		{"MOUNT EXPORT (no handler)", newCall(progMount, 5).u32(huge).b, true},
		{"NFS_ACL (no handler)", newCall(100227, 1).u32(huge).b, true},
		{"credential longer than the record", append(newCall(progNFS, 0).b[:24], binary.BigEndian.AppendUint32([]byte{0, 0, 0, 1}, huge)...), false},
		{"a reply", append([]byte{0, 0, 0, 7, 0, 0, 0, 1}, newCall(progNFS, 0).b[8:]...), false},
		{"short", newCall(progNFS, 0).b[:36], false},
		{"GETATTR", newCall(progNFS, nfsGetattr).raw(fh).b, true},
		{"GETATTR huge handle", newCall(progNFS, nfsGetattr).u32(huge).b, false},
		{"SETATTR with guard", newCall(progNFS, nfsSetattr).raw(fh).sattr(1, 0o644, 0, 0, 1, 0, 0, 0, 2, 0, 0, 1).u32(1).u64(5).b, true},
		{"SETATTR cut in the guard", newCall(progNFS, nfsSetattr).raw(fh).sattr(noAttrs...).u32(1).b, false},
		{"LOOKUP", newCall(progNFS, nfsLookup).opaque(fh).opaque([]byte("etc")).b, true},
		{"LOOKUP huge name", newCall(progNFS, nfsLookup).opaque(fh).u32(huge).b, false},
		{"ACCESS", newCall(progNFS, nfsAccess).raw(fh).u32(0x3f).b, true},
		{"READ", newCall(progNFS, nfsRead).opaque(fh).u64(0).u32(4096).b, true},
		{"WRITE", newCall(progNFS, nfsWrite).opaque(fh).u64(0).u32(3).u32(2).opaque([]byte("abc")).b, true},
		{"WRITE data longer than the record", newCall(progNFS, nfsWrite).opaque(fh).u64(0).u32(3).u32(2).u32(huge).b, false},
		{"CREATE unchecked", newCall(progNFS, nfsCreate).opaque(fh).opaque([]byte("f")).u32(0).sattr(noAttrs...).b, true},
		{"CREATE exclusive", newCall(progNFS, nfsCreate).opaque(fh).opaque([]byte("f")).u32(2).u64(9).b, true},
		{"MKDIR", newCall(progNFS, nfsMkdir).opaque(fh).opaque([]byte("d")).sattr(1, 0o755, 0, 0, 0, 0, 0).b, true},
		{"SYMLINK", newCall(progNFS, nfsSymlink).opaque(fh).opaque([]byte("l")).sattr(noAttrs...).raw([]byte("/usr/lib")).b, true},
		{"SYMLINK huge target", newCall(progNFS, nfsSymlink).opaque(fh).opaque([]byte("l")).sattr(noAttrs...).u32(huge).b, false},
		{"LINK read as go-nfs does", newCall(progNFS, nfsLink).opaque(fh).opaque([]byte("l")).sattr(noAttrs...).raw([]byte("t")).b, true},
		{"LINK as RFC 1813 sends it, read as go-nfs does", newCall(progNFS, nfsLink).opaque(fh).opaque(fh).opaque([]byte("name")).b, false},
		{"MKNOD", newCall(progNFS, nfsMknod).opaque(fh).opaque([]byte("n")).u32(1).b, true},
		{"REMOVE", newCall(progNFS, nfsRemove).opaque(fh).opaque([]byte("f")).b, true},
		{"RENAME", newCall(progNFS, nfsRename).opaque(fh).opaque([]byte("a")).opaque(fh).opaque([]byte("b")).b, true},
		{"RENAME huge second name", newCall(progNFS, nfsRename).opaque(fh).opaque([]byte("a")).opaque(fh).u32(huge).b, false},
		{"READDIR", newCall(progNFS, nfsReaddir).opaque(fh).u64(0).u64(0).u32(8192).b, true},
		{"READDIRPLUS", newCall(progNFS, nfsReaddirplus).opaque(fh).u64(0).u64(0).u32(8192).u32(32768).b, true},
		{"READDIRPLUS cut", newCall(progNFS, nfsReaddirplus).opaque(fh).u64(0).u64(0).u32(8192).b, false},
		{"COMMIT", newCall(progNFS, nfsCommit).raw(fh).u64(0).u32(0).b, true},
	}
	for _, tt := range tests {
		if err := checkCall(tt.rec); (err == nil) != tt.ok {
			t.Errorf("%s: checkCall = %v, want ok %v", tt.name, err, tt.ok)
		}
	}

	read := newCall(progNFS, nfsRead).opaque(fh).u64(0).u32(16 << 20).b
	if err := checkCall(read); err != nil {
		t.Fatal(err)
	}
	if got := binary.BigEndian.Uint32(read[len(read)-4:]); got != maxReadCount {
		t.Errorf("READ count capped to %d, want %d", got, maxReadCount)
	}
}

// TestMalformedRequests sends what would make go-nfs allocate gigabytes,
// or that it cannot parse, and expects the connection closed at once.
func TestMalformedRequests(t *testing.T) {
	dir, _ := rootTree(t)
	s, _ := startLoopback(t, Config{Exports: []Export{{Path: "/roots/test", Dir: dir, ReadOnly: true}}})
	mark := func(rec []byte, last bool) []byte {
		m := uint32(len(rec))
		if last {
			m |= lastFragment
		}
		return append(binary.BigEndian.AppendUint32(nil, m), rec...)
	}
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	for name, msg := range map[string][]byte{
		"2 GiB mount path":    mark(newCall(progMount, mountMnt).u32(0x7ffffff0).raw([]byte("/x")).b, true),
		"2 GiB credential":    mark(append(newCall(progNFS, 0).b[:24], 0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xf0, 0, 0, 0, 0, 0, 0, 0, 0), true),
		"several fragments":   mark(newCall(progNFS, 0).b, false),
		"record over the cap": binary.BigEndian.AppendUint32(nil, lastFragment|maxRecord+1),
		"a reply":             mark(append([]byte{0, 0, 0, 7, 0, 0, 0, 1}, newCall(progNFS, 0).b[8:]...), true),
	} {
		t.Run(name, func(t *testing.T) {
			c, err := net.Dial("tcp", s.Addrs()[0].String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write(msg); err != nil {
				t.Fatal(err)
			}
			if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
				t.Fatal(err)
			}
			// Closed with unread data, the socket sends a reset.
			if n, err := c.Read(make([]byte, 64)); !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("read: %d bytes, %v; want the connection closed", n, err)
			}
		})
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
		t.Errorf("the server allocated %d MiB", grew>>20)
	}
	if st := s.Stats(); st.MalformedRequests != 5 {
		t.Errorf("MalformedRequests = %d, want 5", st.MalformedRequests)
	}

	// The server still serves, and caps a READ at maxReadCount.
	target := mustMount(t, s.Addrs()[0], "/roots/test")
	status, res := call(t, target, nfsc.NFSProc3Read, readArgs{FH: lookupFH(t, target, "usr/lib/big.bin"), Count: 16 << 20})
	if status != nfs3OK {
		t.Fatalf("READ: status %d", status)
	}
	var ok struct {
		Attr  nfsc.PostOpAttr
		Count uint32
	}
	if err := xdr.Read(res, &ok); err != nil || ok.Count != maxReadCount {
		t.Errorf("READ of 16 MiB returned %d bytes (%v), want %d", ok.Count, err, maxReadCount)
	}
}

// FuzzCheckCall: no record makes checkCall panic, and one it accepts never
// declares an opaque longer than itself where go-nfs reads one (the READ
// count being capped is the only change it makes).
func FuzzCheckCall(f *testing.F) {
	fh := make([]byte, handleLen)
	f.Add(newCall(progMount, mountMnt).raw([]byte("/roots/debian")).b)
	f.Add(newCall(progNFS, nfsSetattr).raw(fh).sattr(1, 0o644, 0, 0, 1, 0, 0, 0, 2, 0, 0, 1).u32(1).u64(5).b)
	f.Add(newCall(progNFS, nfsWrite).opaque(fh).u64(0).u32(3).u32(2).opaque([]byte("abc")).b)
	f.Add(newCall(progNFS, nfsCreate).opaque(fh).opaque([]byte("f")).u32(0).sattr(noAttrs...).b)
	f.Add(newCall(progNFS, nfsSymlink).opaque(fh).opaque([]byte("l")).sattr(noAttrs...).raw([]byte("/usr/lib")).b)
	f.Add(newCall(progNFS, nfsRead).opaque(fh).u64(0).u32(16 << 20).b)
	f.Fuzz(func(t *testing.T, rec []byte) {
		orig := bytes.Clone(rec)
		if err := checkCall(rec); err != nil {
			return
		}
		if len(rec) < minRecord {
			t.Fatalf("accepted a record of %d bytes", len(rec))
		}
		if diff := countDiff(orig, rec); diff > 4 {
			t.Fatalf("checkCall changed %d bytes", diff)
		}
	})
}

func countDiff(a, b []byte) int {
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}
