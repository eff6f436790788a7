package agent_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/menu"
	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// TestAgentServesRenderedMenus: entries and menus put over gRPC are what
// curl fetches from the boot server (start.ipxe and the host's script), the
// same bytes RenderScript shows, updated in place without a restart; and
// the same menu as GRUB configuration (testGrubServed).
func TestAgentServesRenderedMenus(t *testing.T) {
	testlab.RequireRoot(t, "curl")
	lab := testlab.New(t)
	stateDir := t.TempDir()
	lab.StartAgent(t, stateDir, "--metrics-listen", "[::1]:9447")
	conn := connect(t, stateDir)
	ctx := context.Background()

	if _, err := conn.PutBootServer(ctx, &netbootv1.PutBootServerRequest{BootServer: labBootServer(lab, "stateful")}); err != nil {
		t.Fatal(err)
	}
	menuReq := &netbootv1.PutBootMenuRequest{Menu: &netbootv1.BootMenu{
		Name: "main", Title: "Lab boot menu", IsDefault: true, DefaultItem: "local", TimeoutSeconds: 5,
		Items: []*netbootv1.MenuItem{{Entry: "linux", Key: "l"}, {Gap: true, Text: "Other"}, {Entry: "local"}},
	}}
	_, err := conn.PutBootMenu(ctx, menuReq)
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "items[0].entry") {
		t.Fatalf("menu naming missing entries: %v, want InvalidArgument on items[0].entry", err)
	}
	for _, e := range []*netbootv1.BootEntry{
		{Name: "linux", Title: "Debian", Kind: "linux", Linux: &netbootv1.LinuxBoot{Kernel: "linux/vmlinuz", Initrds: []string{"linux/initrd.img"}, Args: "console=ttyS0 url={{ .HTTPBase }}/x"}},
		{Name: "local", Title: "Boot from local disk", Kind: "exit"},
	} {
		if _, err := conn.PutBootEntry(ctx, &netbootv1.PutBootEntryRequest{Entry: e}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.PutBootMenu(ctx, menuReq); err != nil {
		t.Fatal(err)
	}

	base := "http://[" + lab.ServerAddr + "]"
	start := lab.MustExec(t, lab.ClientNS, "curl", "-g", "-sS", "--fail", base+"/start.ipxe")
	if !strings.HasPrefix(start, "#!ipxe") || !strings.Contains(start, base+"/netboot/host/mac-${netX/mac:hexhyp}") {
		t.Fatalf("start.ipxe:\n%s", start)
	}
	hostPath := "netboot/host/mac-52-54-00-12-34-56/uuid-/arch-x86_64/platform-pcbios/menu.ipxe"
	script := lab.MustExec(t, lab.ClientNS, "curl", "-g", "-sS", "--fail", base+"/"+hostPath)
	for _, want := range []string{"menu Lab boot menu", "item --key l entry-linux Debian", "--default entry-local", "kernel " + base + "/linux/vmlinuz initrd=initrd.img console=ttyS0 url=" + base + "/x"} {
		if !strings.Contains(script, want) {
			t.Errorf("host script lacks %q:\n%s", want, script)
		}
	}
	rendered, err := conn.RenderScript(ctx, &netbootv1.RenderScriptRequest{BootServer: "lab", Mac: "52:54:00:12:34:56", Buildarch: "x86_64", Platform: "pcbios"})
	if err != nil || rendered.GetScript() != script || rendered.GetMenu() != "main" {
		t.Fatalf("RenderScript = %q (%v), want what curl got", rendered.GetMenu(), err)
	}

	_, err = conn.DeleteBootEntry(ctx, &netbootv1.DeleteBootEntryRequest{Name: "local"})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), `boot menu "main"`) {
		t.Fatalf("deleting a used entry: %v, want FailedPrecondition naming the menu", err)
	}
	metrics := lab.MustExec(t, lab.ServerNS, "curl", "-g", "-sS", "--fail", "http://[::1]:9447/metrics")
	for _, want := range []string{`netboot_boot_server_serving{boot_server="lab"} 1`, `netboot_http_requests_total{boot_server="lab",scheme="http"} 2`, "# TYPE netboot_http_bytes_sent_total counter", "# TYPE netboot_http_response_seconds histogram", `netboot_http_response_bytes_count{boot_server="lab",scheme="http"} 2`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q:\n%s", want, metrics)
		}
	}

	menuReq.Menu.Title = "Renamed menu"
	if _, err := conn.PutBootMenu(ctx, menuReq); err != nil {
		t.Fatal(err)
	}
	if script := lab.MustExec(t, lab.ClientNS, "curl", "-g", "-sS", "--fail", base+"/"+hostPath); !strings.Contains(script, "menu Renamed menu") {
		t.Fatalf("update not served:\n%s", script)
	}
	testGrubServed(t, lab, conn)
}

// testGrubServed fetches what a network GRUB reads: grub/grub.cfg over
// TFTP as GRUB asks for it (a leading slash, from its prefix
// "(tftp,<server>)/grub"), then the host's grub.cfg over HTTP (tftp-hpa's
// client reads a ':' in a file name as "host:file"): the same menu as GRUB
// configuration, the bytes RenderScript shows.
func testGrubServed(t *testing.T, lab *testlab.Lab, conn netbootv1.AgentClient) {
	t.Helper()
	if _, err := exec.LookPath("tftp"); err != nil {
		testlab.Unavailable(t, "needs tftp (tftp-hpa)")
	}
	dir := t.TempDir()
	get := func(name string) string {
		t.Helper()
		local := filepath.Join(dir, "got")
		lab.MustExec(t, lab.ClientNS, "tftp", "-6", lab.ServerAddr, "-m", "binary", "-c", "get", name, local)
		b, err := os.ReadFile(local)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got := get("/" + menu.GrubStartPath); got != string(menu.RenderGrubStart("lab")) {
		t.Errorf("%s:\n%s", menu.GrubStartPath, got)
	}
	hostPath := menu.GrubHostPath(menu.Host{MAC: "52:54:00:12:34:56", BuildArch: "x86_64", Platform: "efi"})
	cfg := lab.MustExec(t, lab.ClientNS, "curl", "-g", "-sS", "--fail", "http://["+lab.ServerAddr+"]/"+hostPath)
	for _, want := range []string{
		"menuentry 'Debian' --id 'entry-linux' --hotkey='l' {",
		"linux ($root)/'linux/vmlinuz' 'console=ttyS0' 'url=http://[" + lab.ServerAddr + "]/x'",
		"initrd ($root)/'linux/initrd.img'",
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("host grub.cfg lacks %q:\n%s", want, cfg)
		}
	}
	rendered, err := conn.RenderScript(t.Context(), &netbootv1.RenderScriptRequest{BootServer: "lab", Path: hostPath})
	if err != nil || rendered.GetScript() != cfg {
		t.Errorf("RenderScript(%s) = %q (%v), want what tftp got", hostPath, rendered.GetScript(), err)
	}
}
