package agent

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/artifact"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/link"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/pglease"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/store"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/menu"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/nfsroot"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/eventkind"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// Version is set by main from the build.
var Version = "dev"

// core is the agent's logic: it owns the boot servers (sites) and the
// stored objects, and answers the Agent API's calls with plain Go errors
// (errors.go). The gRPC service (grpc_service.go) only translates. One
// mutex serialises changes: each Put or Delete is applied to the running
// servers and the store as a unit, so a concurrent reader sees either the
// old or the new object.
type core struct {
	ctx   context.Context // the agent's lifetime; servers run under it
	store *store.Store
	// leaseDB, when set (agent --lease-db), keeps the leases instead of
	// store, shared with other agents.
	leaseDB   *pglease.DB
	artifacts *artifact.Store
	logger    *slog.Logger
	stateDir  string
	started   time.Time
	// probeInterval is how often each site probes for other DHCPv6
	// servers; 0 turns probing off.
	probeInterval time.Duration
	// lookupLink resolves interfaces for every site: link.Resolve, or a
	// fake that lets a test run the core without real interfaces.
	lookupLink link.Lookup
	offline    *Offline // Options.Offline

	mu    sync.Mutex
	sites map[string]*site
	// catalog holds the boot entries and menus; readers (HTTP requests)
	// load it without the mutex, writers swap in a new one under it.
	catalog atomic.Pointer[menu.Catalog]
	// images are the NFS root images by name, with what was built for them.
	images map[string]*netbootv1.NFSRootImageState
	// buildInitrd builds an NFS root image's initrd: nfsroot.BuildInitrd,
	// or a stand-in that lets a test build without the host's files.
	buildInitrd func(context.Context, nfsroot.InitrdOptions) (*nfsroot.Initrd, error)

	// events are the recent log records for WatchEvents; operations track
	// downloads and builds apart from mu, so they show while one runs.
	events     *eventRing
	operations *operations
	// activity is what each machine fetched last, for GetMachine.
	activity *machineActivity
}

func newCore(ctx context.Context, st *store.Store, artifacts *artifact.Store, stateDir string, logger *slog.Logger, events *eventRing) *core {
	s := &core{ctx: ctx, store: st, artifacts: artifacts, stateDir: stateDir, logger: logger, started: time.Now(), sites: map[string]*site{},
		images: map[string]*netbootv1.NFSRootImageState{}, events: events, operations: newOperations(progressInterval), activity: newMachineActivity(),
		lookupLink: link.Resolve, buildInitrd: nfsroot.BuildInitrd}
	// Empty until the store's catalog is loaded, never nil: every reader
	// may Load it at any time.
	s.catalog.Store(&menu.Catalog{})
	return s
}

// newSite makes a site whose TFTP and HTTP servers serve the rendered iPXE
// scripts and GRUB configurations over the artifacts.
func (s *core) newSite(cfg config.BootServer) *site {
	var leases leaseStore = s.store.Leases(cfg.Name)
	if s.leaseDB != nil {
		leases = s.leaseDB.Leases(cfg.Name)
	}
	st := newSite(cfg, leases, s.logger)
	st.scripts = menu.NewFS(s.catalog.Load, st.scriptSite, s.artifacts.FS())
	st.chain = newChainWarnings(st.logger)
	st.claims = newRepeatWarnings(claimWarnInterval, maxClaimWarnings)
	st.activity = s.activity
	st.images = s.imagesFor(cfg.Name)
	st.probeInterval = s.probeInterval
	st.lookup = s.lookupLink
	st.offline = s.offline
	st.machines = func() map[string]config.Machine { return s.catalog.Load().Machines }
	return st
}

// restore starts every stored boot server. A server whose interface is
// missing is kept and retried by retryLoop.
func (s *core) restore() error {
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
			s.logger.Error("stored boot server is invalid; skipping it", eventkind.Agent.Attr(), "boot_server", pb.GetName(), "error", err)
			continue
		}
		st := s.newSite(cfg)
		if err := st.start(s.ctx); err != nil {
			st.err = err
			s.logger.Warn("boot server not serving yet; will retry", eventkind.Config.Attr(), "boot_server", cfg.Name, "error", err)
		}
		s.sites[cfg.Name] = st
	}
	return nil
}

// retryLoop restarts sites whose interface was missing (a veth or VLAN that
// appears after the agent) until ctx ends.
func (s *core) retryLoop(interval time.Duration) {
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
func (s *core) shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.sites {
		st.stop()
	}
}

func (s *core) PutBootServer(_ context.Context, req *netbootv1.PutBootServerRequest) (*netbootv1.BootServerState, error) {
	pb := req.GetBootServer()
	if pb == nil {
		return nil, invalidArgument("boot server", config.FieldErrors{{Path: []any{"boot_server"}, Reason: "is required"}})
	}
	cfg, err := config.FromProto(pb)
	if err != nil {
		return nil, invalidArgument("boot server", err)
	}
	ifi, err := s.lookupLink(cfg.Interface)
	if err != nil {
		return nil, failedPrecondition("%v", err)
	}
	// The certificate must name the address the boot URLs will carry and
	// be valid now; at start and on address changes, a misfit only warns.
	bootAddr := link.Link{Prefix: cfg.Prefix, Interface: &ifi, ServiceAddress: cfg.Boot.ServerAddress}.BootAddress()
	if err := cfg.Boot.CheckHTTPSCertificate(time.Now(), bootAddr); err != nil {
		return nil, invalidArgument("boot server", err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	for name, other := range s.sites {
		if name != cfg.Name && other.cfg.Interface == cfg.Interface {
			return nil, failedPrecondition(
				"interface %q is already served by boot server %q; one boot server per interface (delete or move %q first)", cfg.Interface, name, name)
		}
	}
	machines := s.catalog.Load().Machines
	for _, name := range sortedKeys(machines) {
		m := machines[name]
		if reason := config.ReservedPrefixConflict(&m, &cfg); reason != "" {
			return nil, failedPrecondition("boot server %q: %s; change the prefix delegation or the machine first", cfg.Name, reason)
		}
	}
	st, existed := s.sites[cfg.Name]
	if existed {
		if err := st.apply(s.ctx, cfg); err != nil {
			return nil, failedPrecondition("boot server %q: %v; the previous configuration is still serving", cfg.Name, err)
		}
	} else {
		st = s.newSite(cfg)
		if err := st.start(s.ctx); err != nil {
			return nil, failedPrecondition("boot server %q: %v", cfg.Name, err)
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
		return nil, internalError("saving boot server %q: %v", cfg.Name, err)
	}
	s.sites[cfg.Name] = st
	s.logger.Info("boot server saved", eventkind.Config.Attr(), "boot_server", cfg.Name, "created", !existed)
	return s.state(st), nil
}

func (s *core) GetBootServer(_ context.Context, req *netbootv1.GetBootServerRequest) (*netbootv1.BootServerState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.sites[req.GetName()]
	if !ok {
		return nil, notFound("boot server %q does not exist on this agent", req.GetName())
	}
	return s.state(st), nil
}

func (s *core) ListBootServers(_ context.Context, req *netbootv1.ListBootServersRequest) (*netbootv1.ListBootServersResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	servers, next, err := pageByName("boot servers", req, sortedKeys(s.sites), func(name string) *netbootv1.BootServerState { return s.state(s.sites[name]) })
	if err != nil {
		return nil, err
	}
	return &netbootv1.ListBootServersResponse{BootServers: servers, NextPageToken: next}, nil
}

func (s *core) DeleteBootServer(_ context.Context, req *netbootv1.DeleteBootServerRequest) (*netbootv1.DeleteBootServerResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.sites[req.GetName()]
	if !ok {
		return nil, notFound("boot server %q does not exist on this agent", req.GetName())
	}
	for _, name := range sortedKeys(s.images) {
		if s.images[name].GetConfig().GetBootServer() == req.GetName() {
			return nil, failedPrecondition("boot server %q serves NFS root image %q; delete the image first", req.GetName(), name)
		}
	}
	if err := s.store.DeleteBootServer(req.GetName()); err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, internalError("deleting boot server %q: %v", req.GetName(), err)
	}
	st.stop()
	delete(s.sites, req.GetName())
	s.logger.Info("boot server deleted", eventkind.Config.Attr(), "boot_server", req.GetName())
	s.forgetLeases(req.GetName())
	return &netbootv1.DeleteBootServerResponse{}, nil
}

// ListLeases pages the live leases by boot server, then address.
func (s *core) ListLeases(_ context.Context, req *netbootv1.ListLeasesRequest) (*netbootv1.ListLeasesResponse, error) {
	now := time.Now()
	pg, err := newPage("leases", req.GetBootServer(), 2, req, now)
	if err != nil {
		return nil, err
	}
	var afterServer string
	var afterAddr netip.Addr
	if pg.after != nil {
		if afterAddr, err = addrFromKey(pg.after[1]); err != nil {
			return nil, err
		}
		afterServer = pg.after[0]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	names, err := s.siteNames(req.GetBootServer())
	if err != nil {
		return nil, err
	}
	resp := &netbootv1.ListLeasesResponse{}
	for _, name := range names {
		if name < afterServer {
			continue
		}
		after := netip.Addr{}
		if name == afterServer {
			after = afterAddr
		}
		// One more than fits tells whether the listing goes on.
		leases, err := s.leasesAfter(s.sites[name], after, pg.room()+1, now)
		if err != nil {
			return nil, internalError("reading the leases of boot server %q: %v", name, err)
		}
		for _, l := range leases {
			pb := leaseToProto(name, l)
			if !pg.add(pb, name, addrKey(l.Address)) {
				resp.NextPageToken = pg.nextToken()
				return resp, nil
			}
			resp.Leases = append(resp.Leases, pb)
		}
	}
	return resp, nil
}

// siteNames is the boot server name a request names, or every boot
// server's in name order when it names none.
func (s *core) siteNames(name string) ([]string, error) {
	if name == "" {
		return sortedKeys(s.sites), nil
	}
	if _, ok := s.sites[name]; !ok {
		return nil, notFound("boot server %q does not exist on this agent", name)
	}
	return []string{name}, nil
}

func (s *core) GetAgentInfo(ctx context.Context, _ *netbootv1.GetAgentInfoRequest) (*netbootv1.AgentInfo, error) {
	return &netbootv1.AgentInfo{Version: Version, Pid: int64(os.Getpid()), StateDir: s.stateDir, StartedUnix: s.started.Unix(),
		LeaseDatabase: s.leaseDatabase(ctx)}, nil
}

// liveLeases yields st's live leases in no order: the running server's
// (holding its pool's lock, so the loop body must be quick), or for a site
// that is not serving the stored ones, so leases are visible either way.
func (s *core) liveLeases(st *site, now time.Time) (iter.Seq[lease.Lease], error) {
	if st.dhcp != nil {
		return st.dhcp.LiveLeases(), nil
	}
	stored, err := st.leases.Leases()
	return func(yield func(lease.Lease) bool) {
		for _, l := range stored {
			if !l.Expired(now) && !yield(l) {
				return
			}
		}
	}, err
}

// countLeases is how many live leases st holds.
func (s *core) countLeases(st *site, now time.Time) int {
	n := 0
	if live, err := s.liveLeases(st, now); err == nil {
		for range live {
			n++
		}
	}
	return n
}

// leasesAfter returns up to limit of st's live leases whose address is
// above after (from the lowest when after is invalid), by address. A site
// that is not serving reads them from the store, a batch at a time, so a
// page never decodes the whole bucket.
func (s *core) leasesAfter(st *site, after netip.Addr, limit int, now time.Time) ([]lease.Lease, error) {
	if st.dhcp != nil {
		return st.dhcp.LeasesAfter(after, limit), nil
	}
	var out []lease.Lease
	for len(out) < limit {
		want := limit - len(out)
		batch, err := st.leases.LeasesAfter(after, want)
		if err != nil {
			return nil, err
		}
		for _, l := range batch {
			if !l.Expired(now) {
				out = append(out, l)
			}
		}
		if len(batch) < want {
			break
		}
		after = batch[len(batch)-1].Address
	}
	return out, nil
}

func (s *core) state(st *site) *netbootv1.BootServerState {
	statusPB := &netbootv1.BootServerStatus{Serving: st.serving()}
	if st.err != nil {
		statusPB.Error = st.err.Error()
	}
	if ifi, err := st.lookup(st.cfg.Interface); err == nil {
		if ll := ifi.LinkLocal(); ll.IsValid() {
			statusPB.LinkLocalAddress = ll.String()
		}
		for _, a := range ifi.Global() {
			statusPB.GlobalAddresses = append(statusPB.GlobalAddresses, a.String())
		}
	} else if st.err == nil {
		statusPB.Error = err.Error()
	}
	if s.leaseDB != nil && statusPB.Error == "" {
		if err := s.leaseDB.Err(); err != nil {
			statusPB.Error = "lease database unreachable, granting no new leases: " + err.Error()
		}
	}
	if st.dhcp != nil {
		statusPB.ServerDuid = hex.EncodeToString(st.dhcp.ServerDUID())
	}
	if st.bootAddr.IsValid() {
		statusPB.BootAddress = st.bootAddr.String()
	}
	statusPB.TftpUrlBase, statusPB.HttpUrlBase, statusPB.HttpsUrlBase = st.urlBases()
	statusPB.ActiveLeases = uint64(s.countLeases(st, time.Now()))
	statusPB.OtherServers = otherServersToProto(st.otherServers())
	if st.dhcp != nil {
		for _, l := range st.dhcp.RelayedLinks() {
			ls := &netbootv1.RelayedLinkStatus{Name: l.Name, Prefix: l.Prefix.String(), ActiveLeases: uint64(l.Leases)}
			for _, a := range l.Relays {
				ls.RelayAddresses = append(ls.RelayAddresses, a.String())
			}
			statusPB.RelayedLinks = append(statusPB.RelayedLinks, ls)
		}
	}
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

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
