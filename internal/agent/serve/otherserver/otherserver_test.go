package otherserver

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestBookWarnsOncePerServerPerInterval(t *testing.T) {
	ra := func(src string, conflicts ...string) Sighting {
		return Sighting{Protocol: RouterAdvertisement, Source: netip.MustParseAddr(src), Conflicts: conflicts}
	}
	dhcp := func(src, duid string) Sighting {
		return Sighting{Protocol: DHCPv6, Source: netip.MustParseAddr(src), DUID: []byte(duid)}
	}
	type step struct {
		after    time.Duration // since the previous step
		s        Sighting
		wantWarn bool
	}
	tests := []struct {
		name        string
		steps       []step
		wantServers int
	}{
		{"first sighting warns, repeats within the hour do not", []step{
			{0, ra("fe80::1"), true},
			{time.Minute, ra("fe80::1"), false},
			{58 * time.Minute, ra("fe80::1"), false},
		}, 1},
		{"an hour later it warns again", []step{
			{0, ra("fe80::1"), true},
			{30 * time.Minute, ra("fe80::1"), false},
			{30 * time.Minute, ra("fe80::1"), true},
		}, 1},
		{"new contradictions warn at once", []step{
			{0, ra("fe80::1"), true},
			{time.Second, ra("fe80::1", "MTU: ours 1500, theirs 1400"), true},
			{time.Second, ra("fe80::1", "MTU: ours 1500, theirs 1400"), false},
		}, 1},
		{"each source and each DUID is its own server", []step{
			{0, ra("fe80::1"), true},
			{0, ra("fe80::2"), true},
			{0, dhcp("fe80::1", "a"), true},
			{0, dhcp("fe80::1", "b"), true},
			{0, dhcp("fe80::1", "a"), false},
		}, 4},
		{"a zone does not make another server", []step{
			{0, ra("fe80::1%eth0"), true},
			{0, ra("fe80::1"), false},
		}, 1},
		{"a server quiet for an hour is forgotten", []step{
			{0, ra("fe80::1"), true},
			{0, ra("fe80::2"), true},
			{50 * time.Minute, ra("fe80::2"), false},
			{20 * time.Minute, ra("fe80::2"), true},
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			b := NewBook(slog.New(slog.NewTextHandler(&logs, nil)))
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			b.Now = func() time.Time { return now }
			warnings := 0
			for i, st := range tt.steps {
				now = now.Add(st.after)
				if got := b.Note(st.s); got != st.wantWarn {
					t.Errorf("step %d: warned %t, want %t", i, got, st.wantWarn)
				}
				if st.wantWarn {
					warnings++
				}
			}
			if got := strings.Count(logs.String(), "level=WARN"); got != warnings {
				t.Errorf("%d warnings logged, want %d:\n%s", got, warnings, logs.String())
			}
			if got := len(b.Servers()); got != tt.wantServers {
				t.Errorf("%d servers listed, want %d: %+v", got, tt.wantServers, b.Servers())
			}
		})
	}
}

func TestBookRecordsWhatItSaw(t *testing.T) {
	b := NewBook(nil)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b.Now = func() time.Time { return now }
	s := Sighting{Protocol: DHCPv6, Source: netip.MustParseAddr("fe80::2"), LinkLayerAddress: "02:00:00:00:00:02",
		DUID: []byte{0, 3, 0, 1, 2, 0, 0, 0, 0, 2}, Offers: []string{"IA_NA address 2001:db8:1::5"}}
	b.Note(s)
	now = now.Add(time.Minute)
	s.Offers = []string{"IA_NA address 2001:db8:1::6"}
	b.Note(s)
	got := b.Servers()
	if len(got) != 1 {
		t.Fatalf("servers: %+v", got)
	}
	g := got[0]
	if g.Messages != 2 || g.LastSeen.Sub(g.FirstSeen) != time.Minute || g.Offers[0] != "IA_NA address 2001:db8:1::6" ||
		g.LinkLayerAddress != "02:00:00:00:00:02" || len(g.DUID) != 10 {
		t.Errorf("server: %+v", g)
	}
}

func TestBookIsBounded(t *testing.T) {
	b := NewBook(nil)
	for i := range MaxServers + 10 {
		b.Note(Sighting{Protocol: RouterAdvertisement, Source: netip.MustParseAddr(fmt.Sprintf("fe80::%x", i+1))})
	}
	if n := len(b.Servers()); n != MaxServers {
		t.Errorf("%d servers kept, want %d", n, MaxServers)
	}
	if d := b.Dropped(); d != 10 {
		t.Errorf("dropped %d, want 10", d)
	}
}
