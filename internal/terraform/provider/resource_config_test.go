package provider

import (
	"context"
	"fmt"
	"testing"

	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

const testConfig = "netboot_config.test"

func configConfig(providerConfig, body string) string {
	return fmt.Sprintf("%s\nresource \"netboot_config\" \"test\" {\n%s\n}\n", providerConfig, body)
}

// Syntax and misspelt fields fail at plan without an agent, naming the
// attribute.
func TestConfig_invalidConfigFailsAtPlan(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, body, want string }{
		{"unknown kind", `
  name     = "ud"
  kind     = "yaml"
  template = "x"`, `value must be one of`},
		{"template syntax", `
  name     = "ud"
  kind     = "cloud-config"
  template = "#cloud-config\nhostname: {{ .Hostname"`, "template is not a valid Go template"},
		{"unknown field", `
  name     = "ud"
  kind     = "cloud-config"
  template = "#cloud-config\nhostname: {{ .Host }}"`, "can't evaluate field Host"},
		{"text needs a file", `
  name     = "motd"
  kind     = "text"
  template = "hello"`, `must be set for kind "text"`},
		{"bad selector", `
  name         = "ud"
  kind         = "cloud-config"
  template     = "#cloud-config\n"
  match_labels = { "-x" = "y" }`, "a label key is"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tfresource.UnitTest(t, tfresource.TestCase{
				ProtoV6ProviderFactories: testProviderFactories,
				Steps: []tfresource.TestStep{{
					Config:      configConfig(noAgentProviderConfig(t), tc.body),
					PlanOnly:    true,
					ExpectError: errorText(tc.want),
				}},
			})
		})
	}
}

// changeMachineConfig changes the agent's config name behind Terraform's
// back: the drift steps' change.
func (l *agentLab) changeMachineConfig(t *testing.T, name string, change func(*netbootv1.MachineConfig)) {
	t.Helper()
	conn := l.conn(t)
	c, err := conn.GetMachineConfig(context.Background(), &netbootv1.GetMachineConfigRequest{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	change(c)
	if _, err := conn.PutMachineConfig(context.Background(), &netbootv1.PutMachineConfigRequest{Config: c}); err != nil {
		t.Fatal(err)
	}
}

func TestConfig_basic(t *testing.T) {
	lab := newFastLab(t)
	machines := `
resource "netboot_machine" "web1" {
  name     = "web1"
  macs     = ["52:54:00:aa:bb:01"]
  labels   = { role = "web" }
  metadata = { ssh_user = "ops" }
}
`
	first := machines + `
resource "netboot_config" "test" {
  name             = "user-data"
  kind             = "cloud-config"
  match_labels     = { role = "web" }
  template         = "#cloud-config\nhostname: {{ .Hostname }}\nuser: {{ .Metadata.ssh_user }}\npassword: {{ toJSON .Sensitive.hash }}\n"
  sensitive_values = { hash = "$6$salt$hash" }
}
`
	second := machines + `
resource "netboot_config" "test" {
  name             = "user-data"
  kind             = "cloud-config"
  machines         = [netboot_machine.web1.name]
  template         = "#cloud-config\nhostname: {{ .Hostname }}\n"
}
`
	// A machine made outside Terraform lacks the metadata key: the plan
	// fails, naming it.
	broken := machines + `
resource "netboot_config" "test" {
  name         = "user-data"
  kind         = "cloud-config"
  match_labels = { role = "web" }
  template     = "#cloud-config\nuser: {{ .Metadata.ssh_user }}\n"
}
`
	cfg := func(body string) string { return lab.providerConfig() + body }
	tfresource.UnitTest(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		CheckDestroy:             lab.checkMachinesDestroyed(t),
		Steps: []tfresource.TestStep{
			{
				Config: cfg(first),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testConfig, tfjsonpath.New("file"), knownvalue.StringExact("user-data")),
					statecheck.ExpectKnownValue(testConfig, tfjsonpath.New("sensitive_values").AtMapKey("hash"), knownvalue.StringExact("$6$salt$hash")),
				},
			},
			{
				Config: cfg(second),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testConfig, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testConfig, tfjsonpath.New("machines"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("web1")})),
					statecheck.ExpectKnownValue(testConfig, tfjsonpath.New("sensitive_values"), knownvalue.Null()),
				},
			},
			{
				ResourceName:      testConfig,
				ImportState:       true,
				ImportStateId:     "user-data",
				ImportStateVerify: true,
			},
			{
				// Drift: the template changed behind Terraform's back.
				PreConfig: func() {
					lab.changeMachineConfig(t, "user-data", func(c *netbootv1.MachineConfig) { c.Template = "#cloud-config\n" })
				},
				Config:             cfg(second),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				PreConfig: func() {
					_, err := lab.conn(t).PutMachine(context.Background(), &netbootv1.PutMachineRequest{Machine: &netbootv1.Machine{
						Name: "web2", Macs: []string{"52:54:00:aa:bb:02"}, Labels: map[string]string{"role": "web"}}})
					if err != nil {
						t.Fatal(err)
					}
				},
				Config:   cfg(broken),
				PlanOnly: true,
				ExpectError: errorTexts(`Template fails for a machine`, `rendering for machine "web2"`, `map has no entry for key "ssh_user"`,
					`apply the machine first`),
			},
			{
				// The agent refuses the same at apply, and a machine a
				// config fails for.
				PreConfig: func() {
					conn := lab.conn(t)
					_, err := conn.PutMachineConfig(context.Background(), &netbootv1.PutMachineConfigRequest{Config: &netbootv1.MachineConfig{
						Name: "all", Kind: "text", File: "motd", Template: "{{ .Metadata.ssh_user }}"}})
					if err == nil {
						t.Error("the agent took a config that fails for web2")
					}
					_, err = conn.PutMachineConfig(context.Background(), &netbootv1.PutMachineConfigRequest{Config: &netbootv1.MachineConfig{
						Name: "all", Kind: "text", File: "motd", Template: "{{ .Metadata.ssh_user }}", Machines: []string{"web1"}}})
					if err != nil {
						t.Fatal(err)
					}
					_, err = conn.PutMachine(context.Background(), &netbootv1.PutMachineRequest{Machine: &netbootv1.Machine{
						Name: "web1", Macs: []string{"52:54:00:aa:bb:01"}}})
					if err == nil {
						t.Error("the agent took a machine config \"all\" fails for")
					}
					for _, del := range []func() error{
						func() error {
							_, err := conn.DeleteMachineConfig(context.Background(), &netbootv1.DeleteMachineConfigRequest{Name: "all"})
							return err
						},
						func() error {
							_, err := conn.DeleteMachine(context.Background(), &netbootv1.DeleteMachineRequest{Name: "web2"})
							return err
						},
					} {
						if err := del(); err != nil {
							t.Fatal(err)
						}
					}
				},
				Config: cfg(second),
				Check: func(*terraform.State) error {
					_, err := lab.conn(t).GetMachineConfig(context.Background(), &netbootv1.GetMachineConfigRequest{Name: "user-data"})
					return err
				},
			},
		},
	})
}
