package agent

import (
	"encoding/hex"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"testing"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/serve/dnsserve"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
)

// leaseTable holds leases as the DHCPv6 server would show them.
type leaseTable []lease.Lease

func (f leaseTable) ClientLeases(duids [][]byte, macs []string) []lease.Lease {
	var out []lease.Lease
	for _, l := range f {
		if slices.ContainsFunc(duids, func(d []byte) bool { return string(d) == string(l.DUID) }) || slices.Contains(macs, l.HardwareAddr) {
			out = append(out, l)
		}
	}
	return out
}

func (f leaseTable) LeasedAddress(a netip.Addr) (lease.Lease, bool) {
	for _, l := range f {
		if l.Prefix().Contains(a) {
			return l, true
		}
	}
	return lease.Lease{}, false
}

// Machines are named by their leases: by DUID, or by a MAC from any
// source; temporary addresses and delegated prefixes get no records, a
// reserved machine's name stays its reservation's, and clients of no
// machine stay nameless.
func TestLeaseNames(t *testing.T) {
	bs := config.BootServer{Prefix: netip.MustParsePrefix("2001:db8:1::/64")}
	bs.DHCPv6.DomainSearch = []string{"lab.example"}
	machines := map[string]config.Machine{
		"by-duid": {Name: "by-duid", DUIDs: []string{"000200000009010203040506"}},
		"by-mac":  {Name: "by-mac", Hostname: "Web.Other.Example", MACs: []string{"52:54:00:00:00:02"}},
		"fixed":   {Name: "fixed", MACs: []string{"52:54:00:00:00:03"}, ReservedAddress: netip.MustParseAddr("2001:db8:1::77")},
		"idle":    {Name: "idle", MACs: []string{"52:54:00:00:00:04"}},
	}
	duid, _ := hex.DecodeString("000200000009010203040506")
	leases := leaseTable{
		{Kind: lease.NA, Address: netip.MustParseAddr("2001:db8:1::1001"), DUID: duid},
		{Kind: lease.TA, Address: netip.MustParseAddr("2001:db8:1::2001"), DUID: duid},
		{Kind: lease.NA, Address: netip.MustParseAddr("2001:db8:1::1002"), DUID: []byte{0, 3, 0, 1, 0x52, 0x54, 0, 0, 0, 2}, HardwareAddr: "52:54:00:00:00:02", HardwareAddrSource: "duid"},
		{Kind: lease.NA, Address: netip.MustParseAddr("2001:db8:1::1003"), DUID: []byte{0, 4, 1, 2, 3}, HardwareAddr: "52:54:00:00:00:02", HardwareAddrSource: "link-local"},
		{Kind: lease.PD, Address: netip.MustParseAddr("2001:db8:9::"), PrefixLength: 56, DUID: []byte{0, 4, 1, 2, 3}, HardwareAddr: "52:54:00:00:00:02"},
		{Kind: lease.NA, Address: netip.MustParseAddr("2001:db8:1::1004"), DUID: []byte{0, 4, 9}, HardwareAddr: "52:54:00:00:00:09"},
	}
	cfg := dnsserve.Config{Records: map[string][]netip.Addr{}}
	addMachineNames(&cfg, bs, machines, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if cfg.Dynamic != nil {
		t.Fatal("names from leases without a DHCPv6 server")
	}
	if got := cfg.Pointers[netip.MustParseAddr("2001:db8:1::77")]; got != "fixed.lab.example" {
		t.Errorf("pointer of the reserved address: %q", got)
	}
	built := dnsserve.Config{Records: map[string][]netip.Addr{"fixed.lab.example": nil}}
	addMachineNamesTo(&built, bs, machines, &leaseNames{leases: leases})
	for _, tt := range []struct {
		name string
		want []string
	}{
		{"by-duid.lab.example.", []string{"2001:db8:1::1001"}},
		{"web.other.example.", []string{"2001:db8:1::1002", "2001:db8:1::1003"}},
		{"fixed.lab.example.", nil}, // a Record, not the resolver's
		{"idle.lab.example.", nil},
		{"nobody.lab.example.", nil},
	} {
		var got []string
		for _, a := range built.Dynamic.Addresses(tt.name) {
			got = append(got, a.String())
		}
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("Addresses(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
	for addr, want := range map[string]string{
		"2001:db8:1::1001": "by-duid.lab.example.",
		"2001:db8:1::1002": "web.other.example.",
		"2001:db8:1::1003": "web.other.example.",
		"2001:db8:1::2001": "", // temporary
		"2001:db8:9::":     "", // a delegated prefix
		"2001:db8:9::1":    "",
		"2001:db8:1::1004": "", // no machine's client
		"2001:db8:1::5":    "",
	} {
		if got := built.Dynamic.Name(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Name(%s) = %q, want %q", addr, got, want)
		}
	}
}
