package nfsroot

import (
	"bytes"
	"fmt"
	"path"
	"slices"
	"strings"
)

// Mode bits of the newc format (they are the kernel's S_IF* values).
const (
	modeDir     = 0o040000
	modeFile    = 0o100000
	modeSymlink = 0o120000
	modeCharDev = 0o020000
)

// entry is one member of the archive.
type entry struct {
	mode         uint32 // type and permission bits
	data         []byte // file contents or symlink target
	major, minor uint32 // device numbers of device nodes
}

// archive collects the initramfs by path and writes it in a fixed order,
// with every owner, time and inode number derived from the paths alone, so
// the same inputs always give the same bytes.
type archive struct {
	entries map[string]entry
}

func newArchive() *archive { return &archive{entries: map[string]entry{}} }

// add records e at name (relative, slash-separated) and the directories
// above it. Adding the same path twice is fine only with the same entry.
func (a *archive) add(name string, e entry) error {
	name = strings.TrimPrefix(path.Clean("/"+name), "/")
	if name == "" {
		return fmt.Errorf("initramfs: empty path")
	}
	if old, ok := a.entries[name]; ok {
		if old.mode != e.mode || !bytes.Equal(old.data, e.data) || old.major != e.major || old.minor != e.minor {
			return fmt.Errorf("initramfs: two different entries for /%s", name)
		}
		return nil
	}
	if dir := path.Dir(name); dir != "." {
		if err := a.dir(dir); err != nil {
			return err
		}
	}
	a.entries[name] = e
	return nil
}

func (a *archive) dir(name string) error {
	if old, ok := a.entries[name]; ok && old.mode&0o170000 == modeDir {
		return nil
	}
	return a.add(name, entry{mode: modeDir | 0o755})
}

func (a *archive) file(name string, perm uint32, data []byte) error {
	return a.add(name, entry{mode: modeFile | perm&0o7777, data: data})
}

func (a *archive) symlink(name, target string) error {
	return a.add(name, entry{mode: modeSymlink | 0o777, data: []byte(target)})
}

func (a *archive) charDev(name string, perm, major, minor uint32) error {
	return a.add(name, entry{mode: modeCharDev | perm, major: major, minor: minor})
}

// names lists the archive's paths in the order they are written: sorted,
// so a directory always comes before what it holds.
func (a *archive) names() []string {
	names := make([]string, 0, len(a.entries))
	for n := range a.entries {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// bytes writes the "newc" cpio format the kernel unpacks an initramfs from
// (Documentation/driver-api/early-userspace/buffer-format.rst): owner root,
// modification time 0, inode numbers in path order.
func (a *archive) bytes() []byte {
	var buf bytes.Buffer
	ino := 0
	header := func(name string, e entry) {
		ino++
		nlink := 1
		if e.mode&0o170000 == modeDir {
			nlink = 2
		}
		fmt.Fprintf(&buf, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
			ino, e.mode, 0, 0, nlink, 0, len(e.data), 0, 0, e.major, e.minor, len(name)+1, 0)
		buf.WriteString(name)
		buf.WriteByte(0)
		pad(&buf)
		buf.Write(e.data)
		pad(&buf)
	}
	for _, n := range a.names() {
		header(n, a.entries[n])
	}
	header("TRAILER!!!", entry{})
	return buf.Bytes()
}

func pad(buf *bytes.Buffer) {
	for buf.Len()%4 != 0 {
		buf.WriteByte(0)
	}
}
