package agent

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/netip"

	"google.golang.org/protobuf/proto"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/serve/dnsserve"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/store"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/machineconfig"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/menu"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/eventkind"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// Machines live in the catalog with the entries and menus, since the
// scripts a boot server renders depend on them; they change under s.mu and
// are swapped in with the catalog.

// loadMachines reads the stored machines into c.
func (s *core) loadMachines(c *menu.Catalog) error {
	err := s.store.List(store.Machines, func(name string, data []byte) error {
		pb := &netbootv1.Machine{}
		if err := proto.Unmarshal(data, pb); err != nil {
			return fmt.Errorf("decoding machine %q: %w", name, err)
		}
		m, err := config.MachineFromProto(pb)
		if err != nil {
			return fmt.Errorf("stored machine %q: %w", name, err)
		}
		c.Machines[name] = m
		return nil
	})
	if err != nil {
		return err
	}
	return s.store.List(store.MachineConfigs, func(name string, data []byte) error {
		pb := &netbootv1.MachineConfig{}
		if err := proto.Unmarshal(data, pb); err != nil {
			return fmt.Errorf("decoding machine config %q: %w", name, err)
		}
		mc, err := machineconfig.FromProto(pb)
		if err != nil {
			return fmt.Errorf("stored machine config %q: %w", name, err)
		}
		c.Configs[name] = mc
		return nil
	})
}

// reservationsOf are the machines' reserved addresses and prefixes as the
// DHCPv6 servers take them.
func reservationsOf(machines map[string]config.Machine) []lease.Reservation {
	var rs []lease.Reservation
	for _, name := range sortedKeys(machines) {
		m := machines[name]
		if m.ReservedAddress.IsValid() {
			rs = append(rs, lease.Reservation{Owner: name, Address: m.ReservedAddress, DUIDs: m.DUIDs, MACs: m.MACs, UUIDs: m.UUIDs})
		}
		if m.ReservedPrefix.IsValid() {
			rs = append(rs, lease.Reservation{Owner: name, Prefix: m.ReservedPrefix, DUIDs: m.DUIDs, MACs: m.MACs, UUIDs: m.UUIDs})
		}
	}
	return rs
}

// addMachineNames adds to cfg the names config.MachineNames gives bs's
// machines with reserved addresses, each with a PTR record for its address.
// The other machines' names follow their leases (nil: no DHCPv6 server, no
// such names): cfg.Dynamic answers them at query time. The names cfg
// already has are the NFS root images'; a machine named like one gets no
// name either way, and a warning.
func addMachineNames(cfg *dnsserve.Config, bs config.BootServer, machines map[string]config.Machine, leases clientLeases, logger *slog.Logger) {
	if cfg.Pointers == nil {
		cfg.Pointers = map[netip.Addr]string{}
	}
	named := make(map[string]config.Machine, len(machines))
	for _, name := range sortedKeys(machines) {
		m := machines[name]
		host := config.MachineHostName(bs, &m)
		if _, image := cfg.Records[host]; !image {
			named[name] = m
		} else if leases != nil || bs.Prefix.Contains(m.ReservedAddress) {
			logger.Warn("a machine's host name is an NFS root image's; DNS answers with the image's server",
				eventkind.Config.Attr(), "machine", name, "name", host)
		}
	}
	reserved := config.MachineNames(bs, named)
	for _, host := range sortedKeys(reserved) {
		a := reserved[host]
		cfg.Records[host] = []netip.Addr{a}
		cfg.Pointers[a] = host
	}
	if leases == nil {
		return
	}
	ln := &leaseNames{leases: leases, byName: map[string]machineIDs{}}
	for _, name := range sortedKeys(named) {
		m := named[name]
		host := config.MachineHostName(bs, &m)
		if _, taken := cfg.Records[host]; taken {
			continue // a reservation's name
		}
		if _, taken := ln.byName[host+"."]; taken {
			continue // two machines, one name: the name sorting first
		}
		ids := machineIDs{macs: m.MACs}
		for _, d := range m.DUIDs {
			if b, err := hex.DecodeString(d); err == nil { // config keeps DUIDs in hex
				ids.duids = append(ids.duids, b)
			}
		}
		for _, u := range m.UUIDs {
			if b := lease.DUIDUUID(u); b != nil {
				ids.duids = append(ids.duids, b)
			}
		}
		ln.byName[host+"."] = ids
		ln.clients.Add(m.DUIDs, m.MACs, m.UUIDs, host+".")
	}
	if len(ln.byName) > 0 {
		cfg.Dynamic = ln
	}
}

// clientLeases is what leaseNames asks of the DHCPv6 server.
type clientLeases interface {
	ClientLeases(duids [][]byte, macs []string) []lease.Lease
	LeasedAddress(a netip.Addr) (lease.Lease, bool)
}

// leaseNames names machines by the addresses they hold leases on, as
// dnsmasq names its DHCP clients: a machine's name has the IA_NA
// addresses leased to a client it is recognised by (a DUID it lists, a
// MAC it lists seen in the client's DUID-LL or DUID-LLT, its link-local
// address or a relay's option 79, or the DUID-UUID of a UUID it lists),
// and each such address points back to the name. It is built with the DNS configuration, once per change of
// machines; each query looks the machine's identifiers up in the lease
// pools' indexes, so its cost does not grow with the number of leases, and
// a lease that ends takes its records with it.
type leaseNames struct {
	leases clientLeases
	// byName are the machines' identifiers by DNS name (lowercase,
	// final dot); clients gives a client's machine's name.
	byName  map[string]machineIDs
	clients lease.ClientIndex[string]
}

// machineIDs are what a machine's leases are found by: its DUIDs, with
// the DUID-UUIDs of its UUIDs, and its MAC addresses.
type machineIDs struct {
	duids [][]byte
	macs  []string
}

func (ln *leaseNames) Addresses(name string) []netip.Addr {
	ids, ok := ln.byName[name]
	if !ok {
		return nil
	}
	var out []netip.Addr
	for _, l := range ln.leases.ClientLeases(ids.duids, ids.macs) {
		if l.Kind == lease.NA {
			out = append(out, l.Address)
		}
	}
	return out
}

func (ln *leaseNames) Name(a netip.Addr) string {
	l, ok := ln.leases.LeasedAddress(a)
	if !ok || l.Kind != lease.NA || l.Address != a {
		return ""
	}
	name, _ := ln.clients.Of(l.DUID, l.HardwareAddr)
	return name
}

// applyReservations gives every running site the machines as they are
// now: reserved addresses to its DHCPv6 server, names to its DNS
// responder; s.mu is held. A server that refuses keeps what it had and
// the error is logged: the machine is stored all the same, and the next
// change or restart applies it.
func (s *core) applyReservations() {
	for _, name := range sortedKeys(s.sites) {
		st := s.sites[name]
		if !st.serving() {
			continue
		}
		if st.dhcp != nil {
			if err := st.dhcp.Apply(st.dhcpConfig(st.cfg)); err != nil {
				st.logger.Error("applying machines' address reservations", eventkind.Config.Attr(), "error", err)
			}
		}
		if err := st.syncDNS(); err != nil {
			st.logger.Error("applying machines' DNS names", eventkind.Config.Attr(), "error", err)
		}
	}
}

// machineBooting returns the name of a machine whose menu is menuName, or "".
func machineBooting(c *menu.Catalog, menuName string) string {
	for _, name := range sortedKeys(c.Machines) {
		if c.Machines[name].Menu == menuName {
			return name
		}
	}
	return ""
}

func (s *core) PutMachine(_ context.Context, req *netbootv1.PutMachineRequest) (*netbootv1.Machine, error) {
	m, err := config.MachineFromProto(req.GetMachine())
	if err == nil {
		err = config.PlaceholderUUIDs(req.GetMachine())
	}
	if err != nil {
		return nil, invalidArgument("machine", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.nextCatalog()
	if err := config.CheckMachines(m, next.Machines); err != nil {
		return nil, invalidArgument("machine", err)
	}
	for _, name := range sortedKeys(s.sites) {
		if reason := config.ReservedPrefixConflict(&m, &s.sites[name].cfg); reason != "" {
			return nil, invalidArgument("machine", config.FieldErrors{{Path: []any{"reserved_prefix"}, Reason: reason}})
		}
	}
	// Every config this machine gets must render for it: a template
	// reading a metadata key the machine lacks fails here, not at boot.
	for _, name := range sortedKeys(next.Configs) {
		c := next.Configs[name]
		if c.Selects(m) < 0 {
			continue
		}
		if _, err := machineconfig.Render(&c, m, machineconfig.SampleSite); err != nil {
			return nil, failedPrecondition("netboot_config %q does not render for machine %q: %v", name, m.Name, err)
		}
	}
	if _, ok := next.Menus[m.Menu]; m.Menu != "" && !ok {
		return nil, failedPrecondition("machine %q: boot menu %q does not exist on this agent; create it first", m.Name, m.Menu)
	}
	// The token is the agent's: a client's value is ignored, and a machine
	// keeps its token across updates so the URLs in its entries stay valid.
	m.ConfigToken = next.Machines[m.Name].ConfigToken
	if m.ConfigToken == "" {
		m.ConfigToken = config.NewConfigToken()
	}
	if err := s.store.Put(store.Machines, m.Name, m.ToProto()); err != nil {
		return nil, internalError("saving machine %q: %v", m.Name, err)
	}
	next.Machines[m.Name] = m
	s.catalog.Store(next)
	s.applyReservations()
	s.logger.Info("machine saved", eventkind.Config.Attr(), "machine", m.Name,
		"macs", m.MACs, "duids", m.DUIDs, "uuids", m.UUIDs)
	return m.ToProto(), nil
}

func (s *core) GetMachine(_ context.Context, req *netbootv1.GetMachineRequest) (*netbootv1.Machine, error) {
	m, ok := s.catalog.Load().Machines[req.GetName()]
	if !ok {
		return nil, notFound("machine %q does not exist on this agent", req.GetName())
	}
	return s.activity.fill(m.ToProto()), nil
}

func (s *core) ListMachines(_ context.Context, req *netbootv1.ListMachinesRequest) (*netbootv1.ListMachinesResponse, error) {
	c := s.catalog.Load()
	machines, next, err := pageByName("machines", req, sortedKeys(c.Machines), func(name string) *netbootv1.Machine {
		m := c.Machines[name]
		return s.activity.fill(m.ToProto())
	})
	if err != nil {
		return nil, err
	}
	return &netbootv1.ListMachinesResponse{Machines: machines, NextPageToken: next}, nil
}

func (s *core) DeleteMachine(_ context.Context, req *netbootv1.DeleteMachineRequest) (*netbootv1.DeleteMachineResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := req.GetName()
	if err := deleteFromCatalog(s, store.Machines, "machine", "machine", name, func(c *menu.Catalog) map[string]config.Machine { return c.Machines }, nil); err != nil {
		return nil, err
	}
	s.activity.forget(name)
	s.applyReservations()
	return &netbootv1.DeleteMachineResponse{}, nil
}

func (s *core) PutMachineConfig(_ context.Context, req *netbootv1.PutMachineConfigRequest) (*netbootv1.MachineConfig, error) {
	c, err := machineconfig.FromProto(req.GetConfig())
	if err != nil {
		return nil, invalidArgument("machine config", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.nextCatalog()
	if err := machineconfig.CheckMachines(&c, next.Machines); err != nil {
		return nil, invalidArgument("machine config", err)
	}
	if err := s.store.Put(store.MachineConfigs, c.Name, c.ToProto()); err != nil {
		return nil, internalError("saving machine config %q: %v", c.Name, err)
	}
	next.Configs[c.Name] = c
	s.catalog.Store(next)
	s.logger.Info("machine config saved", eventkind.Config.Attr(), "config", c.Name, "kind", c.Kind, "file", c.File)
	return c.ToProto(), nil
}

func (s *core) GetMachineConfig(_ context.Context, req *netbootv1.GetMachineConfigRequest) (*netbootv1.MachineConfig, error) {
	c, ok := s.catalog.Load().Configs[req.GetName()]
	if !ok {
		return nil, notFound("machine config %q does not exist on this agent", req.GetName())
	}
	return c.ToProto(), nil
}

func (s *core) ListMachineConfigs(_ context.Context, req *netbootv1.ListMachineConfigsRequest) (*netbootv1.ListMachineConfigsResponse, error) {
	cat := s.catalog.Load()
	configs, next, err := pageByName("machine configs", req, sortedKeys(cat.Configs), func(name string) *netbootv1.MachineConfig {
		c := cat.Configs[name]
		return c.ToProto()
	})
	if err != nil {
		return nil, err
	}
	return &netbootv1.ListMachineConfigsResponse{Configs: configs, NextPageToken: next}, nil
}

func (s *core) DeleteMachineConfig(_ context.Context, req *netbootv1.DeleteMachineConfigRequest) (*netbootv1.DeleteMachineConfigResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := deleteFromCatalog(s, store.MachineConfigs, "machine config", "config", req.GetName(),
		func(c *menu.Catalog) map[string]machineconfig.Config { return c.Configs }, nil); err != nil {
		return nil, err
	}
	return &netbootv1.DeleteMachineConfigResponse{}, nil
}
