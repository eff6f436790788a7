package peerlimit

import (
	"errors"
	"net/netip"
	"testing"
)

func TestCounter(t *testing.T) {
	a := netip.MustParseAddr("2001:db8::a")
	b := netip.MustParseAddr("2001:db8::b")
	aZoned := netip.MustParseAddr("2001:db8::a%eth0")
	v4 := netip.MustParseAddr("192.0.2.1")
	v4Mapped := netip.MustParseAddr("::ffff:192.0.2.1")

	type step struct {
		client  netip.Addr
		release int // >0: release the slot taken at this 1-based step instead
		wantErr error
	}
	tests := []struct {
		name                 string
		maxTotal, maxPerPeer int
		steps                []step
	}{
		{
			name: "per-peer cap leaves room for others", maxTotal: 3, maxPerPeer: 1,
			steps: []step{{client: a}, {client: a, wantErr: ErrPerPeer}, {client: b}},
		},
		{
			name: "total cap", maxTotal: 2, maxPerPeer: 2,
			steps: []step{{client: a}, {client: b}, {client: b, wantErr: ErrTotal}},
		},
		{
			name: "release frees the slot", maxTotal: 1, maxPerPeer: 1,
			steps: []step{{client: a}, {client: b, wantErr: ErrTotal}, {release: 1}, {client: b}},
		},
		{
			name: "double release counts once", maxTotal: 2, maxPerPeer: 2,
			steps: []step{{client: a}, {client: b}, {release: 1}, {release: 1}, {client: a}, {client: a, wantErr: ErrTotal}},
		},
		{
			name: "zone or mapped form does not make a new peer", maxTotal: 5, maxPerPeer: 1,
			steps: []step{{client: a}, {client: aZoned, wantErr: ErrPerPeer}, {client: v4, release: 0}, {client: v4Mapped, wantErr: ErrPerPeer}},
		},
		{
			name: "zero limits refuse all", maxTotal: 0, maxPerPeer: 0,
			steps: []step{{client: a, wantErr: ErrTotal}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l Counter
			releases := map[int]func(){}
			for i, st := range tt.steps {
				if st.release > 0 {
					releases[st.release]()
					continue
				}
				release, _, err := l.Acquire(st.client, tt.maxTotal, tt.maxPerPeer)
				if !errors.Is(err, st.wantErr) {
					t.Fatalf("step %d: acquire(%s) error = %v, want %v", i+1, st.client, err, st.wantErr)
				}
				if err == nil {
					releases[i+1] = release
				}
			}
			for _, r := range releases {
				r()
			}
			if l.total != 0 || len(l.perPeer) != 0 {
				t.Errorf("after releasing everything: total %d, per peer %v", l.total, l.perPeer)
			}
		})
	}
}
