package config

import (
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func vlan(name, prefix string, ranges ...AddressRange) RelayedLink {
	return RelayedLink{Name: name, Prefix: netip.MustParsePrefix(prefix), Ranges: ranges}
}

func withPD(l RelayedLink, pd *PrefixDelegation) RelayedLink {
	l.PrefixDelegation = pd
	return l
}

func TestValidateRelayedLinks(t *testing.T) {
	v10 := vlan("vlan10", "2001:db8:10::/64", rangeOf("2001:db8:10::100", "2001:db8:10::1ff"))
	v20 := vlan("vlan20", "2001:db8:20::/64", rangeOf("2001:db8:20::100", "2001:db8:20::1ff"))
	tests := []struct {
		name   string
		links  []RelayedLink
		modify func(*BootServer)
		field  string // "" means valid
		reason string
	}{
		{"two links", []RelayedLink{v10, v20}, nil, "", ""},
		{"range outside the link", []RelayedLink{vlan("vlan10", "2001:db8:10::/64", rangeOf("2001:db8:20::100", "2001:db8:20::1ff"))}, nil,
			`dhcpv6.relayed_links["vlan10"].ranges[0].start`, "outside prefix 2001:db8:10::/64"},
		{"no range", []RelayedLink{vlan("vlan10", "2001:db8:10::/64")}, nil, `dhcpv6.relayed_links["vlan10"].ranges`, "at least one range"},
		{"prefix /48", []RelayedLink{vlan("vlan10", "2001:db8:10::/48", rangeOf("2001:db8:10::100", "2001:db8:10::1ff"))}, nil,
			`dhcpv6.relayed_links["vlan10"].prefix`, "must be a /64"},
		{"the boot server's own prefix", []RelayedLink{vlan("vlan10", "2001:db8:1::/64", rangeOf("2001:db8:1::8000", "2001:db8:1::80ff"))}, nil,
			`dhcpv6.relayed_links["vlan10"].prefix`, "boot server's own prefix"},
		{"two links on one prefix", []RelayedLink{v10, {Name: "vlan11", Prefix: v10.Prefix, Ranges: []AddressRange{rangeOf("2001:db8:10::300", "2001:db8:10::3ff")}}}, nil,
			`dhcpv6.relayed_links["vlan11"].prefix`, `prefix of relayed_links["vlan10"]`},
		{"name twice", []RelayedLink{v10, v10}, nil, `dhcpv6.relayed_links["vlan10"]`, "named twice"},
		{"bad name", []RelayedLink{{Name: "VLAN.10", Prefix: v10.Prefix, Ranges: v10.Ranges}}, nil, `dhcpv6.relayed_links["VLAN.10"]`, "lowercase"},
		{"overlapping temporary range", []RelayedLink{{Name: "v", Prefix: v10.Prefix, Ranges: v10.Ranges,
			TemporaryRanges: []AddressRange{rangeOf("2001:db8:10::1f0", "2001:db8:10::2ff")}}}, nil,
			`dhcpv6.relayed_links["v"].temporary_ranges[0]`, "overlaps ranges[0]"},
		{"bad DNS server", []RelayedLink{{Name: "v", Prefix: v10.Prefix, Ranges: v10.Ranges, DNSServers: []netip.Addr{netip.MustParseAddr("ff02::1")}}}, nil,
			`dhcpv6.relayed_links["v"].dns_servers[0]`, ""},
		{"bad domain", []RelayedLink{{Name: "v", Prefix: v10.Prefix, Ranges: v10.Ranges, DomainSearch: []string{"bad domain"}}}, nil,
			`dhcpv6.relayed_links["v"].domain_search[0]`, ""},
		{"delegated prefix", []RelayedLink{v10}, func(b *BootServer) { b.DHCPv6.PrefixDelegation = seedPD("2001:db8:10::", "2001:db8:10:ff00::", 56) },
			`dhcpv6.relayed_links["vlan10"].prefix`, "prefix_delegation delegates"},
		{"delegated prefixes elsewhere", []RelayedLink{v10}, func(b *BootServer) { b.DHCPv6.PrefixDelegation = seedPD("2001:db8:100::", "2001:db8:1ff::", 48) },
			"", ""},
		{"link delegates", []RelayedLink{withPD(v10, seedPD("2001:db8:1000::", "2001:db8:10ff::", 48)), withPD(v20, seedPD("2001:db8:2000::", "2001:db8:2000:ff00::", 56))},
			func(b *BootServer) { b.DHCPv6.PrefixDelegation = seedPD("2001:db8:100::", "2001:db8:1ff::", 48) }, "", ""},
		{"link delegates its own prefix", []RelayedLink{withPD(v10, seedPD("2001:db8:10::", "2001:db8:10:ff00::", 56))}, nil,
			`dhcpv6.relayed_links["vlan10"].prefix_delegation`, "overlap the on-link prefix 2001:db8:10::/64"},
		{"link delegates misaligned", []RelayedLink{withPD(v10, seedPD("2001:db8:1000::1", "2001:db8:10ff::", 48))}, nil,
			`dhcpv6.relayed_links["vlan10"].prefix_delegation.start`, "bits set beyond /48"},
		{"link delegates too long", []RelayedLink{withPD(v10, seedPD("2001:db8:1000::", "2001:db8:10ff::", 80))}, nil,
			`dhcpv6.relayed_links["vlan10"].prefix_delegation.length`, "between 48 and 64"},
		{"link delegates reversed", []RelayedLink{withPD(v10, seedPD("2001:db8:10ff::", "2001:db8:1000::", 48))}, nil,
			`dhcpv6.relayed_links["vlan10"].prefix_delegation.end`, "below start"},
		{"link delegates another link's prefix", []RelayedLink{v10, withPD(v20, seedPD("2001:db8:10::", "2001:db8:10::", 48))}, nil,
			`dhcpv6.relayed_links["vlan10"].prefix`, `relayed_links["vlan20"].prefix_delegation delegates`},
		{"link delegates the boot server's prefix", []RelayedLink{withPD(v10, seedPD("2001:db8:1::", "2001:db8:1::", 64))}, nil,
			`dhcpv6.relayed_links["vlan10"].prefix_delegation`, "boot server's own prefix 2001:db8:1::/64"},
		{"two links delegate the same prefixes", []RelayedLink{withPD(v10, seedPD("2001:db8:1000::", "2001:db8:10ff::", 48)),
			withPD(v20, seedPD("2001:db8:10ff:ff00::", "2001:db8:10ff:ff00::", 56))}, nil,
			`dhcpv6.relayed_links["vlan20"].prefix_delegation`, `overlaps the prefixes dhcpv6.relayed_links["vlan10"].prefix_delegation delegates`},
		{"a link delegates what dhcpv6 does", []RelayedLink{withPD(v10, seedPD("2001:db8:180::", "2001:db8:180::", 48))},
			func(b *BootServer) { b.DHCPv6.PrefixDelegation = seedPD("2001:db8:100::", "2001:db8:1ff::", 48) },
			`dhcpv6.relayed_links["vlan10"].prefix_delegation`, "overlaps the prefixes dhcpv6.prefix_delegation delegates"},
		{"interface-id twice", []RelayedLink{{Name: "a", Prefix: v10.Prefix, Ranges: v10.Ranges, InterfaceID: "eth1.10"},
			{Name: "b", Prefix: v20.Prefix, Ranges: v20.Ranges, InterfaceID: "eth1.10"}}, nil,
			`dhcpv6.relayed_links["b"].interface_id`, `interface_id of relayed_links["a"]`},
		{"interface-id too long", []RelayedLink{{Name: "a", Prefix: v10.Prefix, Ranges: v10.Ranges, InterfaceID: strings.Repeat("x", MaxInterfaceIDLength+1)}}, nil,
			`dhcpv6.relayed_links["a"].interface_id`, "at most"},
		{"stateless", []RelayedLink{v10}, func(b *BootServer) { b.DHCPv6.Mode, b.DHCPv6.Ranges, b.RA.Managed = DHCPv6Stateless, nil, false },
			"dhcpv6.relayed_links", `mode = "stateful"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := validStateful()
			b.DHCPv6.RelayedLinks = tt.links
			if tt.modify != nil {
				tt.modify(&b)
			}
			err := b.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			fes, _ := AsFieldErrors(err)
			for _, fe := range fes {
				if fe.Field() == tt.field && strings.Contains(fe.Reason, tt.reason) {
					return
				}
			}
			t.Fatalf("Validate() = %v, want %s: …%s…", err, tt.field, tt.reason)
		})
	}
}

// TestRelayedLinksProto checks that relayed links round-trip through the
// API, come back sorted by name, and that an unparseable value is named
// by its map key.
func TestRelayedLinksProto(t *testing.T) {
	b := validStateful()
	v20 := vlan("vlan20", "2001:db8:20::/64", rangeOf("2001:db8:20::100", "2001:db8:20::1ff"))
	v20.DNSServers = []netip.Addr{netip.MustParseAddr("2001:db8:20::53")}
	v20.DomainSearch = []string{"vlan20.example"}
	v20.TemporaryRanges = []AddressRange{rangeOf("2001:db8:20::1000", "2001:db8:20::10ff")}
	v20.InterfaceID = "eth1.20"
	v20.PrefixDelegation = seedPD("2001:db8:2000::", "2001:db8:20ff::", 48)
	b.DHCPv6.RelayedLinks = []RelayedLink{v20, vlan("vlan10", "2001:db8:10::/64", rangeOf("2001:db8:10::100", "2001:db8:10::1ff"))}
	got, err := FromProto(b.ToProto())
	if err != nil {
		t.Fatal(err)
	}
	want := []RelayedLink{b.DHCPv6.RelayedLinks[1], v20}
	if !reflect.DeepEqual(got.DHCPv6.RelayedLinks, want) {
		t.Fatalf("round trip: %+v, want %+v", got.DHCPv6.RelayedLinks, want)
	}
	pb := b.ToProto()
	pb.Dhcpv6.RelayedLinks["vlan20"].Prefix = "vlan20"
	pb.Dhcpv6.RelayedLinks["vlan20"].Ranges[0].End = "x"
	pb.Dhcpv6.RelayedLinks["vlan20"].PrefixDelegation.Start = "x"
	_, err = FromProto(pb)
	fes, _ := AsFieldErrors(err)
	var fields []string
	for _, fe := range fes {
		fields = append(fields, fe.Field())
	}
	for _, f := range []string{`dhcpv6.relayed_links["vlan20"].prefix`, `dhcpv6.relayed_links["vlan20"].ranges[0].end`,
		`dhcpv6.relayed_links["vlan20"].prefix_delegation.start`} {
		if !slices.Contains(fields, f) {
			t.Errorf("FromProto errors on %v, want one on %s", fields, f)
		}
	}
}
