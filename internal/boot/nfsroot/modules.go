package nfsroot

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
)

// baseModules are what a virtio guest needs for an NFSv3 root over IPv6,
// as insmod-ed by hand in the lab; resolving them through modules.dep
// adds whatever another kernel build needs besides.
var baseModules = []string{
	"virtio_ring", "virtio", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio_pci",
	"failover", "net_failover", "virtio_net",
	"netfs", "fscache", "sunrpc", "grace", "lockd", "nfs_acl", "nfs", "nfsv3",
}

// moduleIndex is what modules.dep and modules.builtin say about a kernel.
type moduleIndex struct {
	dir     string
	path    map[string]string   // module name → path relative to dir
	deps    map[string][]string // module name → names of the modules it needs
	builtin map[string]bool
}

// moduleName turns a modules.dep path into the name modprobe uses.
func moduleName(p string) string {
	base := path.Base(p)
	if i := strings.Index(base, ".ko"); i >= 0 {
		base = base[:i]
	}
	return strings.ReplaceAll(base, "-", "_")
}

func loadModuleIndex(dir string) (*moduleIndex, error) {
	idx := &moduleIndex{dir: dir, path: map[string]string{}, deps: map[string][]string{}, builtin: map[string]bool{}}
	dep, err := os.ReadFile(filepath.Join(dir, "modules.dep"))
	if err != nil {
		return nil, fmt.Errorf("reading the kernel's module index: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(dep))
	for sc.Scan() {
		mod, needs, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		name := moduleName(mod)
		idx.path[name] = mod
		for _, d := range strings.Fields(needs) {
			idx.deps[name] = append(idx.deps[name], moduleName(d))
		}
	}
	// modules.builtin is optional: without it every module must be loadable.
	if b, err := os.ReadFile(filepath.Join(dir, "modules.builtin")); err == nil {
		for _, line := range strings.Fields(string(b)) {
			idx.builtin[moduleName(line)] = true
		}
	}
	return idx, nil
}

// order returns the modules to load for names, each after every module it
// needs and each once. Modules built into the kernel are left out.
func (idx *moduleIndex) order(names []string) ([]string, error) {
	var out []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(name, wantedBy string) error
	visit = func(name, wantedBy string) error {
		name = strings.ReplaceAll(name, "-", "_")
		switch state[name] {
		case 1:
			return fmt.Errorf("kernel module %s: dependency cycle in modules.dep", name)
		case 2:
			return nil
		}
		if _, ok := idx.path[name]; !ok {
			if idx.builtin[name] {
				state[name] = 2
				return nil
			}
			return fmt.Errorf("kernel module %s%s is neither in %s nor built in: is this the right kernel version?",
				name, wantedBy, filepath.Join(idx.dir, "modules.dep"))
		}
		state[name] = 1
		for _, d := range idx.deps[name] {
			if err := visit(d, " (needed by "+name+")"); err != nil {
				return err
			}
		}
		state[name] = 2
		out = append(out, name)
		return nil
	}
	for _, n := range names {
		if err := visit(n, ""); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// read returns the module's uncompressed object and its path relative to
// the modules directory with any compression suffix removed: busybox insmod
// cannot decompress.
func (idx *moduleIndex) read(ctx context.Context, name string) (data []byte, rel string, err error) {
	rel = idx.path[name]
	p := filepath.Join(idx.dir, rel)
	switch {
	case strings.HasSuffix(rel, ".ko"):
		data, err = os.ReadFile(p)
	case strings.HasSuffix(rel, ".ko.gz"):
		data, err = gunzip(p)
	case strings.HasSuffix(rel, ".ko.xz"):
		data, err = decompressWith(ctx, p, "xz", "xz-utils")
	case strings.HasSuffix(rel, ".ko.zst"):
		data, err = decompressWith(ctx, p, "zstd", "zstd")
	default:
		err = fmt.Errorf("unknown module file type")
	}
	if err != nil {
		return nil, "", fmt.Errorf("kernel module %s (%s): %w", name, p, err)
	}
	return data, rel[:strings.LastIndex(rel, ".ko")+len(".ko")], nil
}

func gunzip(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

// decompressWith runs `tool -dc p`: xz and zstd have no decoder in the
// standard library, and their command-line tools are on every Debian host
// whose kernel compresses modules that way.
func decompressWith(ctx context.Context, p, tool, pkg string) ([]byte, error) {
	if _, err := exec.LookPath(tool); err != nil {
		return nil, &MissingFileError{Path: tool, Package: pkg, Reason: "to decompress " + p}
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, tool, "-dc", p)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s -dc: %w: %s", tool, err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}
