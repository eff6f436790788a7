package agent

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/store"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/menu"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/eventkind"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// Machines live in the catalog with the entries and menus, since the
// scripts a boot server renders depend on them; they change under s.mu and
// are swapped in with the catalog.

// loadMachines reads the stored machines into c.
func (s *service) loadMachines(c *menu.Catalog) error {
	return s.store.List(store.Machines, func(name string, data []byte) error {
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

func (s *service) PutMachine(_ context.Context, req *netbootv1.PutMachineRequest) (*netbootv1.Machine, error) {
	m, err := config.MachineFromProto(req.GetMachine())
	if err != nil {
		return nil, invalidArgument("machine", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.nextCatalog()
	if err := config.CheckMachines(m, next.Machines); err != nil {
		return nil, invalidArgument("machine", err)
	}
	if _, ok := next.Menus[m.Menu]; m.Menu != "" && !ok {
		return nil, status.Errorf(codes.FailedPrecondition, "machine %q: boot menu %q does not exist on this agent; create it first", m.Name, m.Menu)
	}
	// The token is the agent's: a client's value is ignored, and a machine
	// keeps its token across updates so the URLs in its entries stay valid.
	m.ConfigToken = next.Machines[m.Name].ConfigToken
	if m.ConfigToken == "" {
		m.ConfigToken = config.NewConfigToken()
	}
	if err := s.store.Put(store.Machines, m.Name, m.ToProto()); err != nil {
		return nil, status.Errorf(codes.Internal, "saving machine %q: %v", m.Name, err)
	}
	next.Machines[m.Name] = m
	s.catalog.Store(next)
	s.logger.Info("machine saved", eventkind.Config.Attr(), "machine", m.Name,
		"macs", m.MACs, "duids", m.DUIDs, "uuids", m.UUIDs)
	return m.ToProto(), nil
}

func (s *service) GetMachine(_ context.Context, req *netbootv1.GetMachineRequest) (*netbootv1.Machine, error) {
	m, ok := s.catalog.Load().Machines[req.GetName()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "machine %q does not exist on this agent", req.GetName())
	}
	return m.ToProto(), nil
}

func (s *service) ListMachines(_ context.Context, req *netbootv1.ListMachinesRequest) (*netbootv1.ListMachinesResponse, error) {
	c := s.catalog.Load()
	machines, next, err := pageByName("machines", req, sortedKeys(c.Machines), func(name string) *netbootv1.Machine {
		m := c.Machines[name]
		return m.ToProto()
	})
	if err != nil {
		return nil, err
	}
	return &netbootv1.ListMachinesResponse{Machines: machines, NextPageToken: next}, nil
}

func (s *service) DeleteMachine(_ context.Context, req *netbootv1.DeleteMachineRequest) (*netbootv1.DeleteMachineResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := req.GetName()
	next := s.nextCatalog()
	if _, ok := next.Machines[name]; !ok {
		return nil, status.Errorf(codes.NotFound, "machine %q does not exist on this agent", name)
	}
	delete(next.Machines, name)
	if err := s.store.Delete(store.Machines, name); err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, status.Errorf(codes.Internal, "deleting machine %q: %v", name, err)
	}
	s.catalog.Store(next)
	s.logger.Info("machine deleted", eventkind.Config.Attr(), "machine", name)
	return &netbootv1.DeleteMachineResponse{}, nil
}
