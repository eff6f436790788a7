package agent

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/api/netbootv1"
	"github.com/netbootlab/terraform-provider-netboot/internal/artifact"
	"github.com/netbootlab/terraform-provider-netboot/internal/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/menu"
	"github.com/netbootlab/terraform-provider-netboot/internal/store"
)

// Version is set by main from the build.
var Version = "dev"

// service implements the Agent gRPC API. One mutex serialises changes: each
// Put or Delete is applied to the running servers and the store as a unit,
// so a concurrent reader sees either the old or the new object.
type service struct {
	netbootv1.UnimplementedAgentServer

	ctx       context.Context // the agent's lifetime; servers run under it
	store     *store.Store
	artifacts *artifact.Store
	logger    *slog.Logger
	stateDir  string
	started   time.Time
	// probeInterval is how often each site probes for other DHCPv6
	// servers; 0 turns probing off.
	probeInterval time.Duration

	mu    sync.Mutex
	sites map[string]*site
	// catalog holds the boot entries and menus; readers (HTTP requests)
	// load it without the mutex, writers swap in a new one under it.
	catalog atomic.Pointer[menu.Catalog]
	// images are the NFS root images by name, with what was built for them.
	images map[string]*netbootv1.NFSRootImageState

	// events are the recent log records for WatchEvents; operations track
	// downloads and builds apart from mu, so they show while one runs.
	events     *eventRing
	operations *operations
}

func newService(ctx context.Context, st *store.Store, artifacts *artifact.Store, stateDir string, logger *slog.Logger, events *eventRing) *service {
	return &service{ctx: ctx, store: st, artifacts: artifacts, stateDir: stateDir, logger: logger, started: time.Now(), sites: map[string]*site{},
		images: map[string]*netbootv1.NFSRootImageState{}, events: events, operations: newOperations(progressInterval)}
}

// newSite makes a site whose TFTP and HTTP servers serve the rendered iPXE
// scripts over the artifacts.
func (s *service) newSite(cfg config.BootServer) *site {
	st := newSite(cfg, s.store.Leases(cfg.Name), s.logger)
	st.files = menu.NewFS(s.catalog.Load, cfg.Name, st.httpBase, s.artifacts.FS())
	st.images = s.imagesFor(cfg.Name)
	st.probeInterval = s.probeInterval
	return st
}

// restore starts every stored boot server. A server whose interface is
// missing is kept and retried by retryLoop.
func (s *service) restore() error {
	if err := s.loadCatalog(); err != nil {
		return fmt.Errorf("reading stored boot entries and menus: %w", err)
	}
	if err := s.loadImages(); err != nil {
		return fmt.Errorf("reading stored NFS root images: %w", err)
	}
	stored, err := s.store.ListBootServers()
	if err != nil {
		return fmt.Errorf("reading stored boot servers: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, pb := range stored {
		cfg, err := config.FromProto(pb)
		if err != nil {
			s.logger.Error("stored boot server is invalid; skipping it", "boot_server", pb.GetName(), "error", err)
			continue
		}
		st := s.newSite(cfg)
		if err := st.start(s.ctx); err != nil {
			st.err = err
			s.logger.Warn("boot server not serving yet; will retry", "boot_server", cfg.Name, "error", err)
		}
		s.sites[cfg.Name] = st
	}
	return nil
}

// retryLoop restarts sites whose interface was missing (a veth or VLAN that
// appears after the agent) until ctx ends.
func (s *service) retryLoop(interval time.Duration) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-ticker.C:
		}
		s.mu.Lock()
		for _, st := range s.sites {
			if st.serving() {
				st.refresh()
				continue
			}
			if err := st.start(s.ctx); err != nil {
				st.err = err
			}
		}
		s.mu.Unlock()
	}
}

// shutdown stops every site, sending final RAs.
func (s *service) shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.sites {
		st.stop()
	}
}

func (s *service) PutBootServer(_ context.Context, req *netbootv1.PutBootServerRequest) (*netbootv1.BootServerState, error) {
	pb := req.GetBootServer()
	if pb == nil {
		return nil, invalidArgument("boot server", config.FieldErrors{{Path: []any{"boot_server"}, Reason: "is required"}})
	}
	cfg, err := config.FromProto(pb)
	if err != nil {
		return nil, invalidArgument("boot server", err)
	}
	if err := interfaceExists(cfg.Interface); err != nil {
		return nil, status.Error(codes.FailedPrecondition, err.Error())
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	for name, other := range s.sites {
		if name != cfg.Name && other.cfg.Interface == cfg.Interface {
			return nil, status.Errorf(codes.FailedPrecondition,
				"interface %q is already served by boot server %q; one boot server per interface (delete or move %q first)", cfg.Interface, name, name)
		}
	}
	st, existed := s.sites[cfg.Name]
	if existed {
		if err := st.apply(s.ctx, cfg); err != nil {
			return nil, status.Errorf(codes.FailedPrecondition, "boot server %q: %v; the previous configuration is still serving", cfg.Name, err)
		}
	} else {
		st = s.newSite(cfg)
		if err := st.start(s.ctx); err != nil {
			return nil, status.Errorf(codes.FailedPrecondition, "boot server %q: %v", cfg.Name, err)
		}
	}
	if err := s.store.PutBootServer(cfg.ToProto()); err != nil {
		// Keep running state and disk in step: undo what we just applied.
		if existed {
			if prev, perr := s.store.GetBootServer(cfg.Name); perr == nil {
				if prevCfg, cerr := config.FromProto(prev); cerr == nil {
					_ = st.apply(s.ctx, prevCfg)
				}
			}
		} else {
			st.stop()
		}
		return nil, status.Errorf(codes.Internal, "saving boot server %q: %v", cfg.Name, err)
	}
	s.sites[cfg.Name] = st
	s.logger.Info("boot server saved", "boot_server", cfg.Name, "created", !existed)
	return s.state(st), nil
}

func (s *service) GetBootServer(_ context.Context, req *netbootv1.GetBootServerRequest) (*netbootv1.BootServerState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.sites[req.GetName()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "boot server %q does not exist on this agent", req.GetName())
	}
	return s.state(st), nil
}

func (s *service) ListBootServers(context.Context, *netbootv1.ListBootServersRequest) (*netbootv1.ListBootServersResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.sites))
	for name := range s.sites {
		names = append(names, name)
	}
	sort.Strings(names)
	resp := &netbootv1.ListBootServersResponse{}
	for _, name := range names {
		resp.BootServers = append(resp.BootServers, s.state(s.sites[name]))
	}
	return resp, nil
}

func (s *service) DeleteBootServer(_ context.Context, req *netbootv1.DeleteBootServerRequest) (*netbootv1.DeleteBootServerResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.sites[req.GetName()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "boot server %q does not exist on this agent", req.GetName())
	}
	for _, name := range sortedKeys(s.images) {
		if s.images[name].GetConfig().GetBootServer() == req.GetName() {
			return nil, status.Errorf(codes.FailedPrecondition, "boot server %q serves NFS root image %q; delete the image first", req.GetName(), name)
		}
	}
	if err := s.store.DeleteBootServer(req.GetName()); err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, status.Errorf(codes.Internal, "deleting boot server %q: %v", req.GetName(), err)
	}
	st.stop()
	delete(s.sites, req.GetName())
	s.logger.Info("boot server deleted", "boot_server", req.GetName())
	return &netbootv1.DeleteBootServerResponse{}, nil
}

func (s *service) ListLeases(_ context.Context, req *netbootv1.ListLeasesRequest) (*netbootv1.ListLeasesResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	if req.GetBootServer() != "" {
		if _, ok := s.sites[req.GetBootServer()]; !ok {
			return nil, status.Errorf(codes.NotFound, "boot server %q does not exist on this agent", req.GetBootServer())
		}
		names = []string{req.GetBootServer()}
	} else {
		for name := range s.sites {
			names = append(names, name)
		}
		sort.Strings(names)
	}
	resp := &netbootv1.ListLeasesResponse{}
	now := time.Now()
	for _, name := range names {
		for _, l := range s.activeLeases(s.sites[name], now) {
			resp.Leases = append(resp.Leases, leaseToProto(name, l))
		}
	}
	return resp, nil
}

func (s *service) GetAgentInfo(context.Context, *netbootv1.GetAgentInfoRequest) (*netbootv1.AgentInfo, error) {
	return &netbootv1.AgentInfo{Version: Version, Pid: int64(os.Getpid()), StateDir: s.stateDir, StartedUnix: s.started.Unix()}, nil
}

// activeLeases prefers the running server's view and falls back to the
// store for a site that is not serving, so leases are visible either way.
func (s *service) activeLeases(st *site, now time.Time) []lease.Lease {
	var all []lease.Lease
	if st.dhcp != nil {
		all = st.dhcp.Leases()
	} else {
		all, _ = st.leases.Leases()
	}
	var active []lease.Lease
	for _, l := range all {
		if !l.Expired(now) {
			active = append(active, l)
		}
	}
	return active
}

func (s *service) state(st *site) *netbootv1.BootServerState {
	statusPB := &netbootv1.BootServerStatus{Serving: st.serving()}
	if st.err != nil {
		statusPB.Error = st.err.Error()
	}
	if ll, global, err := interfaceAddresses(st.cfg.Interface); err == nil {
		if ll.IsValid() {
			statusPB.LinkLocalAddress = ll.String()
		}
		for _, a := range global {
			statusPB.GlobalAddresses = append(statusPB.GlobalAddresses, a.String())
		}
	} else if st.err == nil {
		statusPB.Error = err.Error()
	}
	if st.dhcp != nil {
		statusPB.ServerDuid = hex.EncodeToString(st.dhcp.ServerDUID())
	}
	if st.bootAddr.IsValid() {
		statusPB.BootAddress = st.bootAddr.String()
	}
	statusPB.TftpUrlBase, statusPB.HttpUrlBase = st.urlBases()
	statusPB.ActiveLeases = uint64(len(s.activeLeases(st, time.Now())))
	statusPB.OtherServers = otherServersToProto(st.otherServers())
	return &netbootv1.BootServerState{Config: st.cfg.ToProto(), Status: statusPB}
}

func leaseToProto(server string, l lease.Lease) *netbootv1.Lease {
	pb := &netbootv1.Lease{
		BootServer:         server,
		Address:            l.Address.String(),
		ClientDuid:         hex.EncodeToString(l.DUID),
		Iaid:               l.IAID,
		ValidUntilUnix:     l.ValidUntil.Unix(),
		PreferredUntilUnix: l.PreferredUntil.Unix(),
		UserClass:          l.UserClass,
		HardwareAddress:    l.HardwareAddr,
		Kind:               string(l.Kind),
		PrefixLength:       uint32(l.Prefix().Bits()),
	}
	if l.ClientArch != nil {
		pb.ClientArch = uint32(*l.ClientArch)
	}
	return pb
}

// invalidArgument turns validation errors into InvalidArgument with one
// BadRequest field violation per attribute, so clients can point at it.
func invalidArgument(noun string, err error) error {
	fes, ok := config.AsFieldErrors(err)
	if !ok {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	st := status.New(codes.InvalidArgument, "invalid "+noun+": "+fes.Error())
	br := &errdetails.BadRequest{}
	for _, fe := range fes {
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: fe.Field(), Description: fe.Reason})
	}
	if withDetails, derr := st.WithDetails(br); derr == nil {
		st = withDetails
	}
	return st.Err()
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
