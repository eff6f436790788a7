// Package artifact stores the files boot servers serve (bootloaders,
// kernels, initrds, scripts) by content: blobs/sha256/<hex> holds each
// distinct content once, and the state store maps served paths to hashes.
// A file is written, fsynced and renamed into place before its path points
// at it, so a crash never leaves a path serving a partial file.
package artifact

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/store"
)

// ErrChecksumMismatch means the content did not hash to the expected sha256.
var ErrChecksumMismatch = errors.New("sha256 mismatch")

// ChecksumError is an ErrChecksumMismatch with both digests, so callers can
// say where the content came from.
type ChecksumError struct {
	Path, Got, Want string
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("%v: %s has sha256 %s, expected %s", ErrChecksumMismatch, e.Path, e.Got, e.Want)
}

func (e *ChecksumError) Is(target error) bool { return target == ErrChecksumMismatch }

// Record describes one served file.
type Record = store.ArtifactRecord

// Store is the agent's artifact store.
type Store struct {
	dir     string // <state dir>/artifacts
	db      *store.Store
	sources *Sources

	mu    sync.RWMutex
	index map[string]Record
	// held counts the Snapshots keeping each content (by sha256) for a
	// Restore: replaced content stays on disk while one is held.
	held map[string]int
}

// Open loads the index and creates the blob directory. sources decides
// which host files and URLs PutFromFile and PutFromURL may read.
func Open(stateDir string, db *store.Store, sources *Sources) (*Store, error) {
	if sources == nil {
		return nil, errors.New("opening the artifact store: no source rules")
	}
	s := &Store{dir: filepath.Join(stateDir, "artifacts"), db: db, sources: sources, index: map[string]Record{}, held: map[string]int{}}
	if err := os.MkdirAll(filepath.Join(s.dir, "blobs", "sha256"), 0o755); err != nil {
		return nil, fmt.Errorf("creating artifact store: %w", err)
	}
	records, err := db.ListArtifacts()
	if err != nil {
		return nil, err
	}
	for _, r := range records {
		s.index[r.Path] = r
	}
	return s, nil
}

// Sources are the rules PutFromFile and PutFromURL apply; NFS root
// directories are checked against them too.
func (s *Store) Sources() *Sources { return s.sources }

// CleanPath turns a requested artifact path into its canonical form or
// explains why it is not acceptable.
func CleanPath(p string) (string, error) {
	p = strings.TrimPrefix(p, "/")
	if p == "" || !fs.ValidPath(p) || strings.ContainsAny(p, "\\\x00") {
		return "", fmt.Errorf("path %q must be a clean relative path such as \"undionly.kpxe\" or \"linux/vmlinuz\" (no \"..\", \".\", empty elements or backslashes)", p)
	}
	return p, nil
}

// Put stores content read from src under path. When expectSHA256 is set,
// content that hashes differently is discarded and nothing changes.
func (s *Store) Put(path, expectSHA256, source string, src io.Reader) (Record, error) {
	path, err := CleanPath(path)
	if err != nil {
		return Record{}, err
	}
	expectSHA256 = strings.ToLower(expectSHA256)
	if expectSHA256 != "" && !validHex(expectSHA256) {
		return Record{}, fmt.Errorf("sha256 %q must be 64 hexadecimal digits", expectSHA256)
	}
	tmp, err := os.CreateTemp(s.dir, ".upload-")
	if err != nil {
		return Record{}, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	size, err := io.Copy(io.MultiWriter(tmp, h), src)
	if err != nil {
		return Record{}, fmt.Errorf("receiving %s: %w", path, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if expectSHA256 != "" && sum != expectSHA256 {
		return Record{}, &ChecksumError{Path: path, Got: sum, Want: expectSHA256}
	}
	if err := tmp.Sync(); err != nil {
		return Record{}, err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return Record{}, err
	}
	if err := os.Rename(tmp.Name(), s.blobPath(sum)); err != nil {
		return Record{}, err
	}
	if err := syncDir(filepath.Dir(s.blobPath(sum))); err != nil {
		return Record{}, err
	}
	rec := Record{Path: path, SHA256: sum, Size: size, Source: source}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.db.PutArtifact(rec); err != nil {
		return Record{}, err
	}
	old, had := s.index[path]
	s.index[path] = rec
	if had && old.SHA256 != sum {
		s.removeUnreferencedLocked(old.SHA256)
	}
	return rec, nil
}

// PutFromFile copies a file on the agent host, if the sources allow it;
// field names the attribute agentPath came from (agent_path, kernel). A
// refusal is a *RefusedError. The copy stops when ctx ends, changing
// nothing.
func (s *Store) PutFromFile(ctx context.Context, path, expectSHA256, field, agentPath string) (Record, error) {
	f, err := s.sources.OpenFile(field, agentPath)
	if err != nil {
		return Record{}, err
	}
	defer f.Close()
	return s.Put(path, expectSHA256, "agent_path:"+agentPath, contextReader{ctx: ctx, r: f})
}

// contextReader reads r until ctx ends.
type contextReader struct {
	ctx context.Context
	r   io.Reader
}

func (c contextReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// PutFromURL downloads an http(s) URL, if the sources allow its host (a
// refusal is a *RefusedError). progress, when not nil, is called as
// content arrives with the bytes received so far and the total (0 when the
// server did not say).
func (s *Store) PutFromURL(ctx context.Context, path, expectSHA256, url string, progress func(received, total int64)) (Record, error) {
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		return Record{}, fmt.Errorf("url %q must start with http:// or https://", url)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	resp, err := s.sources.get(ctx, url)
	var refused *RefusedError
	if errors.As(err, &refused) {
		reason := refused.Reason
		if refused.Value != url {
			reason = fmt.Sprintf("it leads to %s, and %s", refused.Value, reason)
		}
		return Record{}, &RefusedError{Field: "url", Value: url, Reason: reason}
	}
	if err != nil {
		return Record{}, fmt.Errorf("downloading %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Record{}, fmt.Errorf("downloading %s: HTTP %s", url, resp.Status)
	}
	var body io.Reader = resp.Body
	if progress != nil {
		body = &progressReader{r: resp.Body, total: max(resp.ContentLength, 0), report: progress}
	}
	return s.Put(path, expectSHA256, "url:"+url, body)
}

// progressReader reports how much was read through it.
type progressReader struct {
	r           io.Reader
	done, total int64
	report      func(done, total int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.done += int64(n)
		p.report(p.done, p.total)
	}
	return n, err
}

// Get returns the record of path.
func (s *Store) Get(path string) (Record, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.index[strings.TrimPrefix(path, "/")]
	return r, ok
}

// List returns every record, sorted by path.
func (s *Store) List() []Record {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Record, 0, len(s.index))
	for _, r := range s.index {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Delete forgets path and removes its content unless another path uses it.
func (s *Store) Delete(path string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.index[path]
	if !ok {
		return fmt.Errorf("artifact %q: %w", path, store.ErrNotFound)
	}
	if err := s.db.DeleteArtifact(path); err != nil {
		return err
	}
	delete(s.index, path)
	s.removeUnreferencedLocked(r.SHA256)
	return nil
}

func (s *Store) removeUnreferencedLocked(sum string) {
	if s.held[sum] > 0 {
		return
	}
	for _, r := range s.index {
		if r.SHA256 == sum {
			return
		}
	}
	_ = os.Remove(s.blobPath(sum))
}

// Snapshot is what some paths served when it was taken, kept so that a
// change of several paths can be undone as a whole (Restore). Their content
// stays on disk until Release, even when a Put replaces it.
type Snapshot struct {
	s     *Store
	paths []string
	prev  map[string]Record // absent: the path served nothing
}

// Snapshot takes the records of paths as they are now.
func (s *Store) Snapshot(paths ...string) *Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	sn := &Snapshot{s: s, paths: paths, prev: map[string]Record{}}
	for _, p := range paths {
		if r, ok := s.index[p]; ok {
			sn.prev[p] = r
			s.held[r.SHA256]++
		}
	}
	return sn
}

// Restore makes every path of the snapshot serve what it served when the
// snapshot was taken, and removes the content that no path serves now.
func (sn *Snapshot) Restore() error {
	s := sn.s
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, p := range sn.paths {
		cur, had := s.index[p]
		prev, existed := sn.prev[p]
		switch {
		case existed && (!had || cur != prev):
			if err := s.db.PutArtifact(prev); err != nil {
				errs = append(errs, err)
				continue
			}
			s.index[p] = prev
		case !existed && had:
			if err := s.db.DeleteArtifact(p); err != nil && !errors.Is(err, store.ErrNotFound) {
				errs = append(errs, err)
				continue
			}
			delete(s.index, p)
		default:
			continue
		}
		if had {
			s.removeUnreferencedLocked(cur.SHA256)
		}
	}
	return errors.Join(errs...)
}

// Release lets go of the snapshot's content: what no path serves any more
// is removed.
func (sn *Snapshot) Release() {
	s := sn.s
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range sn.prev {
		if s.held[r.SHA256]--; s.held[r.SHA256] <= 0 {
			delete(s.held, r.SHA256)
			s.removeUnreferencedLocked(r.SHA256)
		}
	}
	sn.prev = nil
}

func (s *Store) blobPath(sum string) string {
	return filepath.Join(s.dir, "blobs", "sha256", sum)
}

// FS is a live, read-only view of the artifacts for the TFTP and HTTP
// servers: a path added or changed is served from the next request on.
func (s *Store) FS() fs.FS { return artifactFS{s} }

type artifactFS struct{ s *Store }

func (a artifactFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	rec, ok := a.s.Get(name)
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	f, err := os.Open(a.s.blobPath(rec.SHA256))
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return namedFile{File: f, name: filepath.Base(name)}, nil
}

// namedFile reports the served name (not the hash) so HTTP picks the
// content type from the extension.
type namedFile struct {
	*os.File
	name string
}

func (f namedFile) Stat() (fs.FileInfo, error) {
	info, err := f.File.Stat()
	if err != nil {
		return nil, err
	}
	return namedInfo{FileInfo: info, name: f.name}, nil
}

type namedInfo struct {
	fs.FileInfo
	name string
}

func (i namedInfo) Name() string { return i.name }

func validHex(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
