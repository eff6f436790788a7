package nfsroot

import (
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"errors"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
)

// fakeModules writes a modules directory shaped like Debian's: modules.dep
// with the real dependency lists of the base modules (deps in modprobe's
// order, nearest first), one module gzip-compressed, one xz-compressed when
// xz is installed, one built in, and an extra module with a dependency.
func fakeModules(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	paths := map[string]string{
		"virtio_ring": "kernel/drivers/virtio/virtio_ring.ko", "virtio": "kernel/drivers/virtio/virtio.ko",
		"virtio_pci_modern_dev": "kernel/drivers/virtio/virtio_pci_modern_dev.ko",
		"virtio_pci_legacy_dev": "kernel/drivers/virtio/virtio_pci_legacy_dev.ko",
		"virtio_pci":            "kernel/drivers/virtio/virtio_pci.ko",
		"net_failover":          "kernel/drivers/net/net_failover.ko", "virtio_net": "kernel/drivers/net/virtio_net.ko",
		"netfs": "kernel/fs/netfs/netfs.ko", "fscache": "kernel/fs/fscache/fscache.ko",
		"sunrpc": "kernel/net/sunrpc/sunrpc.ko.gz", "grace": "kernel/fs/nfs_common/grace.ko",
		"lockd": "kernel/fs/lockd/lockd.ko", "nfs_acl": "kernel/fs/nfs_common/nfs_acl.ko",
		"nfs": "kernel/fs/nfs/nfs.ko", "nfsv3": "kernel/fs/nfs/nfsv3.ko",
		"e1000e": "kernel/drivers/net/ethernet/intel/e1000e/e1000e.ko", "ptp": "kernel/drivers/ptp/ptp.ko",
	}
	if _, err := exec.LookPath("xz"); err == nil {
		paths["nfs"] = "kernel/fs/nfs/nfs.ko.xz"
	}
	deps := map[string][]string{
		"virtio":       {"virtio_ring"},
		"virtio_pci":   {"virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio", "virtio_ring"},
		"net_failover": {"failover"},
		"virtio_net":   {"net_failover", "failover", "virtio", "virtio_ring"},
		"fscache":      {"netfs"},
		"lockd":        {"grace", "sunrpc"},
		"nfs":          {"lockd", "grace", "sunrpc", "fscache", "netfs"},
		"nfsv3":        {"nfs_acl", "nfs", "lockd", "grace", "sunrpc", "fscache", "netfs"},
		"nfs_acl":      {"sunrpc"},
		"e1000e":       {"ptp"},
	}
	var dep strings.Builder
	names := make([]string, 0, len(paths))
	for n := range paths {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		p := paths[n]
		dep.WriteString(p + ":")
		for _, d := range deps[n] {
			if d != "failover" { // built in below
				dep.WriteString(" " + paths[d])
			}
		}
		dep.WriteString("\n")
		writeModule(t, filepath.Join(dir, p), []byte("module "+n))
	}
	mustWrite(t, filepath.Join(dir, "modules.dep"), []byte(dep.String()))
	mustWrite(t, filepath.Join(dir, "modules.builtin"), []byte("kernel/net/core/failover.ko\nkernel/drivers/virtio/virtio_anchor.ko\n"))
	return dir
}

func writeModule(t *testing.T, p string, data []byte) {
	t.Helper()
	switch {
	case strings.HasSuffix(p, ".gz"):
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(data)
		_ = zw.Close()
		data = buf.Bytes()
	case strings.HasSuffix(p, ".xz"):
		cmd := exec.Command("xz", "-c")
		cmd.Stdin = bytes.NewReader(data)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		data = out
	}
	mustWrite(t, p, data)
}

func mustWrite(t *testing.T, p string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// testOptions builds from this host's static busybox and its mount.nfs, or
// coreutils' true (also dynamically linked against glibc) without nfs-common.
func testOptions(t *testing.T) InitrdOptions {
	t.Helper()
	if err := staticELF("/bin/busybox"); err != nil {
		testlab.Unavailable(t, "needs a static /bin/busybox (apt-get install busybox-static): %v", err)
	}
	mountNFS := "/sbin/mount.nfs"
	if _, err := os.Stat(mountNFS); err != nil {
		mountNFS = "/bin/true"
	}
	return InitrdOptions{KernelVersion: "6.1.0-test-amd64", ModulesDir: fakeModules(t), MountNFS: mountNFS, ExtraModules: []string{"e1000e"}}
}

// A build whose context ends stops with the context's error: at the first
// step, or between modules once its deadline passes.
func TestBuildInitrdStopsWhenItsContextEnds(t *testing.T) {
	opts := testOptions(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := BuildInitrd(ctx, opts); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled build: %v, want context.Canceled", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	a := newArchive()
	calls := 0
	err := addModules(cancelAfter{ctx, cancel, &calls, 2}, a, opts)
	if !errors.Is(err, context.Canceled) || len(a.names()) == 0 {
		t.Errorf("build cancelled between modules: %v with %d files added; want context.Canceled after some", err, len(a.names()))
	}
}

// cancelAfter cancels its context at the n-th Err call.
type cancelAfter struct {
	context.Context
	cancel context.CancelFunc
	calls  *int
	n      int
}

func (c cancelAfter) Err() error {
	if *c.calls++; *c.calls >= c.n {
		c.cancel()
	}
	return c.Context.Err()
}

func TestBuildInitrdReproducible(t *testing.T) {
	opts := testOptions(t)
	for _, gz := range []bool{false, true} {
		opts.Gzip = gz
		a, err := BuildInitrd(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		b, err := BuildInitrd(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Data, b.Data) || a.SHA256 != b.SHA256 {
			t.Errorf("gzip=%v: two builds differ (sha256 %s, %s)", gz, a.SHA256, b.SHA256)
		}
		if a.Size != len(a.Data) || len(a.SHA256) != 64 || !slices.Equal(a.Files, b.Files) {
			t.Errorf("gzip=%v: size %d for %d bytes, sha256 %q", gz, a.Size, len(a.Data), a.SHA256)
		}
		t.Logf("gzip=%v: %d bytes, %d files, sha256 %s", gz, a.Size, len(a.Files), a.SHA256)
	}
}

// cpioEntry is one member read back from a newc archive.
type cpioEntry struct {
	mode, uid, gid, mtime, major, minor uint64
	data                                []byte
}

func readCPIO(t *testing.T, b []byte) (map[string]cpioEntry, []string) {
	t.Helper()
	entries := map[string]cpioEntry{}
	var order []string
	align := func(n int) int { return (n + 3) &^ 3 }
	for off := 0; ; {
		if off+110 > len(b) || string(b[off:off+6]) != "070701" {
			t.Fatalf("no newc header at offset %d", off)
		}
		field := func(i int) uint64 {
			v, err := strconv.ParseUint(string(b[off+6+8*i:off+14+8*i]), 16, 32)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		size, nameSize := int(field(6)), int(field(11))
		name := string(b[off+110 : off+110+nameSize-1])
		dataOff := align(off + 110 + nameSize)
		if name == "TRAILER!!!" {
			return entries, order
		}
		entries[name] = cpioEntry{mode: field(1), uid: field(2), gid: field(3), mtime: field(5),
			major: field(9), minor: field(10), data: b[dataOff : dataOff+size]}
		order = append(order, name)
		off = align(dataOff + size)
	}
}

func TestBuildInitrdContents(t *testing.T) {
	opts := testOptions(t)
	opts.Gzip = true
	// ls: coreutils, with libraries mount.nfs does not need (libselinux).
	opts.Programs = []string{"/usr/bin/ls"}
	initrd, err := BuildInitrd(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(initrd.Data))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	entries, order := readCPIO(t, raw)
	if !slices.IsSorted(order) {
		t.Errorf("entries not sorted: %v", order)
	}
	for name, e := range entries {
		if e.uid != 0 || e.gid != 0 || e.mtime != 0 {
			t.Errorf("%s: uid %d gid %d mtime %d, want all 0", name, e.uid, e.gid, e.mtime)
		}
		if dir := path.Dir(name); dir != "." && entries[dir].mode&0o170000 != modeDir {
			t.Errorf("%s: no directory entry for %s", name, dir)
		}
	}

	for _, name := range []string{"init", "bin/busybox", "sbin/mount.nfs", "usr/bin/ls", "etc/protocols", "etc/netconfig",
		"etc/nsswitch.conf", "etc/hosts", "lib/x86_64-linux-gnu/libc.so.6", "lib/x86_64-linux-gnu/libnss_dns.so.2",
		"lib/x86_64-linux-gnu/libnss_files.so.2", "lib/x86_64-linux-gnu/libresolv.so.2"} {
		if e, ok := entries[name]; !ok || e.mode&0o170000 != modeFile {
			t.Errorf("no regular file /%s", name)
		}
		if !slices.Contains(initrd.Files, "/"+name) {
			t.Errorf("Files does not list /%s", name)
		}
	}
	for name, target := range map[string]string{"bin/sh": "busybox", "etc/mtab": "/proc/self/mounts",
		"lib64/ld-linux-x86-64.so.2": "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"} {
		if e := entries[name]; e.mode&0o170000 != modeSymlink || string(e.data) != target {
			t.Errorf("/%s is not a symlink to %s (mode %o, %q)", name, target, e.mode, e.data)
		}
	}
	if e := entries["dev/console"]; e.mode != modeCharDev|0o600 || e.major != 5 || e.minor != 1 {
		t.Errorf("/dev/console: mode %o, device %d:%d", e.mode, e.major, e.minor)
	}
	if e := entries["init"]; e.mode != modeFile|0o755 || string(e.data) != initScript {
		t.Errorf("/init: mode %o, not the init script", e.mode)
	}
	if e := entries[strings.TrimPrefix(NetworkScript, "/")]; e.mode != modeFile|0o644 || string(e.data) != networkScript {
		t.Errorf("%s: mode %o, not the network script", NetworkScript, e.mode)
	}
	if !strings.Contains(initScript, ". "+NetworkScript+"\n") {
		t.Errorf("/init does not source %s", NetworkScript)
	}
	if !strings.Contains(string(entries["etc/nsswitch.conf"].data), "hosts:     files dns\n") {
		t.Errorf("nsswitch.conf:\n%s", entries["etc/nsswitch.conf"].data)
	}
	if string(entries["etc/nfsroot/kernel-release"].data) != opts.KernelVersion+"\n" {
		t.Errorf("kernel-release %q", entries["etc/nfsroot/kernel-release"].data)
	}

	// Every library an ELF file in the archive needs is there, as the loader
	// looks it up, so mount.nfs runs with nothing from the host.
	resolve := func(name string) (cpioEntry, bool) {
		for range 10 {
			e, ok := entries[name]
			if !ok || e.mode&0o170000 != modeSymlink {
				return e, ok
			}
			target := string(e.data)
			if !path.IsAbs(target) {
				target = path.Join(path.Dir(name), target)
			}
			name = strings.TrimPrefix(target, "/")
		}
		return cpioEntry{}, false
	}
	for name, e := range entries {
		if e.mode&0o170000 != modeFile || name == "bin/busybox" || !bytes.HasPrefix(e.data, []byte("\x7fELF")) {
			continue
		}
		f, err := elf.NewFile(bytes.NewReader(e.data))
		if err != nil {
			continue // kernel modules of fakeModules are not ELF
		}
		if interp, _ := interpreter(f); interp != "" {
			if _, ok := resolve(strings.TrimPrefix(interp, "/")); !ok {
				t.Errorf("/%s: interpreter %s not in the archive", name, interp)
			}
		}
		needed, _ := f.ImportedLibraries()
		for _, lib := range needed {
			if _, ok := resolve("lib/x86_64-linux-gnu/" + lib); !ok {
				t.Errorf("/%s needs %s, not in /lib/x86_64-linux-gnu", name, lib)
			}
		}
	}

	// Modules: each after what it needs, built-in ones left out, compressed
	// ones stored uncompressed under their .ko name.
	var loaded []string
	for _, line := range strings.Fields(string(entries["etc/nfsroot/modules"].data)) {
		e, ok := entries[strings.TrimPrefix(line, "/")]
		if !ok {
			t.Errorf("modules list names %s, not in the archive", line)
			continue
		}
		name := moduleName(line)
		if string(e.data) != "module "+name {
			t.Errorf("%s holds %q, want the decompressed module", line, e.data)
		}
		loaded = append(loaded, name)
	}
	want := []string{"virtio_ring", "virtio", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio_pci",
		"net_failover", "virtio_net", "netfs", "fscache", "sunrpc", "grace", "lockd", "nfs_acl", "nfs", "nfsv3", "ptp", "e1000e"}
	if !slices.Equal(loaded, want) {
		t.Errorf("modules load in order\n %v\nwant\n %v", loaded, want)
	}
}

func TestModuleOrder(t *testing.T) {
	idx := &moduleIndex{
		dir:     "/lib/modules/x",
		path:    map[string]string{"a": "a.ko", "b": "b.ko", "c_d": "c-d.ko.zst", "loop1": "l1.ko", "loop2": "l2.ko"},
		deps:    map[string][]string{"a": {"c_d", "b"}, "b": {"c_d"}, "loop1": {"loop2"}, "loop2": {"loop1"}},
		builtin: map[string]bool{"core": true},
	}
	tests := []struct {
		names   []string
		want    []string
		wantErr string
	}{
		{[]string{"a"}, []string{"c_d", "b", "a"}, ""},
		{[]string{"b", "a", "b"}, []string{"c_d", "b", "a"}, ""},
		{[]string{"c-d", "core"}, []string{"c_d"}, ""},
		{[]string{"a", "missing"}, nil, "kernel module missing is neither in /lib/modules/x/modules.dep nor built in"},
		{[]string{"loop1"}, nil, "cycle"},
	}
	for _, tt := range tests {
		got, err := idx.order(tt.names)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("order(%v) = %v, %v; want an error containing %q", tt.names, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("order(%v) = %v, %v; want %v", tt.names, got, err, tt.want)
		}
	}
}

func TestBuildInitrdErrors(t *testing.T) {
	opts := testOptions(t)
	tests := []struct {
		name    string
		change  func(*InitrdOptions)
		want    []string
		missing bool // a *MissingFileError
	}{
		{"no mount.nfs", func(o *InitrdOptions) { o.MountNFS = "/nonexistent/sbin/mount.nfs" },
			[]string{"/nonexistent/sbin/mount.nfs", "nfs-common", "apt-get install nfs-common"}, true},
		{"dynamic busybox", func(o *InitrdOptions) { o.Busybox = "/bin/true" },
			[]string{"/bin/true", "dynamically linked", "busybox-static"}, false},
		{"busybox not ELF", func(o *InitrdOptions) { o.Busybox = "/etc/protocols" }, []string{"/etc/protocols"}, false},
		{"no busybox", func(o *InitrdOptions) { o.Busybox = "/nonexistent/busybox" }, []string{"busybox-static"}, true},
		{"no modules", func(o *InitrdOptions) { o.ModulesDir = t.TempDir() }, []string{"modules.dep", "linux-image-6.1.0-test-amd64"}, true},
		{"unknown module", func(o *InitrdOptions) { o.ExtraModules = []string{"no_such_nic"} }, []string{"no_such_nic", "modules.dep"}, false},
		{"no kernel version", func(o *InitrdOptions) { o.KernelVersion = "" }, []string{"kernel version"}, false},
		{"no such program", func(o *InitrdOptions) { o.Programs = []string{"/nonexistent/bin/curl"} },
			[]string{"/nonexistent/bin/curl", "Programs", "dpkg -S"}, true},
		{"relative program", func(o *InitrdOptions) { o.Programs = []string{"bin/ls"} }, []string{`"bin/ls"`, "absolute path"}, false},
		{"program not ELF", func(o *InitrdOptions) { o.Programs = []string{"/etc/protocols"} }, []string{"/etc/protocols"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := opts
			tt.change(&o)
			_, err := BuildInitrd(context.Background(), o)
			if err == nil {
				t.Fatal("BuildInitrd succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			var m *MissingFileError
			if errors.As(err, &m) != tt.missing {
				t.Errorf("error %v: MissingFileError %v, want %v", err, !tt.missing, tt.missing)
			}
		})
	}
}

func TestMissingLibraryNamesPackage(t *testing.T) {
	err := missing("libtirpc.so.3", "/sbin/mount.nfs", []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu"})
	for _, w := range []string{"libtirpc.so.3", "/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu", "needed by /sbin/mount.nfs", "libtirpc3"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%q does not contain %q", err, w)
		}
	}
	if err := missing("libfoo.so.9", "x", nil); !strings.Contains(err.Error(), "dpkg -S") {
		t.Errorf("unknown library: %q gives no way to find the package", err)
	}
}

func TestInitScriptSyntax(t *testing.T) {
	if _, err := os.Stat("/bin/busybox"); err != nil {
		testlab.Unavailable(t, "needs /bin/busybox")
	}
	for name, script := range map[string]string{"init.sh": initScript, "network.sh": networkScript} {
		cmd := exec.Command("/bin/busybox", "sh", "-n")
		cmd.Stdin = strings.NewReader(script)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: busybox sh -n: %v\n%s", name, err, out)
		}
	}
}
