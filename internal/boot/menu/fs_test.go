package menu

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/machineconfig"

	"github.com/netbootlab/terraform-provider-netboot/internal/wire/eventkind"
)

var ownFiles = fstest.MapFS{
	"start.ipxe":      {Data: []byte("#!ipxe\necho hand-written\n")},
	"grub/grub.cfg":   {Data: []byte("echo hand-written\n")},
	"centos/vmlinuz":  {Data: []byte("kernel")},
	"netboot/readme":  {Data: []byte("not ours")},
	"netboot/host/me": {Data: []byte("never served")},
}

func newTestFS(c *Catalog) (fs.FS, *atomic.Pointer[Catalog]) {
	var cur atomic.Pointer[Catalog]
	cur.Store(c)
	return NewFS(cur.Load, func() machineconfig.Site { return testSite }, ownFiles), &cur
}

func readAll(t *testing.T, fsys fs.FS, name string) []byte {
	t.Helper()
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		t.Fatalf("reading %s: %v", name, err)
	}
	return b
}

func TestFSStartFollowsCatalog(t *testing.T) {
	fsys, cur := newTestFS(&Catalog{})
	if got := readAll(t, fsys, "start.ipxe"); !bytes.Contains(got, []byte("hand-written")) {
		t.Errorf("without menus start.ipxe should be the boot server's own, got:\n%s", got)
	}
	cur.Store(testCatalog())
	if got := readAll(t, fsys, "start.ipxe"); !bytes.Equal(got, RenderStart(testBootServer, testHTTPBase)) {
		t.Errorf("with menus start.ipxe should be generated, got:\n%s", got)
	}
	// Submenus alone (no match, no default) offer nothing to hosts.
	sub := testCatalog()
	sub.Menus = map[string]Menu{"tools": sub.Menus["tools"], "disks": sub.Menus["disks"], "main": sub.Menus["main"]}
	sub.Menus["main"] = Menu{Name: "main", Items: sub.Menus["main"].Items, BootServers: []string{"other"}, Match: Match{Platforms: []string{"efi"}}}
	cur.Store(sub)
	if got := readAll(t, fsys, "start.ipxe"); !bytes.Contains(got, []byte("hand-written")) {
		t.Errorf("menus for other boot servers only: start.ipxe should be the boot server's own, got:\n%s", got)
	}
	cur.Store(nil)
	if got := readAll(t, fsys, "start.ipxe"); !bytes.Contains(got, []byte("hand-written")) {
		t.Errorf("nil catalog: got:\n%s", got)
	}
}

func TestFSHostScripts(t *testing.T) {
	fsys, _ := newTestFS(testCatalog())
	known := HostPath(Host{MAC: "52-54-00-12-34-56", BuildArch: "x86_64", Platform: "efi"})
	if got := readAll(t, fsys, known); !bytes.Contains(got, []byte(":menu-main\n")) {
		t.Errorf("%s: want the main menu, got:\n%s", known, got)
	}
	unknown := "netboot/host/mac-02-00-00-00-00-05/uuid-/arch-/platform-/menu.ipxe"
	if got := readAll(t, fsys, unknown); !bytes.Contains(got, []byte(":menu-fallback\n")) {
		t.Errorf("%s: want the default menu, got:\n%s", unknown, got)
	}
	noDefault := testCatalog()
	delete(noDefault.Menus, "fallback")
	fsys, _ = newTestFS(noDefault)
	got := readAll(t, fsys, unknown)
	if !bytes.Contains(got, []byte("matches this host (mac 02:00:00:00:00:05, uuid unknown, arch unknown, platform unknown)")) || !bytes.HasSuffix(got, []byte("exit\n")) {
		t.Errorf("%s: want a script that says no menu matches and exits, got:\n%s", unknown, got)
	}
	if err := ipxeCheck(got); err != nil {
		t.Error(err)
	}
}

func TestFSFallbackAndErrors(t *testing.T) {
	fsys, _ := newTestFS(testCatalog())
	if got := readAll(t, fsys, "centos/vmlinuz"); string(got) != "kernel" {
		t.Errorf("centos/vmlinuz = %q", got)
	}
	if got := readAll(t, fsys, "netboot/readme"); string(got) != "not ours" {
		t.Errorf("netboot/readme = %q", got)
	}
	for _, name := range []string{"netboot/host/me", "netboot/host/mac-x/uuid-/arch-/platform-/other.ipxe", "netboot/host/mac-a b/uuid-/arch-/platform-/menu.ipxe", "missing"} {
		if _, err := fsys.Open(name); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Open(%q) error = %v, want fs.ErrNotExist", name, err)
		}
	}
	if _, err := fsys.Open("../etc/passwd"); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("Open(../etc/passwd) error = %v, want fs.ErrInvalid", err)
	}
	broken := NewFS(func() *Catalog { return testCatalog() }, func() machineconfig.Site { return machineconfig.Site{BootServer: testBootServer, HTTPBase: ""} }, nil)
	if _, err := broken.Open("start.ipxe"); err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Errorf("no HTTP base: error = %v, want a real error", err)
	}
	if _, err := broken.Open("other"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("nil fallback: error = %v, want fs.ErrNotExist", err)
	}
}

func TestFSFiles(t *testing.T) {
	c := testCatalog()
	fsys, _ := newTestFS(c)
	name := HostPath(Host{MAC: "52-54-00-12-34-56"})
	f, err := fsys.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	want := readAll(t, fsys, name)
	if fi.Name() != "menu.ipxe" || fi.Size() != int64(len(want)) || fi.IsDir() || !fi.Mode().IsRegular() || !fi.ModTime().Equal(c.Updated) {
		t.Errorf("Stat = %s %d %v %v %v", fi.Name(), fi.Size(), fi.IsDir(), fi.Mode(), fi.ModTime())
	}
	rs, ok := f.(io.ReadSeeker)
	if !ok {
		t.Fatal("generated file is not an io.ReadSeeker")
	}
	if _, err := rs.Seek(3, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(rs)
	if !bytes.Equal(rest, want[3:]) {
		t.Error("Seek then Read returned the wrong bytes")
	}
	// Generated scripts are not listed in directories; everything else
	// behaves as the fallback does.
	plain := fstest.MapFS{"centos/vmlinuz": ownFiles["centos/vmlinuz"], "netboot/readme": ownFiles["netboot/readme"]}
	if err := fstest.TestFS(NewFS(func() *Catalog { return c }, func() machineconfig.Site { return testSite }, plain), "centos/vmlinuz", "netboot/readme"); err != nil {
		t.Errorf("fstest.TestFS: %v", err)
	}
}

func TestHostPathRoundTrip(t *testing.T) {
	h := Host{MAC: "52-54-00-12-34-56", UUID: "4c4c4544-0042-3510-8052-b4c04f4b4e31", BuildArch: "x86_64", Platform: "efi"}
	p := HostPath(h)
	if p != "netboot/host/mac-52-54-00-12-34-56/uuid-4c4c4544-0042-3510-8052-b4c04f4b4e31/arch-x86_64/platform-efi/menu.ipxe" {
		t.Errorf("HostPath = %s", p)
	}
	if got, ok := ParseHostPath(p); !ok || got != h {
		t.Errorf("ParseHostPath = %v, %v", got, ok)
	}
	for _, bad := range []string{
		"netboot/host/mac-/uuid-/arch-/platform-",
		"netboot/host/uuid-/mac-/arch-/platform-/menu.ipxe",
		"netboot/host/mac-/uuid-/arch-/platform-/menu.ipxe/x",
		"netboot/host/mac-${x}/uuid-/arch-/platform-/menu.ipxe",
		"netboot/host/mac-" + strings.Repeat("a", 65) + "/uuid-/arch-/platform-/menu.ipxe",
	} {
		if _, ok := ParseHostPath(bad); ok {
			t.Errorf("ParseHostPath(%q) accepted", bad)
		}
	}
}

// FuzzRenderPath feeds arbitrary paths to the FS: a host path must round
// trip, render a well-formed script (whatever the path carries cannot leak
// into a command), and never be a 404; anything else must fail cleanly.
func FuzzRenderPath(f *testing.F) {
	f.Add("start.ipxe")
	f.Add(HostPath(Host{MAC: "52-54-00-12-34-56", BuildArch: "x86_64", Platform: "efi"}))
	f.Add("netboot/host/mac-/uuid-/arch-/platform-/menu.ipxe")
	f.Add("netboot/host/mac-a||b/uuid-#/arch-${x}/platform-\n/menu.ipxe")
	f.Add("netboot/host/mac-;/uuid-/arch-/platform-/menu.ipxe")
	f.Add("centos/vmlinuz")
	f.Add(GrubStartPath)
	f.Add(GrubHostPath(Host{MAC: "52:54:00:12:34:56", BuildArch: "x86_64", Platform: "efi"}))
	noDefault := testCatalog()
	delete(noDefault.Menus, "fallback")
	catalogs := []*Catalog{testCatalog(), noDefault}
	f.Fuzz(func(t *testing.T, name string) {
		h, ok := ParseHostPath(name)
		if ok && HostPath(h) != name && GrubHostPath(h) != name {
			t.Fatalf("HostPath(ParseHostPath(%q)) = %q", name, HostPath(h))
		}
		for _, c := range catalogs {
			fsys := NewFS(func() *Catalog { return c }, func() machineconfig.Site { return testSite }, ownFiles)
			file, err := fsys.Open(name)
			if !ok {
				if err == nil && strings.HasPrefix(name, hostPathPrefix) {
					t.Fatalf("Open(%q) served a file for a path that is not a host path", name)
				}
				if err == nil {
					file.Close()
				}
				continue
			}
			if err != nil {
				t.Fatalf("Open(%q): %v", name, err)
			}
			script, err := io.ReadAll(file)
			file.Close()
			if err != nil {
				t.Fatal(err)
			}
			if IsGrubPath(name) {
				// grub-script-check runs on the golden files; a host
				// path's values (hostValue) are only echoed in a comment.
				continue
			}
			if err := ipxeCheck(script); err != nil {
				t.Fatalf("Open(%q): %v\n%s", name, err, script)
			}
		}
	})
}

func TestFSUsesCurrentCatalog(t *testing.T) {
	fsys, cur := newTestFS(testCatalog())
	name := HostPath(Host{MAC: "52-54-00-12-34-56"})
	before := readAll(t, fsys, name)
	next := testCatalog()
	m := next.Menus["main"]
	m.Title = "Changed"
	next.Menus["main"] = m
	next.Updated = next.Updated.Add(time.Hour)
	cur.Store(next)
	after := readAll(t, fsys, name)
	if bytes.Equal(before, after) || !bytes.Contains(after, []byte("menu Changed\n")) {
		t.Errorf("FS did not pick up the new catalog:\n%s", after)
	}
}

// TestFSScriptsSayTheyAreScripts: a generated script tells the HTTP server
// that serving it is a script event; the boot server's own files do not,
// even under a script's name.
func TestFSScriptsSayTheyAreScripts(t *testing.T) {
	fsys, cur := newTestFS(&Catalog{})
	kindOf := func(name string) eventkind.Kind {
		t.Helper()
		f, err := fsys.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if k, ok := f.(interface{ EventKind() eventkind.Kind }); ok {
			return k.EventKind()
		}
		return ""
	}
	if k := kindOf("start.ipxe"); k != "" {
		t.Errorf("the boot server's own start.ipxe says %q", k)
	}
	cur.Store(testCatalog())
	for _, name := range []string{"start.ipxe", HostPath(Host{MAC: "52:54:00:12:34:56", BuildArch: "x86_64", Platform: "efi"})} {
		if k := kindOf(name); k != eventkind.Script {
			t.Errorf("generated %s says %q, want script", name, k)
		}
	}
	if k := kindOf("centos/vmlinuz"); k != "" {
		t.Errorf("a kernel says %q", k)
	}
}
