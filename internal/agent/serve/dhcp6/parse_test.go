package dhcp6

import (
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv6"
)

func TestParseDatagram(t *testing.T) {
	sol := newSolicit(t, wantBoot)
	good := newSolicit(t, ipxeClass).ToBytes()
	relay := []byte{byte(dhcpv6.MessageTypeRelayForward), 0}
	relay = append(relay, make([]byte, 32)...)
	relay = append(relay, 0, byte(dhcpv6.OptionUserClass), 0, 1, 'x')
	for _, tt := range []struct {
		name        string
		data        []byte
		wantErr     bool
		wantIgnored bool
		userClasses int
	}{
		{"well-formed user class", good, false, false, 1},
		{"bare user class", withBareUserClass(sol), false, true, 0},
		{"user class of one byte", append(sol.ToBytes(), 0, byte(dhcpv6.OptionUserClass), 0, 1, 'x'), false, true, 0},
		{"bare user class and a truncated option", append(withBareUserClass(sol), 0, 1, 0, 9, 1), true, false, 0},
		{"another malformed option", append(sol.ToBytes(), 0, byte(dhcpv6.OptionClientArchType), 0, 1, 7), true, false, 0},
		{"relayed", relay, true, false, 0},
		{"too short", []byte{1, 2}, true, false, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			msg, ignored, err := parseDatagram(tt.data)
			if (err != nil) != tt.wantErr || (ignored != nil) != tt.wantIgnored {
				t.Fatalf("parseDatagram = %v, ignored %v, error %v", msg, ignored, err)
			}
			if err != nil {
				return
			}
			m := msg.(*dhcpv6.Message)
			if got := len(m.Options.UserClasses()); got != tt.userClasses {
				t.Errorf("%d user classes, want %d", got, tt.userClasses)
			}
			if m.Options.ClientID() == nil {
				t.Error("the other options were lost")
			}
		})
	}
}
