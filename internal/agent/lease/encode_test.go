package lease

import (
	"encoding/json"
	"net/netip"
	"testing"
	"time"
)

// TestAppendJSON: AppendJSON writes what json.Marshal writes, for leases
// as the server makes them and for the ones it leaves to json.Marshal.
func TestAppendJSON(t *testing.T) {
	arch := uint16(7)
	now := time.Date(2026, 12, 7, 17, 30, 1, 123456789, time.UTC)
	for _, l := range []Lease{
		{},
		{Kind: NA, Address: netip.MustParseAddr("2001:db8::1"), DUID: []byte{0, 1, 0, 1, 2, 3}, IAID: 1, PreferredUntil: now, ValidUntil: now},
		{Kind: PD, Address: netip.MustParseAddr("2001:db8:8::"), PrefixLength: 56, DUID: []byte{}, IAID: 4294967295, PreferredUntil: now,
			ValidUntil: now.In(time.FixedZone("", 5*3600+1800)), LastTransaction: now, ClientArch: &arch,
			UserClass: "iPXE", HardwareAddr: "00:11:22:33:44:55", HardwareAddrSource: "duid"},
		{Kind: TA, Address: netip.MustParseAddr("fe80::1%eth0"), UserClass: "a<b\"\\\u2028é\xff"},
		{ValidUntil: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		checkAppendJSON(t, l)
	}
}

// FuzzAppendJSON compares AppendJSON with json.Marshal on any lease.
func FuzzAppendJSON(f *testing.F) {
	f.Add("na", []byte{0x20, 1, 0xd, 0xb8, 15: 1}, "", 0, []byte{1, 2}, uint32(1), int64(1e18), int64(2e18), int64(0), 0, true, uint16(7), "iPXE", "00:11:22:33:44:55", "duid")
	f.Fuzz(func(t *testing.T, kind string, addr []byte, zone string, plen int, duid []byte, iaid uint32, pref, valid, last int64, offset int, hasArch bool, arch uint16, uc, hw, src string) {
		l := Lease{Kind: Kind(kind), PrefixLength: plen, DUID: duid, IAID: iaid, UserClass: uc, HardwareAddr: hw, HardwareAddrSource: src}
		if a, ok := netip.AddrFromSlice(addr); ok {
			l.Address = a
			if a.Is6() {
				l.Address = a.WithZone(zone)
			}
		}
		zoneOf := time.FixedZone("", offset%(30*3600))
		l.PreferredUntil, l.ValidUntil = time.Unix(0, pref).In(zoneOf), time.Unix(0, valid).UTC()
		if last != 0 {
			l.LastTransaction = time.Unix(last, 0)
		}
		if hasArch {
			l.ClientArch = &arch
		}
		checkAppendJSON(t, l)
	})
}

func checkAppendJSON(t *testing.T, l Lease) {
	t.Helper()
	want, wantErr := json.Marshal(l)
	got, err := AppendJSON([]byte("prefix"), l)
	if (err != nil) != (wantErr != nil) || (err == nil && string(got) != "prefix"+string(want)) {
		t.Fatalf("AppendJSON(%+v) = %s, %v\njson.Marshal     = %s, %v", l, got, err, want, wantErr)
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	arch := uint16(7)
	now := time.Now().UTC()
	l := Lease{Kind: NA, Address: netip.MustParseAddr("2001:db8:1::1:0:1234"), DUID: []byte{0, 1, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, IAID: 1,
		PreferredUntil: now, ValidUntil: now, LastTransaction: now, ClientArch: &arch, HardwareAddr: "00:11:22:33:44:55", HardwareAddrSource: "duid"}
	b.Run("AppendJSON", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf, _ = AppendJSON(buf[:0], l)
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = json.Marshal(l)
		}
	})
}
