package agent_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/pki"
)

// bootServerCert issues a boot server certificate for hosts from the CA in
// dir and returns it and its key, PEM.
func bootServerCert(t *testing.T, dir, name string, hosts ...string) (certPEM, keyPEM string) {
	t.Helper()
	if err := pki.Issue(dir, name, pki.Request{Kind: pki.Server, CommonName: name, Hosts: hosts, Validity: 48 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	c, err := os.ReadFile(filepath.Join(dir, name+".pem"))
	if err != nil {
		t.Fatal(err)
	}
	k, err := os.ReadFile(filepath.Join(dir, name+"-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return string(c), string(k)
}

// TestAgentServesHTTPS: with boot.https on, curl in the client namespace
// fetches an artifact and a machine's config over HTTPS on IPv6, trusting
// the CA that `agent certs` made; without the CA curl refuses the server;
// a certificate that does not name the boot address is refused at apply,
// naming the attribute; a new certificate serves the next connection
// without a restart; HTTP keeps serving, and metrics and the log tell the
// schemes apart.
func TestAgentServesHTTPS(t *testing.T) {
	testlab.RequireRoot(t, "curl", "busybox")
	lab := testlab.New(t)
	stateDir := t.TempDir()
	lab.StartAgent(t, stateDir, "--metrics-listen", "[::1]:9448")
	conn := connect(t, stateDir)
	ctx := context.Background()

	caDir := t.TempDir()
	if err := pki.InitCA(caDir, "boot CA", 48*time.Hour); err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(caDir, pki.CACertFile)

	bs := labBootServer(lab, "stateful")
	wrongCert, wrongKey := bootServerCert(t, caDir, "wrong", "2001:db8:1::99")
	bs.Boot = &netbootv1.Boot{TftpEnabled: true, HttpEnabled: true,
		Https: &netbootv1.HTTPS{Enabled: true, CertificatePem: wrongCert, PrivateKeyPem: wrongKey}}
	_, err := conn.PutBootServer(ctx, &netbootv1.PutBootServerRequest{BootServer: bs})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "boot.https.certificate_pem") ||
		!strings.Contains(err.Error(), "no subject alternative name for "+lab.ServerAddr) {
		t.Fatalf("a certificate for another address: %v, want InvalidArgument on boot.https.certificate_pem", err)
	}

	firstCert, firstKey := bootServerCert(t, caDir, "first", lab.ServerAddr)
	bs.Boot.Https = &netbootv1.HTTPS{Enabled: true, CertificatePem: firstCert, PrivateKeyPem: firstKey}
	state, err := conn.PutBootServer(ctx, &netbootv1.PutBootServerRequest{BootServer: bs})
	if err != nil {
		t.Fatal(err)
	}
	httpsBase := "https://[" + lab.ServerAddr + "]"
	if got := state.GetStatus().GetHttpsUrlBase(); got != httpsBase {
		t.Fatalf("https_url_base = %q, want %q", got, httpsBase)
	}

	kernel := []byte("a kernel served over TLS\n")
	if _, err := putArtifact(t, conn, &netbootv1.ArtifactHeader{Path: "debian/linux"}, kernel); err != nil {
		t.Fatal(err)
	}
	curl := func(args ...string) string {
		t.Helper()
		return lab.MustExec(t, lab.ClientNS, append([]string{"curl", "-g", "-sS", "--fail", "--cacert", caFile}, args...)...)
	}
	if got := curl(httpsBase + "/debian/linux"); got != string(kernel) {
		t.Errorf("artifact over HTTPS: %q, want %q", got, kernel)
	}
	if got := curl("--tlsv1.2", "--tls-max", "1.2", httpsBase+"/debian/linux"); got != string(kernel) {
		t.Errorf("artifact over TLS 1.2: %q", got)
	}
	// Without the CA, curl has only the system's and refuses the server.
	out, err := lab.Exec(ctx, lab.ClientNS, "curl", "-g", "-sS", "--fail", httpsBase+"/debian/linux")
	if err == nil || !strings.Contains(out, "certificate") {
		t.Errorf("curl without the CA: %v, %q; want a certificate verification failure", err, out)
	}
	// busybox wget with its own TLS code (an initramfs's: no openssl
	// program beside it) says it checks no certificate, and offers TLS 1.2
	// without the signature_algorithms extension, which Go's TLS refuses:
	// what the guide tells of it.
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Fatal(err)
	}
	out, err = lab.Exec(ctx, lab.ClientNS, "env", "PATH=/nonexistent", busybox, "wget", "-O", "-", httpsBase+"/debian/linux")
	if err == nil || !strings.Contains(out, "TLS certificate validation not implemented") {
		t.Errorf("busybox wget over HTTPS: %v, %q; want a refused handshake after its note on validation", err, out)
	}
	out, err = lab.Exec(ctx, lab.ClientNS, "curl", "-g", "-sS", "--fail", "--cacert", caFile, "--tlsv1.0", "--tls-max", "1.1", httpsBase+"/debian/linux")
	if err == nil {
		t.Errorf("a TLS 1.1 client was served: %q", out)
	}

	// A machine's config: its menu (over HTTP, as iPXE fetches it) names
	// its HTTPS URL for the installer, which gets it under the same rules.
	if _, err := conn.PutBootEntry(ctx, &netbootv1.PutBootEntryRequest{Entry: &netbootv1.BootEntry{Name: "install", Kind: "linux",
		Linux: &netbootv1.LinuxBoot{Kernel: "debian/linux", Args: `ds=nocloud;s={{ .HTTPSConfigURL "" }} repo={{ .HTTPSBase }}/debian`}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.PutBootMenu(ctx, &netbootv1.PutBootMenuRequest{Menu: &netbootv1.BootMenu{
		Name: "install", Items: []*netbootv1.MenuItem{{Entry: "install"}}}}); err != nil {
		t.Fatal(err)
	}
	// web1 is the client: the agent attributes its requests by the SLAAC
	// address of its MAC address.
	clientMAC := strings.TrimSpace(lab.MustExec(t, lab.ClientNS, "cat", "/sys/class/net/"+lab.ClientIf+"/address"))
	if _, err := conn.PutMachine(ctx, &netbootv1.PutMachineRequest{Machine: &netbootv1.Machine{
		Name: "web1", Macs: []string{clientMAC}, Menu: "install"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.PutMachineConfig(ctx, &netbootv1.PutMachineConfigRequest{Config: &netbootv1.MachineConfig{
		Name: "user-data", Kind: "cloud-config", Template: "#cloud-config\nhostname: {{ .Hostname }}\n"}}); err != nil {
		t.Fatal(err)
	}
	httpBase := "http://[" + lab.ServerAddr + "]"
	script := lab.MustExec(t, lab.ClientNS, "curl", "-g", "-sS", "--fail",
		httpBase+"/netboot/host/mac-"+strings.ReplaceAll(clientMAC, ":", "-")+"/uuid-/arch-x86_64/platform-efi/menu.ipxe")
	m := regexp.MustCompile(`ds=nocloud;s=(` + regexp.QuoteMeta(httpsBase) + `/netboot/config/web1/\S+/) repo=` + regexp.QuoteMeta(httpsBase) + `/debian`).FindStringSubmatch(script)
	if m == nil {
		t.Fatalf("web1's menu has no HTTPS config URL:\n%s", script)
	}
	if !strings.Contains(script, httpBase+"/debian/linux") {
		t.Errorf("the kernel is not fetched over HTTP, as iPXE can:\n%s", script)
	}
	if got := curl(m[1] + "user-data"); got != "#cloud-config\nhostname: web1\n" {
		t.Errorf("user-data over HTTPS: %q", got)
	}
	code := lab.MustExec(t, lab.ClientNS, "curl", "-g", "-sS", "--cacert", caFile, "-o", "/dev/null", "-w", "%{http_code}",
		httpsBase+"/netboot/config/web1/user-data")
	if code != "403" {
		t.Errorf("user-data over HTTPS without the token: %s, want 403", code)
	}

	// A new certificate serves the next connection, without a restart.
	if !strings.Contains(curl("-v", "-o", "/dev/null", httpsBase+"/debian/linux"), "CN=first") {
		t.Error("curl -v does not show the first certificate")
	}
	secondCert, secondKey := bootServerCert(t, caDir, "second", lab.ServerAddr)
	bs.Boot.Https = &netbootv1.HTTPS{Enabled: true, CertificatePem: secondCert, PrivateKeyPem: secondKey}
	if _, err := conn.PutBootServer(ctx, &netbootv1.PutBootServerRequest{BootServer: bs}); err != nil {
		t.Fatal(err)
	}
	if out := curl("-v", "-o", "/dev/null", httpsBase+"/debian/linux"); !strings.Contains(out, "CN=second") {
		t.Errorf("after the certificate changed, curl -v shows:\n%s", out)
	}
	if got := lab.MustExec(t, lab.ClientNS, "curl", "-g", "-sS", "--fail", httpBase+"/debian/linux"); got != string(kernel) {
		t.Errorf("artifact over HTTP: %q", got)
	}

	metrics := lab.MustExec(t, lab.ServerNS, "curl", "-g", "-sS", "--fail", "http://[::1]:9448/metrics")
	for _, want := range []string{`netboot_http_requests_total{boot_server="lab",scheme="http"} 2`, `netboot_http_ok_total{boot_server="lab",scheme="https"} 5`, `netboot_http_bad_requests_total{boot_server="lab",scheme="https"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q:\n%s", want, metrics)
		}
	}
	log, _ := os.ReadFile(filepath.Join(stateDir, "agent-test.log"))
	if !regexp.MustCompile(`"http request" .*scheme=https .*path=/debian/linux status=200`).Match(log) {
		t.Errorf("no access log line with scheme=https:\n%s", log)
	}
	if !strings.Contains(string(log), "missing signature_algorithms") {
		t.Errorf("busybox's refused handshake is not in the log:\n%s", log)
	}
}
