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
