package testlab

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// AttachTap puts the client end of the link on a bridge with a new tap
// device, so a QEMU guest in the client namespace shares the link. It returns
// the tap's name; the Lab removes it with the namespace. Each call adds
// another tap to the same bridge, for guests booting side by side.
func (l *Lab) AttachTap(t testing.TB) string {
	t.Helper()
	return l.attachTap(t, l.ClientNS, l.ClientIf, "nb"+l.ID+"b", "nb"+l.ID+"t")
}

// AttachTap puts the client end of the routed link on a bridge with a new
// tap device, so a QEMU guest booted with QEMU.NS = r.NS sits on the link
// behind the router. It returns the tap's name; the Lab removes it with the
// namespace. Each call adds another tap to the same bridge.
func (r *RoutedLink) AttachTap(t testing.TB, l *Lab) string {
	t.Helper()
	return l.attachTap(t, r.NS, r.ClientIf, r.ClientIf+"b", r.ClientIf+"t")
}

// attachTap makes bridge in ns (enslaving ifname) on its first call, and
// adds a tap named tap, then tap1, tap2, ... to it.
func (l *Lab) attachTap(t testing.TB, ns, ifname, bridge, tap string) string {
	t.Helper()
	if l.taps == nil {
		l.taps = map[string]int{}
	}
	n := l.taps[bridge]
	l.taps[bridge]++
	if n == 0 {
		l.MustExec(t, ns, "ip", "link", "add", bridge, "type", "bridge")
		l.MustExec(t, ns, "ip", "link", "set", ifname, "master", bridge)
		l.MustExec(t, ns, "ip", "link", "set", bridge, "up")
	} else {
		tap += strconv.Itoa(n)
	}
	l.MustExec(t, ns, "ip", "tuntap", "add", tap, "mode", "tap")
	l.MustExec(t, ns, "ip", "link", "set", tap, "master", bridge)
	l.MustExec(t, ns, "ip", "link", "set", tap, "up")
	return tap
}

// Firmware is what the guest starts from.
type Firmware int

const (
	// BIOS boots Debian's ipxe.lkrn directly (SeaBIOS loads it as a kernel).
	BIOS Firmware = iota
	// UEFI boots OVMF, which loads Debian's ipxe.efi from a FAT drive.
	UEFI
	// SecureBoot boots OVMF with Secure Boot on and Microsoft's keys
	// enrolled (Debian's OVMF_CODE_4M.ms.fd with a copy of its variable
	// store), no disk: the firmware boots from the network itself, over
	// IPv6, and runs only signed images (shim, then GRUB and the kernel
	// shim checks).
	SecureBoot
	// ARM64 boots AAVMF, UEFI for qemu-system-aarch64's virt machine
	// (QEMU.Code, with a copy of QEMU.Vars), no disk: the firmware boots
	// from the network itself, over IPv6. With the .ms images (Microsoft's
	// keys enrolled) Secure Boot is on.
	ARM64
)

// Secure Boot firmware files (Debian ovmf).
const (
	SecureBootCode = "/usr/share/OVMF/OVMF_CODE_4M.ms.fd"
	SecureBootVars = "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"
)

// noIPv4PXE makes OVMF skip PXE over IPv4, which it tries before IPv6 and
// which costs minutes under TCG on an IPv6-only link.
var noIPv4PXE = []string{"-fw_cfg", "name=opt/org.tianocore/IPv4PXESupport,string=n"}

// noIPv6PXE makes OVMF skip PXE over IPv6 too.
var noIPv6PXE = []string{"-fw_cfg", "name=opt/org.tianocore/IPv6PXESupport,string=n"}

// QEMU describes one guest boot.
type QEMU struct {
	Firmware Firmware
	// Kernel, when set, is booted directly with Initrd and the command line
	// Append, instead of iPXE from Firmware.
	Kernel, Initrd, Append string
	// Marker ends the boot successfully when it appears on the serial console.
	Marker  string
	Timeout time.Duration
	// Hooks run once each, on the test's goroutine, when their key first
	// appears on the serial console.
	Hooks map[string]func()
	// NS is the namespace of the guest's tap: the lab's client namespace
	// when empty, a RoutedLink's NS for a guest behind the router.
	NS string
	// HTTPBoot makes UEFI firmware skip PXE over IPv6 as well, so the boot
	// option it tries first is UEFI HTTP boot over IPv6.
	HTTPBoot bool
	// Code and Vars are the firmware and variable store images of ARM64.
	Code, Vars string
	// MAC is the guest network card's MAC address; QEMU gives
	// 52:54:00:12:34:56 when empty. Guests sharing a link need their own.
	MAC string
	// UUID is the machine's SMBIOS system UUID (QEMU's -uuid); QEMU picks its own when empty.
	UUID string
}

// Boot runs an unmodified iPXE (or q.Kernel, or Secure Boot firmware
// booting from the network) in qemu-system-x86_64, or arm64 UEFI firmware
// in qemu-system-aarch64 (TCG, no KVM needed), on tap in the client
// namespace (or q.NS) until Marker appears on the
// serial console or Timeout passes. It returns the console log and how long
// the boot took.
func (l *Lab) Boot(t testing.TB, tap string, q QEMU) (console string, took time.Duration, ok bool) {
	t.Helper()
	dir := t.TempDir()
	serial := filepath.Join(dir, "serial.log")
	qemu := "qemu-system-x86_64"
	if q.Firmware == ARM64 {
		qemu = "qemu-system-aarch64"
	}
	args := []string{qemu, "-m", "512", "-nographic", "-no-reboot", "-monitor", "none",
		"-netdev", "tap,id=n0,ifname=" + tap + ",script=no,downscript=no",
		"-serial", "file:" + serial}
	// romfile= leaves the card's option ROM out: the guest boots iPXE (or
	// the firmware's own network stack) from Firmware instead.
	nic := "virtio-net-pci,netdev=n0,romfile="
	if q.MAC != "" {
		nic += ",mac=" + q.MAC
	}
	switch {
	case q.Kernel != "":
		args = append(args, "-kernel", q.Kernel, "-initrd", q.Initrd, "-append", q.Append,
			"-device", nic)
	case q.Firmware == BIOS:
		args = append(args, "-kernel", "/usr/lib/ipxe/ipxe.lkrn", "-device", nic)
	case q.Firmware == UEFI:
		esp := filepath.Join(dir, "esp", "EFI", "BOOT")
		if err := os.MkdirAll(esp, 0o755); err != nil {
			t.Fatal(err)
		}
		efi, err := os.ReadFile("/usr/lib/ipxe/ipxe.efi")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(esp, "BOOTX64.EFI"), efi, 0o644); err != nil {
			t.Fatal(err)
		}
		// OVMF's own virtio-net driver gives ipxe.efi its network (SNP).
		args = append(args, "-bios", "/usr/share/ovmf/OVMF.fd",
			"-drive", "format=raw,file=fat:rw:"+filepath.Join(dir, "esp"),
			"-device", nic)
		args = append(args, noIPv4PXE...)
	case q.Firmware == SecureBoot:
		varsCopy := copyVars(t, SecureBootVars, dir)
		// SMM and a secure flash keep the variable store (and so the
		// Secure Boot keys) out of the guest's reach.
		args = append(args, "-machine", "q35,smm=on",
			"-global", "driver=cfi.pflash01,property=secure,value=on",
			"-drive", "if=pflash,format=raw,unit=0,file="+SecureBootCode+",readonly=on",
			"-drive", "if=pflash,format=raw,unit=1,file="+varsCopy,
			"-device", nic)
		args = append(args, noIPv4PXE...)
	case q.Firmware == ARM64:
		varsCopy := copyVars(t, q.Vars, dir)
		// TCG emulates a Cortex-A57 faster than "max", whose pointer
		// authentication is costly to emulate.
		args = append(args, "-machine", "virt", "-cpu", "cortex-a57",
			"-drive", "if=pflash,format=raw,unit=0,file="+q.Code+",readonly=on",
			"-drive", "if=pflash,format=raw,unit=1,file="+varsCopy,
			"-device", nic)
		args = append(args, noIPv4PXE...)
	}
	if q.HTTPBoot {
		args = append(args, noIPv6PXE...)
	}
	if q.UUID != "" {
		args = append(args, "-uuid", q.UUID)
	}

	ctx, cancel := context.WithTimeout(context.Background(), q.Timeout)
	defer cancel()
	ns := q.NS
	if ns == "" {
		ns = l.ClientNS
	}
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	defer func() {
		_ = cmd.Process.Kill()
		<-done
	}()
	ticker := time.NewTicker(250 * time.Millisecond)
	defer ticker.Stop()
	hooks := maps.Clone(q.Hooks)
	read := func() bool {
		log, _ := os.ReadFile(serial)
		console = strings.ReplaceAll(string(log), "\r", "")
		return strings.Contains(console, q.Marker)
	}
	for {
		if read() {
			return console, time.Since(start), true
		}
		for key, hook := range hooks {
			if strings.Contains(console, key) {
				delete(hooks, key)
				hook()
			}
		}
		select {
		case <-done:
			// The guest may print the marker and power off between two polls.
			if read() {
				return console, time.Since(start), true
			}
			return console + "\n[qemu exited: " + out.String() + "]", time.Since(start), false
		case <-ctx.Done():
			return console + fmt.Sprintf("\n[timed out after %s]", q.Timeout), time.Since(start), false
		case <-ticker.C:
		}
	}
}

// copyVars copies a UEFI variable store into dir, so the guest writes
// its own copy.
func copyVars(t testing.TB, vars, dir string) string {
	t.Helper()
	data, err := os.ReadFile(vars)
	if err != nil {
		Unavailable(t, "needs %s (apt-get install ovmf, or qemu-efi-aarch64 for arm64)", vars)
	}
	varsCopy := filepath.Join(dir, "VARS.fd")
	if err := os.WriteFile(varsCopy, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return varsCopy
}

// InitErrors returns the serial console lines on which an initramfs's /init
// script, or a command it ran, reported an error: busybox sh starts its own
// with "/init:" ("/init: line 23: can't open /proc/uptime: no such file"),
// and busybox applets say "can't" or "not found". Kernel messages, which
// start with their "[" timestamp, are not the script's.
func InitErrors(console string) []string {
	var out []string
	for _, line := range strings.Split(console, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "/init:") ||
			!strings.HasPrefix(line, "[") && (strings.Contains(line, "can't") || strings.Contains(line, "not found")) {
			out = append(out, line)
		}
	}
	return out
}

// MarkerInitramfs builds an initramfs (newc cpio) holding a static busybox
// and an /init that prints marker on the console and powers off: proof that
// the kernel and initrd the menu chose really booted.
func MarkerInitramfs(t testing.TB, marker string) []byte {
	t.Helper()
	return MarkerInitramfsWith(t, "/bin/busybox", marker)
}

// MarkerInitramfsWith is MarkerInitramfs with the static busybox at path,
// e.g. one built for another architecture.
func MarkerInitramfsWith(t testing.TB, path, marker string) []byte {
	t.Helper()
	busybox, err := os.ReadFile(path)
	if err != nil {
		Unavailable(t, "needs a static busybox at %s (Debian busybox-static)", path)
	}
	init := "#!/bin/busybox sh\n/bin/busybox echo \"" + marker + "\"\n/bin/busybox poweroff -f\n"
	var w Initramfs
	w.Dir("bin")
	w.Dir("dev")
	w.Node("dev/console", 0o020600, 5, 1)
	w.File("bin/busybox", 0o100755, busybox)
	w.File("init", 0o100755, []byte(init))
	return w.Bytes()
}

// Initramfs writes the "newc" cpio format the kernel unpacks an initramfs
// from. Modes include the file type bits (0o100755 for an executable).
type Initramfs struct {
	buf bytes.Buffer
	ino int
}

func (w *Initramfs) header(name string, mode, size, major, minor int) {
	w.ino++
	fmt.Fprintf(&w.buf, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		w.ino, mode, 0, 0, 1, 0, size, 0, 0, major, minor, len(name)+1, 0)
	w.buf.WriteString(name)
	w.buf.WriteByte(0)
	w.pad()
}

func (w *Initramfs) pad() {
	for w.buf.Len()%4 != 0 {
		w.buf.WriteByte(0)
	}
}

// Dir adds a directory (0755).
func (w *Initramfs) Dir(name string) { w.header(name, 0o040755, 0, 0, 0) }

// Node adds a device node.
func (w *Initramfs) Node(name string, mode, major, minor int) { w.header(name, mode, 0, major, minor) }

// File adds a file.
func (w *Initramfs) File(name string, mode int, data []byte) {
	w.header(name, mode, len(data), 0, 0)
	w.buf.Write(data)
	w.pad()
}

// Bytes ends the archive and returns it.
func (w *Initramfs) Bytes() []byte {
	w.header("TRAILER!!!", 0, 0, 0, 0)
	return w.buf.Bytes()
}

// Kernel returns the path of a Debian kernel image (linux-image-amd64).
func Kernel(t testing.TB) string {
	t.Helper()
	matches, _ := filepath.Glob("/boot/vmlinuz-*")
	if len(matches) == 0 {
		Unavailable(t, "needs a kernel in /boot (apt-get install linux-image-amd64)")
	}
	return matches[len(matches)-1]
}
