package lease

import "encoding/hex"

// ClientIndex finds what belongs to a DHCPv6 client by the identifiers it
// shows: its DUID, else its hardware address (found in its DUID, its
// link-local address or a relay's option 79, as Lease.HardwareAddr holds
// it). It is the one way the agent recognises a machine in DHCPv6: for its
// reserved address and for the boot rules that select it by label.
type ClientIndex[T any] struct {
	byDUID map[string]T
	byMAC  map[string]T
}

// Add indexes v under duids (lowercase hex) and macs (lowercase, colons).
func (x *ClientIndex[T]) Add(duids, macs []string, v T) {
	if x.byDUID == nil {
		x.byDUID, x.byMAC = map[string]T{}, map[string]T{}
	}
	for _, d := range duids {
		x.byDUID[d] = v
	}
	for _, m := range macs {
		x.byMAC[m] = v
	}
}

// Of returns what the client with duid and hardware address mac has, by
// its DUID first.
func (x *ClientIndex[T]) Of(duid []byte, mac string) (T, bool) {
	if len(x.byDUID) > 0 {
		if v, ok := x.byDUID[hex.EncodeToString(duid)]; ok {
			return v, true
		}
	}
	if mac != "" {
		v, ok := x.byMAC[mac]
		return v, ok
	}
	var zero T
	return zero, false
}

// Empty reports whether nothing is indexed, so a caller can skip the
// lookup.
func (x *ClientIndex[T]) Empty() bool { return len(x.byDUID) == 0 && len(x.byMAC) == 0 }
