package lease

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"
)

// AppendJSON appends l encoded as json.Marshal encodes it, byte for byte,
// without reflection: every lease a DHCPv6 server grants is encoded on its
// way to storage, and json.Marshal's walk of the type was a large part of
// storing one. A lease with a string that JSON must escape, or a time
// outside what RFC 3339 can write, is left to json.Marshal.
func AppendJSON(b []byte, l Lease) ([]byte, error) {
	if !plainLease(l) {
		data, err := json.Marshal(l)
		return append(b, data...), err
	}
	b = append(b, `{"kind":"`...)
	b = append(b, l.Kind...)
	b = append(b, `","address":"`...)
	if l.Address.IsValid() {
		b = l.Address.AppendTo(b)
	}
	b = append(b, '"')
	if l.PrefixLength != 0 {
		b = append(b, `,"prefix_length":`...)
		b = strconv.AppendInt(b, int64(l.PrefixLength), 10)
	}
	b = append(b, `,"duid":`...)
	if l.DUID == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, l.DUID)
		b = append(b, '"')
	}
	b = append(b, `,"iaid":`...)
	b = strconv.AppendUint(b, uint64(l.IAID), 10)
	b = appendTime(append(b, `,"preferred_until":`...), l.PreferredUntil)
	b = appendTime(append(b, `,"valid_until":`...), l.ValidUntil)
	if !l.LastTransaction.IsZero() {
		b = appendTime(append(b, `,"last_transaction":`...), l.LastTransaction)
	}
	if l.ClientArch != nil {
		b = append(b, `,"client_arch":`...)
		b = strconv.AppendUint(b, uint64(*l.ClientArch), 10)
	}
	b = appendField(b, "user_class", l.UserClass)
	b = appendField(b, "hardware_addr", l.HardwareAddr)
	b = appendField(b, "hardware_addr_source", l.HardwareAddrSource)
	return append(b, '}'), nil
}

// plainLease says whether AppendJSON writes l itself: its strings need no
// escaping and its times are ones RFC 3339 writes.
func plainLease(l Lease) bool {
	for _, s := range []string{string(l.Kind), l.Address.Zone(), l.UserClass, l.HardwareAddr, l.HardwareAddrSource} {
		if !unescaped(s) {
			return false
		}
	}
	for _, t := range []time.Time{l.PreferredUntil, l.ValidUntil, l.LastTransaction} {
		_, offset := t.Zone()
		if t.Year() < 0 || t.Year() > 9999 || offset%60 != 0 || offset <= -24*3600 || offset >= 24*3600 {
			return false
		}
	}
	return true
}

// unescaped says whether JSON writes s as it is: printable ASCII, and
// none of the characters json.Marshal escapes.
func unescaped(s string) bool {
	for i := range len(s) {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendField appends ,"name":"s" unless s is empty (omitempty).
func appendField(b []byte, name, s string) []byte {
	if s == "" {
		return b
	}
	b = append(b, `,"`...)
	b = append(b, name...)
	b = append(b, `":"`...)
	b = append(b, s...)
	return append(b, '"')
}
