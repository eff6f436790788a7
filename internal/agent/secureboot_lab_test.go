package agent_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/menu"
	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// Debian's signed boot chain (shim-signed, grub-efi-amd64-signed): shim
// is signed by the Microsoft UEFI CA that OVMF's .ms variable store
// trusts, GRUB and the kernel by Debian, whose key shim carries.
const (
	// qemuMAC is the MAC QEMU gives a guest's first network card.
	qemuMAC    = "52:54:00:12:34:56"
	signedShim = "/usr/lib/shim/shimx64.efi.signed"
	signedGrub = "/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed"
)

// secureBootSite starts an agent on a new lab link whose option 59 hands
// x64 UEFI clients bootFile over TFTP, and x64 UEFI HTTP boot clients
// (architecture 16) the same file over HTTP, and publishes the artifacts.
func secureBootSite(t *testing.T, bootFile string, artifacts map[string]string) (*testlab.Lab, string, netbootv1.AgentClient, *testlab.Agent) {
	t.Helper()
	lab := testlab.New(t)
	tap := lab.AttachTap(t)
	stateDir := t.TempDir()
	agent := lab.StartAgent(t, stateDir)
	conn := connect(t, stateDir)
	bs := labBootServer(lab, "stateful")
	bs.Boot = &netbootv1.Boot{TftpEnabled: true, HttpEnabled: true,
		Rules: []*netbootv1.BootFileRule{{Arch: []uint32{7}, File: bootFile, Via: "tftp"}, {Arch: []uint32{16}, File: bootFile, Via: "http"}}}
	if _, err := conn.PutBootServer(t.Context(), &netbootv1.PutBootServerRequest{BootServer: bs}); err != nil {
		t.Fatal(err)
	}
	for p, from := range artifacts {
		if _, err := putArtifact(t, conn, &netbootv1.ArtifactHeader{Path: p, AgentPath: from}, nil); err != nil {
			t.Fatalf("artifact %s from %s: %v", p, from, err)
		}
	}
	return lab, tap, conn, agent
}

func requireFiles(t *testing.T, files ...string) {
	t.Helper()
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			testlab.Unavailable(t, "needs %s (Debian shim-signed, grub-efi-amd64-signed, ovmf, ipxe)", f)
		}
	}
}

// TestQEMUSecureBootShimGrubKernel boots OVMF with Secure Boot on, on an
// IPv6-only link served only by the agent: RA → DHCPv6 option 59 →
// shimx64.efi over TFTP → shim asks for /grubx64.efi → GRUB reads
// grub/grub.cfg and the host's grub.cfg, both rendered from a boot menu →
// Debian's signed kernel and a marker initramfs over TFTP. The kernel's
// log proves Secure Boot was on all the way.
func TestQEMUSecureBootShimGrubKernel(t *testing.T) {
	testlab.RequireRoot(t, "qemu-system-x86_64")
	requireFiles(t, signedShim, signedGrub, testlab.SecureBootCode, testlab.SecureBootVars)
	t.Parallel()
	const marker = "NETBOOT-SECUREBOOT-OK"
	lab, tap, agent := signedChainSite(t, marker)
	console, took, ok := lab.Boot(t, tap, testlab.QEMU{Firmware: testlab.SecureBoot, Marker: marker, Timeout: 300 * time.Second})
	if !ok {
		t.Fatalf("no marker on the serial console:\n%s", console)
	}
	if !strings.Contains(console, "Secure boot enabled") {
		t.Errorf("the kernel does not report Secure Boot on:\n%s", console)
	}
	log := agentLog(t, agent)
	for _, want := range []string{"/grubx64.efi", menu.GrubStartPath, menu.GrubHostPath(menu.Host{MAC: qemuMAC, BuildArch: "x86_64", Platform: "efi"})} {
		if !strings.Contains(log, want) {
			t.Errorf("the agent's log shows no request for %s", want)
		}
	}
	t.Logf("Secure Boot: QEMU start → shim → GRUB → Linux marker in %s", took.Round(time.Second))
}

// TestQEMUSecureBootHTTPBoot runs the same site through UEFI HTTP boot
// over IPv6: OVMF, PXE off, asks as architecture 16 with vendor class
// HTTPClient, gets an http:// option 59 with HTTPClient echoed, and
// fetches shim over HTTP with Secure Boot on; shim fetches GRUB over HTTP
// from the same place. That is as far as Debian 12's signed GRUB (2.06)
// goes: its network driver takes its address and server from the DHCP
// reply the firmware's PXE protocol keeps, which HTTP boot does not
// provide, so it reads no grub.cfg and stops at its prompt. (GRUBs that
// also read the firmware's HTTP boot device path, as openSUSE's and
// Fedora's do, go on to grub/grub.cfg over HTTP.) The test pins that
// behaviour, so a GRUB that gets further shows up here.
func TestQEMUSecureBootHTTPBoot(t *testing.T) {
	testlab.RequireRoot(t, "qemu-system-x86_64")
	requireFiles(t, signedShim, signedGrub, testlab.SecureBootCode, testlab.SecureBootVars)
	t.Parallel()
	const marker = "NETBOOT-SECUREBOOT-OK"
	lab, tap, agent := signedChainSite(t, marker)
	console, took, ok := lab.Boot(t, tap, testlab.QEMU{Firmware: testlab.SecureBoot, HTTPBoot: true, Marker: "grub> ", Timeout: 300 * time.Second})
	if !ok {
		t.Fatalf("GRUB did not start, or (if the marker shows) booted on through HTTP: update this test and the Secure Boot guide:\n%s", console)
	}
	for _, want := range []string{"Start HTTP Boot over IPv6", "URI: http://[2001:db8:1::1]/shimx64.efi", "Welcome to GRUB!"} {
		if !strings.Contains(console, want) {
			t.Errorf("the console lacks %q:\n%s", want, console)
		}
	}
	log := agentLog(t, agent)
	for _, want := range []string{"method=GET path=/shimx64.efi status=200", "path=//grubx64.efi status=200"} {
		if !strings.Contains(log, want) {
			t.Errorf("the agent's log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, menu.GrubStartPath) {
		t.Errorf("GRUB asked for %s after HTTP boot: update this test and the Secure Boot guide", menu.GrubStartPath)
	}
	t.Logf("Secure Boot over HTTP boot: QEMU start → shim → GRUB's prompt in %s", took.Round(time.Second))
}

// signedChainSite is the Secure Boot site both boots use: Debian's signed
// shim, GRUB and kernel, a marker initramfs, and a menu for GRUB alone for
// QEMU's default MAC only, with no default menu: the boot reaches the
// kernel only if GRUB's $net_default_mac reached the agent in the host's
// grub.cfg path.
func signedChainSite(t *testing.T, marker string) (*testlab.Lab, string, *testlab.Agent) {
	t.Helper()
	lab, tap, conn, agent := secureBootSite(t, "shimx64.efi", map[string]string{
		"shimx64.efi":   signedShim,
		"grubx64.efi":   signedGrub,
		"linux/vmlinuz": testlab.Kernel(t),
	})
	if _, err := putArtifact(t, conn, &netbootv1.ArtifactHeader{Path: "linux/initrd.img"}, testlab.MarkerInitramfs(t, marker)); err != nil {
		t.Fatal(err)
	}
	for _, e := range []*netbootv1.BootEntry{
		{Name: "linux", Title: "Debian (signed)", Kind: "linux",
			Linux: &netbootv1.LinuxBoot{Kernel: "linux/vmlinuz", Initrds: []string{"linux/initrd.img"}, Args: "console=ttyS0 panic=-1"}},
		{Name: "local", Title: "Boot from local disk", Kind: "exit"},
	} {
		if _, err := conn.PutBootEntry(t.Context(), &netbootv1.PutBootEntryRequest{Entry: e}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.PutBootMenu(t.Context(), &netbootv1.PutBootMenuRequest{Menu: &netbootv1.BootMenu{
		Name: "main", DefaultItem: "linux", TimeoutSeconds: 1,
		Items:   []*netbootv1.MenuItem{{Entry: "linux"}, {Entry: "local"}},
		Match:   &netbootv1.HostMatch{Macs: []string{qemuMAC}},
		Formats: []string{string(menu.FormatGRUB)},
	}}); err != nil {
		t.Fatal(err)
	}
	return lab, tap, agent
}

func agentLog(t *testing.T, agent *testlab.Agent) string {
	t.Helper()
	log, err := os.ReadFile(agent.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(log)
}

// TestQEMUSecureBootRefusesUnsignedIPXE is the negative case: the same
// firmware handed Debian's unsigned ipxe.efi downloads it and refuses to
// run it, so the positive case really ran under Secure Boot.
func TestQEMUSecureBootRefusesUnsignedIPXE(t *testing.T) {
	testlab.RequireRoot(t, "qemu-system-x86_64")
	requireFiles(t, "/usr/lib/ipxe/ipxe.efi", testlab.SecureBootCode, testlab.SecureBootVars)
	t.Parallel()
	lab, tap, _, _ := secureBootSite(t, "ipxe.efi", map[string]string{"ipxe.efi": "/usr/lib/ipxe/ipxe.efi"})
	console, took, ok := lab.Boot(t, tap, testlab.QEMU{Firmware: testlab.SecureBoot, Marker: "Access Denied", Timeout: 240 * time.Second})
	if !ok {
		t.Fatalf("the firmware did not refuse the unsigned ipxe.efi:\n%s", console)
	}
	if strings.Contains(console, "iPXE initialising") {
		t.Errorf("the unsigned iPXE ran:\n%s", console)
	}
	t.Logf("Secure Boot refused ipxe.efi after %s", took.Round(time.Second))
}

// TestQEMUSecureBootWithoutGrub is the commonest mistake: shim published,
// GRUB not. shim asks for /grubx64.efi, gives up, and the agent's log says
// what is missing and what to publish.
func TestQEMUSecureBootWithoutGrub(t *testing.T) {
	testlab.RequireRoot(t, "qemu-system-x86_64")
	requireFiles(t, signedShim, testlab.SecureBootCode, testlab.SecureBootVars)
	t.Parallel()
	lab, tap, _, agent := secureBootSite(t, "shimx64.efi", map[string]string{"shimx64.efi": signedShim})
	console, took, ok := lab.Boot(t, tap, testlab.QEMU{Firmware: testlab.SecureBoot, Marker: "start_image() returned Not Found", Timeout: 240 * time.Second})
	if !ok {
		t.Fatalf("shim did not report GRUB missing:\n%s", console)
	}
	log := agentLog(t, agent)
	var warning string
	for line := range strings.SplitSeq(log, "\n") {
		if strings.Contains(line, "boot chain file missing") {
			warning = line
		}
	}
	for _, want := range []string{"level=WARN", "file=grubx64.efi", "grubnetx64.efi.signed"} {
		if !strings.Contains(warning, want) {
			t.Errorf("the agent's warning %q lacks %s; log:\n%s", warning, want, log)
		}
	}
	t.Logf("shim without GRUB: warned after %s", took.Round(time.Second))
}
