package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
)

// TestLoadHandsOverEveryLeaseOnce: Load gives each stored lease once,
// whole while each runs, across several of its batches; it learns the
// record index, so the next write needs no scan; and when each fails it
// stops with each's error.
func TestLoadHandsOverEveryLeaseOnce(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ls := s.Leases("lab")
	const n = 3*scanBatch + 17
	var stored []lease.Lease
	for i := range n {
		a := [16]byte{0x20, 0x01, 0x0d, 0xb8}
		binary.BigEndian.PutUint32(a[12:], uint32(i))
		stored = append(stored, lease.Lease{Kind: lease.NA, Address: netip.AddrFrom16(a), DUID: binary.BigEndian.AppendUint32([]byte{0, 3}, uint32(i)),
			IAID: uint32(i), ValidUntil: time.Unix(int64(i), 0).UTC(), UserClass: "iPXE"})
	}
	if err := ls.PutLeases(stored, nil); err != nil {
		t.Fatal(err)
	}
	ls.keys = nil
	seen := map[netip.Addr]bool{}
	err = ls.Load(func(l lease.Lease) error {
		i := binary.BigEndian.Uint32(l.Address.AsSlice()[12:])
		if seen[l.Address] || !bytes.Equal(l.DUID, stored[i].DUID) || l.IAID != i || l.UserClass != "iPXE" {
			t.Fatalf("Load gave %+v, want %+v once", l, stored[i])
		}
		seen[l.Address] = true
		return nil
	})
	if err != nil || len(seen) != n || len(ls.keys) != n {
		t.Fatalf("Load: %v, %d leases, %d indexed; want %d", err, len(seen), len(ls.keys), n)
	}
	failed := errors.New("enough")
	calls := 0
	err = ls.Load(func(lease.Lease) error {
		if calls++; calls == scanBatch+5 {
			return failed
		}
		return nil
	})
	if !errors.Is(err, failed) || calls != scanBatch+5 {
		t.Errorf("Load after each failed: %v after %d calls, want %v after %d", err, calls, failed, scanBatch+5)
	}
}
