package agent_test

import (
	"os"
	"slices"
	"strings"
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

// TestQEMUiPXEGetsItsMachineMenu: an unmodified iPXE (BIOS) whose MAC
// address is a netboot_machine's gets that machine's menu, which carries
// its config URL, only because the agent attributes iPXE's HTTP requests
// to the machine by their source address (its DHCPv6 lease or its SLAAC
// address); the default menu would boot the local disk. The machine's last
// boot file is then the initrd, fetched from that address.
func TestQEMUiPXEGetsItsMachineMenu(t *testing.T) {
	testlab.RequireRoot(t, "qemu-system-x86_64")
	if _, err := os.Stat("/usr/lib/ipxe/ipxe.lkrn"); err != nil {
		testlab.Unavailable(t, "needs /usr/lib/ipxe/ipxe.lkrn (Debian ipxe)")
	}
	kernelPath := testlab.Kernel(t)
	const marker = "NETBOOT-AGENT-MACHINE-MENU-OK"
	lab := testlab.New(t)
	tap := lab.AttachTap(t)
	stateDir := t.TempDir()
	lab.StartAgent(t, stateDir)
	conn := connect(t, stateDir)
	ctx := t.Context()
	if _, err := conn.PutBootServer(ctx, &netbootv1.PutBootServerRequest{BootServer: labBootServer(lab, "stateful")}); err != nil {
		t.Fatal(err)
	}
	if _, err := putArtifact(t, conn, &netbootv1.ArtifactHeader{Path: "linux/vmlinuz", AgentPath: kernelPath}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := putArtifact(t, conn, &netbootv1.ArtifactHeader{Path: "linux/initrd.img"}, testlab.MarkerInitramfs(t, marker)); err != nil {
		t.Fatal(err)
	}
	for _, e := range []*netbootv1.BootEntry{
		{Name: "linux", Kind: "linux", Linux: &netbootv1.LinuxBoot{Kernel: "linux/vmlinuz", Initrds: []string{"linux/initrd.img"},
			Args: `console=ttyS0 panic=-1 ds=nocloud;s={{ .ConfigURL "" }}`}},
		{Name: "local", Kind: "exit"},
	} {
		if _, err := conn.PutBootEntry(ctx, &netbootv1.PutBootEntryRequest{Entry: e}); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []*netbootv1.BootMenu{
		{Name: "main", IsDefault: true, DefaultItem: "local", TimeoutSeconds: 1, Items: []*netbootv1.MenuItem{{Entry: "local"}}},
		{Name: "install", DefaultItem: "linux", TimeoutSeconds: 1, Items: []*netbootv1.MenuItem{{Entry: "linux"}}},
	} {
		if _, err := conn.PutBootMenu(ctx, &netbootv1.PutBootMenuRequest{Menu: m}); err != nil {
			t.Fatal(err)
		}
	}
	// QEMU's first NIC has this MAC address unless told otherwise.
	if _, err := conn.PutMachine(ctx, &netbootv1.PutMachineRequest{Machine: &netbootv1.Machine{
		Name: "vm", Macs: []string{"52:54:00:12:34:56"}, Menu: "install"}}); err != nil {
		t.Fatal(err)
	}
	console, took, ok := lab.Boot(t, tap, testlab.QEMU{Firmware: testlab.BIOS, Marker: marker, Timeout: 240 * time.Second})
	if !ok {
		t.Fatalf("no marker on the serial console:\n%s", console)
	}
	m, err := conn.GetMachine(ctx, &netbootv1.GetMachineRequest{Name: "vm"})
	if err != nil {
		t.Fatal(err)
	}
	if b := m.GetLastBootFile(); b.GetFile() != "linux/initrd.img" && b.GetFile() != "linux/vmlinuz" || b.GetProtocol() != "http" {
		t.Errorf("the machine's last boot file: %v", b)
	}
	t.Logf("QEMU start → Linux marker in %s; iPXE fetched from %s", took.Round(time.Second), m.GetLastBootFile().GetAddress())
}

// TestQEMUiPXEDUIDIsItsUUID boots an unmodified iPXE in QEMU with a system
// UUID whose first three fields read differently in either byte order, for
// a machine known only by that UUID with a reserved address. iPXE's
// DUID-UUID must carry the UUID as QEMU's -uuid and iPXE's ${uuid} spell
// it (the host menu path iPXE prints), so that DHCPv6 gives the machine
// its reserved address (lease.ClientIndex) and its fetches from there are
// its own (attribute).
func TestQEMUiPXEDUIDIsItsUUID(t *testing.T) {
	testlab.RequireRoot(t, "qemu-system-x86_64")
	if _, err := os.Stat("/usr/lib/ipxe/ipxe.lkrn"); err != nil {
		testlab.Unavailable(t, "needs /usr/lib/ipxe/ipxe.lkrn (Debian ipxe)")
	}
	const (
		uuid     = "01234567-89ab-cdef-0011-223344556677"
		duid     = "0004" + "0123456789abcdef" + "0011223344556677"
		reserved = "2001:db8:1::42"
	)
	lab := testlab.New(t)
	tap := lab.AttachTap(t)
	stateDir := t.TempDir()
	lab.StartAgent(t, stateDir)
	conn := connect(t, stateDir)
	ctx := t.Context()
	if _, err := conn.PutBootServer(ctx, &netbootv1.PutBootServerRequest{BootServer: labBootServer(lab, "stateful")}); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.PutBootEntry(ctx, &netbootv1.PutBootEntryRequest{Entry: &netbootv1.BootEntry{Name: "local", Kind: "exit"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.PutBootMenu(ctx, &netbootv1.PutBootMenuRequest{Menu: &netbootv1.BootMenu{
		Name: "main", IsDefault: true, DefaultItem: "local", TimeoutSeconds: 1, Items: []*netbootv1.MenuItem{{Entry: "local"}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.PutMachine(ctx, &netbootv1.PutMachineRequest{Machine: &netbootv1.Machine{
		Name: "vm", Uuids: []string{uuid}, ReservedAddress: reserved}}); err != nil {
		t.Fatal(err)
	}
	// iPXE prints each URL it fetches, wrapped at 80 columns: the host
	// menu's holds its ${uuid}.
	console, took, ok := lab.Boot(t, tap, testlab.QEMU{Firmware: testlab.BIOS, UUID: uuid, Marker: "menu.ipxe... ok", Timeout: 120 * time.Second})
	if !ok {
		t.Fatalf("iPXE fetched no host menu:\n%s", console)
	}
	if !strings.Contains(strings.ReplaceAll(console, "\n", ""), "/uuid-"+uuid+"/") {
		t.Fatalf("iPXE's ${uuid} is not QEMU's -uuid %s:\n%s", uuid, console)
	}
	leases, err := conn.ListLeases(ctx, &netbootv1.ListLeasesRequest{BootServer: "lab"})
	if err != nil {
		t.Fatal(err)
	}
	var held []string
	for _, l := range leases.GetLeases() {
		held = append(held, l.GetAddress()+" "+l.GetClientDuid())
	}
	if !slices.Contains(held, reserved+" "+duid) {
		t.Fatalf("leases %v; want the reserved %s for DUID-UUID %s", held, reserved, duid)
	}
	// The fetch may still be under way when iPXE has printed its URL.
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, err := conn.GetMachine(ctx, &netbootv1.GetMachineRequest{Name: "vm"})
		if err != nil {
			t.Fatal(err)
		}
		if b := m.GetLastBootFile(); b.GetAddress() == reserved {
			t.Logf("QEMU start → host menu URL in %s; DUID %s leased %s, which fetched %s", took.Round(time.Second), duid, reserved, b.GetFile())
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no fetch attributed to the machine: last boot file %v", m.GetLastBootFile())
		}
		time.Sleep(200 * time.Millisecond)
	}
}
