package dhcp6

import (
	"encoding/binary"
	"net"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
)

// encodedSize is the room a response's buffer starts with: an Advertise or
// Reply with one IA, DNS options and a boot-file URL fits.
const encodedSize = 512

// encode returns m as m.ToBytes() does, byte for byte, in one buffer.
// insomniacslk/dhcp encodes every option, and every option nested in an
// IA, into a buffer of its own that the enclosing one copies and grows
// around: the largest share of a DHCPv6 exchange's allocations (see the
// README's dependency table). encode writes the message and its IAs in
// place, and copies the encodings of the options in known (the same
// values in every response: server identifier, DNS options); the other
// leaf options (client identifier, boot-file URL) still come from their
// own ToBytes.
func encode(m dhcpv6.DHCPv6, known ...[]encodedOption) []byte {
	buf := make([]byte, 0, encodedSize)
	e := encoder{known}
	switch m := m.(type) {
	case *dhcpv6.Message:
		buf = append(buf, byte(m.MessageType))
		buf = append(buf, m.TransactionID[:]...)
		return e.appendOptions(buf, m.Options.Options)
	case *dhcpv6.RelayMessage:
		buf = append(buf, byte(m.MessageType), m.HopCount)
		buf = appendIP(buf, m.LinkAddr)
		buf = appendIP(buf, m.PeerAddr)
		return e.appendOptions(buf, m.Options.Options)
	}
	return append(buf, m.ToBytes()...)
}

// encodedOption is an option that many responses share, with its value
// encoded once.
type encodedOption struct {
	opt  dhcpv6.Option
	wire []byte
}

func encoded(o dhcpv6.Option) encodedOption { return encodedOption{o, o.ToBytes()} }

// encodedOptions encodes each of opts.
func encodedOptions(opts []dhcpv6.Option) []encodedOption {
	out := make([]encodedOption, len(opts))
	for i, o := range opts {
		out[i] = encoded(o)
	}
	return out
}

type encoder struct {
	known [][]encodedOption
}

// appendOptions appends each option's code, length and value.
func (e encoder) appendOptions(buf []byte, opts dhcpv6.Options) []byte {
	for _, o := range opts {
		buf = binary.BigEndian.AppendUint16(buf, uint16(o.Code()))
		at := len(buf)
		buf = e.appendOptionValue(append(buf, 0, 0), o)
		// As ToBytes, a value over 65,535 bytes wraps its length.
		binary.BigEndian.PutUint16(buf[at:], uint16(len(buf)-at-2))
	}
	return buf
}

// appendOptionValue appends what o.ToBytes() returns.
func (e encoder) appendOptionValue(buf []byte, o dhcpv6.Option) []byte {
	switch o := o.(type) {
	case *dhcpv6.OptIANA:
		buf = append(buf, o.IaId[:]...)
		buf = appendSeconds(appendSeconds(buf, o.T1), o.T2)
		return e.appendOptions(buf, o.Options.Options)
	case *dhcpv6.OptIATA:
		buf = append(buf, o.IaId[:]...)
		return e.appendOptions(buf, o.Options.Options)
	case *dhcpv6.OptIAPD:
		buf = append(buf, o.IaId[:]...)
		buf = appendSeconds(appendSeconds(buf, o.T1), o.T2)
		return e.appendOptions(buf, o.Options.Options)
	case *dhcpv6.OptIAAddress:
		buf = appendIP(buf, o.IPv6Addr)
		buf = appendSeconds(appendSeconds(buf, o.PreferredLifetime), o.ValidLifetime)
		return e.appendOptions(buf, o.Options.Options)
	case *dhcpv6.OptIAPrefix:
		buf = appendSeconds(appendSeconds(buf, o.PreferredLifetime), o.ValidLifetime)
		if o.Prefix != nil {
			length, _ := o.Prefix.Mask.Size()
			buf = appendIP(append(buf, byte(length)), o.Prefix.IP)
		} else {
			buf = appendIP(append(buf, 0), nil)
		}
		return e.appendOptions(buf, o.Options.Options)
	case *dhcpv6.OptStatusCode:
		buf = binary.BigEndian.AppendUint16(buf, uint16(o.StatusCode))
		return append(buf, o.StatusMessage...)
	}
	for _, known := range e.known {
		for _, k := range known {
			// The very value (a pointer), so its encoding is current.
			if k.opt == o {
				return append(buf, k.wire...)
			}
		}
	}
	return append(buf, o.ToBytes()...)
}

// appendSeconds appends d as a lifetime: whole seconds in 32 bits.
func appendSeconds(buf []byte, d time.Duration) []byte {
	return binary.BigEndian.AppendUint32(buf, uint32(d.Round(time.Second)/time.Second))
}

// appendIP appends ip in 16 bytes, zeros when it is no IP address.
func appendIP(buf []byte, ip net.IP) []byte {
	if ip16 := ip.To16(); ip16 != nil {
		return append(buf, ip16...)
	}
	return append(buf, make([]byte, net.IPv6len)...)
}
