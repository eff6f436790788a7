package provider

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/config"

	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/agentclient"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/pki"
)

// remoteAgentPort is the port every site's agent listens on, on its own
// control address.
const remoteAgentPort = "7447"

// labPKI is a lab CA made by the real binary's `agent certs`, as an
// operator would make one.
type labPKI struct{ Dir string }

func newLabPKI(t *testing.T) *labPKI {
	t.Helper()
	p := &labPKI{Dir: t.TempDir()}
	p.certs(t, "init")
	return p
}

// certs runs `terraform-provider-netboot agent certs <args> --dir <Dir>`.
func (p *labPKI) certs(t *testing.T, args ...string) {
	t.Helper()
	args = append([]string{"agent", "certs"}, append(args, "--dir", p.Dir)...)
	if out, err := exec.Command(testlab.Binary(t), args...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// CACert is the CA certificate file, for ca_cert and --client-ca.
func (p *labPKI) CACert() string { return filepath.Join(p.Dir, pki.CACertFile) }

// Pair returns the certificate and key files of the named certificate.
func (p *labPKI) Pair(name string) (cert, key string) {
	return filepath.Join(p.Dir, name+".pem"), filepath.Join(p.Dir, name+"-key.pem")
}

// remoteSite is one boot site: a lab link, and an agent in the lab's server
// namespace that the host reaches only over mutual TLS on Endpoint.
type remoteSite struct {
	*testlab.Lab
	Name     string
	Endpoint string
	pki      *labPKI
}

// newRemoteSite creates a lab with a control link to the host, gives the
// lab's server interface bootAddr/64 (the address its boot URLs carry),
// issues the agent a server certificate for the control address and
// starts it listening there.
func newRemoteSite(t *testing.T, p *labPKI, name, bootAddr string) *remoteSite {
	t.Helper()
	lab := testlab.New(t)
	lab.MustExec(t, lab.ServerNS, "ip", "-6", "addr", "add", bootAddr+"/64", "dev", lab.ServerIf, "nodad")
	addr := lab.ControlLink(t)
	p.certs(t, "server", "--name", name, "--host", addr)
	cert, key := p.Pair(name)
	endpoint := net.JoinHostPort(addr, remoteAgentPort)
	lab.StartAgent(t, t.TempDir(), "--listen", endpoint, "--tls-cert", cert, "--tls-key", key, "--client-ca", p.CACert())
	// The agent opens its TCP listener just after its socket, which is
	// what StartAgent waits for.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", endpoint, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent of %s does not listen on %s: %v", name, endpoint, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return &remoteSite{Lab: lab, Name: name, Endpoint: endpoint, pki: p}
}

// conn connects to the site's agent over mutual TLS as the named client,
// for changing it behind Terraform's back and checking what it holds.
func (s *remoteSite) conn(t *testing.T, client string) *agentclient.Conn {
	t.Helper()
	cert, key := s.pki.Pair(client)
	conn, err := agentclient.Connect(context.Background(), agentclient.Options{
		Endpoint: s.Endpoint, CACert: s.pki.CACert(), ClientCert: cert, ClientKey: key, Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatalf("connecting to %s as %s: %v", s.Name, client, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// agentVariable is the value of examples/two-sites' site_a or site_b
// variable that reaches this site's agent: its endpoint, the CA given and
// the named client certificate.
func (s *remoteSite) agentVariable(caCert, client string) config.Variable {
	cert, key := s.pki.Pair(client)
	return config.ObjectVariable(map[string]config.Variable{
		"endpoint":    config.StringVariable(s.Endpoint),
		"ca_cert":     config.StringVariable(caCert),
		"client_cert": config.StringVariable(cert),
		"client_key":  config.StringVariable(key),
	})
}

// twoSitesExample is examples/two-sites/main.tf with its module source made
// absolute, written to a file of its own: the test harness copies the file
// into its working directory, where the relative source would not resolve.
func twoSitesExample(t *testing.T) string {
	t.Helper()
	const relative = `"../modules/boot-site"`
	hcl, err := os.ReadFile("../../../examples/two-sites/main.tf")
	if err != nil {
		t.Fatal(err)
	}
	module, err := filepath.Abs("../../../examples/modules/boot-site")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(hcl), relative) {
		t.Fatalf("examples/two-sites/main.tf no longer uses the module at %s", relative)
	}
	file := filepath.Join(t.TempDir(), "main.tf")
	if err := os.WriteFile(file, []byte(strings.ReplaceAll(string(hcl), relative, strconv.Quote(module))), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// useBuiltProvider makes terraform run the built provider binary, one
// process per provider configuration, installed from a filesystem mirror
// named by a CLI configuration. Provider factories would serve every alias
// from one in-process provider server, where the provider configured last
// would serve them all.
func useBuiltProvider(t *testing.T) {
	t.Helper()
	mirror := t.TempDir()
	platform := filepath.Join(mirror, "registry.terraform.io", "netbootlab", "netboot", "0.1.0", runtime.GOOS+"_"+runtime.GOARCH)
	if err := os.MkdirAll(platform, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(testlab.Binary(t), filepath.Join(platform, "terraform-provider-netboot_v0.1.0")); err != nil {
		t.Fatal(err)
	}
	rc := fmt.Sprintf(`provider_installation {
  filesystem_mirror {
    path    = %q
    include = ["registry.terraform.io/netbootlab/netboot"]
  }
  direct {
    exclude = ["registry.terraform.io/netbootlab/netboot"]
  }
}
`, mirror)
	cliConfig := filepath.Join(t.TempDir(), "terraformrc")
	if err := os.WriteFile(cliConfig, []byte(rc), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TF_CLI_CONFIG_FILE", cliConfig)
}
