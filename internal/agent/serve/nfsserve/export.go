package nfsserve

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"unicode/utf8"
)

// maxMountPath is MNTPATHLEN (RFC 1813 section 5.1): the longest dirpath a
// MOUNT request may carry.
const maxMountPath = 1024

// exportKey names an export inside file handles: a hash of its Path and
// Dir, so a handle survives Apply and agent restarts while both stay, and
// goes stale when either changes.
type exportKey [8]byte

func keyOf(exportPath, dir string) exportKey {
	sum := sha256.Sum256([]byte(exportPath + "\x00" + dir))
	return exportKey(sum[:8])
}

// export is one served tree: a billy filesystem over an os.Root (see
// fs.go) with the file handles handed out for it.
type export struct {
	Export
	key      exportKey
	root     *os.Root
	dev, ino uint64 // of Dir when opened, to notice it being replaced
	handles  *handleTable
	stats    *counters
}

// exportSet is the exports served at one time; Apply swaps it whole.
type exportSet struct {
	byPath map[string]*export
	byKey  map[exportKey]*export
}

// openExports opens each export's directory, reusing what old already has
// open for an unchanged export and its handle table for one with the same
// Path and Dir. On error it closes what it opened and old is untouched.
func openExports(cfgs []Export, old *exportSet, stats *counters) (*exportSet, error) {
	set := &exportSet{byPath: make(map[string]*export, len(cfgs)), byKey: make(map[exportKey]*export, len(cfgs))}
	for _, c := range cfgs {
		dir, err := filepath.Abs(c.Dir)
		if err != nil {
			set.closeExcept(old)
			return nil, fmt.Errorf("nfs: export %s: %w", c.Path, err)
		}
		c.Dir = dir
		e, err := openExport(c, old, stats)
		if err != nil {
			set.closeExcept(old)
			return nil, err
		}
		if other, dup := set.byKey[e.key]; dup {
			// Two paths hashing alike would make their handles ambiguous.
			set.closeExcept(old)
			return nil, fmt.Errorf("nfs: exports %s and %s have colliding handle keys", other.Path, e.Path)
		}
		set.byPath[e.Path], set.byKey[e.key] = e, e
	}
	return set, nil
}

func openExport(c Export, old *exportSet, stats *counters) (*export, error) {
	fi, err := os.Stat(c.Dir)
	if err != nil {
		return nil, fmt.Errorf("nfs: export %s: %w", c.Path, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("nfs: export %s: %s is not a directory", c.Path, c.Dir)
	}
	st, _ := fi.Sys().(*syscall.Stat_t)
	var dev, ino uint64
	if st != nil {
		dev, ino = st.Dev, st.Ino
	}
	key := keyOf(c.Path, c.Dir)
	var prev *export
	if old != nil {
		prev = old.byKey[key]
	}
	if prev != nil && prev.Export == c && prev.dev == dev && prev.ino == ino {
		return prev, nil
	}
	root, err := os.OpenRoot(c.Dir)
	if err != nil {
		return nil, fmt.Errorf("nfs: export %s: %w", c.Path, err)
	}
	e := &export{Export: c, key: key, root: root, dev: dev, ino: ino, stats: stats}
	if prev != nil {
		e.handles = prev.handles
	} else {
		e.handles = newHandleTable()
	}
	return e, nil
}

// lookup finds the export a MOUNT request's dirpath names.
func (s *exportSet) lookup(dirpath []byte) (*export, bool) {
	p, ok := mountPath(dirpath)
	if !ok {
		return nil, false
	}
	e, ok := s.byPath[p]
	return e, ok
}

// closeExcept closes the roots of exports not also in keep (which may be
// nil).
func (s *exportSet) closeExcept(keep *exportSet) {
	for _, e := range s.byPath {
		if keep == nil || keep.byKey[e.key] != e {
			_ = e.root.Close()
		}
	}
}

func (s *exportSet) close() { s.closeExcept(nil) }

// describe lists the exports for logs, sorted by path.
func (s *exportSet) describe() []string {
	out := make([]string, 0, len(s.byPath))
	for _, e := range s.byPath {
		mode := "rw"
		if e.ReadOnly {
			mode = "ro"
		}
		if e.NoRootSquash {
			mode += ",no_root_squash"
		}
		out = append(out, e.Path+"="+e.Dir+" ("+mode+")")
	}
	sort.Strings(out)
	return out
}

// mountPath turns a MOUNT request's dirpath into the export path it names:
// absolute, cleaned (so "/roots//debian/" names "/roots/debian"), valid
// UTF-8 without NUL and at most MNTPATHLEN bytes, or false.
func mountPath(dirpath []byte) (string, bool) {
	if len(dirpath) == 0 || len(dirpath) > maxMountPath || dirpath[0] != '/' || !utf8.Valid(dirpath) {
		return "", false
	}
	p := string(dirpath)
	if strings.IndexByte(p, 0) >= 0 {
		return "", false
	}
	return path.Clean(p), true
}

// validExportPath reports whether p can be an Export.Path: what mountPath
// returns for some request.
func validExportPath(p string) bool {
	c, ok := mountPath([]byte(p))
	return ok && c == p
}
