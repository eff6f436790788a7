package lease

import (
	"encoding/binary"
	"math/big"
	"math/bits"
	"net/netip"
)

// u128 is an IPv6 address or an offset into a set of ranges. Ranges can be
// as large as a /64 (2^64 addresses), which overflows uint64 by one.
type u128 struct{ hi, lo uint64 }

func u128From(a netip.Addr) u128 {
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func (u u128) addr() netip.Addr {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], u.hi)
	binary.BigEndian.PutUint64(b[8:], u.lo)
	return netip.AddrFrom16(b)
}

func (u u128) add(v u128) u128 {
	lo, carry := bits.Add64(u.lo, v.lo, 0)
	hi, _ := bits.Add64(u.hi, v.hi, carry)
	return u128{hi, lo}
}

func (u u128) sub(v u128) u128 {
	lo, borrow := bits.Sub64(u.lo, v.lo, 0)
	hi, _ := bits.Sub64(u.hi, v.hi, borrow)
	return u128{hi, lo}
}

func (u u128) add64(n uint64) u128 { return u.add(u128{0, n}) }

func (u u128) cmp(v u128) int {
	switch {
	case u.hi < v.hi:
		return -1
	case u.hi > v.hi:
		return 1
	case u.lo < v.lo:
		return -1
	case u.lo > v.lo:
		return 1
	}
	return 0
}

func (u u128) isZero() bool { return u.hi == 0 && u.lo == 0 }

// mod returns u mod m for m > 0.
func (u u128) mod(m u128) u128 {
	switch {
	case m.hi == 0:
		return u128{0, bits.Rem64(u.hi, u.lo, m.lo)}
	case m.hi == 1 && m.lo == 0: // one whole /64
		return u128{0, u.lo}
	}
	// Only a range set larger than 2^64 gets here (one whole /64 is exactly
	// 2^64): rare enough that math/big's allocation does not matter.
	r := new(big.Int).Mod(u.big(), m.big())
	var b [16]byte
	r.FillBytes(b[:])
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func (u u128) big() *big.Int {
	b := new(big.Int).SetUint64(u.hi)
	b.Lsh(b, 64)
	return b.Or(b, new(big.Int).SetUint64(u.lo))
}

// min64 returns min(u, n) as a uint64.
func (u u128) min64(n uint64) uint64 {
	if u.hi > 0 || u.lo > n {
		return n
	}
	return u.lo
}

// shr shifts u right by n bits (n < 128 keeps some; more gives zero).
func (u u128) shr(n uint) u128 {
	switch {
	case n == 0:
		return u
	case n >= 64:
		return u128{0, u.hi >> (n - 64)}
	}
	return u128{u.hi >> n, u.lo>>n | u.hi<<(64-n)}
}

// shl shifts u left by n bits.
func (u u128) shl(n uint) u128 {
	switch {
	case n == 0:
		return u
	case n >= 64:
		return u128{u.lo << (n - 64), 0}
	}
	return u128{u.hi<<n | u.lo>>(64-n), u.lo << n}
}
