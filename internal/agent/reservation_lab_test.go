package agent_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// TestDHCPv6GivesMachinesTheirReservedAddresses: ISC dhclient -6 gets the
// address reserved for its machine, by the MAC address in its DUID-LL and
// by a DUID (DUID-EN, which holds no MAC), outside the boot server's
// ranges; a client of no machine gets a range address, never a reserved
// one.
func TestDHCPv6GivesMachinesTheirReservedAddresses(t *testing.T) {
	testlab.RequireRoot(t, "dhclient")
	lab := testlab.New(t)
	stateDir := t.TempDir()
	lab.StartAgent(t, stateDir)
	conn := connect(t, stateDir)
	ctx := context.Background()
	if _, err := conn.PutBootServer(ctx, &netbootv1.PutBootServerRequest{BootServer: labBootServer(lab, "stateful")}); err != nil {
		t.Fatal(err)
	}
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
		dir := t.TempDir()
		if duid != "" {
			// dhclient takes its DUID from the lease file, octal-escaped.
			var esc strings.Builder
			for i := 0; i+1 < len(duid); i += 2 {
				var b byte
				fmt.Sscanf(duid[i:i+2], "%02x", &b)
				fmt.Fprintf(&esc, "\\%03o", b)
			}
			if err := os.WriteFile(filepath.Join(dir, "dhclient6.leases"), []byte("default-duid \""+esc.String()+"\";\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		out := dhclient(t, lab, dir, extra...)
		m := iaaddrPattern.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("dhclient leased no address:\n%s", out)
		}
		return m[1]
	}
	t.Run("by MAC in DUID-LL", func(t *testing.T) {
		if got := leased(t, "", "-D", "LL"); got != byMAC {
			t.Errorf("leased %s, want %s reserved for machine by-mac", got, byMAC)
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
