package ra

import (
	"net/netip"
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// sent is one advertisement the schedule released, for comparing runs.
type sent struct {
	at        time.Duration
	multicast multicastKind
	unicast   []netip.Addr
}

// drive steps the schedule from one due time to the next until limit,
// injecting solicitations at their times, and records what it sends.
func drive(s *schedule, limit, interval time.Duration, solicits map[time.Duration]netip.Addr, delay time.Duration) []sent {
	var out []sent
	var pending []time.Duration
	for d := range solicits {
		pending = append(pending, d)
	}
	slices.Sort(pending)
	for {
		next := s.next().Sub(t0)
		if len(pending) > 0 && pending[0] <= next {
			s.solicit(at(pending[0]), solicits[pending[0]], delay)
			pending = pending[1:]
			continue
		}
		if next > limit {
			return out
		}
		unicast, multicast := s.due(at(next), interval)
		if len(unicast) > 0 || multicast != noMulticast {
			slices.SortFunc(unicast, netip.Addr.Compare)
			out = append(out, sent{at: next, multicast: multicast, unicast: unicast})
		}
	}
}

func TestSchedule(t *testing.T) {
	const interval = 200 * time.Second
	host := netip.MustParseAddr("fe80::1")
	tests := []struct {
		name     string
		setup    func(s *schedule)
		solicits map[time.Duration]netip.Addr
		delay    time.Duration
		limit    time.Duration
		want     []sent
	}{
		{
			name:  "initial burst then MinInterval..MaxInterval",
			setup: func(s *schedule) { s.restart(t0) },
			limit: 500 * time.Second,
			want: []sent{
				{at: 0, multicast: unsolicitedMulticast},
				{at: 3 * time.Second, multicast: unsolicitedMulticast},
				{at: 6 * time.Second, multicast: unsolicitedMulticast},
				{at: 206 * time.Second, multicast: unsolicitedMulticast},
				{at: 406 * time.Second, multicast: unsolicitedMulticast},
			},
		},
		{
			name:     "unicast reply after the random delay",
			setup:    func(s *schedule) { s.restart(t0) },
			solicits: map[time.Duration]netip.Addr{100 * time.Second: host},
			delay:    300 * time.Millisecond,
			limit:    150 * time.Second,
			want: []sent{
				{at: 0, multicast: unsolicitedMulticast},
				{at: 3 * time.Second, multicast: unsolicitedMulticast},
				{at: 6 * time.Second, multicast: unsolicitedMulticast},
				{at: 100*time.Second + 300*time.Millisecond, unicast: []netip.Addr{host}},
			},
		},
		{
			name:     "multicast reply waits MIN_DELAY_BETWEEN_RAS and resets the timer",
			setup:    func(s *schedule) { s.restart(t0) },
			solicits: map[time.Duration]netip.Addr{7 * time.Second: netip.IPv6Unspecified(), 50 * time.Second: netip.IPv6Unspecified()},
			delay:    100 * time.Millisecond,
			limit:    300 * time.Second,
			want: []sent{
				{at: 0, multicast: unsolicitedMulticast},
				{at: 3 * time.Second, multicast: unsolicitedMulticast},
				{at: 6 * time.Second, multicast: unsolicitedMulticast},
				{at: 9*time.Second + 100*time.Millisecond, multicast: solicitedMulticast},
				{at: 50*time.Second + 100*time.Millisecond, multicast: solicitedMulticast},
				{at: 250*time.Second + 100*time.Millisecond, multicast: unsolicitedMulticast},
			},
		},
		{
			name: "restart right after a multicast keeps the rate limit",
			setup: func(s *schedule) {
				s.restart(t0)
				s.due(t0, interval)
				s.due(at(3*time.Second), interval)
				s.due(at(6*time.Second), interval)
				s.restart(at(7 * time.Second)) // Apply
			},
			limit: 20 * time.Second,
			want: []sent{
				{at: 9 * time.Second, multicast: unsolicitedMulticast},
				{at: 12 * time.Second, multicast: unsolicitedMulticast},
				{at: 15 * time.Second, multicast: unsolicitedMulticast},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s schedule
			tt.setup(&s)
			got := drive(&s, tt.limit, interval, tt.solicits, tt.delay)
			if !slices.EqualFunc(got, tt.want, func(a, b sent) bool {
				return a.at == b.at && a.multicast == b.multicast && slices.Equal(a.unicast, b.unicast)
			}) {
				t.Errorf("sent\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestScheduleCoalescesSolicitations(t *testing.T) {
	var s schedule
	s.restart(t0)
	for _, d := range []time.Duration{0, 3 * time.Second, 6 * time.Second} {
		s.due(at(d), time.Hour) // the initial burst
	}
	// The same host soliciting twice gets one reply, at the earlier time.
	host := netip.MustParseAddr("fe80::1")
	s.solicit(at(10*time.Second), host, 400*time.Millisecond)
	s.solicit(at(10*time.Second), host, 100*time.Millisecond)
	if got, want := s.next(), at(10*time.Second+100*time.Millisecond); !got.Equal(want) {
		t.Errorf("next = %v, want %v", got.Sub(t0), want.Sub(t0))
	}
	// A flood of distinct hosts beyond the bound is answered by multicast.
	for i := range maxPendingUnicastReplies + 10 {
		a := netip.AddrFrom16([16]byte{0: 0xfe, 1: 0x80, 14: byte(i >> 8), 15: byte(i) + 2})
		s.solicit(at(10*time.Second), a, 200*time.Millisecond)
	}
	if len(s.unicastReplies) != maxPendingUnicastReplies {
		t.Errorf("%d unicast replies pending, want the bound %d", len(s.unicastReplies), maxPendingUnicastReplies)
	}
	if s.multicastReply.IsZero() {
		t.Fatal("no multicast reply for the overflow")
	}
	// A multicast reply sent now covers the unicast replies due with it.
	unicast, multicast := s.due(at(10*time.Second+200*time.Millisecond), time.Hour)
	if multicast != solicitedMulticast || len(unicast) != 0 {
		t.Errorf("due = %d unicast, %v; want only a solicited multicast", len(unicast), multicast)
	}
}
