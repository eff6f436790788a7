package lease

import (
	"encoding/base64"
	"encoding/json"
	"net/netip"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// Decode reads a lease stored as JSON into l, as json.Unmarshal would. A
// store loads millions of leases at startup, so records as MarshalJSON
// wrote them (no spaces, no escapes, the field names exactly) are read by
// a scanner that knows their fields, several times faster than the
// reflection of encoding/json; anything else goes through encoding/json.
func Decode(b []byte, l *Lease) error {
	*l = Lease{}
	return decode(b, l, nil)
}

// DecodeView is Decode for a lease only looked at: its strings are b's
// bytes, and its DUID and client architecture reuse the memory of l's
// earlier ones, so a loop decoding record after record into one Lease
// allocates nothing. l is valid while b is, until the next DecodeView.
func DecodeView(b []byte, l *Lease) error {
	scratch := &viewScratch{duid: l.DUID[:0], arch: l.ClientArch}
	*l = Lease{}
	return decode(b, l, scratch)
}

// viewScratch is the memory DecodeView reuses; nil for Decode.
type viewScratch struct {
	duid []byte
	arch *uint16
}

func decode(b []byte, l *Lease, v *viewScratch) error {
	if decodeFast(b, l, v) {
		if l.Kind == "" {
			l.Kind = NA
		}
		return nil
	}
	*l = Lease{}
	return json.Unmarshal(b, l)
}

// decodeFast reads b into the zero l if it is a flat JSON object of known
// fields with plain values, reporting false for anything else.
func decodeFast(b []byte, l *Lease, scratch *viewScratch) bool {
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return false
	}
	b = b[1 : len(b)-1]
	for len(b) > 0 {
		name, rest, ok := plainString(b)
		if !ok || len(rest) == 0 || rest[0] != ':' {
			return false
		}
		b = rest[1:]
		var value []byte
		str := len(b) > 0 && b[0] == '"'
		if str {
			if value, b, ok = plainString(b); !ok {
				return false
			}
		} else {
			i := 0
			for i < len(b) && b[i] >= '0' && b[i] <= '9' {
				i++
			}
			if i == 0 || i > 1 && b[0] == '0' {
				return false
			}
			value, b = b[:i], b[i:]
		}
		if !setField(l, name, value, str, scratch) {
			return false
		}
		if len(b) > 0 {
			if b[0] != ',' || len(b) == 1 {
				return false
			}
			b = b[1:]
		}
	}
	return true
}

// plainString is the content of the JSON string b starts with, if it holds
// no escape, control character or invalid UTF-8, and what follows it. It
// reads each byte once: records are mostly strings.
func plainString(b []byte) (s, rest []byte, ok bool) {
	if len(b) == 0 || b[0] != '"' {
		return nil, nil, false
	}
	ascii := true
	for i := 1; i < len(b); i++ {
		switch stringBytes[b[i]] {
		case plainByte:
		case quoteByte:
			s = b[1:i]
			if !ascii && !utf8.Valid(s) {
				return nil, nil, false
			}
			return s, b[i+1:], true
		case nonASCIIByte:
			ascii = false
		default:
			return nil, nil, false
		}
	}
	return nil, nil, false
}

// What a byte is inside a JSON string, for plainString.
const (
	plainByte = iota
	quoteByte
	nonASCIIByte
	escapeByte // a backslash or a control character
)

var stringBytes = func() (c [256]uint8) {
	for i := range 0x20 {
		c[i] = escapeByte
	}
	c['\\'] = escapeByte
	c['"'] = quoteByte
	for i := 0x80; i < len(c); i++ {
		c[i] = nonASCIIByte
	}
	return c
}()

// setField sets l's field of JSON name to v, a string's content when str
// else a number's digits; scratch as in decode.
func setField(l *Lease, name, v []byte, str bool, scratch *viewScratch) bool {
	number := func(bits int) (uint64, bool) {
		n, err := strconv.ParseUint(unsafe.String(unsafe.SliceData(v), len(v)), 10, bits)
		return n, !str && err == nil
	}
	text := func() string {
		if scratch != nil {
			return unsafe.String(unsafe.SliceData(v), len(v))
		}
		return string(v)
	}
	switch string(name) {
	case "kind":
		l.Kind = Kind(text())
		return str
	case "address":
		// As netip.Addr.UnmarshalText reads it, without copying v: a
		// zone, the only part an Addr keeps, is copied by ParseAddr.
		if len(v) == 0 {
			return str
		}
		a, err := netip.ParseAddr(unsafe.String(unsafe.SliceData(v), len(v)))
		l.Address = a
		return str && err == nil
	case "prefix_length":
		n, ok := number(63)
		l.PrefixLength = int(n)
		return ok
	case "duid":
		if !str {
			return false
		}
		var d []byte
		if n := base64.StdEncoding.DecodedLen(len(v)); scratch != nil && cap(scratch.duid) >= n {
			d = scratch.duid[:n]
		} else {
			d = make([]byte, n)
		}
		n, err := base64.StdEncoding.Decode(d, v)
		l.DUID = d[:n]
		return err == nil
	case "iaid":
		n, ok := number(32)
		l.IAID = uint32(n)
		return ok
	case "preferred_until":
		return str && l.PreferredUntil.UnmarshalText(v) == nil
	case "valid_until":
		return str && l.ValidUntil.UnmarshalText(v) == nil
	case "last_transaction":
		return str && l.LastTransaction.UnmarshalText(v) == nil
	case "client_arch":
		n, ok := number(16)
		if scratch != nil && scratch.arch != nil {
			l.ClientArch = scratch.arch
		} else {
			l.ClientArch = new(uint16)
		}
		*l.ClientArch = uint16(n)
		return ok
	case "user_class":
		l.UserClass = text()
		return str
	case "hardware_addr":
		l.HardwareAddr = text()
		return str
	case "hardware_addr_source":
		l.HardwareAddrSource = text()
		return str
	}
	return false
}
