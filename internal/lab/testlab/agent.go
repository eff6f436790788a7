package testlab

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/artifact"
)

var (
	buildOnce   sync.Once
	builtBinary string
	buildErr    error
)

// Binary builds terraform-provider-netboot once per test process and returns
// its path: tests run the real agent, not an in-process stand-in.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		gomod, err := exec.Command("go", "env", "GOMOD").Output()
		if err != nil {
			buildErr = err
			return
		}
		root := filepath.Dir(strings.TrimSpace(string(gomod)))
		dir, err := os.MkdirTemp("", "netboot-bin-")
		if err != nil {
			buildErr = err
			return
		}
		builtBinary = filepath.Join(dir, "terraform-provider-netboot")
		cmd := exec.Command("go", "build", "-o", builtBinary, ".")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = &buildError{out: string(out), err: err}
		}
	})
	if buildErr != nil {
		t.Fatalf("building terraform-provider-netboot: %v", buildErr)
	}
	return builtBinary
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// Agent is a real agent process running in the lab's server namespace.
type Agent struct {
	StateDir string
	LogPath  string
	lab      *Lab
	ns       string
	cmd      *exec.Cmd
	args     []string
}

// StartAgent runs `terraform-provider-netboot agent` in the server namespace.
// Its control socket is a file, so clients in the host namespace reach it.
// extraArgs are added to the agent's command line (e.g. --metrics-listen).
func (l *Lab) StartAgent(t testing.TB, stateDir string, extraArgs ...string) *Agent {
	t.Helper()
	return l.StartAgentIn(t, l.ServerNS, stateDir, extraArgs...)
}

// StartAgentIn is StartAgent in namespace ns, e.g. a Server's.
func (l *Lab) StartAgentIn(t testing.TB, ns, stateDir string, extraArgs ...string) *Agent {
	t.Helper()
	a := &Agent{StateDir: stateDir, LogPath: filepath.Join(stateDir, "agent-test.log"), lab: l, ns: ns, args: extraArgs}
	a.start(t)
	t.Cleanup(func() {
		a.Stop(t)
		if t.Failed() {
			if log, err := os.ReadFile(a.LogPath); err == nil {
				t.Logf("agent log:\n%s", log)
			}
		}
	})
	return a
}

func (a *Agent) start(t testing.TB) {
	t.Helper()
	logFile, err := os.OpenFile(a.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	args := append([]string{Binary(t), "agent", "--state-dir", a.StateDir, "--log-level", "debug"}, publishArgs()...)
	args = append(args, a.args...)
	a.cmd = a.lab.Command(t, a.ns, args...)
	a.cmd.Stdout, a.cmd.Stderr = logFile, logFile
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	socket := filepath.Join(a.StateDir, "agent.sock")
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if conn, err := net.Dial("unix", socket); err == nil {
			conn.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	log, _ := os.ReadFile(a.LogPath)
	t.Fatalf("agent did not open %s within 15 s; log:\n%s", socket, log)
}

// PublishDirs are what a test agent may publish: what tests write under the
// temp dir (agent_path files, NFS roots) besides the default directories
// that exist (kernels in /boot).
func PublishDirs() (artifactPaths, nfsRootPaths []string) {
	for _, d := range append(slices.Clone(artifact.DefaultFileDirs), os.TempDir()) {
		if info, err := os.Stat(d); err == nil && info.IsDir() {
			artifactPaths = append(artifactPaths, d)
		}
	}
	return artifactPaths, []string{os.TempDir()}
}

// publishArgs are PublishDirs as the agent's flags.
func publishArgs() []string {
	var args []string
	artifactPaths, nfsRootPaths := PublishDirs()
	for _, d := range artifactPaths {
		args = append(args, "--artifact-path", d)
	}
	for _, d := range nfsRootPaths {
		args = append(args, "--nfs-root-path", d)
	}
	return args
}

// Kill9 kills the agent the way a crash or power cut would: no shutdown code runs.
func (a *Agent) Kill9(t testing.TB) {
	t.Helper()
	a.signal(t, syscall.SIGKILL)
}

// Restart starts the agent again on the same state dir.
func (a *Agent) Restart(t testing.TB) {
	t.Helper()
	a.start(t)
}

// Stop ends the agent gracefully (SIGTERM), as systemd would.
func (a *Agent) Stop(t testing.TB) {
	t.Helper()
	a.signal(t, syscall.SIGTERM)
}

// signal reaches the agent itself: `ip netns exec` execs it, so the PID we
// started is the agent's.
func (a *Agent) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if a.cmd == nil || a.cmd.Process == nil || a.cmd.ProcessState != nil {
		return
	}
	_ = a.cmd.Process.Signal(sig)
	done := make(chan struct{})
	go func() { _ = a.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = a.cmd.Process.Kill()
		<-done
	}
}
