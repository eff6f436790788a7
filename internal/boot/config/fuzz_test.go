package config

import (
	"net/netip"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// FuzzFromProto feeds PutBootServer's validator arbitrary requests (the
// protobuf wire bytes a remote client may send): it must never panic, every
// rejection must be FieldErrors naming an attribute, and an accepted
// configuration must convert back and be accepted again unchanged.
func FuzzFromProto(f *testing.F) {
	pair := makeTestCert(f, time.Now().Add(-time.Hour), time.Now().Add(time.Hour), "2001:db8:1::1")
	for _, pb := range []*netbootv1.BootServer{
		{Name: "lab", Interface: "eth0", Prefix: "2001:db8:1::/64", Boot: &netbootv1.Boot{HttpEnabled: true,
			Https: &netbootv1.HTTPS{Enabled: true, Port: 8443, CertificatePem: pair.cert, PrivateKeyPem: pair.key}}},
		{Name: "lab", Interface: "eth0", Prefix: "2001:db8:1::/64", Boot: &netbootv1.Boot{
			Https: &netbootv1.HTTPS{Enabled: true, CertificatePem: pair.key, PrivateKeyPem: pair.cert[:40]}}},
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
		// The checks against the clock and the link name a field too.
		if err := b.Boot.CheckHTTPSCertificate(time.Now(), netip.MustParseAddr("2001:db8:1::1")); err != nil {
			if _, ok := AsFieldErrors(err); !ok {
				t.Fatalf("certificate check without field errors: %v", err)
			}
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

// FuzzMachineFromProto: any machine is valid or refused with field errors,
// never a panic, and a valid one keeps its normal form through the API.
func FuzzMachineFromProto(f *testing.F) {
	f.Add("web1", "52-54-00-AA-BB-01", "00:03:00:01:52:54:00:aa:bb:01", "4C4C4544004236108058B4C04F4B4D32", "web1.lab.", "role", "web", "2001:db8::10")
	f.Add("", "", "", "", "", "", "", "")
	f.Add("x", "zz:zz", "0", "-", "_", "-", "\n", "fe80::1%eth0")
	f.Fuzz(func(t *testing.T, name, mac, duid, uuid, hostname, labelKey, labelValue, addr string) {
		pb := &netbootv1.Machine{Name: name, Macs: []string{mac}, Duids: []string{duid}, Uuids: []string{uuid}, Hostname: hostname,
			Labels: map[string]string{labelKey: labelValue}, Metadata: map[string]string{labelKey: labelValue}, ReservedAddress: addr}
		m, err := MachineFromProto(pb)
		if err != nil {
			if _, ok := AsFieldErrors(err); !ok {
				t.Fatalf("not field errors: %v", err)
			}
			return
		}
		again, err := MachineFromProto(m.ToProto())
		if err != nil || !proto.Equal(again.ToProto(), m.ToProto()) {
			t.Fatalf("normal form does not round-trip: %v", err)
		}
	})
}
