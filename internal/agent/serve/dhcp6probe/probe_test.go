package dhcp6probe

import (
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"
)

var (
	probeDUID = &dhcpv6.DUIDUUID{UUID: [16]byte{1, 2, 3, 4, 5, 6, 0x47, 8, 0x89, 10, 11, 12, 13, 14, 15, 16}}
	ourDUID   = &dhcpv6.DUIDLL{HWType: iana.HWTypeEthernet, LinkLayerAddr: net.HardwareAddr{2, 0, 0, 0, 0, 1}}
	keaDUID   = &dhcpv6.DUIDLLT{HWType: iana.HWTypeEthernet, Time: 1, LinkLayerAddr: net.HardwareAddr{2, 0, 0, 0, 0, 2}}
	peer      = netip.MustParseAddr("fe80::2")
)

func TestSolicitAsksWithoutCommitting(t *testing.T) {
	msg, err := Solicit(probeDUID, [4]byte{0, 0, 0, 7})
	if err != nil {
		t.Fatal(err)
	}
	// What goes on the wire, as a server parses it.
	parsed, err := dhcpv6.MessageFromBytes(msg.ToBytes())
	if err != nil {
		t.Fatal(err)
	}
	if parsed.MessageType != dhcpv6.MessageTypeSolicit {
		t.Errorf("message type %s, want SOLICIT", parsed.MessageType)
	}
	if parsed.GetOneOption(dhcpv6.OptionRapidCommit) != nil {
		t.Error("the probe carries Rapid Commit: a server would commit a lease to it")
	}
	if cid := parsed.Options.ClientID(); cid == nil || !cid.Equal(probeDUID) {
		t.Errorf("client ID %v, want the probe's DUID", cid)
	}
	if ia := parsed.Options.OneIANA(); ia == nil || ia.IaId != [4]byte{0, 0, 0, 7} {
		t.Errorf("IA_NA %v, want IAID 7", ia)
	}
	if uc := parsed.Options.UserClasses(); len(uc) != 1 || string(uc[0]) != UserClass {
		t.Errorf("user classes %q, want %q", uc, UserClass)
	}
	if oro := parsed.Options.RequestedOptions(); !slices.Contains(oro, dhcpv6.OptionBootfileURL) || !slices.Contains(oro, dhcpv6.OptionDNSRecursiveNameServer) {
		t.Errorf("option request %v lacks the boot-file URL or DNS servers", oro)
	}
}

// answer builds another server's answer to the probe.
func answer(t *testing.T, typ dhcpv6.MessageType, edit func(m *dhcpv6.Message)) []byte {
	t.Helper()
	m, err := dhcpv6.NewMessage()
	if err != nil {
		t.Fatal(err)
	}
	m.MessageType = typ
	m.AddOption(dhcpv6.OptClientID(probeDUID))
	m.AddOption(dhcpv6.OptServerID(keaDUID))
	if edit != nil {
		edit(m)
	}
	return m.ToBytes()
}

func TestAnswer(t *testing.T) {
	kea := func(m *dhcpv6.Message) {
		m.AddOption(&dhcpv6.OptIANA{IaId: [4]byte{0, 0, 0, 7}, T1: 1000 * time.Second, T2: 2000 * time.Second,
			Options: dhcpv6.IdentityOptions{Options: dhcpv6.Options{&dhcpv6.OptIAAddress{
				IPv6Addr: net.ParseIP("2001:db8:1::1:5"), PreferredLifetime: 3000 * time.Second, ValidLifetime: 4000 * time.Second}}}})
		m.AddOption(dhcpv6.OptDNS(net.ParseIP("2001:db8:1::1")))
		m.AddOption(dhcpv6.OptBootFileURL("tftp://[2001:db8:1::1]/undionly.kpxe\n"))
		m.AddOption(dhcpv6.OptPreference(255))
	}
	tests := []struct {
		name       string
		b          []byte
		own        []byte
		wantErr    string
		wantOffers []string
	}{
		{name: "Kea's Advertise", b: answer(t, dhcpv6.MessageTypeAdvertise, kea), own: ourDUID.ToBytes(), wantOffers: []string{
			"preference 255",
			"IA_NA T1 1000 s, T2 2000 s",
			"IA_NA address 2001:db8:1::1:5 (preferred 3000 s, valid 4000 s)",
			"DNS servers 2001:db8:1::1",
			"boot-file URL tftp://[2001:db8:1::1]/undionly.kpxe?",
		}},
		{name: "a stateless server's Advertise", b: answer(t, dhcpv6.MessageTypeAdvertise, func(m *dhcpv6.Message) {
			m.AddOption(&dhcpv6.OptStatusCode{StatusCode: iana.StatusNoAddrsAvail, StatusMessage: "no addresses"})
		}), wantOffers: []string{"status NoAddrsAvail (no addresses)"}},
		{name: "a Reply (the server commits on Solicit)", b: answer(t, dhcpv6.MessageTypeReply, nil),
			wantOffers: []string{"Reply without a Request (rapid commit)"}},
		{name: "our own server", b: answer(t, dhcpv6.MessageTypeAdvertise, nil), own: keaDUID.ToBytes(), wantErr: "our own"},
		{name: "another client's answer", b: answer(t, dhcpv6.MessageTypeAdvertise, func(m *dhcpv6.Message) {
			m.UpdateOption(dhcpv6.OptClientID(ourDUID))
		}), wantErr: "not for the probe"},
		{name: "no server ID", b: answer(t, dhcpv6.MessageTypeAdvertise, func(m *dhcpv6.Message) {
			m.Options.Del(dhcpv6.OptionServerID)
		}), wantErr: "no Server Identifier"},
		{name: "a Solicit", b: answer(t, dhcpv6.MessageTypeSolicit, nil), wantErr: "not an answer"},
		{name: "garbage", b: []byte{2, 0}, wantErr: "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Answer(tt.b, peer, probeDUID, tt.own)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Answer error %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Source != peer || got.LinkLayerAddress != "02:00:00:00:00:02" || !slices.Equal(got.DUID, keaDUID.ToBytes()) {
				t.Errorf("sighting %+v: want Kea's source, MAC and DUID", got)
			}
			if !slices.Equal(got.Offers, tt.wantOffers) {
				t.Errorf("offers:\n%s\nwant:\n%s", strings.Join(got.Offers, "\n"), strings.Join(tt.wantOffers, "\n"))
			}
		})
	}
}

func TestJitterStaysWithinAFifth(t *testing.T) {
	for range 1000 {
		if d := jitter(5 * time.Minute); d < 4*time.Minute || d > 6*time.Minute {
			t.Fatalf("jitter(5m) = %s, want 4m to 6m", d)
		}
	}
}

func FuzzAnswer(f *testing.F) {
	f.Add([]byte{2, 0, 0, 1})
	m, _ := Solicit(probeDUID, [4]byte{})
	m.MessageType = dhcpv6.MessageTypeAdvertise
	m.AddOption(dhcpv6.OptServerID(keaDUID))
	f.Add(m.ToBytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Answer(b, peer, probeDUID, nil)
		if err == nil && len(s.DUID) == 0 {
			t.Fatal("a sighting without a server DUID")
		}
	})
}
