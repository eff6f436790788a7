package agent

import (
	"context"
	"encoding/hex"
	"slices"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/api/netbootv1"
	"github.com/netbootlab/terraform-provider-netboot/internal/bootfile"
	"github.com/netbootlab/terraform-provider-netboot/internal/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/menu"
)

// ListHosts groups the active leases by client and shows what each client
// would be served: the boot-file URL its lease's architecture and user class
// select, and the menu iPXE on it would get.
func (s *service) ListHosts(_ context.Context, req *netbootv1.ListHostsRequest) (*netbootv1.ListHostsResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := sortedKeys(s.sites)
	if req.GetBootServer() != "" {
		if _, ok := s.sites[req.GetBootServer()]; !ok {
			return nil, status.Errorf(codes.NotFound, "boot server %q does not exist on this agent", req.GetBootServer())
		}
		names = []string{req.GetBootServer()}
	}
	var menus []menu.Menu
	if c := s.catalog.Load(); c != nil {
		for _, name := range sortedKeys(c.Menus) {
			menus = append(menus, c.Menus[name])
		}
	}
	resp := &netbootv1.ListHostsResponse{}
	now := time.Now()
	for _, name := range names {
		st := s.sites[name]
		byDUID := map[string]*netbootv1.Host{}
		arch := map[string]*uint16{} // nil: the client sent no architecture type
		var order []string
		for _, l := range s.activeLeases(st, now) {
			duid := hex.EncodeToString(l.DUID)
			h, ok := byDUID[duid]
			if !ok {
				h = hostOf(name, duid, l)
				byDUID[duid], arch[duid] = h, l.ClientArch
				order = append(order, duid)
			}
			addr := l.Address.String()
			if l.Kind == lease.PD {
				addr = l.Prefix().String()
			}
			h.Addresses = append(h.Addresses, addr)
		}
		slices.Sort(order)
		for _, duid := range order {
			h := byDUID[duid]
			slices.Sort(h.Addresses)
			d := bootfile.Select(st.cfg.Boot.Rules, bootfile.Server{Address: st.bootAddr, HTTPPort: st.cfg.Boot.HTTPPort}, bootClientOf(h, arch[duid]))
			h.BootFileUrl, h.BootFileReason = d.URL, d.Reason
			if m, reason := menu.Select(menus, name, ipxeHostOf(h, arch[duid])); m != nil {
				h.Menu, h.MenuReason = m.Name, reason
			} else {
				h.MenuReason = reason
			}
			resp.Hosts = append(resp.Hosts, h)
		}
	}
	return resp, nil
}

func hostOf(bootServer, duid string, l lease.Lease) *netbootv1.Host {
	h := &netbootv1.Host{BootServer: bootServer, ClientDuid: duid, HardwareAddress: l.HardwareAddr, UserClass: l.UserClass}
	if l.ClientArch != nil {
		h.ClientArch = uint32(*l.ClientArch)
	}
	return h
}

// bootClientOf is what the host's lease recorded of its last request.
func bootClientOf(h *netbootv1.Host, arch *uint16) bootfile.Client {
	c := bootfile.Client{DUID: h.GetClientDuid(), MAC: h.GetHardwareAddress()}
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
