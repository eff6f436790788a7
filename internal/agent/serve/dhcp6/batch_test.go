package dhcp6

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/store"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
)

// fakeConn collects what the server sends. With stored set, it also checks
// that every address a Reply assigns is already in storage.
type fakeConn struct {
	mu     sync.Mutex // serve sends from two goroutines
	t      testing.TB
	stored *memStore
	sent   []*dhcpv6.Message
	srcs   []net.IP // the source address each was sent from; nil: the kernel's choice
	// batches is the size of each WriteBatch call.
	batches []int
}

func (c *fakeConn) ReadBatch([]ipv6.Message, int) (int, error) { return 0, net.ErrClosed }

func (c *fakeConn) WriteBatch(ms []ipv6.Message, _ int) (int, error) {
	c.mu.Lock()
	c.batches = append(c.batches, len(ms))
	c.mu.Unlock()
	for i := range ms {
		var cm ipv6.ControlMessage
		// A sent IPV6_PKTINFO parses as a received one: the source
		// address comes back as Dst.
		if err := cm.Parse(ms[i].OOB); err != nil && c.t != nil {
			c.t.Fatalf("control message of a response: %v", err)
		}
		c.record(ms[i].Buffers[0], cm.Dst)
	}
	return len(ms), nil
}

func (c *fakeConn) record(b []byte, src net.IP) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.t == nil {
		return
	}
	m, err := dhcpv6.MessageFromBytes(b)
	if err != nil {
		c.t.Fatalf("sent response does not parse: %v", err)
	}
	for _, ia := range m.Options.IANA() {
		for _, a := range ia.Options.Addresses() {
			addr, _ := netip.AddrFromSlice(a.IPv6Addr)
			if c.stored == nil || m.MessageType != dhcpv6.MessageTypeReply || a.ValidLifetime == 0 {
				continue
			}
			if _, ok := c.stored.get(addr); !ok {
				c.t.Errorf("%s assigns %s before it is stored", m.MessageType, addr)
			}
		}
	}
	c.sent = append(c.sent, m)
	c.srcs = append(c.srcs, src)
}

// newTestServer is a Server without a socket: tests hand serveBatch the
// datagrams of one read and look at what conn got.
func newTestServer(t testing.TB, cfg Config, st LeaseStore, conn packetConn, now *time.Time) *Server {
	t.Helper()
	return &Server{
		link:   &serverLink{ifi: &net.Interface{Index: 1, Name: cfg.Interface.Name}, duid: serverDUID},
		conn:   conn,
		h:      newHandler(serverDUID, cfg, lease.NewPool(spacesOf(cfg)), st, slog.New(slog.DiscardHandler)),
		logger: slog.New(slog.DiscardHandler),
		now:    func() time.Time { return *now },
		pacer:  newPacer(),
	}
}

// datagram is m as ReadBatch returns it, sent by multicast from peer.
func datagram(m *dhcpv6.Message, peer netip.Addr) ipv6.Message {
	b := m.ToBytes()
	return ipv6.Message{Buffers: [][]byte{b}, N: len(b), Addr: &net.UDPAddr{IP: peer.AsSlice(), Port: dhcpv6.DefaultClientPort}}
}

// batchClient is the nth of many clients on the link.
func batchClient(n int) (dhcpv6.DUID, netip.Addr) {
	mac := net.HardwareAddr{0x52, 0x54, 0, 0, byte(n >> 8), byte(n)}
	return &dhcpv6.DUIDLL{HWType: iana.HWTypeEthernet, LinkLayerAddr: mac}, netip.MustParseAddr(fmt.Sprintf("fe80::5054:ff:fe00:%x", n))
}

func TestBatchNotRepliedWhenStoreFails(t *testing.T) {
	cfg := testConfig(config.DHCPv6Stateful)
	st := newMemStore()
	conn := &fakeConn{t: t, stored: st}
	now := t0
	srv := newTestServer(t, cfg, st, conn, &now)
	var b batch
	renewer, renewerLL := batchClient(1)
	newcomer, newcomerLL := batchClient(2)
	soliciter, soliciterLL := batchClient(3)
	request := func(cid dhcpv6.DUID) *dhcpv6.Message {
		return clientMessage(t, dhcpv6.MessageTypeRequest, cid, serverDUID, iaNA(1))
	}
	renew := clientMessage(t, dhcpv6.MessageTypeRenew, renewer, serverDUID, iaNA(1))

	srv.serveBatch([]ipv6.Message{datagram(request(renewer), renewerLL)}, &b)
	if len(conn.sent) != 1 || st.len() != 1 {
		t.Fatalf("first Request: %d responses, %d leases stored", len(conn.sent), st.len())
	}
	bound, _, _ := leased(t, conn.sent[0])
	before, _ := st.get(bound)

	// One batch of a Renew, a new client's Request, and two messages that
	// store nothing; the disk fails.
	st.failPut = errors.New("disk full")
	conn.sent = nil
	now = t0.Add(time.Hour)
	info := clientMessage(t, dhcpv6.MessageTypeInformationRequest, soliciter, nil)
	srv.serveBatch([]ipv6.Message{
		datagram(renew, renewerLL),
		datagram(request(newcomer), newcomerLL),
		datagram(clientMessage(t, dhcpv6.MessageTypeSolicit, soliciter, nil, iaNA(1)), soliciterLL),
		datagram(info, soliciterLL),
	}, &b)
	var types []dhcpv6.MessageType
	for _, m := range conn.sent {
		types = append(types, m.MessageType)
	}
	if len(types) != 2 || types[0] != dhcpv6.MessageTypeAdvertise || types[1] != dhcpv6.MessageTypeReply || conn.sent[1].TransactionID != info.TransactionID {
		t.Fatalf("sent %v; want only the Advertise and the Information-request's Reply", types)
	}
	leases := srv.Leases()
	if len(leases) != 1 || leases[0].Address != bound || !leases[0].ValidUntil.Equal(before.ValidUntil) {
		t.Fatalf("pool after the failed batch: %+v; want only the stored lease of %s, valid until %s", leases, bound, before.ValidUntil)
	}
	if after, _ := st.get(bound); st.len() != 1 || !after.ValidUntil.Equal(before.ValidUntil) {
		t.Fatalf("store changed by a failed batch: %d leases, %+v", st.len(), after)
	}
	stats := srv.Stats().ByType
	if stats["RENEW"].Dropped != 1 || stats["REQUEST"].Dropped != 1 || stats["RENEW"].NotStored != 1 || stats["REQUEST"].NotStored != 1 {
		t.Errorf("stats %+v; want the Renew and the Request dropped as not stored", stats)
	}

	// The clients retransmit once the disk is back.
	st.failPut = nil
	conn.sent = nil
	srv.serveBatch([]ipv6.Message{datagram(renew, renewerLL), datagram(request(newcomer), newcomerLL)}, &b)
	if len(conn.sent) != 2 || st.len() != 2 || len(srv.Leases()) != 2 {
		t.Fatalf("retransmissions: %d responses, %d leases stored, pool %+v", len(conn.sent), st.len(), srv.Leases())
	}
	if after, _ := st.get(bound); !after.ValidUntil.After(before.ValidUntil) {
		t.Errorf("renewed lease valid until %s, not extended beyond %s", after.ValidUntil, before.ValidUntil)
	}
}

// watchedStore is a memStore that runs during before each PutLeases, as
// the commit is under way.
type watchedStore struct {
	*memStore
	during func(put []lease.Lease)
}

func (w *watchedStore) PutLeases(put []lease.Lease, del []netip.Addr) error {
	w.during(put)
	return w.memStore.PutLeases(put, del)
}

// TestLeasesListOnlyStored checks that the lease list (agent leases) shows
// what storage holds: nothing of a binding while its commit is under way
// or after it failed, and a renewal with its stored lifetimes.
func TestLeasesListOnlyStored(t *testing.T) {
	cfg := testConfig(config.DHCPv6Stateful)
	now := t0
	var srv *Server
	var during [][]lease.Lease
	st := &watchedStore{memStore: newMemStore(), during: func([]lease.Lease) { during = append(during, srv.Leases()) }}
	conn := &fakeConn{t: t, stored: st.memStore}
	srv = newTestServer(t, cfg, st, conn, &now)
	var b batch
	cid, ll := batchClient(1)
	request := clientMessage(t, dhcpv6.MessageTypeRequest, cid, serverDUID, iaNA(1))
	for _, fail := range []bool{true, false} {
		st.failPut = nil
		if fail {
			st.failPut = errors.New("no space left on device")
		}
		during = nil
		srv.serveBatch([]ipv6.Message{datagram(request, ll)}, &b)
		if len(during) != 1 || len(during[0]) != 0 {
			t.Errorf("store failing %v: listed during the commit %v; want nothing", fail, during)
		}
	}
	stored := srv.Leases()
	if len(stored) != 1 {
		t.Fatalf("listed after the retransmission was stored: %+v; want its lease", stored)
	}

	// A Renew whose commit fails: listed with the lifetimes stored before.
	now = t0.Add(time.Hour)
	st.failPut = errors.New("no space left on device")
	during = nil
	srv.serveBatch([]ipv6.Message{datagram(clientMessage(t, dhcpv6.MessageTypeRenew, cid, serverDUID, iaNA(1)), ll)}, &b)
	for _, got := range append(during, srv.Leases()) {
		if len(got) != 1 || !got[0].ValidUntil.Equal(stored[0].ValidUntil) {
			t.Errorf("listed during and after the failed Renew: %+v; want valid until %s", got, stored[0].ValidUntil)
		}
	}
}

// scriptedConn hands serve one prepared read per ReadBatch call; before
// read i it runs before[i], if any. After the last read it reports the
// socket closed, which ends serve.
type scriptedConn struct {
	*fakeConn
	reads  [][]ipv6.Message
	before map[int]func()
	n      int
}

func (c *scriptedConn) ReadBatch(ms []ipv6.Message, flags int) (int, error) {
	if flags&unix.MSG_DONTWAIT != 0 {
		// Only waiting reads are scripted: nothing is ever queued behind.
		return 0, unix.EAGAIN
	}
	if f := c.before[c.n]; f != nil {
		f()
	}
	if c.n == len(c.reads) {
		return 0, net.ErrClosed
	}
	read := c.reads[c.n]
	c.n++
	return copy(ms, read), nil
}

// TestServeAbandonsBatchHandledOverFailedOne checks the overlap of serve:
// the batch handled while an earlier one was being stored is abandoned
// with it when that store fails (it may build on bindings that are now
// released), and the clients' retransmissions are served once the disk is
// back.
func TestServeAbandonsBatchHandledOverFailedOne(t *testing.T) {
	cfg := testConfig(config.DHCPv6Stateful)
	st := newMemStore()
	conn := &scriptedConn{fakeConn: &fakeConn{t: t, stored: st}}
	now := t0
	srv := newTestServer(t, cfg, st, conn, &now)
	first, firstLL := batchClient(1)
	second, secondLL := batchClient(2)
	request := func(cid dhcpv6.DUID) *dhcpv6.Message {
		return clientMessage(t, dhcpv6.MessageTypeRequest, cid, serverDUID, iaNA(1))
	}
	firstRequest, secondRequest := request(first), request(second)
	conn.reads = [][]ipv6.Message{
		{datagram(firstRequest, firstLL)},
		{datagram(secondRequest, secondLL)},
		// Retransmissions, once storage works again.
		{datagram(firstRequest, firstLL), datagram(secondRequest, secondLL)},
	}
	setFail := func(err error) {
		st.mu.Lock()
		st.failPut = err
		st.mu.Unlock()
	}
	setFail(errors.New("disk full"))
	conn.before = map[int]func(){2: func() {
		// Both earlier batches were given up: no Reply, no binding.
		conn.mu.Lock()
		sent := len(conn.sent)
		conn.mu.Unlock()
		if sent != 0 || len(srv.Leases()) != 0 {
			t.Errorf("after the failed store: %d responses sent, pool %+v; want none", sent, srv.Leases())
		}
		setFail(nil)
	}}
	srv.serve(t.Context())
	if len(conn.sent) != 2 || st.len() != 2 || len(srv.Leases()) != 2 {
		t.Fatalf("retransmissions: %d responses, %d leases stored, pool %+v", len(conn.sent), st.len(), srv.Leases())
	}
	if got := srv.Stats().ByType["REQUEST"].Dropped; got != 2 {
		t.Errorf("%d Requests dropped; want the 2 of the failed batches", got)
	}
}

// TestBatchKeepsLastWrite checks that a lease released in the batch that
// bound it is not left in storage. (The Request's Reply still goes out, after
// the commit: the client has already let the address go.)
func TestBatchKeepsLastWrite(t *testing.T) {
	cfg := testConfig(config.DHCPv6Stateful)
	st := newMemStore()
	conn := &fakeConn{t: t}
	now := t0
	srv := newTestServer(t, cfg, st, conn, &now)
	var b batch
	srv.serveBatch([]ipv6.Message{
		datagram(clientMessage(t, dhcpv6.MessageTypeRequest, clientDUID, serverDUID, iaNA(1, "2001:db8:1::123")), clientLL),
		datagram(clientMessage(t, dhcpv6.MessageTypeRelease, clientDUID, serverDUID, iaNA(1, "2001:db8:1::123")), clientLL),
	}, &b)
	if st.len() != 0 || len(srv.Leases()) != 0 {
		t.Fatalf("after Request and Release in one batch: %d leases stored, pool %+v", st.len(), srv.Leases())
	}
}

// BenchmarkServeBatch handles batches of Requests from distinct clients
// with leases in bbolt, so each batch costs one fsync however large it is.
func BenchmarkServeBatch(b *testing.B) {
	for _, size := range []int{1, 16, maxBatch} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			db, err := store.Open(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { db.Close() })
			cfg := testConfig(config.DHCPv6Stateful)
			cfg.DHCPv6.Ranges[0].End = netip.MustParseAddr("2001:db8:1::ffff")
			now := t0
			srv := newTestServer(b, cfg, db.Leases("bench"), &fakeConn{}, &now)
			ms := make([]ipv6.Message, size)
			for i := range ms {
				cid, ll := batchClient(i)
				ms[i] = datagram(clientMessage(b, dhcpv6.MessageTypeRequest, cid, serverDUID, iaNA(1)), ll)
			}
			var bt batch
			for b.Loop() {
				srv.serveBatch(ms, &bt)
			}
			b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "replies/s")
			if got := srv.Stats().ByType["REQUEST"]; got.Replied != uint64(b.N*size) || got.Latency.Count != got.Replied {
				b.Fatalf("%d Replies, %d latencies for %d Requests", got.Replied, got.Latency.Count, b.N*size)
			}
		})
	}
}

// gatedStore is a memStore whose first PutLeases waits for open, and that
// records how many leases each call stored.
type gatedStore struct {
	*memStore
	open  chan struct{}
	mu    sync.Mutex
	calls []int
}

func (g *gatedStore) PutLeases(put []lease.Lease, del []netip.Addr) error {
	g.mu.Lock()
	first := len(g.calls) == 0
	g.calls = append(g.calls, len(put))
	g.mu.Unlock()
	if first {
		<-g.open
	}
	return g.memStore.PutLeases(put, del)
}

// queuedConn serves one waiting read, then hands the rest of its queue to
// reads that do not wait (MSG_DONTWAIT), as a socket does with datagrams
// that arrived meanwhile; when the queue is empty it opens the store's
// gate and reports EAGAIN, and the next waiting read finds the socket
// closed.
type queuedConn struct {
	*fakeConn
	first  []ipv6.Message
	queue  [][]ipv6.Message
	open   chan struct{}
	waited int
}

func (c *queuedConn) ReadBatch(ms []ipv6.Message, flags int) (int, error) {
	if flags&unix.MSG_DONTWAIT == 0 {
		c.waited++
		switch c.waited {
		case 1:
			return copy(ms, c.first), nil
		case 2:
			read := c.queue[0]
			c.queue = c.queue[1:]
			return copy(ms, read), nil
		default:
			return 0, net.ErrClosed
		}
	}
	if len(c.queue) == 0 {
		if c.open != nil {
			close(c.open)
			c.open = nil
		}
		return 0, unix.EAGAIN
	}
	read := c.queue[0]
	c.queue = c.queue[1:]
	return copy(ms, read), nil
}

// TestServeAccumulatesWhileCommitting checks group commit under load: the
// datagrams that arrive while a commit is under way are all stored by the
// next one.
func TestServeAccumulatesWhileCommitting(t *testing.T) {
	cfg := testConfig(config.DHCPv6Stateful)
	st := &gatedStore{memStore: newMemStore(), open: make(chan struct{})}
	request := func(n int) ipv6.Message {
		cid, ll := batchClient(n)
		return datagram(clientMessage(t, dhcpv6.MessageTypeRequest, cid, serverDUID, iaNA(1)), ll)
	}
	conn := &queuedConn{fakeConn: &fakeConn{t: t, stored: st.memStore}, open: st.open,
		first: []ipv6.Message{request(1)},
		queue: [][]ipv6.Message{{request(2)}, {request(3), request(4)}, {request(5)}}}
	now := t0
	srv := newTestServer(t, cfg, st, conn, &now)
	srv.serve(t.Context())
	if want := []int{1, 4}; !slices.Equal(st.calls, want) {
		t.Errorf("leases per store call %v, want %v: the 4 Requests that came during the first commit in one", st.calls, want)
	}
	if len(conn.sent) != 5 || st.len() != 5 {
		t.Fatalf("%d Replies sent, %d leases stored; want 5 and 5", len(conn.sent), st.len())
	}
}

// newPacingTestServer serves a range of 65,536 addresses from memory, for
// batches of many clients.
func newPacingTestServer(t *testing.T) (*Server, *fakeConn) {
	cfg := testConfig(config.DHCPv6Stateful)
	cfg.DHCPv6.Ranges[0].End = netip.MustParseAddr("2001:db8:1::ffff")
	conn := &fakeConn{t: t}
	now := t0
	return newTestServer(t, cfg, newMemStore(), conn, &now), conn
}

// TestAdvertisesAndRepliesSharePacing: the Advertises a read sends at once
// and the Replies its commit releases draw from one budget, so together
// they still leave no more than pacedChunk at a time.
func TestAdvertisesAndRepliesSharePacing(t *testing.T) {
	srv, conn := newPacingTestServer(t)
	var ms []ipv6.Message
	for i := range pacedChunk + 8 {
		cid, ll := batchClient(i)
		ms = append(ms, datagram(clientMessage(t, dhcpv6.MessageTypeSolicit, cid, nil, iaNA(1)), ll))
	}
	for i := range pacedChunk {
		cid, ll := batchClient(1000 + i)
		ms = append(ms, datagram(clientMessage(t, dhcpv6.MessageTypeRequest, cid, serverDUID, iaNA(1)), ll))
	}
	var b batch
	start := time.Now()
	srv.serveBatch(ms, &b)
	if d, want := time.Since(start), time.Duration(len(ms)-pacedChunk)*pacedGap/pacedChunk; d < want {
		t.Errorf("%d responses sent in %v, want at least %v", len(ms), d, want)
	}
	// The Advertises go sendEvery at a time as they are decided.
	var want []int
	for left := pacedChunk + 8; left > 0; left -= sendEvery {
		want = append(want, min(left, sendEvery))
	}
	if want = append(want, pacedChunk); !slices.Equal(conn.batches, want) {
		t.Errorf("sendmmsg batches %v, want %v: the Advertises, then the Replies", conn.batches, want)
	}
	for i, m := range conn.sent {
		want := dhcpv6.MessageTypeAdvertise
		if i >= pacedChunk+8 {
			want = dhcpv6.MessageTypeReply
		}
		if m.MessageType != want {
			t.Fatalf("response %d is a %s, want %s", i, m.MessageType, want)
		}
	}
}

// TestCommitPacesManyReplies: a commit that releases many Replies sends
// them pacedChunk at a time, no faster than one chunk per pacedGap after
// the first, all of them, in order.
func TestCommitPacesManyReplies(t *testing.T) {
	srv, conn := newPacingTestServer(t)
	const n = 2*pacedChunk + 5
	ms := make([]ipv6.Message, n)
	for i := range ms {
		cid, ll := batchClient(i)
		ms[i] = datagram(clientMessage(t, dhcpv6.MessageTypeRequest, cid, serverDUID, iaNA(1)), ll)
	}
	var b batch
	start := time.Now()
	srv.serveBatch(ms, &b)
	// The first chunk leaves at once; the rest wait for their tokens.
	if d, want := time.Since(start), (n-pacedChunk)*pacedGap/pacedChunk; d < want {
		t.Errorf("%d Replies sent in %v, want at least %v", n, d, want)
	}
	if want := []int{pacedChunk, pacedChunk, 5}; !slices.Equal(conn.batches, want) {
		t.Errorf("sendmmsg batches %v, want %v", conn.batches, want)
	}
	if len(conn.sent) != n {
		t.Fatalf("%d Replies sent, want %d", len(conn.sent), n)
	}
	for i, m := range conn.sent {
		cid, _ := batchClient(i)
		if got := m.Options.ClientID(); m.MessageType != dhcpv6.MessageTypeReply || got == nil || !got.Equal(cid) {
			t.Fatalf("response %d is a %s to %v, want the Reply to client %d (%v)", i, m.MessageType, got, i, cid)
		}
	}
}

// withBareUserClass is m with a User Class option (15) holding a bare
// string, without the length RFC 8415 puts before each class, as a
// misconfigured dhclient sends it.
func withBareUserClass(m *dhcpv6.Message) []byte {
	return append(m.ToBytes(), 0, byte(dhcpv6.OptionUserClass), 0, 4, 'i', 'P', 'X', 'E')
}

// TestMalformedUserClassIsIgnored checks that a client whose User Class
// option does not parse is answered as one without a user class (firmware:
// here the TFTP boot file of its arch), and that the log says why.
func TestMalformedUserClassIsIgnored(t *testing.T) {
	cfg := bootConfig(config.DHCPv6Stateful)
	st := newMemStore()
	conn := &fakeConn{t: t, stored: st}
	now := t0
	srv := newTestServer(t, cfg, st, conn, &now)
	var logs bytes.Buffer
	srv.logger = jsonLogger(&logs)
	for _, typ := range []dhcpv6.MessageType{dhcpv6.MessageTypeSolicit, dhcpv6.MessageTypeRequest} {
		sid := dhcpv6.DUID(serverDUID)
		if typ == dhcpv6.MessageTypeSolicit {
			sid = nil
		}
		m := withMods(clientMessage(t, typ, clientDUID, sid, iaNA(clientIAID)), []dhcpv6.Modifier{wantBoot, withArch(0x0007)})
		data := withBareUserClass(m)
		conn.sent = nil
		var b batch
		srv.serveBatch([]ipv6.Message{{Buffers: [][]byte{data}, N: len(data), Addr: &net.UDPAddr{IP: clientLL.AsSlice(), Port: dhcpv6.DefaultClientPort}}}, &b)
		if len(conn.sent) != 1 {
			t.Fatalf("%s with a bare user class: %d answers, want 1", typ, len(conn.sent))
		}
		if u := conn.sent[0].Options.BootFileURL(); u != "tftp://[2001:db8:1::1]/ipxe.efi" {
			t.Errorf("answer to %s: boot-file URL %q, want the firmware's iPXE build", typ, u)
		}
	}
	if leased(t, conn.sent[0]); st.len() != 1 {
		t.Errorf("Request with a bare user class: %d leases stored, want 1", st.len())
	}
	found := false
	for _, l := range logLines(t, &logs) {
		if l["level"] == "DEBUG" && strings.Contains(fmt.Sprint(l["reason"]), "User Class option (15)") {
			found = true
		}
	}
	if !found {
		t.Errorf("no debug line says why the user class was ignored:\n%s", logs.String())
	}
	if got := srv.Stats().Malformed; got != 0 {
		t.Errorf("%d messages counted malformed, want 0", got)
	}
}

// interruptedConn is a scriptedConn whose first waiting read and first
// send a signal interrupts (EINTR), as the blocking socket's calls may be.
type interruptedConn struct {
	*scriptedConn
	readCut, writeCut bool
}

func (c *interruptedConn) ReadBatch(ms []ipv6.Message, flags int) (int, error) {
	if !c.readCut && flags&unix.MSG_DONTWAIT == 0 {
		c.readCut = true
		return -1, os.NewSyscallError("recvmmsg", unix.EINTR)
	}
	return c.scriptedConn.ReadBatch(ms, flags)
}

func (c *interruptedConn) WriteBatch(ms []ipv6.Message, flags int) (int, error) {
	if !c.writeCut {
		c.writeCut = true
		return -1, os.NewSyscallError("sendmmsg", unix.EINTR)
	}
	return c.scriptedConn.WriteBatch(ms, flags)
}

// TestServeReadsAgainAfterEINTR: a read or send that a signal interrupts
// is simply made again, without the pause that follows a socket error and
// without losing the response.
func TestServeReadsAgainAfterEINTR(t *testing.T) {
	cfg := testConfig(config.DHCPv6Stateful)
	cid, ll := batchClient(1)
	conn := &interruptedConn{scriptedConn: &scriptedConn{fakeConn: &fakeConn{t: t},
		reads: [][]ipv6.Message{{datagram(clientMessage(t, dhcpv6.MessageTypeSolicit, cid, nil, iaNA(1)), ll)}}}}
	now := t0
	srv := newTestServer(t, cfg, newMemStore(), conn, &now)
	start := time.Now()
	srv.serve(t.Context())
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("served one Solicit in %v: the interrupted read was taken for a socket error", d)
	}
	if len(conn.sent) != 1 || conn.sent[0].MessageType != dhcpv6.MessageTypeAdvertise {
		t.Fatalf("sent %d messages, want the Advertise", len(conn.sent))
	}
	if st := srv.Stats().ByType["SOLICIT"]; st.Replied != 1 || st.Dropped != 0 {
		t.Errorf("Solicit counters %+v, want 1 replied, none dropped", st)
	}
}

// TestReplyLatencyCountsTheCommit checks that a Reply's latency runs from
// the read to the send, so a Request's includes the commit it waits for,
// and a Solicit's (sent at once) does not; the commit is timed too.
func TestReplyLatencyCountsTheCommit(t *testing.T) {
	const commit = 20 * time.Millisecond
	st := &watchedStore{memStore: newMemStore(), during: func([]lease.Lease) { time.Sleep(commit) }}
	now := t0
	srv := newTestServer(t, testConfig(config.DHCPv6Stateful), st, &fakeConn{t: t}, &now)
	solicitID, solicitLL := batchClient(1)
	requestID, requestLL := batchClient(2)
	var b batch
	srv.serveBatch([]ipv6.Message{
		datagram(clientMessage(t, dhcpv6.MessageTypeSolicit, solicitID, nil, iaNA(1)), solicitLL),
		datagram(clientMessage(t, dhcpv6.MessageTypeRequest, requestID, serverDUID, iaNA(1)), requestLL),
	}, &b)
	stats := srv.Stats().ByType
	if l := stats["REQUEST"].Latency; l.Count != 1 || time.Duration(l.Sum) < commit {
		t.Errorf("Request latency %+v, want one reply after at least %v", l, commit)
	}
	if l := stats["SOLICIT"].Latency; l.Count != 1 || time.Duration(l.Sum) >= commit {
		t.Errorf("Solicit latency %+v, want one reply before the %v commit", l, commit)
	}
	if c := srv.Stats().Commit; c.Count != 1 || time.Duration(c.Sum) < commit {
		t.Errorf("commits %+v, want one of at least %v", c, commit)
	}
}

// refusingConn is a socket that sends nothing.
type refusingConn struct{ *fakeConn }

func (refusingConn) WriteBatch([]ipv6.Message, int) (int, error) { return 0, unix.EPERM }

// TestSendFailureCountsAsDropReason checks that a response the socket
// refuses is a drop with reason send_failed, and no reply or latency.
func TestSendFailureCountsAsDropReason(t *testing.T) {
	now := t0
	srv := newTestServer(t, testConfig(config.DHCPv6Stateful), newMemStore(), refusingConn{&fakeConn{t: t}}, &now)
	cid, ll := batchClient(1)
	var b batch
	srv.serveBatch([]ipv6.Message{datagram(clientMessage(t, dhcpv6.MessageTypeSolicit, cid, nil, iaNA(1)), ll)}, &b)
	if st := srv.Stats().ByType["SOLICIT"]; st.Dropped != 1 || st.SendFailed != 1 || st.NotStored != 0 || st.Replied != 0 || st.Latency.Count != 0 {
		t.Errorf("Solicit counters %+v, want one drop as send_failed", st)
	}
}

// TestRefusalCountsAsDropReason checks that messages the handler drops as
// RFC 8415 asks (a Solicit without Client Identifier, a Request naming
// another server) are drops with reason refused, not failed.
func TestRefusalCountsAsDropReason(t *testing.T) {
	now := t0
	conn := &fakeConn{t: t}
	srv := newTestServer(t, testConfig(config.DHCPv6Stateful), newMemStore(), conn, &now)
	cid, ll := batchClient(1)
	other, _ := batchClient(2)
	var b batch
	srv.serveBatch([]ipv6.Message{
		datagram(clientMessage(t, dhcpv6.MessageTypeSolicit, nil, nil, iaNA(1)), ll),
		datagram(clientMessage(t, dhcpv6.MessageTypeRequest, cid, other, iaNA(1)), ll),
	}, &b)
	if len(conn.sent) != 0 {
		t.Fatalf("sent %d answers, want none", len(conn.sent))
	}
	for _, typ := range []string{"SOLICIT", "REQUEST"} {
		if st := srv.Stats().ByType[typ]; st.Received != 1 || st.Dropped != 1 || st.Refused != 1 || st.Failed != 0 || st.Replied != 0 {
			t.Errorf("%s counters %+v, want one drop as refused", typ, st)
		}
	}
}
