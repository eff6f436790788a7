package dhcp6

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"
	"github.com/insomniacslk/dhcp/rfc1035label"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/eventkind"
)

// errDiscard marks a message the server drops without reply, as RFC 8415
// section 16 requires for messages that fail validation.
var errDiscard = errors.New("discarded")

func discard(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errDiscard, fmt.Sprintf(format, args...))
}

// maxForeignServers bounds the memory spent remembering which other DHCPv6
// servers were already reported.
const maxForeignServers = 16

// handler decides the response to each client message. It owns no socket,
// so tests drive it with messages built by dhcpv6.NewSolicit and friends.
// handle is called from one goroutine at a time; cfg and pool may change
// concurrently (Apply).
type handler struct {
	serverID dhcpv6.DUID
	// serverIDWire is the Server Identifier option of every response,
	// made and encoded once.
	serverIDWire [1]encodedOption
	cfg          atomic.Pointer[Config]
	pool         *lease.Pool
	store        LeaseStore
	logger       *slog.Logger

	foreignMu sync.Mutex
	foreign   map[string]bool // server DUIDs seen in Requests to other servers
}

func newHandler(serverID dhcpv6.DUID, cfg Config, pool *lease.Pool, store LeaseStore, logger *slog.Logger) *handler {
	h := &handler{serverID: serverID, pool: pool, store: store, logger: logger, foreign: map[string]bool{},
		serverIDWire: [1]encodedOption{encoded(dhcpv6.OptServerID(serverID))}}
	if cfg.configOptions == nil {
		cfg.configOptions = configOptionsOf(&cfg)
		cfg.configWire = encodedOptions(cfg.configOptions)
	}
	h.cfg.Store(&cfg)
	return h
}

// handle returns the Advertise, Reply or LEASEQUERY-REPLY for req, received
// from peer (its source address) by multicast or, if unicast is set, by
// unicast, and records in b the lease changes it made in the pool. A
// response to a message that raised b.puts announces a lease: it may be
// sent only after commit(b) succeeds. handle returns an error wrapping
// errDiscard for messages RFC 8415 (or RFC 5007) says to drop, and any
// other error for a message it could not handle.
func (h *handler) handle(b *batch, req *dhcpv6.Message, peer netip.Addr, unicast bool, now time.Time) (*dhcpv6.Message, error) {
	return h.handleFrom(b, req, peer, nil, unicast, now)
}

// handleFrom is handle for a client whose link-layer address a relay
// reported (relayedMAC; nil for a client on the agent's link).
func (h *handler) handleFrom(b *batch, req *dhcpv6.Message, peer netip.Addr, relayedMAC net.HardwareAddr, unicast bool, now time.Time) (*dhcpv6.Message, error) {
	cfg := h.cfg.Load()
	if req.MessageType == dhcpv6.MessageTypeLeaseQuery {
		// Requestors send it by unicast too (RFC 5007 section 4.2).
		return h.leasequery(req, peer, cfg, now)
	}
	if resp, err := h.validate(req, unicast); resp != nil || err != nil {
		return resp, err
	}
	if err := h.writable(req.MessageType); err != nil {
		return nil, err
	}
	c := clientOf(req, peer)
	if relayedMAC != nil && c.hwSource != "duid" {
		// The relay saw the frame: surer than an interface identifier.
		c.hwAddr, c.hwSource = relayedMAC.String(), "relay"
	}
	switch req.MessageType {
	case dhcpv6.MessageTypeSolicit:
		return h.solicit(b, req, c, cfg, now)
	case dhcpv6.MessageTypeRequest:
		return h.request(b, req, c, cfg, now)
	case dhcpv6.MessageTypeRenew, dhcpv6.MessageTypeRebind:
		return h.renew(b, req, c, cfg, now), nil
	case dhcpv6.MessageTypeRelease:
		return h.release(b, req, c), nil
	case dhcpv6.MessageTypeDecline:
		return h.decline(b, req, c, cfg, now), nil
	case dhcpv6.MessageTypeConfirm:
		return h.confirm(req, c, cfg)
	default: // Information-request: validate let nothing else through.
		return h.informationRequest(req, c, cfg), nil
	}
}

// validate applies RFC 8415 section 16 (which identifiers each message must
// and must not carry) and section 18.4 (unicast). It returns a UseMulticast
// Reply or a discard error, or neither when req may be processed.
func (h *handler) validate(req *dhcpv6.Message, unicast bool) (*dhcpv6.Message, error) {
	var needServerID bool
	switch req.MessageType {
	case dhcpv6.MessageTypeSolicit, dhcpv6.MessageTypeConfirm, dhcpv6.MessageTypeRebind:
		if req.Options.ServerID() != nil {
			return nil, discard("%s carries a Server Identifier", req.MessageType)
		}
	case dhcpv6.MessageTypeRequest, dhcpv6.MessageTypeRenew, dhcpv6.MessageTypeRelease, dhcpv6.MessageTypeDecline:
		needServerID = true
	case dhcpv6.MessageTypeInformationRequest:
		if sid := req.Options.ServerID(); sid != nil && !h.isServerID(sid) {
			return nil, discard("Information-request for server %s", hex.EncodeToString(sid.ToBytes()))
		}
		if len(req.GetOption(dhcpv6.OptionIANA))+len(req.GetOption(dhcpv6.OptionIATA))+len(req.GetOption(dhcpv6.OptionIAPD)) > 0 {
			return nil, discard("Information-request carries an IA option")
		}
		if unicast {
			return nil, discard("Information-request sent by unicast")
		}
		return nil, nil
	default:
		return nil, discard("%s is not a message a server answers", req.MessageType)
	}
	if req.Options.ClientID() == nil {
		return nil, discard("%s has no Client Identifier", req.MessageType)
	}
	if needServerID {
		sid := req.Options.ServerID()
		if sid == nil {
			return nil, discard("%s has no Server Identifier", req.MessageType)
		}
		if !h.isServerID(sid) {
			h.noteForeignServer(req, sid)
			return nil, discard("%s is for server %s", req.MessageType, hex.EncodeToString(sid.ToBytes()))
		}
		if unicast {
			// We never send the Server Unicast option (RFC 8415 section 18.4).
			resp := h.response(req, dhcpv6.MessageTypeReply)
			resp.AddOption(&dhcpv6.OptStatusCode{StatusCode: iana.StatusUseMulticast, StatusMessage: "send to ff02::1:2"})
			return resp, nil
		}
		return nil, nil
	}
	if unicast {
		return nil, discard("%s sent by unicast", req.MessageType)
	}
	return nil, nil
}

// isServerID reports whether sid, from a client's message, is this
// server's DUID. Equal compares the parsed fields without encoding either
// DUID (an allocation each, for every Request); the byte comparison
// settles the DUIDs whose types Equal does not know.
func (h *handler) isServerID(sid dhcpv6.DUID) bool {
	return h.serverID.Equal(sid) || bytes.Equal(sid.ToBytes(), h.serverID.ToBytes())
}

// noteForeignServer warns, once per server, that a client chose another
// DHCPv6 server on this link: two servers handing out addresses on one boot
// link is almost always a misconfiguration.
func (h *handler) noteForeignServer(req *dhcpv6.Message, sid dhcpv6.DUID) {
	if req.MessageType != dhcpv6.MessageTypeRequest {
		return
	}
	key := string(sid.ToBytes())
	h.foreignMu.Lock()
	seen := h.foreign[key] || len(h.foreign) >= maxForeignServers
	h.foreign[key] = true
	h.foreignMu.Unlock()
	if !seen {
		h.logger.Warn("a client requested addresses from another DHCPv6 server on this link",
			"other_server_duid", hex.EncodeToString(sid.ToBytes()), "msg_type", req.MessageType.String())
	}
}

// response starts an Advertise or Reply: transaction ID, Server Identifier
// and the client's Client Identifier (RFC 8415 section 18.3).
func (h *handler) response(req *dhcpv6.Message, typ dhcpv6.MessageType) *dhcpv6.Message {
	resp := &dhcpv6.Message{MessageType: typ, TransactionID: req.TransactionID}
	resp.AddOption(h.serverIDWire[0].opt)
	if cid := req.GetOneOption(dhcpv6.OptionClientID); cid != nil {
		resp.AddOption(cid)
	}
	return resp
}

// addConfigOptions adds the other configuration (DNS servers, option 23;
// domain search list, option 24), whether or not the client's Option Request
// option names them, which RFC 8415 section 18.3 allows: not every boot
// client sends one.
func addConfigOptions(resp *dhcpv6.Message, cfg *Config) {
	opts := cfg.configOptions
	if opts == nil {
		opts = configOptionsOf(cfg)
	}
	for _, o := range opts {
		resp.AddOption(o)
	}
}

// configOptionsOf builds the options addConfigOptions adds. Start and Apply
// build them once per configuration (Config.configOptions): responses only
// encode them, so one value serves every response.
func configOptionsOf(cfg *Config) []dhcpv6.Option {
	opts := []dhcpv6.Option{}
	if len(cfg.DHCPv6.DNSServers) > 0 {
		ips := make([]net.IP, len(cfg.DHCPv6.DNSServers))
		for i, a := range cfg.DHCPv6.DNSServers {
			ips[i] = a.AsSlice()
		}
		opts = append(opts, dhcpv6.OptDNS(ips...))
	}
	if len(cfg.DHCPv6.DomainSearch) > 0 {
		opts = append(opts, dhcpv6.OptDomainSearchList(&rfc1035label.Labels{Labels: cfg.DHCPv6.DomainSearch}))
	}
	return opts
}

// addBootOptions adds the boot-file URL (option 59) chosen for the client,
// with its parameters (option 60) and, for UEFI HTTP boot, vendor class
// HTTPClient (option 16), when the client asked for option 59. Every
// decision is logged: at info when the client asked, else at debug.
func (h *handler) addBootOptions(resp, req *dhcpv6.Message, c client, cfg *Config) {
	a := decideBoot(req, c, cfg)
	if !a.requested {
		// Most clients of a storm: their attributes cost more than the
		// rest of the decision, so they are built only when logged.
		if h.logger.Enabled(context.Background(), slog.LevelDebug) {
			a.describe(req, c, cfg)
			h.logger.Debug("client did not request a boot-file URL (option 59)", a.logAttrs(c, req.MessageType)...)
		}
		return
	}
	for _, o := range a.options {
		resp.AddOption(o)
	}
	h.logger.Info("boot-file URL decision", a.logAttrs(c, req.MessageType)...)
}

// noAddrsAdvertise is the Advertise RFC 8415 section 18.3.9 requires when
// the server will assign no addresses: only a NoAddrsAvail status with the
// two identifiers.
func (h *handler) noAddrsAdvertise(req *dhcpv6.Message, c client, reason string) *dhcpv6.Message {
	h.logger.Info("no address for client", append(c.attrs(), eventkind.Lease.Attr(), "msg_type", req.MessageType.String(), "reason", reason)...)
	resp := h.response(req, dhcpv6.MessageTypeAdvertise)
	resp.AddOption(&dhcpv6.OptStatusCode{StatusCode: iana.StatusNoAddrsAvail, StatusMessage: reason})
	return resp
}

func (h *handler) solicit(b *batch, req *dhcpv6.Message, c client, cfg *Config, now time.Time) (*dhcpv6.Message, error) {
	if cfg.DHCPv6.Mode != config.DHCPv6Stateful {
		return h.noAddrsAdvertise(req, c, "this server is stateless: addresses come from SLAAC"), nil
	}
	ias := iasOf(req)
	if len(ias) == 0 {
		return h.noAddrsAdvertise(req, c, "the Solicit asks for no address or prefix"), nil
	}
	rapid := cfg.DHCPv6.RapidCommit && req.GetOneOption(dhcpv6.OptionRapidCommit) != nil
	resp := h.response(req, dhcpv6.MessageTypeAdvertise)
	if rapid {
		resp.MessageType = dhcpv6.MessageTypeReply
	}
	assigned := 0
	var reason string
	var refused refusals
	defer refused.log(h.logger, req, c, cfg)
	for i, x := range ias {
		// Built only to log: most Solicits log nothing at info.
		attrs := func() []any {
			return append(c.attrs(), eventkind.Lease.Attr(), "msg_type", req.MessageType.String(), "ia_type", iaNames[x.kind], "iaid", x.iaid())
		}
		if reason = served(x.kind, cfg); reason != "" {
			resp.AddOption(iaStatus(x, unavailable(x.kind), reason))
			continue
		}
		if reason = refused.overMessageLimit(i, cfg); reason != "" {
			resp.AddOption(iaStatus(x, unavailable(x.kind), reason))
			continue
		}
		hint := hintOf(x, cfg)
		var l lease.Lease
		var err error
		if rapid {
			l, err = h.bind(b, req, c, x, hint, cfg, now)
		} else {
			l.Kind, l.PrefixLength = x.kind, prefixLength(x.kind, cfg)
			l.Address, err = h.pool.OfferTo(x.kind, c.duid, c.hwAddr, x.iaid(), hint, now)
		}
		if errors.Is(err, lease.ErrPoolExhausted) {
			reason = exhausted(x.kind)
			h.logger.Warn("pool exhausted", append(attrs(), "reason", reason)...)
			resp.AddOption(iaStatus(x, unavailable(x.kind), reason))
			continue
		}
		if errors.Is(err, lease.ErrClientLimit) {
			reason = refused.overClientLimit(cfg)
			resp.AddOption(iaStatus(x, unavailable(x.kind), reason))
			continue
		}
		if err != nil {
			return nil, err
		}
		if !rapid && h.logger.Enabled(context.Background(), slog.LevelDebug) {
			// Debug: an offer binds nothing, and a Solicit flood of made-up
			// DUIDs would otherwise be a flood of log lines; the lease a
			// Request binds is logged at info.
			h.logger.Debug("offering lease", append(attrs(), leaseAttrs(l)...)...)
		}
		resp.AddOption(iaGrant(x, cfg, l.Prefix()))
		assigned++
	}
	if assigned == 0 {
		return h.noAddrsAdvertise(req, c, reason), nil
	}
	if rapid {
		resp.AddOption(&dhcpv6.OptionGeneric{OptionCode: dhcpv6.OptionRapidCommit})
	} else if cfg.DHCPv6.Preference > 0 {
		resp.AddOption(dhcpv6.OptPreference(cfg.DHCPv6.Preference))
	}
	addConfigOptions(resp, cfg)
	h.addBootOptions(resp, req, c, cfg)
	return resp, nil
}

// prefixLength is the length of what kind leases under cfg: the delegated
// prefixes' for IA_PD, 0 for addresses (as lease.Lease has it).
func prefixLength(kind lease.Kind, cfg *Config) int {
	if kind == lease.PD && cfg.DHCPv6.PrefixDelegation != nil {
		return cfg.DHCPv6.PrefixDelegation.Length
	}
	return 0
}

// bind commits a lease in the pool and adds it to b, to be stored before
// the caller's Reply is sent.
func (h *handler) bind(b *batch, req *dhcpv6.Message, c client, x ia, hint netip.Addr, cfg *Config, now time.Time) (lease.Lease, error) {
	l, replaced, err := h.pool.Bind(c.lease(x.kind, x.iaid(), hint, cfg, now), now)
	if err != nil {
		return l, err
	}
	if replaced != nil {
		b.delete(replaced.Address)
	}
	attrs := storedAttrs(c, req.MessageType, x, l, 1)
	if r, ok := h.pool.Reserved(l.Address); ok {
		attrs = append(attrs, slog.String("reserved_for", r.Owner))
	}
	b.put(l, "leased "+what(x.kind), attrs...)
	return l, nil
}

// what names what kind leases, for log messages.
func what(kind lease.Kind) string {
	switch kind {
	case lease.TA:
		return "temporary address"
	case lease.PD:
		return "delegated prefix"
	}
	return "address"
}

func (h *handler) request(b *batch, req *dhcpv6.Message, c client, cfg *Config, now time.Time) (*dhcpv6.Message, error) {
	resp := h.response(req, dhcpv6.MessageTypeReply)
	var refused refusals
	defer refused.log(h.logger, req, c, cfg)
	for i, x := range iasOf(req) {
		if reason := served(x.kind, cfg); reason != "" {
			resp.AddOption(iaStatus(x, unavailable(x.kind), reason))
			continue
		}
		if reason := refused.overMessageLimit(i, cfg); reason != "" {
			resp.AddOption(iaStatus(x, unavailable(x.kind), reason))
			continue
		}
		l, err := h.bind(b, req, c, x, hintOf(x, cfg), cfg, now)
		if errors.Is(err, lease.ErrClientLimit) {
			resp.AddOption(iaStatus(x, unavailable(x.kind), refused.overClientLimit(cfg)))
			continue
		}
		if errors.Is(err, lease.ErrPoolExhausted) {
			reason := exhausted(x.kind)
			h.logger.Warn("pool exhausted", append(c.attrs(), eventkind.Lease.Attr(), "msg_type", req.MessageType.String(), "ia_type", iaNames[x.kind], "iaid", x.iaid(), "reason", reason)...)
			resp.AddOption(iaStatus(x, unavailable(x.kind), reason))
			continue
		}
		if err != nil {
			return nil, err
		}
		// Anything else the client asked for is not its to use (RFC 8415
		// section 18.3.2).
		resp.AddOption(iaGrant(x, cfg, l.Prefix(), without(x.listed, l.Prefix())...))
	}
	addConfigOptions(resp, cfg)
	h.addBootOptions(resp, req, c, cfg)
	return resp, nil
}

// renew handles Renew and Rebind (RFC 8415 sections 18.3.4 and 18.3.5).
func (h *handler) renew(b *batch, req *dhcpv6.Message, c client, cfg *Config, now time.Time) *dhcpv6.Message {
	resp := h.response(req, dhcpv6.MessageTypeReply)
	for _, x := range iasOf(req) {
		// Only the lines of a renewal that fails take these; a renewed
		// lease's line is built once it is stored.
		attrs := func(more ...any) []any {
			return append(append(c.attrs(), eventkind.Lease.Attr(), "msg_type", req.MessageType.String(), "ia_type", iaNames[x.kind], "iaid", x.iaid()), more...)
		}
		want := c.lease(x.kind, x.iaid(), netip.Addr{}, cfg, now)
		h.adopt(want, now)
		l, err := h.pool.Renew(want, now)
		switch {
		case err == nil:
			b.put(l, "renewed "+what(x.kind), storedAttrs(c, req.MessageType, x, l, 0)...)
			resp.AddOption(iaGrant(x, cfg, l.Prefix(), without(x.listed, l.Prefix())...))
		case errors.Is(err, lease.ErrOutOfRange):
			// The configuration moved on: tell the client to stop using
			// the address or prefix now rather than at the end of its
			// lifetime.
			b.delete(l.Address)
			h.logger.Info("ending lease outside the ranges", attrs(leaseAttrs(l)...)...)
			resp.AddOption(iaEnded(x, append(without(x.listed, l.Prefix()), l.Prefix())))
		case len(x.listed) > 0 && !anyInSpace(x.kind, x.listed, cfg):
			h.logger.Info("no lease; what the client holds is not valid on this link", attrs("listed", x.listed[0])...)
			resp.AddOption(iaEnded(x, x.listed))
		default:
			// RFC 8415 section 18.2.10.1: the client then sends a Request,
			// which brings its address or prefix back if still free.
			h.logger.Info("no lease for client", attrs()...)
			resp.AddOption(iaStatus(x, iana.StatusNoBinding, "no lease for this IA"))
		}
	}
	addConfigOptions(resp, cfg)
	h.addBootOptions(resp, req, c, cfg)
	return resp
}

func (h *handler) release(b *batch, req *dhcpv6.Message, c client) *dhcpv6.Message {
	resp := h.response(req, dhcpv6.MessageTypeReply)
	for _, x := range iasOf(req) {
		found := false
		for _, p := range x.listed {
			if l, ok := h.pool.Release(x.kind, c.duid, x.iaid(), p.Addr()); ok {
				found = true
				b.delete(l.Address)
				h.logger.Info("released "+what(x.kind), append(append(c.attrs(), eventkind.Lease.Attr(), "msg_type", req.MessageType.String(), "ia_type", iaNames[x.kind], "iaid", x.iaid()), leaseAttrs(l)...)...)
			}
		}
		if !found {
			resp.AddOption(iaStatus(x, iana.StatusNoBinding, "no lease for this IA"))
		}
	}
	resp.AddOption(&dhcpv6.OptStatusCode{StatusCode: iana.StatusSuccess, StatusMessage: "released"})
	return resp
}

// decline quarantines addresses the client found in use (duplicate address
// detection failed) for one valid lifetime (RFC 8415 section 18.3.8).
// Delegated prefixes cannot be declined.
func (h *handler) decline(b *batch, req *dhcpv6.Message, c client, cfg *Config, now time.Time) *dhcpv6.Message {
	resp := h.response(req, dhcpv6.MessageTypeReply)
	for _, x := range iasOf(req) {
		if x.kind == lease.PD {
			continue
		}
		found := false
		for _, p := range x.listed {
			if l, ok := h.pool.Decline(x.kind, c.duid, x.iaid(), p.Addr(), now.Add(cfg.DHCPv6.ValidLifetime)); ok {
				found = true
				b.delete(l.Address)
				h.logger.Warn("client declined address: another host on the link uses it",
					append(c.attrs(), eventkind.Lease.Attr(), "msg_type", req.MessageType.String(), "ia_type", iaNames[x.kind], "iaid", x.iaid(), "address", l.Address, "quarantined_for", cfg.DHCPv6.ValidLifetime)...)
			}
		}
		if !found {
			resp.AddOption(iaStatus(x, iana.StatusNoBinding, "no lease for this IA"))
		}
	}
	resp.AddOption(&dhcpv6.OptStatusCode{StatusCode: iana.StatusSuccess, StatusMessage: "declined"})
	return resp
}

// confirm tells a client that moved (or woke) whether its addresses are
// still on this link, judged by the link's prefix (RFC 8415 section 18.3.3).
func (h *handler) confirm(req *dhcpv6.Message, c client, cfg *Config) (*dhcpv6.Message, error) {
	var addrs []netip.Addr
	for _, x := range iasOf(req) {
		if x.kind == lease.PD {
			continue
		}
		for _, p := range x.listed {
			addrs = append(addrs, p.Addr())
		}
	}
	if len(addrs) == 0 {
		return nil, discard("Confirm without addresses")
	}
	status := &dhcpv6.OptStatusCode{StatusCode: iana.StatusSuccess, StatusMessage: "addresses are on link"}
	for _, a := range addrs {
		if !cfg.Prefix.Contains(a) {
			status = &dhcpv6.OptStatusCode{StatusCode: iana.StatusNotOnLink, StatusMessage: fmt.Sprintf("%s is not in %s", a, cfg.Prefix)}
			break
		}
	}
	h.logger.Info("confirmed addresses", append(c.attrs(), eventkind.Lease.Attr(), "msg_type", req.MessageType.String(), "address", addrs[0], "status", status.StatusCode.String())...)
	resp := h.response(req, dhcpv6.MessageTypeReply)
	resp.AddOption(status)
	return resp, nil
}

func (h *handler) informationRequest(req *dhcpv6.Message, c client, cfg *Config) *dhcpv6.Message {
	resp := h.response(req, dhcpv6.MessageTypeReply)
	addConfigOptions(resp, cfg)
	h.addBootOptions(resp, req, c, cfg)
	if cfg.DHCPv6.InfoRefreshTime > 0 {
		resp.AddOption(dhcpv6.OptInformationRefreshTime(cfg.DHCPv6.InfoRefreshTime))
	}
	return resp
}
