package agent

import (
	"context"
	"encoding/hex"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/serve/dhcp6"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/bootfile"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/menu"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/keyset"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// ListHosts groups the live leases by client and shows what each client
// would be served: the boot-file URL its lease's architecture and user class
// select, and the menu iPXE on it would get. Hosts are paged by boot
// server, then DUID.
func (s *core) ListHosts(_ context.Context, req *netbootv1.ListHostsRequest) (*netbootv1.ListHostsResponse, error) {
	now := time.Now()
	pg, err := newPage("hosts", req.GetBootServer(), 2, req, now)
	if err != nil {
		return nil, err
	}
	var afterServer, afterDUID string
	if pg.after != nil {
		duid, err := hex.DecodeString(pg.after[1])
		if err != nil {
			return nil, pageError("page_token", notOurToken)
		}
		afterServer, afterDUID = pg.after[0], string(duid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	names, err := s.siteNames(req.GetBootServer())
	if err != nil {
		return nil, err
	}
	var menus []menu.Menu
	var machines lease.ClientIndex[*config.Machine]
	if c := s.catalog.Load(); c != nil {
		for _, name := range sortedKeys(c.Menus) {
			menus = append(menus, c.Menus[name])
		}
		machines = dhcp6.MachineIndex(c.Machines)
	}
	resp := &netbootv1.ListHostsResponse{}
	for _, name := range names {
		if name < afterServer {
			continue
		}
		// One more than fits tells whether the listing goes on.
		hosts, err := s.hostsAfter(name, name == afterServer, afterDUID, pg.room()+1, now)
		if err != nil {
			return nil, internalError("reading the leases of boot server %q: %v", name, err)
		}
		for _, h := range hosts {
			s.describeHost(name, h.Host, h.arch, menus, &machines)
			if !pg.add(h.Host, name, h.GetClientDuid()) {
				resp.NextPageToken = pg.nextToken()
				return resp, nil
			}
			resp.Hosts = append(resp.Hosts, h.Host)
		}
	}
	return resp, nil
}

// leasedHost is a host as its leases show it. What the client said of
// itself (hardware address, user class, architecture type: arch, nil when
// it sent none) comes from its lease of the lowest address, first.
type leasedHost struct {
	*netbootv1.Host
	arch  *uint16
	first netip.Addr
}

// hostsAfter returns up to limit hosts of boot server name, by DUID: those
// whose DUID is above after when skip is set. One pass over the leases
// keeps the limit smallest DUIDs with their leases, so a page groups only
// the clients it may show.
func (s *core) hostsAfter(name string, skip bool, after string, limit int, now time.Time) ([]*leasedHost, error) {
	leases, err := s.liveLeases(s.sites[name], now)
	if err != nil {
		return nil, err
	}
	page := keyset.New[string, *leasedHost](limit, strings.Compare)
	for l := range leases {
		if (skip && string(l.DUID) <= after) || (page.Full() && string(l.DUID) >= page.Max()) {
			continue
		}
		h, ok := page.Value(string(l.DUID))
		if !ok {
			h = &leasedHost{Host: &netbootv1.Host{BootServer: name, ClientDuid: hex.EncodeToString(l.DUID)}}
			page.Offer(string(l.DUID), h)
		}
		if !h.first.IsValid() || l.Address.Less(h.first) {
			h.first, h.arch = l.Address, l.ClientArch
			h.HardwareAddress, h.UserClass, h.ClientArch = l.HardwareAddr, l.UserClass, 0
			if l.ClientArch != nil {
				h.ClientArch = uint32(*l.ClientArch)
			}
		}
		addr := l.Address.String()
		if l.Kind == lease.PD {
			addr = l.Prefix().String()
		}
		h.Addresses = append(h.Addresses, addr)
	}
	duids, hosts := page.Sorted()
	out := make([]*leasedHost, len(duids))
	for i, duid := range duids {
		out[i] = hosts[duid]
		slices.Sort(out[i].Addresses)
	}
	return out, nil
}

// describeHost sets what boot server name would serve h: the boot file its
// rules choose and the menu iPXE on it would get.
func (s *core) describeHost(name string, h *netbootv1.Host, arch *uint16, menus []menu.Menu, machines *lease.ClientIndex[*config.Machine]) {
	st := s.sites[name]
	d := bootfile.Select(st.cfg.Boot.Rules, bootfile.Server{Address: st.bootAddr, HTTPPort: st.cfg.Boot.HTTPPort}, bootClientOf(h, arch, machines))
	h.BootFileUrl, h.BootFileReason = d.URL, d.Reason
	if m, reason := s.catalog.Load().SelectFor(menus, name, menu.FormatIPXE, ipxeHostOf(h, arch)); m != nil {
		h.Menu, h.MenuReason = m.Name, reason
	} else {
		h.MenuReason = reason
	}
}

// bootClientOf is what the host's lease recorded of its last request, and
// the machine it is.
func bootClientOf(h *netbootv1.Host, arch *uint16, machines *lease.ClientIndex[*config.Machine]) bootfile.Client {
	c := bootfile.Client{DUID: h.GetClientDuid(), MAC: h.GetHardwareAddress()}
	if duid, err := hex.DecodeString(c.DUID); err == nil {
		if m, ok := machines.Of(duid, c.MAC); ok {
			c.Machine, c.Labels = m.Name, m.Labels
		}
	}
	if arch != nil {
		c.Arch = []uint16{*arch}
	}
	if h.GetUserClass() != "" {
		c.UserClasses = []string{h.GetUserClass()}
	}
	return c
}

// ipxeHostOf is how iPXE on the host would describe itself in the menu URL,
// as far as the lease tells: its MAC, and the platform and build
// architecture an iPXE build for its firmware's architecture type has. The
// UUID is unknown, so menus matching on it are not predicted.
func ipxeHostOf(h *netbootv1.Host, arch *uint16) menu.Host {
	mh := menu.Host{MAC: h.GetHardwareAddress()}
	if arch == nil {
		return mh
	}
	switch *arch {
	case bootfile.ArchBIOS, bootfile.ArchBIOSHTTP:
		mh.Platform, mh.BuildArch = "pcbios", "i386"
	case bootfile.ArchEFIIA32, bootfile.ArchEFIx86HTTP:
		mh.Platform, mh.BuildArch = "efi", "i386"
	case bootfile.ArchEFIx64, bootfile.ArchEFIBC, bootfile.ArchEFIx64HTTP:
		mh.Platform, mh.BuildArch = "efi", "x86_64"
	case bootfile.ArchEFIARM32, bootfile.ArchEFIARM32HTTP:
		mh.Platform, mh.BuildArch = "efi", "arm32"
	case bootfile.ArchEFIARM64, bootfile.ArchEFIARM64HTTP:
		mh.Platform, mh.BuildArch = "efi", "arm64"
	case bootfile.ArchEFIRISCV64, bootfile.ArchEFIRISCV64HTTP:
		mh.Platform, mh.BuildArch = "efi", "riscv64"
	}
	return mh
}
