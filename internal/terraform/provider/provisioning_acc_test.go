package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// provisioningMachine is one of the acceptance test's two machines: the
// client namespace plays it with its MAC address and leases its reserved
// address.
type provisioningMachine struct{ name, mac, address string }

var provisioningMachines = []provisioningMachine{
	{"web1", "52:54:00:ac:c0:01", "2001:db8:1::a1"},
	{"web2", "52:54:00:ac:c0:02", "2001:db8:1::a2"},
}

// provisioningConfig is a boot server, the two machines and one
// cloud-config for both, web1 greeting with greeting1.
func provisioningConfig(lab *accLab, greeting1 string) string {
	var b strings.Builder
	b.WriteString(bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, statefulBody))
	for _, m := range provisioningMachines {
		greeting := "hello from " + m.name
		if m.name == "web1" {
			greeting = greeting1
		}
		fmt.Fprintf(&b, `
resource "netboot_machine" %[1]q {
  name             = %[1]q
  macs             = [%[2]q]
  labels           = { role = "web" }
  metadata         = { greeting = %[4]q }
  reserved_address = %[3]q
}
`, m.name, m.mac, m.address, greeting)
	}
	b.WriteString(`
resource "netboot_config" "user_data" {
  name         = "user-data"
  kind         = "cloud-config"
  match_labels = { role = "web" }
  template     = "#cloud-config\nhostname: {{ .Hostname }}\nbootcmd:\n  - echo {{ toJSON .Metadata.greeting }}\n"
  depends_on   = [netboot_machine.web1, netboot_machine.web2]
}
`)
	return b.String()
}

// TestAccMachineAndConfig: against a real agent serving a namespace link,
// netboot_machine and netboot_config are created, updated in place,
// imported and show drift; each machine, from the address it leased, gets
// its own user-data over HTTP, and changing one machine's metadata
// re-renders its file while the other machine's file, token and resource
// stay as they were (the plan updates only the changed machine).
func TestAccMachineAndConfig(t *testing.T) {
	lab := newAccLab(t, "dhclient", "curl")
	tokens := map[string]string{}
	served := map[string]string{}
	token := func(name string) string {
		m, err := lab.conn(t).GetMachine(context.Background(), &netbootv1.GetMachineRequest{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		return m.GetConfigToken()
	}
	// fetch is the machine's user-data as it gets it: from its leased
	// address, with the token of its URL.
	fetch := func(m provisioningMachine) (string, error) {
		url := fmt.Sprintf("http://[%s]/netboot/config/%s/%s/user-data", lab.ServerAddr, m.name, token(m.name))
		return lab.Exec(context.Background(), lab.ClientNS, "curl", "-g", "-sS", "--fail", "--interface", m.address, url)
	}
	machine := func(name string) string { return "netboot_machine." + name }
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		CheckDestroy:             lab.checkMachinesDestroyed(t),
		Steps: []tfresource.TestStep{
			{
				Config: provisioningConfig(lab, "hello from web1"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(machine("web1"), tfjsonpath.New("metadata").AtMapKey("greeting"), knownvalue.StringExact("hello from web1")),
					statecheck.ExpectKnownValue("netboot_config.user_data", tfjsonpath.New("file"), knownvalue.StringExact("user-data")),
				},
				Check: func(*terraform.State) error {
					for _, m := range provisioningMachines {
						if got := lab.leaseAs(t, m.mac); got != m.address {
							return fmt.Errorf("%s leased %s, want its reserved %s", m.name, got, m.address)
						}
					}
					// The link went down with each MAC address change:
					// the leased addresses go on now, together, with the
					// prefix's on-link route (not left to the next RA).
					for _, m := range provisioningMachines {
						lab.MustExec(t, lab.ClientNS, "ip", "-6", "addr", "add", m.address+"/64", "dev", lab.ClientIf, "nodad")
					}
					for _, m := range provisioningMachines {
						body, err := fetch(m)
						want := fmt.Sprintf("#cloud-config\nhostname: %s\nbootcmd:\n  - echo \"hello from %s\"\n", m.name, m.name)
						if err != nil || body != want {
							return fmt.Errorf("%s's user-data: %v\n%s\nwant\n%s", m.name, err, body, want)
						}
						tokens[m.name], served[m.name] = token(m.name), body
					}
					return nil
				},
			},
			{
				// One machine's metadata changes: only it is updated, in
				// place; the boot server, the config and the other machine
				// are left alone.
				Config: provisioningConfig(lab, "changed for web1"),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(machine("web1"), plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction(machine("web2"), plancheck.ResourceActionNoop),
					plancheck.ExpectResourceAction("netboot_config.user_data", plancheck.ResourceActionNoop),
					plancheck.ExpectResourceAction(testResource, plancheck.ResourceActionNoop),
				}},
				Check: func(*terraform.State) error {
					for _, m := range provisioningMachines {
						if got := token(m.name); got != tokens[m.name] {
							return fmt.Errorf("%s's token changed: its URLs in boot entries would break", m.name)
						}
					}
					body, err := fetch(provisioningMachines[0])
					if want := "#cloud-config\nhostname: web1\nbootcmd:\n  - echo \"changed for web1\"\n"; err != nil || body != want {
						return fmt.Errorf("web1's user-data after its change: %v\n%s\nwant\n%s", err, body, want)
					}
					if body, err := fetch(provisioningMachines[1]); err != nil || body != served["web2"] {
						return fmt.Errorf("web2's user-data changed with web1's metadata: %v\n%s", err, body)
					}
					return nil
				},
			},
			{ResourceName: machine("web1"), ImportState: true, ImportStateId: "web1", ImportStateVerify: true},
			{ResourceName: "netboot_config.user_data", ImportState: true, ImportStateId: "user-data", ImportStateVerify: true},
			{
				// Drift: a machine's metadata changed on the agent.
				PreConfig: func() {
					lab.changeMachine(t, "web2", func(m *netbootv1.Machine) { m.Metadata["greeting"] = "changed behind Terraform's back" })
				},
				Config:             provisioningConfig(lab, "changed for web1"),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				// Applying puts it back, updating web2 alone.
				Config: provisioningConfig(lab, "changed for web1"),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(machine("web2"), plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction(machine("web1"), plancheck.ResourceActionNoop),
				}},
				Check: func(*terraform.State) error {
					if body, err := fetch(provisioningMachines[1]); err != nil || body != served["web2"] {
						return fmt.Errorf("web2's user-data after the drift was undone: %v\n%s", err, body)
					}
					return nil
				},
			},
			{
				// Drift: the config's template changed on the agent.
				PreConfig: func() {
					lab.changeMachineConfig(t, "user-data", func(c *netbootv1.MachineConfig) { c.Template = "#cloud-config\n" })
				},
				Config:             provisioningConfig(lab, "changed for web1"),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
		},
	})
}

var leasedAddrPattern = regexp.MustCompile(`iaaddr ([0-9a-f:]+) \{`)

// leaseAs runs dhclient as the machine with MAC address mac (its DUID-LL
// holds mac) and returns the address it leased.
func (l *accLab) leaseAs(t *testing.T, mac string) string {
	t.Helper()
	l.SetClientMAC(t, mac)
	lease := l.dhclient(t, "-D", "LL")
	m := leasedAddrPattern.FindStringSubmatch(lease)
	if m == nil {
		t.Fatalf("dhclient as %s leased no address:\n%s", mac, lease)
	}
	return m[1]
}
