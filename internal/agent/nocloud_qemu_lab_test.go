package agent_test

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/nfsroot"
	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/pki"
)

// TestQEMUNoCloudUserDataPerMachine: two machines with different MAC
// addresses boot side by side, each an unmodified iPXE (Debian's
// ipxe.lkrn) in QEMU on the same link. Each iPXE leases its machine's
// reserved address and gets its machine's menu, whose entry's kernel
// command line carries ds=nocloud;s=<the machine's config directory>;
// the initramfs (the NFS root one with testdata/nocloud-init.sh as its
// /init) brings up IPv6 by SLAAC, fetches meta-data and user-data from
// that URL with busybox wget and prints what they hold. With boot.https
// on, the command line also carries the seed's HTTPS URL, and the
// initramfs fetches user-data again from it with curl, trusting only the
// CA the boot server's certificate comes from (curl and its libraries and
// the CA are in the initramfs); that curl refuses the server when it
// trusts another CA shows its check is on. Each must print its own
// machine's metadata by both schemes, never the other's, and the agent
// must have served each file to the machine's own EUI-64 address.
func TestQEMUNoCloudUserDataPerMachine(t *testing.T) {
	testlab.RequireRoot(t, "qemu-system-x86_64", "curl")
	if _, err := os.Stat("/usr/lib/ipxe/ipxe.lkrn"); err != nil {
		testlab.Unavailable(t, "needs /usr/lib/ipxe/ipxe.lkrn (Debian ipxe)")
	}
	lab, stateDir, conn, _ := provisioningLab(t, "qemu-system-x86_64", "curl")
	ctx := t.Context()

	caDir, otherCADir := t.TempDir(), t.TempDir()
	for _, dir := range []string{caDir, otherCADir} {
		if err := pki.InitCA(dir, "boot CA", 48*time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	cert, key := bootServerCert(t, caDir, "lab-https", lab.ServerAddr)
	// The boot server as the agent filled it in, with its default boot rules.
	state, err := conn.GetBootServer(ctx, &netbootv1.GetBootServerRequest{Name: "lab"})
	if err != nil {
		t.Fatal(err)
	}
	bs := state.GetConfig()
	bs.Boot.Https = &netbootv1.HTTPS{Enabled: true, CertificatePem: cert, PrivateKeyPem: key}
	if _, err := conn.PutBootServer(ctx, &netbootv1.PutBootServerRequest{BootServer: bs}); err != nil {
		t.Fatal(err)
	}

	kernelPath := testlab.Kernel(t)
	if _, err := putArtifact(t, conn, &netbootv1.ArtifactHeader{Path: "linux/vmlinuz", AgentPath: kernelPath}, nil); err != nil {
		t.Fatal(err)
	}
	initrd := nocloudInitrd(t, kernelPath, filepath.Join(caDir, pki.CACertFile), filepath.Join(otherCADir, pki.CACertFile))
	if _, err := putArtifact(t, conn, &netbootv1.ArtifactHeader{Path: "nocloud/initrd.img"}, initrd); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.PutBootEntry(ctx, &netbootv1.PutBootEntryRequest{Entry: &netbootv1.BootEntry{
		Name: "nocloud", Title: "First boot", Kind: "linux",
		Linux: &netbootv1.LinuxBoot{Kernel: "linux/vmlinuz", Initrds: []string{"nocloud/initrd.img"},
			Args: `console=ttyS0 panic=-1 ds=nocloud;s={{ .ConfigURL "" }} netboot.https_seed={{ .HTTPSConfigURL "" }}`},
	}}); err != nil {
		t.Fatal(err)
	}
	// Not the boot server's default: only machines get it, through their menu.
	if _, err := conn.PutBootMenu(ctx, &netbootv1.PutBootMenuRequest{Menu: &netbootv1.BootMenu{
		Name: "nocloud", DefaultItem: "nocloud", TimeoutSeconds: 1, Items: []*netbootv1.MenuItem{{Entry: "nocloud"}},
	}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*netbootv1.MachineConfig{
		{Name: "user-data", Kind: "cloud-config", Template: "#cloud-config\nhostname: {{ .Hostname }}\nfqdn: {{ .Metadata.fqdn }}\n"},
		{Name: "meta-data", Kind: "meta-data", Template: "instance-id: {{ .Name }}\n"},
	} {
		if _, err := conn.PutMachineConfig(ctx, &netbootv1.PutMachineConfigRequest{Config: c}); err != nil {
			t.Fatal(err)
		}
	}

	machines := []struct {
		name, mac, fqdn string
		reserved        string
		// slaac is the address the kernel forms from the RA's prefix
		// and the modified EUI-64 of mac (universal/local bit flipped).
		slaac string
	}{
		{"web1", "52:54:00:aa:bb:01", "web1.rack-a.lab.example", "2001:db8:1::a1", "2001:db8:1::5054:ff:feaa:bb01"},
		{"web2", "52:54:00:aa:bb:02", "web2.rack-b.lab.example", "2001:db8:1::a2", "2001:db8:1::5054:ff:feaa:bb02"},
	}
	for _, m := range machines {
		if _, err := conn.PutMachine(ctx, &netbootv1.PutMachineRequest{Machine: &netbootv1.Machine{
			Name: m.name, Macs: []string{m.mac}, Menu: "nocloud", ReservedAddress: m.reserved,
			Metadata: map[string]string{"fqdn": m.fqdn}}}); err != nil {
			t.Fatal(err)
		}
	}
	taps := []string{lab.AttachTap(t), lab.AttachTap(t)}

	// The two guests run at once (TCG, one core each); the group returns
	// when both have finished.
	t.Run("boot", func(t *testing.T) {
		for i, m := range machines {
			other := machines[1-i]
			t.Run(m.name, func(t *testing.T) {
				t.Parallel()
				want := "NETBOOT-USERDATA instance-id=" + m.name + " fqdn=" + m.fqdn + "\n"
				// Exit code 60: curl found the certificate's issuer untrusted.
				wantHTTPS := "NETBOOT-USERDATA-HTTPS fqdn=" + m.fqdn + " untrusted-ca-exit=60\n"
				console, took, ok := lab.Boot(t, taps[i], testlab.QEMU{Firmware: testlab.BIOS, MAC: m.mac, Marker: wantHTTPS, Timeout: 240 * time.Second})
				if !ok {
					t.Fatalf("%s never printed %q:\n%s", m.name, wantHTTPS, console)
				}
				t.Logf("%s: QEMU start → its user-data printed over HTTP and HTTPS in %s", m.name, took.Round(time.Second))
				if !strings.Contains(console, want) {
					t.Errorf("%s never printed %q:\n%s", m.name, want, console)
				}
				var progress []string
				for _, line := range strings.Split(console, "\n") {
					line = strings.TrimSpace(line)
					if strings.Contains(line, "NETBOOT-USERDATA") && line+"\n" != want && line+"\n" != wantHTTPS || strings.Contains(line, other.fqdn) {
						t.Errorf("%s printed %q", m.name, line)
					}
					if strings.Contains(line, "nocloud:") {
						progress = append(progress, line)
					}
				}
				t.Logf("%s's initramfs:\n%s", m.name, strings.Join(progress, "\n"))
				if errs := testlab.InitErrors(console); len(errs) > 0 {
					t.Errorf("%s's /init reported errors:\n%s", m.name, strings.Join(errs, "\n"))
				}
				if !strings.Contains(console, "net0: "+m.reserved+"/") {
					t.Errorf("%s's iPXE did not lease its reserved address %s:\n%s", m.name, m.reserved, console)
				}
			})
		}
	})
	if t.Failed() {
		return
	}

	log, err := os.ReadFile(filepath.Join(stateDir, "agent-test.log"))
	if err != nil {
		t.Fatal(err)
	}
	// Each file was fetched, and only from its machine's own address.
	served := map[string]bool{}
	request := regexp.MustCompile(`scheme=(https?) client=\[([0-9a-f:]+)\]:\d+ .*path=/netboot/config/([a-z0-9-]+)/[0-9a-f]+/([a-z-]+) status=200`)
	for _, m := range request.FindAllStringSubmatch(string(log), -1) {
		scheme, client, name, file := m[1], m[2], m[3], m[4]
		for _, mach := range machines {
			if mach.name == name {
				if netip.MustParseAddr(client) != netip.MustParseAddr(mach.slaac) {
					t.Errorf("%s's %s was served over %s to %s, not its SLAAC address %s", mach.name, file, scheme, client, mach.slaac)
				}
				served[scheme+" "+mach.name+"/"+file] = true
			}
		}
	}
	for _, m := range machines {
		for _, fetch := range []string{"http " + m.name + "/meta-data", "http " + m.name + "/user-data", "https " + m.name + "/user-data"} {
			if !served[fetch] {
				t.Errorf("the agent's log shows no %s served:\n%s", fetch, log)
			}
		}
		// curl trusting the other CA ended the handshake itself.
		if !regexp.MustCompile(`TLS handshake error from \[` + regexp.QuoteMeta(netip.MustParseAddr(m.slaac).String()) + `\]:\d+`).Match(log) {
			t.Errorf("the agent's log shows no refused handshake from %s (%s):\n%s", m.slaac, m.name, log)
		}
		// The last config each fetched was its user-data, over HTTPS.
		got, err := conn.GetMachine(ctx, &netbootv1.GetMachineRequest{Name: m.name})
		if err != nil {
			t.Fatal(err)
		}
		if c := got.GetLastConfig(); c.GetProtocol() != "https" || c.GetFile() != "user-data" ||
			netip.MustParseAddr(c.GetAddress()) != netip.MustParseAddr(m.slaac) {
			t.Errorf("%s's last_config = %v, want user-data over https from %s", m.name, c, m.slaac)
		}
	}
}

// nocloudInitrd is the NFS root initramfs for the kernel at kernelPath
// (its virtio network modules and IPv6 bring-up) with this host's curl and
// its libraries, and a second archive after it whose /init replaces the
// NFS root one, with the CA certificates at caFile (the one to trust) and
// otherCAFile (one that issued nothing the boot server has): the kernel
// unpacks both archives, in order.
func nocloudInitrd(t *testing.T, kernelPath, caFile, otherCAFile string) []byte {
	t.Helper()
	release := strings.TrimPrefix(filepath.Base(kernelPath), "vmlinuz-")
	if _, err := os.Stat(filepath.Join("/lib/modules", release, "modules.dep")); err != nil {
		testlab.Unavailable(t, "needs the modules of %s in /lib/modules (linux-image-amd64)", release)
	}
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Fatal(err)
	}
	initrd, err := nfsroot.BuildInitrd(context.Background(), nfsroot.InitrdOptions{KernelVersion: release, Programs: []string{curl}, Gzip: true})
	var missing *nfsroot.MissingFileError
	if errors.As(err, &missing) {
		testlab.Unavailable(t, "%v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	init, err := os.ReadFile("testdata/nocloud-init.sh")
	if err != nil {
		t.Fatal(err)
	}
	var overlay testlab.Initramfs
	overlay.File("init", 0o100755, init)
	overlay.Dir("etc/netboot")
	for _, f := range []struct{ name, path string }{{"ca.pem", caFile}, {"other-ca.pem", otherCAFile}} {
		pem, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatal(err)
		}
		overlay.File("etc/netboot/"+f.name, 0o100644, pem)
	}
	out := bytes.NewBuffer(initrd.Data)
	// An uncompressed archive must start 4-byte aligned; the kernel skips
	// the zeros before it.
	for out.Len()%4 != 0 {
		out.WriteByte(0)
	}
	out.Write(overlay.Bytes())
	return out.Bytes()
}
