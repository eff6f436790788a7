package artifact

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/store"
)

func openStore(t *testing.T, dir string) (*Store, *store.Store) {
	t.Helper()
	db, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	sources, err := NewSources(SourceOptions{FileDirs: []string{os.TempDir()}, URLAllow: []string{"*"}, Private: []Private{{dir, "the state dir"}}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir, db, sources)
	if err != nil {
		t.Fatal(err)
	}
	return s, db
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func blobCount(t *testing.T, dir string) int {
	entries, err := os.ReadDir(filepath.Join(dir, "artifacts", "blobs", "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

func TestPutDedupVerifyDeleteAndReopen(t *testing.T) {
	dir := t.TempDir()
	s, db := openStore(t, dir)

	if _, err := s.Put("undionly.kpxe", "", "upload", strings.NewReader("pxe")); err != nil {
		t.Fatal(err)
	}
	rec, err := s.Put("/copies/undionly.kpxe", sum("pxe"), "upload", strings.NewReader("pxe"))
	if err != nil || rec.Path != "copies/undionly.kpxe" || rec.Size != 3 || rec.SHA256 != sum("pxe") {
		t.Fatalf("Put = %+v, %v", rec, err)
	}
	if n := blobCount(t, dir); n != 1 {
		t.Fatalf("identical content stored %d times", n)
	}

	_, err = s.Put("undionly.kpxe", sum("other"), "upload", strings.NewReader("tampered"))
	if !errors.Is(err, ErrChecksumMismatch) {
		t.Fatalf("mismatching sha256: %v", err)
	}
	if r, _ := s.Get("undionly.kpxe"); r.SHA256 != sum("pxe") {
		t.Fatal("a refused put changed the artifact")
	}

	f, err := s.FS().Open("copies/undionly.kpxe")
	if err != nil {
		t.Fatal(err)
	}
	info, _ := f.Stat()
	if info.Name() != "undionly.kpxe" || info.Size() != 3 {
		t.Fatalf("Stat = %s %d", info.Name(), info.Size())
	}
	if _, ok := f.(io.Seeker); !ok {
		t.Fatal("served files must seek (HTTP Range, TFTP tsize)")
	}
	f.Close()

	if err := s.Delete("undionly.kpxe"); err != nil {
		t.Fatal(err)
	}
	if n := blobCount(t, dir); n != 1 {
		t.Fatalf("content still used by another path was removed (%d blobs)", n)
	}
	if err := s.Delete("copies/undionly.kpxe"); err != nil {
		t.Fatal(err)
	}
	if n := blobCount(t, dir); n != 0 {
		t.Fatalf("unreferenced content kept (%d blobs)", n)
	}
	if err := s.Delete("absent"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Delete(absent) = %v", err)
	}

	if _, err := s.Put("linux/vmlinuz", "", "upload", strings.NewReader("kernel")); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, db = openStore(t, dir)
	defer db.Close()
	if r, ok := s.Get("linux/vmlinuz"); !ok || r.Size != 6 {
		t.Fatalf("after reopen: %+v %v", r, ok)
	}
}

func TestPathsAreCleanOrRefused(t *testing.T) {
	s, db := openStore(t, t.TempDir())
	defer db.Close()
	for _, bad := range []string{"", "../etc/passwd", "a/../b", "a//b", "./a", "a\\b", "a\x00b", "dir/"} {
		if _, err := s.Put(bad, "", "upload", strings.NewReader("x")); err == nil {
			t.Errorf("Put(%q) succeeded", bad)
		}
	}
	if _, err := s.FS().Open("../state.db"); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("Open(../state.db) = %v", err)
	}
}

func TestPutFromFileAndURL(t *testing.T) {
	dir := t.TempDir()
	s, db := openStore(t, dir)
	defer db.Close()
	src := filepath.Join(t.TempDir(), "ipxe.efi")
	if err := os.WriteFile(src, []byte("efi"), 0o644); err != nil {
		t.Fatal(err)
	}
	rec, err := s.PutFromFile(context.Background(), "ipxe.efi", sum("efi"), "agent_path", src)
	if err != nil || rec.Source != "agent_path:"+src {
		t.Fatalf("PutFromFile = %+v, %v", rec, err)
	}
	if _, err := s.PutFromFile(context.Background(), "x", "", "agent_path", "relative/path"); err == nil {
		t.Error("relative agent_path accepted")
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, "script")
	}))
	defer srv.Close()
	var received, total int64
	rec, err = s.PutFromURL(context.Background(), "start.ipxe", sum("script"), srv.URL+"/start.ipxe", func(r, t int64) { received, total = r, t })
	if err != nil || rec.Size != 6 {
		t.Fatalf("PutFromURL = %+v, %v", rec, err)
	}
	if received != 6 || total != 6 {
		t.Errorf("progress reported %d of %d bytes, want 6 of 6", received, total)
	}
	if _, err := s.PutFromURL(context.Background(), "m", "", srv.URL+"/missing", nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("404 download: %v", err)
	}
}

// A snapshot puts its paths back as they were, content included, however
// they changed since; released without a restore, it lets the replaced
// content go. Either way no content is left that no path serves, even
// after the store is opened again.
func TestSnapshotRestoresItsPaths(t *testing.T) {
	for _, restore := range []bool{true, false} {
		dir := t.TempDir()
		s, db := openStore(t, dir)
		if _, err := s.Put("img/vmlinuz", "", "upload", strings.NewReader("old kernel")); err != nil {
			t.Fatal(err)
		}
		sn := s.Snapshot("img/vmlinuz", "img/initrd.img")
		for path, content := range map[string]string{"img/vmlinuz": "new kernel", "img/initrd.img": "new initrd"} {
			if _, err := s.Put(path, "", "upload", strings.NewReader(content)); err != nil {
				t.Fatal(err)
			}
		}
		if restore {
			if err := sn.Restore(); err != nil {
				t.Fatal(err)
			}
		}
		sn.Release()
		want := map[string]string{"img/vmlinuz": sum("new kernel"), "img/initrd.img": sum("new initrd")}
		if restore {
			want = map[string]string{"img/vmlinuz": sum("old kernel")}
		}
		db.Close()
		s, db = openStore(t, dir) // what was stored, not only what is in memory
		got := map[string]string{}
		for _, r := range s.List() {
			got[r.Path] = r.SHA256
		}
		if len(got) != len(want) || got["img/vmlinuz"] != want["img/vmlinuz"] || got["img/initrd.img"] != want["img/initrd.img"] {
			t.Errorf("restore %t: artifacts %v, want %v", restore, got, want)
		}
		if n := blobCount(t, dir); n != len(want) {
			t.Errorf("restore %t: %d contents stored, want %d", restore, n, len(want))
		}
		for _, r := range s.List() {
			if _, err := fs.ReadFile(s.FS(), r.Path); err != nil {
				t.Errorf("restore %t: %s: %v", restore, r.Path, err)
			}
		}
		db.Close()
	}
}
