// Package agentclient connects the provider to an agent: a remote one over
// mutual TLS, or the local one through its unix socket, launching it first
// when none answers (the embedded default).
package agentclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/paths"
)

// AgentBinaryEnv overrides which executable is launched as the local agent;
// by default it is the running provider binary itself.
const AgentBinaryEnv = "NETBOOT_AGENT_BINARY"

// Options say which agent to talk to.
type Options struct {
	// Endpoint is "host:port" of a remote agent; empty means the local agent.
	Endpoint string
	// StateDir is the local agent's state dir (socket, state, log).
	StateDir string
	// CACert, ClientCert and ClientKey are PEM text or paths to PEM files.
	CACert, ClientCert, ClientKey string
	// Timeout bounds connecting, launching and the health check.
	Timeout time.Duration
	// NoLaunch reports a missing local agent as an error instead of
	// launching one (for tools and tests that inspect a given agent).
	NoLaunch bool
	// LeaseDB, when set, is passed to a launched local agent as
	// --lease-db; an agent already running keeps its own.
	LeaseDB string
}

// Conn is a connected, healthy agent.
type Conn struct {
	netbootv1.AgentClient
	conn *grpc.ClientConn
	// Launched is true when this call started the local agent.
	Launched bool
	// Address names the agent: its endpoint ("host:port") or the local
	// agent's socket URL ("unix:///var/lib/netboot/agent.sock").
	Address string
}

// Close releases the connection; a launched agent keeps running.
func (c *Conn) Close() error { return c.conn.Close() }

// Connect returns a client of a healthy agent or an error that says what to fix.
func Connect(ctx context.Context, opts Options) (*Conn, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	if opts.Endpoint != "" {
		return connectRemote(ctx, opts)
	}
	if err := LocalAgentError(runtime.GOOS); err != nil {
		return nil, err
	}
	dir, err := paths.ResolveStateDir(opts.StateDir)
	if err != nil {
		return nil, err
	}
	opts.StateDir = dir
	return connectLocal(ctx, opts)
}

func connectRemote(ctx context.Context, opts Options) (*Conn, error) {
	tlsConfig, err := clientTLS(opts)
	if err != nil {
		return nil, err
	}
	cc, err := grpc.NewClient(opts.Endpoint, append(logCalls(), grpc.WithTransportCredentials(credentials.NewTLS(tlsConfig)))...)
	if err != nil {
		return nil, fmt.Errorf("endpoint %q: %w", opts.Endpoint, err)
	}
	if err := checkHealth(ctx, cc); err != nil {
		cc.Close()
		if cause := diagnoseTLS(opts.Endpoint, tlsConfig); cause != nil {
			return nil, cause
		}
		return nil, fmt.Errorf("agent at %s did not pass its health check: %w", opts.Endpoint, err)
	}
	return &Conn{AgentClient: netbootv1.NewAgentClient(cc), conn: cc, Address: opts.Endpoint}, nil
}

func connectLocal(ctx context.Context, opts Options) (*Conn, error) {
	socket := filepath.Join(opts.StateDir, paths.SocketName)
	address := "unix://" + socket
	cc, err := grpc.NewClient(address, append(logCalls(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		return nil, fmt.Errorf("local agent socket %s: %w", socket, err)
	}
	probe, cancel := context.WithTimeout(ctx, 2*time.Second)
	err = checkHealth(probe, cc)
	cancel()
	if err == nil {
		return &Conn{AgentClient: netbootv1.NewAgentClient(cc), conn: cc, Address: address}, nil
	}
	if opts.NoLaunch {
		cc.Close()
		if reason := fatalReason(opts.StateDir, time.Time{}); reason != "" {
			return nil, fmt.Errorf("no agent answers on %s: the last agent there stopped: %s", socket, reason)
		}
		return nil, fmt.Errorf("no agent answers on %s: %w; start one with `terraform-provider-netboot agent --state-dir %s`", socket, err, opts.StateDir)
	}
	agent, err := launch(opts.StateDir, opts.LeaseDB)
	if err != nil {
		cc.Close()
		return nil, err
	}
	for {
		probe, cancel := context.WithTimeout(ctx, time.Second)
		err = checkHealth(probe, cc)
		cancel()
		if err == nil {
			return &Conn{AgentClient: netbootv1.NewAgentClient(cc), conn: cc, Launched: true, Address: address}, nil
		}
		select {
		case exit := <-agent.exited:
			// Another agent may have won the race for the state dir.
			probe, cancel := context.WithTimeout(ctx, time.Second)
			err = checkHealth(probe, cc)
			cancel()
			if err == nil {
				return &Conn{AgentClient: netbootv1.NewAgentClient(cc), conn: cc, Address: address}, nil
			}
			cc.Close()
			return nil, &ExitError{StateDir: opts.StateDir, Status: exit, Reason: agent.reason()}
		case <-ctx.Done():
			cc.Close()
			agent.stop()
			return nil, fmt.Errorf("launched a local agent but it did not answer on %s: %w; it was stopped; see %s",
				socket, err, filepath.Join(opts.StateDir, paths.LogFileName))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// ExitError is a launched agent that exited before it answered, with its
// own reason.
type ExitError struct {
	StateDir string
	Status   error  // from the process: "exit status 1"
	Reason   string // the agent's own words, or the end of its log
}

func (e *ExitError) Error() string {
	return fmt.Sprintf("the agent launched on %s stopped (%v): %s", e.StateDir, e.Status, e.Reason)
}

// launchedAgent is an agent process this client started.
type launchedAgent struct {
	cmd      *exec.Cmd
	stateDir string
	started  time.Time
	logPath  string
	logStart int64 // where its output begins in the log
	exited   chan error
}

// launch starts `<binary> agent --state-dir DIR [--lease-db URL]` in its own
// session, with its output in the state dir's log, so it outlives terraform.
func launch(stateDir, leaseDB string) (*launchedAgent, error) {
	binary := os.Getenv(AgentBinaryEnv)
	if binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("finding the provider binary to launch the agent: %w; set %s", err, AgentBinaryEnv)
		}
		binary = exe
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating agent state dir: %w", err)
	}
	a := &launchedAgent{stateDir: stateDir, logPath: filepath.Join(stateDir, paths.LogFileName), exited: make(chan error, 1)}
	logFile, err := os.OpenFile(a.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening agent log: %w", err)
	}
	defer logFile.Close()
	if info, err := logFile.Stat(); err == nil {
		a.logStart = info.Size()
	}
	args := []string{"agent", "--state-dir", stateDir}
	if leaseDB != "" {
		args = append(args, "--lease-db", leaseDB)
	}
	a.cmd = exec.Command(binary, args...)
	a.cmd.Stdout, a.cmd.Stderr = logFile, logFile
	detach(a.cmd)
	a.started = time.Now()
	if err := a.cmd.Start(); err != nil {
		return nil, fmt.Errorf("launching local agent %s: %w", binary, err)
	}
	// Watched so its exit is noticed at once, and reaped so it does not
	// linger as a zombie.
	go func() { a.exited <- a.cmd.Wait() }()
	return a, nil
}

// reason is why the agent stopped: the line it left in agent.fatal, else
// a panic or the last line it wrote to its log.
func (a *launchedAgent) reason() string {
	if reason := fatalReason(a.stateDir, a.started.Add(-time.Second)); reason != "" {
		return reason
	}
	f, err := os.Open(a.logPath)
	if err != nil {
		return "see " + a.logPath
	}
	defer f.Close()
	// The end of what this agent wrote is enough: its last words.
	const tail = 64 << 10
	start := a.logStart
	if info, err := f.Stat(); err == nil && info.Size()-start > tail {
		start = info.Size() - tail
	}
	data, _ := io.ReadAll(io.NewSectionReader(f, start, tail))
	var last string
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ") {
			return line + " (see " + a.logPath + ")"
		}
		if line != "" {
			last = line
		}
	}
	if last == "" {
		return "it wrote nothing to " + a.logPath
	}
	return last + " (see " + a.logPath + ")"
}

// fatalReason is the line the last agent on stateDir left in agent.fatal
// when it stopped with an error, if it wrote it after since.
func fatalReason(stateDir string, since time.Time) string {
	fatal := filepath.Join(stateDir, paths.FatalFileName)
	info, err := os.Stat(fatal)
	if err != nil || info.ModTime().Before(since) {
		return ""
	}
	data, err := os.ReadFile(fatal)
	if err != nil {
		return ""
	}
	return string(bytes.TrimSpace(data))
}

// stop ends an agent that never answered, so a failed connect leaves no
// agent behind: SIGTERM, then SIGKILL if it has not exited in 5 s.
func (a *launchedAgent) stop() {
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.exited:
	case <-time.After(5 * time.Second):
		_ = a.cmd.Process.Kill()
		<-a.exited
	}
}

func checkHealth(ctx context.Context, cc *grpc.ClientConn) error {
	resp, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{Service: netbootv1.Agent_ServiceDesc.ServiceName})
	if err != nil {
		return err
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("agent reports %s", resp.GetStatus())
	}
	return nil
}

func clientTLS(opts Options) (*tls.Config, error) {
	if opts.CACert == "" || opts.ClientCert == "" || opts.ClientKey == "" {
		return nil, errors.New("a remote endpoint needs ca_cert, client_cert and client_key: the agent only accepts mutual TLS")
	}
	caPEM, err := pemOrFile("ca_cert", opts.CACert)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("ca_cert holds no PEM certificate")
	}
	certPEM, err := pemOrFile("client_cert", opts.ClientCert)
	if err != nil {
		return nil, err
	}
	keyPEM, err := pemOrFile("client_key", opts.ClientKey)
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("client_cert and client_key: %w", err)
	}
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13}, nil
}

// pemOrFile accepts PEM text as is and reads anything else as a file path.
func pemOrFile(attribute, value string) ([]byte, error) {
	if strings.Contains(value, "-----BEGIN") {
		return []byte(value), nil
	}
	data, err := os.ReadFile(value)
	if err != nil {
		return nil, fmt.Errorf("%s: not PEM text, and reading it as a file failed: %w", attribute, err)
	}
	return data, nil
}
