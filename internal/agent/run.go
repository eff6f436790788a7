// Package agent is the long-running daemon: it keeps boot servers' state on
// disk, runs their protocol servers and serves the gRPC control plane on a
// root-only unix socket and, optionally, on a mutual-TLS TCP listener.
package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/artifact"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/pglease"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/store"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/eventkind"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/paths"
)

// Options configure one agent process.
type Options struct {
	StateDir string
	// Listen is an optional TCP address for remote control; it requires
	// TLSCert, TLSKey and ClientCA (mutual TLS), never plaintext.
	Listen string
	// MetricsListen is an optional address for Prometheus metrics (/metrics).
	MetricsListen string
	TLSCert       string
	TLSKey        string
	ClientCA      string
	// ArtifactPaths, NFSRootPaths and ArtifactURLAllow are the operator's
	// --artifact-path, --nfs-root-path and --artifact-url-allow (see
	// artifact.SourceOptions); nil means the defaults.
	ArtifactPaths, NFSRootPaths, ArtifactURLAllow []string
	// NoFsync trades lease durability across power cuts for reply latency
	// (store.Options.NoSync); crashes and kill -9 lose nothing either way.
	NoFsync bool
	// AllowEmptyState starts with no state when state.db is missing or
	// empty although its snapshot shows there was state
	// (store.Options.AllowEmpty).
	AllowEmptyState bool
	Logger          *slog.Logger

	// DHCPv6ProbeInterval is how often each boot server solicits, as a
	// client, to find other DHCPv6 servers on its link; 0: never.
	DHCPv6ProbeInterval time.Duration

	// Offline, when set, keeps every boot server off the network: no
	// interface is looked up on the host and no protocol server binds.
	Offline *Offline
	// LeaseDB, when set, is the PostgreSQL connection URL that keeps the
	// leases instead of the state file (pglease), shared with the other
	// agents of the same links.
	LeaseDB string
}

// snapshotPeriod is how often the state file is copied to its snapshot
// when leases changed; configuration changes are copied at once.
const snapshotPeriod = 5 * time.Minute

// Run serves until ctx is cancelled, then stops every boot server (sending
// final RAs) and returns. Why it failed, if it did, is also left in the
// state dir's agent.fatal for whoever launched it.
func Run(ctx context.Context, opts Options) (err error) {
	if opts.StateDir, err = paths.ResolveStateDir(opts.StateDir); err != nil {
		return err
	}
	if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
		return fmt.Errorf("creating state dir: %w", err)
	}
	fatalFile := filepath.Join(opts.StateDir, paths.FatalFileName)
	_ = os.Remove(fatalFile)
	defer func() {
		if err != nil {
			_ = writeFileAtomic(fatalFile, []byte(strings.ReplaceAll(err.Error(), "\n", " ")+"\n"), 0o644)
		}
	}()
	return run(ctx, opts)
}

func run(ctx context.Context, opts Options) error {
	// Every log record at info and above is also an event for `agent logs`.
	events := newEventRing(defaultEventCapacity)
	logger := slog.New(newEventHandler(opts.Logger.Handler(), events))
	st, err := store.OpenWith(opts.StateDir, store.Options{NoSync: opts.NoFsync, AllowEmpty: opts.AllowEmptyState})
	if err != nil {
		return err
	}
	defer st.Close()
	snapshotCtx, stopSnapshots := context.WithCancel(context.Background())
	snapshotsDone := make(chan struct{})
	go func() {
		defer close(snapshotsDone)
		st.KeepSnapshots(snapshotCtx, snapshotPeriod, func(err error) { logger.Error("state snapshot failed", eventkind.Agent.Attr(), "error", err) })
	}()
	// Runs before st.Close: the last snapshot holds the final state.
	defer func() { stopSnapshots(); <-snapshotsDone }()

	var remoteCreds credentials.TransportCredentials
	if opts.Listen != "" {
		if remoteCreds, err = serverTLS(opts); err != nil {
			return err
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sources, err := newSources(opts)
	if err != nil {
		return err
	}
	artifacts, err := artifact.Open(opts.StateDir, st, sources)
	if err != nil {
		return err
	}
	svc := newCore(ctx, st, artifacts, opts.StateDir, logger, events)
	if opts.LeaseDB != "" {
		writer, err := leaseDBWriter(opts.StateDir)
		if err != nil {
			return err
		}
		if svc.leaseDB, err = pglease.Open(ctx, opts.LeaseDB, writer, logger.With(eventkind.Agent.Attr())); err != nil {
			return err
		}
		defer svc.leaseDB.Close()
		logger.Info("leases are kept in the lease database (PostgreSQL)", eventkind.Agent.Attr(), "schema_version", pglease.SchemaVersion)
	}
	svc.probeInterval = opts.DHCPv6ProbeInterval
	if opts.Offline != nil {
		svc.offline, svc.lookupLink = opts.Offline, opts.Offline.lookup
	}
	if err := svc.restore(); err != nil {
		return err
	}
	// Loading a large lease store leaves garbage and a stale measure of
	// the live heap (TuneGC): collect once now rather than let the heap
	// grow by a share of it first.
	debug.FreeOSMemory()
	defer svc.shutdown()
	if svc.leaseDB != nil {
		svc.leaseDB.Report(func() pglease.Inventory { return svc.inventory(opts.Listen) })
	}
	go svc.retryLoop(5 * time.Second)

	healthSrv := health.NewServer()
	healthSrv.SetServingStatus(netbootv1.Agent_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	newGRPC := func(opt ...grpc.ServerOption) *grpc.Server {
		g := grpc.NewServer(opt...)
		netbootv1.RegisterAgentServer(g, newGRPCService(svc))
		healthpb.RegisterHealthServer(g, healthSrv)
		return g
	}

	socketPath := filepath.Join(opts.StateDir, paths.SocketName)
	unixListener, err := listenUnix(socketPath)
	if err != nil {
		return err
	}
	changes := newChangeLog(logger)
	local := newGRPC(grpc.ChainUnaryInterceptor(changes.unary), grpc.ChainStreamInterceptor(changes.stream))
	errc := make(chan error, 3)
	go func() { errc <- local.Serve(unixListener) }()
	defer local.Stop()

	if opts.Listen != "" {
		tcpListener, err := net.Listen("tcp", opts.Listen)
		if err != nil {
			return fmt.Errorf("listening on %s: %w", opts.Listen, err)
		}
		remote := newGRPC(grpc.Creds(newHandshakeLogger(remoteCreds, logger)),
			grpc.ChainUnaryInterceptor(changes.unary, authorizeRemote), grpc.ChainStreamInterceptor(changes.stream, authorizeRemoteStream))
		go func() { errc <- remote.Serve(tcpListener) }()
		defer remote.Stop()
		logger.Info("remote control listening (mutual TLS)", eventkind.Agent.Attr(), "address", tcpListener.Addr().String())
	}

	if opts.MetricsListen != "" {
		metricsListener, err := net.Listen("tcp", opts.MetricsListen)
		if err != nil {
			return fmt.Errorf("listening on --metrics-listen %s: %w", opts.MetricsListen, err)
		}
		metrics := &http.Server{Handler: svc.metricsHandler(), ReadHeaderTimeout: 10 * time.Second}
		go func() { errc <- metrics.Serve(metricsListener) }()
		defer metrics.Close()
		logger.Info("metrics listening", eventkind.Agent.Attr(), "address", metricsListener.Addr().String())
	}

	pidFile := filepath.Join(opts.StateDir, paths.PIDFileName)
	if err := writeFileAtomic(pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return err
	}
	defer os.Remove(pidFile)
	logger.Info("agent ready", eventkind.Agent.Attr(), "version", Version, "state_dir", opts.StateDir, "socket", socketPath)

	select {
	case <-ctx.Done():
		logger.Info("agent stopping", eventkind.Agent.Attr())
		return nil
	case err := <-errc:
		return fmt.Errorf("control plane stopped: %w", err)
	}
}

// listenUnix replaces a stale socket (the previous agent died) but never one
// that still answers, and makes it reachable by its owner (root) only.
func listenUnix(path string) (net.Listener, error) {
	if conn, err := net.DialTimeout("unix", path, time.Second); err == nil {
		conn.Close()
		return nil, fmt.Errorf("another agent is already serving %s; stop it first", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("removing stale socket %s: %w", path, err)
	}
	// The umask applies at bind time, so the socket is never briefly open.
	oldMask := umask(0o177)
	l, err := net.Listen("unix", path)
	umask(oldMask)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", path, err)
	}
	return l, nil
}

// newSources applies the operator's rules on what clients may publish;
// the agent's own state and TLS files are never among it.
func newSources(opts Options) (*artifact.Sources, error) {
	private := []artifact.Private{{Path: opts.StateDir, What: "the agent's state directory " + opts.StateDir}}
	for _, f := range []struct{ path, flag string }{{opts.TLSCert, "--tls-cert"}, {opts.TLSKey, "--tls-key"}, {opts.ClientCA, "--client-ca"}} {
		if f.path != "" {
			private = append(private, artifact.Private{Path: f.path, What: "the agent's " + f.flag + " file"})
		}
	}
	return artifact.NewSources(artifact.SourceOptions{
		FileDirs: opts.ArtifactPaths, RootDirs: opts.NFSRootPaths, URLAllow: opts.ArtifactURLAllow, Private: private,
	})
}

func serverTLS(opts Options) (credentials.TransportCredentials, error) {
	if opts.TLSCert == "" || opts.TLSKey == "" || opts.ClientCA == "" {
		return nil, errors.New("--listen needs --tls-cert, --tls-key and --client-ca: the remote control plane only speaks mutual TLS")
	}
	cert, err := tls.LoadX509KeyPair(opts.TLSCert, opts.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("loading --tls-cert/--tls-key: %w", err)
	}
	caPEM, err := os.ReadFile(opts.ClientCA)
	if err != nil {
		return nil, fmt.Errorf("reading --client-ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("--client-ca %s holds no PEM certificate", opts.ClientCA)
	}
	return credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS13,
	}), nil
}

// writeFileAtomic writes via a temporary file and rename, so readers never
// see a partial file.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// leaseDBWriterFile holds the agent's name in the lease database's
// written_by column, kept across restarts (pglease.Open).
const leaseDBWriterFile = "lease-db-writer"

// leaseDBWriter reads the agent's written_by name from the state dir,
// making one the first time.
func leaseDBWriter(stateDir string) (string, error) {
	path := filepath.Join(stateDir, leaseDBWriterFile)
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("reading the lease database writer name: %w", err)
	}
	name := pglease.NewWriterID()
	if err := writeFileAtomic(path, []byte(name+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("writing the lease database writer name: %w", err)
	}
	return name, nil
}
