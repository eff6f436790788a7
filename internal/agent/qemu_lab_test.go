package agent_test

import (
	"os"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// TestQEMUiPXEChainLoadsThroughAgent boots an unmodified iPXE in QEMU on a
// link served only by the agent: RA → DHCPv6 with user class iPXE → option
// 59 → start.ipxe over HTTP → kernel and initrd over HTTP → Linux prints the
// marker from its initramfs. From BIOS (Debian's ipxe.lkrn) and from UEFI
// (OVMF loading Debian's ipxe.efi, where ${platform} is "efi" and the kernel
// starts through its EFI stub).
func TestQEMUiPXEChainLoadsThroughAgent(t *testing.T) {
	testlab.RequireRoot(t, "qemu-system-x86_64")
	tests := []struct {
		name     string
		firmware testlab.Firmware
		platform string
		needs    []string
	}{
		{"bios", testlab.BIOS, "pcbios", []string{"/usr/lib/ipxe/ipxe.lkrn"}},
		{"uefi", testlab.UEFI, "efi", []string{"/usr/lib/ipxe/ipxe.efi", "/usr/share/ovmf/OVMF.fd"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, f := range tt.needs {
				if _, err := os.Stat(f); err != nil {
					testlab.Unavailable(t, "needs %s (Debian ipxe and ovmf)", f)
				}
			}
			kernelPath := testlab.Kernel(t)
			marker := "NETBOOT-AGENT-" + tt.platform + "-OK"
			lab := testlab.New(t)
			tap := lab.AttachTap(t)
			stateDir := t.TempDir()
			lab.StartAgent(t, stateDir)
			conn := connect(t, stateDir)

			if _, err := conn.PutBootServer(t.Context(), &netbootv1.PutBootServerRequest{BootServer: labBootServer(lab, "stateful")}); err != nil {
				t.Fatal(err)
			}
			if _, err := putArtifact(t, conn, &netbootv1.ArtifactHeader{Path: "linux/vmlinuz", AgentPath: kernelPath}, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := putArtifact(t, conn, &netbootv1.ArtifactHeader{Path: "linux/initrd.img"}, testlab.MarkerInitramfs(t, marker)); err != nil {
				t.Fatal(err)
			}
			// Boots only on the expected platform, so a wrong ${platform} fails the test.
			base := "http://[" + lab.ServerAddr + "]"
			script := "#!ipxe\niseq ${platform} " + tt.platform + " || exit\n" +
				"kernel " + base + "/linux/vmlinuz console=ttyS0 initrd=initrd.img panic=-1\n" +
				"initrd --name initrd.img " + base + "/linux/initrd.img\nboot\n"
			if _, err := putArtifact(t, conn, &netbootv1.ArtifactHeader{Path: "start.ipxe"}, []byte(script)); err != nil {
				t.Fatal(err)
			}

			console, took, ok := lab.Boot(t, tap, testlab.QEMU{Firmware: tt.firmware, Marker: marker, Timeout: 240 * time.Second})
			if !ok {
				t.Fatalf("no marker on the serial console:\n%s", console)
			}
			t.Logf("%s: QEMU start → Linux marker in %s", tt.name, took.Round(time.Second))
		})
	}
}
