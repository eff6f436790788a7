package dhcp6

import (
	"net"
	"net/netip"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv6"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/bootfile"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
)

// TestBootRulesSelectMachinesByLabel: a rule with labels gives its file
// to the clients that are machines with those labels, recognised as for
// reserved addresses: by DUID, by the MAC address in a DUID-LL, in the
// EUI-64 of the link-local source address (iPXE's DUID-UUID holds none)
// or in a relay's option 79, or by the system UUID in a DUID-UUID. Every
// other client gets the default rules' file.
func TestBootRulesSelectMachinesByLabel(t *testing.T) {
	const (
		labelled = "http://[2001:db8:1::1]/install.ipxe"
		script   = "http://[2001:db8:1::1]/start.ipxe"
	)
	relayedMAC := net.HardwareAddr{0x52, 0x54, 0x00, 0x00, 0x00, 0x79}
	enDUID := &dhcpv6.DUIDEN{EnterpriseNumber: 9, EnterpriseIdentifier: []byte{1, 2, 3, 4, 5, 6}}
	uuid := &dhcpv6.DUIDUUID{UUID: [16]byte{1, 2, 3}}
	cfg := bootConfig(config.DHCPv6Stateless)
	cfg.Boot.Rules = append([]bootfile.Rule{{Labels: map[string]string{"role": "installer"}, UserClass: "iPXE", File: "install.ipxe", Via: bootfile.HTTP}},
		cfg.Boot.Rules...)
	cfg.Machines = map[string]config.Machine{
		"by-mac":   {Name: "by-mac", MACs: []string{clientMAC.String()}, Labels: map[string]string{"role": "installer"}},
		"by-duid":  {Name: "by-duid", DUIDs: []string{"000200000009010203040506"}, Labels: map[string]string{"role": "installer"}},
		"relayed":  {Name: "relayed", MACs: []string{relayedMAC.String()}, Labels: map[string]string{"role": "installer", "rack": "b"}},
		"web":      {Name: "web", MACs: []string{"52:54:00:00:00:02"}, Labels: map[string]string{"role": "web"}},
		"no-label": {Name: "no-label", MACs: []string{"52:54:00:00:00:03"}},
		"by-uuid":  {Name: "by-uuid", UUIDs: []string{"0a000000-0000-0000-0000-0000000000b0"}, Labels: map[string]string{"role": "installer"}},
	}
	cfg = cloneConfig(cfg)
	h, _ := newTestHandler(cfg)
	eui64 := func(mac string) netip.Addr {
		hw, _ := net.ParseMAC(mac)
		return netip.AddrFrom16([16]byte{0xfe, 0x80, 8: hw[0] ^ 2, hw[1], hw[2], 0xff, 0xfe, hw[3], hw[4], hw[5]})
	}
	for _, tc := range []struct {
		name    string
		duid    dhcpv6.DUID
		peer    netip.Addr
		relayed net.HardwareAddr
		want    string
	}{
		{"MAC in its DUID-LL", clientDUID, clientLL, nil, labelled},
		{"its DUID (DUID-EN, no MAC)", enDUID, netip.MustParseAddr("fe80::1"), nil, labelled},
		{"MAC in the EUI-64 of its link-local address (DUID-UUID)", uuid, clientLL, nil, labelled},
		{"MAC from a relay's option 79", uuid, netip.MustParseAddr("fe80::2"), relayedMAC, labelled},
		{"a machine with other labels", uuid, eui64("52:54:00:00:00:02"), nil, script},
		{"a machine without labels", uuid, eui64("52:54:00:00:00:03"), nil, script},
		{"no machine", otherDUID, netip.MustParseAddr("fe80::3"), nil, script},
		{"the UUID in its DUID-UUID", &dhcpv6.DUIDUUID{UUID: [16]byte{0x0a, 15: 0xb0}}, netip.MustParseAddr("fe80::4"), nil, labelled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := withMods(clientMessage(t, dhcpv6.MessageTypeInformationRequest, tc.duid, nil), []dhcpv6.Modifier{wantBoot, ipxeClass, withArch(bootfile.ArchEFIx64)})
			var b batch
			resp, err := h.handleFrom(&b, req, tc.peer, tc.relayed, false, t0)
			if err != nil {
				t.Fatal(err)
			}
			if got := bootOptions(resp).url; got != tc.want {
				t.Errorf("boot-file URL %q, want %q", got, tc.want)
			}
		})
	}
}

// Without a rule that selects by label, the server indexes no machines:
// most boot servers never need it.
func TestMachineIndexOnlyForLabelRules(t *testing.T) {
	machines := map[string]config.Machine{"m": {Name: "m", MACs: []string{clientMAC.String()}, Labels: map[string]string{"a": "b"}}}
	if idx := machineIndexOf(bootfile.DefaultRules(), machines); !idx.Empty() {
		t.Error("indexed machines for rules without labels")
	}
	idx := machineIndexOf([]bootfile.Rule{{Labels: map[string]string{"a": "b"}, URL: "http://x/y"}}, machines)
	if m, ok := idx.Of([]byte{0, 4, 1}, clientMAC.String()); !ok || m.Name != "m" {
		t.Errorf("Of(MAC) = %v, %v", m, ok)
	}
}
