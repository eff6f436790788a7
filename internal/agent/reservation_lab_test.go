package agent_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// TestDHCPv6GivesMachinesTheirReservedAddresses: ISC dhclient -6 gets the
// address reserved for its machine, by the MAC address in its DUID-LL and
// by a DUID (DUID-EN, which holds no MAC), outside the boot server's
// ranges; a client of no machine gets a range address, never a reserved
// one. From its leased address, the machine fetches its own user-data
// with curl; the other machine's URL is refused.
func TestDHCPv6GivesMachinesTheirReservedAddresses(t *testing.T) {
	lab, _, conn, _ := provisioningLab(t, "dhclient", "curl")
	ctx := context.Background()
	prefix := netip.MustParsePrefix(lab.Prefix)
	at := func(suffix string) string {
		a := prefix.Addr().As16()
		s := netip.MustParseAddr(suffix).As16()
		for i := 8; i < 16; i++ {
			a[i] = s[i]
		}
		return netip.AddrFrom16(a).String()
	}
	byMAC, byDUID := at("::77"), at("::78")
	mac := strings.Fields(lab.MustExec(t, lab.ClientNS, "cat", "/sys/class/net/"+lab.ClientIf+"/address"))[0]
	const reservedDUID = "000200000009010203040506" // DUID-EN: enterprise 9, identifier 010203040506
	for _, m := range []*netbootv1.Machine{
		{Name: "by-mac", Macs: []string{mac}, ReservedAddress: byMAC},
		{Name: "by-duid", Duids: []string{reservedDUID}, ReservedAddress: byDUID},
	} {
		if _, err := conn.PutMachine(ctx, &netbootv1.PutMachineRequest{Machine: m}); err != nil {
			t.Fatal(err)
		}
	}
	leased := func(t *testing.T, duid string, extra ...string) string {
		t.Helper()
		return leaseFor(t, lab, duid, extra...)
	}
	if _, err := conn.PutMachineConfig(ctx, &netbootv1.PutMachineConfigRequest{Config: &netbootv1.MachineConfig{
		Name: "user-data", Kind: "cloud-config", Template: "#cloud-config\nhostname: {{ .Name }}\naddress: {{ .Address }}\n"}}); err != nil {
		t.Fatal(err)
	}
	t.Run("by MAC in DUID-LL", func(t *testing.T) {
		got := leased(t, "", "-D", "LL")
		if got != byMAC {
			t.Fatalf("leased %s, want %s reserved for machine by-mac", got, byMAC)
		}
		// The machine uses its lease (dhclient's script here only records
		// it) and fetches its user-data from that address.
		lab.MustExec(t, lab.ClientNS, "ip", "-6", "addr", "add", got+"/128", "dev", lab.ClientIf, "nodad")
		url := func(machine string) string {
			m, err := conn.GetMachine(ctx, &netbootv1.GetMachineRequest{Name: machine})
			if err != nil {
				t.Fatal(err)
			}
			return "http://[" + lab.ServerAddr + "]/netboot/config/" + machine + "/" + m.GetConfigToken() + "/user-data"
		}
		own := url("by-mac")
		body := lab.MustExec(t, lab.ClientNS, "curl", "-g", "-sS", "--fail", "--interface", got, own)
		if body != "#cloud-config\nhostname: by-mac\naddress: "+byMAC+"\n" {
			t.Errorf("by-mac's user-data from %s:\n%s", got, body)
		}
		// by-duid's file with by-mac's own token: refused.
		neighbour := strings.Replace(own, "/by-mac/", "/by-duid/", 1)
		if code := lab.MustExec(t, lab.ClientNS, "curl", "-g", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--interface", got, neighbour); code != "403" {
			t.Errorf("by-duid's user-data with by-mac's token from %s: %s, want 403", got, code)
		}
	})
	t.Run("by DUID", func(t *testing.T) {
		if got := leased(t, reservedDUID); got != byDUID {
			t.Errorf("leased %s, want %s reserved for machine by-duid", got, byDUID)
		}
	})
	// Without the MAC reservation, a client of another DUID on the same
	// link is no machine: it gets a range address.
	if _, err := conn.DeleteMachine(ctx, &netbootv1.DeleteMachineRequest{Name: "by-mac"}); err != nil {
		t.Fatal(err)
	}
	t.Run("no machine", func(t *testing.T) {
		got := leased(t, "000200000009aabbccddeeff")
		if got == byMAC || got == byDUID {
			t.Errorf("a client of no machine leased reserved address %s", got)
		}
		if a := netip.MustParseAddr(got); a.Less(netip.MustParseAddr(at("::1000"))) || netip.MustParseAddr(at("::1fff")).Less(a) {
			t.Errorf("leased %s, outside the range", got)
		}
	})
}
