package provider

import (
	"context"
	"fmt"
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

const testMachine = "netboot_machine.test"

func machineConfig(providerConfig, body string) string {
	return fmt.Sprintf("%s\nresource \"netboot_machine\" \"test\" {\n%s\n}\n", providerConfig, body)
}

// The agent's validation runs at plan and names the attribute.
func TestMachine_invalidConfigFailsAtPlan(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, body, want string }{
		{"no identifier", `name = "web1"`, "a machine needs at least one identifier"},
		{"bad MAC", `
  name = "web1"
  macs = ["52:54:00:aa:bb"]`, `"52:54:00:aa:bb" must be a MAC address`},
		{"same MAC twice", `
  name = "web1"
  macs = ["52:54:00:aa:bb:01", "52-54-00-AA-BB-01"]`, "is listed twice"},
		{"bad DUID", `
  name  = "web1"
  duids = ["xyz"]`, "must be a DUID in hex"},
		{"placeholder UUID", `
  name  = "web1"
  uuids = ["00000000-0000-0000-0000-000000000000"]`, "is the placeholder firmware reports"},
		{"bad label key", `
  name   = "web1"
  macs   = ["52:54:00:aa:bb:01"]
  labels = { "-x" = "y" }`, "a label key is"},
		{"bad metadata key", `
  name     = "web1"
  macs     = ["52:54:00:aa:bb:01"]
  metadata = { "1st" = "y" }`, "a metadata key is"},
		{"multicast reservation", `
  name             = "web1"
  macs             = ["52:54:00:aa:bb:01"]
  reserved_address = "ff02::1"`, "reserved_address"},
		{"bad label key in a menu's match", `
  name = "web1"
  macs = ["52:54:00:aa:bb:01"]
}

resource "netboot_boot_menu" "m" {
  name  = "m"
  items = [{ gap = true }]
  match = { labels = { "-x" = "y" } }`, "match.labels"},
		{"bad host name", `
  name     = "web1"
  macs     = ["52:54:00:aa:bb:01"]
  hostname = "web_1"`, "Invalid host name"},
		{"reserved prefix with host bits", `
  name            = "rtr1"
  macs            = ["52:54:00:aa:bb:01"]
  reserved_prefix = "2001:db8:100:1::/56"`, "has bits set beyond /56"},
		{"reserved prefix too long", `
  name            = "rtr1"
  macs            = ["52:54:00:aa:bb:01"]
  reserved_prefix = "2001:db8:100::/96"`, "must be /48 to /64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tfresource.UnitTest(t, tfresource.TestCase{
				ProtoV6ProviderFactories: testProviderFactories,
				Steps: []tfresource.TestStep{{
					Config:      machineConfig(noAgentProviderConfig(t), tc.body),
					PlanOnly:    true,
					ExpectError: errorText(tc.want),
				}},
			})
		})
	}
}

func (l *agentLab) checkMachinesDestroyed(t *testing.T) func(*terraform.State) error {
	return func(*terraform.State) error {
		list, err := l.conn(t).ListMachines(context.Background(), &netbootv1.ListMachinesRequest{})
		if err != nil {
			return err
		}
		if n := len(list.GetMachines()); n != 0 {
			return fmt.Errorf("%d machines still on the agent after destroy", n)
		}
		return nil
	}
}

// changeMachine changes the agent's machine name behind Terraform's back:
// the drift steps' change.
func (l *agentLab) changeMachine(t *testing.T, name string, change func(*netbootv1.Machine)) {
	t.Helper()
	conn := l.conn(t)
	m, err := conn.GetMachine(context.Background(), &netbootv1.GetMachineRequest{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	change(m)
	if _, err := conn.PutMachine(context.Background(), &netbootv1.PutMachineRequest{Machine: m}); err != nil {
		t.Fatal(err)
	}
}

func TestMachine_basic(t *testing.T) {
	lab := newFastLab(t)
	// Upper-case spellings stay as written: the agent's normal form is
	// the same value.
	first := `
  name             = "web1"
  macs             = ["52:54:00:AA:BB:01"]
  uuids            = ["4C4C4544004236108058B4C04F4B4D32"]
  hostname         = "web1"
  labels           = { role = "web" }
  metadata         = { ssh_user = "ops", networks = jsonencode([{ name = "eth0" }]) }
  reserved_address = "2001:DB8:1::10"
`
	second := `
  name             = "web1"
  macs             = ["52:54:00:AA:BB:01"]
  duids            = ["00:03:00:01:52:54:00:aa:bb:01"]
  hostname         = "web1.lab.example"
  labels           = { role = "db", rack = "r1" }
  metadata         = { ssh_user = "admin" }
  menu             = netboot_boot_menu.install.name
}

resource "netboot_boot_entry" "local" {
  name = "local"
  kind = "exit"
}

resource "netboot_boot_menu" "install" {
  name  = "install"
  items = [{ entry = netboot_boot_entry.local.name }]
`
	cfg := func(body string) string { return machineConfig(lab.providerConfig(), body) }
	tfresource.UnitTest(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		CheckDestroy:             lab.checkMachinesDestroyed(t),
		Steps: []tfresource.TestStep{
			{
				Config: cfg(first),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testMachine, tfjsonpath.New("id"), knownvalue.StringExact("web1")),
					statecheck.ExpectKnownValue(testMachine, tfjsonpath.New("macs").AtSliceIndex(0), knownvalue.StringExact("52:54:00:AA:BB:01")),
					statecheck.ExpectKnownValue(testMachine, tfjsonpath.New("duids"), knownvalue.Null()),
					statecheck.ExpectKnownValue(testMachine, tfjsonpath.New("menu"), knownvalue.Null()),
				},
				Check: func(*terraform.State) error {
					m, err := lab.conn(t).GetMachine(context.Background(), &netbootv1.GetMachineRequest{Name: "web1"})
					if err != nil {
						return err
					}
					if got := m.GetMacs(); len(got) != 1 || got[0] != "52:54:00:aa:bb:01" {
						return fmt.Errorf("the agent holds MACs %q, want the normal form", got)
					}
					if len(m.GetConfigToken()) != 32 {
						return fmt.Errorf("the agent made no config token: %q", m.GetConfigToken())
					}
					return nil
				},
			},
			{
				Config: cfg(second),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testMachine, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testMachine, tfjsonpath.New("labels").AtMapKey("rack"), knownvalue.StringExact("r1")),
					statecheck.ExpectKnownValue(testMachine, tfjsonpath.New("menu"), knownvalue.StringExact("install")),
					statecheck.ExpectKnownValue(testMachine, tfjsonpath.New("reserved_address"), knownvalue.Null()),
				},
			},
			{
				ResourceName:      testMachine,
				ImportState:       true,
				ImportStateId:     "web1",
				ImportStateVerify: true,
				// Import reads the agent's normal form.
				ImportStateVerifyIgnore: []string{"duids.0", "macs.0"},
			},
			{
				// Drift: labels changed behind Terraform's back.
				PreConfig: func() {
					lab.changeMachine(t, "web1", func(m *netbootv1.Machine) { m.Labels = map[string]string{"role": "other"} })
				},
				Config:             cfg(second),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				// A machine made outside Terraform has the MAC: refused,
				// naming it, and the agent keeps the menu a machine boots.
				PreConfig: func() {
					conn := lab.conn(t)
					if _, err := conn.DeleteMachine(context.Background(), &netbootv1.DeleteMachineRequest{Name: "web1"}); err != nil {
						t.Fatal(err)
					}
					if _, err := conn.PutMachine(context.Background(), &netbootv1.PutMachineRequest{Machine: &netbootv1.Machine{
						Name: "other", Macs: []string{"52:54:00:aa:bb:01"}, Menu: "install"}}); err != nil {
						t.Fatal(err)
					}
				},
				Config:      cfg(second),
				ExpectError: errorText(`52:54:00:aa:bb:01 already identifies machine "other"`),
			},
			{
				PreConfig: func() {
					if _, err := lab.conn(t).DeleteBootMenu(context.Background(), &netbootv1.DeleteBootMenuRequest{Name: "install"}); err == nil {
						t.Error("the agent deleted a menu a machine boots")
					}
					if _, err := lab.conn(t).DeleteMachine(context.Background(), &netbootv1.DeleteMachineRequest{Name: "other"}); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg(second),
			},
		},
	})
}

// A menu's match.labels selects machines by their labels, and a machine's
// menu comes before every match: what netboot_rendered_script shows for
// each host, as the agent would serve it.
func TestMachine_menusByLabelAndMachine(t *testing.T) {
	lab := newFastLab(t)
	server := bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, statefulBody)
	cfg := server + `
resource "netboot_boot_entry" "local" {
  name = "local"
  kind = "exit"
}

resource "netboot_boot_menu" "web" {
  name  = "web"
  items = [{ entry = netboot_boot_entry.local.name }]
  match = { labels = { role = "web" } }
}

resource "netboot_boot_menu" "pinned" {
  name  = "pinned"
  items = [{ entry = netboot_boot_entry.local.name }]
}

resource "netboot_machine" "web1" {
  name   = "web1"
  macs   = ["52:54:00:aa:bb:01"]
  labels = { role = "web" }
}

resource "netboot_machine" "web2" {
  name   = "web2"
  macs   = ["52:54:00:aa:bb:02"]
  labels = { role = "web" }
  menu   = netboot_boot_menu.pinned.name
}

data "netboot_rendered_script" "web1" {
  boot_server = netboot_ipv6_boot_server.test.name
  mac         = netboot_machine.web1.macs[0]
  platform    = "efi"
  depends_on  = [netboot_boot_menu.web]
}

data "netboot_rendered_script" "web2" {
  boot_server = netboot_ipv6_boot_server.test.name
  mac         = netboot_machine.web2.macs[0]
  platform    = "efi"
  depends_on  = [netboot_boot_menu.web]
}
`
	tfresource.UnitTest(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		Steps: []tfresource.TestStep{{
			Config: cfg,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.netboot_rendered_script.web1", tfjsonpath.New("reason"), knownvalue.StringExact(`menu "web" matches on labels (score 4)`)),
				statecheck.ExpectKnownValue("data.netboot_rendered_script.web2", tfjsonpath.New("reason"), knownvalue.StringExact(`machine "web2" boots menu "pinned"`)),
			},
		}},
	})
}

// machine_dns is off by default and changes in place.
func TestMachine_bootServerMachineDNS(t *testing.T) {
	lab := newFastLab(t)
	const server = "netboot_ipv6_boot_server.test"
	agentSays := func(want bool) func(*terraform.State) error {
		return func(*terraform.State) error {
			st, err := lab.conn(t).GetBootServer(context.Background(), &netbootv1.GetBootServerRequest{Name: "acc"})
			if err != nil {
				return err
			}
			if st.GetConfig().GetMachineDns() != want {
				return fmt.Errorf("the agent's machine_dns is %v, want %v", st.GetConfig().GetMachineDns(), want)
			}
			return nil
		}
	}
	tfresource.UnitTest(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		Steps: []tfresource.TestStep{
			{
				Config: bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, statefulBody),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(server, tfjsonpath.New("machine_dns"), knownvalue.Bool(false)),
				},
				Check: agentSays(false),
			},
			{
				Config: bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, statefulBody+"\n  machine_dns = true\n"),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(server, plancheck.ResourceActionUpdate),
				}},
				Check: agentSays(true),
			},
			{ResourceName: server, ImportState: true, ImportStateId: "acc", ImportStateVerify: true},
		},
	})
}

// reserved_prefix: kept as written, changes in place (inside the boot
// server's prefix_delegation, then outside it), imports, shows drift, and
// is refused where it would overlap the pool without being one of its
// prefixes, naming the boot server.
func TestMachine_reservedPrefix(t *testing.T) {
	lab := newFastLab(t)
	server := bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, seedBody)
	cfg := func(prefix string) string {
		return server + fmt.Sprintf(`
resource "netboot_machine" "test" {
  name            = "rtr1"
  macs            = ["52:54:00:aa:bb:01"]
  reserved_prefix = %q
  depends_on      = [netboot_ipv6_boot_server.test]
}
`, prefix)
	}
	agentHolds := func(want string) func(*terraform.State) error {
		return func(*terraform.State) error {
			m, err := lab.conn(t).GetMachine(context.Background(), &netbootv1.GetMachineRequest{Name: "rtr1"})
			if err != nil {
				return err
			}
			if m.GetReservedPrefix() != want {
				return fmt.Errorf("the agent holds reserved_prefix %q, want %q", m.GetReservedPrefix(), want)
			}
			return nil
		}
	}
	tfresource.UnitTest(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		CheckDestroy:             lab.checkMachinesDestroyed(t),
		Steps: []tfresource.TestStep{
			{
				Config: cfg("2001:DB8:1:104:0::/64"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testMachine, tfjsonpath.New("reserved_prefix"), knownvalue.StringExact("2001:DB8:1:104:0::/64")),
				},
				Check: agentHolds("2001:db8:1:104::/64"),
			},
			{
				Config: cfg("2001:db8:1:4200::/64"),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testMachine, plancheck.ResourceActionUpdate),
				}},
				Check: agentHolds("2001:db8:1:4200::/64"),
			},
			{ResourceName: testMachine, ImportState: true, ImportStateId: "rtr1", ImportStateVerify: true},
			{
				PreConfig: func() {
					conn := lab.conn(t)
					m, err := conn.GetMachine(context.Background(), &netbootv1.GetMachineRequest{Name: "rtr1"})
					if err != nil {
						t.Fatal(err)
					}
					m.ReservedPrefix = "2001:db8:1:4300::/64"
					if _, err := conn.PutMachine(context.Background(), &netbootv1.PutMachineRequest{Machine: m}); err != nil {
						t.Fatal(err)
					}
				},
				Config:             cfg("2001:db8:1:4200::/64"),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config:      cfg("2001:db8:1:100::/56"),
				ExpectError: errorText(`overlaps boot server "acc"'s prefix_delegation`),
			},
			{
				Config: cfg("2001:db8:1:4200::/64"),
				Check: func(st *terraform.State) error {
					if err := agentHolds("2001:db8:1:4200::/64")(st); err != nil {
						return err
					}
					// A boot server whose pool of /56s would cut into the
					// reserved /64 is refused, naming the machine.
					conn := lab.conn(t)
					bs, err := conn.GetBootServer(context.Background(), &netbootv1.GetBootServerRequest{Name: "acc"})
					if err != nil {
						return err
					}
					cfg := bs.GetConfig()
					cfg.Dhcpv6.PrefixDelegation = &netbootv1.PrefixDelegation{Start: "2001:db8:1:4200::", End: "2001:db8:1:4200::", Length: 56}
					_, err = conn.PutBootServer(context.Background(), &netbootv1.PutBootServerRequest{BootServer: cfg})
					if err == nil || !strings.Contains(err.Error(), `machine "rtr1"'s reserved_prefix 2001:db8:1:4200::/64 overlaps boot server "acc"'s prefix_delegation`) {
						return fmt.Errorf("PutBootServer with a pool overlapping rtr1's prefix: %v", err)
					}
					return nil
				},
			},
		},
	})
}
