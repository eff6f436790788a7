package lease

import (
	"encoding/json"
	"net/netip"
	"reflect"
	"testing"
	"time"
)

func decodeSeeds() [][]byte {
	arch := uint16(7)
	at := time.Date(2026, 12, 7, 14, 0, 0, 123456789, time.UTC)
	full, _ := json.Marshal(Lease{Kind: PD, Address: netip.MustParseAddr("2001:db8:100::"), PrefixLength: 56, DUID: []byte{0, 3, 0, 1, 2, 3, 4, 5, 6, 7},
		IAID: 4294967295, PreferredUntil: at, ValidUntil: at.Add(time.Hour), LastTransaction: at.Add(-time.Minute),
		ClientArch: &arch, UserClass: "iPXE", HardwareAddr: "52:54:00:12:34:56", HardwareAddrSource: "duid"})
	plain, _ := json.Marshal(Lease{Address: netip.MustParseAddr("2001:db8::1"), DUID: []byte{1}, ValidUntil: at})
	return [][]byte{full, plain,
		[]byte(`{"address":"2001:db8::1","duid":"AQ==","iaid":1}`),
		[]byte(`{"kind":"na","address":"2001:db8::1","iaid":1,"user_class":"a\"b"}`),
		[]byte(`{"kind":"na","address":"2001:db8::1","iaid":4294967296}`),
		[]byte(`{"kind":"na", "address":"2001:db8::1"}`),
		[]byte(`{"Kind":"ta","address":"2001:db8::1","iaid":01}`),
		[]byte(`{"kind":"na","address":"2001:db8::1","client_arch":null}`),
		[]byte(`{"kind":"na","duid":"AQ","valid_until":"2026-12-07T14:00:00+01:00"}`),
		[]byte(`{"user_class":"\xff","iaid":1,}`),
		[]byte(`{"address":"fe80::1%eth0","iaid":2}`), []byte(`{"address":"","iaid":2}`), []byte(`{"address":"192.0.2.1"}`),
		[]byte(`{"address":"2001:db8::zz"}`), []byte(`{"user_class":"été"}`), []byte("{\"user_class\":\"\xff\"}"),
		[]byte(`{}`), []byte(`{"`), []byte(`nul`),
	}
}

// TestDecodeAsJSON: Decode reads what encoding/json reads, the records it
// writes by the fast path.
func TestDecodeAsJSON(t *testing.T) {
	for _, b := range decodeSeeds() {
		checkDecode(t, b)
	}
	var fast Lease
	if !decodeFast(decodeSeeds()[0], &fast, nil) {
		t.Error("a record as MarshalJSON writes it does not take the fast path")
	}
}

func FuzzDecode(f *testing.F) {
	for _, b := range decodeSeeds() {
		f.Add(b)
	}
	f.Fuzz(checkDecode)
}

func checkDecode(t *testing.T, b []byte) {
	var want, got Lease
	wantErr := json.Unmarshal(b, &want)
	gotErr := Decode(b, &got)
	if (wantErr == nil) != (gotErr == nil) {
		t.Fatalf("%s: Decode error %v, encoding/json %v", b, gotErr, wantErr)
	}
	if wantErr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: Decode = %+v, encoding/json %+v", b, got, want)
	}
	// A view decoded over an earlier lease's memory reads the same.
	arch := uint16(9)
	view := Lease{DUID: make([]byte, 0, 64), ClientArch: &arch, UserClass: "earlier"}
	viewErr := DecodeView(b, &view)
	if (viewErr == nil) != (wantErr == nil) || wantErr == nil && !reflect.DeepEqual(normal(view), normal(want)) {
		t.Fatalf("%s: DecodeView = %+v (%v), encoding/json %+v (%v)", b, view, viewErr, want, wantErr)
	}
}

// normal makes an empty DUID nil, as a view's may be empty.
func normal(l Lease) Lease {
	if len(l.DUID) == 0 {
		l.DUID = nil
	}
	return l
}

// BenchmarkDecodeView is what reading one stored record costs at start-up.
func BenchmarkDecodeView(b *testing.B) {
	rec := decodeSeeds()[0]
	var l Lease
	b.ReportAllocs()
	for b.Loop() {
		if err := DecodeView(rec, &l); err != nil {
			b.Fatal(err)
		}
	}
}
