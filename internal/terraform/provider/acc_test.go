package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/agentclient"
)

// agentLab is the agent a test's provider reaches through state_dir, with
// the checks that need only its control socket. Both tiers have one: the
// fast tier's runs in the test process without serving (newFastLab), the
// acceptance tier's serves a namespace link (newAccLab).
type agentLab struct {
	StateDir string
}

// accLab is an acceptance test's world: an IPv6 link between two network
// namespaces and a real agent (the built provider binary) serving in the
// server namespace. Its control socket is a file, so the provider, running
// in the test process in the host namespace, reaches it through state_dir.
type accLab struct {
	*testlab.Lab
	agentLab
}

// newAccLab skips unless TF_ACC is set and the test runs as root; all it
// creates is removed in t.Cleanup.
func newAccLab(t *testing.T, tools ...string) *accLab {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 (and run as root) to run it")
	}
	testlab.RequireRoot(t, tools...)
	lab := testlab.New(t)
	stateDir := t.TempDir()
	lab.StartAgent(t, stateDir)
	// The agent must be the lab's: if it dies, fail instead of launching
	// another one in the host namespace.
	t.Setenv(agentclient.AgentBinaryEnv, "/bin/false")
	return &accLab{Lab: lab, agentLab: agentLab{StateDir: stateDir}}
}

// providerConfig is the provider block that reaches the lab's agent.
func (l *agentLab) providerConfig() string {
	return fmt.Sprintf("provider \"netboot\" {\n  state_dir = %q\n  timeout   = 10\n}\n", l.StateDir)
}

// conn is a direct gRPC connection to the lab's agent, for changing it
// behind Terraform's back and for checking what it holds.
func (l *agentLab) conn(t *testing.T) *agentclient.Conn {
	t.Helper()
	conn, err := agentclient.Connect(context.Background(), agentclient.Options{StateDir: l.StateDir, NoLaunch: true, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// dhclient runs ISC dhclient -6 once in the client namespace so the agent
// holds a lease; -sf /bin/true keeps it from touching resolv.conf. It
// returns dhclient's lease file; extra goes on its command line.
func (l *accLab) dhclient(t *testing.T, extra ...string) string {
	t.Helper()
	dir := t.TempDir()
	lf, pf := filepath.Join(dir, "dhclient6.leases"), filepath.Join(dir, "dhclient6.pid")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append([]string{"dhclient", "-6", "-1", "-v", "-lf", lf, "-pf", pf, "-sf", "/bin/true"}, extra...)
	out, err := l.Exec(ctx, l.ClientNS, append(args, l.ClientIf)...)
	// dhclient forks into the background once bound: stop it by its pid file.
	if pid, perr := os.ReadFile(pf); perr == nil {
		if n, cerr := strconv.Atoi(strings.TrimSpace(string(pid))); cerr == nil {
			if p, ferr := os.FindProcess(n); ferr == nil {
				_ = p.Kill()
			}
		}
	}
	if err != nil {
		t.Fatalf("dhclient: %v\n%s", err, out)
	}
	lease, _ := os.ReadFile(lf)
	return string(lease)
}
