package dhcp6

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
)

// SharedLeaseStore is a LeaseStore that other agents serving the same link
// write too (pglease, behind agent --lease-db). Its PutLeases fails with a
// *lease.ConflictError when a peer leased one of the addresses first.
type SharedLeaseStore interface {
	LeaseStore
	// LeaseOf returns the client IA's live lease, which a peer may have
	// granted: a client renewing or rebinding here keeps its address.
	LeaseOf(kind lease.Kind, duid []byte, iaid uint32) (l lease.Lease, ok bool, err error)
	// Err is the store's last failure, nil once it works again.
	Err() error
}

// writable refuses, as a discard, the messages that would grant or extend a
// lease while a shared store is unreachable: a client then turns to a peer
// agent instead of waiting for Replies this server cannot commit. Messages
// that store nothing (Information-request, Confirm) are still answered.
func (h *handler) writable(typ dhcpv6.MessageType) error {
	shared, ok := h.store.(SharedLeaseStore)
	if !ok {
		return nil
	}
	switch typ {
	case dhcpv6.MessageTypeSolicit, dhcpv6.MessageTypeRequest, dhcpv6.MessageTypeRenew, dhcpv6.MessageTypeRebind:
		if err := shared.Err(); err != nil {
			return fmt.Errorf("%w: the lease database is unreachable: %v", errDiscard, err)
		}
	}
	return nil
}

// adopt loads into the pool the lease a shared store holds for req's
// client IA when the pool has none, so a Renew or Rebind of a lease a
// peer agent granted extends it here.
func (h *handler) adopt(req lease.Lease, now time.Time) {
	shared, ok := h.store.(SharedLeaseStore)
	if !ok {
		return
	}
	if _, ok := h.pool.Lookup(req.Kind, req.DUID, req.IAID, now); ok {
		return
	}
	l, ok, err := shared.LeaseOf(req.Kind, req.DUID, req.IAID)
	if err != nil {
		h.logger.Warn("looking up a client's lease in the lease database", "iaid", req.IAID, "error", err)
		return
	}
	if !ok {
		return
	}
	if dropped := h.pool.Load([]lease.Lease{l}, now); len(dropped) == 0 {
		h.logger.Info("took over a lease from the lease database", leaseAttrs(l)...)
	}
}

// batch collects the lease changes of the messages handled from one read of
// the socket, so they reach storage together: one PutLeases call, which
// with store.Leases is one journal append and one fdatasync however many
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
	attrs []slog.Attr
}

// put stores l at commit; msg and attrs are logged once it is stored.
func (b *batch) put(l lease.Lease, msg string, attrs ...slog.Attr) {
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
		h.logger.LogAttrs(context.Background(), slog.LevelInfo, r.msg, r.attrs...)
	}
}

// abandon undoes what b did to the pool when its changes could not be
// stored (err): the bindings b made are released again and its renewals go
// back to their stored lifetimes, so the pool holds nothing that storage
// lacks, and the clients' retransmissions bind anew. When a peer agent
// holds some of the addresses (a *lease.ConflictError), the pool learns
// its leases, so the retransmissions get other addresses.
func (h *handler) abandon(b *batch, err error, now time.Time) {
	h.pool.Revert(b.leases())
	var conflict *lease.ConflictError
	if errors.As(err, &conflict) {
		h.pool.Load(conflict.Taken, now)
	}
}

// forget records the deletion of leases the pool dropped (expired) in b,
// so it reaches storage with b's other changes. Should that fail, the
// stale records are dropped by the next Start once they have expired.
func (b *batch) forget(leases []lease.Lease) {
	for _, l := range leases {
		b.delete(l.Address)
	}
}
