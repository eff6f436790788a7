package agent

import "testing"

// TestGCPercent: a small heap keeps collecting at four times its size; a
// heap mostly of lease indexes the collector need not scan grows by three
// times its scannable part only, and no heap by more than gcMaxRoom or half
// its live size.
func TestGCPercent(t *testing.T) {
	const mb = 1 << 20
	for _, c := range []struct {
		live, scan uint64
		want       int
	}{
		{0, 0, 300},
		{10 * mb, 8 * mb, 300},
		{20 * mb, 20 * mb, 300},
		{40 * mb, 40 * mb, 160},
		{40 * mb, 15 * mb, 120},
		{100 * mb, 100 * mb, 64},
		{300 * mb, 15 * mb, 16},
		{300 * mb, 60 * mb, 50},
		{4000 * mb, 10 * mb, 10},
	} {
		if got := gcPercent(c.live, c.scan); got != c.want {
			t.Errorf("gcPercent(%d MB live, %d MB scannable) = %d, want %d", c.live/mb, c.scan/mb, got, c.want)
		}
	}
}
