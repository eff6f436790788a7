package dhcp6

import (
	"sync/atomic"

	"github.com/insomniacslk/dhcp/dhcpv6"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/histogram"
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
	Commit histogram.Snapshot
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
	// NotStored counts the drops of Replies withheld because their batch's
	// leases could not be stored, SendFailed those the socket refused.
	NotStored, SendFailed uint64
	// Refused counts the messages the handler dropped as RFC 8415 asks
	// (failed validation, e.g. naming another server) or as unanswerable
	// while the shared lease database is unreachable; Failed those it
	// could not handle (an error, logged).
	Refused, Failed uint64
	// Latency is the time from the read that brought a message to the
	// send of its reply, for the replies sent.
	Latency histogram.Snapshot
}

// counters are written by the serving goroutine and read by Stats.
type counters struct {
	byType [256]struct {
		received, replied, dropped, rateLimited atomic.Uint64
		notStored, sendFailed, refused, failed  atomic.Uint64
		latency                                 histogram.Counts
	}
	malformed atomic.Uint64

	relayUnknownLink, relayHopLimit, relayRateLimited atomic.Uint64

	commit histogram.Counts
}

func (c *counters) snapshot() Stats {
	s := Stats{ByType: map[string]MessageStats{}, Malformed: c.malformed.Load(),
		RelayUnknownLink: c.relayUnknownLink.Load(), RelayHopLimit: c.relayHopLimit.Load(), RelayRateLimited: c.relayRateLimited.Load(),
		Commit: histogram.Latency.Snapshot(&c.commit)}
	for i := range c.byType {
		t := &c.byType[i]
		if n := t.received.Load(); n > 0 {
			s.ByType[dhcpv6.MessageType(i).String()] = MessageStats{Received: n, Replied: t.replied.Load(), Dropped: t.dropped.Load(), RateLimited: t.rateLimited.Load(),
				NotStored: t.notStored.Load(), SendFailed: t.sendFailed.Load(), Refused: t.refused.Load(), Failed: t.failed.Load(), Latency: histogram.Latency.Snapshot(&t.latency)}
		}
	}
	return s
}
