package agent

import (
	"bytes"
	"encoding/hex"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
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

// Machines are named by their leases: by DUID, by a MAC from any source,
// or by the DUID-UUID of a UUID; temporary addresses and delegated
// prefixes get no records, a reserved machine's name stays its
// reservation's, and clients of no machine stay nameless.
func TestLeaseNames(t *testing.T) {
	bs := config.BootServer{Prefix: netip.MustParsePrefix("2001:db8:1::/64")}
	bs.DHCPv6.DomainSearch = []string{"lab.example"}
	machines := map[string]config.Machine{
		"by-duid": {Name: "by-duid", DUIDs: []string{"000200000009010203040506"}},
		"by-mac":  {Name: "by-mac", Hostname: "Web.Other.Example", MACs: []string{"52:54:00:00:00:02"}},
		"fixed":   {Name: "fixed", MACs: []string{"52:54:00:00:00:03"}, ReservedAddress: netip.MustParseAddr("2001:db8:1::77")},
		"idle":    {Name: "idle", MACs: []string{"52:54:00:00:00:04"}},
		"by-uuid": {Name: "by-uuid", UUIDs: []string{"01234567-89ab-cdef-0011-223344556677"}},
	}
	duid, _ := hex.DecodeString("000200000009010203040506")
	leases := leaseTable{
		{Kind: lease.NA, Address: netip.MustParseAddr("2001:db8:1::1001"), DUID: duid},
		{Kind: lease.TA, Address: netip.MustParseAddr("2001:db8:1::2001"), DUID: duid},
		{Kind: lease.NA, Address: netip.MustParseAddr("2001:db8:1::1002"), DUID: []byte{0, 3, 0, 1, 0x52, 0x54, 0, 0, 0, 2}, HardwareAddr: "52:54:00:00:00:02", HardwareAddrSource: "duid"},
		{Kind: lease.NA, Address: netip.MustParseAddr("2001:db8:1::1003"), DUID: []byte{0, 4, 1, 2, 3}, HardwareAddr: "52:54:00:00:00:02", HardwareAddrSource: "link-local"},
		{Kind: lease.PD, Address: netip.MustParseAddr("2001:db8:9::"), PrefixLength: 56, DUID: []byte{0, 4, 1, 2, 3}, HardwareAddr: "52:54:00:00:00:02"},
		{Kind: lease.NA, Address: netip.MustParseAddr("2001:db8:1::1004"), DUID: []byte{0, 4, 9}, HardwareAddr: "52:54:00:00:00:09"},
		// iPXE's DUID-UUID, for the UUID QEMU -uuid set.
		{Kind: lease.NA, Address: netip.MustParseAddr("2001:db8:1::1005"), DUID: lease.DUIDUUID("01234567-89ab-cdef-0011-223344556677"), HardwareAddr: "52:54:00:00:00:05"},
	}
	cfg := dnsserve.Config{Records: map[string][]netip.Addr{}}
	addMachineNames(&cfg, bs, machines, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if cfg.Dynamic != nil {
		t.Fatal("names from leases without a DHCPv6 server")
	}
	if got := cfg.Pointers[netip.MustParseAddr("2001:db8:1::77")]; got != "fixed.lab.example" {
		t.Errorf("pointer of the reserved address: %q", got)
	}
	built := dnsserve.Config{Records: map[string][]netip.Addr{}}
	addMachineNames(&built, bs, machines, leases, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, tt := range []struct {
		name string
		want []string
	}{
		{"by-duid.lab.example.", []string{"2001:db8:1::1001"}},
		{"web.other.example.", []string{"2001:db8:1::1002", "2001:db8:1::1003"}},
		{"fixed.lab.example.", nil}, // a Record, not the resolver's
		{"idle.lab.example.", nil},
		{"by-uuid.lab.example.", []string{"2001:db8:1::1005"}},
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
		"2001:db8:1::1005": "by-uuid.lab.example.",
		"2001:db8:1::5":    "",
	} {
		if got := built.Dynamic.Name(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Name(%s) = %q, want %q", addr, got, want)
		}
	}
}

// A machine whose name is an NFS root image's gets no records, whether its
// name would come from its reservation or from its lease, and each case is
// warned about with the machine named; the image keeps its answer.
func TestMachineNameOfAnImage(t *testing.T) {
	bs := config.BootServer{Prefix: netip.MustParsePrefix("2001:db8:1::/64")}
	bs.DHCPv6.DomainSearch = []string{"lab.example"}
	bootAddr := netip.MustParseAddr("2001:db8:1::1")
	leased := netip.MustParseAddr("2001:db8:1::1001")
	leases := leaseTable{{Kind: lease.NA, Address: leased, DUID: []byte{0, 3, 0, 1, 0x52, 0x54, 0, 0, 0, 2}, HardwareAddr: "52:54:00:00:00:02"}}
	for _, tc := range []struct {
		name    string
		machine config.Machine
		leases  clientLeases
		warn    bool
	}{
		{"reservation", config.Machine{Name: "a", Hostname: "root", ReservedAddress: netip.MustParseAddr("2001:db8:1::77")}, nil, true},
		{"lease", config.Machine{Name: "b", Hostname: "root", MACs: []string{"52:54:00:00:00:02"}}, leases, true},
		// Named neither way: nothing to warn about.
		{"reservation off the link, no DHCPv6", config.Machine{Name: "c", Hostname: "root", ReservedAddress: netip.MustParseAddr("2001:db8:9::77")}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			cfg := dnsserve.Config{Records: map[string][]netip.Addr{"root.lab.example": {bootAddr}}}
			addMachineNames(&cfg, bs, map[string]config.Machine{tc.machine.Name: tc.machine}, tc.leases, slog.New(slog.NewTextHandler(&logs, nil)))
			if got := cfg.Records["root.lab.example"]; !slices.Equal(got, []netip.Addr{bootAddr}) {
				t.Errorf("the image's name answers %v, want %s", got, bootAddr)
			}
			if len(cfg.Pointers) != 0 {
				t.Errorf("pointers %v for a machine without a name", cfg.Pointers)
			}
			if cfg.Dynamic != nil {
				t.Errorf("names from leases %v, for no machine", cfg.Dynamic.Addresses("root.lab.example."))
			}
			warned := strings.Contains(logs.String(), "level=WARN") && strings.Contains(logs.String(), "machine="+tc.machine.Name) && strings.Contains(logs.String(), "name=root.lab.example")
			if warned != tc.warn {
				t.Errorf("warned %v, want %v:\n%s", warned, tc.warn, logs.String())
			}
		})
	}
}
