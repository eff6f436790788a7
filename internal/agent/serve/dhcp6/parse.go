package dhcp6

import (
	"encoding/binary"
	"fmt"

	"github.com/insomniacslk/dhcp/dhcpv6"
)

// parseDatagram parses a DHCPv6 datagram. A client message whose only flaw
// is a malformed User Class option (15) is parsed without that option, and
// ignored says why it was left out: some clients (a misconfigured dhclient)
// send a bare string there, without the length RFC 8415 section 21.15 puts
// before each class, and such a client should still boot as one without a
// user class rather than get no answer at all.
func parseDatagram(data []byte) (msg dhcpv6.DHCPv6, ignored, err error) {
	msg, err = dhcpv6.FromBytes(data)
	if err == nil || len(data) < 4 {
		return msg, nil, err
	}
	if t := dhcpv6.MessageType(data[0]); t == dhcpv6.MessageTypeRelayForward || t == dhcpv6.MessageTypeRelayReply {
		return nil, nil, err
	}
	kept := make([]byte, 4, len(data))
	copy(kept, data[:4])
	for opts := data[4:]; len(opts) > 0; {
		if len(opts) < 4 {
			return nil, nil, err
		}
		end := 4 + int(binary.BigEndian.Uint16(opts[2:4]))
		if len(opts) < end {
			return nil, nil, err
		}
		opt := opts[:end]
		opts = opts[end:]
		if dhcpv6.OptionCode(binary.BigEndian.Uint16(opt)) == dhcpv6.OptionUserClass {
			if bad := new(dhcpv6.OptUserClass).FromBytes(opt[4:]); bad != nil {
				ignored = fmt.Errorf("ignoring malformed User Class option (15) %q: %w", opt[4:], bad)
				continue
			}
		}
		kept = append(kept, opt...)
	}
	if ignored == nil {
		return nil, nil, err
	}
	if msg, retry := dhcpv6.FromBytes(kept); retry == nil {
		return msg, ignored, nil
	}
	return nil, nil, err
}
