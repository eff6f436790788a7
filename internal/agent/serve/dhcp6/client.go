package dhcp6

import (
	"encoding/hex"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
)

// client is what a message says about its sender, kept in its leases and
// logged with every decision.
type client struct {
	duid      []byte
	arch      *uint16 // option 61, first entry (RFC 5970)
	userClass string  // option 15 (RFC 8415 section 21.15)
	hwAddr    string
	hwSource  string
}

func clientOf(req *dhcpv6.Message, peer netip.Addr) client {
	var c client
	if o := req.GetOneOption(dhcpv6.OptionClientID); o != nil {
		c.duid = o.ToBytes()
	}
	if archs := req.Options.ArchTypes(); len(archs) > 0 {
		arch := uint16(archs[0])
		c.arch = &arch
	}
	var classes []string
	for _, uc := range req.Options.UserClasses() {
		classes = append(classes, strings.ToValidUTF8(string(uc), "\uFFFD"))
	}
	c.userClass = strings.Join(classes, ",")
	c.hwAddr, c.hwSource = hardwareAddr(req.Options.ClientID(), peer)
	return c
}

// hardwareAddr finds the client's MAC address: in a DUID-LL or DUID-LLT if
// it has one, else in the modified EUI-64 interface identifier of its
// link-local source address. iPXE uses DUID-UUID, so the second source is
// the one that works for it (docs/firmware.md); a client using a random or stable
// privacy interface identifier has neither.
func hardwareAddr(duid dhcpv6.DUID, peer netip.Addr) (addr, source string) {
	switch d := duid.(type) {
	case *dhcpv6.DUIDLL:
		if d.HWType == iana.HWTypeEthernet && len(d.LinkLayerAddr) == 6 {
			return d.LinkLayerAddr.String(), "duid"
		}
	case *dhcpv6.DUIDLLT:
		if d.HWType == iana.HWTypeEthernet && len(d.LinkLayerAddr) == 6 {
			return d.LinkLayerAddr.String(), "duid"
		}
	}
	if !peer.Is6() || !peer.IsLinkLocalUnicast() {
		return "", ""
	}
	if mac, ok := config.MACFromEUI64(peer); ok {
		return mac, "link-local"
	}
	return "", ""
}

// lease is the lease of kind this client would hold on addr (an address
// or a prefix's first address) for the configured lifetimes from now.
func (c client) lease(kind lease.Kind, iaid uint32, addr netip.Addr, cfg *Config, now time.Time) lease.Lease {
	return lease.Lease{
		Kind:               kind,
		Address:            addr,
		DUID:               c.duid,
		IAID:               iaid,
		PreferredUntil:     now.Add(cfg.DHCPv6.PreferredLifetime),
		ValidUntil:         now.Add(cfg.DHCPv6.ValidLifetime),
		LastTransaction:    now,
		ClientArch:         c.arch,
		UserClass:          c.userClass,
		HardwareAddr:       c.hwAddr,
		HardwareAddrSource: c.hwSource,
	}
}

// attrs are the structured log fields that identify the client.
func (c client) attrs() []any { return c.appendAttrs(nil) }

// appendAttrs appends attrs() to dst.
func (c client) appendAttrs(dst []any) []any {
	var buf [5]slog.Attr
	for _, a := range c.appendLogAttrs(buf[:0]) {
		dst = append(dst, a)
	}
	return dst
}

// appendLogAttrs appends attrs() to dst as slog.Attrs, which the line
// logged per lease takes without boxing each value.
func (c client) appendLogAttrs(dst []slog.Attr) []slog.Attr {
	dst = append(dst, slog.String("duid", hex.EncodeToString(c.duid)))
	if c.arch != nil {
		dst = append(dst, slog.Uint64("arch", uint64(*c.arch)))
	}
	if c.userClass != "" {
		dst = append(dst, slog.String("user_class", c.userClass))
	}
	if c.hwAddr != "" {
		dst = append(dst, slog.String("hardware_addr", c.hwAddr), slog.String("hardware_addr_source", c.hwSource))
	}
	return dst
}
