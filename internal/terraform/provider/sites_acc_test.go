package provider

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/config"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"google.golang.org/protobuf/proto"

	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// examples/two-sites applied as written to two sites, each a remote agent in
// its own network namespace reached over mutual TLS through a provider
// alias: each agent gets its own site's boot server, menu and entries; a
// read-only certificate sees drift but cannot undo it; a CA that did not
// issue the agent's certificate is named as the cause; an admin certificate
// undoes the drift, and destroy empties both agents.
func TestAccTwoSites_mutualTLS(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 (and run as root) to run it")
	}
	testlab.RequireRoot(t)
	useBuiltProvider(t)
	example := twoSitesExample(t)

	p := newLabPKI(t)
	p.certs(t, "client", "--name", "terraform")
	p.certs(t, "client", "--name", "viewer", "--read-only")
	otherCA := newLabPKI(t)
	// The example's prefixes are 2001:db8:a::/64 and 2001:db8:b::/64.
	siteA := newRemoteSite(t, p, "site-a", "2001:db8:a::1")
	siteB := newRemoteSite(t, p, "site-b", "2001:db8:b::1")

	variables := func(siteBCA, siteBClient string) config.Variables {
		return config.Variables{
			"site_a":           siteA.agentVariable(p.CACert(), "terraform"),
			"site_b":           siteB.agentVariable(siteBCA, siteBClient),
			"site_a_interface": config.StringVariable(siteA.ServerIf),
			"site_b_interface": config.StringVariable(siteB.ServerIf),
		}
	}
	admin := variables(p.CACert(), "terraform")
	linkLocal := knownvalue.StringRegexp(regexp.MustCompile(`^fe80:`))
	outputs := []statecheck.StateCheck{
		statecheck.ExpectKnownOutputValue("boot_url_base", knownvalue.ObjectExact(map[string]knownvalue.Check{
			"site_a": knownvalue.StringExact("http://[2001:db8:a::1]"),
			"site_b": knownvalue.StringExact("http://[2001:db8:b::1]"),
		})),
		statecheck.ExpectKnownOutputValue("link_local_address", knownvalue.ObjectExact(map[string]knownvalue.Check{
			"site_a": linkLocal,
			"site_b": linkLocal,
		})),
	}
	const drifted = "2001:db8:b::54"
	// terraform-plugin-testing's legacy state shim has no modules, and every
	// feature built on it fails with "Modules are not supported": Check,
	// CheckDestroy, import steps and the destroy after the last step. So the
	// agents are checked by a state check, and the last step destroys.
	applied := append(slices.Clone(outputs), agentsCheck(func() error {
		return errors.Join(checkSite(t, siteA, "2001:db8:a::53"), checkSite(t, siteB, "2001:db8:b::53", "site-b-script"))
	}))

	tfresource.Test(t, tfresource.TestCase{
		Steps: []tfresource.TestStep{
			{
				ConfigFile:        config.StaticFile(example),
				ConfigVariables:   admin,
				ConfigStateChecks: applied,
			},
			{
				// Site B's DNS server is changed behind Terraform's back. A
				// read-only certificate refreshes and plans the repair, but
				// the agent refuses to apply it.
				PreConfig: func() {
					setBootServerDNS(t, siteB, drifted)
				},
				ConfigFile:      config.StaticFile(example),
				ConfigVariables: variables(p.CACert(), "viewer"),
				ExpectError: errorTexts("The agent refuses this boot server", `certificate "viewer" is read-only`,
					"PutBootServer"),
			},
			{
				// The agent kept the drift. Site B's ca_cert is a CA that
				// did not issue the agent's certificate: the provider's
				// diagnosis says so.
				PreConfig: func() {
					if err := checkSite(t, siteB, drifted, "site-b-script"); err != nil {
						t.Fatalf("after the read-only apply: %v", err)
					}
				},
				ConfigFile:      config.StaticFile(example),
				ConfigVariables: variables(otherCA.CACert(), "terraform"),
				ExpectError:     errorTexts("Cannot reach the netboot agent", siteB.Endpoint, "unknown certificate authority"),
			},
			{
				// The admin certificate undoes the drift.
				ConfigFile:        config.StaticFile(example),
				ConfigVariables:   admin,
				ConfigStateChecks: applied,
			},
			{
				ConfigFile:      config.StaticFile(example),
				ConfigVariables: admin,
				Destroy:         true,
			},
		},
	})
	if t.Failed() {
		return
	}
	if err := errors.Join(checkSiteEmpty(t, siteA), checkSiteEmpty(t, siteB)); err != nil {
		t.Error(err)
	}
}

// agentsCheck is a state check that looks at the agents rather than the
// state.
type agentsCheck func() error

func (c agentsCheck) CheckState(_ context.Context, _ statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	resp.Error = c()
}

// setBootServerDNS changes the DHCPv6 DNS servers of the site's boot server
// over gRPC, as an operator with an admin certificate might.
func setBootServerDNS(t *testing.T, s *remoteSite, dns string) {
	t.Helper()
	conn := s.conn(t, "terraform")
	ctx := context.Background()
	st, err := conn.GetBootServer(ctx, &netbootv1.GetBootServerRequest{Name: s.Name})
	if err != nil {
		t.Fatal(err)
	}
	bs := proto.Clone(st.GetConfig()).(*netbootv1.BootServer)
	bs.GetDhcpv6().DnsServers = []string{dns}
	if _, err := conn.PutBootServer(ctx, &netbootv1.PutBootServerRequest{BootServer: bs}); err != nil {
		t.Fatal(err)
	}
}

// checkSite checks over gRPC, with the read-only certificate, that the
// site's agent holds exactly the boot-site module's objects for this site
// (its boot server serving on the lab's interface with the DNS server
// given, its default menu, the exit entry and extraEntries) and nothing of
// the other site.
func checkSite(t *testing.T, s *remoteSite, dns string, extraEntries ...string) error {
	conn := s.conn(t, "viewer")
	ctx := context.Background()
	servers, err := conn.ListBootServers(ctx, &netbootv1.ListBootServersRequest{})
	if err != nil {
		return err
	}
	if n := len(servers.GetBootServers()); n != 1 {
		return fmt.Errorf("%s: agent has %d boot servers, want 1: %v", s.Name, n, servers.GetBootServers())
	}
	bs := servers.GetBootServers()[0]
	if got := bs.GetConfig().GetName(); got != s.Name {
		return fmt.Errorf("%s: agent has boot server %q", s.Name, got)
	}
	if got := bs.GetConfig().GetInterface(); got != s.ServerIf {
		return fmt.Errorf("%s: boot server on interface %q, want %q", s.Name, got, s.ServerIf)
	}
	if !bs.GetStatus().GetServing() {
		return fmt.Errorf("%s: boot server not serving: %s", s.Name, bs.GetStatus().GetError())
	}
	if got := bs.GetConfig().GetDhcpv6().GetDnsServers(); !slices.Equal(got, []string{dns}) {
		return fmt.Errorf("%s: DHCPv6 DNS servers %v, want [%s]", s.Name, got, dns)
	}

	menus, err := conn.ListBootMenus(ctx, &netbootv1.ListBootMenusRequest{})
	if err != nil {
		return err
	}
	if n := len(menus.GetMenus()); n != 1 {
		return fmt.Errorf("%s: agent has %d boot menus, want 1", s.Name, n)
	}
	m := menus.GetMenus()[0]
	if m.GetName() != s.Name || !m.GetIsDefault() || !slices.Equal(m.GetBootServers(), []string{s.Name}) {
		return fmt.Errorf("%s: menu %q (default %t) offered on %v, want the default menu %q of boot server %q",
			s.Name, m.GetName(), m.GetIsDefault(), m.GetBootServers(), s.Name, s.Name)
	}

	entries, err := conn.ListBootEntries(ctx, &netbootv1.ListBootEntriesRequest{})
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries.GetEntries() {
		names = append(names, e.GetName())
	}
	want := append([]string{s.Name + "-exit"}, extraEntries...)
	slices.Sort(names)
	slices.Sort(want)
	if !slices.Equal(names, want) {
		return fmt.Errorf("%s: agent has boot entries %v, want %v", s.Name, names, want)
	}
	return nil
}

// checkSiteEmpty checks that destroy removed everything from the site's agent.
func checkSiteEmpty(t *testing.T, s *remoteSite) error {
	conn := s.conn(t, "viewer")
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
	if n, m, e := len(servers.GetBootServers()), len(menus.GetMenus()), len(entries.GetEntries()); n+m+e > 0 {
		return fmt.Errorf("%s: after destroy the agent still has %d boot servers, %d menus and %d entries", s.Name, n, m, e)
	}
	return nil
}
