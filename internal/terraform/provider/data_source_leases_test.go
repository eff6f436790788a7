package provider

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/store"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

func TestRFC3339(t *testing.T) {
	if got := rfc3339(1700000000); got != "2023-11-14T22:13:20Z" {
		t.Errorf("rfc3339(1700000000) = %q", got)
	}
}

// A real DHCPv6 client leases an address; the data source lists it.
func TestAccLeasesDataSource_basic(t *testing.T) {
	lab := newAccLab(t, "dhclient")
	server := bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, statefulBody)
	leases := server + `
data "netboot_leases" "test" {
  boot_server = netboot_ipv6_boot_server.test.name
}
`
	lease := tfjsonpath.New("leases").AtSliceIndex(0)
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		Steps: []tfresource.TestStep{
			{Config: server},
			{
				PreConfig: func() { lab.dhclient(t) },
				Config:    leases,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.netboot_leases.test", tfjsonpath.New("leases"), knownvalue.ListSizeExact(1)),
					statecheck.ExpectKnownValue("data.netboot_leases.test", lease.AtMapKey("boot_server"), knownvalue.StringExact("acc")),
					statecheck.ExpectKnownValue("data.netboot_leases.test", lease.AtMapKey("kind"), knownvalue.StringExact("na")),
					statecheck.ExpectKnownValue("data.netboot_leases.test", lease.AtMapKey("prefix_length"), knownvalue.Int64Exact(128)),
					statecheck.ExpectKnownValue("data.netboot_leases.test", lease.AtMapKey("address"),
						knownvalue.StringRegexp(regexp.MustCompile(`^2001:db8:1::1[0-9a-f]{3}$`))),
					statecheck.ExpectKnownValue("data.netboot_leases.test", lease.AtMapKey("client_duid"),
						knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f]{8,}$`))),
					statecheck.ExpectKnownValue("data.netboot_leases.test", lease.AtMapKey("valid_until"),
						knownvalue.StringRegexp(regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`))),
				},
			},
		},
	})
}

// dhclient -N -P leases an address and a delegated prefix; the data
// source lists both, each with its kind.
func TestAccLeasesDataSource_prefixDelegation(t *testing.T) {
	lab := newAccLab(t, "dhclient")
	server := bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, seedBody)
	leases := server + `
data "netboot_leases" "test" {
  boot_server = netboot_ipv6_boot_server.test.name
}
`
	list := tfjsonpath.New("leases")
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		Steps: []tfresource.TestStep{
			{Config: server},
			{
				PreConfig: func() { dhclientOnce(t, lab, "-N", "-P") },
				Config:    leases,
				ConfigStateChecks: []statecheck.StateCheck{
					// Sorted by address: the on-link address before the delegated prefix.
					statecheck.ExpectKnownValue("data.netboot_leases.test", list, knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectPartial(map[string]knownvalue.Check{
							"kind":          knownvalue.StringExact("na"),
							"address":       knownvalue.StringRegexp(regexp.MustCompile(`^2001:db8:1::1[0-9a-f]{3}$`)),
							"prefix_length": knownvalue.Int64Exact(128),
						}),
						knownvalue.ObjectPartial(map[string]knownvalue.Check{
							"kind":          knownvalue.StringExact("pd"),
							"address":       knownvalue.StringRegexp(regexp.MustCompile(`^2001:db8:1:1[01][0-9a-f]::$`)),
							"prefix_length": knownvalue.Int64Exact(64),
						}),
					})),
				},
			},
		},
	})
}

// dhclientOnce runs ISC dhclient -6 once with args (e.g. -P for a prefix)
// in the client namespace, as accLab.dhclient does for an address.
func dhclientOnce(t *testing.T, l *accLab, args ...string) {
	t.Helper()
	dhclientOnceOn(t, l, l.ClientNS, l.ClientIf, args...)
}

// dhclientOnceOn is dhclientOnce on interface ifname of namespace ns, such
// as a client's behind a relay.
func dhclientOnceOn(t *testing.T, l *accLab, ns, ifname string, args ...string) {
	t.Helper()
	dir := t.TempDir()
	lf, pf := filepath.Join(dir, "dhclient6.leases"), filepath.Join(dir, "dhclient6.pid")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := append(append([]string{"dhclient", "-6", "-1", "-v"}, args...), "-lf", lf, "-pf", pf, "-sf", "/bin/true", ifname)
	out, err := l.Exec(ctx, ns, cmd...)
	// dhclient forks into the background once bound: stop it by its pid file.
	if pid, perr := os.ReadFile(pf); perr == nil {
		if n, cerr := strconv.Atoi(strings.TrimSpace(string(pid))); cerr == nil {
			if p, ferr := os.FindProcess(n); ferr == nil {
				_ = p.Kill()
			}
		}
	}
	if err != nil {
		t.Fatalf("dhclient: %v\n%s", err, out)
	}
}

func TestLeasesDataSource_unknownBootServer(t *testing.T) {
	lab := newFastLab(t)
	tfresource.UnitTest(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		Steps: []tfresource.TestStep{{
			Config: lab.providerConfig() + `
data "netboot_leases" "test" {
  boot_server = "absent"
}
`,
			ExpectError: errorText(`No boot server "absent" exists on the agent`),
		}},
	})
}

// The agent returns more leases than one page holds (1,500 with long user
// classes: about 1.7 MiB); the data source reads every page.
func TestLeasesDataSource_readsEveryPage(t *testing.T) {
	const n = 1500
	leases := make([]lease.Lease, n)
	base := netip.MustParseAddr("2001:db8:1::1000").As16()
	for i := range leases {
		a := base
		a[14], a[15] = a[14]+byte(i>>8), byte(i)
		leases[i] = lease.Lease{Kind: lease.NA, Address: netip.AddrFrom16(a), DUID: []byte{0, 3, 0, 1, 2, 0, 0, 0, byte(i >> 8), byte(i)}, IAID: 1,
			PreferredUntil: time.Now().Add(time.Hour), ValidUntil: time.Now().Add(2 * time.Hour), UserClass: strings.Repeat("u", 1024)}
	}
	// The leases are in the state file before the agent starts.
	lab := newFastLab(t, seedLeases(t, leases))

	server := bootServerConfig(lab.providerConfig(), lab.ServerIf, lab.Prefix, statefulBody)
	tfresource.UnitTest(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		Steps: []tfresource.TestStep{
			{Config: server},
			{
				PreConfig: func() {
					first, err := lab.conn(t).ListLeases(context.Background(), &netbootv1.ListLeasesRequest{BootServer: "acc"})
					if err != nil || first.GetNextPageToken() == "" {
						t.Fatalf("first page: %d leases, next_page_token %q, %v; want more than one page", len(first.GetLeases()), first.GetNextPageToken(), err)
					}
				},
				Config: server + `
data "netboot_leases" "test" {
  boot_server = netboot_ipv6_boot_server.test.name
}
`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.netboot_leases.test", tfjsonpath.New("leases"), knownvalue.ListSizeExact(n)),
					statecheck.ExpectKnownValue("data.netboot_leases.test", tfjsonpath.New("leases").AtSliceIndex(n-1).AtMapKey("address"),
						knownvalue.StringExact(leases[n-1].Address.String())),
				},
			},
		},
	})
}

// seedLeases writes leases of boot server "acc" into the state file before
// the agent starts (newFastLab's seed).
func seedLeases(t *testing.T, leases []lease.Lease) func(stateDir string) {
	return func(stateDir string) {
		st, err := store.Open(stateDir)
		if err != nil {
			t.Fatal(err)
		}
		err = st.Leases("acc").PutLeases(leases, nil)
		if cerr := st.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}
