package lease

import (
	"encoding/hex"
	"testing"
)

// duidUUIDOf is a DUID-UUID with these 16 bytes, as iPXE sends it.
func duidUUIDOf(t *testing.T, uuidHex string) []byte {
	t.Helper()
	b, err := hex.DecodeString("0004" + uuidHex)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestUUIDOfDUID(t *testing.T) {
	for _, tc := range []struct {
		name string
		duid []byte
		want string
	}{
		// The bytes QEMU -uuid 01234567-89ab-cdef-0011-223344556677 gave
		// iPXE's DUID (TestQEMUiPXEDUIDIsItsUUID): network byte order.
		{"iPXE", duidUUIDOf(t, "0123456789ABCDEF0011223344556677"), "01234567-89ab-cdef-0011-223344556677"},
		{"DUID-LL", []byte{0, 3, 0, 1, 0x52, 0x54, 0, 0x12, 0x34, 0x56}, ""},
		{"type 4, short", duidUUIDOf(t, "0123456789abcdef00112233445566"), ""},
		{"type 4, long", duidUUIDOf(t, "0123456789abcdef001122334455667788"), ""},
		{"type 0x104", append([]byte{1, 4}, make([]byte, 16)...), ""},
		{"empty", nil, ""},
	} {
		if got := UUIDOfDUID(tc.duid); got != tc.want {
			t.Errorf("%s: UUIDOfDUID(%x) = %q, want %q", tc.name, tc.duid, got, tc.want)
		}
		if tc.want != "" && string(DUIDUUID(tc.want)) != string(tc.duid) {
			t.Errorf("%s: DUIDUUID(%q) = %x, want %x", tc.name, tc.want, DUIDUUID(tc.want), tc.duid)
		}
	}
}

// A client is recognised by its DUID, else its hardware address, else the
// UUID of its DUID-UUID: the order attribute follows for HTTP and TFTP.
func TestClientIndexOf(t *testing.T) {
	var x ClientIndex[string]
	if !x.Empty() {
		t.Fatal("zero index not empty")
	}
	x.Add([]string{"000200000009010203040506"}, nil, nil, "by-duid")
	x.Add(nil, []string{"52:54:00:aa:bb:01"}, nil, "by-mac")
	x.Add(nil, nil, []string{"4c4c4544-0042-3610-8058-b4c04f4b4d32"}, "by-uuid")
	if x.Empty() {
		t.Fatal("index with entries is empty")
	}
	ipxe := duidUUIDOf(t, "4c4c4544004236108058b4c04f4b4d32")
	for _, tc := range []struct {
		name string
		duid []byte
		mac  string
		want string
	}{
		{"DUID", []byte{0, 2, 0, 0, 0, 9, 1, 2, 3, 4, 5, 6}, "52:54:00:aa:bb:01", "by-duid"},
		{"MAC", []byte{0, 2, 0, 0, 0, 9, 0xff}, "52:54:00:aa:bb:01", "by-mac"},
		{"DUID-UUID", ipxe, "", "by-uuid"},
		{"DUID-UUID, MAC of another machine", ipxe, "52:54:00:aa:bb:01", "by-mac"},
		{"DUID-UUID of no machine", duidUUIDOf(t, "00000000000000000000000000000001"), "", ""},
		{"nobody", []byte{0, 2, 0, 0, 0, 9, 0xff}, "52:54:00:aa:bb:99", ""},
	} {
		got, ok := x.Of(tc.duid, tc.mac)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("%s: Of = %q, %v; want %q", tc.name, got, ok, tc.want)
		}
	}
	var onlyUUIDs ClientIndex[string]
	onlyUUIDs.Add(nil, nil, []string{"4c4c4544-0042-3610-8058-b4c04f4b4d32"}, "by-uuid")
	if onlyUUIDs.Empty() {
		t.Error("an index of UUIDs only is empty: callers would skip the lookup")
	}
}

func TestDUIDUUIDRefusesOtherForms(t *testing.T) {
	for _, u := range []string{"", "0123456789abcdef0011223344556677", "01234567-89ab-cdef-0011-2233445566", "0123456x-89ab-cdef-0011-223344556677"} {
		if got := DUIDUUID(u); got != nil {
			t.Errorf("DUIDUUID(%q) = %x, want nil", u, got)
		}
	}
}
