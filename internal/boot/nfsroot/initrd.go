// Package nfsroot makes a root filesystem bootable diskless over IPv6: it
// builds the initramfs that brings up IPv6 by SLAAC and mounts the root
// over NFSv3 on TCP/IPv6 (the kernel's own nfsroot and ipconfig have no
// IPv6), and the kernel arguments that tell it where the root is.
//
// The initramfs holds a static busybox, Debian's mount.nfs with every
// shared library it loads, the NSS modules and /etc files name resolution
// and RPC need, the kernel modules for virtio networking and NFSv3, any
// more programs asked for (with their libraries), and an
// /init script (init.sh, which sources network.sh). It is assembled directly as a newc cpio, with
// fixed owners, times and order, so the same inputs give the same bytes.
package nfsroot

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"debug/elf"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// initScript is the initramfs's /init.
//
//go:embed init.sh
var initScript string

// networkScript is NetworkScript's content.
//
//go:embed network.sh
var networkScript string

// NetworkScript is where the initramfs keeps the shell code that its /init
// sources to bring up IPv6 by SLAAC with the modules the initramfs holds
// (see network.sh for what it defines). Another archive layered over this
// one (the kernel unpacks concatenated initramfs archives in order, later
// files replacing earlier ones) can bring its own /init that sources it
// too, e.g. to fetch a machine's cloud-init seed instead of mounting a root.
const NetworkScript = "/lib/nfsroot/network.sh"

// InitrdOptions says what goes into the initramfs.
type InitrdOptions struct {
	// KernelVersion is the release of the kernel that boots it, as uname -r
	// prints it (e.g. "6.1.0-56-amd64"). Required: modules only load into
	// the kernel they were built for.
	KernelVersion string
	// ModulesDir holds that kernel's modules and modules.dep
	// (default /lib/modules/KernelVersion).
	ModulesDir string
	// Busybox is a statically linked busybox (default /bin/busybox, from
	// Debian's busybox-static).
	Busybox string
	// MountNFS is the NFS mount helper (default /sbin/mount.nfs, from
	// Debian's nfs-common); its libraries come from this host.
	MountNFS string
	// ExtraModules are loaded after the virtio networking and NFSv3
	// modules, each after the modules it needs (e.g. "e1000e" for another
	// network card).
	ExtraModules []string
	// Programs are more dynamically linked programs from this host, each
	// at its own path (absolute) with every shared library it loads, for
	// an /init layered over this one that needs them: e.g. /usr/bin/curl
	// to fetch over HTTPS, which busybox's wget cannot do with a
	// certificate check.
	Programs []string
	// Gzip compresses the archive (the Debian kernel unpacks gzip).
	Gzip bool
}

// Initrd is a built initramfs.
type Initrd struct {
	Data   []byte
	Size   int    // len(Data)
	SHA256 string // hex
	// Files lists the archive's files, symlinks and device nodes (not its
	// directories) as absolute paths, sorted.
	Files []string
}

// etcFiles come from the host: mount.nfs and libtirpc fail without them.
var etcFiles = []struct{ path, pkg, why string }{
	{"/etc/protocols", "netbase", "getprotobyname for proto=tcp6"},
	{"/etc/netconfig", "libtirpc-common", "libtirpc's transport list"},
}

const nsswitchConf = `# Written by the netboot initramfs: the nfsroot= host is resolved by DNS.
passwd:    files
group:     files
hosts:     files dns
networks:  files
protocols: files
services:  files
rpc:       files
`

const etcHosts = `127.0.0.1	localhost
::1	localhost ip6-localhost ip6-loopback
`

// BuildInitrd assembles the initramfs from this host's files. Every file
// it needs must exist: a missing one is a *MissingFileError naming the
// Debian package that provides it. It stops when ctx ends, between steps
// and between kernel modules, returning an error that wraps ctx's.
func BuildInitrd(ctx context.Context, opts InitrdOptions) (*Initrd, error) {
	if err := CheckKernelVersion(opts.KernelVersion); err != nil {
		return nil, fmt.Errorf("building initramfs: kernel version: %w: want a release such as 6.1.0-56-amd64", err)
	}
	if opts.ModulesDir == "" {
		opts.ModulesDir = filepath.Join("/lib/modules", opts.KernelVersion)
	}
	if opts.Busybox == "" {
		opts.Busybox = "/bin/busybox"
	}
	if opts.MountNFS == "" {
		opts.MountNFS = "/sbin/mount.nfs"
	}

	a := newArchive()
	modules := func(a *archive, opts InitrdOptions) error { return addModules(ctx, a, opts) }
	steps := []func(*archive, InitrdOptions) error{addSkeleton, addBusybox, addMountNFS, addPrograms, addEtc, modules}
	for _, step := range steps {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("building initramfs: %w", err)
		}
		if err := step(a, opts); err != nil {
			return nil, fmt.Errorf("building initramfs: %w", err)
		}
	}

	data := a.bytes()
	if opts.Gzip {
		var buf bytes.Buffer
		// A zero header (no name, no time) keeps the output reproducible.
		// The default level is within 0.3 % of the best on this content and
		// ten times faster.
		zw := gzip.NewWriter(&buf)
		if _, err := zw.Write(data); err != nil {
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
		data = buf.Bytes()
	}
	sum := sha256.Sum256(data)
	out := &Initrd{Data: data, Size: len(data), SHA256: hex.EncodeToString(sum[:])}
	for _, n := range a.names() {
		if a.entries[n].mode&0o170000 != modeDir {
			out.Files = append(out.Files, "/"+n)
		}
	}
	return out, nil
}

func addSkeleton(a *archive, _ InitrdOptions) error {
	for _, d := range []string{"dev", "proc", "sys", "run", "tmp", "newroot", "sbin", "usr/bin", "usr/sbin"} {
		if err := a.dir(d); err != nil {
			return err
		}
	}
	// The kernel opens /dev/console for /init before devtmpfs is mounted.
	if err := a.charDev("dev/console", 0o600, 5, 1); err != nil {
		return err
	}
	if err := a.file(NetworkScript, 0o644, []byte(networkScript)); err != nil {
		return err
	}
	return a.file("init", 0o755, []byte(initScript))
}

func addBusybox(a *archive, opts InitrdOptions) error {
	data, err := os.ReadFile(opts.Busybox)
	if errors.Is(err, fs.ErrNotExist) {
		return &MissingFileError{Path: opts.Busybox, Package: "busybox-static", Reason: "the initramfs's shell and tools"}
	}
	if err != nil {
		return err
	}
	if err := staticELF(opts.Busybox); err != nil {
		return err
	}
	if err := a.file("bin/busybox", 0o755, data); err != nil {
		return err
	}
	// /init runs `busybox --install -s` for the other applets.
	return a.symlink("bin/sh", "busybox")
}

func addMountNFS(a *archive, opts InitrdOptions) error {
	f, err := elf.Open(opts.MountNFS)
	if errors.Is(err, fs.ErrNotExist) {
		return &MissingFileError{Path: opts.MountNFS, Package: "nfs-common", Reason: "the NFS mount helper"}
	}
	if err != nil {
		return fmt.Errorf("mount.nfs %s: %w", opts.MountNFS, err)
	}
	machine := f.Machine
	f.Close()
	libs := newLibraries(a, machine)
	if err := libs.program(opts.MountNFS, "sbin/mount.nfs"); err != nil {
		return err
	}
	for _, name := range nssModules {
		if err := libs.library(name, "hosts: files dns in nsswitch.conf"); err != nil {
			return err
		}
	}
	// libmount reads the mount table from /etc/mtab.
	return a.symlink("etc/mtab", "/proc/self/mounts")
}

func addPrograms(a *archive, opts InitrdOptions) error {
	for _, p := range opts.Programs {
		if !filepath.IsAbs(p) {
			return fmt.Errorf("program %q: want an absolute path", p)
		}
		f, err := elf.Open(p)
		if errors.Is(err, fs.ErrNotExist) {
			return &MissingFileError{Path: p, Reason: "one of the initramfs's Programs"}
		}
		if err != nil {
			return fmt.Errorf("program %s: %w", p, err)
		}
		machine := f.Machine
		f.Close()
		if err := newLibraries(a, machine).program(p, p); err != nil {
			return err
		}
	}
	return nil
}

func addEtc(a *archive, _ InitrdOptions) error {
	for _, f := range etcFiles {
		data, err := os.ReadFile(f.path)
		if errors.Is(err, fs.ErrNotExist) {
			return &MissingFileError{Path: f.path, Package: f.pkg, Reason: f.why}
		}
		if err != nil {
			return err
		}
		if err := a.file(f.path, 0o644, data); err != nil {
			return err
		}
	}
	if err := a.file("etc/nsswitch.conf", 0o644, []byte(nsswitchConf)); err != nil {
		return err
	}
	return a.file("etc/hosts", 0o644, []byte(etcHosts))
}

// addModules adds the kernel modules in load order, listed one path a line
// in /etc/nfsroot/modules for /init to insmod.
func addModules(ctx context.Context, a *archive, opts InitrdOptions) error {
	if _, err := os.Stat(filepath.Join(opts.ModulesDir, "modules.dep")); errors.Is(err, fs.ErrNotExist) {
		return &MissingFileError{Path: filepath.Join(opts.ModulesDir, "modules.dep"), Package: "linux-image-" + opts.KernelVersion,
			Reason: "the modules of kernel " + opts.KernelVersion}
	}
	idx, err := loadModuleIndex(opts.ModulesDir)
	if err != nil {
		return err
	}
	order, err := idx.order(append(append([]string{}, baseModules...), opts.ExtraModules...))
	if err != nil {
		return err
	}
	var list strings.Builder
	for _, name := range order {
		if err := ctx.Err(); err != nil {
			return err
		}
		data, rel, err := idx.read(ctx, name)
		if err != nil {
			return err
		}
		p := "/lib/modules/" + opts.KernelVersion + "/" + rel
		if err := a.file(p, 0o644, data); err != nil {
			return err
		}
		list.WriteString(p + "\n")
	}
	if err := a.file("etc/nfsroot/modules", 0o644, []byte(list.String())); err != nil {
		return err
	}
	return a.file("etc/nfsroot/kernel-release", 0o644, []byte(opts.KernelVersion+"\n"))
}
