package dhcp6

import (
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
)

// hopLimit is RFC 8415's HOP_COUNT_LIMIT (section 7.6): a Relay-Forward
// nested in more relays than this, or whose hop-count says it went through
// more, has looped or been forged, and is dropped. RFC 3315 allowed 32; real
// sites have one relay, two at most, so the tighter bound costs nothing.
const hopLimit = 8

// errHopLimit marks a Relay-Forward dropped for going beyond hopLimit.
var errHopLimit = errors.New("relayed through more than the hop limit")

// unwrapRelay takes a Relay-Forward apart (RFC 8415 section 19.2): the
// relays it went through, outermost first, and the client's message inside
// the innermost.
func unwrapRelay(rm *dhcpv6.RelayMessage) (relays []*dhcpv6.RelayMessage, msg *dhcpv6.Message, err error) {
	var cur dhcpv6.DHCPv6 = rm
	for {
		r, isRelay := cur.(*dhcpv6.RelayMessage)
		if !isRelay {
			break
		}
		if r.MessageType != dhcpv6.MessageTypeRelayForward {
			return nil, nil, fmt.Errorf("a %s inside a Relay-Forward", r.MessageType)
		}
		if len(relays) == hopLimit || r.HopCount >= hopLimit {
			return nil, nil, fmt.Errorf("%w (%d, hop-count %d)", errHopLimit, hopLimit, r.HopCount)
		}
		if len(r.LinkAddr) != net.IPv6len || len(r.PeerAddr) != net.IPv6len {
			return nil, nil, errors.New("relay header without link-address or peer-address")
		}
		relays = append(relays, r)
		if cur = r.Options.RelayMessage(); cur == nil {
			return nil, nil, errors.New("Relay-Forward without a Relay Message option (9)")
		}
	}
	return relays, cur.(*dhcpv6.Message), nil
}

// wrapReply puts resp into one Relay-Reply per relay the request came
// through, innermost first, each with the link-address, peer-address and
// Interface-Id (option 18) its Relay-Forward carried (RFC 8415 section
// 19.3), so each relay knows where to pass it on.
func wrapReply(relays []*dhcpv6.RelayMessage, resp dhcpv6.DHCPv6) dhcpv6.DHCPv6 {
	for _, r := range slices.Backward(relays) {
		reply := &dhcpv6.RelayMessage{MessageType: dhcpv6.MessageTypeRelayReply, HopCount: r.HopCount, LinkAddr: r.LinkAddr, PeerAddr: r.PeerAddr}
		if iid := r.GetOneOption(dhcpv6.OptionInterfaceID); iid != nil {
			reply.AddOption(iid)
		}
		reply.AddOption(dhcpv6.OptRelayMessage(resp))
		resp = reply
	}
	return resp
}

// relayedClient is what the innermost relay saw of the client: its
// address on the link (peer-address), the link (link-address), and its
// link-layer address when the relay sends one (RFC 6939, option 79).
type relayedClient struct {
	peer        netip.Addr
	linkAddr    netip.Addr
	interfaceID []byte
	hwAddr      net.HardwareAddr
}

func relayedClientOf(innermost *dhcpv6.RelayMessage) relayedClient {
	peer, _ := netip.AddrFromSlice(innermost.PeerAddr)
	linkAddr, _ := netip.AddrFromSlice(innermost.LinkAddr)
	c := relayedClient{peer: peer, linkAddr: linkAddr, interfaceID: innermost.Options.InterfaceID()}
	if _, mac := innermost.Options.ClientLinkLayerAddress(); len(mac) == 6 {
		c.hwAddr = mac
	}
	return c
}

// relayReplyPort is where a Relay-Reply goes: port 547, unless the relay
// sent from another port and said so with a Relay Source Port option
// (RFC 8357 section 5.2), then back to that port.
func relayReplyPort(outermost *dhcpv6.RelayMessage, srcPort int) int {
	if outermost.Options.RelayPort() != nil && srcPort > 0 {
		return srcPort
	}
	return dhcpv6.DefaultServerPort
}

// relayedLink is one link behind a relay as the server serves it: a
// handler of its own, so its clients lease from its own pool and get its
// options, apart from every other link's.
type relayedLink struct {
	name        string
	prefix      netip.Prefix
	interfaceID string
	h           *handler
	relays      *relaysSeen
}

// maxRelaysSeen bounds the relay addresses remembered per link: a link
// has one or two relays, and forged sources must not grow the list.
const maxRelaysSeen = 8

// relaysSeen are the addresses relays of one link sent from, the most
// recent last, for the operator's status.
type relaysSeen struct {
	mu    sync.Mutex
	addrs []netip.Addr
}

func (r *relaysSeen) note(a netip.Addr) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if i := slices.Index(r.addrs, a); i >= 0 {
		if i == len(r.addrs)-1 {
			return
		}
		r.addrs = slices.Delete(r.addrs, i, i+1)
	} else if len(r.addrs) == maxRelaysSeen {
		r.addrs = slices.Delete(r.addrs, 0, 1)
	}
	r.addrs = append(r.addrs, a)
}

func (r *relaysSeen) list() []netip.Addr {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.addrs)
}

// RelayedLinkStatus is what the server knows of one relayed link.
type RelayedLinkStatus struct {
	Name   string
	Prefix netip.Prefix
	// Relays are the addresses its relays sent from lately, the most
	// recent last (at most 8).
	Relays []netip.Addr
	// Leases counts the link's live leases.
	Leases int
}

// RelayedLinks returns the status of each relayed link, in the order of
// the configuration.
func (s *Server) RelayedLinks() []RelayedLinkStatus {
	cur := s.relayed.Load()
	if cur == nil {
		return nil
	}
	now := s.now()
	out := make([]RelayedLinkStatus, 0, len(*cur))
	for _, l := range *cur {
		n := 0
		for range l.h.pool.Live(now) {
			n++
		}
		out = append(out, RelayedLinkStatus{Name: l.name, Prefix: l.prefix, Relays: l.relays.list(), Leases: n})
	}
	return out
}

// relayedConfig is cfg as the clients of link l see it: l's prefix,
// ranges, prefix delegation and, where l sets them, DNS options;
// everything else as cfg.
func relayedConfig(cfg Config, l config.RelayedLink) Config {
	cfg.Prefix = l.Prefix
	cfg.DHCPv6.Ranges = l.Ranges
	cfg.DHCPv6.TemporaryRanges = l.TemporaryRanges
	cfg.DHCPv6.PrefixDelegation = l.PrefixDelegation
	if len(l.DNSServers) > 0 {
		cfg.DHCPv6.DNSServers = l.DNSServers
	}
	if len(l.DomainSearch) > 0 {
		cfg.DHCPv6.DomainSearch = l.DomainSearch
	}
	cfg.DHCPv6.RelayedLinks = nil
	return cloneConfig(cfg)
}

// applyRelayedLinks makes the server's relayed links those of cfg: a
// link whose prefix it already serves keeps its pool and leases and takes
// the new ranges; a new one gets a pool, loaded with the leases stored for
// its ranges when load is set (Start loads every link's itself); a link no
// longer configured stops being served, its stored leases dropped by the
// next Start. It changes nothing when it fails.
func (s *Server) applyRelayedLinks(cfg Config, load bool) error {
	old := map[netip.Prefix]*relayedLink{}
	if cur := s.relayed.Load(); cur != nil {
		for _, l := range *cur {
			old[l.prefix] = l
		}
	}
	var stored []lease.Lease
	if load && slices.ContainsFunc(cfg.DHCPv6.RelayedLinks, func(rl config.RelayedLink) bool { return old[rl.Prefix] == nil }) {
		var err error
		if stored, err = s.h.store.Leases(); err != nil {
			return fmt.Errorf("loading the leases of new relayed links: %w", err)
		}
	}
	links := make([]*relayedLink, 0, len(cfg.DHCPv6.RelayedLinks))
	for _, rl := range cfg.DHCPv6.RelayedLinks {
		lcfg := relayedConfig(cfg, rl)
		if l, ok := old[rl.Prefix]; ok {
			l.h.pool.Update(spacesOf(lcfg))
			l.h.cfg.Store(&lcfg)
			links = append(links, &relayedLink{name: rl.Name, prefix: rl.Prefix, interfaceID: rl.InterfaceID, h: l.h, relays: l.relays})
			continue
		}
		h := newHandler(s.h.serverID, lcfg, lease.NewPool(spacesOf(lcfg)), s.h.store, s.logger.With("link", rl.Name, "link_prefix", rl.Prefix))
		var mine []lease.Lease
		for _, l := range stored {
			if ownsLease(&lcfg, l) {
				mine = append(mine, l)
			}
		}
		// What Load drops stays in storage until the next Start.
		h.pool.Load(mine, s.now())
		links = append(links, &relayedLink{name: rl.Name, prefix: rl.Prefix, interfaceID: rl.InterfaceID, h: h, relays: &relaysSeen{}})
	}
	s.relayed.Store(&links)
	return nil
}

// ownsLease reports whether l was leased from cfg's ranges, delegated
// from its pool, or is a machine's reserved address on cfg's link.
func ownsLease(cfg *Config, l lease.Lease) bool {
	return inSpace(l.Kind, l.Prefix(), cfg) || reservedIn(cfg, l)
}

// handlerFor is the handler of the link a relay names by link-address:
// the relayed link whose prefix holds it (rl), or the directly attached
// link when it is inside its prefix (a relay on the agent's own link; rl
// nil). ok is false for an address on no served link.
func (s *Server) handlerFor(linkAddr netip.Addr) (h *handler, rl *relayedLink, ok bool) {
	return s.handlerOf(relayedClient{linkAddr: linkAddr})
}

// handlerOf is handlerFor for what a relay said of its client's link:
// its link-address, or, only when that is unspecified (::), its
// Interface-Id matched against the links' interface_id. A relay that
// names a link-address cannot pick another link by Interface-Id.
func (s *Server) handlerOf(rc relayedClient) (h *handler, rl *relayedLink, ok bool) {
	if rc.linkAddr.IsUnspecified() && len(rc.interfaceID) > 0 {
		if cur := s.relayed.Load(); cur != nil {
			for _, l := range *cur {
				if l.interfaceID != "" && l.interfaceID == string(rc.interfaceID) {
					return l.h, l, true
				}
			}
		}
		return nil, nil, false
	}
	linkAddr := rc.linkAddr
	if s.h.cfg.Load().Prefix.Contains(linkAddr) {
		return s.h, nil, true
	}
	if cur := s.relayed.Load(); cur != nil {
		for _, l := range *cur {
			if l.prefix.Contains(linkAddr) {
				return l.h, l, true
			}
		}
	}
	return nil, nil, false
}

// hasRelayedLinks reports whether any link behind a relay is served.
func (s *Server) hasRelayedLinks() bool {
	cur := s.relayed.Load()
	return cur != nil && len(*cur) > 0
}

// handlers are the direct link's handler, then each relayed link's.
func (s *Server) handlers() iter.Seq[*handler] {
	return func(yield func(*handler) bool) {
		if !yield(s.h) {
			return
		}
		if cur := s.relayed.Load(); cur != nil {
			for _, l := range *cur {
				if !yield(l.h) {
					return
				}
			}
		}
	}
}

// allowRelay is the per-relay token bucket of a Relay-Forward from relay,
// taken before the message is parsed, so one relay (or a flood sent in its
// name) cannot take the server from the others; it counts as dropped, and
// logs, what it refuses.
func (s *Server) allowRelay(limits *limiters, relay netip.Addr, now time.Time) bool {
	key := relay.As16()
	v := limits.relay.allow(key[:], now)
	if !v.ok {
		s.stats.relayRateLimited.Add(1)
		s.rateLimited(v, dhcpv6.MessageTypeRelayForward, "relay", limits.cfg.PerRelayPerSecond, limits.cfg.PerRelayBurst, "peer", relay)
	}
	return v.ok
}

// unwrapDatagram is the client message inside a Relay-Forward, the relays
// it came through and what the innermost saw of the client; ok is false,
// with the drop counted and logged, when it is not to be answered.
func (s *Server) unwrapDatagram(rm *dhcpv6.RelayMessage, peer netip.Addr) (relays []*dhcpv6.RelayMessage, req *dhcpv6.Message, h *handler, rc relayedClient, ok bool) {
	counts := &s.stats.byType[rm.MessageType]
	if rm.MessageType != dhcpv6.MessageTypeRelayForward {
		counts.dropped.Add(1)
		s.logger.Debug("dropping DHCPv6 message a server does not answer", "peer", peer, "msg_type", rm.MessageType.String())
		return nil, nil, nil, rc, false
	}
	relays, req, err := unwrapRelay(rm)
	if err != nil {
		counts.dropped.Add(1)
		if errors.Is(err, errHopLimit) {
			s.stats.relayHopLimit.Add(1)
		}
		s.logger.Debug("dropping Relay-Forward", "peer", peer, "error", err)
		return nil, nil, nil, rc, false
	}
	rc = relayedClientOf(relays[len(relays)-1])
	h, rl, found := s.handlerOf(rc)
	if !found {
		counts.dropped.Add(1)
		s.stats.relayUnknownLink.Add(1)
		s.logger.Debug("dropping Relay-Forward from a link this server does not serve", "peer", peer, "link_address", rc.linkAddr,
			"interface_id", fmt.Sprintf("%q", rc.interfaceID),
			"client_peer", rc.peer, "msg_type", req.MessageType.String(), slog.Int("relays", len(relays)))
		return nil, nil, nil, rc, false
	}
	if rl != nil {
		rl.relays.note(peer)
	}
	return relays, req, h, rc, true
}

// leasequeryHandler is the handler of the link a LEASEQUERY sent straight
// to the server asks about (RFC 5007 section 4.3.2): the link its
// link-address is on; with no link-address, the link holding the queried
// address or delegating its prefix, or the first where the queried client
// has bindings; else the direct link's, which refuses it as it always did.
func (s *Server) leasequeryHandler(req *dhcpv6.Message, now time.Time) *handler {
	opt := req.GetOneOption(dhcpv6.OptionLQQuery)
	if opt == nil {
		return s.h
	}
	q, err := parseLQQuery(opt.ToBytes())
	if err != nil {
		return s.h
	}
	if !q.linkAddr.IsUnspecified() {
		if h, _, ok := s.handlerFor(q.linkAddr); ok {
			return h
		}
		return s.h
	}
	switch q.queryType {
	case lqQueryByAddress:
		if o, ok := q.options.GetOne(dhcpv6.OptionIAAddr).(*dhcpv6.OptIAAddress); ok {
			if a, ok := netip.AddrFromSlice(o.IPv6Addr); ok {
				if h, _, ok := s.handlerFor(a); ok {
					return h
				}
				for h := range s.handlers() {
					if delegates(h.cfg.Load(), a) {
						return h
					}
				}
			}
		}
	case lqQueryByClientID:
		if cid := q.options.GetOne(dhcpv6.OptionClientID); cid != nil {
			for h := range s.handlers() {
				if len(h.pool.LookupClient(cid.ToBytes(), now)) > 0 {
					return h
				}
			}
		}
	}
	return s.h
}
