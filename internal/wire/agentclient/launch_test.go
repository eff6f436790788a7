package agentclient_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/store"
	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/agentclient"
)

// newerSchemaStateDir holds a state file as a newer agent would leave it.
func newerSchemaStateDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	s, err := store.Open(dir)
	must(t, err)
	must(t, s.Close())
	db, err := bolt.Open(filepath.Join(dir, store.FileName), 0o600, nil)
	must(t, err)
	must(t, db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("meta")).Put([]byte("schema_version"), []byte(strconv.Itoa(store.SchemaVersion+1)))
	}))
	must(t, db.Close())
	return dir
}

// The real agent, launched as Terraform launches it, refuses a state file
// from a newer agent: Connect says so in the agent's words within seconds,
// not after its whole timeout.
func TestLaunchShowsTheAgentsOwnReasonAtOnce(t *testing.T) {
	t.Setenv(agentclient.AgentBinaryEnv, testlab.Binary(t))
	for _, tc := range []struct {
		name   string
		dir    func(t *testing.T) string
		reason string
	}{
		{"newer schema", newerSchemaStateDir, "state written by a newer agent (schema 3, this agent knows 2): upgrade the agent"},
		{"damaged", func(t *testing.T) string {
			dir := newerSchemaStateDir(t)
			must(t, os.Truncate(filepath.Join(dir, store.FileName), 3*4096))
			return dir
		}, "is damaged ("},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.dir(t)
			start := time.Now()
			_, err := agentclient.Connect(context.Background(), agentclient.Options{StateDir: dir, Timeout: 30 * time.Second})
			var exit *agentclient.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("Connect = %v, want an ExitError", err)
			}
			if !strings.Contains(exit.Reason, tc.reason) || strings.Contains(exit.Reason, "\n") {
				t.Errorf("reason = %q, want one line with %q", exit.Reason, tc.reason)
			}
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("Connect took %s to report the agent's exit", took)
			}
		})
	}
}

// fakeAgent is a launched "agent" that runs script instead; it writes its
// pid to the returned file.
func fakeAgent(t *testing.T, script string) (pidFile string) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "fake-agent")
	pidFile = bin + ".pid"
	must(t, os.WriteFile(bin, []byte("#!/bin/sh\necho $$ > "+pidFile+"\n"+script+"\n"), 0o755))
	t.Setenv(agentclient.AgentBinaryEnv, bin)
	return pidFile
}

func TestLaunchPassesTheLeaseDB(t *testing.T) {
	pidFile := fakeAgent(t, `echo "$@" > "$0.args"; exit 3`)
	const url = "postgres://netboot@db.example/netboot"
	dir := t.TempDir()
	_, err := agentclient.Connect(context.Background(), agentclient.Options{StateDir: dir, LeaseDB: url, Timeout: 10 * time.Second})
	var exit *agentclient.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("Connect = %v, want an ExitError", err)
	}
	args, err := os.ReadFile(strings.TrimSuffix(pidFile, ".pid") + ".args")
	must(t, err)
	if want := "agent --state-dir " + dir + " --lease-db " + url; strings.TrimSpace(string(args)) != want {
		t.Errorf("launched with %q, want %q", args, want)
	}
}

func TestLaunchShowsAPanicFromTheLog(t *testing.T) {
	fakeAgent(t, "echo 'goroutine noise' >&2; echo 'panic: something broke' >&2; echo '  trace' >&2; exit 2")
	_, err := agentclient.Connect(context.Background(), agentclient.Options{StateDir: t.TempDir(), Timeout: 10 * time.Second})
	var exit *agentclient.ExitError
	if !errors.As(err, &exit) || !strings.HasPrefix(exit.Reason, "panic: something broke") || !strings.Contains(exit.Status.Error(), "exit status 2") {
		t.Fatalf("Connect = %v, want the panic line and exit status 2", err)
	}
}

// A launched agent that never answers is stopped when Connect gives up.
func TestLaunchLeavesNoSilentAgentBehind(t *testing.T) {
	pidFile := fakeAgent(t, "exec sleep 60")
	_, err := agentclient.Connect(context.Background(), agentclient.Options{StateDir: t.TempDir(), Timeout: 2 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "it was stopped") {
		t.Fatalf("Connect = %v, want it to give up and stop the agent", err)
	}
	data, err := os.ReadFile(pidFile)
	must(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	must(t, err)
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("the launched agent %d still runs (kill 0: %v)", pid, err)
	}
}

// A relative state dir means the same directory to the agent and to the
// client, which reaches it through an absolute unix:// address.
func TestRelativeStateDir(t *testing.T) {
	t.Chdir(t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- agent.Run(ctx, agent.Options{StateDir: ".lab/agent", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
	})
	var conn *agentclient.Conn
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		conn, err = agentclient.Connect(context.Background(), agentclient.Options{StateDir: ".lab/agent", NoLaunch: true, Timeout: 5 * time.Second})
		if err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("Connect with a relative state dir: %v", err)
	}
	defer conn.Close()
	abs, _ := filepath.Abs(".lab/agent")
	if want := "unix://" + filepath.Join(abs, "agent.sock"); conn.Address != want {
		t.Errorf("Address = %q, want %q", conn.Address, want)
	}
}
