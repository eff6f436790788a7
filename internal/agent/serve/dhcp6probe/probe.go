// Package dhcp6probe finds other DHCPv6 servers on a link by asking as a
// client would: it multicasts a Solicit to All_DHCP_Relay_Agents_and_Servers
// (ff02::1:2, link scope, so it never leaves the link) from port 546 and
// records every Advertise or Reply that answers it in an otherserver.Book.
//
// Why ask rather than listen: servers answer a client by unicast to its
// link-local address, so on a switched link the agent never sees the
// answers other servers give to booting machines, and a forgotten server
// is silent until a machine boots. A probe finds it on an idle link, needs
// no promiscuous capture, and costs one small multicast every few minutes.
//
// The probe must not disturb anyone. Its Solicit carries no Rapid Commit
// option, so a server only offers (Advertise) and commits no lease; it is
// sent with multicast loopback off, so our own DHCPv6 server on the same
// host never sees it and an Advertise from our own DUID is ignored anyway;
// its client DUID is a random DUID-UUID (RFC 6355) kept for the prober's
// life, and its User Class is "netboot-probe", so another server's log
// shows what it is. Port 546 is held only while a probe waits for answers
// (AnswerWait), and never shared: a DHCPv6 client running on the agent
// host keeps its answers, and while it holds the port the probe is skipped.
package dhcp6probe

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/link"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/serve/otherserver"
)

// UserClass marks the probe's Solicits (option 15).
const UserClass = "netboot-probe"

// DefaultInterval is the time between probes unless the agent sets another.
const DefaultInterval = 5 * time.Minute

// MinInterval bounds how often a prober solicits, and on-demand probes.
const MinInterval = time.Second

// AnswerWait is how long a probe listens for answers: a server on the link
// answers within milliseconds, a busy one within a second.
const AnswerWait = 2 * time.Second

// solMaxDelay is SOL_MAX_DELAY (RFC 8415 section 7.6): a client waits a
// random time up to it before its first Solicit, so that hosts started
// together do not solicit together.
const solMaxDelay = time.Second

// Config says where to probe and how often.
type Config struct {
	// Interface is the probed interface as the agent resolved it.
	Interface link.Interface
	// Interval is the mean time between probes; each wait is drawn
	// uniformly from 80 % to 120 % of it. At least MinInterval.
	Interval time.Duration
	// OwnDUID is our own DHCPv6 server's DUID (nil when it is off): its
	// answers are never recorded.
	OwnDUID []byte
}

// Stats are the prober's counters since Start.
type Stats struct {
	// SolicitsSent counts probe Solicits sent.
	SolicitsSent uint64
	// ForeignAnswers counts Advertise and Reply messages from other servers.
	ForeignAnswers uint64
	// IgnoredMessages counts datagrams on port 546 that are not an answer
	// to a probe from another server: malformed, for another client, or
	// from our own server.
	IgnoredMessages uint64
	// SendErrors counts probes not sent, those skipped while another
	// socket held port 546 included; ReceiveErrors failed reads.
	SendErrors    uint64
	ReceiveErrors uint64
}

// Prober probes one interface until stopped.
type Prober struct {
	logger   *slog.Logger
	ifi      *net.Interface
	duid     dhcpv6.DUID
	iaid     [4]byte
	book     *otherserver.Book
	requests chan chan error
	cancel   context.CancelFunc
	stopped  <-chan struct{}
	wg       sync.WaitGroup

	mu  sync.Mutex // guards cfg
	cfg Config

	// portBusy is true while port 546 could not be had, so that only the
	// first failure of a run of them is a warning; run's goroutine only.
	portBusy bool

	solicits, foreign, ignored, sendErrors, receiveErrors atomic.Uint64
}

// Start probes cfg.Interface at once (after a random delay of up to a
// second) and then every cfg.Interval. It opens port 546 for the first
// probe before it returns; later probes open it again from the prober's
// goroutine, so the whole process must be in the link's network namespace,
// as the agent is. While another socket holds the port, probes are skipped
// with a warning.
func Start(ctx context.Context, cfg Config, logger *slog.Logger) (*Prober, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Interval < MinInterval {
		return nil, fmt.Errorf("DHCPv6 probe interval %s: want at least %s", cfg.Interval, MinInterval)
	}
	ifi := cfg.Interface.Net()
	logger = logger.With("interface", ifi.Name)
	// A port held by a DHCPv6 client now may be free at the next probe.
	conn, err := listen(ifi)
	if err != nil {
		logger.Warn("DHCPv6 probe skipped until port 546 is free", "error", err)
	}
	var uuid [16]byte
	_, _ = rand.Read(uuid[:])
	uuid[6] = uuid[6]&0x0f | 0x40 // version 4: random (RFC 9562)
	uuid[8] = uuid[8]&0x3f | 0x80
	p := &Prober{
		logger:   logger,
		ifi:      ifi,
		duid:     &dhcpv6.DUIDUUID{UUID: uuid},
		book:     otherserver.NewBook(logger),
		requests: make(chan chan error),
		cfg:      cfg,
		portBusy: err != nil,
	}
	_, _ = rand.Read(p.iaid[:])
	ctx, p.cancel = context.WithCancel(ctx)
	p.stopped = ctx.Done()
	p.wg.Go(func() { p.run(ctx, conn) })
	logger.Info("DHCPv6 probe for other servers started", "interval", cfg.Interval, "probe_duid", fmt.Sprintf("%x", p.duid.ToBytes()))
	return p, nil
}

// listen opens the client port on ifi, as a DHCPv6 client would: bound to
// the interface, multicast leaving by it with hop limit 1 and not looped
// back to this host. Unlike a server socket it does not set SO_REUSEADDR:
// sharing the port would take unicast answers from a DHCPv6 client on the
// agent host.
func listen(ifi *net.Interface) (*ipv6.PacketConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var err error
		if cerr := c.Control(func(fd uintptr) { err = unix.BindToDevice(int(fd), ifi.Name) }); cerr != nil {
			return cerr
		}
		return err
	}}
	pc, err := lc.ListenPacket(context.Background(), "udp6", fmt.Sprintf("[::]:%d", dhcpv6.DefaultClientPort))
	if err != nil {
		return nil, fmt.Errorf("DHCPv6 probe: opening UDP port %d on interface %s (a DHCPv6 client there holds it?): %w", dhcpv6.DefaultClientPort, ifi.Name, err)
	}
	conn := ipv6.NewPacketConn(pc)
	for _, set := range []func() error{
		func() error { return conn.SetMulticastInterface(ifi) },
		func() error { return conn.SetMulticastHopLimit(1) },
		func() error { return conn.SetMulticastLoopback(false) },
	} {
		if err := set(); err != nil {
			conn.Close()
			return nil, fmt.Errorf("DHCPv6 probe: configuring the socket on interface %s: %w", ifi.Name, err)
		}
	}
	return conn, nil
}

// Apply changes the interval and our own DUID; the interface stays.
func (p *Prober) Apply(cfg Config) error {
	if cfg.Interface.Name != p.ifi.Name || cfg.Interface.Index != p.ifi.Index {
		return fmt.Errorf("moving the DHCPv6 probe from %s to %s needs Stop and Start", p.ifi.Name, cfg.Interface.Name)
	}
	if cfg.Interval < MinInterval {
		return fmt.Errorf("DHCPv6 probe interval %s: want at least %s", cfg.Interval, MinInterval)
	}
	p.mu.Lock()
	p.cfg = cfg
	p.mu.Unlock()
	return nil
}

// ErrStopped is returned by Probe after Stop.
var ErrStopped = errors.New("DHCPv6 probe stopped")

// Probe sends a probe Solicit now (or MinInterval after the previous one)
// and returns once its answers had AnswerWait to arrive, or when ctx ends.
// It fails when the Solicit could not be sent, e.g. while port 546 is held.
func (p *Prober) Probe(ctx context.Context) error {
	done := make(chan error, 1)
	select {
	case p.requests <- done:
	case <-ctx.Done():
		return ctx.Err()
	case <-p.stopped:
		return ErrStopped
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// OtherServers lists the other DHCPv6 servers that answered within the
// last otherserver.ForgetAfter.
func (p *Prober) OtherServers() []otherserver.Server { return p.book.Servers() }

// Stats returns the prober's counters.
func (p *Prober) Stats() Stats {
	return Stats{
		SolicitsSent:    p.solicits.Load(),
		ForeignAnswers:  p.foreign.Load(),
		IgnoredMessages: p.ignored.Load(),
		SendErrors:      p.sendErrors.Load(),
		ReceiveErrors:   p.receiveErrors.Load(),
	}
}

// Stop closes the socket and waits for the prober's goroutines. It may be
// called more than once.
func (p *Prober) Stop() {
	p.cancel()
	p.wg.Wait()
}

func (p *Prober) config() Config {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cfg
}

// run probes when its timer fires or a probe is asked for, never two
// within MinInterval. The first probe uses conn, which Start opened (nil
// when it could not).
func (p *Prober) run(ctx context.Context, conn *ipv6.PacketConn) {
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	timer := time.NewTimer(mrand.N(solMaxDelay))
	defer timer.Stop()
	var last time.Time
	for {
		var done chan error
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case done = <-p.requests:
			if wait := MinInterval - time.Since(last); wait > 0 {
				select {
				case <-ctx.Done():
					done <- ErrStopped
					return
				case <-time.After(wait):
				}
			}
		}
		if conn == nil {
			conn = p.open()
		}
		var err error
		if conn == nil {
			err = errors.New("port 546 is held by another socket on the interface (a DHCPv6 client?)")
		} else {
			err = p.probeOnce(ctx, conn)
			conn = nil
		}
		last = time.Now()
		if done != nil {
			done <- err
		}
		timer.Reset(jitter(p.config().Interval))
	}
}

// open opens port 546 for a probe, or returns nil and warns at the first
// failure of a run of them.
func (p *Prober) open() *ipv6.PacketConn {
	conn, err := listen(p.ifi)
	if err != nil {
		p.sendErrors.Add(1)
		if !p.portBusy {
			p.logger.Warn("DHCPv6 probe skipped until port 546 is free", "error", err)
		}
		p.portBusy = true
		return nil
	}
	if p.portBusy {
		p.logger.Info("DHCPv6 probe resumed: port 546 is free again")
	}
	p.portBusy = false
	return conn
}

// jitter draws a wait uniformly from 80 % to 120 % of d, so probers
// started together spread out.
func jitter(d time.Duration) time.Duration {
	return d*4/5 + mrand.N(d*2/5+1)
}

// probeOnce sends one Solicit from conn, records the answers that arrive
// within AnswerWait and closes conn.
func (p *Prober) probeOnce(ctx context.Context, conn *ipv6.PacketConn) error {
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	msg, err := Solicit(p.duid, p.iaid)
	if err == nil {
		dst := &net.UDPAddr{IP: dhcpv6.AllDHCPRelayAgentsAndServers, Port: dhcpv6.DefaultServerPort, Zone: p.ifi.Name}
		_, err = conn.WriteTo(msg.ToBytes(), nil, dst)
	}
	if err != nil {
		p.sendErrors.Add(1)
		p.logger.Warn("sending DHCPv6 probe Solicit failed", "error", err)
		return fmt.Errorf("sending the probe Solicit: %w", err)
	}
	p.solicits.Add(1)
	p.logger.Debug("sent DHCPv6 probe Solicit", "transaction_id", msg.TransactionID.String())

	_ = conn.SetReadDeadline(time.Now().Add(AnswerWait))
	buf := make([]byte, 9000)
	for {
		n, _, src, err := conn.ReadFrom(buf)
		if err != nil {
			var ne net.Error
			if !errors.Is(err, net.ErrClosed) && !(errors.As(err, &ne) && ne.Timeout()) {
				p.receiveErrors.Add(1)
				p.logger.Warn("receiving DHCPv6 probe answers failed", "error", err)
			}
			return nil
		}
		peer := netip.Addr{}
		if u, ok := src.(*net.UDPAddr); ok {
			peer = u.AddrPort().Addr().Unmap().WithZone("")
		}
		p.handle(buf[:n], peer)
	}
}

// Solicit is the probe's Solicit: the probe's DUID, one IA_NA, the options
// a booting client asks for, the probe's User Class, and no Rapid Commit.
func Solicit(duid dhcpv6.DUID, iaid [4]byte) (*dhcpv6.Message, error) {
	msg, err := dhcpv6.NewMessage(
		dhcpv6.WithClientID(duid),
		dhcpv6.WithIAID(iaid),
		dhcpv6.WithRequestedOptions(dhcpv6.OptionDNSRecursiveNameServer, dhcpv6.OptionDomainSearchList,
			dhcpv6.OptionBootfileURL, dhcpv6.OptionBootfileParam),
		dhcpv6.WithUserClass([]byte(UserClass)),
	)
	if err != nil {
		return nil, fmt.Errorf("building the probe Solicit: %w", err)
	}
	msg.MessageType = dhcpv6.MessageTypeSolicit
	msg.AddOption(dhcpv6.OptElapsedTime(0))
	return msg, nil
}

func (p *Prober) handle(b []byte, peer netip.Addr) {
	s, err := Answer(b, peer, p.duid, p.config().OwnDUID)
	if err != nil {
		p.ignored.Add(1)
		p.logger.Debug("ignored DHCPv6 message on the probe's port", "peer", peer, "reason", err)
		return
	}
	p.foreign.Add(1)
	p.book.Note(s)
	p.logger.Debug("another DHCPv6 server answered the probe", "peer", peer, "other_server_duid", fmt.Sprintf("%x", s.DUID))
}

// Answer reads b, a datagram from peer to the probe's port, as another
// server's answer to the probe whose client DUID is probe. It fails for
// anything else: not an Advertise or Reply, for another client, without a
// Server Identifier, or from the server whose DUID is own.
func Answer(b []byte, peer netip.Addr, probe dhcpv6.DUID, own []byte) (otherserver.Sighting, error) {
	msg, err := dhcpv6.MessageFromBytes(b)
	if err != nil {
		return otherserver.Sighting{}, fmt.Errorf("malformed: %w", err)
	}
	if msg.MessageType != dhcpv6.MessageTypeAdvertise && msg.MessageType != dhcpv6.MessageTypeReply {
		return otherserver.Sighting{}, fmt.Errorf("%s is not an answer to a Solicit", msg.MessageType)
	}
	cid := msg.Options.ClientID()
	if cid == nil || !bytes.Equal(cid.ToBytes(), probe.ToBytes()) {
		return otherserver.Sighting{}, errors.New("not for the probe's client DUID")
	}
	sid := msg.Options.ServerID()
	if sid == nil {
		return otherserver.Sighting{}, errors.New("no Server Identifier")
	}
	if len(own) > 0 && bytes.Equal(sid.ToBytes(), own) {
		return otherserver.Sighting{}, errors.New("from our own server")
	}
	return otherserver.Sighting{
		Protocol:         otherserver.DHCPv6,
		Source:           peer,
		LinkLayerAddress: linkLayerAddress(sid),
		DUID:             sid.ToBytes(),
		Offers:           offersOf(msg),
	}, nil
}
