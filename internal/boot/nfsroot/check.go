package nfsroot

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"
)

// The checks of an image's inputs, one function per rule, shared by the
// agent, which builds the image, and the provider, which reports them at
// plan. Each error says what is wrong with the value.

// CheckInterface applies the kernel's rule for interface names
// (dev_valid_name), which ip6= relies on: 1 to 15 bytes, not "." or "..",
// no slash, colon, comma or white space.
func CheckInterface(s string) error {
	if s == "" || len(s) > 15 || s == "." || s == ".." || strings.ContainsAny(s, "/: \t\n,") {
		return fmt.Errorf("%q is not a kernel interface name", s)
	}
	return nil
}

// CheckExportPath accepts what nfsroot= and the mount options can carry: a
// clean absolute path without commas, white space or quotes.
func CheckExportPath(p string) error {
	switch {
	case !strings.HasPrefix(p, "/"):
		return fmt.Errorf("%q is relative: it must be absolute", p)
	case strings.ContainsAny(p, ", \t\n\""):
		return fmt.Errorf("%q has commas, spaces or quotes, which would end it in nfsroot= or the mount options", p)
	case path.Clean(p) != p:
		return fmt.Errorf("%q is not clean: write %s", p, path.Clean(p))
	}
	return nil
}

// CheckConsole accepts a console device that stays one kernel argument,
// such as "ttyS0" or "ttyS0,115200n8".
func CheckConsole(s string) error {
	if s == "" || strings.ContainsAny(s, " \t\n\"=") {
		return fmt.Errorf("%q would not stay one kernel argument", s)
	}
	return nil
}

// CheckKernelVersion accepts a kernel release as uname -r prints it: a
// directory name under /lib/modules.
func CheckKernelVersion(s string) error {
	if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/ \t\n") {
		return fmt.Errorf("%q is not a directory name under /lib/modules", s)
	}
	return nil
}

// KernelVersionOf derives the kernel release from a kernel image named
// vmlinuz-<release>, as Debian installs them; ok is false for other names.
func KernelVersionOf(kernel string) (version string, ok bool) {
	base := filepath.Base(kernel)
	version, ok = strings.CutPrefix(base, "vmlinuz-")
	return version, ok && version != ""
}
