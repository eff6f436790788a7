package nfsserve

import (
	"crypto/sha256"
	"io/fs"
	"slices"
	"strings"
	"sync"
)

// A file handle is handleVersion, three zero bytes, the export's key and a
// hash of the path inside the export: 28 bytes, within NFSv3's 64, and a
// multiple of 4 because go-nfs reads some handles without their XDR
// padding (the argument after a 25-byte handle would be read 3 bytes
// early). Being derived from the
// path, the same file gets the same handle from every server instance, so
// handles held by clients survive Apply and agent restarts; the table only
// maps hashes back to paths. go-nfs's own caching handler hands out random
// handles from a bounded LRU instead, which turns every restart, and every
// eviction under a big root file system, into ESTALE on the client.
const (
	handleVersion = 1
	handleLen     = 4 + len(exportKey{}) + len(pathSum{})
)

type pathSum [16]byte

func sumOf(path []string) pathSum {
	sum := sha256.Sum256([]byte(strings.Join(path, "\x00")))
	return pathSum(sum[:16])
}

func makeHandle(key exportKey, sum pathSum) []byte {
	h := make([]byte, 0, handleLen)
	h = append(h, handleVersion, 0, 0, 0)
	h = append(h, key[:]...)
	return append(h, sum[:]...)
}

func parseHandle(h []byte) (exportKey, pathSum, bool) {
	if len(h) != handleLen || [4]byte(h) != [4]byte{handleVersion} {
		return exportKey{}, pathSum{}, false
	}
	return exportKey(h[4:12]), pathSum(h[12:]), true
}

// handleTable maps the path hashes of one export back to paths. A hash it
// does not know (a handle from before a restart) makes it walk the export
// once to learn every path there is; after that, names are learnt as
// clients look them up.
type handleTable struct {
	mu     sync.Mutex
	paths  map[pathSum][]string
	walked bool
}

func newHandleTable() *handleTable {
	t := &handleTable{paths: make(map[pathSum][]string)}
	t.paths[sumOf(nil)] = []string{}
	return t
}

// remember records path and returns its hash.
func (t *handleTable) remember(path []string) pathSum {
	sum := sumOf(path)
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.paths[sum]; !ok {
		t.paths[sum] = append([]string(nil), path...)
	}
	return sum
}

// lookup returns a copy of the path with hash sum (go-nfs appends to it),
// walking tree once if the hash is unknown.
func (t *handleTable) lookup(sum pathSum, tree fs.FS) ([]string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p, ok := t.paths[sum]
	if !ok && !t.walked {
		t.walked = true
		t.learn(tree)
		p, ok = t.paths[sum]
	}
	if !ok {
		return nil, false
	}
	return append(make([]string, 0, len(p)+1), p...), true
}

// forget drops the handle of a removed path. go-nfs also calls it for the
// old name after a rename, which renamed has already re-pointed: a handle
// whose path no longer hashes to it stays.
func (t *handleTable) forget(sum pathSum) {
	if sum == sumOf(nil) {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if p, ok := t.paths[sum]; ok && sumOf(p) == sum {
		delete(t.paths, sum)
	}
}

// renamed re-points the handles of from and everything below it to their
// new paths, so a client's handles follow a renamed file or directory as
// they would on a server whose handles name inodes. (Not across a restart:
// the walk then finds only the new paths.)
func (t *handleTable) renamed(from, to []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for sum, p := range t.paths {
		if len(p) >= len(from) && slices.Equal(p[:len(from)], from) {
			t.paths[sum] = append(slices.Clone(to), p[len(from):]...)
		}
	}
}

// learn records every path in tree, without following symbolic links.
// Unreadable directories are skipped.
func (t *handleTable) learn(tree fs.FS) {
	_ = fs.WalkDir(tree, ".", func(name string, _ fs.DirEntry, err error) error {
		if err != nil || name == "." {
			return nil
		}
		p := strings.Split(name, "/")
		t.paths[sumOf(p)] = p
		return nil
	})
}
