package agent_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/menu"
	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// AAVMF, UEFI for qemu-system-aarch64 (Debian qemu-efi-aarch64), with
// Microsoft's keys enrolled: Secure Boot on, as OVMF's .ms images.
const (
	arm64Code = "/usr/share/AAVMF/AAVMF_CODE.ms.fd"
	arm64Vars = "/usr/share/AAVMF/AAVMF_VARS.ms.fd"
)

// arm64Chain is where scripts/arm64-chain.sh unpacked Debian's arm64
// shim, GRUB, kernel and busybox: $NETBOOT_ARM64_CHAIN, else the
// repository's .lab/arm64.
func arm64Chain(t *testing.T) (dir, shim, grub, kernel, busybox string) {
	t.Helper()
	dir = os.Getenv("NETBOOT_ARM64_CHAIN")
	if dir == "" {
		dir = filepath.Join("..", "..", ".lab", "arm64")
	}
	// The agent takes artifacts from absolute paths only.
	dir, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	kernels, _ := filepath.Glob(filepath.Join(dir, "boot", "vmlinuz-*-arm64"))
	if len(kernels) == 0 {
		testlab.Unavailable(t, "needs Debian's arm64 boot chain in %s: run scripts/arm64-chain.sh", dir)
	}
	shim = filepath.Join(dir, "usr/lib/shim/shimaa64.efi.signed")
	grub = filepath.Join(dir, "usr/lib/grub/arm64-efi-signed/grubnetaa64.efi.signed")
	busybox = filepath.Join(dir, "bin/busybox")
	requireFiles(t, shim, grub, busybox, arm64Code, arm64Vars)
	return dir, shim, grub, kernels[len(kernels)-1], busybox
}

// TestQEMUARM64ShimGrubKernel boots AAVMF with Secure Boot on in
// qemu-system-aarch64 (TCG: slow) on an IPv6-only link served only by the
// agent: RA → DHCPv6 option 59 for arm64 UEFI (architecture 11) →
// shimaa64.efi over TFTP → shim asks for /grubaa64.efi → GRUB reads
// grub/grub.cfg and the host's arm64 grub.cfg → Debian's signed arm64
// kernel and a marker initramfs.
func TestQEMUARM64ShimGrubKernel(t *testing.T) {
	testlab.RequireRoot(t, "qemu-system-aarch64")
	chain, shim, grub, kernel, busybox := arm64Chain(t)
	t.Parallel()
	const marker = "NETBOOT-ARM64-OK"
	lab := testlab.New(t)
	tap := lab.AttachTap(t)
	stateDir := t.TempDir()
	// The chain's files are published from where the script unpacked them.
	agent := lab.StartAgent(t, stateDir, "--artifact-path", chain)
	conn := connect(t, stateDir)
	bs := labBootServer(lab, "stateful")
	bs.Boot = &netbootv1.Boot{TftpEnabled: true, HttpEnabled: true,
		Rules: []*netbootv1.BootFileRule{{Arch: []uint32{11}, File: "shimaa64.efi", Via: "tftp"}}}
	if _, err := conn.PutBootServer(t.Context(), &netbootv1.PutBootServerRequest{BootServer: bs}); err != nil {
		t.Fatal(err)
	}
	for p, from := range map[string]string{"shimaa64.efi": shim, "grubaa64.efi": grub, "linux/vmlinuz": kernel} {
		if _, err := putArtifact(t, conn, &netbootv1.ArtifactHeader{Path: p, AgentPath: from}, nil); err != nil {
			t.Fatalf("artifact %s from %s: %v", p, from, err)
		}
	}
	if _, err := putArtifact(t, conn, &netbootv1.ArtifactHeader{Path: "linux/initrd.img"}, testlab.MarkerInitramfsWith(t, busybox, marker)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.PutBootEntry(t.Context(), &netbootv1.PutBootEntryRequest{Entry: &netbootv1.BootEntry{
		Name: "linux", Title: "Debian arm64 (signed)", Kind: "linux",
		Linux: &netbootv1.LinuxBoot{Kernel: "linux/vmlinuz", Initrds: []string{"linux/initrd.img"}, Args: "console=ttyAMA0 panic=-1"},
	}}); err != nil {
		t.Fatal(err)
	}
	// The menu matches arm64 only: the boot reaches the kernel only if
	// GRUB's $grub_cpu reached the agent in the host's grub.cfg path.
	if _, err := conn.PutBootMenu(t.Context(), &netbootv1.PutBootMenuRequest{Menu: &netbootv1.BootMenu{
		Name: "arm64", TimeoutSeconds: 1,
		Items:   []*netbootv1.MenuItem{{Entry: "linux"}},
		Match:   &netbootv1.HostMatch{Buildarchs: []string{"arm64"}},
		Formats: []string{string(menu.FormatGRUB)},
	}}); err != nil {
		t.Fatal(err)
	}

	console, took, ok := lab.Boot(t, tap, testlab.QEMU{Firmware: testlab.ARM64, Code: arm64Code, Vars: arm64Vars, Marker: marker, Timeout: 900 * time.Second})
	if !ok {
		t.Fatalf("no marker on the serial console:\n%s", console)
	}
	if !strings.Contains(console, "Secure boot enabled") {
		t.Errorf("the kernel does not report Secure Boot on:\n%s", console)
	}
	log := agentLog(t, agent)
	for _, want := range []string{"/grubaa64.efi", menu.GrubStartPath, menu.GrubHostPath(menu.Host{MAC: qemuMAC, BuildArch: "arm64", Platform: "efi"})} {
		if !strings.Contains(log, want) {
			t.Errorf("the agent's log shows no request for %s", want)
		}
	}
	t.Logf("arm64 Secure Boot: QEMU start → shim → GRUB → Linux marker in %s", took.Round(time.Second))
}
