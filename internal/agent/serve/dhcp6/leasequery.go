package dhcp6

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/eventkind"
)

// RFC 5007 leasequery, what dhcpd6.conf's "allow leasequery" turns on: a
// requestor on the link (a relay, an access router, an operator's tool)
// asks by address or by client DUID which bindings the server holds.
// insomniacslk/dhcp knows the message types and option codes but has no
// option types for them, so the three options are decoded and encoded here.

// Query types of OPTION_LQ_QUERY (RFC 5007 section 4.1.2.1).
const (
	lqQueryByAddress  = 1
	lqQueryByClientID = 2
)

// lqQuery is OPTION_LQ_QUERY: what is asked, on which link, and the
// options that name it.
type lqQuery struct {
	queryType uint8
	linkAddr  netip.Addr // :: for "the link the address is on"
	options   dhcpv6.MessageOptions
}

// lqQueryHeader is the fixed part of OPTION_LQ_QUERY: query-type (1 byte)
// and link-address (16 bytes).
const lqQueryHeader = 17

// parseLQQuery decodes the data of OPTION_LQ_QUERY.
func parseLQQuery(data []byte) (lqQuery, error) {
	if len(data) < lqQueryHeader {
		return lqQuery{}, fmt.Errorf("OPTION_LQ_QUERY of %d bytes, shorter than its %d-byte header", len(data), lqQueryHeader)
	}
	q := lqQuery{queryType: data[0], linkAddr: netip.AddrFrom16([16]byte(data[1:lqQueryHeader]))}
	if err := q.options.FromBytes(data[lqQueryHeader:]); err != nil {
		return lqQuery{}, fmt.Errorf("OPTION_LQ_QUERY query-options: %w", err)
	}
	return q, nil
}

// leasequery answers a LEASEQUERY with a LEASEQUERY-REPLY (RFC 5007
// section 4.3): status NotAllowed unless dhcpv6.allow_leasequery; else the
// bindings of the client that holds the address or has
// the DUID, in one OPTION_CLIENT_DATA; no OPTION_CLIENT_DATA when there are
// none; or a status code saying why the query cannot be answered. It
// stores nothing.
func (h *handler) leasequery(req *dhcpv6.Message, peer netip.Addr, cfg *Config, now time.Time) (*dhcpv6.Message, error) {
	requestor := req.GetOneOption(dhcpv6.OptionClientID)
	if requestor == nil {
		return nil, discard("LEASEQUERY has no Client Identifier")
	}
	if sid := req.Options.ServerID(); sid != nil && !h.isServerID(sid) {
		return nil, discard("LEASEQUERY for server %s", hex.EncodeToString(sid.ToBytes()))
	}
	attrs := []any{eventkind.Lease.Attr(), "msg_type", req.MessageType.String(), "requestor", peer, "requestor_duid", hex.EncodeToString(requestor.ToBytes())}
	resp := h.response(req, dhcpv6.MessageTypeLeaseQueryReply)
	if !cfg.DHCPv6.AllowLeasequery {
		// RFC 5007 has a status for this, NotAllowed (10): it tells the
		// requestor at once that this server will not answer it, where
		// silence would leave it retransmitting.
		const reason = "leasequery is not allowed on this server (dhcpv6.allow_leasequery is false)"
		h.logger.Info("leasequery refused", append(attrs, "status", iana.StatusNotAllowed.String(), "reason", reason)...)
		resp.AddOption(&dhcpv6.OptStatusCode{StatusCode: iana.StatusNotAllowed, StatusMessage: reason})
		return resp, nil
	}
	leases, query, code := h.lookupQuery(req, cfg, now)
	if code != iana.StatusSuccess {
		h.logger.Info("leasequery refused", append(attrs, "status", code.String(), "reason", query)...)
		resp.AddOption(&dhcpv6.OptStatusCode{StatusCode: code, StatusMessage: query})
		return resp, nil
	}
	if len(leases) > 0 {
		resp.AddOption(clientData(leases, cfg, now))
	}
	h.logger.Info("leasequery answered", append(attrs, "query", query, "client_duid", duidOf(leases), "bindings", len(leases))...)
	return resp, nil
}

// lookupQuery finds the bindings req asks for. query describes the query,
// or why it is refused when code is not Success.
func (h *handler) lookupQuery(req *dhcpv6.Message, cfg *Config, now time.Time) (leases []lease.Lease, query string, code iana.StatusCode) {
	opt := req.GetOneOption(dhcpv6.OptionLQQuery)
	if opt == nil {
		return nil, "no OPTION_LQ_QUERY", iana.StatusMalformedQuery
	}
	q, err := parseLQQuery(opt.ToBytes())
	if err != nil {
		return nil, err.Error(), iana.StatusMalformedQuery
	}
	if !q.linkAddr.IsUnspecified() && !cfg.Prefix.Contains(q.linkAddr) {
		return nil, fmt.Sprintf("link-address %s is not on this server's link %s", q.linkAddr, cfg.Prefix), iana.StatusNotConfigured
	}
	switch q.queryType {
	case lqQueryByAddress:
		o, ok := q.options.GetOne(dhcpv6.OptionIAAddr).(*dhcpv6.OptIAAddress)
		if !ok {
			return nil, "QUERY_BY_ADDRESS without an IA Address option", iana.StatusMalformedQuery
		}
		addr, _ := netip.AddrFromSlice(o.IPv6Addr)
		if !cfg.Prefix.Contains(addr) && !delegates(cfg, addr) {
			return nil, fmt.Sprintf("%s is neither on link %s nor in a delegated prefix", addr, cfg.Prefix), iana.StatusNotConfigured
		}
		query = "address " + addr.String()
		l, found := h.pool.LookupAddress(addr, now)
		if !found {
			return nil, query, iana.StatusSuccess
		}
		return h.pool.LookupClient(l.DUID, now), query, iana.StatusSuccess
	case lqQueryByClientID:
		cid := q.options.GetOne(dhcpv6.OptionClientID)
		if cid == nil {
			return nil, "QUERY_BY_CLIENTID without a Client Identifier option", iana.StatusMalformedQuery
		}
		return h.pool.LookupClient(cid.ToBytes(), now), "client " + hex.EncodeToString(cid.ToBytes()), iana.StatusSuccess
	}
	return nil, fmt.Sprintf("query-type %d is neither QUERY_BY_ADDRESS (1) nor QUERY_BY_CLIENTID (2)", q.queryType), iana.StatusUnknownQueryType
}

// delegates reports whether a lies in the prefixes cfg delegates.
func delegates(cfg *Config, a netip.Addr) bool {
	pd := cfg.DHCPv6.PrefixDelegation
	return pd != nil && pd.Covers(a)
}

// clientData is OPTION_CLIENT_DATA (RFC 5007 section 4.1.2.2) for one
// client's leases: its Client Identifier, an IA Address or IA Prefix
// option per lease with the lifetimes it has left, and OPTION_CLT_TIME,
// the seconds since the client's last transaction with the server.
func clientData(leases []lease.Lease, cfg *Config, now time.Time) dhcpv6.Option {
	opts := dhcpv6.Options{&dhcpv6.OptionGeneric{OptionCode: dhcpv6.OptionClientID, OptionData: leases[0].DUID}}
	var last time.Time
	for _, l := range leases {
		opts.Add(leaseOption(l.Kind, l.Prefix(), max(l.PreferredUntil.Sub(now), 0), max(l.ValidUntil.Sub(now), 0)))
		t := l.LastTransaction
		if t.IsZero() {
			// Stored before leases recorded it: the start of the lease,
			// as far as the lifetime tells.
			t = l.ValidUntil.Add(-cfg.DHCPv6.ValidLifetime)
		}
		if t.After(last) {
			last = t
		}
	}
	clt := make([]byte, 4)
	binary.BigEndian.PutUint32(clt, uint32(min(max(now.Sub(last), 0)/time.Second, 0xffffffff)))
	opts.Add(&dhcpv6.OptionGeneric{OptionCode: dhcpv6.OptionCLTTime, OptionData: clt})
	return &dhcpv6.OptionGeneric{OptionCode: dhcpv6.OptionClientData, OptionData: opts.ToBytes()}
}

func duidOf(leases []lease.Lease) string {
	if len(leases) == 0 {
		return ""
	}
	return hex.EncodeToString(leases[0].DUID)
}
