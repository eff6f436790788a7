package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/wire/eventkind"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

func event(kind, client string) *netbootv1.Event {
	return &netbootv1.Event{TimeUnixNano: time.Now().UnixNano(), Kind: kind, Client: client, Attrs: map[string]string{}}
}

func seqs(events []*netbootv1.Event) []uint64 {
	var out []uint64
	for _, e := range events {
		out = append(out, e.GetSeq())
	}
	return out
}

func TestEventRingKeepsTheNewestInOrder(t *testing.T) {
	r := newEventRing(5)
	for range 12 {
		r.addEvent(event("lease", ""))
	}
	got := seqs(r.snapshot(eventFilter{}))
	if fmt.Sprint(got) != "[8 9 10 11 12]" {
		t.Fatalf("kept %v, want the newest 5 in order", got)
	}
}

func TestEventFilters(t *testing.T) {
	old := event("lease", "0001aabb")
	old.TimeUnixNano = time.Now().Add(-time.Hour).UnixNano()
	withMAC := event("tftp", "2001:db8:1::1000")
	withMAC.Attrs["hardware_addr"] = "52:54:00:12:34:56"
	other := event("config", "")
	other.BootServer = "other"

	tests := []struct {
		name   string
		filter eventFilter
		want   []*netbootv1.Event
	}{
		{"none", eventFilter{}, []*netbootv1.Event{old, withMAC, other}},
		{"kind", eventFilter{kinds: []string{"tftp", "config"}}, []*netbootv1.Event{withMAC, other}},
		{"client by DUID", eventFilter{client: "aabb"}, []*netbootv1.Event{old}},
		{"client by MAC attribute", eventFilter{client: "52:54:00:12"}, []*netbootv1.Event{withMAC}},
		{"boot server", eventFilter{bootServer: "other"}, []*netbootv1.Event{other}},
		{"since", eventFilter{since: time.Now().Add(-time.Minute)}, []*netbootv1.Event{withMAC, other}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []*netbootv1.Event
			for _, e := range []*netbootv1.Event{old, withMAC, other} {
				if tt.filter.matches(e) {
					got = append(got, e)
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("matched %d events, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("match %d is %v, want %v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestSlowFollowerDropsAndIsTold(t *testing.T) {
	r := newEventRing(10)
	r.addEvent(event("lease", ""))
	backlog, slow := r.follow(eventFilter{kinds: []string{"lease"}})
	defer r.unfollow(slow)
	if len(backlog) != 1 {
		t.Fatalf("backlog has %d events, want 1", len(backlog))
	}
	// Nobody reads: adding must not block, and what does not fit is counted.
	done := make(chan struct{})
	go func() {
		for range followerBuffer + 7 {
			r.addEvent(event("lease", ""))
		}
		r.addEvent(event("config", "")) // filtered out: not counted as dropped
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("add blocked on a follower that does not read")
	}
	for range followerBuffer {
		if e := <-slow.ch; e.GetDropped() != 0 {
			t.Fatalf("event %d says %d dropped before the buffer was full", e.GetSeq(), e.GetDropped())
		}
	}
	r.addEvent(event("lease", ""))
	e := <-slow.ch
	if e.GetDropped() != 7 {
		t.Fatalf("next event after the drops says %d dropped, want 7", e.GetDropped())
	}
	if r.snapshot(eventFilter{})[len(r.snapshot(eventFilter{}))-1].GetDropped() != 0 {
		t.Fatal("the shared event was changed for one follower")
	}
}

func TestEventHandlerTeesInfoAndAbove(t *testing.T) {
	r := newEventRing(100)
	var out bytes.Buffer
	logger := slog.New(newEventHandler(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelWarn}), r))
	site := logger.With("boot_server", "lab")

	site.Debug("discarded ICMPv6 message")
	site.Info("leased address", eventkind.Lease.Attr(), "duid", "0001aabb", "address", "2001:db8:1::1000")
	site.WithGroup("req").Info("boot menu saved", eventkind.Config.Attr(), "menu", "main")
	site.Info("http request", eventkind.Script.Attr(), "path", "/netboot/host/mac-52-54-00-12-34-56/uuid-/arch-x86_64/platform-efi/menu.ipxe", "client", "[2001:db8:1::1000]:4000")
	site.With(componentKey, "tftp").Warn("tftp request refused", "reason", "no such file")
	// No kind on the record: the server's component attribute decides.
	site.With(componentKey, "dhcpv6").Warn("dropping message from a flood", "peer", "fe80::1")
	site.With(componentKey, "http").Info("served", "path", "/start.ipxe")
	logger.Error("agent failed", "error", "boom")

	events := r.snapshot(eventFilter{})
	if len(events) != 7 {
		t.Fatalf("ring has %d events, want 7 (info and above): %v", len(events), events)
	}
	want := []struct{ kind, level, bootServer, client string }{
		{"lease", "INFO", "lab", "0001aabb"},
		{"config", "INFO", "lab", ""},
		{"script", "INFO", "lab", "52:54:00:12:34:56"},
		{"tftp", "WARN", "lab", ""},
		{"dhcpv6", "WARN", "lab", "fe80::1"},
		{"http", "INFO", "lab", ""},
		{"agent", "ERROR", "", ""},
	}
	for i, w := range want {
		e := events[i]
		if e.GetKind() != w.kind || e.GetLevel() != w.level || e.GetBootServer() != w.bootServer || e.GetClient() != w.client {
			t.Errorf("event %d = %v, want kind %s level %s boot server %q client %q", i, e, w.kind, w.level, w.bootServer, w.client)
		}
	}
	if a := events[1].GetAttrs(); a["req.menu"] != "main" || a[eventkind.Key] != "" || a["req."+eventkind.Key] != "" {
		t.Errorf("want the grouped attribute, and the kind only as the event's kind: %v", a)
	}
	// The agent's own log still filters by its level.
	if strings.Contains(out.String(), "leased address") || !strings.Contains(out.String(), "tftp request refused") {
		t.Errorf("wrapped handler's level not respected:\n%s", out.String())
	}
}

// TestEventsConvertedWhenRead: records are kept as they were logged and
// become events when read, with the same content as if converted at once;
// a value that could change after the log call (a byte slice) is
// converted at once, so a later change does not show.
func TestEventsConvertedWhenRead(t *testing.T) {
	r := newEventRing(10)
	logger := slog.New(newEventHandler(slog.NewTextHandler(io.Discard, nil), r)).With("boot_server", "lab")
	addr := netip.MustParseAddr("2001:db8:1::1000")
	logger.Info("leased address", eventkind.Lease.Attr(), "duid", "0001aabb", "address", addr, "iaid", uint32(7), "valid_until", time.Unix(2000000000, 0).UTC())
	if r.buf[1].event != nil {
		t.Fatal("a record of immutable values was converted before anyone read it")
	}
	mutable := []byte("before")
	logger.Info("tftp transfer complete", "raw", mutable)
	copy(mutable, "after!")

	events := r.snapshot(eventFilter{})
	if len(events) != 2 {
		t.Fatalf("got %d events, want 2", len(events))
	}
	lease := events[0]
	if lease.GetSeq() != 1 || lease.GetKind() != "lease" || lease.GetBootServer() != "lab" || lease.GetClient() != "0001aabb" ||
		lease.GetAttrs()["address"] != addr.String() || lease.GetAttrs()["iaid"] != "7" {
		t.Errorf("deferred event = %v", lease)
	}
	if got := events[1].GetAttrs()["raw"]; got != "[98 101 102 111 114 101]" {
		t.Errorf("byte slice attribute = %q, want the value at the log call", got)
	}
	if again := r.snapshot(eventFilter{}); again[0] != lease {
		t.Error("a deferred event was converted twice")
	}

	// With a follower, records are converted as they come.
	_, fl := r.follow(eventFilter{})
	defer r.unfollow(fl)
	logger.Info("renewed address", eventkind.Lease.Attr(), "address", addr)
	if e := <-fl.ch; e.GetSeq() != 3 || e.GetKind() != "lease" {
		t.Errorf("follower got %v", e)
	}
}

// TestEventKindComesFromAttributes: a record's kind is its eventkind
// attribute, else its server's component, else agent; the message's words
// never decide it, so rewording a log line keeps its kind.
func TestEventKindComesFromAttributes(t *testing.T) {
	tests := []struct {
		name  string
		msg   string
		attrs []any
		want  eventkind.Kind
	}{
		{"kind attribute", "leased address", []any{eventkind.Lease.Attr()}, eventkind.Lease},
		{"kind attribute, reworded", "a client now holds an address", []any{eventkind.Lease.Attr()}, eventkind.Lease},
		{"kind attribute over component", "anything", []any{componentKey, "dhcpv6", eventkind.BootFile.Attr()}, eventkind.BootFile},
		{"component alone", "leased address", []any{componentKey, "dhcpv6"}, eventkind.DHCPv6},
		{"words of another kind", "tftp transfer complete", []any{componentKey, "http"}, eventkind.HTTP},
		{"neither", "leased address", nil, eventkind.Agent},
		{"neither, words of a server", "boot-file URL decision", nil, eventkind.Agent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newEventRing(4)
			slog.New(newEventHandler(slog.DiscardHandler, r)).Info(tt.msg, tt.attrs...)
			if got := r.snapshot(eventFilter{})[0].GetKind(); got != string(tt.want) {
				t.Errorf("kind %q, want %q", got, tt.want)
			}
		})
	}

	// A kind set once on a logger holds for its records; one on the call wins.
	r := newEventRing(4)
	op := slog.New(newEventHandler(slog.DiscardHandler, r)).With(eventkind.Artifact.Attr())
	op.Info("artifact download phase")
	op.WithGroup("g").Warn("whatever", eventkind.Config.Attr())
	if got := r.snapshot(eventFilter{}); got[0].GetKind() != "artifact" || got[1].GetKind() != "config" {
		t.Errorf("kinds %q, %q; want artifact from the logger, config from the call", got[0].GetKind(), got[1].GetKind())
	}
}

func TestWatchEventsRefusesUnknownKinds(t *testing.T) {
	err := (&core{}).WatchEvents(context.Background(), &netbootv1.WatchEventsRequest{Kinds: []string{"lease", "leases"}}, nil)
	if !errors.Is(err, errInvalidArgument) || !strings.Contains(err.Error(), `kinds: "leases" is not an event kind`) {
		t.Errorf("WatchEvents with kind leases: %v, want InvalidArgument naming kinds", err)
	}
}
