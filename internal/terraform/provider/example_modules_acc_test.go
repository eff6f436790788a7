package provider

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/config"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"

	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// exampleModule is the absolute path of examples/modules/<name>: the test
// harness runs terraform in a directory of its own.
func exampleModule(t *testing.T, name string) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("../../../examples/modules", name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "variables.tf")); err != nil {
		t.Fatalf("example module %s: %v", name, err)
	}
	return dir
}

// Every example module that takes inputs, applied to a lab's agent with
// each input passed from a root variable as a whole value: objects
// (`ranges = [var.range]`, `dhcp_range = var.range`, `ipxe = var.ipxe`,
// `installer = var.installer`) as a reusable module's caller writes them.
// terraform validate checks each module with its variables unknown, so
// boot-site's `ranges = [var.dhcp_range]` reaches the provider as a list
// holding one unknown object: it must pass. The apply then shows the agent
// holds what the module describes, and destroy empties it.
func TestAccExampleModules_wholeObjectInputs(t *testing.T) {
	t.Run("install-site", func(t *testing.T) {
		lab := newAccLab(t)
		useBuiltProvider(t)
		files := t.TempDir()
		for _, f := range []string{"efi-vmlinuz", "efi-initrd.img", "bios-vmlinuz", "bios-initrd.img"} {
			if err := os.WriteFile(filepath.Join(files, f), []byte("test "+f), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		first, last := rangeIn(t, lab.Prefix, "1000"), rangeIn(t, lab.Prefix, "10ff")
		source := func(f string) config.Variable {
			return config.ObjectVariable(map[string]config.Variable{"source": config.StringVariable(filepath.Join(files, f))})
		}
		agentPath := func(p string) config.Variable {
			return config.ObjectVariable(map[string]config.Variable{"agent_path": config.StringVariable(p)})
		}
		vars := config.Variables{
			"site": config.ObjectVariable(map[string]config.Variable{
				"name": config.StringVariable("inst"), "interface": config.StringVariable(lab.ServerIf),
				"prefix": config.StringVariable(lab.Prefix),
			}),
			"range": config.ObjectVariable(map[string]config.Variable{
				"start": config.StringVariable(first), "end": config.StringVariable(last),
			}),
			"dns_servers": config.ListVariable(config.StringVariable(lab.ServerAddr)),
			"ipxe": config.ObjectVariable(map[string]config.Variable{
				"bios": agentPath("/usr/lib/ipxe/undionly.kpxe"), "efi": agentPath("/usr/lib/ipxe/ipxe.efi"),
			}),
			"installer": config.ObjectVariable(map[string]config.Variable{
				"efi": config.ObjectVariable(map[string]config.Variable{
					"kernel": source("efi-vmlinuz"), "initrd": source("efi-initrd.img"), "args": config.StringVariable("ip=dhcp6"),
				}),
				"pcbios": config.ObjectVariable(map[string]config.Variable{
					"kernel": source("bios-vmlinuz"), "initrd": source("bios-initrd.img"), "args": config.StringVariable("ip=dhcp6 console=ttyS0"),
				}),
			}),
		}
		hcl := fmt.Sprintf(`%s
%s
variable "site" {
  type = object({ name = string, interface = string, prefix = string })
}

variable "range" {
  type = object({ start = string, end = string })
}

variable "dns_servers" {
  type = list(string)
}

variable "ipxe" {
  type = object({
    bios = object({ agent_path = optional(string), source = optional(string), url = optional(string), sha256 = optional(string) })
    efi  = object({ agent_path = optional(string), source = optional(string), url = optional(string), sha256 = optional(string) })
  })
}

variable "installer" {
  type = object({
    efi = object({
      kernel = object({ agent_path = optional(string), source = optional(string), url = optional(string), sha256 = optional(string) })
      initrd = object({ agent_path = optional(string), source = optional(string), url = optional(string), sha256 = optional(string) })
      args   = string
    })
    pcbios = object({
      kernel = object({ agent_path = optional(string), source = optional(string), url = optional(string), sha256 = optional(string) })
      initrd = object({ agent_path = optional(string), source = optional(string), url = optional(string), sha256 = optional(string) })
      args   = string
    })
  })
}

module "site" {
  source = %q

  name        = var.site.name
  interface   = var.site.interface
  prefix      = var.site.prefix
  ranges      = [var.range]
  dns_servers = var.dns_servers
  ipxe        = var.ipxe
  installer   = var.installer
}

output "start_ipxe_url" {
  value = module.site.start_ipxe_url
}
`, requiredNetboot, lab.providerConfig(), exampleModule(t, "install-site"))
		terraformValidate(t, hcl)
		check := agentsCheck(func() error {
			return lab.checkModuleSite(t, "inst", []string{first, last},
				[]string{"inst-centos", "inst-local-hdd"}, []string{"inst", "inst-linux-install"}, 6)
		})
		tfresource.Test(t, tfresource.TestCase{
			Steps: []tfresource.TestStep{
				{
					ConfigFile: configFile(t, hcl), ConfigVariables: vars,
					ConfigStateChecks: []statecheck.StateCheck{
						statecheck.ExpectKnownOutputValue("start_ipxe_url", knownvalue.StringExact("http://["+lab.ServerAddr+"]/start.ipxe")),
						check,
					},
				},
				// The legacy state shim has no modules, so the harness's own
				// destroy after the last step fails: this step destroys.
				{ConfigFile: configFile(t, hcl), ConfigVariables: vars, Destroy: true},
			},
		})
		if !t.Failed() {
			if err := lab.checkEmpty(t); err != nil {
				t.Error(err)
			}
		}
	})

	t.Run("boot-site", func(t *testing.T) {
		lab := newAccLab(t)
		useBuiltProvider(t)
		start, end := rangeIn(t, lab.Prefix, "1000"), rangeIn(t, lab.Prefix, "1fff")
		vars := config.Variables{
			"site": config.ObjectVariable(map[string]config.Variable{
				"name": config.StringVariable("boot"), "interface": config.StringVariable(lab.ServerIf),
				"prefix": config.StringVariable(lab.Prefix),
			}),
			"range": config.ObjectVariable(map[string]config.Variable{
				"start": config.StringVariable(start), "end": config.StringVariable(end),
			}),
			"dns_servers": config.ListVariable(config.StringVariable(lab.ServerAddr)),
			"ipxe_script": config.StringVariable("echo booting\nexit"),
		}
		hcl := fmt.Sprintf(`%s
%s
variable "site" {
  type = object({ name = string, interface = string, prefix = string })
}

variable "range" {
  type = object({ start = string, end = string })
}

variable "dns_servers" {
  type = list(string)
}

variable "ipxe_script" {
  type = string
}

module "site" {
  source = %q

  name        = var.site.name
  interface   = var.site.interface
  prefix      = var.site.prefix
  dhcp_range  = var.range
  dns_servers = var.dns_servers
  ipxe_script = var.ipxe_script
}

output "boot_url_base" {
  value = module.site.boot_url_base
}
`, requiredNetboot, lab.providerConfig(), exampleModule(t, "boot-site"))
		terraformValidate(t, hcl)
		check := agentsCheck(func() error {
			return lab.checkModuleSite(t, "boot", []string{start, end}, []string{"boot-exit", "boot-script"}, []string{"boot"}, 0)
		})
		tfresource.Test(t, tfresource.TestCase{
			Steps: []tfresource.TestStep{
				{
					ConfigFile: configFile(t, hcl), ConfigVariables: vars,
					ConfigStateChecks: []statecheck.StateCheck{
						statecheck.ExpectKnownOutputValue("boot_url_base", knownvalue.StringExact("http://["+lab.ServerAddr+"]")),
						check,
					},
				},
				{ConfigFile: configFile(t, hcl), ConfigVariables: vars, Destroy: true},
			},
		})
		if !t.Failed() {
			if err := lab.checkEmpty(t); err != nil {
				t.Error(err)
			}
		}
	})
}

// configFile writes hcl to a file of its own: the harness runs terraform
// init, which installs the module, only for configurations given as files.
func configFile(t *testing.T, hcl string) config.TestStepConfigFunc {
	t.Helper()
	file := filepath.Join(t.TempDir(), "main.tf")
	if err := os.WriteFile(file, []byte(hcl), 0o600); err != nil {
		t.Fatal(err)
	}
	return config.StaticFile(file)
}

// terraformValidate runs terraform validate on hcl, which the harness never
// does. It is where every variable is unknown: a whole object passed on
// from one reaches the provider's validation unknown, as in a module
// nobody has called yet.
func terraformValidate(t *testing.T, hcl string) {
	t.Helper()
	tf, err := exec.LookPath("terraform")
	if err != nil {
		testlab.Unavailable(t, "needs the terraform CLI on PATH: %v", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(hcl), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"init", "-input=false", "-backend=false", "-no-color"}, {"validate", "-no-color"}} {
		cmd := exec.Command(tf, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("terraform %s: %v\n%s", args[0], err, out)
		}
	}
}

// requiredNetboot names the provider as the example modules do, so the
// root and the module use the same one.
const requiredNetboot = `terraform {
  required_providers {
    netboot = { source = "registry.terraform.io/netbootlab/netboot" }
  }
}
`

// rangeIn is the address of prefix (a /64 such as the lab's) whose last
// group is suffix.
func rangeIn(t *testing.T, prefix, suffix string) string {
	t.Helper()
	p := netip.MustParsePrefix(prefix)
	a, err := netip.ParseAddr(p.Addr().String() + suffix)
	if err != nil || !p.Contains(a) {
		t.Fatalf("no address ::%s in %s: %v", suffix, prefix, err)
	}
	return a.String()
}

// checkModuleSite checks that the agent holds what an example module
// made: boot server name serving the lab's interface with one DHCPv6 range
// (want), exactly the entries and menus named, and artifacts of that many.
func (l *accLab) checkModuleSite(t *testing.T, name string, wantRange, entries, menus []string, artifacts int) error {
	conn := l.conn(t)
	ctx := context.Background()
	bs, err := conn.GetBootServer(ctx, &netbootv1.GetBootServerRequest{Name: name})
	if err != nil {
		return err
	}
	if bs.GetConfig().GetInterface() != l.ServerIf || !bs.GetStatus().GetServing() {
		return fmt.Errorf("boot server %s on %q, serving %t (%s); want serving %s", name, bs.GetConfig().GetInterface(),
			bs.GetStatus().GetServing(), bs.GetStatus().GetError(), l.ServerIf)
	}
	ranges := bs.GetConfig().GetDhcpv6().GetRanges()
	if len(ranges) != 1 || ranges[0].GetStart() != wantRange[0] || ranges[0].GetEnd() != wantRange[1] {
		return fmt.Errorf("boot server %s leases from %v, want %v", name, ranges, wantRange)
	}
	var errs []error
	es, err := conn.ListBootEntries(ctx, &netbootv1.ListBootEntriesRequest{})
	if err != nil {
		return err
	}
	var got []string
	for _, e := range es.GetEntries() {
		got = append(got, e.GetName())
	}
	if slices.Sort(got); !slices.Equal(got, entries) {
		errs = append(errs, fmt.Errorf("boot entries %v, want %v", got, entries))
	}
	ms, err := conn.ListBootMenus(ctx, &netbootv1.ListBootMenusRequest{})
	if err != nil {
		return err
	}
	got = nil
	for _, m := range ms.GetMenus() {
		got = append(got, m.GetName())
	}
	if slices.Sort(got); !slices.Equal(got, menus) {
		errs = append(errs, fmt.Errorf("boot menus %v, want %v", got, menus))
	}
	as, err := conn.ListArtifacts(ctx, &netbootv1.ListArtifactsRequest{})
	if err != nil {
		return err
	}
	if len(as.GetArtifacts()) != artifacts {
		errs = append(errs, fmt.Errorf("%d artifacts, want %d: %v", len(as.GetArtifacts()), artifacts, as.GetArtifacts()))
	}
	return errors.Join(errs...)
}

// checkEmpty checks that destroy left the agent nothing.
func (l *accLab) checkEmpty(t *testing.T) error {
	conn := l.conn(t)
	ctx := context.Background()
	servers, err := conn.ListBootServers(ctx, &netbootv1.ListBootServersRequest{})
	if err != nil {
		return err
	}
	menus, err := conn.ListBootMenus(ctx, &netbootv1.ListBootMenusRequest{})
	if err != nil {
		return err
	}
	entries, err := conn.ListBootEntries(ctx, &netbootv1.ListBootEntriesRequest{})
	if err != nil {
		return err
	}
	arts, err := conn.ListArtifacts(ctx, &netbootv1.ListArtifactsRequest{})
	if err != nil {
		return err
	}
	if n, m, e, a := len(servers.GetBootServers()), len(menus.GetMenus()), len(entries.GetEntries()), len(arts.GetArtifacts()); n+m+e+a > 0 {
		return fmt.Errorf("after destroy the agent still has %d boot servers, %d menus, %d entries and %d artifacts", n, m, e, a)
	}
	return nil
}
