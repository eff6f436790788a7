package benchlab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
)

// bootBench boots an unmodified iPXE (Debian's ipxe.lkrn under SeaBIOS, in
// QEMU without KVM) on the lab link until the Linux it loads prints a
// marker from its initramfs: once served by the agent alone, once by the
// reference stack (radvd + Kea + python's http.server) with the same
// script, kernel and initramfs.
type bootBench struct {
	boots int
	cells [2]Cell
}

const (
	bootMarker  = "NETBOOT-BENCH-BOOTED"
	bootTimeout = 180 * time.Second
)

func newBootBench(boots int) *bootBench { return &bootBench{boots: boots} }

func (b *bootBench) name() string { return "Boot" }

func (b *bootBench) run(t *testing.T) {
	kernels, _ := filepath.Glob("/boot/vmlinuz-*")
	needs := []struct {
		ok     bool
		reason string
	}{
		{errNotInstalled("qemu-system-x86_64") == nil, "qemu-system-x86_64 not installed"},
		{exists("/usr/lib/ipxe/ipxe.lkrn"), "no /usr/lib/ipxe/ipxe.lkrn (Debian ipxe)"},
		{len(kernels) > 0, "no /boot/vmlinuz-* (linux-image-amd64)"},
		{exists("/bin/busybox"), "no /bin/busybox (busybox-static) for the marker initramfs"},
	}
	for _, n := range needs {
		if !n.ok {
			b.cells[0].Fail(n.reason)
			b.cells[1].Fail(n.reason)
			return
		}
	}
	refMissing := errNotInstalled("radvd", "kea-dhcp6", python())
	if refMissing != nil {
		b.cells[1].Fail(refMissing.Error())
	}

	lab := testlab.New(t)
	tap := lab.AttachTap(t)
	base := "http://[" + lab.ServerAddr + "]"
	files := map[string][]byte{
		"start.ipxe": []byte("#!ipxe\nkernel " + base + "/vmlinuz console=ttyS0 initrd=initrd.img panic=-1\n" +
			"initrd --name initrd.img " + base + "/initrd.img\nboot\n"),
		"initrd.img": testlab.MarkerInitramfs(t, bootMarker),
	}
	kernel, err := os.ReadFile(kernels[len(kernels)-1])
	if err != nil {
		t.Fatal(err)
	}
	files["vmlinuz"] = kernel
	www := filepath.Join(t.TempDir(), "www")
	if err := os.Mkdir(www, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(www, name), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	for i := range b.boots {
		for s := range 2 {
			if s == 1 && refMissing != nil {
				continue
			}
			took, err := b.once(t, lab, tap, s, www, files)
			if err != nil {
				t.Logf("boot %d, %s: %v", i+1, b.section().Servers[s], err)
				b.cells[s].Fail(err.Error())
				continue
			}
			t.Logf("boot %d, %s: QEMU start → marker in %s", i+1, b.section().Servers[s], took.Round(100*time.Millisecond))
			b.cells[s].Add(took.Seconds())
		}
	}
}

// once serves the link with s (0 the agent, 1 the reference stack), each
// from a fresh state, boots a guest and stops the servers again.
func (b *bootBench) once(t *testing.T, lab *testlab.Lab, tap string, s int, www string, files map[string][]byte) (time.Duration, error) {
	var stops []func()
	defer func() {
		for _, stop := range stops {
			stop()
		}
	}()
	if s == 0 {
		a, err := startAgent(t, lab, t.TempDir())
		if err != nil {
			return 0, err
		}
		stops = append(stops, a.stop)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := a.serve(ctx, bootServer(lab, poolStart, poolEnd)); err != nil {
			return 0, err
		}
		for name, content := range files {
			if err := a.upload(ctx, name, content); err != nil {
				return 0, err
			}
		}
	} else {
		dir := t.TempDir()
		for _, start := range []func() (*daemon, error){
			func() (*daemon, error) { return startRadvd(t, lab, dir) },
			func() (*daemon, error) { return startKea(t, lab, dir, peerParams{}) },
			func() (*daemon, error) { return startPythonHTTP(t, lab, www, dir) },
		} {
			d, err := start()
			if err != nil {
				return 0, err
			}
			stops = append(stops, d.stop)
		}
	}
	console, took, ok := lab.Boot(t, tap, testlab.QEMU{Firmware: testlab.BIOS, Marker: bootMarker, Timeout: bootTimeout})
	if !ok {
		tail := console
		if len(tail) > 600 {
			tail = tail[len(tail)-600:]
		}
		t.Logf("console:\n%s", console)
		return 0, fmt.Errorf("no marker within %s: %s", bootTimeout, tail)
	}
	return took, nil
}

func (b *bootBench) section() Section {
	return Section{
		Title: "Boot: QEMU iPXE to Linux",
		Intro: []string{
			"Debian's `ipxe.lkrn` under SeaBIOS in `qemu-system-x86_64` (TCG: no KVM) on the client side of the link: " +
				"RA → DHCPv6 (stateful, user class iPXE → option 59 `http://[server]/start.ipxe`) → the script over " +
				"HTTP → kernel and initramfs over HTTP → Linux prints a marker from its initramfs. Timed from QEMU's " +
				"start to the marker on the serial console. The agent serves it alone (artifacts uploaded with " +
				"PutArtifact); the reference is radvd + Kea + `python3 -m http.server` as in " +
				"`internal/lab/benchlab/testdata/peers/` (`make bench` starts them), with the same script, kernel and initramfs.",
		},
		Servers: []string{"agent", "radvd + Kea + python http.server"},
		Runs:    b.boots,
		Rows: []Row{{Figure: fmt.Sprintf("QEMU start → Linux marker, s (n=%d each)", b.boots), Digits: 1,
			Better: LowerIsBetter, Cells: b.cells[:]}},
		Notes: []string{"Most of this time is iPXE and Linux running under TCG emulation; the servers' share is small."},
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
