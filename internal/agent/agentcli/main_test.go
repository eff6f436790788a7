package agentcli_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/agentcli"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/store"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/eventkind"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

func runMain(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = agentcli.Main(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// --help prints the command's own usage on stdout and exits 0, for the
// agent and every subcommand; a flag it does not know is exit 2.
func TestHelpPrintsTheCommandsUsage(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		usage string // the synopsis it must start with
	}{
		{[]string{"--help"}, "Usage: terraform-provider-netboot agent [flags]"},
		{[]string{"-h"}, "Usage: terraform-provider-netboot agent [flags]"},
		{[]string{"status", "--help"}, "Usage: terraform-provider-netboot agent status"},
		{[]string{"leases", "--help"}, "Usage: terraform-provider-netboot agent leases"},
		{[]string{"objects", "--help"}, "Usage: terraform-provider-netboot agent objects"},
		{[]string{"logs", "-h"}, "Usage: terraform-provider-netboot agent logs"},
		{[]string{"certs", "--help"}, "Usage:\n  terraform-provider-netboot agent certs init"},
		{[]string{"certs", "init", "--help"}, "Usage:\n  terraform-provider-netboot agent certs init"},
		{[]string{"certs", "server", "--help"}, "Usage:\n  terraform-provider-netboot agent certs init"},
		{[]string{"certs", "client", "--help"}, "Usage:\n  terraform-provider-netboot agent certs init"},
		{[]string{"db", "--help"}, "Usage: terraform-provider-netboot agent db check"},
		{[]string{"db", "check", "--help"}, "Usage: terraform-provider-netboot agent db check"},
		{[]string{"db", "restore", "--help"}, "Usage: terraform-provider-netboot agent db restore"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr := runMain(tc.args...)
			if code != 0 || !strings.HasPrefix(stdout, tc.usage) || stderr != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want 0 and usage %q on stdout", code, stdout, stderr, tc.usage)
			}
			if strings.Contains(stdout, "Usage of ") {
				t.Errorf("stdout %q: the flag package's generic usage", stdout)
			}
		})
		t.Run(strings.Join(tc.args, " ")+" bad flag", func(t *testing.T) {
			args := append(append([]string{}, tc.args[:len(tc.args)-1]...), "--no-such-flag")
			code, stdout, stderr := runMain(args...)
			if code != 2 || stdout != "" || !strings.Contains(stderr, "no-such-flag") {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2 and the error on stderr", code, stdout, stderr)
			}
		})
	}
}

// TestLogsKinds: `agent logs --help` lists every event kind with what it
// holds, and --kind refuses a kind that does not exist before asking any
// agent.
func TestLogsKinds(t *testing.T) {
	code, stdout, _ := runMain("logs", "--help")
	if code != 0 {
		t.Fatalf("logs --help: exit %d", code)
	}
	for _, k := range eventkind.All() {
		if !strings.Contains(stdout, string(k)+" ") || !strings.Contains(stdout, k.About()) {
			t.Errorf("logs --help lacks kind %s (%s):\n%s", k, k.About(), stdout)
		}
	}
	code, stdout, stderr := runMain("logs", "--kind", "lease,leases", "--state-dir", t.TempDir())
	if code != 2 || stdout != "" || !strings.Contains(stderr, `--kind: "leases" is not an event kind (kinds: lease, boot_file,`) {
		t.Errorf("logs --kind lease,leases: exit %d, stdout %q, stderr %q; want 2 and the kinds", code, stdout, stderr)
	}
}

func TestLeaseDBURLChecked(t *testing.T) {
	code, stdout, stderr := runMain("--lease-db", "postgres://[::1", "--state-dir", t.TempDir())
	if code != 2 || stdout != "" || !strings.Contains(stderr, "--lease-db: lease database URL") {
		t.Errorf("--lease-db with a malformed URL: exit %d, stdout %q, stderr %q; want 2 and the error", code, stdout, stderr)
	}
}

// startAgent runs an agent in-process on stateDir until the test ends.
func startAgent(t *testing.T, stateDir string) {
	t.Helper()
	stop, err := agent.Start(context.Background(), agent.Options{StateDir: stateDir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("agent: %v", err)
		}
	})
}

func TestStatusWithARelativeStateDir(t *testing.T) {
	t.Chdir(t.TempDir())
	startAgent(t, ".lab/agent")
	code, stdout, stderr := runMain("status", "--state-dir", ".lab/agent")
	abs, _ := filepath.Abs(".lab/agent")
	if code != 0 || !strings.Contains(stdout, "state dir "+abs) {
		t.Fatalf("status: exit %d, stdout %q, stderr %q; want the absolute state dir", code, stdout, stderr)
	}
}

// The operator's way back from a damaged state file: the agent refuses it
// in one line that says what to run, db check names the damage, and db
// restore brings back the snapshot (never under a running agent).
func TestDBCheckAndRestore(t *testing.T) {
	dir := t.TempDir()
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutBootServer(&netbootv1.BootServer{Name: "lab", Interface: "eth0", Prefix: "2001:db8::/64"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Snapshot(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if code, stdout, _ := runMain("db", "check", "--state-dir", dir); code != 0 || strings.Count(stdout, ": sound;") != 4 {
		t.Fatalf("db check of sound files: exit %d, %q", code, stdout)
	}

	startAgent(t, filepath.Join(dir, "other")) // a second agent must not matter
	path := filepath.Join(dir, store.FileName)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Both header pages survive; the pages they point to are cut off.
	if err := os.WriteFile(path, data[:2*4096+100], 0o600); err != nil {
		t.Fatal(err)
	}
	// An agent that accepted the file would serve until stopped.
	type result struct {
		code   int
		stderr string
	}
	exited := make(chan result, 1)
	go func() {
		code, _, stderr := runMain("--state-dir", dir)
		exited <- result{code, stderr}
	}()
	var code int
	var stderr string
	select {
	case r := <-exited:
		code, stderr = r.code, r.stderr
	case <-time.After(15 * time.Second):
		t.Fatal("the agent accepted a damaged state file")
	}
	if code != 1 || !strings.Contains(stderr, "agent db restore --state-dir "+dir) {
		t.Fatalf("agent on a damaged file: exit %d, stderr %q; want 1 and the restore command", code, stderr)
	}
	fatal, err := os.ReadFile(filepath.Join(dir, "agent.fatal"))
	if err != nil || !strings.Contains(string(fatal), "is damaged") || strings.Count(string(fatal), "\n") != 1 {
		t.Fatalf("agent.fatal = %q, %v; want the reason in one line", fatal, err)
	}
	if code, _, stderr := runMain("status", "--state-dir", dir); code != 1 || !strings.Contains(stderr, "the last agent there stopped: state file") {
		t.Fatalf("status after the agent stopped: exit %d, %q; want its reason", code, stderr)
	}
	if code, stdout, _ := runMain("db", "check", "--state-dir", dir); code != 1 || !strings.Contains(stdout, "DAMAGED") {
		t.Fatalf("db check of a damaged file: exit %d, %q", code, stdout)
	}
	if code, stdout, stderr := runMain("db", "restore", "--state-dir", dir); code != 0 {
		t.Fatalf("db restore: exit %d, %q, %q", code, stdout, stderr)
	}
	s, err = store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.GetBootServer("lab"); err != nil {
		t.Fatalf("boot server after restore: %v", err)
	}
	if code, _, stderr := runMain("db", "restore", "--state-dir", dir); code != 1 || !strings.Contains(stderr, "in use") {
		t.Fatalf("db restore while the file is held: exit %d, %q", code, stderr)
	}
}
