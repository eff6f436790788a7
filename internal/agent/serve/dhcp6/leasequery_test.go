package dhcp6

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"
	"golang.org/x/net/ipv6"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
)

// A requestor's side of RFC 5007, as the tests (and the lab's Go client)
// speak it.

// lqQueryOption encodes OPTION_LQ_QUERY: query-type, link-address (the
// zero Addr for ::) and query-options.
func lqQueryOption(queryType uint8, link netip.Addr, opts ...dhcpv6.Option) dhcpv6.Option {
	if !link.IsValid() {
		link = netip.IPv6Unspecified()
	}
	data := append([]byte{queryType}, link.AsSlice()...)
	return &dhcpv6.OptionGeneric{OptionCode: dhcpv6.OptionLQQuery, OptionData: append(data, dhcpv6.Options(opts).ToBytes()...)}
}

// byAddress and byClientID are the two query types' OPTION_LQ_QUERY.
func byAddress(a string) dhcpv6.Option {
	return lqQueryOption(lqQueryByAddress, netip.Addr{}, &dhcpv6.OptIAAddress{IPv6Addr: net.ParseIP(a)})
}

func byClientID(d dhcpv6.DUID) dhcpv6.Option {
	return lqQueryOption(lqQueryByClientID, netip.Addr{}, dhcpv6.OptClientID(d))
}

// requestorDUID identifies the requestor, not the client asked about.
var requestorDUID = &dhcpv6.DUIDEN{EnterpriseNumber: 32473, EnterpriseIdentifier: []byte("lq")}

// newLeasequery is a LEASEQUERY from requestor carrying opts.
func newLeasequery(t testing.TB, requestor dhcpv6.DUID, opts ...dhcpv6.Option) *dhcpv6.Message {
	t.Helper()
	m, err := dhcpv6.NewMessage()
	if err != nil {
		t.Fatal(err)
	}
	m.MessageType = dhcpv6.MessageTypeLeaseQuery
	if requestor != nil {
		m.AddOption(dhcpv6.OptClientID(requestor))
	}
	for _, o := range opts {
		m.AddOption(o)
	}
	return m
}

// lqAnswer is what a LEASEQUERY-REPLY says.
type lqAnswer struct {
	status   iana.StatusCode
	hasData  bool
	client   []byte // DUID in OPTION_CLIENT_DATA
	addrs    []*dhcpv6.OptIAAddress
	prefixes []*dhcpv6.OptIAPrefix
	cltTime  uint32
}

// parseLQReply decodes a LEASEQUERY-REPLY, including OPTION_CLIENT_DATA
// and OPTION_CLT_TIME, which insomniacslk/dhcp keeps generic.
func parseLQReply(m *dhcpv6.Message) (lqAnswer, error) {
	var a lqAnswer
	if m.MessageType != dhcpv6.MessageTypeLeaseQueryReply {
		return a, errors.New("not a LEASEQUERY-REPLY: " + m.MessageType.String())
	}
	if s := m.Options.Status(); s != nil {
		a.status = s.StatusCode
	}
	cd := m.GetOneOption(dhcpv6.OptionClientData)
	if cd == nil {
		return a, nil
	}
	a.hasData = true
	var opts dhcpv6.Options
	if err := opts.FromBytes(cd.ToBytes()); err != nil {
		return a, err
	}
	for _, o := range opts {
		switch o := o.(type) {
		case *dhcpv6.OptIAAddress:
			a.addrs = append(a.addrs, o)
		case *dhcpv6.OptIAPrefix:
			a.prefixes = append(a.prefixes, o)
		default:
			switch o.Code() {
			case dhcpv6.OptionClientID:
				a.client = o.ToBytes()
			case dhcpv6.OptionCLTTime:
				if b := o.ToBytes(); len(b) == 4 {
					a.cltTime = binary.BigEndian.Uint32(b)
				}
			}
		}
	}
	if a.client == nil || len(opts.Get(dhcpv6.OptionCLTTime)) != 1 {
		return a, errors.New("OPTION_CLIENT_DATA without the client's identifier or OPTION_CLT_TIME")
	}
	return a, nil
}

func TestLeasequery(t *testing.T) {
	h, _ := newTestHandler(seedConfig())
	// Client A holds an address and a delegated prefix, client B an address.
	a := exchange(t, h, withIAs(t, dhcpv6.MessageTypeRequest, serverDUID, iaNA(clientIAID), iaPD(1)), t0)
	aAddr, _, _ := leased(t, a)
	aPrefix, _, _ := granted(t, a, lease.PD)
	b := clientMessage(t, dhcpv6.MessageTypeRequest, otherDUID, serverDUID, iaNA(9))
	bAddr, _, _ := leased(t, exchange(t, h, b, t0))
	now := t0.Add(time.Minute)
	inPrefix := aPrefix.Addr().Next().String()
	onLink := netip.MustParseAddr("2001:db8:1::1")

	tests := []struct {
		name       string
		query      []dhcpv6.Option
		wantStatus iana.StatusCode
		wantClient dhcpv6.DUID // nil: no OPTION_CLIENT_DATA
		wantAddrs  int
		wantPrefix int
	}{
		{"by address", []dhcpv6.Option{byAddress(aAddr.String())}, iana.StatusSuccess, clientDUID, 1, 1},
		{"by an address in a delegated prefix", []dhcpv6.Option{byAddress(inPrefix)}, iana.StatusSuccess, clientDUID, 1, 1},
		{"by the other client's address", []dhcpv6.Option{byAddress(bAddr.String())}, iana.StatusSuccess, otherDUID, 1, 0},
		{"by address on the link's own link-address", []dhcpv6.Option{lqQueryOption(lqQueryByAddress, onLink, &dhcpv6.OptIAAddress{IPv6Addr: bAddr.AsSlice()})}, iana.StatusSuccess, otherDUID, 1, 0},
		{"by a free address", []dhcpv6.Option{byAddress("2001:db8:1::1ff")}, iana.StatusSuccess, nil, 0, 0},
		{"by client ID", []dhcpv6.Option{byClientID(clientDUID)}, iana.StatusSuccess, clientDUID, 1, 1},
		{"by an unknown client ID", []dhcpv6.Option{byClientID(requestorDUID)}, iana.StatusSuccess, nil, 0, 0},
		{"by an address off the link", []dhcpv6.Option{byAddress("2001:db8:9::1")}, iana.StatusNotConfigured, nil, 0, 0},
		{"on another link", []dhcpv6.Option{lqQueryOption(lqQueryByClientID, netip.MustParseAddr("2001:db8:9::1"), dhcpv6.OptClientID(clientDUID))}, iana.StatusNotConfigured, nil, 0, 0},
		{"by relay ID (RFC 5460)", []dhcpv6.Option{lqQueryOption(3, netip.Addr{})}, iana.StatusUnknownQueryType, nil, 0, 0},
		{"without OPTION_LQ_QUERY", nil, iana.StatusMalformedQuery, nil, 0, 0},
		{"short OPTION_LQ_QUERY", []dhcpv6.Option{&dhcpv6.OptionGeneric{OptionCode: dhcpv6.OptionLQQuery, OptionData: []byte{1, 0, 0}}}, iana.StatusMalformedQuery, nil, 0, 0},
		{"by address without an address", []dhcpv6.Option{lqQueryOption(lqQueryByAddress, netip.Addr{})}, iana.StatusMalformedQuery, nil, 0, 0},
		{"by client ID without one", []dhcpv6.Option{lqQueryOption(lqQueryByClientID, netip.Addr{}, &dhcpv6.OptIAAddress{IPv6Addr: aAddr.AsSlice()})}, iana.StatusMalformedQuery, nil, 0, 0},
		{"truncated query-options", []dhcpv6.Option{&dhcpv6.OptionGeneric{OptionCode: dhcpv6.OptionLQQuery, OptionData: append(make([]byte, 17), 0, 5, 0, 40, 1)}}, iana.StatusMalformedQuery, nil, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := newLeasequery(t, requestorDUID, tt.query...)
			// Requestors send by unicast; multicast works too.
			for _, unicast := range []bool{true, false} {
				resp, err := h.handleAlone(req, netip.MustParseAddr("2001:db8:1::77"), unicast, now)
				if err != nil {
					t.Fatalf("unicast %v: %v", unicast, err)
				}
				parsed, err := dhcpv6.MessageFromBytes(resp.ToBytes())
				if err != nil {
					t.Fatal(err)
				}
				if parsed.TransactionID != req.TransactionID || !parsed.Options.ServerID().Equal(serverDUID) || !parsed.Options.ClientID().Equal(requestorDUID) {
					t.Fatalf("reply %s lacks the transaction ID or identifiers", parsed.Summary())
				}
				got, err := parseLQReply(parsed)
				if err != nil {
					t.Fatalf("%v: %s", err, parsed.Summary())
				}
				if got.status != tt.wantStatus || got.hasData != (tt.wantClient != nil) {
					t.Fatalf("status %s, client data %v; want %s, %v", got.status, got.hasData, tt.wantStatus, tt.wantClient != nil)
				}
				if tt.wantClient == nil {
					continue
				}
				if !bytes.Equal(got.client, tt.wantClient.ToBytes()) || len(got.addrs) != tt.wantAddrs || len(got.prefixes) != tt.wantPrefix {
					t.Errorf("client data for %x with %d addresses and %d prefixes, want %x with %d and %d",
						got.client, len(got.addrs), len(got.prefixes), tt.wantClient.ToBytes(), tt.wantAddrs, tt.wantPrefix)
				}
				if got.cltTime != 60 {
					t.Errorf("client last transaction %d s ago, want 60", got.cltTime)
				}
				for _, o := range got.addrs {
					if o.ValidLifetime != 2*time.Hour-time.Minute || o.PreferredLifetime != time.Hour-time.Minute {
						t.Errorf("address lifetimes %s/%s, want what is left of 1h/2h", o.PreferredLifetime, o.ValidLifetime)
					}
				}
				for _, o := range got.prefixes {
					if bits, _ := o.Prefix.Mask.Size(); !o.Prefix.IP.Equal(aPrefix.Addr().AsSlice()) || bits != 64 {
						t.Errorf("prefix %s, want %s", o.Prefix, aPrefix)
					}
				}
			}
		})
	}
}

func TestLeasequeryDiscarded(t *testing.T) {
	h, _ := newTestHandler(seedConfig())
	for name, req := range map[string]*dhcpv6.Message{
		"without the requestor's Client Identifier": newLeasequery(t, nil, byAddress("2001:db8:1::100")),
		"for another server":                        newLeasequery(t, requestorDUID, byAddress("2001:db8:1::100"), dhcpv6.OptServerID(otherDUID)),
	} {
		t.Run(name, func(t *testing.T) { mustDiscard(t, h, req, true) })
	}
	// Naming this server is fine.
	exchange(t, h, newLeasequery(t, requestorDUID, byAddress("2001:db8:1::100"), dhcpv6.OptServerID(serverDUID)), t0)
}

// TestLeasequeryByUnicast checks the serving path: a LEASEQUERY sent to
// the server's global address gets a reply from that address.
func TestLeasequeryByUnicast(t *testing.T) {
	now := t0
	conn := &fakeConn{t: t}
	srv := newTestServer(t, seedConfig(), newMemStore(), conn, &now)
	serverAddr := net.ParseIP("2001:db8:1::1")
	dg := datagram(newLeasequery(t, requestorDUID, byClientID(clientDUID)), netip.MustParseAddr("2001:db8:1::77"))
	dg.OOB = (&ipv6.ControlMessage{Src: serverAddr, IfIndex: 1}).Marshal()
	dg.NN = len(dg.OOB)
	var b batch
	srv.serveBatch([]ipv6.Message{dg}, &b)
	if len(conn.sent) != 1 || conn.sent[0].MessageType != dhcpv6.MessageTypeLeaseQueryReply {
		t.Fatalf("sent %v, want one LEASEQUERY-REPLY", conn.sent)
	}
	if !conn.srcs[0].Equal(serverAddr) {
		t.Errorf("reply sent from %s, want the address the query went to (%s)", conn.srcs[0], serverAddr)
	}
	if s := srv.Stats().ByType["LEASEQUERY"]; s.Received != 1 || s.Replied != 1 {
		t.Errorf("LEASEQUERY stats %+v", s)
	}
	// A Solicit by unicast is still dropped (RFC 8415 section 16).
	dg = datagram(newSolicit(t), clientLL)
	dg.OOB = (&ipv6.ControlMessage{Src: serverAddr, IfIndex: 1}).Marshal()
	dg.NN = len(dg.OOB)
	srv.serveBatch([]ipv6.Message{dg}, &b)
	if len(conn.sent) != 1 {
		t.Errorf("unicast Solicit answered: %v", conn.sent[1:])
	}
}

// FuzzParseLQQuery: any OPTION_LQ_QUERY data decodes or fails cleanly, and
// what decodes encodes back to the same query.
func FuzzParseLQQuery(f *testing.F) {
	f.Add(byAddress("2001:db8:1::100").ToBytes())
	f.Add(byClientID(clientDUID).ToBytes())
	f.Add(lqQueryOption(lqQueryByAddress, netip.MustParseAddr("2001:db8:1::1"), &dhcpv6.OptIAAddress{IPv6Addr: net.ParseIP("2001:db8:1::100")}, dhcpv6.OptRequestedOption(dhcpv6.OptionClientData)).ToBytes())
	f.Add([]byte{1})
	f.Add(append(make([]byte, 17), 0, 5, 0, 40, 1))
	f.Fuzz(func(t *testing.T, data []byte) {
		q, err := parseLQQuery(data)
		if err != nil {
			return
		}
		again, err := parseLQQuery(lqQueryOption(q.queryType, q.linkAddr, q.options.Options...).ToBytes())
		if err != nil {
			t.Fatalf("re-encoded query does not parse: %v", err)
		}
		if again.queryType != q.queryType || again.linkAddr != q.linkAddr || !bytes.Equal(again.options.ToBytes(), q.options.ToBytes()) {
			t.Fatalf("round trip changed the query: %+v, then %+v", q, again)
		}
	})
}

// TestLeasequeryNotAllowed: with dhcpv6.allow_leasequery off (the
// default), every well-formed LEASEQUERY, by unicast or multicast and
// whether or not the server holds a binding, gets status NotAllowed and no
// client data; malformed ones are still discarded.
func TestLeasequeryNotAllowed(t *testing.T) {
	cfg := seedConfig()
	cfg.DHCPv6.AllowLeasequery = false
	h, _ := newTestHandler(cfg)
	exchange(t, h, clientMessage(t, dhcpv6.MessageTypeRequest, clientDUID, serverDUID, iaNA(1, "2001:db8:1::100")), t0)
	for name, query := range map[string]dhcpv6.Option{
		"by a leased address": byAddress("2001:db8:1::100"),
		"by client":           byClientID(clientDUID),
		"of an unknown type":  lqQueryOption(9, netip.Addr{}),
	} {
		for _, unicast := range []bool{true, false} {
			resp, err := h.handleAlone(newLeasequery(t, requestorDUID, query), netip.MustParseAddr("2001:db8:1::77"), unicast, t0)
			if err != nil {
				t.Fatalf("%s, unicast %v: %v", name, unicast, err)
			}
			got, err := parseLQReply(resp)
			if err != nil {
				t.Fatal(err)
			}
			if got.status != iana.StatusNotAllowed || got.hasData {
				t.Errorf("%s, unicast %v: status %s, client data %v; want NotAllowed without data", name, unicast, got.status, got.hasData)
			}
		}
	}
	mustDiscard(t, h, newLeasequery(t, nil, byAddress("2001:db8:1::100")), true)
}
