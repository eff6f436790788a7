package lease

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// ClientIndex finds what belongs to a DHCPv6 client by the identifiers it
// shows: its DUID, else its hardware address (found in its DUID, its
// link-local address or a relay's option 79, as Lease.HardwareAddr holds
// it), else the system UUID of a DUID-UUID (UUIDOfDUID). It is the one way
// the agent recognises a machine in DHCPv6: for its reserved address and
// for the boot rules that select it by label.
type ClientIndex[T any] struct {
	byDUID map[string]T
	byMAC  map[string]T
	byUUID map[string]T
}

// Add indexes v under duids (lowercase hex), macs (lowercase, colons) and
// uuids (lowercase 8-4-4-4-12).
func (x *ClientIndex[T]) Add(duids, macs, uuids []string, v T) {
	if x.byDUID == nil {
		x.byDUID, x.byMAC, x.byUUID = map[string]T{}, map[string]T{}, map[string]T{}
	}
	for _, d := range duids {
		x.byDUID[d] = v
	}
	for _, m := range macs {
		x.byMAC[m] = v
	}
	for _, u := range uuids {
		x.byUUID[u] = v
	}
}

// Of returns what the client with duid and hardware address mac has: by
// its DUID, else its MAC address, else the UUID in its DUID-UUID.
func (x *ClientIndex[T]) Of(duid []byte, mac string) (T, bool) {
	if len(x.byDUID) > 0 {
		if v, ok := x.byDUID[hex.EncodeToString(duid)]; ok {
			return v, true
		}
	}
	if mac != "" {
		if v, ok := x.byMAC[mac]; ok {
			return v, true
		}
	}
	if len(x.byUUID) > 0 {
		if u := UUIDOfDUID(duid); u != "" {
			v, ok := x.byUUID[u]
			return v, ok
		}
	}
	var zero T
	return zero, false
}

// Empty reports whether nothing is indexed, so a caller can skip the
// lookup.
func (x *ClientIndex[T]) Empty() bool {
	return len(x.byDUID) == 0 && len(x.byMAC) == 0 && len(x.byUUID) == 0
}

// UUIDOfDUID is the UUID of a DUID-UUID (type 4, RFC 6355) in the
// lowercase 8-4-4-4-12 form machines' uuids are kept in, or "" for
// another type. The 16 bytes are the UUID in network byte order, as RFC
// 6355 says. SMBIOS stores the first three fields little-endian, but iPXE
// builds its DUID from the UUID as its ${uuid} prints it, so the DUID
// spells the UUID the firmware shows and the host menu path carries
// (TestQEMUiPXEDUIDIsItsUUID boots a real iPXE to check).
func UUIDOfDUID(duid []byte) string {
	if len(duid) != 18 || duid[0] != 0 || duid[1] != 4 {
		return ""
	}
	u := duid[2:]
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// DUIDUUID is the DUID-UUID iPXE sends for the system UUID uuid (in the
// form UUIDOfDUID returns), the inverse of UUIDOfDUID; nil when uuid is
// not in that form.
func DUIDUUID(uuid string) []byte {
	plain := strings.ReplaceAll(uuid, "-", "")
	b, err := hex.DecodeString(plain)
	if err != nil || len(b) != 16 || len(uuid) != 36 {
		return nil
	}
	return append([]byte{0, 4}, b...)
}
