package agent

import (
	"context"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/menu"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/eventkind"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// defaultEventCapacity is how many events the agent keeps for `agent logs`.
const defaultEventCapacity = 1000

// followerBuffer is how many events a follower may lag behind before the
// ring drops events for it (and counts them) rather than wait.
const followerBuffer = 256

// eventRing keeps the agent's most recent events in memory, in order, and
// hands new ones to followers. Adding never blocks: a follower that cannot
// keep up misses events and is told how many.
//
// A record becomes an Event (every attribute formatted into a map) only
// when someone asks for it: a DHCPv6 storm logs a lease per exchange, and
// converting each at once cost about 5 % of the agent's CPU while the
// ring is seldom read. Records with a follower, or with a value that could
// change after the log call, are converted at once.
type eventRing struct {
	mu        sync.Mutex
	buf       []ringEntry // buf[seq % len(buf)]
	next      uint64      // seq of the next event; seqs start at 1
	followers map[*eventFollower]struct{}
	following atomic.Int32 // len(followers), read without mu
}

// ringEntry is one kept event: converted, or the record to convert.
type ringEntry struct {
	event *netbootv1.Event
	h     *eventHandler
	rec   slog.Record
}

func newEventRing(capacity int) *eventRing {
	return &eventRing{buf: make([]ringEntry, capacity), next: 1, followers: map[*eventFollower]struct{}{}}
}

// eventFollower receives events as they are added.
type eventFollower struct {
	ch     chan *netbootv1.Event
	filter eventFilter
	// dropped counts events lost since the last one delivered; guarded by
	// the ring's mutex.
	dropped uint64
}

// eventFilter selects events by WatchEventsRequest's fields.
type eventFilter struct {
	kinds      []string
	client     string // lowercase
	bootServer string
	since      time.Time
}

func filterOf(req *netbootv1.WatchEventsRequest) eventFilter {
	f := eventFilter{kinds: req.GetKinds(), client: strings.ToLower(req.GetClient()), bootServer: req.GetBootServer()}
	if req.GetSinceUnixNano() > 0 {
		f.since = time.Unix(0, req.GetSinceUnixNano())
	}
	return f
}

func (f eventFilter) matches(e *netbootv1.Event) bool {
	if len(f.kinds) > 0 && !slices.Contains(f.kinds, e.GetKind()) {
		return false
	}
	if f.bootServer != "" && e.GetBootServer() != f.bootServer {
		return false
	}
	if !f.since.IsZero() && e.GetTimeUnixNano() < f.since.UnixNano() {
		return false
	}
	if f.client != "" {
		found := strings.Contains(strings.ToLower(e.GetClient()), f.client)
		for _, k := range clientAttrs {
			found = found || strings.Contains(strings.ToLower(e.GetAttrs()[k]), f.client)
		}
		if !found {
			return false
		}
	}
	return true
}

// add records the log record rec that h handled, numbering it, and offers
// it to every follower.
func (r *eventRing) add(h *eventHandler, rec slog.Record) {
	if r.following.Load() > 0 || !deferrable(rec) {
		r.addEvent(h.event(rec))
		return
	}
	rec = rec.Clone()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.followers) > 0 {
		r.addLocked(h.event(rec)) // a follower came meanwhile
		return
	}
	r.buf[r.next%uint64(len(r.buf))] = ringEntry{h: h, rec: rec}
	r.next++
}

// addEvent records e, numbering it, and offers it to every follower.
func (r *eventRing) addEvent(e *netbootv1.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.addLocked(e)
}

func (r *eventRing) addLocked(e *netbootv1.Event) {
	e.Seq = r.next
	r.next++
	r.buf[e.Seq%uint64(len(r.buf))] = ringEntry{event: e}
	for f := range r.followers {
		if !f.filter.matches(e) {
			continue
		}
		out := e
		if f.dropped > 0 {
			out = withDropped(e, f.dropped)
		}
		select {
		case f.ch <- out:
			f.dropped = 0
		default:
			f.dropped++
		}
	}
}

// eventLocked returns the event numbered seq, converting its record now if
// need be.
func (r *eventRing) eventLocked(seq uint64) *netbootv1.Event {
	slot := &r.buf[seq%uint64(len(r.buf))]
	if slot.event == nil {
		e := slot.h.event(slot.rec)
		e.Seq = seq
		*slot = ringEntry{event: e}
	}
	return slot.event
}

// deferrable says whether rec's values stay as they are after the log
// call, so it may be converted later: a timestamp, and no value of a type
// that could be changed in place (a byte slice, a pointer) or that
// computes itself (a LogValuer).
func deferrable(rec slog.Record) bool {
	if rec.Time.IsZero() {
		return false
	}
	ok := true
	rec.Attrs(func(a slog.Attr) bool {
		ok = immutable(a.Value)
		return ok
	})
	return ok
}

func immutable(v slog.Value) bool {
	switch v.Kind() {
	case slog.KindLogValuer:
		return false
	case slog.KindGroup:
		for _, a := range v.Group() {
			if !immutable(a.Value) {
				return false
			}
		}
		return true
	case slog.KindAny:
		switch v.Any().(type) {
		case netip.Addr, netip.Prefix, netip.AddrPort, uint16, uint32, int32, uint8:
			return true
		}
		return false
	}
	return true // string, numbers, bool, time, duration
}

// withDropped is e telling one follower how many events it missed; e itself
// is shared and never changed after add.
func withDropped(e *netbootv1.Event, dropped uint64) *netbootv1.Event {
	c := &netbootv1.Event{
		Seq: e.Seq, TimeUnixNano: e.TimeUnixNano, Level: e.Level, Kind: e.Kind, Message: e.Message,
		BootServer: e.BootServer, Client: e.Client, Attrs: e.Attrs, Dropped: dropped,
	}
	return c
}

// snapshotLocked returns the kept events f matches, oldest first.
func (r *eventRing) snapshotLocked(f eventFilter) []*netbootv1.Event {
	n := uint64(len(r.buf))
	first := uint64(1)
	if r.next > n {
		first = r.next - n
	}
	var out []*netbootv1.Event
	for seq := first; seq < r.next; seq++ {
		if e := r.eventLocked(seq); f.matches(e) {
			out = append(out, e)
		}
	}
	return out
}

// snapshot returns the kept events f matches, oldest first.
func (r *eventRing) snapshot(f eventFilter) []*netbootv1.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.snapshotLocked(f)
}

// follow returns the kept events f matches and a follower that receives
// every later one, with no gap between the two. Call unfollow when done.
func (r *eventRing) follow(f eventFilter) ([]*netbootv1.Event, *eventFollower) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fl := &eventFollower{ch: make(chan *netbootv1.Event, followerBuffer), filter: f}
	r.followers[fl] = struct{}{}
	r.following.Store(int32(len(r.followers)))
	return r.snapshotLocked(f), fl
}

func (r *eventRing) unfollow(fl *eventFollower) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.followers, fl)
	r.following.Store(int32(len(r.followers)))
}

// WatchEvents sends the kept events, then with follow every new one until
// ctx ends (the client went away) or the agent stops.
func (s *core) WatchEvents(ctx context.Context, req *netbootv1.WatchEventsRequest, send func(*netbootv1.Event) error) error {
	for _, k := range req.GetKinds() {
		if _, err := eventkind.Parse(k); err != nil {
			return invalidArgumentf("kinds: %v", err)
		}
	}
	f := filterOf(req)
	if !req.GetFollow() {
		for _, e := range s.events.snapshot(f) {
			if err := send(e); err != nil {
				return err
			}
		}
		return nil
	}
	backlog, fl := s.events.follow(f)
	defer s.events.unfollow(fl)
	for _, e := range backlog {
		if err := send(e); err != nil {
			return err
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.ctx.Done():
			return nil
		case e := <-fl.ch:
			if err := send(e); err != nil {
				return err
			}
		}
	}
}

// eventHandler is a slog.Handler that records every log record at info and
// above as an event in the ring, then passes it on to the agent's log. So
// every existing log call is an event for `agent logs`, without changing
// the call sites.
type eventHandler struct {
	next   slog.Handler
	ring   *eventRing
	attrs  []slog.Attr // from WithAttrs, keys already qualified by groups
	groups []string
}

func newEventHandler(next slog.Handler, ring *eventRing) *eventHandler {
	return &eventHandler{next: next, ring: ring}
}

func (h *eventHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= slog.LevelInfo || h.next.Enabled(ctx, level)
}

func (h *eventHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelInfo {
		h.ring.add(h, r)
	}
	if h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h *eventHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.next = h.next.WithAttrs(attrs)
	c.attrs = slices.Clip(h.attrs)
	prefix := groupPrefix(h.groups)
	for _, a := range attrs {
		c.attrs = append(c.attrs, slog.Attr{Key: qualified(prefix, a.Key), Value: a.Value})
	}
	return &c
}

func (h *eventHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.next = h.next.WithGroup(name)
	c.groups = append(slices.Clip(h.groups), name)
	return &c
}

// qualified is key under the groups prefix names, except the kind
// (eventkind.Key): that is the record's, whatever group it was logged in.
func qualified(prefix, key string) string {
	if key == eventkind.Key {
		return key
	}
	return prefix + key
}

func groupPrefix(groups []string) string {
	if len(groups) == 0 {
		return ""
	}
	return strings.Join(groups, ".") + "."
}

// clientAttrs are the log attributes that name a client, most specific
// first: Event.client is the first one present.
var clientAttrs = []string{"duid", "client_duid", "hardware_addr", "mac", "client", "peer", "address"}

// event turns a log record into an event.
func (h *eventHandler) event(r slog.Record) *netbootv1.Event {
	e := &netbootv1.Event{
		TimeUnixNano: r.Time.UnixNano(),
		Level:        r.Level.String(),
		Message:      r.Message,
		Attrs:        map[string]string{},
	}
	if r.Time.IsZero() {
		e.TimeUnixNano = time.Now().UnixNano()
	}
	for _, a := range h.attrs {
		addAttr(e.Attrs, "", a)
	}
	prefix := groupPrefix(h.groups)
	r.Attrs(func(a slog.Attr) bool {
		addAttr(e.Attrs, prefix, a)
		return true
	})
	e.BootServer = e.Attrs["boot_server"]
	delete(e.Attrs, "boot_server")
	e.Kind = string(eventKind(e.Attrs))
	delete(e.Attrs, eventkind.Key)
	if h, ok := menu.ParseHostPath(strings.TrimPrefix(e.Attrs["path"], "/")); ok && e.Kind == string(eventkind.Script) {
		// The host a menu was rendered for is in its path.
		if mac, ok := menu.NormalizeMAC(h.MAC); ok {
			e.Attrs["mac"] = mac
		}
	}
	for _, k := range clientAttrs {
		if v := e.Attrs[k]; v != "" {
			e.Client = v
			break
		}
	}
	return e
}

func addAttr(m map[string]string, prefix string, a slog.Attr) {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, g := range v.Group() {
			addAttr(m, p, g)
		}
		return
	}
	if a.Key == "" {
		return
	}
	m[qualified(prefix, a.Key)] = v.String()
}

// componentKey is the log attribute naming the part of the agent that
// logged a record (dhcpv6, tftp, http, ra, dns, nfs, control): each
// server's logger carries it, and its value is that server's kind.
const componentKey = "component"

// eventKind says what a record is about: its eventkind.Key attribute, else
// the kind of the server that logged it (componentKey), else
// eventkind.Agent. Never the message text, so rewording a log line keeps
// its kind.
func eventKind(attrs map[string]string) eventkind.Kind {
	if k := attrs[eventkind.Key]; k != "" {
		return eventkind.Kind(k)
	}
	if c := attrs[componentKey]; c != "" {
		return eventkind.Kind(c)
	}
	return eventkind.Agent
}
