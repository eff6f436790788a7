package tftp

import (
	"errors"
	"net/netip"
	"testing"
)

func TestTransferLimiter(t *testing.T) {
	a := netip.MustParseAddr("2001:db8::a")
	b := netip.MustParseAddr("2001:db8::b")
	aZoned := netip.MustParseAddr("2001:db8::a%eth0")

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
			name: "per-client cap leaves room for others", maxTotal: 3, maxPerPeer: 1,
			steps: []step{{client: a}, {client: a, wantErr: errClientBusy}, {client: b}},
		},
		{
			name: "total cap", maxTotal: 2, maxPerPeer: 2,
			steps: []step{{client: a}, {client: b}, {client: b, wantErr: errServerBusy}},
		},
		{
			name: "release frees the slot", maxTotal: 1, maxPerPeer: 1,
			steps: []step{{client: a}, {client: b, wantErr: errServerBusy}, {release: 1}, {client: b}},
		},
		{
			name: "double release counts once", maxTotal: 2, maxPerPeer: 2,
			steps: []step{{client: a}, {client: b}, {release: 1}, {release: 1}, {client: a}, {client: a, wantErr: errServerBusy}},
		},
		{
			name: "zone does not make a new client", maxTotal: 5, maxPerPeer: 1,
			steps: []step{{client: a}, {client: aZoned, wantErr: errClientBusy}},
		},
		{
			name: "zero limits refuse all", maxTotal: 0, maxPerPeer: 0,
			steps: []step{{client: a, wantErr: errServerBusy}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l transferLimiter
			releases := map[int]func(){}
			for i, st := range tt.steps {
				if st.release > 0 {
					releases[st.release]()
					continue
				}
				release, _, err := l.acquire(st.client, tt.maxTotal, tt.maxPerPeer)
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
			if l.total != 0 || len(l.perClient) != 0 {
				t.Errorf("after releasing everything: total %d, per client %v", l.total, l.perClient)
			}
		})
	}
}
