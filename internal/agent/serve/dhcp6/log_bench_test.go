package dhcp6

import (
	"bytes"
	"encoding/hex"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"
	"golang.org/x/net/ipv6"
	"golang.org/x/time/rate"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/eventkind"
)

// BenchmarkRequestsLogged handles batches of 16 Requests, each bound,
// stored and logged at info (a line per lease, as the agent logs), to
// count what a granted lease costs in time and allocations.
func BenchmarkRequestsLogged(b *testing.B) {
	cfg := testConfig(config.DHCPv6Stateful)
	now := t0
	srv := newTestServer(b, cfg, newMemStore(), &fakeConn{}, &now)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil)).With("component", "dhcpv6", "interface", "eth0")
	srv.pacer = rate.NewLimiter(rate.Inf, pacedChunk) // time spent, not waited
	srv.h = newHandler(serverDUID, cfg, lease.NewPool(spacesOf(cfg)), srv.h.store, logger)
	var read []ipv6.Message
	for n := range 16 {
		cid, ll := batchClient(n + 1)
		read = append(read, datagram(clientMessage(b, dhcpv6.MessageTypeRequest, cid, serverDUID, iaNA(1)), ll))
	}
	ms := make([]ipv6.Message, len(read))
	var bt batch
	b.ReportAllocs()
	for b.Loop() {
		copy(ms, read)
		now = now.Add(time.Second)
		srv.serveBatch(ms, &bt)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(read)), "ns/lease")
}

// TestStoredLeaseLogLine checks the line logged for a granted and for a
// renewed lease, field by field and byte for byte, against the same
// fields logged as key-value pairs, in both log formats: building them
// as slog.Attrs changes nothing an operator reads.
func TestStoredLeaseLogLine(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			var got, want bytes.Buffer
			newLogger := func(w io.Writer) *slog.Logger {
				opts := &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
					if a.Key == slog.TimeKey {
						return slog.Attr{}
					}
					return a
				}}
				if format == "json" {
					return slog.New(slog.NewJSONHandler(w, opts))
				}
				return slog.New(slog.NewTextHandler(w, opts))
			}
			cfg := testConfig(config.DHCPv6Stateful)
			now := t0
			conn := &fakeConn{}
			srv := newTestServer(t, cfg, newMemStore(), conn, &now)
			srv.h = newHandler(serverDUID, cfg, lease.NewPool(spacesOf(cfg)), srv.h.store, newLogger(&got).With("interface", "eth0"))
			cid, ll := batchClient(1)
			req := clientMessage(t, dhcpv6.MessageTypeRequest, cid, serverDUID, iaNA(7))
			req.AddOption(dhcpv6.OptClientArchType(iana.EFI_X86_64))
			req.AddOption(&dhcpv6.OptUserClass{UserClasses: [][]byte{[]byte("iPXE")}})
			renew := clientMessage(t, dhcpv6.MessageTypeRenew, cid, serverDUID, iaNA(7))
			renew.AddOption(dhcpv6.OptClientArchType(iana.EFI_X86_64))
			renew.AddOption(&dhcpv6.OptUserClass{UserClasses: [][]byte{[]byte("iPXE")}})
			var b batch
			srv.serveBatch([]ipv6.Message{datagram(req, ll)}, &b)
			srv.serveBatch([]ipv6.Message{datagram(renew, ll)}, &b)
			leases := srv.Leases()
			if len(leases) != 1 {
				t.Fatalf("%d leases, want 1", len(leases))
			}
			l := leases[0]
			pairs := func(typ dhcpv6.MessageType) []any {
				return []any{"duid", hex.EncodeToString(cid.ToBytes()), "arch", uint16(iana.EFI_X86_64), "user_class", "iPXE",
					"hardware_addr", "52:54:00:00:00:01", "hardware_addr_source", "duid",
					eventkind.Lease.Attr(), "msg_type", typ.String(), "ia_type", "IA_NA", "iaid", uint32(7),
					"address", l.Address, "valid_until", l.ValidUntil}
			}
			logger := newLogger(&want).With("interface", "eth0")
			first := pairs(dhcpv6.MessageTypeRequest)
			first[len(first)-1] = t0.Add(cfg.DHCPv6.ValidLifetime)
			logger.Info("leased address", first...)
			logger.Info("renewed address", pairs(dhcpv6.MessageTypeRenew)...)
			if got.String() != want.String() {
				t.Errorf("logged\n%s\nwant\n%s", got.String(), want.String())
			}
		})
	}
}
