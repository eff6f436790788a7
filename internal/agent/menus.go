package agent

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/store"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/machineconfig"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/menu"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/eventkind"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// loadCatalog reads the stored entries and menus into the catalog that
// every boot server renders its scripts from.
func (s *core) loadCatalog() error {
	c := &menu.Catalog{Entries: map[string]menu.Entry{}, Menus: map[string]menu.Menu{}, Machines: map[string]config.Machine{},
		Configs: map[string]machineconfig.Config{}, Updated: time.Now()}
	err := s.store.List(store.BootEntries, func(name string, data []byte) error {
		pb := &netbootv1.BootEntry{}
		if err := proto.Unmarshal(data, pb); err != nil {
			return fmt.Errorf("decoding boot entry %q: %w", name, err)
		}
		c.Entries[name] = menu.EntryFromProto(pb)
		return nil
	})
	if err != nil {
		return err
	}
	err = s.store.List(store.BootMenus, func(name string, data []byte) error {
		pb := &netbootv1.BootMenu{}
		if err := proto.Unmarshal(data, pb); err != nil {
			return fmt.Errorf("decoding boot menu %q: %w", name, err)
		}
		c.Menus[name] = menu.MenuFromProto(pb)
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.loadMachines(c); err != nil {
		return err
	}
	s.catalog.Store(c)
	return nil
}

// nextCatalog copies the current catalog for a change; the copy replaces
// it only once the change is stored, so renders never see half a change.
func (s *core) nextCatalog() *menu.Catalog {
	cur := s.catalog.Load()
	return &menu.Catalog{Entries: maps.Clone(cur.Entries), Menus: maps.Clone(cur.Menus), Machines: maps.Clone(cur.Machines),
		Configs: maps.Clone(cur.Configs), Updated: time.Now()}
}

func (s *core) PutBootEntry(_ context.Context, req *netbootv1.PutBootEntryRequest) (*netbootv1.BootEntry, error) {
	e := menu.EntryFromProto(req.GetEntry())
	if err := e.Validate(); err != nil {
		return nil, invalidArgument("boot entry", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.nextCatalog()
	next.Entries[e.Name] = e
	// A menu for GRUB alone may only lead to entries GRUB boots: the
	// entry is refused here when it changes into one GRUB cannot boot.
	if menu.GrubProblem(e) != "" {
		for _, name := range sortedKeys(next.Menus) {
			for _, ce := range menu.GrubOnlyProblems(next.Entries, next.Menus, name) {
				if ce.Entry == e.Name {
					return nil, failedPrecondition("%s", ce.EntryRefusal())
				}
			}
		}
	}
	if err := s.store.Put(store.BootEntries, e.Name, e.ToProto()); err != nil {
		return nil, internalError("saving boot entry %q: %v", e.Name, err)
	}
	s.catalog.Store(next)
	s.logger.Info("boot entry saved", eventkind.Config.Attr(), "entry", e.Name, "kind", e.Kind)
	return e.ToProto(), nil
}

func (s *core) GetBootEntry(_ context.Context, req *netbootv1.GetBootEntryRequest) (*netbootv1.BootEntry, error) {
	e, ok := s.catalog.Load().Entries[req.GetName()]
	if !ok {
		return nil, notFound("boot entry %q does not exist on this agent", req.GetName())
	}
	return e.ToProto(), nil
}

func (s *core) ListBootEntries(_ context.Context, req *netbootv1.ListBootEntriesRequest) (*netbootv1.ListBootEntriesResponse, error) {
	c := s.catalog.Load()
	entries, next, err := pageByName("boot entries", req, sortedKeys(c.Entries), func(name string) *netbootv1.BootEntry { return c.Entries[name].ToProto() })
	if err != nil {
		return nil, err
	}
	return &netbootv1.ListBootEntriesResponse{Entries: entries, NextPageToken: next}, nil
}

func (s *core) DeleteBootEntry(_ context.Context, req *netbootv1.DeleteBootEntryRequest) (*netbootv1.DeleteBootEntryResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := req.GetName()
	err := deleteFromCatalog(s, store.BootEntries, "boot entry", "entry", name, func(c *menu.Catalog) map[string]menu.Entry { return c.Entries },
		func(next *menu.Catalog) error {
			for _, m := range sortedKeys(next.Menus) {
				for i, it := range next.Menus[m].Items {
					if it.Entry == name {
						return failedPrecondition("boot entry %q is item %d of boot menu %q; remove it from the menu first", name, i, m)
					}
				}
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	return &netbootv1.DeleteBootEntryResponse{}, nil
}

func (s *core) PutBootMenu(_ context.Context, req *netbootv1.PutBootMenuRequest) (*netbootv1.BootMenu, error) {
	m := menu.MenuFromProto(req.GetMenu())
	if err := m.Validate(); err != nil {
		return nil, invalidArgument("boot menu", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.nextCatalog()
	next.Menus[m.Name] = m
	if err := menu.ValidateCatalog(next.Entries, next.Menus); err != nil {
		var ces menu.CatalogErrors
		if errors.As(err, &ces) && len(ces.ForMenu(m.Name)) > 0 {
			return nil, invalidArgument("boot menu", ces.ForMenu(m.Name))
		}
		return nil, failedPrecondition("boot menu %q: %v", m.Name, err)
	}
	if err := s.store.Put(store.BootMenus, m.Name, m.ToProto()); err != nil {
		return nil, internalError("saving boot menu %q: %v", m.Name, err)
	}
	s.catalog.Store(next)
	s.logger.Info("boot menu saved", eventkind.Config.Attr(), "menu", m.Name, "items", len(m.Items))
	return m.ToProto(), nil
}

func (s *core) GetBootMenu(_ context.Context, req *netbootv1.GetBootMenuRequest) (*netbootv1.BootMenu, error) {
	m, ok := s.catalog.Load().Menus[req.GetName()]
	if !ok {
		return nil, notFound("boot menu %q does not exist on this agent", req.GetName())
	}
	return m.ToProto(), nil
}

func (s *core) ListBootMenus(_ context.Context, req *netbootv1.ListBootMenusRequest) (*netbootv1.ListBootMenusResponse, error) {
	c := s.catalog.Load()
	menus, next, err := pageByName("boot menus", req, sortedKeys(c.Menus), func(name string) *netbootv1.BootMenu { return c.Menus[name].ToProto() })
	if err != nil {
		return nil, err
	}
	return &netbootv1.ListBootMenusResponse{Menus: menus, NextPageToken: next}, nil
}

func (s *core) DeleteBootMenu(_ context.Context, req *netbootv1.DeleteBootMenuRequest) (*netbootv1.DeleteBootMenuResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := req.GetName()
	err := deleteFromCatalog(s, store.BootMenus, "boot menu", "menu", name, func(c *menu.Catalog) map[string]menu.Menu { return c.Menus },
		func(next *menu.Catalog) error {
			for _, m := range sortedKeys(next.Menus) {
				for i, it := range next.Menus[m].Items {
					if it.Menu == name && m != name {
						return failedPrecondition("boot menu %q is item %d of boot menu %q; remove it from that menu first", name, i, m)
					}
				}
			}
			if m := machineBooting(next, name); m != "" {
				return failedPrecondition("boot menu %q is the menu of machine %q; change the machine's menu first", name, m)
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	return &netbootv1.DeleteBootMenuResponse{}, nil
}

// deleteFromCatalog removes the object name from the catalog's map that
// objects picks and from the store (kind), unless inUse (nil: never) says
// why it may not go; noun names it in errors and logAttr in the log line.
// The caller holds s.mu.
func deleteFromCatalog[V any](s *core, kind store.Kind, noun, logAttr, name string, objects func(*menu.Catalog) map[string]V,
	inUse func(next *menu.Catalog) error) error {
	next := s.nextCatalog()
	m := objects(next)
	if _, ok := m[name]; !ok {
		return notFound("%s %q does not exist on this agent", noun, name)
	}
	if inUse != nil {
		if err := inUse(next); err != nil {
			return err
		}
	}
	delete(m, name)
	if err := s.store.Delete(kind, name); err != nil && !errors.Is(err, store.ErrNotFound) {
		return internalError("deleting %s %q: %v", noun, name, err)
	}
	s.catalog.Store(next)
	s.logger.Info(noun+" deleted", eventkind.Config.Attr(), logAttr, name)
	return nil
}

func (s *core) RenderScript(_ context.Context, req *netbootv1.RenderScriptRequest) (*netbootv1.RenderScriptResponse, error) {
	s.mu.Lock()
	st, ok := s.sites[req.GetBootServer()]
	var site machineconfig.Site
	if ok {
		site = st.scriptSite()
	}
	s.mu.Unlock()
	if !ok {
		return nil, notFound("boot server %q does not exist on this agent", req.GetBootServer())
	}
	if site.HTTPBase == "" {
		return nil, failedPrecondition("boot server %q serves no HTTP boot URL (HTTP off, or no global address in its prefix yet)", req.GetBootServer())
	}
	host := menu.Host{MAC: req.GetMac(), UUID: req.GetUuid(), BuildArch: req.GetBuildarch(), Platform: req.GetPlatform()}
	script, menuName, reason, err := menu.Render(s.catalog.Load(), site, req.GetPath(), host)
	if err != nil {
		if _, ok := config.AsFieldErrors(err); ok {
			return nil, invalidArgument("host", err)
		}
		return nil, failedPrecondition("rendering %q for boot server %q: %v", req.GetPath(), req.GetBootServer(), err)
	}
	return &netbootv1.RenderScriptResponse{Script: string(script), Menu: menuName, Reason: reason}, nil
}
