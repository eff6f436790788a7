package dhcp6

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
)

// TestEncode checks encode against insomniacslk/dhcp's ToBytes on the
// shapes of every response the server sends, and on the odd values ToBytes
// has a rule for (no address, no prefix, lifetimes in fractions of a
// second, a value too long for its length field).
func TestEncode(t *testing.T) {
	addr := net.ParseIP("2001:db8:1::100")
	_, prefix, _ := net.ParseCIDR("2001:db8:1:100::/56")
	ia := func(opts ...dhcpv6.Option) *dhcpv6.OptIANA {
		return &dhcpv6.OptIANA{IaId: [4]byte{0, 0, 0, 1}, T1: time.Hour, T2: 90 * time.Minute, Options: dhcpv6.IdentityOptions{Options: opts}}
	}
	withOpts := func(typ dhcpv6.MessageType, opts ...dhcpv6.Option) *dhcpv6.Message {
		m := &dhcpv6.Message{MessageType: typ, TransactionID: dhcpv6.TransactionID{1, 2, 3}}
		m.Options.Options = opts
		return m
	}
	long := make([]byte, 70000)
	reply := withOpts(dhcpv6.MessageTypeReply,
		dhcpv6.OptServerID(serverDUID), dhcpv6.OptClientID(clientDUID),
		ia(&dhcpv6.OptIAAddress{IPv6Addr: addr, PreferredLifetime: time.Hour, ValidLifetime: 2 * time.Hour}),
		dhcpv6.OptDNS(net.ParseIP("2001:db8::53")), dhcpv6.OptPreference(255), dhcpv6.OptBootFileURL("http://[2001:db8::1]/boot.ipxe"))
	for _, tt := range []struct {
		name string
		m    dhcpv6.DHCPv6
	}{
		{"empty", withOpts(dhcpv6.MessageTypeAdvertise)},
		{"reply with an IA_NA", reply},
		{"IA_NA with a status", withOpts(dhcpv6.MessageTypeAdvertise,
			ia(&dhcpv6.OptStatusCode{StatusCode: iana.StatusNoAddrsAvail, StatusMessage: "no free address in the ranges"}))},
		{"IA_TA", withOpts(dhcpv6.MessageTypeReply, &dhcpv6.OptIATA{IaId: [4]byte{7}, Options: dhcpv6.IdentityOptions{Options: []dhcpv6.Option{
			&dhcpv6.OptIAAddress{IPv6Addr: addr, PreferredLifetime: 1500 * time.Millisecond, ValidLifetime: 499 * time.Millisecond}}}})},
		{"IA_PD", withOpts(dhcpv6.MessageTypeReply, &dhcpv6.OptIAPD{IaId: [4]byte{1}, T1: time.Minute, T2: 2 * time.Minute, Options: dhcpv6.PDOptions{Options: []dhcpv6.Option{
			&dhcpv6.OptIAPrefix{PreferredLifetime: time.Hour, ValidLifetime: time.Hour, Prefix: prefix}}}})},
		{"no address, no prefix", withOpts(dhcpv6.MessageTypeReply, ia(&dhcpv6.OptIAAddress{}),
			&dhcpv6.OptIAPD{Options: dhcpv6.PDOptions{Options: []dhcpv6.Option{&dhcpv6.OptIAPrefix{}}}})},
		{"IPv4 address", withOpts(dhcpv6.MessageTypeReply, ia(&dhcpv6.OptIAAddress{IPv6Addr: net.IPv4(192, 0, 2, 1)}))},
		{"value over 64 KiB", withOpts(dhcpv6.MessageTypeReply, &dhcpv6.OptionGeneric{OptionCode: 65000, OptionData: long})},
		{"Relay-Reply", wrapReply([]*dhcpv6.RelayMessage{
			{MessageType: dhcpv6.MessageTypeRelayForward, HopCount: 1, LinkAddr: net.ParseIP("2001:db8:10::1"), PeerAddr: net.ParseIP("fe80::1")},
			{MessageType: dhcpv6.MessageTypeRelayForward, LinkAddr: net.ParseIP("2001:db8:20::1"), PeerAddr: net.ParseIP("fe80::2")},
		}, reply)},
		{"relay without addresses", &dhcpv6.RelayMessage{MessageType: dhcpv6.MessageTypeRelayReply}},
	} {
		t.Run(tt.name, func(t *testing.T) { mustEncodeAsToBytes(t, tt.m) })
	}
	// Options encoded once are copied only when they are the very value
	// in the message: another value of the same option is encoded anew.
	dns := dhcpv6.OptDNS(net.ParseIP("2001:db8::53"))
	stale := encodedOption{opt: dhcpv6.OptDNS(net.ParseIP("2001:db8::54")), wire: []byte("stale")}
	m := withOpts(dhcpv6.MessageTypeReply, dns, ia(&dhcpv6.OptIAAddress{IPv6Addr: addr}), stale.opt)
	known := []encodedOption{encoded(dns), {opt: dhcpv6.OptDNS(net.ParseIP("2001:db8::54")), wire: []byte("other value")}}
	mustEncodeAsToBytes(t, m, known)
	if got := encode(m, []encodedOption{stale}); !bytes.Contains(got, []byte("stale")) {
		t.Errorf("encode ignored the encoding given for an option: %x", got)
	}
}

// BenchmarkEncode compares encode with ToBytes on an Advertise as the
// server sends it.
func BenchmarkEncode(b *testing.B) {
	h, _ := newTestHandler(bootConfig(config.DHCPv6Stateful))
	resp, err := h.handleAlone(newSolicit(b), clientLL, false, t0)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			encode(resp, h.serverIDWire[:], h.cfg.Load().configWire)
		}
	})
	b.Run("ToBytes", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			resp.ToBytes()
		}
	})
}
