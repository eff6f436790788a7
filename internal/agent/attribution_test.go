package agent

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

func TestAttribute(t *testing.T) {
	machine := func(pb *netbootv1.Machine) config.Machine {
		t.Helper()
		m, err := config.MachineFromProto(pb)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	machines := map[string]config.Machine{
		"by-duid": machine(&netbootv1.Machine{Name: "by-duid", Duids: []string{"000200000009010203040506"}}),
		"by-mac": machine(&netbootv1.Machine{Name: "by-mac", Macs: []string{"52:54:00:aa:bb:01"},
			ReservedAddress: "2001:db8:1::77"}),
		"by-uuid": machine(&netbootv1.Machine{Name: "by-uuid", Uuids: []string{"4c4c4544-0042-3610-8058-b4c04f4b4d32"}}),
		"other":   machine(&netbootv1.Machine{Name: "other", Macs: []string{"52:54:00:aa:bb:02"}}),
	}
	addr := netip.MustParseAddr
	leases := map[netip.Addr]lease.Lease{
		// A DUID-EN of machine by-duid; its recorded MAC address is
		// other's (one host, two clients): the DUID decides.
		addr("2001:db8:1::1001"): {DUID: []byte{0, 2, 0, 0, 0, 9, 1, 2, 3, 4, 5, 6}, HardwareAddr: "52:54:00:aa:bb:02"},
		// DUID-LL of by-mac's MAC address, as dhclient -D LL sends it.
		addr("2001:db8:1::1002"): {DUID: []byte{0, 3, 0, 1, 0x52, 0x54, 0, 0xaa, 0xbb, 1}, HardwareAddr: "52:54:00:aa:bb:01", HardwareAddrSource: "duid"},
		// iPXE's DUID-UUID, MAC address unknown (a relay without option 79).
		addr("2001:db8:1::1003"): {DUID: append([]byte{0, 4}, 0x4c, 0x4c, 0x45, 0x44, 0, 0x42, 0x36, 0x10, 0x80, 0x58, 0xb4, 0xc0, 0x4f, 0x4b, 0x4d, 0x32)},
		// A client of no machine, on an address shaped like by-mac's
		// SLAAC address: the lease decides.
		addr("2001:db8:1::5054:ff:feaa:bb01"): {DUID: []byte{0, 2, 0, 0, 0, 9, 0xff}},
		// Leased to other, though it is by-mac's reserved address (the
		// reservation was made while other held it).
		addr("2001:db8:1::77"): {DUID: []byte{0, 3, 0, 1, 0x52, 0x54, 0, 0xaa, 0xbb, 2}, HardwareAddr: "52:54:00:aa:bb:02"},
	}
	leaseAt := func(a netip.Addr) (lease.Lease, bool) { l, ok := leases[a]; return l, ok }
	onLink := []netip.Prefix{netip.MustParsePrefix("2001:db8:1::/64"), netip.MustParsePrefix("2001:db8:5::/64")}
	for _, tc := range []struct {
		name, addr  string
		leaseAt     func(netip.Addr) (lease.Lease, bool)
		machine, by string
	}{
		{"lease by DUID", "2001:db8:1::1001", leaseAt, "by-duid", config.AttributedByLease},
		{"lease by MAC in DUID-LL", "2001:db8:1::1002", leaseAt, "by-mac", config.AttributedByLease},
		{"lease by DUID-UUID", "2001:db8:1::1003", leaseAt, "by-uuid", config.AttributedByLease},
		{"lease of no machine", "2001:db8:1::5054:ff:feaa:bb01", leaseAt, "", ""},
		{"other machine's lease on a reserved address", "2001:db8:1::77", leaseAt, "other", config.AttributedByLease},
		{"reservation, no lease", "2001:db8:1::77", nil, "by-mac", config.AttributedByReservation},
		{"SLAAC EUI-64 on the link", "2001:db8:1::5054:ff:feaa:bb02", leaseAt, "other", config.AttributedBySLAAC},
		{"SLAAC EUI-64 on a relayed link", "2001:db8:5::5054:ff:feaa:bb01", leaseAt, "by-mac", config.AttributedBySLAAC},
		{"link-local EUI-64 with a zone", "fe80::5054:ff:feaa:bb01%eth0", leaseAt, "by-mac", config.AttributedBySLAAC},
		{"EUI-64 under someone else's prefix", "2001:db8:99::5054:ff:feaa:bb01", leaseAt, "", ""},
		{"EUI-64 of no machine's MAC", "2001:db8:1::5054:ff:feaa:bb09", leaseAt, "", ""},
		{"unknown", "2001:db8:1::4242", leaseAt, "", ""},
		{"no address", "", leaseAt, "", ""},
	} {
		var a netip.Addr
		if tc.addr != "" {
			a = addr(tc.addr)
		}
		got := attribute(a, machines, tc.leaseAt, onLink)
		if got.Machine != tc.machine || got.By != tc.by || got.Address != a.WithZone("") {
			t.Errorf("%s: attribute(%s) = %+v, want machine %q by %q", tc.name, tc.addr, got, tc.machine, tc.by)
		}
	}
}

// BenchmarkAttribute: a request from the SLAAC address of the last of
// 1,000 machines, the longest path (no lease, no reservation).
func BenchmarkAttribute(b *testing.B) {
	machines := map[string]config.Machine{}
	for i := range 1000 {
		name := fmt.Sprintf("m%04d", i)
		machines[name] = config.Machine{Name: name, MACs: []string{fmt.Sprintf("52:54:00:00:%02x:%02x", i>>8, i&0xff)},
			ReservedAddress: netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 14: byte(i >> 8), 15: byte(i)})}
	}
	addr := netip.MustParseAddr("2001:db8:1::5054:ff:fe00:3e7")
	onLink := []netip.Prefix{netip.MustParsePrefix("2001:db8:1::/64")}
	none := func(netip.Addr) (lease.Lease, bool) { return lease.Lease{}, false }
	for b.Loop() {
		if r := attribute(addr, machines, none, onLink); r.Machine != "m0999" {
			b.Fatalf("got %+v", r)
		}
	}
}
