package dhcp6

import (
	"encoding/hex"
	"fmt"
	"net/netip"

	"github.com/netbootlab/terraform-provider-netboot/internal/lease"
)

// batch collects the lease changes of the messages handled from one read of
// the socket, so they reach storage together: one PutLeases call, which
// with store.Leases is one bbolt transaction and one fsync however many
// clients it serves (group commit).
type batch struct {
	// writes holds the last change of each address: the lease to store, or
	// nil to delete it. A Request and a Release of one address in the same
	// batch thus end as one delete.
	writes map[netip.Addr]*lease.Lease
	// fresh are bindings new to the pool in this batch (not renewals of a
	// stored one); commit releases them again if storing fails, so the pool
	// holds no binding that storage lacks.
	fresh []lease.Lease
	// stored are the log records of stored leases, written once they are.
	stored []logRecord
	// puts counts leases stored so far: a response to a message that
	// raised it announces a lease and must wait for commit.
	puts int
}

type logRecord struct {
	msg   string
	attrs []any
}

// put stores l at commit; msg and attrs are logged once it is stored.
func (b *batch) put(l lease.Lease, msg string, attrs ...any) {
	if b.writes == nil {
		b.writes = map[netip.Addr]*lease.Lease{}
	}
	b.writes[l.Address] = &l
	b.stored = append(b.stored, logRecord{msg, attrs})
	b.puts++
}

// delete removes the lease of addr from storage at commit.
func (b *batch) delete(addr netip.Addr) {
	if b.writes == nil {
		b.writes = map[netip.Addr]*lease.Lease{}
	}
	b.writes[addr] = nil
}

// reset empties b for the next read, keeping its memory.
func (b *batch) reset() {
	clear(b.writes)
	clear(b.fresh)
	b.fresh = b.fresh[:0]
	clear(b.stored)
	b.stored = b.stored[:0]
	b.puts = 0
}

// commit stores the changes of b with one PutLeases call and logs the leases
// it stored. If that fails, nothing of b is stored, and the bindings b made
// are released from the pool again: their Replies must not be sent, and the
// clients' retransmissions bind anew. Renewals stay extended in the pool
// only: their bindings are stored, with the lifetimes the clients were last
// told, so the pool merely keeps those addresses a little longer.
func (h *handler) commit(b *batch) error {
	if len(b.writes) == 0 {
		return nil
	}
	var put []lease.Lease
	var del []netip.Addr
	for a, l := range b.writes {
		if l == nil {
			del = append(del, a)
		} else {
			put = append(put, *l)
		}
	}
	if err := h.store.PutLeases(put, del); err != nil {
		for _, l := range b.fresh {
			h.pool.Release(l.Kind, l.DUID, l.IAID, l.Address)
		}
		return fmt.Errorf("storing %d leases and deleting %d: %w", len(put), len(del), err)
	}
	for _, r := range b.stored {
		h.logger.Info(r.msg, r.attrs...)
	}
	return nil
}

// forget deletes leases the pool dropped (expired, or invalid at startup)
// from storage, in one transaction. A failure only leaves stale records,
// which the next Start drops once they have expired, so it is logged, not
// returned.
func (h *handler) forget(leases []lease.Lease, why string) {
	if len(leases) == 0 {
		return
	}
	addrs := make([]netip.Addr, len(leases))
	for i, l := range leases {
		addrs[i] = l.Address
	}
	if err := h.store.PutLeases(nil, addrs); err != nil {
		for _, l := range leases {
			h.logger.Error("deleting lease from storage", "address", l.Address, "duid", hex.EncodeToString(l.DUID), "reason", why, "error", err)
		}
	}
}
