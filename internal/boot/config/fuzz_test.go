package config

import (
	"testing"

	"google.golang.org/protobuf/proto"

	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// FuzzFromProto feeds PutBootServer's validator arbitrary requests (the
// protobuf wire bytes a remote client may send): it must never panic, every
// rejection must be FieldErrors naming an attribute, and an accepted
// configuration must convert back and be accepted again unchanged.
func FuzzFromProto(f *testing.F) {
	for _, pb := range []*netbootv1.BootServer{
		{Name: "lab", Interface: "eth0", Prefix: "2001:db8:1::/64"},
		{Name: "lab", Interface: "eth0", Prefix: "2001:db8:1::/64", Dhcpv6: &netbootv1.DHCPv6{
			Mode:   "stateful",
			Ranges: []*netbootv1.AddressRange{{Start: "2001:db8:1::100", End: "2001:db8:1::1ff"}},
		}},
		{Name: "Bad Name", Prefix: "2001:db8::/48"},
		{Name: "site", Interface: "eth0", Prefix: "2001:db8:1::/64", Dhcpv6: &netbootv1.DHCPv6{
			Mode:   "stateful",
			Ranges: []*netbootv1.AddressRange{{Start: "2001:db8:1::100", End: "2001:db8:1::1ff"}},
			RelayedLinks: map[string]*netbootv1.RelayedLink{
				"vlan10": {Prefix: "2001:db8:10::/64", Ranges: []*netbootv1.AddressRange{{Start: "2001:db8:10::100", End: "2001:db8:10::1ff"}},
					DnsServers: []string{"2001:db8:10::53"}, DomainSearch: []string{"vlan10.example"}},
				"Bad.Name": {Prefix: "2001:db8:20::/64"},
			},
		}},
		{Name: "site", Interface: "eth0", Prefix: "2001:db8:1::/64", Dhcpv6: &netbootv1.DHCPv6{
			Mode:      "stateful",
			Ranges:    []*netbootv1.AddressRange{{Start: "2001:db8:1::100", End: "2001:db8:1::1ff"}},
			RateLimit: &netbootv1.DHCPv6RateLimit{PerRelayPerSecond: 100, PerRelayBurst: 200},
			RelayedLinks: map[string]*netbootv1.RelayedLink{
				"vlan10": {Prefix: "2001:db8:10::/64", Ranges: []*netbootv1.AddressRange{{Start: "2001:db8:10::100", End: "2001:db8:10::1ff"}},
					PrefixDelegation: &netbootv1.PrefixDelegation{Start: "2001:db8:1000::", End: "2001:db8:10ff::", Length: 48}},
				"vlan20": {Prefix: "2001:db8:20::/64", Ranges: []*netbootv1.AddressRange{{Start: "2001:db8:20::100", End: "2001:db8:20::1ff"}},
					PrefixDelegation: &netbootv1.PrefixDelegation{Start: "2001:db8:10ff::", End: "2001:db8:10ff::", Length: 56}},
			},
		}},
	} {
		b, err := proto.Marshal(pb)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, wire []byte) {
		var pb netbootv1.BootServer
		if proto.Unmarshal(wire, &pb) != nil {
			return
		}
		b, err := FromProto(&pb)
		if err != nil {
			fes, ok := AsFieldErrors(err)
			if !ok || len(fes) == 0 {
				t.Fatalf("rejection without field errors: %v", err)
			}
			for _, fe := range fes {
				if len(fe.Path) == 0 || fe.Reason == "" {
					t.Fatalf("field error without attribute or reason: %+v", fe)
				}
			}
			return
		}
		again, err := FromProto(b.ToProto())
		if err != nil {
			t.Fatalf("accepted %v, but not its own conversion: %v", &pb, err)
		}
		if !proto.Equal(again.ToProto(), b.ToProto()) {
			t.Fatalf("conversion not stable:\n%v\n%v", b.ToProto(), again.ToProto())
		}
	})
}
