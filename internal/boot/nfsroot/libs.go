package nfsroot

import (
	"debug/elf"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// multiarch is Debian's library directory name per ELF machine.
var multiarch = map[elf.Machine]string{
	elf.EM_X86_64:  "x86_64-linux-gnu",
	elf.EM_AARCH64: "aarch64-linux-gnu",
}

// debianPackage names the package that ships a library mount.nfs needs, for
// the error that says it is missing.
var debianPackage = map[string]string{
	"libtirpc.so.3":         "libtirpc3",
	"libmount.so.1":         "libmount1",
	"libblkid.so.1":         "libblkid1",
	"libselinux.so.1":       "libselinux1",
	"libpcre2-8.so.0":       "libpcre2-8-0",
	"libgssapi_krb5.so.2":   "libgssapi-krb5-2",
	"libkrb5.so.3":          "libkrb5-3",
	"libk5crypto.so.3":      "libk5crypto3",
	"libkrb5support.so.0":   "libkrb5support0",
	"libcom_err.so.2":       "libcom-err2",
	"libkeyutils.so.1":      "libkeyutils1",
	"libc.so.6":             "libc6",
	"libresolv.so.2":        "libc6",
	"libnss_files.so.2":     "libc6",
	"libnss_dns.so.2":       "libc6",
	"ld-linux-x86-64.so.2":  "libc6",
	"ld-linux-aarch64.so.1": "libc6",
}

// nssModules are loaded by glibc at run time, not through DT_NEEDED: with
// them, "hosts: files dns" in nsswitch.conf resolves the nfsroot= name.
var nssModules = []string{"libnss_files.so.2", "libnss_dns.so.2"}

// libraries copies dynamically linked programs and every shared library
// they need into an archive, at the paths the dynamic loader looks them up.
type libraries struct {
	a    *archive
	dirs []string        // search path, in the loader's order
	done map[string]bool // host paths already added
}

func newLibraries(a *archive, machine elf.Machine) *libraries {
	var dirs []string
	if triplet, ok := multiarch[machine]; ok {
		dirs = append(dirs, "/lib/"+triplet, "/usr/lib/"+triplet)
	}
	dirs = append(dirs, "/lib64", "/usr/lib64", "/lib", "/usr/lib")
	return &libraries{a: a, dirs: dirs, done: map[string]bool{}}
}

// program adds the ELF executable at host path src as dst in the archive,
// with its interpreter and libraries.
func (l *libraries) program(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := l.a.file(dst, 0o755, data); err != nil {
		return err
	}
	return l.dependencies(src)
}

// dependencies adds the interpreter (PT_INTERP) and, recursively, the
// DT_NEEDED libraries of the ELF file at host path p.
func (l *libraries) dependencies(p string) error {
	f, err := elf.Open(p)
	if err != nil {
		return fmt.Errorf("reading ELF %s: %w", p, err)
	}
	defer f.Close()
	interp, err := interpreter(f)
	if err != nil {
		return fmt.Errorf("reading ELF %s: %w", p, err)
	}
	needed, err := f.ImportedLibraries()
	if err != nil {
		return fmt.Errorf("reading ELF %s: %w", p, err)
	}
	if interp != "" {
		if _, err := os.Stat(interp); err != nil {
			return missing(filepath.Base(interp), p, []string{filepath.Dir(interp)})
		}
		if err := l.hostPath(interp); err != nil {
			return err
		}
	}
	for _, name := range needed {
		if err := l.library(name, p); err != nil {
			return err
		}
	}
	return nil
}

// library finds the shared library name (a DT_NEEDED value or an NSS
// module) on the search path and adds it with what it needs in turn.
func (l *libraries) library(name, neededBy string) error {
	for _, dir := range l.dirs {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err != nil {
			continue
		}
		if l.done[p] {
			return nil
		}
		if err := l.hostPath(p); err != nil {
			return err
		}
		return l.dependencies(p)
	}
	return missing(name, neededBy, l.dirs)
}

// hostPath copies host path p into the archive at the same path. A
// symlink is copied as a symlink (the loader opens the SONAME, a link to
// the versioned file) and its target follows, until a regular file.
func (l *libraries) hostPath(p string) error {
	for range 40 {
		if l.done[p] {
			return nil
		}
		l.done[p] = true
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if err := l.a.symlink(p, target); err != nil {
				return err
			}
			if !filepath.IsAbs(target) {
				target = filepath.Join(filepath.Dir(p), target)
			}
			p = target
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return l.a.file(p, uint32(fi.Mode().Perm()), data)
		default:
			return fmt.Errorf("%s is neither a file nor a symlink", p)
		}
	}
	return fmt.Errorf("%s: too many levels of symbolic links", p)
}

// interpreter returns the PT_INTERP path of f, "" for a static executable.
func interpreter(f *elf.File) (string, error) {
	for _, prog := range f.Progs {
		if prog.Type != elf.PT_INTERP {
			continue
		}
		b := make([]byte, prog.Filesz)
		if _, err := prog.ReadAt(b, 0); err != nil {
			return "", fmt.Errorf("reading PT_INTERP: %w", err)
		}
		return strings.TrimRight(string(b), "\x00"), nil
	}
	return "", nil
}

// MissingFileError says which file an initramfs needs is not on this host
// and which Debian package provides it.
type MissingFileError struct {
	Path    string // the file, or a library name with the directories searched
	Package string // Debian package to install; empty when unknown
	Reason  string // why it is needed
}

func (e *MissingFileError) Error() string {
	install := "install the package that provides it (dpkg -S or apt-file search " + filepath.Base(e.Path) + ")"
	if e.Package != "" {
		install = "install Debian package " + e.Package + " (apt-get install " + e.Package + ")"
	}
	return fmt.Sprintf("%s not found (%s): %s", e.Path, e.Reason, install)
}

func missing(name, neededBy string, dirs []string) error {
	return &MissingFileError{
		Path:    name + " in " + strings.Join(dirs, ":"),
		Package: debianPackage[name],
		Reason:  "needed by " + neededBy,
	}
}

// staticELF reports an error unless p is a statically linked ELF
// executable: the initramfs has no dynamic loader for busybox.
func staticELF(p string) error {
	f, err := elf.Open(p)
	if err != nil {
		return fmt.Errorf("busybox %s: %w", p, err)
	}
	defer f.Close()
	interp, err := interpreter(f)
	if err != nil {
		return fmt.Errorf("busybox %s: %w", p, err)
	}
	if interp != "" {
		return fmt.Errorf("busybox %s is dynamically linked (interpreter %s): the initramfs needs a static one, "+
			"install Debian package busybox-static (apt-get install busybox-static)", p, interp)
	}
	return nil
}
