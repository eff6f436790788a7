// Package otherserver keeps what a boot server saw of other Router
// Advertisement and DHCPv6 servers on its link: a second RA or DHCPv6
// server on a boot network (a forgotten dhcpd, a home router plugged into
// the lab switch) makes clients take addresses and boot files from it, and
// is the classic cause of "some machines boot, some don't".
//
// A Book records each other server once, keyed by protocol, source address
// and DUID, with what it offers and how it contradicts us; it warns once
// per server per WarnInterval (and again at once when its contradictions
// change), and forgets a server not heard from for ForgetAfter.
package otherserver

import (
	"encoding/hex"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// Protocol is how another server announced itself.
type Protocol string

const (
	// RouterAdvertisement is another router's RA (RFC 4861).
	RouterAdvertisement Protocol = "router_advertisement"
	// DHCPv6 is another DHCPv6 server's Advertise or Reply (RFC 8415).
	DHCPv6 Protocol = "dhcpv6"
)

const (
	// WarnInterval is how often one other server is warned about.
	WarnInterval = time.Hour
	// ForgetAfter is how long a server that went quiet stays listed.
	ForgetAfter = time.Hour
	// MaxServers bounds the servers kept per link: a flood of forged
	// sources must not grow memory. Sightings beyond it are counted only.
	MaxServers = 64
)

// Sighting is one message from another server, as its receiver read it.
type Sighting struct {
	Protocol Protocol
	// Source is the IPv6 source address, a link-local one for both
	// protocols on a directly attached server.
	Source netip.Addr
	// LinkLayerAddress is the sender's MAC, from the RA's source link-layer
	// address option or the server's DUID-LL(T); empty when unknown.
	LinkLayerAddress string
	// DUID is a DHCPv6 server's Server Identifier; nil for RAs.
	DUID []byte
	// Offers say what the server hands out, one item each, e.g.
	// "M flag (managed address configuration): true" or
	// "IA_NA address 2001:db8:1::1:5 (preferred 3000 s, valid 4000 s)".
	Offers []string
	// Conflicts say how it contradicts our own configuration; empty when
	// it agrees (RFC 4861 6.2.7 for RAs).
	Conflicts []string
}

// Server is one other server as a Book knows it.
type Server struct {
	Sighting
	FirstSeen, LastSeen time.Time
	// Messages counts the sightings of this server.
	Messages uint64
}

// Book records other servers on one link. Its methods are safe for
// concurrent use.
type Book struct {
	logger *slog.Logger
	// Now is the clock; tests replace it.
	Now func() time.Time

	mu      sync.Mutex
	servers map[string]*entry
	dropped uint64
}

type entry struct {
	Server
	warned          time.Time
	warnedConflicts string
}

// NewBook returns an empty Book that logs its warnings to logger.
func NewBook(logger *slog.Logger) *Book {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Book{logger: logger, Now: time.Now, servers: map[string]*entry{}}
}

func keyOf(s Sighting) string {
	return string(s.Protocol) + "|" + s.Source.WithZone("").String() + "|" + string(s.DUID)
}

// Note records s and warns about its server unless that was done within
// WarnInterval with the same contradictions. It reports whether it warned.
func (b *Book) Note(s Sighting) bool {
	now := b.Now()
	s.Source = s.Source.WithZone("")
	s.DUID = slices.Clone(s.DUID)
	s.Offers = slices.Clone(s.Offers)
	s.Conflicts = slices.Clone(s.Conflicts)
	key := keyOf(s)

	b.mu.Lock()
	b.expireLocked(now)
	e := b.servers[key]
	if e == nil {
		if len(b.servers) >= MaxServers {
			b.dropped++
			b.mu.Unlock()
			return false
		}
		e = &entry{Server: Server{FirstSeen: now}}
		b.servers[key] = e
	}
	e.Sighting = s
	e.LastSeen = now
	e.Messages++
	conflicts := strings.Join(s.Conflicts, "; ")
	warn := e.warned.IsZero() || now.Sub(e.warned) >= WarnInterval || conflicts != e.warnedConflicts
	if warn {
		e.warned, e.warnedConflicts = now, conflicts
	}
	b.mu.Unlock()

	if warn {
		b.warn(s, conflicts)
	}
	return warn
}

func (b *Book) warn(s Sighting, conflicts string) {
	attrs := []any{"peer", s.Source}
	if s.LinkLayerAddress != "" {
		attrs = append(attrs, "peer_mac", s.LinkLayerAddress)
	}
	if len(s.DUID) > 0 {
		attrs = append(attrs, "other_server_duid", hex.EncodeToString(s.DUID))
	}
	attrs = append(attrs, "offers", strings.Join(s.Offers, "; "))
	var msg string
	switch {
	case s.Protocol == RouterAdvertisement && conflicts != "":
		msg = "another router advertises a conflicting configuration on this link; clients may follow either"
		attrs = append(attrs, "conflicts", conflicts)
	case s.Protocol == RouterAdvertisement:
		msg = "another router advertises on this link, consistently with us"
	default:
		msg = "another DHCPv6 server answers on this link; clients may take its offer instead of ours"
		if conflicts != "" {
			attrs = append(attrs, "conflicts", conflicts)
		}
	}
	b.logger.Warn(msg, attrs...)
}

// expireLocked forgets servers not seen for ForgetAfter.
func (b *Book) expireLocked(now time.Time) {
	for k, e := range b.servers {
		if now.Sub(e.LastSeen) >= ForgetAfter {
			delete(b.servers, k)
		}
	}
}

// Servers lists the servers seen within ForgetAfter, by protocol, then
// source address, then DUID.
func (b *Book) Servers() []Server {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.expireLocked(b.Now())
	out := make([]Server, 0, len(b.servers))
	for _, e := range b.servers {
		out = append(out, e.Server)
	}
	slices.SortFunc(out, func(a, c Server) int {
		if n := strings.Compare(string(a.Protocol), string(c.Protocol)); n != 0 {
			return n
		}
		if n := a.Source.Compare(c.Source); n != 0 {
			return n
		}
		return strings.Compare(string(a.DUID), string(c.DUID))
	})
	return out
}

// Dropped counts sightings of new servers not recorded because MaxServers
// were already known.
func (b *Book) Dropped() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dropped
}
