package dhcp6

import (
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
	// stored are the log records of stored leases, written once they are.
	stored []logRecord
	// puts counts leases stored so far: a response to a message that
	// raised it announces a lease and must wait for commit.
	puts int
	// held are the responses that announce leases in b, sent once b is
	// stored; now those that announce none, sent when the read is handled.
	held, now []response
	// out is the scratch of sendAll for b's responses.
	out outbox
	// reads counts the datagrams handled into b.
	reads int
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
	clear(b.stored)
	b.stored = b.stored[:0]
	b.puts = 0
	clear(b.held)
	b.held = b.held[:0]
	clear(b.now)
	b.now = b.now[:0]
	b.reads = 0
}

// persist writes the changes of b with one PutLeases call. It touches
// neither the pool nor b, so it may run while the serving goroutine
// handles the next batch; on failure the caller abandons b (and whatever
// was handled after it).
func (h *handler) persist(b *batch) error {
	if len(b.writes) == 0 {
		return nil
	}
	put := b.leases()
	var del []netip.Addr
	for a, l := range b.writes {
		if l == nil {
			del = append(del, a)
		}
	}
	if err := h.store.PutLeases(put, del); err != nil {
		return fmt.Errorf("storing %d leases and deleting %d: %w", len(put), len(del), err)
	}
	return nil
}

// stored tells the pool that b's leases are in storage, so it lists them.
func (h *handler) stored(b *batch) {
	h.pool.Stored(b.leases())
}

// leases are the leases b stores.
func (b *batch) leases() []lease.Lease {
	var out []lease.Lease
	for _, l := range b.writes {
		if l != nil {
			out = append(out, *l)
		}
	}
	return out
}

// logStored logs the leases persist stored, after their Replies are on
// their way: the log is for operators, the Replies are what clients wait
// for.
func (h *handler) logStored(b *batch) {
	for _, r := range b.stored {
		h.logger.Info(r.msg, r.attrs...)
	}
}

// abandon undoes what b did to the pool when its changes could not be
// stored: the bindings b made are released again and its renewals go back
// to their stored lifetimes, so the pool holds nothing that storage lacks,
// and the clients' retransmissions bind anew.
func (h *handler) abandon(b *batch) {
	h.pool.Revert(b.leases())
}

// forget records the deletion of leases the pool dropped (expired) in b,
// so it reaches storage with b's other changes. Should that fail, the
// stale records are dropped by the next Start once they have expired.
func (b *batch) forget(leases []lease.Lease) {
	for _, l := range leases {
		b.delete(l.Address)
	}
}
