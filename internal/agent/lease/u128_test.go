package lease

import (
	"math/big"
	"testing"
)

func TestU128Mod(t *testing.T) {
	tests := []struct{ u, m u128 }{
		{u128{0, 17}, u128{0, 5}},
		{u128{0xffffffffffffffff, 0xffffffffffffffff}, u128{0, 1000}},
		{u128{0x1234, 0x5678}, u128{1, 0}},            // a whole /64
		{u128{0xdeadbeef, 0xcafe}, u128{2, 12345}},    // more than 2^64
		{u128{0x1, 0xffffffffffffffff}, u128{3, 0x1}}, // u < m
	}
	for _, tt := range tests {
		want := new(big.Int).Mod(tt.u.big(), tt.m.big())
		if got := tt.u.mod(tt.m).big(); got.Cmp(want) != 0 {
			t.Errorf("%v mod %v = %v, want %v", tt.u, tt.m, got, want)
		}
	}
}

func TestU128Shift(t *testing.T) {
	mask := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1))
	for _, u := range []u128{{0, 1}, {1, 0}, {0x0123456789abcdef, 0xfedcba9876543210}, {^uint64(0), ^uint64(0)}} {
		for _, n := range []uint{0, 1, 8, 63, 64, 65, 72, 80, 127, 128} {
			wantR := new(big.Int).Rsh(u.big(), n)
			wantL := new(big.Int).And(new(big.Int).Lsh(u.big(), n), mask)
			if got := u.shr(n).big(); got.Cmp(wantR) != 0 {
				t.Errorf("%v >> %d = %v, want %v", u, n, got, wantR)
			}
			if got := u.shl(n).big(); got.Cmp(wantL) != 0 {
				t.Errorf("%v << %d = %v, want %v", u, n, got, wantL)
			}
		}
	}
}
