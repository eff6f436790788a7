package menu

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/machineconfig"

	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
)

// grubGoldenCases renders every golden GRUB configuration from testCatalog
// plus grubInjection's entry.
func grubGoldenCases(t *testing.T) []goldenCase {
	t.Helper()
	c := testCatalog()
	noDefault := testCatalog()
	delete(noDefault.Menus, "fallback")
	var out []goldenCase
	for _, tc := range []struct {
		name    string
		catalog *Catalog
		path    string
	}{
		{"grub-start", c, GrubStartPath},
		{"grub-main", c, GrubHostPath(Host{MAC: "52:54:00:12:34:56", BuildArch: "x86_64", Platform: "efi"})},
		{"grub-fallback", c, GrubHostPath(Host{MAC: "02:00:00:00:00:02", BuildArch: "x86_64", Platform: "efi"})},
		{"grub-nomatch", noDefault, GrubHostPath(Host{MAC: "02:00:00:00:00:02", BuildArch: "x86_64", Platform: "efi"})},
		{"grub-injection", grubInjection(), GrubHostPath(Host{})},
	} {
		script, _, _, err := Render(tc.catalog, testSite, tc.path, Host{})
		if err != nil {
			t.Fatalf("%s: Render: %v", tc.name, err)
		}
		out = append(out, goldenCase{tc.name, script})
	}
	return out
}

// grubInjection is a default menu whose entry tries to break out of GRUB's
// quoting through its title, arguments and item text.
func grubInjection() *Catalog {
	e := Entry{
		Name: "evil", Title: `it's $(reboot) "x"; reboot`, Kind: KindLinux,
		Linux: &Linux{
			Kernel:  "linux/vmlinuz",
			Initrds: []string{"it's/initrd;reboot"},
			Args:    `a='b' c=$root d=${prefix} e;reboot f=\' g="h i"`,
		},
	}
	m := Menu{Name: "m", IsDefault: true, Items: []Item{{Entry: "evil", Text: `'; reboot; echo '`, Key: "e"}}}
	return &Catalog{Entries: map[string]Entry{e.Name: e}, Menus: map[string]Menu{m.Name: m}}
}

func TestRenderGrubGolden(t *testing.T) { checkGolden(t, grubGoldenCases(t)) }

// TestRenderGrubInjection checks each hostile value stays one quoted word:
// GRUB expands nothing inside single quotes, and a single quote inside
// one closes the quotes, is escaped with a backslash, and opens them again.
func TestRenderGrubInjection(t *testing.T) {
	script, _, _, err := Render(grubInjection(), testSite, GrubHostPath(Host{}), Host{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`menuentry ''\''; reboot; echo '\''' --id 'entry-evil' --hotkey='e' {`,
		`	linux ($root)/'linux/vmlinuz' 'a='\''b'\''' 'c=$root' 'd=${prefix}' 'e;reboot' 'f=\'\''' 'g="h' 'i"'`,
		`	initrd ($root)/'it'\''s/initrd;reboot'`,
		`	echo 'Booting it'\''s $(reboot) "x"; reboot'`,
	} {
		if !strings.Contains(string(script), want+"\n") {
			t.Errorf("missing line %s in:\n%s", want, script)
		}
	}
}

func TestGrubQuote(t *testing.T) {
	for in, want := range map[string]string{
		"":        `''`,
		"plain":   `'plain'`,
		"it's":    `'it'\''s'`,
		"$x ${y}": `'$x ${y}'`,
		"a;b\nc":  "'a;b\nc'",
		`\'`:      `'\'\'''`,
	} {
		if got := grubQuote(in); got != want {
			t.Errorf("grubQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestRenderedGrubPassesGrubScriptCheck runs GRUB's own parser
// (grub-script-check, from grub-common) on every golden configuration.
func TestRenderedGrubPassesGrubScriptCheck(t *testing.T) {
	check, err := exec.LookPath("grub-script-check")
	if err != nil {
		testlab.Unavailable(t, "needs grub-script-check (apt-get install grub-common)")
	}
	for _, tc := range grubGoldenCases(t) {
		file := filepath.Join(t.TempDir(), "grub.cfg")
		if err := os.WriteFile(file, tc.script, 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(check, file).CombinedOutput(); err != nil {
			t.Errorf("%s: grub-script-check: %v\n%s\n%s", tc.name, err, out, tc.script)
		}
	}
}

func TestGrubProblem(t *testing.T) {
	for _, tc := range []struct {
		e    Entry
		want string
	}{
		{Entry{Kind: KindLinux, Linux: &Linux{Kernel: "k"}}, ""},
		{Entry{Kind: KindLinux, EFI: &Linux{Kernel: "k"}, PCBIOS: &Linux{Kernel: "b"}}, ""},
		{Entry{Kind: KindLinux, PCBIOS: &Linux{Kernel: "b"}}, "no kernel for UEFI"},
		{Entry{Kind: KindLinux, Linux: &Linux{Kernel: "k", Initrds: []string{"http://[2001:db8::1]/i"}}}, "not from URLs"},
		{Entry{Kind: KindExit}, ""},
		{Entry{Kind: KindChain, URL: "http://x/y"}, `kind "chain" runs in iPXE only`},
		{Entry{Kind: KindSanboot}, "iPXE only"},
		{Entry{Kind: KindScript}, "iPXE only"},
	} {
		got := GrubProblem(tc.e)
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("GrubProblem(%+v) = %q, want %q", tc.e, got, tc.want)
		}
	}
}

// TestGrubFS checks what a network GRUB is served: grub/grub.cfg rendered
// while a menu is offered and the boot server's own file otherwise, and
// the host's grub.cfg rendered for GRUB, not iPXE.
func TestGrubFS(t *testing.T) {
	fsys, cur := newTestFS(testCatalog())
	if got := readAll(t, fsys, GrubStartPath); !bytes.Equal(got, RenderGrubStart(testBootServer)) {
		t.Errorf("%s with menus offered:\n%s", GrubStartPath, got)
	}
	host := readAll(t, fsys, GrubHostPath(Host{MAC: "52:54:00:12:34:56", BuildArch: "x86_64", Platform: "efi"}))
	if !bytes.Contains(host, []byte("menuentry 'CentOS Stream 9 installer'")) || bytes.Contains(host, []byte("#!ipxe")) {
		t.Errorf("host grub.cfg:\n%s", host)
	}
	cur.Store(&Catalog{})
	if got := readAll(t, fsys, GrubStartPath); string(got) != "echo hand-written\n" {
		t.Errorf("%s without menus = %q, want the boot server's own file", GrubStartPath, got)
	}
}

// TestFormatsChooseTheBootLoader checks that a menu is chosen only for the
// boot loaders its formats name: with an iPXE menu and a GRUB menu both
// the default, each loader gets its own, and a boot server whose only menu
// is for iPXE serves GRUB its own grub/grub.cfg.
func TestFormatsChooseTheBootLoader(t *testing.T) {
	c := &Catalog{
		Entries: map[string]Entry{
			"linux": {Name: "linux", Kind: KindLinux, Linux: &Linux{Kernel: "linux/vmlinuz"}},
			"shell": {Name: "shell", Kind: KindScript, Script: "shell"},
		},
		Menus: map[string]Menu{
			"ipxe": {Name: "ipxe", Items: []Item{{Entry: "shell"}}, IsDefault: true, Formats: []Format{FormatIPXE}},
			"sb":   {Name: "sb", Items: []Item{{Entry: "linux"}}, IsDefault: true, Formats: []Format{FormatGRUB}},
		},
	}
	if err := ValidateCatalog(c.Entries, c.Menus); err != nil {
		t.Fatal(err)
	}
	h := Host{MAC: "52:54:00:12:34:56", BuildArch: "x86_64", Platform: "efi"}
	for p, want := range map[string]string{HostPath(h): "ipxe", GrubHostPath(h): "sb"} {
		if _, got, _, err := Render(c, machineconfig.Site{BootServer: testBootServer, HTTPBase: "http://[2001:db8::1]"}, p, Host{}); err != nil || got != want {
			t.Errorf("Render(%s) chose menu %q (%v), want %q", p, got, err, want)
		}
	}
	delete(c.Menus, "sb")
	fsys, _ := newTestFS(c)
	if got := readAll(t, fsys, GrubStartPath); string(got) != "echo hand-written\n" {
		t.Errorf("%s with only an iPXE menu = %q, want the boot server's own file", GrubStartPath, got)
	}
	if got := readAll(t, fsys, StartPath); !bytes.Contains(got, []byte("#!ipxe")) {
		t.Errorf("%s with an iPXE menu = %q, want it rendered", StartPath, got)
	}
}

func TestIsGrubPath(t *testing.T) {
	for p, want := range map[string]bool{
		GrubStartPath:                 true,
		GrubHostPath(Host{}):          true,
		HostPath(Host{}):              false,
		StartPath:                     false,
		"grub/x86_64-efi/command.lst": false,
		"netboot/host/grub.cfg":       false,
		"grubx64.efi":                 false,
	} {
		if got := IsGrubPath(p); got != want {
			t.Errorf("IsGrubPath(%q) = %v, want %v", p, got, want)
		}
	}
}
