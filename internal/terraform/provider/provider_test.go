package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// testProviderFactories serves the provider in-process to the terraform CLI,
// a new one each time: a provider holds the connection of its last
// configuration, and parallel tests reach different agents.
var testProviderFactories = map[string]func() (tfprotov6.ProviderServer, error){
	"netboot": func() (tfprotov6.ProviderServer, error) { return providerserver.NewProtocol6WithError(New("test")())() },
}

// noAgentProviderConfig points the provider at an empty state dir, for
// tests that must never reach an agent: launching one fails at once
// (TestMain), so if Configure ran, the test would fail with "Cannot reach
// the netboot agent".
func noAgentProviderConfig(t *testing.T) string {
	t.Helper()
	return fmt.Sprintf("provider \"netboot\" {\n  state_dir = %q\n  timeout   = 1\n}\n", t.TempDir())
}

// planFailure is a configuration whose plan must fail with an error that
// want matches; name says what is wrong with it.
type planFailure struct {
	name, config string
	want         *regexp.Regexp
}

// expectPlanFailures plans each configuration in its own step of one test
// case: the terraform CLI still plans each alone and checks its error, but
// what every test case costs besides (finding and checking terraform, init,
// reading the state at the end: four terraform runs) is paid once.
func expectPlanFailures(t *testing.T, cases []planFailure) {
	t.Helper()
	steps := make([]tfresource.TestStep, len(cases))
	for i, c := range cases {
		steps[i] = tfresource.TestStep{
			// Names the case a failing step reports by number.
			PreConfig:   func() { t.Logf("step %d/%d: %s", i+1, len(cases), c.name) },
			Config:      c.config,
			PlanOnly:    true,
			ExpectError: c.want,
		}
	}
	tfresource.UnitTest(t, tfresource.TestCase{ProtoV6ProviderFactories: testProviderFactories, Steps: steps})
}

// errorText matches an error message however terraform wraps its lines.
func errorText(text string) *regexp.Regexp {
	words := strings.Fields(text)
	for i, w := range words {
		words[i] = regexp.QuoteMeta(w)
	}
	return regexp.MustCompile(strings.Join(words, `\s+`))
}

// errorTexts matches texts in this order, anything between them.
func errorTexts(texts ...string) *regexp.Regexp {
	parts := make([]string, len(texts))
	for i, text := range texts {
		parts[i] = errorText(text).String()
	}
	return regexp.MustCompile(strings.Join(parts, `(?s:.*)`))
}

func TestProviderSchemaIsValid(t *testing.T) {
	server, err := testProviderFactories["netboot"]()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := server.GetProviderSchema(context.Background(), &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range resp.Diagnostics {
		t.Errorf("%s: %s: %s", d.Severity, d.Summary, d.Detail)
	}
	for _, name := range []string{"netboot_ipv6_boot_server", "netboot_artifact", "netboot_boot_entry", "netboot_boot_menu", "netboot_nfs_root_image"} {
		if _, ok := resp.ResourceSchemas[name]; !ok {
			t.Errorf("resource %s missing", name)
		}
	}
	for _, name := range []string{"netboot_leases", "netboot_boot_server", "netboot_rendered_script"} {
		if _, ok := resp.DataSourceSchemas[name]; !ok {
			t.Errorf("data source %s missing", name)
		}
	}
}

// The examples tfplugindocs puts in the documentation pass the schema's
// validation: planning them gets as far as connecting to the agent.
func TestExamplesPassValidation(t *testing.T) {
	examples, err := filepath.Glob("../../../examples/*/*/*.tf")
	if err != nil || len(examples) == 0 {
		t.Fatalf("no examples found: %v", err)
	}
	// The url example takes its digest from a variable.
	t.Setenv("TF_VAR_netboot_xyz_sha256", strings.Repeat("0", 64))
	provider := noAgentProviderConfig(t)
	var cases []planFailure
	for _, example := range examples {
		// examples/modules/* are modules (used by examples/two-sites), not
		// tfplugindocs examples: they need their variables.
		if filepath.Base(filepath.Dir(example)) == "provider" || filepath.Base(filepath.Dir(filepath.Dir(example))) == "modules" {
			continue
		}
		hcl, err := os.ReadFile(example)
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, planFailure{filepath.Base(filepath.Dir(example)), provider + string(hcl), errorText("Cannot reach the netboot agent")})
	}
	expectPlanFailures(t, cases)
}

// Every attribute, nested ones too, carries a description: tfplugindocs
// renders them.
func TestEveryAttributeIsDescribed(t *testing.T) {
	server, err := testProviderFactories["netboot"]()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := server.GetProviderSchema(context.Background(), &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	checkDescribed(t, "provider", resp.Provider.Block.Attributes)
	for name, s := range resp.ResourceSchemas {
		checkDescribed(t, name, s.Block.Attributes)
	}
	for name, s := range resp.DataSourceSchemas {
		checkDescribed(t, name, s.Block.Attributes)
	}
}

func checkDescribed(t *testing.T, where string, attrs []*tfprotov6.SchemaAttribute) {
	t.Helper()
	for _, a := range attrs {
		if a.Description == "" {
			t.Errorf("%s.%s has no description", where, a.Name)
		}
		if a.NestedType != nil {
			checkDescribed(t, where+"."+a.Name, a.NestedType.Attributes)
		}
	}
}

func TestProvider_configureErrorsSayWhatToFix(t *testing.T) {
	t.Setenv(envEndpoint, "")
	var cases []planFailure
	for _, tc := range []struct {
		name, provider, want string
	}{
		{"remote without certificates", `provider "netboot" { endpoint = "[::1]:7447" }`,
			"a remote endpoint needs ca_cert, client_cert and client_key"},
		{"unreadable certificate", `provider "netboot" {
  endpoint    = "[::1]:7447"
  ca_cert     = "/nonexistent/ca.pem"
  client_cert = "/nonexistent/client.pem"
  client_key  = "/nonexistent/client-key.pem"
}`, "ca_cert: not PEM text, and reading it as a file failed"},
		{"endpoint and state_dir", `provider "netboot" {
  endpoint  = "[::1]:7447"
  state_dir = "/tmp"
}`, `Attribute "state_dir" cannot be specified when "endpoint" is specified`},
		{"endpoint and lease_db", `provider "netboot" {
  endpoint = "[::1]:7447"
  lease_db = "postgres://netboot@db.example/netboot"
}`, `Attribute "endpoint" cannot be specified when "lease_db" is specified`},
		{"malformed lease_db", `provider "netboot" {
  state_dir = "/nonexistent"
  lease_db  = "postgres://[::1"
}`, "Invalid lease_db"},
	} {
		cases = append(cases, planFailure{tc.name, tc.provider + "\ndata \"netboot_leases\" \"all\" {}\n", errorText(tc.want)})
	}
	expectPlanFailures(t, cases)
}

// A provider configuration known only at apply (here state_dir comes from
// another resource) still plans; the provider connects at apply.
func TestProvider_configKnownOnlyAtApply(t *testing.T) {
	lab := newFastLab(t)
	cfg := fmt.Sprintf(`
resource "terraform_data" "state_dir" {
  input = %q
}

provider "netboot" {
  state_dir = terraform_data.state_dir.output
  timeout   = 10
}

resource "netboot_ipv6_boot_server" "test" {
  name      = "acc"
  interface = %q
  prefix    = %q
%s
}
`, lab.StateDir, lab.ServerIf, lab.Prefix, statefulBody)
	tfresource.UnitTest(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		CheckDestroy:             lab.checkBootServerDestroyed(t),
		Steps: []tfresource.TestStep{{
			Config: cfg,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(testResource, tfjsonpath.New("link_local_address"), knownvalue.StringRegexp(regexp.MustCompile(`^fe80:`))),
			},
		}},
	})
}
