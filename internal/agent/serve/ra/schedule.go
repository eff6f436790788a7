package ra

import (
	"net/netip"
	"time"
)

// maxPendingUnicastReplies bounds the solicited unicast replies waiting for
// their random delay; beyond it, solicitations are answered by one multicast.
const maxPendingUnicastReplies = 64

// multicastKind says which multicast advertisement, if any, is due.
type multicastKind int

const (
	noMulticast multicastKind = iota
	unsolicitedMulticast
	solicitedMulticast
)

// schedule decides when advertisements go out (RFC 4861 6.2.4 and 6.2.6).
// It holds no clock or randomness: callers pass the time and the random
// values, so its rules are tested without waiting. One goroutine owns it.
type schedule struct {
	nextUnsolicited time.Time
	// initialLeft counts the advertisements still to send at the short
	// initial interval.
	initialLeft    int
	lastMulticast  time.Time
	multicastReply time.Time // zero when no solicited multicast is pending
	unicastReplies map[netip.Addr]time.Time
}

// restart begins the initial burst: on becoming an advertising interface
// and, as RFC 4861 6.2.4 allows, whenever the configuration changes, so
// clients learn the change quickly. The first advertisement goes out as soon
// as multicast rate limiting allows.
func (s *schedule) restart(now time.Time) {
	s.initialLeft = maxInitialRtrAdvertisements
	s.nextUnsolicited = now
	if earliest := s.lastMulticast.Add(minDelayBetweenRAs); !s.lastMulticast.IsZero() && earliest.After(now) {
		s.nextUnsolicited = earliest
	}
}

// solicit schedules the reply to a Router Solicitation from src, delayed by
// delay (random in [0, MAX_RA_DELAY_TIME], RFC 4861 6.2.6).
func (s *schedule) solicit(now time.Time, src netip.Addr, delay time.Duration) {
	at := now.Add(delay)
	if !src.IsUnspecified() {
		pending, ok := s.unicastReplies[src]
		switch {
		case ok:
			if at.Before(pending) {
				s.unicastReplies[src] = at
			}
			return
		case len(s.unicastReplies) < maxPendingUnicastReplies:
			if s.unicastReplies == nil {
				s.unicastReplies = make(map[netip.Addr]time.Time)
			}
			s.unicastReplies[src] = at
			return
		}
		// Too many hosts soliciting at once: one multicast answers them all.
	}
	// Multicast replies keep MIN_DELAY_BETWEEN_RAS from the previous one.
	if !s.lastMulticast.IsZero() && now.Before(s.lastMulticast.Add(minDelayBetweenRAs)) {
		at = s.lastMulticast.Add(minDelayBetweenRAs + delay)
	}
	if !s.nextUnsolicited.After(at) {
		return // the next unsolicited advertisement answers it
	}
	if s.multicastReply.IsZero() || at.Before(s.multicastReply) {
		s.multicastReply = at
	}
}

// next is when due next has something to send.
func (s *schedule) next() time.Time {
	t := s.nextUnsolicited
	if !s.multicastReply.IsZero() && s.multicastReply.Before(t) {
		t = s.multicastReply
	}
	for _, at := range s.unicastReplies {
		if at.Before(t) {
			t = at
		}
	}
	return t
}

// due returns what to send at now and records it as sent. interval is a
// random value in [MinRtrAdvInterval, MaxRtrAdvInterval] for the next
// unsolicited advertisement.
func (s *schedule) due(now time.Time, interval time.Duration) (unicast []netip.Addr, multicast multicastKind) {
	switch {
	case !s.nextUnsolicited.After(now):
		multicast = unsolicitedMulticast
	case !s.multicastReply.IsZero() && !s.multicastReply.After(now):
		multicast = solicitedMulticast
	}
	for dst, at := range s.unicastReplies {
		if !at.After(now) {
			delete(s.unicastReplies, dst)
			// A multicast going out now reaches these hosts too.
			if multicast == noMulticast {
				unicast = append(unicast, dst)
			}
		}
	}
	if multicast != noMulticast {
		// Any multicast advertisement resets the unsolicited timer (6.2.4).
		s.lastMulticast = now
		s.multicastReply = time.Time{}
		if s.initialLeft > 0 {
			s.initialLeft--
		}
		if s.initialLeft > 0 {
			interval = min(interval, initialRtrAdvertInterval)
		}
		s.nextUnsolicited = now.Add(interval)
	}
	return unicast, multicast
}
