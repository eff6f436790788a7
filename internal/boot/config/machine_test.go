package config

import (
	"net/netip"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

func TestMachineFromProto(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   *netbootv1.Machine
		// want is every "field: reason" expected, in order; none: valid.
		want []string
	}{
		{"every identifier, normalised", &netbootv1.Machine{Name: "web1", Macs: []string{"52-54-00-AA-BB-01"},
			Duids: []string{"00:03:00:01:52:54:00:aa:bb:01"}, Uuids: []string{"4C4C4544004236108058B4C04F4B4D32"},
			Hostname: "web1.lab.example.", Labels: map[string]string{"role": "web", "example.com/rack": "r1"},
			Metadata:        map[string]string{"ssh_key": "ssh-ed25519 AAAA", "motd": "line one\nline two"},
			ReservedAddress: "2001:db8:1::10", Menu: "install"}, nil},
		{"no identifier", &netbootv1.Machine{Name: "web1"},
			[]string{"macs: a machine needs at least one identifier"}},
		{"bad identifiers", &netbootv1.Machine{Name: "web1", Macs: []string{"52:54:00:aa:bb", "52:54:00:aa:bb:01", "52:54:00:AA:BB:01"},
			Duids: []string{"zz"}, Uuids: []string{"not-a-uuid"}},
			[]string{`macs[0]: "52:54:00:aa:bb" must be a MAC address`, `macs[2]: "52:54:00:AA:BB:01" is listed twice`,
				`duids[0]: "zz" must be a DUID in hex`, `uuids[0]: "not-a-uuid" must be a system UUID`}},
		{"bad name, hostname and menu", &netbootv1.Machine{Name: "Web 1", Macs: []string{"52:54:00:aa:bb:01"}, Hostname: "web_1", Menu: "No"},
			[]string{"name: must be 1-63 lowercase", `hostname: label "web_1" must be 1-63 letters`, "menu: must be 1-63 lowercase"}},
		{"bad labels and metadata", &netbootv1.Machine{Name: "web1", Macs: []string{"52:54:00:aa:bb:01"},
			Labels:   map[string]string{"-role": "web", "rack": "r1\n"},
			Metadata: map[string]string{"1st": "x", "ok": "\xff"}},
			[]string{`labels["-role"]: a label key is`, `labels["rack"]: a label value is printable text`,
				`metadata["1st"]: a metadata key is`, `metadata["ok"]: a metadata value is UTF-8`}},
		{"reserved address not unicast IPv6", &netbootv1.Machine{Name: "web1", Macs: []string{"52:54:00:aa:bb:01"}, ReservedAddress: "ff02::1"},
			[]string{"reserved_address: "}},
		{"reserved address IPv4", &netbootv1.Machine{Name: "web1", Macs: []string{"52:54:00:aa:bb:01"}, ReservedAddress: "192.0.2.1"},
			[]string{"reserved_address: "}},
		{"reserved address garbage", &netbootv1.Machine{Name: "web1", Macs: []string{"52:54:00:aa:bb:01"}, ReservedAddress: "web1"},
			[]string{`reserved_address: "web1" must be an IPv6 address`}},
		{"reserved prefix", &netbootv1.Machine{Name: "rtr1", Macs: []string{"52:54:00:aa:bb:01"}, ReservedPrefix: "2001:db8:100::/56"}, nil},
		{"reserved prefix garbage", &netbootv1.Machine{Name: "rtr1", Macs: []string{"52:54:00:aa:bb:01"}, ReservedPrefix: "2001:db8:100::"},
			[]string{`reserved_prefix: "2001:db8:100::" must be an IPv6 prefix`}},
		{"reserved prefix too long", &netbootv1.Machine{Name: "rtr1", Macs: []string{"52:54:00:aa:bb:01"}, ReservedPrefix: "2001:db8:100::/80"},
			[]string{"reserved_prefix: must be /48 to /64, the lengths prefix_delegation delegates, got /80"}},
		{"reserved prefix too short", &netbootv1.Machine{Name: "rtr1", Macs: []string{"52:54:00:aa:bb:01"}, ReservedPrefix: "2001:db8::/32"},
			[]string{"reserved_prefix: must be /48 to /64"}},
		{"reserved prefix with host bits", &netbootv1.Machine{Name: "rtr1", Macs: []string{"52:54:00:aa:bb:01"}, ReservedPrefix: "2001:db8:100:1::/56"},
			[]string{"reserved_prefix: has bits set beyond /56: write 2001:db8:100::/56"}},
		{"reserved prefix link-local", &netbootv1.Machine{Name: "rtr1", Macs: []string{"52:54:00:aa:bb:01"}, ReservedPrefix: "fe80::/64"},
			[]string{"reserved_prefix: must be a global or unique-local prefix"}},
		{"reserved prefix multicast", &netbootv1.Machine{Name: "rtr1", Macs: []string{"52:54:00:aa:bb:01"}, ReservedPrefix: "ff00::/56"},
			[]string{"reserved_prefix: must be a unicast IPv6 address"}},
		{"reserved prefix IPv4", &netbootv1.Machine{Name: "rtr1", Macs: []string{"52:54:00:aa:bb:01"}, ReservedPrefix: "192.0.2.0/24"},
			[]string{"reserved_prefix: must be an IPv6 address, not IPv4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := MachineFromProto(tc.in)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			fes, ok := AsFieldErrors(err)
			if !ok {
				t.Fatalf("want field errors %q, got %v", tc.want, err)
			}
			if len(fes) != len(tc.want) {
				t.Fatalf("want %d errors %q, got %d: %v", len(tc.want), tc.want, len(fes), err)
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(fes[i].Error(), w) {
					t.Errorf("error %d: want prefix %q, got %q", i, w, fes[i].Error())
				}
			}
		})
	}
}

func TestMachineNormalFormRoundTrips(t *testing.T) {
	m, err := MachineFromProto(&netbootv1.Machine{Name: "web1", Macs: []string{"52-54-00-AA-BB-01"},
		Duids: []string{"00:03:00:01:52:54:00:AA:BB:01"}, Uuids: []string{"4C4C4544004236108058B4C04F4B4D32"},
		Hostname: "web1.", ReservedAddress: "2001:DB8:1::10", ReservedPrefix: "2001:DB8:100:0::/56"})
	if err != nil {
		t.Fatal(err)
	}
	want := &netbootv1.Machine{Name: "web1", Macs: []string{"52:54:00:aa:bb:01"}, Duids: []string{"00030001525400aabb01"},
		Uuids: []string{"4c4c4544-0042-3610-8058-b4c04f4b4d32"}, Hostname: "web1", ReservedAddress: "2001:db8:1::10", ReservedPrefix: "2001:db8:100::/56"}
	if got := m.ToProto(); !proto.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	again, err := MachineFromProto(m.ToProto())
	if err != nil || !proto.Equal(again.ToProto(), want) {
		t.Errorf("normal form does not round-trip: %v, %v", again.ToProto(), err)
	}
	for _, tc := range []struct {
		mac, duid, uuid string
		want            bool
	}{
		{"52:54:00:AA:BB:01", "", "", true},
		{"", "00:03:00:01:52:54:00:aa:bb:01", "", true},
		{"", "", "4c4c4544-0042-3610-8058-B4C04F4B4D32", true},
		{"52:54:00:aa:bb:02", "0003", "", false},
		{"", "", "", false},
	} {
		if got := m.Identifies(tc.mac, tc.duid, tc.uuid); got != tc.want {
			t.Errorf("Identifies(%q, %q, %q) = %v, want %v", tc.mac, tc.duid, tc.uuid, got, tc.want)
		}
	}
}

func TestCheckMachinesRefusesSharedIdentifiers(t *testing.T) {
	others := map[string]Machine{
		"web1": mustMachine(t, &netbootv1.Machine{Name: "web1", Macs: []string{"52:54:00:aa:bb:01"}, Uuids: []string{"4c4c4544-0042-3610-8058-b4c04f4b4d32"},
			ReservedAddress: "2001:db8:1::10", ReservedPrefix: "2001:db8:100::/56"}),
		"web2": mustMachine(t, &netbootv1.Machine{Name: "web2", Duids: []string{"00030001525400aabb02"}}),
	}
	// A machine may keep its own identifiers on update.
	if err := CheckMachines(others["web1"], others); err != nil {
		t.Errorf("updating web1 with its own identifiers: %v", err)
	}
	m := mustMachine(t, &netbootv1.Machine{Name: "db1", Macs: []string{"52:54:00:cc:00:01", "52-54-00-AA-BB-01"}, Duids: []string{"00:03:00:01:52:54:00:aa:bb:02"},
		ReservedAddress: "2001:db8:1:0::10", ReservedPrefix: "2001:db8:100:f0::/60"})
	fes, ok := AsFieldErrors(CheckMachines(m, others))
	if !ok {
		t.Fatal("want field errors")
	}
	want := []string{
		`macs[1]: 52:54:00:aa:bb:01 already identifies machine "web1"`,
		`reserved_address: 2001:db8:1::10 is already reserved for machine "web1"`,
		`reserved_prefix: 2001:db8:100:f0::/60 overlaps 2001:db8:100::/56, reserved for machine "web1"`,
		`duids[0]: 00030001525400aabb02 already identifies machine "web2"`,
	}
	if len(fes) != len(want) {
		t.Fatalf("want %q, got %v", want, fes)
	}
	for i, w := range want {
		if !strings.HasPrefix(fes[i].Error(), w) {
			t.Errorf("error %d: want %q, got %q", i, w, fes[i].Error())
		}
	}
}

func TestMachineNames(t *testing.T) {
	machines := map[string]Machine{
		"web1": mustMachine(t, &netbootv1.Machine{Name: "web1", Macs: []string{"52:54:00:aa:bb:01"}, ReservedAddress: "2001:db8:1::10"}),
		"web2": mustMachine(t, &netbootv1.Machine{Name: "web2", Macs: []string{"52:54:00:aa:bb:02"}, Hostname: "Www.Example.Org", ReservedAddress: "2001:db8:1::11"}),
		"db1":  mustMachine(t, &netbootv1.Machine{Name: "db1", Macs: []string{"52:54:00:aa:bb:03"}, Hostname: "db", ReservedAddress: "2001:db8:1::12"}),
		// Elsewhere, or no address: no name here.
		"far":  mustMachine(t, &netbootv1.Machine{Name: "far", Macs: []string{"52:54:00:aa:bb:04"}, ReservedAddress: "2001:db8:2::10"}),
		"none": mustMachine(t, &netbootv1.Machine{Name: "none", Macs: []string{"52:54:00:aa:bb:05"}}),
	}
	for _, tc := range []struct {
		name        string
		search, rdn []string
		want        map[string]string
	}{
		{"DHCPv6 domain first", []string{"lab.example", "other.example"}, []string{"ra.example"},
			map[string]string{"web1.lab.example": "2001:db8:1::10", "www.example.org": "2001:db8:1::11", "db.lab.example": "2001:db8:1::12"}},
		{"RA DNSSL otherwise", nil, []string{"ra.example."},
			map[string]string{"web1.ra.example": "2001:db8:1::10", "www.example.org": "2001:db8:1::11", "db.ra.example": "2001:db8:1::12"}},
		{"no domain: the label alone", nil, nil,
			map[string]string{"web1": "2001:db8:1::10", "www.example.org": "2001:db8:1::11", "db": "2001:db8:1::12"}},
	} {
		bs := BootServer{Prefix: netip.MustParsePrefix("2001:db8:1::/64")}
		bs.DHCPv6.DomainSearch, bs.RA.DNSSL = tc.search, tc.rdn
		got := MachineNames(bs, machines)
		if len(got) != len(tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
		for n, a := range tc.want {
			if got[n].String() != a {
				t.Errorf("%s: %s = %v, want %s", tc.name, n, got[n], a)
			}
		}
	}
}

func mustMachine(t *testing.T, pb *netbootv1.Machine) Machine {
	t.Helper()
	m, err := MachineFromProto(pb)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// A reserved prefix is one of a pool's prefixes or outside every pool and
// every on-link prefix, on the direct link as on relayed ones.
func TestReservedPrefixConflict(t *testing.T) {
	bs := &BootServer{Name: "lab", Prefix: netip.MustParsePrefix("2001:db8:1::/64")}
	bs.DHCPv6.PrefixDelegation = &PrefixDelegation{Start: netip.MustParseAddr("2001:db8:100::"), End: netip.MustParseAddr("2001:db8:100:ff00::"), Length: 56}
	bs.DHCPv6.RelayedLinks = []RelayedLink{{Name: "vlan10", Prefix: netip.MustParsePrefix("2001:db8:10::/64"),
		PrefixDelegation: &PrefixDelegation{Start: netip.MustParseAddr("2001:db8:200::"), End: netip.MustParseAddr("2001:db8:200:f0::"), Length: 60}}}
	for _, tc := range []struct {
		prefix string
		want   string // "" for no conflict
	}{
		{"", ""},
		{"2001:db8:100:4200::/56", ""}, // one of the pool's
		{"2001:db8:100:ff00::/56", ""}, // its last
		{"2001:db8:200:30::/60", ""},   // one of vlan10's
		{"2001:db8:900::/56", ""},      // outside every pool
		{"2001:db8:100::/48", `overlaps boot server "lab"'s prefix_delegation (/56 prefixes from 2001:db8:100:: to 2001:db8:100:ff00::)`},
		{"2001:db8:100:4200::/60", `overlaps boot server "lab"'s prefix_delegation`},
		{"2001:db8:200::/56", `overlaps boot server "lab"'s relayed link "vlan10"'s prefix_delegation (/60`},
		{"2001:db8:1::/64", `overlaps boot server "lab"'s on-link prefix 2001:db8:1::/64`},
		{"2001:db8:1::/48", `overlaps boot server "lab"'s on-link prefix`},
		{"2001:db8:10::/56", `overlaps boot server "lab"'s relayed link "vlan10"'s on-link prefix 2001:db8:10::/64`},
	} {
		m := &Machine{Name: "rtr1"}
		if tc.prefix != "" {
			m.ReservedPrefix = netip.MustParsePrefix(tc.prefix)
		}
		got := ReservedPrefixConflict(m, bs)
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) || tc.want != "" && !strings.HasPrefix(got, `machine "rtr1"'s reserved_prefix `+tc.prefix) {
			t.Errorf("%s: %q, want %q", tc.prefix, got, tc.want)
		}
	}
}

// TestPlaceholderUUIDs: a machine being created cannot be named by the UUID
// firmware without one reports, which every such host shares; a stored one
// still loads (MachineFromProto accepts it).
func TestPlaceholderUUIDs(t *testing.T) {
	for _, tc := range []struct {
		uuids []string
		want  []string
	}{
		{[]string{"4c4c4544-0042-3610-8058-b4c04f4b4d32"}, nil},
		{[]string{"00000000-0000-0000-0000-000000000000", "4c4c4544-0042-3610-8058-b4c04f4b4d32", "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"},
			[]string{`uuids[0]: "00000000-0000-0000-0000-000000000000" is the placeholder firmware reports when it has no system UUID`,
				`uuids[2]: "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF" is the placeholder`}},
	} {
		pb := &netbootv1.Machine{Name: "web1", Uuids: tc.uuids}
		if _, err := MachineFromProto(pb); err != nil {
			t.Errorf("MachineFromProto(%q): %v", tc.uuids, err)
		}
		err := PlaceholderUUIDs(pb)
		fes, _ := AsFieldErrors(err)
		if len(fes) != len(tc.want) {
			t.Errorf("PlaceholderUUIDs(%q) = %v, want %q", tc.uuids, err, tc.want)
			continue
		}
		for i, fe := range fes {
			if !strings.HasPrefix(fe.Error(), tc.want[i]) {
				t.Errorf("error %d = %q, want prefix %q", i, fe.Error(), tc.want[i])
			}
		}
	}
}
