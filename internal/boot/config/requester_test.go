package config

import (
	"net/netip"
	"testing"
)

func TestMACFromEUI64(t *testing.T) {
	for _, tc := range []struct {
		addr, mac string
		ok        bool
	}{
		{"fe80::5054:ff:fe12:3456", "52:54:00:12:34:56", true},
		{"2001:db8:1::5054:ff:fe12:3456", "52:54:00:12:34:56", true},
		{"2001:db8:1::ff:fe00:1", "02:00:00:00:00:01", true}, // universal/local bit flipped back
		{"2001:db8:1::1000", "", false},
		{"2001:db8:1::5054:ff:fd12:3456", "", false},
		{"::ffff:192.0.2.1", "", false},
	} {
		mac, ok := MACFromEUI64(netip.MustParseAddr(tc.addr))
		if mac != tc.mac || ok != tc.ok {
			t.Errorf("MACFromEUI64(%s) = %q, %v; want %q, %v", tc.addr, mac, ok, tc.mac, tc.ok)
		}
	}
}

func TestRequesterString(t *testing.T) {
	a := netip.MustParseAddr("2001:db8:1::1001")
	if got, want := (Requester{Address: a}).String(), "2001:db8:1::1001 (no machine's address)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := (Requester{Address: a, Machine: "web1", By: AttributedByLease}).String(), `2001:db8:1::1001 (machine "web1"'s, by lease)`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
