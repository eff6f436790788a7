package provider

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/pki"
)

// httpsTestCA is a CA in a temporary directory, as `agent certs init`
// makes one, issuing boot server certificates as `agent certs
// boot-server` does.
type httpsTestCA struct{ dir string }

func newHTTPSTestCA(t *testing.T) httpsTestCA {
	t.Helper()
	dir := t.TempDir()
	if err := pki.InitCA(dir, "boot CA", 48*time.Hour); err != nil {
		t.Fatal(err)
	}
	return httpsTestCA{dir: dir}
}

// issue writes NAME.pem and NAME-key.pem for hosts and returns their paths.
func (ca httpsTestCA) issue(t *testing.T, name string, hosts ...string) (cert, key string) {
	t.Helper()
	if err := pki.Issue(ca.dir, name, pki.Request{Kind: pki.Server, CommonName: name, Hosts: hosts, Validity: 48 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(ca.dir, name+".pem"), filepath.Join(ca.dir, name+"-key.pem")
}

func (ca httpsTestCA) certFile() string { return filepath.Join(ca.dir, pki.CACertFile) }

// httpsBody is a boot server body with HTTPS on, its certificate and key
// read with file().
func httpsBody(cert, key, serverAddress string) string {
	addr := ""
	if serverAddress != "" {
		addr = fmt.Sprintf("\n    server_address = %q", serverAddress)
	}
	return statefulBody + fmt.Sprintf(`
  boot = {%s
    https = {
      enabled         = true
      certificate_pem = file(%q)
      private_key_pem = file(%q)
    }
  }
`, addr, cert, key)
}

// Refused at plan, naming the attribute: a key of another certificate, a
// certificate without the configured server address, HTTP's port. A
// certificate not known until apply (made by another resource) passes the
// plan; the agent checks it then.
func TestIPv6BootServer_httpsValidation(t *testing.T) {
	lab := newFastLab(t)
	ca := newHTTPSTestCA(t)
	cert, key := ca.issue(t, "lab", "2001:db8:1::1")
	_, otherKey := ca.issue(t, "other", "2001:db8:1::1")
	tfresource.UnitTest(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		Steps: []tfresource.TestStep{
			{
				Config:      bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, httpsBody(cert, otherKey, "")),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)boot\.https\.private_key_pem.*does not match certificate_pem`),
			},
			{
				Config:      bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, httpsBody(cert, key, "2001:db8:1::2")),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)boot\.https\.certificate_pem.*no subject alternative name for\s+2001:db8:1::2`),
			},
			{
				Config: bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, statefulBody+`
  boot = { https = { enabled = true, port = 80 } }
`),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)boot\.https\.port.*the port of boot\.http_port`),
			},
			{
				Config: bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, statefulBody+fmt.Sprintf(`
  boot = {
    https = {
      enabled         = true
      certificate_pem = terraform_data.cert.output
      private_key_pem = file(%q)
    }
  }
`, key)) + fmt.Sprintf(`
resource "terraform_data" "cert" {
  input = file(%q)
}
`, cert),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
		},
	})
}

// TestAccIPv6BootServer_https applies a boot server with HTTPS on: curl in
// the client namespace, trusting the CA, fetches an artifact over HTTPS at
// https_url_base; a new certificate applies in place and serves the next
// connection; the settings import as applied; turning HTTPS off stops it.
func TestAccIPv6BootServer_https(t *testing.T) {
	lab := newAccLab(t, "curl")
	ca := newHTTPSTestCA(t)
	first, firstKey := ca.issue(t, "first", lab.ServerAddr)
	second, secondKey := ca.issue(t, "second", lab.ServerAddr)
	source := filepath.Join(t.TempDir(), "linux")
	if err := os.WriteFile(source, []byte("kernel over TLS\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	withArtifact := func(body string) string {
		return bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, body) + fmt.Sprintf(`
resource "netboot_artifact" "linux" {
  path   = "debian/linux"
  source = %q
}
`, source)
	}
	httpsBase := "https://[" + lab.ServerAddr + "]"
	// curlServed fetches the artifact over HTTPS with the CA and checks
	// which certificate the server presented.
	curlServed := func(cn string) func(*terraform.State) error {
		return func(*terraform.State) error {
			out, err := lab.Exec(t.Context(), lab.ClientNS, "curl", "-g", "-sS", "-v", "--fail", "--cacert", ca.certFile(), httpsBase+"/debian/linux")
			if err != nil {
				return err
			}
			if !strings.Contains(out, "kernel over TLS") || !strings.Contains(out, "CN="+cn) {
				return fmt.Errorf("curl over HTTPS, want the artifact from %q:\n%s", cn, out)
			}
			return nil
		}
	}
	https := tfjsonpath.New("boot").AtMapKey("https")
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		CheckDestroy:             lab.checkBootServerDestroyed(t),
		Steps: []tfresource.TestStep{
			{
				Config: withArtifact(httpsBody(first, firstKey, "")),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testResource, https.AtMapKey("enabled"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(testResource, https.AtMapKey("port"), knownvalue.Int64Exact(443)),
					statecheck.ExpectKnownValue(testResource, tfjsonpath.New("https_url_base"), knownvalue.StringExact(httpsBase)),
					statecheck.ExpectKnownValue(testResource, tfjsonpath.New("boot_url_base"), knownvalue.StringExact("http://["+lab.ServerAddr+"]")),
				},
				Check: curlServed("first"),
			},
			{
				// A new certificate, in place.
				Config: withArtifact(httpsBody(second, secondKey, "")),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testResource, plancheck.ResourceActionUpdate),
				}},
				Check: curlServed("second"),
			},
			{
				ResourceName:      testResource,
				ImportState:       true,
				ImportStateId:     "acc",
				ImportStateVerify: true,
			},
			{
				// Drift: HTTPS moved to another port behind Terraform's back.
				PreConfig: func() {
					conn := lab.conn(t)
					st, err := conn.GetBootServer(t.Context(), &netbootv1.GetBootServerRequest{Name: "acc"})
					if err != nil {
						t.Fatal(err)
					}
					bs := st.GetConfig()
					bs.Boot.Https.Port = 8443
					if _, err := conn.PutBootServer(t.Context(), &netbootv1.PutBootServerRequest{BootServer: bs}); err != nil {
						t.Fatal(err)
					}
				},
				Config:             withArtifact(httpsBody(second, secondKey, "")),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				// Applied back: HTTPS on 443 again.
				Config: withArtifact(httpsBody(second, secondKey, "")),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testResource, https.AtMapKey("port"), knownvalue.Int64Exact(443)),
				},
				Check: curlServed("second"),
			},
			{
				Config: withArtifact(statefulBody),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testResource, https.AtMapKey("enabled"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(testResource, tfjsonpath.New("https_url_base"), knownvalue.StringExact("")),
				},
				Check: func(*terraform.State) error {
					if out, err := lab.Exec(t.Context(), lab.ClientNS, "curl", "-g", "-sS", "--cacert", ca.certFile(), httpsBase+"/debian/linux"); err == nil {
						return fmt.Errorf("HTTPS still served after it was turned off: %s", out)
					}
					return nil
				},
			},
		},
	})
}
