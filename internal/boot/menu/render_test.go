package menu

import (
	"bytes"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/machineconfig"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

const (
	testBootServer = "lab"
	testHTTPBase   = "http://[2001:db8:1::1]"
)

// testSite is the boot server the scripts are rendered for.
var testSite = machineconfig.Site{BootServer: testBootServer, HTTPBase: testHTTPBase}

// testCatalog covers every entry kind, a platform split, nested and cyclic
// menus, hot keys, gaps, a default menu and a custom template.
func testCatalog() *Catalog {
	entries := []Entry{
		{
			Name: "centos", Title: "CentOS Stream 9 installer", Kind: KindLinux,
			Linux:  &Linux{Initrds: []string{"centos/9/initrd.img"}, Args: "inst.repo={{ .HTTPBase }}/centos/9 inst.ks={{ .HTTPBase }}/ks/{{ .Entry }}.cfg ip=dhcp6 BOOTIF=${netX/mac}"},
			EFI:    &Linux{Kernel: "centos/9/efi/vmlinuz"},
			PCBIOS: &Linux{Kernel: "centos/9/bios/vmlinuz", Args: "inst.repo={{ .HTTPBase }}/centos/9 console=ttyS0,115200n8"},
		},
		{
			Name: "debian", Kind: KindLinux,
			Linux: &Linux{
				Kernel:  "debian/12/linux",
				Initrds: []string{"debian/12/initrd.gz", "https://[2001:db8::80]/preseed/initrd.gz", "debian/12/firmware files.cpio"},
				Args:    "auto=true priority=critical -- quiet",
			},
		},
		{Name: "local", Title: "Boot from local disk", Kind: KindExit},
		{Name: "netbootxyz", Title: "netboot.xyz", Kind: KindChain, URL: "https://boot.netboot.xyz/ipxe/netboot.xyz.efi"},
		{Name: "iscsi", Title: "iSCSI root disk", Kind: KindSanboot, URL: "iscsi:[2001:db8::10]::::iqn.2010-04.org.ipxe:disk"},
		{Name: "shell", Title: "iPXE shell", Kind: KindScript, Script: "#!ipxe\r\necho Type exit to return to the menu\r\nshell\r\n"},
	}
	menus := []Menu{
		{
			Name: "main", Title: "PXE Boot Options",
			Items: []Item{
				{Gap: true, Text: "Operating systems:"},
				{Entry: "centos", Key: "c"},
				{Entry: "debian", Key: "d", Text: "Debian 12 (preseeded)"},
				{Gap: true},
				{Menu: "tools", Key: "t", Text: "Tools..."},
				{Entry: "local", Key: "l"},
			},
			DefaultItem: "local", Timeout: 10 * time.Second,
			Match: Match{MACs: []string{"52:54:00:12:34:56", "52-54-00-AB-CD-EF"}},
		},
		{
			Name: "tools", Title: "Tools",
			Items: []Item{
				{Entry: "netbootxyz", Key: "n"},
				{Menu: "disks"},
				{Entry: "shell", Key: "s"},
				{Menu: "main", Text: "Main menu"},
			},
		},
		{Name: "disks", Title: "SAN disks", Items: []Item{{Entry: "iscsi"}}},
		{
			Name: "fallback", IsDefault: true,
			Items:       []Item{{Entry: "shell"}, {Entry: "local", Text: "Exit to BIOS"}},
			DefaultItem: "local", Timeout: 10 * time.Second,
		},
		{
			Name: "arm", Title: "ARM servers",
			Items: []Item{{Entry: "debian"}, {Entry: "local"}},
			Template: "menu {{ .Title }} ({{ .BootServer }})\n" +
				"{{ range .Items }}item {{ .ID }} [{{ .Entry }}] {{ .Text }}\n{{ end }}" +
				"choose --timeout 5000 --default {{ (index .Items 1).ID }} selected || goto {{ .CancelLabel }}\n" +
				"goto ${selected}",
			Match: Match{Platforms: []string{"efi"}, BuildArchs: []string{"arm64"}},
		},
	}
	c := &Catalog{Entries: map[string]Entry{}, Menus: map[string]Menu{}, Updated: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	for _, e := range entries {
		c.Entries[e.Name] = e
	}
	for _, m := range menus {
		c.Menus[m.Name] = m
	}
	return c
}

type goldenCase struct {
	name   string
	script []byte
}

// goldenCases renders every golden script from testCatalog.
func goldenCases(t *testing.T) []goldenCase {
	t.Helper()
	c := testCatalog()
	noDefault := testCatalog()
	delete(noDefault.Menus, "fallback")
	var out []goldenCase
	for _, tc := range []struct {
		name    string
		catalog *Catalog
		path    string
		host    Host
	}{
		{"start", c, StartPath, Host{}},
		{"main", c, HostPath(Host{MAC: "52-54-00-12-34-56", UUID: "", BuildArch: "x86_64", Platform: "efi"}), Host{}},
		{"arm-custom-template", c, "", Host{MAC: "02-00-00-00-00-01", BuildArch: "arm64", Platform: "efi"}},
		{"fallback", c, HostPath(Host{MAC: "02-00-00-00-00-02", UUID: "4c4c4544-0042-3510-8052-b4c04f4b4e31", BuildArch: "i386", Platform: "pcbios"}), Host{}},
		{"nomatch", noDefault, HostPath(Host{MAC: "02-00-00-00-00-02", BuildArch: "x86_64", Platform: "pcbios"}), Host{}},
	} {
		script, _, _, err := Render(tc.catalog, testSite, tc.path, tc.host)
		if err != nil {
			t.Fatalf("%s: Render: %v", tc.name, err)
		}
		out = append(out, goldenCase{tc.name, script})
	}
	return out
}

func TestRenderGolden(t *testing.T) { checkGolden(t, goldenCases(t)) }

// checkGolden compares each case with testdata/<name>.golden, or rewrites
// the files with -update.
func checkGolden(t *testing.T, cases []goldenCase) {
	t.Helper()
	for _, tc := range cases {
		file := filepath.Join("testdata", tc.name+".golden")
		if *update {
			if err := os.WriteFile(file, tc.script, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%v (run go test -update to create it)", err)
		}
		if !bytes.Equal(tc.script, want) {
			t.Errorf("%s differs from %s (go test -update rewrites it):\n%s", tc.name, file, tc.script)
		}
	}
}

func TestRenderIsByteStable(t *testing.T) {
	first := goldenCases(t)
	for range 20 {
		// Rebuild the maps so their iteration order changes.
		again := goldenCases(t)
		for i := range first {
			if !bytes.Equal(first[i].script, again[i].script) {
				t.Fatalf("%s rendered differently on a second run", first[i].name)
			}
		}
	}
}

func TestRenderChoosesMenu(t *testing.T) {
	c := testCatalog()
	for _, tc := range []struct {
		host     Host
		wantMenu string
		reason   string
	}{
		{Host{MAC: "52-54-00-ab-cd-ef", BuildArch: "arm64", Platform: "efi"}, "main", `menu "main" matches on mac (score 8)`},
		{Host{MAC: "02-00-00-00-00-01", BuildArch: "arm64", Platform: "efi"}, "arm", `menu "arm" matches on platform, buildarch (score 3)`},
		{Host{MAC: "02-00-00-00-00-01", BuildArch: "arm64", Platform: "pcbios"}, "fallback", `"fallback" is the default menu`},
	} {
		script, menu, reason, err := Render(c, testSite, "", tc.host)
		if err != nil {
			t.Fatal(err)
		}
		if menu != tc.wantMenu || !strings.Contains(reason, tc.reason) {
			t.Errorf("host %v: got menu %q (%s), want %q (%s)", tc.host, menu, reason, tc.wantMenu, tc.reason)
		}
		if !bytes.Contains(script, []byte(":menu-"+tc.wantMenu+"\n")) {
			t.Errorf("host %v: script lacks :menu-%s", tc.host, tc.wantMenu)
		}
	}
}

func TestRenderErrors(t *testing.T) {
	c := testCatalog()
	if _, _, _, err := Render(c, testSite, "other.ipxe", Host{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("unknown path: got %v, want fs.ErrNotExist", err)
	}
	if _, _, _, err := Render(&Catalog{}, testSite, StartPath, Host{}); !errors.Is(err, ErrNoMenus) {
		t.Errorf("start.ipxe without menus: got %v, want ErrNoMenus", err)
	}
	if _, _, _, err := Render(c, machineconfig.Site{BootServer: testBootServer, HTTPBase: ""}, StartPath, Host{}); err == nil {
		t.Error("empty HTTP base accepted")
	}
	if _, _, _, err := Render(c, machineconfig.Site{BootServer: "Bad Name", HTTPBase: testHTTPBase}, StartPath, Host{}); err == nil {
		t.Error("bad boot server name accepted")
	}
	if _, _, _, err := Render(c, testSite, "", Host{MAC: "52:54\necho pwned"}); err == nil {
		t.Error("host value with a newline accepted")
	}
	broken := testCatalog()
	delete(broken.Entries, "iscsi")
	if _, _, _, err := Render(broken, testSite, "", Host{MAC: "52:54:00:12:34:56"}); err == nil || !strings.Contains(err.Error(), `"iscsi"`) {
		t.Errorf("missing entry: got %v, want an error naming it", err)
	}
}

func TestRenderLinuxDetails(t *testing.T) {
	c := testCatalog()
	script, _, _, err := Render(c, machineconfig.Site{BootServer: testBootServer, HTTPBase: testHTTPBase + "/"}, "", Host{MAC: "52:54:00:12:34:56"})
	if err != nil {
		t.Fatal(err)
	}
	s := string(script)
	for _, want := range []string{
		// Args template rendered, iPXE settings untouched, initrd= added for EFI.
		"kernel http://[2001:db8:1::1]/centos/9/efi/vmlinuz initrd=initrd.img inst.repo=http://[2001:db8:1::1]/centos/9 inst.ks=http://[2001:db8:1::1]/ks/centos.cfg ip=dhcp6 BOOTIF=${netX/mac} || goto failed\n",
		// The BIOS branch gets its own args and no initrd=.
		"kernel http://[2001:db8:1::1]/centos/9/bios/vmlinuz inst.repo=http://[2001:db8:1::1]/centos/9 console=ttyS0,115200n8 || goto failed\n",
		"iseq ${platform} efi && goto entry-centos.efi || goto entry-centos.pcbios\n",
		// Duplicate initrd file names get an index; paths are percent-encoded.
		"initrd --name initrd.gz http://[2001:db8:1::1]/debian/12/initrd.gz || goto failed\n",
		"initrd --name 2-initrd.gz https://[2001:db8::80]/preseed/initrd.gz || goto failed\n",
		"initrd --name firmware_files.cpio http://[2001:db8:1::1]/debian/12/firmware%20files.cpio || goto failed\n",
		"kernel http://[2001:db8:1::1]/debian/12/linux initrd=initrd.gz initrd=2-initrd.gz initrd=firmware_files.cpio auto=true priority=critical -- quiet || goto failed\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("script lacks %q:\n%s", want, s)
		}
	}
}

func TestUserInitrdArgWins(t *testing.T) {
	e := Entry{Name: "x", Kind: KindLinux, Linux: &Linux{Kernel: "k", Initrds: []string{"i.img"}, Args: "initrd=custom.img quiet"}}
	lb, err := linuxView(e, e.Linux, "entry-x", true, ArgsData{BootServer: testBootServer, HTTPBase: testHTTPBase}, "menu-m")
	if err != nil {
		t.Fatal(err)
	}
	if lb.Args != "initrd=custom.img quiet" {
		t.Errorf("args = %q, want the user's initrd= only", lb.Args)
	}
}

// TestMenuViewDocMatchesTemplate keeps the built-in template quoted in
// MenuView's documentation equal to the embedded one.
func TestMenuViewDocMatchesTemplate(t *testing.T) {
	src, err := os.ReadFile("render.go")
	if err != nil {
		t.Fatal(err)
	}
	_, doc, ok := strings.Cut(string(src), "the\n// built-in template is:\n//\n")
	if !ok {
		t.Fatal("render.go: MenuView doc no longer quotes the built-in template")
	}
	var quoted strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		l, ok := strings.CutPrefix(line, "//\t")
		if !ok {
			break
		}
		quoted.WriteString(l + "\n")
	}
	file, err := templateFiles.ReadFile("templates/menu.ipxe.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	if quoted.String() != string(file) {
		t.Errorf("MenuView doc quotes:\n%s\ntemplates/menu.ipxe.tmpl is:\n%s", quoted.String(), file)
	}
}
