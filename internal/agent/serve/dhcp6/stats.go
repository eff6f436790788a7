package dhcp6

import (
	"sync/atomic"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
)

// Stats counts a server's traffic since Start.
type Stats struct {
	// ByType is keyed by the RFC 8415 message name of what clients sent,
	// e.g. "SOLICIT", "REQUEST", "INFORMATION-REQUEST".
	ByType map[string]MessageStats
	// Malformed counts datagrams that did not parse as DHCPv6.
	Malformed uint64
	// RelayUnknownLink counts Relay-Forwards dropped because their
	// innermost link-address is on no served link, RelayHopLimit those
	// nested in more relays than the hop limit, RelayRateLimited those over
	// their relay's rate limit. All are also among the RELAY-FORW drops.
	RelayUnknownLink uint64
	RelayHopLimit    uint64
	RelayRateLimited uint64
	// Commit is how long storing a batch's lease changes took (a journal
	// append or a database round trip), failed attempts included.
	Commit Histogram
}

// MessageStats counts one message type. Every received message is either
// replied to or dropped (over a rate limit, failed validation, could not
// be stored or sent).
type MessageStats struct {
	Received uint64
	Replied  uint64
	Dropped  uint64
	// RateLimited counts the drops by dhcpv6.rate_limit, before any lease
	// work.
	RateLimited uint64
	// Latency is the time from the read that brought a message to the
	// send of its reply, for the replies sent.
	Latency Histogram
}

// LatencyBounds are the upper bounds of Histogram's buckets: a reply
// that waits for no commit takes well under a millisecond, one that waits
// for an fsync a few milliseconds, and past a second clients retransmit.
var LatencyBounds = [...]time.Duration{
	50 * time.Microsecond, 100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond, 10 * time.Millisecond,
	25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond,
	500 * time.Millisecond, time.Second,
}

// Histogram is a snapshot of durations: Buckets[i] counts those at most
// LatencyBounds[i] and above the bound before (not cumulative), Count
// all of them, including those above the last bound.
type Histogram struct {
	Buckets [len(LatencyBounds)]uint64
	Count   uint64
	Sum     time.Duration
}

// histogram is Histogram written with atomics: one observe per reply.
type histogram struct {
	buckets [len(LatencyBounds)]atomic.Uint64
	count   atomic.Uint64
	sum     atomic.Int64
}

func (h *histogram) observe(d time.Duration) {
	for i, bound := range LatencyBounds {
		if d <= bound {
			h.buckets[i].Add(1)
			break
		}
	}
	h.sum.Add(int64(d))
	h.count.Add(1)
}

func (h *histogram) snapshot() Histogram {
	var s Histogram
	// count first: a reader may see a bucket ahead of it, never behind.
	s.Count = h.count.Load()
	for i := range h.buckets {
		s.Buckets[i] = h.buckets[i].Load()
	}
	s.Sum = time.Duration(h.sum.Load())
	return s
}

// counters are written by the serving goroutine and read by Stats.
type counters struct {
	byType [256]struct {
		received, replied, dropped, rateLimited atomic.Uint64
		latency                                 histogram
	}
	malformed atomic.Uint64

	relayUnknownLink, relayHopLimit, relayRateLimited atomic.Uint64

	commit histogram
}

func (c *counters) snapshot() Stats {
	s := Stats{ByType: map[string]MessageStats{}, Malformed: c.malformed.Load(),
		RelayUnknownLink: c.relayUnknownLink.Load(), RelayHopLimit: c.relayHopLimit.Load(), RelayRateLimited: c.relayRateLimited.Load(),
		Commit: c.commit.snapshot()}
	for i := range c.byType {
		t := &c.byType[i]
		if n := t.received.Load(); n > 0 {
			s.ByType[dhcpv6.MessageType(i).String()] = MessageStats{Received: n, Replied: t.replied.Load(), Dropped: t.dropped.Load(), RateLimited: t.rateLimited.Load(), Latency: t.latency.snapshot()}
		}
	}
	return s
}
