package dhcp6

import (
	"bytes"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
)

// FuzzHandle feeds arbitrary datagrams through the parser and the handler,
// as the server does: neither may panic, and every response must encode.
// A Relay-Forward is unwrapped, its client message handled, and the
// response wrapped again as the server sends it.
// Each run meets a stateful server with every kind of IA, or a stateless
// one.
func FuzzHandle(f *testing.F) {
	sol := newSolicit(f, dhcpv6.WithArchType(iana.EFI_X86_64), dhcpv6.WithUserClass([]byte("iPXE")), dhcpv6.WithRapidCommit)
	f.Add(sol.ToBytes(), false)
	f.Add(clientMessage(f, dhcpv6.MessageTypeRequest, clientDUID, serverDUID, iaNA(clientIAID, "2001:db8:1::123")).ToBytes(), false)
	f.Add(clientMessage(f, dhcpv6.MessageTypeRebind, clientDUID, nil, iaNA(clientIAID, "2001:db8:1::123")).ToBytes(), true)
	f.Add(clientMessage(f, dhcpv6.MessageTypeConfirm, clientDUID, nil, iaNA(clientIAID, "2001:db8:1::123")).ToBytes(), false)
	f.Add(clientMessage(f, dhcpv6.MessageTypeInformationRequest, nil, nil).ToBytes(), true)
	// Boot clients asking for option 59: iPXE, UEFI HTTP boot, an arch
	// without a name in insomniacslk/dhcp.
	f.Add(newSolicit(f, wantBoot, ipxeClass, withArch(0x0007)).ToBytes(), false)
	f.Add(newSolicit(f, wantBoot, withArch(0x0010), dhcpv6.WithOption(&dhcpv6.OptVendorClass{EnterpriseNumber: enterprisePXE, Data: [][]byte{[]byte("HTTPClient:Arch:00016:UNDI:003001")}})).ToBytes(), false)
	f.Add(withMods(clientMessage(f, dhcpv6.MessageTypeInformationRequest, clientDUID, nil), []dhcpv6.Modifier{wantBoot, withArch(0x0027)}).ToBytes(), true)
	// IA_TA and IA_PD, alone and with an IA_NA; leasequeries by address
	// and by client.
	f.Add(withIAs(f, dhcpv6.MessageTypeSolicit, nil, iaTA(7), iaPD(1, "::/56")).ToBytes(), false)
	f.Add(withIAs(f, dhcpv6.MessageTypeRequest, serverDUID, iaNA(clientIAID), iaPD(1, "2001:db8:1:100::/64")).ToBytes(), false)
	f.Add(withIAs(f, dhcpv6.MessageTypeRenew, serverDUID, iaTA(7, "2001:db8:1::2000"), iaPD(1, "2001:db8:1:100::/64")).ToBytes(), false)
	f.Add(withIAs(f, dhcpv6.MessageTypeRelease, serverDUID, iaPD(1, "2001:db8:1:100::/64")).ToBytes(), false)
	f.Add(newLeasequery(f, requestorDUID, byAddress("2001:db8:1::100")).ToBytes(), true)
	f.Add(newLeasequery(f, requestorDUID, byClientID(clientDUID)).ToBytes(), false)
	// Relayed: once, through two relays with Interface-Ids, option 79
	// and Relay Source Port, and beyond the hop limit.
	f.Add(relayed(f, sol, relayHop{linkAddr: "2001:db8:10::1", interfaceID: "eth1.10", mac: relayMAC}).ToBytes(), false)
	f.Add(relayed(f, clientMessage(f, dhcpv6.MessageTypeRequest, clientDUID, serverDUID, iaNA(clientIAID)),
		relayHop{linkAddr: "2001:db8:20::1", interfaceID: "in"}, relayHop{linkAddr: "2001:db8:1::fe", interfaceID: "out", sourcePort: true}).ToBytes(), false)
	deep := make([]relayHop, hopLimit+1)
	for i := range deep {
		deep[i] = relayHop{linkAddr: "2001:db8:10::1"}
	}
	f.Add(relayed(f, sol, deep...).ToBytes(), false)
	f.Fuzz(func(t *testing.T, data []byte, stateless bool) {
		parsed, _, err := parseDatagram(data)
		if err != nil {
			return
		}
		// Whatever parses encodes as insomniacslk/dhcp encodes it.
		mustEncodeAsToBytes(t, parsed)
		var relays []*dhcpv6.RelayMessage
		req, ok := parsed.(*dhcpv6.Message)
		if !ok {
			if relays, req, err = unwrapRelay(parsed.(*dhcpv6.RelayMessage)); err != nil {
				return
			}
			if len(relays) > hopLimit {
				t.Fatalf("unwrapped %d relays, beyond the hop limit %d", len(relays), hopLimit)
			}
		}
		mode := config.DHCPv6Stateful
		if stateless {
			mode = config.DHCPv6Stateless
		}
		cfg := bootConfig(mode)
		if !stateless {
			cfg.DHCPv6.TemporaryRanges = []config.AddressRange{seedTemporary}
			pd := seedPD
			cfg.DHCPv6.PrefixDelegation = &pd
			// Small limits, so fuzzed messages of several IAs meet them.
			cfg.DHCPv6.MaxIAsPerMessage, cfg.DHCPv6.MaxLeasesPerClient = 3, 4
		}
		h, _ := newTestHandler(cfg)
		for _, unicast := range []bool{false, true} {
			// Twice, so a second message meets the state the first left.
			for range 2 {
				if resp, err := h.handleAlone(req, clientLL, unicast, t0); err == nil {
					known := [][]encodedOption{h.serverIDWire[:], h.cfg.Load().configWire}
					mustEncodeAsToBytes(t, resp, known...)
					parsed, err := dhcpv6.MessageFromBytes(encode(resp, known...))
					if err != nil {
						t.Fatalf("response to %s does not parse: %v", req.MessageType, err)
					}
					if u := parsed.Options.BootFileURL(); u != "" && !req.Options.RequestedOptions().Contains(dhcpv6.OptionBootfileURL) {
						t.Fatalf("boot-file URL %q sent to a client that did not ask", u)
					}
					if relays != nil {
						reply := wrapReply(relays, resp)
						mustEncodeAsToBytes(t, reply, known...)
						wrapped, err := dhcpv6.FromBytes(encode(reply, known...))
						if err != nil {
							t.Fatalf("Relay-Reply does not parse: %v", err)
						}
						if layers, _, err := unwrapReply(wrapped.(*dhcpv6.RelayMessage)); err != nil || len(layers) != len(relays) {
							t.Fatalf("Relay-Reply of %d layers (%v), want %d", len(layers), err, len(relays))
						}
					}
				}
			}
		}
	})
}

// mustEncodeAsToBytes fails t unless encode(m, known...) is m.ToBytes().
func mustEncodeAsToBytes(t *testing.T, m dhcpv6.DHCPv6, known ...[]encodedOption) {
	t.Helper()
	if got, want := encode(m, known...), m.ToBytes(); !bytes.Equal(got, want) {
		t.Fatalf("encode(%s) =\n%x\nToBytes =\n%x", m.Summary(), got, want)
	}
}
