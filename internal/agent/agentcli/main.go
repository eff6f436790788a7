package agentcli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/artifact"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/pglease"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/serve/dhcp6probe"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/eventkind"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/paths"
)

// Main runs `terraform-provider-netboot agent [flags]` (the daemon) and its
// operator commands, and returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "certs":
			return certsMain(args[1:], stdout, stderr)
		case "db":
			return dbMain(args[1:], stdout, stderr)
		case "status", "leases", "objects", "logs":
			return opsMain(args[0], args[1:], stdout, stderr)
		}
	}
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: terraform-provider-netboot agent [flags]\n"+
			"       terraform-provider-netboot agent status|leases|objects [--json] [--state-dir DIR | --endpoint HOST:PORT ...]\n"+
			"       terraform-provider-netboot agent logs [-f] [--json] [--since DURATION] [--kind KIND,...] [--client DUID|MAC|ADDRESS]\n"+
			"       terraform-provider-netboot agent certs init|server|client|boot-server ...\n"+
			"       terraform-provider-netboot agent db check|restore [--state-dir DIR]\n\n"+
			"Serves Router Advertisements and DHCPv6 for the boot servers configured through Terraform.\n"+
			"The control socket is <state-dir>/%s (root only).\n\nFlags:\n", paths.SocketName)
		fs.PrintDefaults()
	}
	opts := agent.Options{}
	fs.StringVar(&opts.StateDir, "state-dir", paths.DefaultStateDir(), "directory for the state file, control socket and logs")
	fs.StringVar(&opts.Listen, "listen", "", "optional TCP address for remote control over mutual TLS, e.g. [::]:7447")
	fs.StringVar(&opts.MetricsListen, "metrics-listen", "", "optional address for Prometheus metrics at /metrics, e.g. [::1]:9447")
	fs.StringVar(&opts.TLSCert, "tls-cert", "", "server certificate (PEM file) for --listen")
	fs.StringVar(&opts.TLSKey, "tls-key", "", "server private key (PEM file) for --listen")
	fs.StringVar(&opts.ClientCA, "client-ca", "", "CA certificate (PEM file) that client certificates must chain to")
	fs.Var(listFlag{&opts.ArtifactPaths}, "artifact-path", "a host directory whose files netboot_artifact agent_path and nfs_root_image kernel may publish; repeat for several, \"none\" for no directory. "+
		"Default: "+strings.Join(artifact.DefaultFileDirs, ", ")+" (those that exist). /etc, /proc, /sys, /dev, /run, the state dir and the TLS files are never published")
	fs.Var(listFlag{&opts.NFSRootPaths}, "nfs-root-path", "a host directory under which nfs_root_image root_dir may lie; repeat for several, \"none\" for no directory. Default: "+
		strings.Join(artifact.DefaultRootDirs, ", "))
	fs.Var(listFlag{&opts.ArtifactURLAllow}, "artifact-url-allow", "a host name, address, CIDR prefix or * that netboot_artifact url may download from; repeat for several, \"none\" for no URL. "+
		"Default: any address but loopback, link-local, unspecified, multicast and fd00:ec2::254")
	fsync := fs.Bool("fsync", true, "fsync the state file before answering: a lease survives a power cut once its Reply is sent. "+
		"--fsync=false keeps changes in the OS page cache (safe against agent crashes and kill -9, not against power loss), as Kea's memfile does, for lower DHCPv6 latency")
	fs.DurationVar(&opts.DHCPv6ProbeInterval, "dhcpv6-probe-interval", dhcp6probe.DefaultInterval,
		"how often each boot server sends a probe Solicit to find other DHCPv6 servers on its link (about every this long, ±20 %; at least 1s); 0 turns the probe off")
	cpuProfile := fs.String("cpu-profile", "", "write a Go CPU profile (pprof) to this file while the agent runs, for performance reports")
	memProfile := fs.String("mem-profile", "", "write a Go heap profile (pprof) to this file every "+memProfileEvery.String()+
		" and when the agent stops (each write replaces the last), for performance reports")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&opts.LeaseDB, "lease-db", "", "PostgreSQL connection URL (postgres://USER@HOST/DB or key=value form) that keeps the DHCPv6 leases instead of the state file, "+
		"shared with other agents serving the same links; put the password in ~/.pgpass or PGPASSFILE rather than in the URL. Default: the state file")
	fs.BoolVar(&opts.AllowEmptyState, "allow-empty-state", false, "start with no configuration and no leases when state.db is missing or empty although "+
		"state.db.snapshot shows there was state (the snapshot is set aside); agent db restore gets that state back instead")
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "agent: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	opts.NoFsync = !*fsync
	if opts.LeaseDB != "" {
		if err := pglease.CheckURL(opts.LeaseDB); err != nil {
			fmt.Fprintf(stderr, "agent: --lease-db: %v\n", err)
			return 2
		}
	}
	if opts.DHCPv6ProbeInterval != 0 && opts.DHCPv6ProbeInterval < dhcp6probe.MinInterval {
		fmt.Fprintf(stderr, "agent: --dhcpv6-probe-interval %s: want 0 (off) or at least %s\n", opts.DHCPv6ProbeInterval, dhcp6probe.MinInterval)
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "agent: --log-level %q: want debug, info, warn or error\n", *logLevel)
		return 2
	}
	handlerOpts := &slog.HandlerOptions{Level: level}
	var newHandler func(io.Writer, *slog.HandlerOptions) slog.Handler
	switch strings.ToLower(*logFormat) {
	case "text":
		newHandler = func(w io.Writer, o *slog.HandlerOptions) slog.Handler { return slog.NewTextHandler(w, o) }
	case "json":
		newHandler = func(w io.Writer, o *slog.HandlerOptions) slog.Handler { return slog.NewJSONHandler(w, o) }
	default:
		fmt.Fprintf(stderr, "agent: --log-format %q: want text or json\n", *logFormat)
		return 2
	}
	var logger *slog.Logger
	logOut := newLineBatcher(stderr, func(f logFailure) {
		logger.Error("writing the agent log failed for a while: the records held meanwhile were written late, dropped_records were lost",
			eventkind.Agent.Attr(), "error", f.err, "failing_since", f.since, "dropped_records", f.dropped, "held_bytes_max", maxPendingLog)
	})
	defer logOut.Close()
	logger = slog.New(newHandler(logOut, handlerOpts))
	opts.Logger = logger

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "agent: --cpu-profile: %v\n", err)
			return 2
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "agent: --cpu-profile: %v\n", err)
			return 2
		}
		// Stopped before returning so the profile is complete when the
		// agent exits on SIGTERM or Ctrl-C.
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *memProfile != "" {
		if err := writeHeapProfile(*memProfile); err != nil {
			fmt.Fprintf(stderr, "agent: --mem-profile: %v\n", err)
			return 2
		}
		profiled := make(chan struct{})
		go func() { defer close(profiled); heapProfiles(ctx, *memProfile, logger) }()
		// Runs before stop (deferred earlier), so ctx ends first.
		defer func() { stop(); <-profiled }()
	}
	// GOGC in the environment wins over the agent's own (agent.TuneGC).
	if os.Getenv("GOGC") == "" {
		go agent.TuneGC(ctx)
	}
	if err := agent.Run(ctx, opts); err != nil {
		opts.Logger.Error("agent failed", eventkind.Agent.Attr(), "error", err)
		return 1
	}
	return 0
}
