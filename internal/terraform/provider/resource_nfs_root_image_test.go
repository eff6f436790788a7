package provider

import (
	"context"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

const (
	nfsImageRes  = "netboot_nfs_root_image.test"
	nfsImageName = "diskless"
	nfsHostname  = "nfs.boot.test"
)

// nfsRootImageConfig is a boot server on the lab's link and an NFS root
// image "test" on it, with body added to the image's attributes.
func nfsRootImageConfig(lab *accLab, rootDir, body string) string {
	return bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, statefulBody) + fmt.Sprintf(`
resource "netboot_nfs_root_image" "test" {
  name        = %q
  boot_server = netboot_ipv6_boot_server.test.name
  root_dir    = %q
  hostname    = %q
%s
}
`, nfsImageName, rootDir, nfsHostname, body)
}

// The schema's validators run at plan, before the provider connects: none
// of these reaches an agent.
func TestNFSRootImage_invalidConfigFailsAtPlan(t *testing.T) {
	t.Parallel()
	provider := noAgentProviderConfig(t)
	var cases []planFailure
	const base = `
  name        = "img"
  boot_server = "lab"
  root_dir    = "/srv/roots/img"
`
	for _, tc := range []struct{ name, body, want string }{
		{"literal IPv6 host", base + `hostname = "2001:db8:1::1"`,
			`nfsroot host "2001:db8:1::1" is a literal IPv6 address: nfsroot= is split at its first colon`},
		{"bracketed IPv6 host", base + `hostname = "[2001:db8:1::1]"`,
			`nfsroot host "[2001:db8:1::1]" is a literal IPv6 address`},
		{"IPv4 host", base + `hostname = "192.0.2.1"`,
			`nfsroot host "192.0.2.1" is an IPv4 address: the boot is IPv6-only`},
		{"host with an underscore", base + `hostname = "nfs_server.example"`,
			`is not allowed in a host name`},
		{"relative root_dir", `
  name        = "img"
  boot_server = "lab"
  root_dir    = "srv/roots/img"
  hostname    = "nfs.example"`, `it is relative`},
		{"export path with a comma", base + `
  hostname    = "nfs.example"
  export_path = "/roots/a,b"`, `"/roots/a,b" has commas, spaces or quotes`},
		{"unclean export path", base + `
  hostname    = "nfs.example"
  export_path = "/roots//a/"`, `write /roots/a`},
		{"console with a space", base + `
  hostname = "nfs.example"
  console  = "ttyS0 quiet"`, `would not stay one kernel argument`},
		{"interface too long", base + `
  hostname  = "nfs.example"
  interface = "averyveryverylongname"`, `a kernel interface name`},
		{"kernel without a version in its name", base + `
  hostname = "nfs.example"
  kernel   = "/boot/linux"`, `kernel_version is derived from a kernel file named vmlinuz-<version>, and "linux" is not one`},
		{"module name with a slash", base + `
  hostname      = "nfs.example"
  extra_modules = ["net/e1000e"]`, `must be a kernel module name`},
		{"upper-case name", `
  name        = "Img"
  boot_server = "lab"
  root_dir    = "/srv/roots/img"
  hostname    = "nfs.example"`, `must be 1-63 lowercase letters`},
	} {
		cases = append(cases, planFailure{tc.name, provider + "resource \"netboot_nfs_root_image\" \"test\" {\n" + tc.body + "\n}\n", errorText(tc.want)})
	}
	expectPlanFailures(t, cases)
}

// The plan shows what follows from the configuration exactly as the agent
// derives it, and leaves the rest unknown.
func TestNFSRootImagePlanDerived(t *testing.T) {
	unknown := types.StringUnknown()
	for _, tc := range []struct {
		name                                            string
		cfg                                             nfsRootImageModel
		wantExport, wantVersion, wantNFSRoot, wantKPath types.String
	}{
		{"defaults", nfsRootImageModel{Name: types.StringValue("deb"), Hostname: types.StringValue("nfs.example"),
			ExportPath: types.StringNull(), Kernel: types.StringNull(), KernelVersion: types.StringNull()},
			types.StringValue("/roots/deb"), unknown, types.StringValue("nfs.example:/roots/deb"), types.StringValue("nfsroot/deb/vmlinuz")},
		{"configured", nfsRootImageModel{Name: types.StringValue("deb"), Hostname: types.StringValue("nfs.example"),
			ExportPath: types.StringValue("/srv/deb"), Kernel: types.StringValue("/boot/vmlinuz-6.1.0-56-amd64"), KernelVersion: types.StringNull()},
			types.StringValue("/srv/deb"), types.StringValue("6.1.0-56-amd64"), types.StringValue("nfs.example:/srv/deb"), types.StringValue("nfsroot/deb/vmlinuz")},
		{"version set", nfsRootImageModel{Name: types.StringValue("deb"), Hostname: unknown,
			ExportPath: types.StringNull(), Kernel: types.StringValue("/boot/vmlinuz-6.1.0-56-amd64"), KernelVersion: types.StringValue("6.1.0-56-rt")},
			types.StringValue("/roots/deb"), types.StringValue("6.1.0-56-rt"), unknown, types.StringValue("nfsroot/deb/vmlinuz")},
		{"name from another resource", nfsRootImageModel{Name: unknown, Hostname: types.StringValue("nfs.example"),
			ExportPath: types.StringNull(), Kernel: types.StringNull(), KernelVersion: types.StringNull()},
			unknown, unknown, unknown, unknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The plan starts as the framework makes it: configured values,
			// computed ones unknown.
			plan := tc.cfg
			for _, v := range []*types.String{&plan.ID, &plan.KernelPath, &plan.InitrdPath, &plan.KernelArgs, &plan.NFSRoot} {
				*v = unknown
			}
			if plan.ExportPath.IsNull() {
				plan.ExportPath = unknown
			}
			if plan.KernelVersion.IsNull() {
				plan.KernelVersion = unknown
			}
			plan.planDerived(tc.cfg)
			for _, c := range []struct {
				attr      string
				got, want types.String
			}{
				{"export_path", plan.ExportPath, tc.wantExport},
				{"kernel_version", plan.KernelVersion, tc.wantVersion},
				{"nfsroot", plan.NFSRoot, tc.wantNFSRoot},
				{"kernel_path", plan.KernelPath, tc.wantKPath},
				{"kernel_args", plan.KernelArgs, unknown},
			} {
				if !c.got.Equal(c.want) {
					t.Errorf("%s = %s, want %s", c.attr, c.got, c.want)
				}
			}
		})
	}
}

// requireNFSRootHost skips unless the agent host can build the image's
// initrd and the test can build a root: the agent takes mount.nfs from
// nfs-common, busybox from busybox-static and the newest kernel's modules.
func requireNFSRootHost(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/sbin/mount.nfs"); err != nil {
		testlab.Unavailable(t, "needs /sbin/mount.nfs on the agent host: apt-get install nfs-common")
	}
	if err := checkStaticELF("/bin/busybox"); err != nil {
		testlab.Unavailable(t, "needs a static /bin/busybox on the agent host: apt-get install busybox-static (%v)", err)
	}
	kernel := testlab.Kernel(t)
	release := strings.TrimPrefix(filepath.Base(kernel), "vmlinuz-")
	if _, err := os.Stat(filepath.Join("/lib/modules", release, "modules.dep")); err != nil {
		testlab.Unavailable(t, "needs the modules of kernel %s in /lib/modules", release)
	}
	return kernel
}

// checkStaticELF says why name is not a statically linked executable: the
// initrd and the test root run busybox without any libraries.
func checkStaticELF(name string) error {
	f, err := elf.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return errors.New("it is dynamically linked")
		}
	}
	return nil
}

// nfsTestRoot builds a root filesystem in a temporary directory: a static
// busybox and an /sbin/init that prints the marker it reads from
// /marker.txt, so the marker can only come from the NFS root, and powers off.
func nfsTestRoot(t *testing.T, marker string) string {
	t.Helper()
	dir := t.TempDir()
	busybox, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"dev", "proc", "sys", "bin", "sbin"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	init := "#!/bin/busybox sh\n" +
		"/bin/busybox echo \"read from the NFS root: $(/bin/busybox cat /marker.txt)\"\n" +
		"/bin/busybox poweroff -f\n"
	for _, f := range []struct {
		name string
		mode os.FileMode
		data []byte
	}{
		{"bin/busybox", 0o755, busybox},
		{"sbin/init", 0o755, []byte(init)},
		{"marker.txt", 0o644, []byte(marker + "\n")},
	} {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, f.mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func randomMarker(t *testing.T) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "NFSROOT-" + hex.EncodeToString(b)
}

// checkNFSRootImagesDestroyed is CheckDestroy: the agent holds no images,
// and the image's kernel and initrd artifacts are gone with it.
func (l *agentLab) checkNFSRootImagesDestroyed(t *testing.T) func(*terraform.State) error {
	return func(*terraform.State) error {
		conn := l.conn(t)
		list, err := conn.ListNFSRootImages(context.Background(), &netbootv1.ListNFSRootImagesRequest{})
		if err != nil {
			return err
		}
		if n := len(list.GetImages()); n != 0 {
			return fmt.Errorf("%d NFS root images still on the agent after destroy: %v", n, list.GetImages())
		}
		for _, p := range []string{"nfsroot/" + nfsImageName + "/vmlinuz", "nfsroot/" + nfsImageName + "/initrd.img"} {
			if _, err := conn.GetArtifact(context.Background(), &netbootv1.GetArtifactRequest{Path: p}); status.Code(err) != codes.NotFound {
				return fmt.Errorf("artifact %s after destroy: %v, want NotFound", p, err)
			}
		}
		return nil
	}
}

// agentServesImage checks that the agent serves the initrd and kernel the
// state names, with the digests the state holds.
func (l *agentLab) agentServesImage(t *testing.T) tfresource.TestCheckFunc {
	return func(s *terraform.State) error {
		res, ok := s.RootModule().Resources[nfsImageRes]
		if !ok {
			return fmt.Errorf("%s not in state", nfsImageRes)
		}
		a := res.Primary.Attributes
		return errors.Join(
			l.agentSHA256(t, a["initrd_path"], a["initrd_sha256"]),
			l.agentSHA256(t, a["kernel_path"], a["kernel_sha256"]))
	}
}

// imageFilesNotListed checks that listing netboot_artifact (terraform
// query) leaves out the image's kernel and initrd, which belong to the
// image, though the agent holds them as artifacts.
func (l *agentLab) imageFilesNotListed(t *testing.T) tfresource.TestCheckFunc {
	return func(s *terraform.State) error {
		a := s.RootModule().Resources[nfsImageRes].Primary.Attributes
		held, err := l.conn(t).ListArtifacts(context.Background(), &netbootv1.ListArtifactsRequest{})
		if err != nil {
			return err
		}
		found := 0
		for _, art := range held.GetArtifacts() {
			if art.GetPath() == a["kernel_path"] || art.GetPath() == a["initrd_path"] {
				found++
			}
		}
		if found != 2 {
			return fmt.Errorf("the agent's artifacts hold %d of the image's kernel %s and initrd %s, want both", found, a["kernel_path"], a["initrd_path"])
		}
		server, schemas := l.providerServer(t)
		for _, r := range listAll(t, server, schemas, "netboot_artifact") {
			if r.name == a["kernel_path"] || r.name == a["initrd_path"] {
				return fmt.Errorf("netboot_artifact list includes %s, which belongs to %s", r.name, nfsImageRes)
			}
		}
		return nil
	}
}

// kernelArgsWith checks that the kernel command line holds each of want.
func kernelArgsWith(want ...string) knownvalue.Check {
	return knownvalue.StringFunc(func(args string) error {
		for _, w := range want {
			if !strings.Contains(" "+args+" ", " "+w+" ") {
				return fmt.Errorf("kernel_args %q lacks %q", args, w)
			}
		}
		return nil
	})
}

func TestAccNFSRootImage_basic(t *testing.T) {
	lab := newAccLab(t)
	kernel := requireNFSRootHost(t)
	release := strings.TrimPrefix(filepath.Base(kernel), "vmlinuz-")
	kernelSum, _, err := hashFile(kernel)
	if err != nil {
		t.Fatal(err)
	}
	rootDir := nfsTestRoot(t, randomMarker(t))
	initial := nfsRootImageConfig(lab, rootDir, "")
	withConsole := nfsRootImageConfig(lab, rootDir, `  console = "ttyS0"`)
	nfsroot := "nfsroot=" + nfsHostname + ":/roots/" + nfsImageName
	setConsoleBehindTerraform := func(console string) func() {
		return func() {
			conn := lab.conn(t)
			img, err := conn.GetNFSRootImage(context.Background(), &netbootv1.GetNFSRootImageRequest{Name: nfsImageName})
			if err != nil {
				t.Fatal(err)
			}
			cfg := img.GetConfig()
			cfg.Console = console
			if _, err := conn.PutNFSRootImage(context.Background(), &netbootv1.PutNFSRootImageRequest{Image: cfg}); err != nil {
				t.Fatal(err)
			}
		}
	}
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		CheckDestroy:             lab.checkNFSRootImagesDestroyed(t),
		Steps: []tfresource.TestStep{
			{
				Config: initial,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					// Known at plan, so a boot entry's plan shows its paths.
					plancheck.ExpectKnownValue(nfsImageRes, tfjsonpath.New("kernel_path"), knownvalue.StringExact("nfsroot/"+nfsImageName+"/vmlinuz")),
					plancheck.ExpectKnownValue(nfsImageRes, tfjsonpath.New("initrd_path"), knownvalue.StringExact("nfsroot/"+nfsImageName+"/initrd.img")),
					plancheck.ExpectKnownValue(nfsImageRes, tfjsonpath.New("export_path"), knownvalue.StringExact("/roots/"+nfsImageName)),
					plancheck.ExpectKnownValue(nfsImageRes, tfjsonpath.New("nfsroot"), knownvalue.StringExact(nfsHostname+":/roots/"+nfsImageName)),
					plancheck.ExpectUnknownValue(nfsImageRes, tfjsonpath.New("kernel_args")),
					plancheck.ExpectUnknownValue(nfsImageRes, tfjsonpath.New("initrd_sha256")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(nfsImageRes, tfjsonpath.New("id"), knownvalue.StringExact(nfsImageName)),
					statecheck.ExpectKnownValue(nfsImageRes, tfjsonpath.New("interface"), knownvalue.StringExact("eth0")),
					statecheck.ExpectKnownValue(nfsImageRes, tfjsonpath.New("read_write"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(nfsImageRes, tfjsonpath.New("kernel"), knownvalue.StringExact(kernel)),
					statecheck.ExpectKnownValue(nfsImageRes, tfjsonpath.New("kernel_version"), knownvalue.StringExact(release)),
					statecheck.ExpectKnownValue(nfsImageRes, tfjsonpath.New("kernel_sha256"), knownvalue.StringExact(kernelSum)),
					statecheck.ExpectKnownValue(nfsImageRes, tfjsonpath.New("console"), knownvalue.Null()),
					statecheck.ExpectKnownValue(nfsImageRes, tfjsonpath.New("extra_modules"), knownvalue.Null()),
					statecheck.ExpectKnownValue(nfsImageRes, tfjsonpath.New("initrd_size"), knownvalue.Int64Func(func(v int64) error {
						if v <= 0 {
							return fmt.Errorf("initrd_size = %d, want > 0", v)
						}
						return nil
					})),
					statecheck.ExpectKnownValue(nfsImageRes, tfjsonpath.New("initrd_sha256"), knownvalue.StringRegexp(sha256Pattern)),
					statecheck.ExpectKnownValue(nfsImageRes, tfjsonpath.New("kernel_args"),
						kernelArgsWith("ip=:::::eth0:off ip6=eth0", nfsroot, "nbdns="+lab.ServerAddr, "ro")),
					statecheck.ExpectKnownValue(nfsImageRes, tfjsonpath.New("build_log"), knownvalue.StringRegexp(
						regexp.MustCompile(`(?s)^building initrd: [0-9.]+m?s \(.* for kernel `+regexp.QuoteMeta(release)+`\)\nstoring kernel: .*\nstoring initrd: .*\nexporting `))),
				},
				Check: tfresource.ComposeTestCheckFunc(lab.agentServesImage(t), lab.imageFilesNotListed(t)),
			},
			{
				// The console changes in place; the initrd is rebuilt, the
				// paths stay.
				Config: withConsole,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(nfsImageRes, plancheck.ResourceActionUpdate),
					plancheck.ExpectUnknownValue(nfsImageRes, tfjsonpath.New("kernel_args")),
					plancheck.ExpectKnownValue(nfsImageRes, tfjsonpath.New("kernel_path"), knownvalue.StringExact("nfsroot/"+nfsImageName+"/vmlinuz")),
					plancheck.ExpectKnownValue(nfsImageRes, tfjsonpath.New("id"), knownvalue.StringExact(nfsImageName)),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(nfsImageRes, tfjsonpath.New("console"), knownvalue.StringExact("ttyS0")),
					statecheck.ExpectKnownValue(nfsImageRes, tfjsonpath.New("kernel_args"),
						kernelArgsWith("ip=:::::eth0:off ip6=eth0", nfsroot, "nbdns="+lab.ServerAddr, "console=ttyS0")),
				},
				Check: lab.agentServesImage(t),
			},
			{
				ResourceName:      nfsImageRes,
				ImportState:       true,
				ImportStateId:     nfsImageName,
				ImportStateVerify: true,
			},
			{
				// Drift: the console is changed behind Terraform's back.
				PreConfig:          setConsoleBehindTerraform("ttyS1"),
				Config:             withConsole,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config: withConsole,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(nfsImageRes, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(nfsImageRes, tfjsonpath.New("kernel_args"), kernelArgsWith("console=ttyS0")),
				},
			},
			{
				// Drift: the image is deleted behind Terraform's back.
				PreConfig: func() {
					if _, err := lab.conn(t).DeleteNFSRootImage(context.Background(), &netbootv1.DeleteNFSRootImageRequest{Name: nfsImageName}); err != nil {
						t.Fatal(err)
					}
				},
				Config:             withConsole,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config: withConsole,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(nfsImageRes, plancheck.ResourceActionCreate),
				}},
				Check: lab.agentServesImage(t),
			},
		},
	})
}

// A literal address in nfsroot= is refused at plan, with the reason, both
// as an image's hostname and in a boot entry's kernel arguments; nothing
// reaches the agent.
func TestNFSRootImage_literalAddressRefused(t *testing.T) {
	lab := newFastLab(t)
	image := func(hostname string) string {
		return fmt.Sprintf(`
resource "netboot_nfs_root_image" "test" {
  name        = "x"
  boot_server = "acc"
  root_dir    = %q
  hostname    = %q
}
`, t.TempDir(), hostname)
	}
	const splitAtColon = "is a literal IPv6 address: nfsroot= is split at its first colon, so mount.nfs in the initramfs gets a broken HOST:PATH"
	for _, tc := range []struct{ name, config, want string }{
		{"IPv6 hostname", image("2001:db8:1::1"), `nfsroot host "2001:db8:1::1" ` + splitAtColon},
		{"bracketed IPv6 hostname", image("[2001:db8:1::1]"), `nfsroot host "[2001:db8:1::1]" ` + splitAtColon},
		{"IPv4 hostname", image("192.0.2.1"), `nfsroot host "192.0.2.1" is an IPv4 address: the boot is IPv6-only`},
		{"boot entry args", `
resource "netboot_boot_entry" "test" {
  name  = "x"
  title = "Diskless"
  linux = {
    kernel  = "nfsroot/x/vmlinuz"
    initrds = ["nfsroot/x/initrd.img"]
    args    = "ip=:::::eth0:off ip6=eth0 nfsroot=[2001:db8:1::1]:/roots/x nbdns=2001:db8:1::1 ro"
  }
}
`, `nfsroot host "[2001:db8:1::1]:/roots/x" ` + splitAtColon},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tfresource.UnitTest(t, tfresource.TestCase{
				ProtoV6ProviderFactories: testProviderFactories,
				Steps: []tfresource.TestStep{{
					Config:      lab.providerConfig() + tc.config,
					PlanOnly:    true,
					ExpectError: errorText(tc.want),
				}},
			})
			conn := lab.conn(t)
			images, err := conn.ListNFSRootImages(context.Background(), &netbootv1.ListNFSRootImagesRequest{})
			if err != nil {
				t.Fatal(err)
			}
			entries, err := conn.ListBootEntries(context.Background(), &netbootv1.ListBootEntriesRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if len(images.GetImages())+len(entries.GetEntries()) != 0 {
				t.Fatalf("the agent holds %v and %v after a refused plan", images.GetImages(), entries.GetEntries())
			}
		})
	}
}

// disklessConfig is a whole diskless site in one configuration: a boot
// server, an NFS root image on it, a boot entry made of the image's outputs
// and a default menu that boots it after 1 second.
func disklessConfig(lab *accLab, rootDir string) string {
	return nfsRootImageConfig(lab, rootDir, `  console = "ttyS0"`) + `
resource "netboot_boot_entry" "diskless" {
  name  = "diskless"
  title = "Diskless Linux"
  kind  = "linux"
  linux = {
    kernel  = netboot_nfs_root_image.test.kernel_path
    initrds = [netboot_nfs_root_image.test.initrd_path]
    args    = netboot_nfs_root_image.test.kernel_args
  }
}

resource "netboot_boot_menu" "main" {
  name         = "main"
  title        = "Diskless"
  items        = [{ entry = netboot_boot_entry.diskless.name }]
  default_item = netboot_boot_entry.diskless.name
  timeout      = 1
  is_default   = true
}
`
}

// TestAccNFSRootImage_disklessQEMUBoot boots a diskless machine from one
// Terraform configuration: unmodified iPXE in QEMU → the agent's RA and
// DHCPv6 → start.ipxe → the default menu → the image's kernel and initrd
// over HTTP → SLAAC in the initrd → nfsroot= resolved by the agent's DNS →
// the root mounted over NFSv3 from the agent → its /sbin/init prints a
// marker read from a file in that root.
func TestAccNFSRootImage_disklessQEMUBoot(t *testing.T) {
	if _, err := os.Stat("/usr/lib/ipxe/ipxe.lkrn"); err != nil {
		testlab.Unavailable(t, "needs /usr/lib/ipxe/ipxe.lkrn (Debian ipxe)")
	}
	lab := newAccLab(t, "qemu-system-x86_64")
	requireNFSRootHost(t)
	marker := randomMarker(t)
	rootDir := nfsTestRoot(t, marker)
	tap := lab.AttachTap(t)
	boot := func(*terraform.State) error {
		console, took, ok := lab.Boot(t, tap, testlab.QEMU{Firmware: testlab.BIOS, Marker: marker, Timeout: 240 * time.Second})
		if !ok {
			return fmt.Errorf("no marker %s on the serial console after %s:\n%s", marker, took.Round(time.Second), console)
		}
		t.Logf("diskless boot: QEMU start → iPXE → menu → kernel → NFS root → marker in %s", took.Round(100*time.Millisecond))
		var missing []string
		for _, want := range []string{
			"Diskless Linux",
			"nfsroot/" + nfsImageName + "/initrd.img... ok",
			"nfsroot: mounting " + nfsHostname + ":/roots/" + nfsImageName + " on /newroot",
			"read from the NFS root: " + marker,
		} {
			if !strings.Contains(console, want) {
				missing = append(missing, want)
			}
		}
		if !regexp.MustCompile(`Command line: .*nfsroot=` + regexp.QuoteMeta(nfsHostname) + `:/roots/` + nfsImageName + ` nbdns=` + regexp.QuoteMeta(lab.ServerAddr) + ` ro console=ttyS0`).MatchString(console) {
			missing = append(missing, "the image's kernel_args on the kernel command line")
		}
		if len(missing) > 0 {
			return fmt.Errorf("the serial console lacks %q:\n%s", missing, console)
		}
		if errs := testlab.InitErrors(console); len(errs) > 0 {
			return fmt.Errorf("/init reported errors %q:\n%s", errs, console)
		}
		return nil
	}
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		CheckDestroy:             lab.checkNFSRootImagesDestroyed(t),
		Steps: []tfresource.TestStep{{
			Config: disklessConfig(lab, rootDir),
			Check:  boot,
		}},
	})
}

// A build the agent refuses names the attribute to change and says how.
func TestNFSRootImageErrorNamesTheAttribute(t *testing.T) {
	img := &netbootv1.NFSRootImage{Name: "debian", BootServer: "lab", KernelVersion: "6.1.0-9-amd64"}
	for _, tc := range []struct {
		message string
		want    path.Path
		advice  string
	}{
		{`NFS root image "debian": building the initrd for kernel_version "6.1.0-9-amd64": /lib/modules/6.1.0-9-amd64: no such file or directory`,
			path.Root("kernel_version"), "ls /lib/modules"},
		{`NFS root image "debian": storing the kernel "/boot/vmlinuz-x": agent_path: open /boot/vmlinuz-x: no such file or directory`,
			path.Root("kernel"), "/boot/vmlinuz-<release>"},
		{`boot server "lab" does not exist on this agent; create it first`, path.Root("boot_server"), "Create the boot server first"},
		{`boot server "lab" has no global address in 2001:db8:1::/64 yet: the image's DNS name needs one`, path.Root("boot_server"), "server_address"},
		{`export path "/roots/a" is already used by NFS root image "b" on boot server "lab"`, path.Root("export_path"), "its own export_path"},
	} {
		var diags diag.Diagnostics
		addNFSRootImageError(&diags, img, status.Error(codes.FailedPrecondition, tc.message))
		if len(diags) != 1 {
			t.Fatalf("%s: diagnostics = %v", tc.message, diags)
		}
		d, ok := diags[0].(diag.DiagnosticWithPath)
		if !ok || !d.Path().Equal(tc.want) {
			t.Errorf("%s: diagnostic %v, want it on %s", tc.message, diags[0], tc.want)
			continue
		}
		if !strings.Contains(d.Detail(), tc.message) || !strings.Contains(d.Detail(), tc.advice) {
			t.Errorf("detail %q lacks the agent's reason or %q", d.Detail(), tc.advice)
		}
	}
}

// no_root_squash defaults to false and changes in place; the agent stores
// what Terraform set.
func TestAccNFSRootImage_noRootSquash(t *testing.T) {
	lab := newAccLab(t)
	requireNFSRootHost(t)
	rootDir := nfsTestRoot(t, randomMarker(t))
	agentHas := func(want bool) tfresource.TestCheckFunc {
		return func(*terraform.State) error {
			img, err := lab.conn(t).GetNFSRootImage(context.Background(), &netbootv1.GetNFSRootImageRequest{Name: nfsImageName})
			if err != nil {
				return err
			}
			if got := img.GetConfig().GetNoRootSquash(); got != want {
				return fmt.Errorf("the agent's image has no_root_squash %v, want %v", got, want)
			}
			return nil
		}
	}
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		CheckDestroy:             lab.checkNFSRootImagesDestroyed(t),
		Steps: []tfresource.TestStep{
			{
				Config: nfsRootImageConfig(lab, rootDir, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(nfsImageRes, tfjsonpath.New("no_root_squash"), knownvalue.Bool(false)),
				},
				Check: agentHas(false),
			},
			{
				Config: nfsRootImageConfig(lab, rootDir, "  no_root_squash = true"),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(nfsImageRes, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(nfsImageRes, tfjsonpath.New("no_root_squash"), knownvalue.Bool(true)),
				},
				Check: agentHas(true),
			},
			{
				ResourceName:      nfsImageRes,
				ImportState:       true,
				ImportStateId:     nfsImageName,
				ImportStateVerify: true,
			},
		},
	})
}
