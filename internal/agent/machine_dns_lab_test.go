package agent_test

import (
	"context"
	"strings"
	"testing"

	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// TestMachineDNS: with machine_dns, dig in the client namespace gets a
// machine's reserved address for its host name in the boot server's
// search domain, follows a change of the machine, and is refused other
// names; without it, the agent answers no DNS.
func TestMachineDNS(t *testing.T) {
	lab, _, conn, bs := provisioningLab(t, "dig")
	ctx := context.Background()
	prefix := strings.TrimSuffix(lab.Prefix, "/64")
	web1 := &netbootv1.Machine{Name: "web1", Macs: []string{"52:54:00:aa:bb:01"}, ReservedAddress: prefix + "77"}
	if _, err := conn.PutMachine(ctx, &netbootv1.PutMachineRequest{Machine: web1}); err != nil {
		t.Fatal(err)
	}
	dig := func(name string) string {
		t.Helper()
		out, _ := lab.Exec(ctx, lab.ClientNS, "dig", "+norecurse", "+time=1", "+tries=1", "AAAA", name, "@"+lab.ServerAddr)
		return out
	}
	if out := dig("web1.lab.example"); !strings.Contains(out, "no servers could be reached") && !strings.Contains(out, "timed out") {
		t.Fatalf("DNS answered with machine_dns off:\n%s", out)
	}

	bs.MachineDns = true
	if _, err := conn.PutBootServer(ctx, &netbootv1.PutBootServerRequest{BootServer: bs}); err != nil {
		t.Fatal(err)
	}
	answer := func(name string) string {
		t.Helper()
		out := dig(name)
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) == 5 && f[3] == "AAAA" && !strings.HasPrefix(line, ";") {
				return f[4]
			}
		}
		if strings.Contains(out, "status: REFUSED") {
			return "REFUSED"
		}
		t.Fatalf("dig %s:\n%s", name, out)
		return ""
	}
	if got := answer("web1.lab.example"); got != prefix+"77" {
		t.Errorf("web1.lab.example: %s, want %s77", got, prefix)
	}
	web1.Hostname, web1.ReservedAddress = "www", prefix+"78"
	if _, err := conn.PutMachine(ctx, &netbootv1.PutMachineRequest{Machine: web1}); err != nil {
		t.Fatal(err)
	}
	if got := answer("WWW.lab.example"); got != prefix+"78" {
		t.Errorf("www.lab.example after the change: %s, want %s78", got, prefix)
	}
	for _, name := range []string{"web1.lab.example", "example.com"} {
		if got := answer(name); got != "REFUSED" {
			t.Errorf("%s: %s, want REFUSED", name, got)
		}
	}
}

// TestMachineDNSFromLeases: dig AAAA and dig -x in the client namespace
// get a reserved machine's address and name, and those of a machine with
// no reservation once dhclient -6 (DUID-LL of the machine's MAC) holds a
// lease; when dhclient releases it, both records go.
func TestMachineDNSFromLeases(t *testing.T) {
	lab, _, conn, bs := provisioningLab(t, "dig", "dhclient")
	ctx := context.Background()
	bs.MachineDns = true
	if _, err := conn.PutBootServer(ctx, &netbootv1.PutBootServerRequest{BootServer: bs}); err != nil {
		t.Fatal(err)
	}
	prefix := strings.TrimSuffix(lab.Prefix, "/64")
	mac := strings.Fields(lab.MustExec(t, lab.ClientNS, "cat", "/sys/class/net/"+lab.ClientIf+"/address"))[0]
	for _, m := range []*netbootv1.Machine{
		{Name: "web1", Macs: []string{"52:54:00:aa:bb:01"}, ReservedAddress: prefix + "77"},
		{Name: "dyn", Hostname: "Dyn", Macs: []string{mac}},
	} {
		if _, err := conn.PutMachine(ctx, &netbootv1.PutMachineRequest{Machine: m}); err != nil {
			t.Fatal(err)
		}
	}
	// dig prints the answer's data, or the status when there is none.
	dig := func(args ...string) string {
		t.Helper()
		out, _ := lab.Exec(ctx, lab.ClientNS, append([]string{"dig", "+norecurse", "+time=2", "+tries=2", "@" + lab.ServerAddr}, args...)...)
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) == 5 && (f[3] == "AAAA" || f[3] == "PTR") && !strings.HasPrefix(line, ";") {
				return f[4]
			}
		}
		for _, status := range []string{"REFUSED", "NOERROR", "NXDOMAIN", "SERVFAIL"} {
			if strings.Contains(out, "status: "+status) {
				return status
			}
		}
		t.Fatalf("dig %v:\n%s", args, out)
		return ""
	}
	if got := dig("AAAA", "web1.lab.example"); got != prefix+"77" {
		t.Errorf("AAAA web1.lab.example: %s, want %s77", got, prefix)
	}
	if got := dig("-x", prefix+"77"); got != "web1.lab.example." {
		t.Errorf("PTR of %s77: %s, want web1.lab.example.", prefix, got)
	}
	if got := dig("AAAA", "dyn.lab.example"); got != "REFUSED" {
		t.Errorf("AAAA dyn.lab.example with no lease: %s, want REFUSED", got)
	}

	dir := t.TempDir()
	m := iaaddrPattern.FindStringSubmatch(dhclient(t, lab, dir, "-D", "LL"))
	if m == nil {
		t.Fatal("dhclient leased no address")
	}
	leased := m[1]
	if got := dig("AAAA", "dyn.lab.example"); got != leased {
		t.Errorf("AAAA dyn.lab.example: %s, want the leased %s", got, leased)
	}
	if got := dig("-x", leased); got != "dyn.lab.example." {
		t.Errorf("PTR of the leased %s: %s, want dyn.lab.example.", leased, got)
	}
	// Malformed and partial reverse names: refused, and the server still
	// answers afterwards.
	for _, name := range []string{"1.0.0.2.ip6.arpa", "x.0.1.0.0.2.ip6.arpa", "ip6.arpa"} {
		if got := dig("PTR", name); got != "REFUSED" {
			t.Errorf("PTR %s: %s, want REFUSED", name, got)
		}
	}

	dhclient(t, lab, dir, "-D", "LL", "-r")
	if got := dig("AAAA", "dyn.lab.example"); got != "REFUSED" {
		t.Errorf("AAAA dyn.lab.example after the release: %s, want REFUSED", got)
	}
	if got := dig("-x", leased); got != "REFUSED" {
		t.Errorf("PTR of %s after the release: %s, want REFUSED", leased, got)
	}
	if got := dig("-x", prefix+"77"); got != "web1.lab.example." {
		t.Errorf("PTR of %s77 at the end: %s, want web1.lab.example.", prefix, got)
	}
}
