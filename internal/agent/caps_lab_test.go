package agent_test

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// systemdUnit is the unit operators install; its capability list is the one
// this test grants.
const systemdUnit = "../../packaging/systemd/terraform-provider-netboot-agent.service"

// unitCapabilities reads AmbientCapabilities= from the systemd unit, in
// setpriv's spelling ("net_raw", ...).
func unitCapabilities(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(systemdUnit)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var caps []string
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		if v, ok := strings.CutPrefix(scanner.Text(), "AmbientCapabilities="); ok {
			for _, c := range strings.Fields(v) {
				caps = append(caps, strings.ToLower(strings.TrimPrefix(c, "CAP_")))
			}
		}
	}
	if len(caps) == 0 {
		t.Fatalf("%s sets no AmbientCapabilities=", systemdUnit)
	}
	return caps
}

// TestAgentServesWithOnlyTheUnitsCapabilities runs the agent as user nobody
// holding only the capabilities the systemd unit grants (no root, no
// CAP_DAC_OVERRIDE, no CAP_SYS_ADMIN): it must still send Router
// Advertisements and lease addresses by DHCPv6 to real clients.
func TestAgentServesWithOnlyTheUnitsCapabilities(t *testing.T) {
	testlab.RequireRoot(t, "setpriv", "rdisc6", "dhclient")
	caps := unitCapabilities(t)
	lab := testlab.New(t)

	// Everything nobody needs: a binary it may run, a state dir it owns.
	root, err := os.MkdirTemp("", "netboot-caps-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	binary := filepath.Join(root, "terraform-provider-netboot")
	data, err := os.ReadFile(testlab.Binary(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(binary, data, 0o755); err != nil {
		t.Fatal(err)
	}
	stateDir := filepath.Join(root, "state")
	if err := os.Mkdir(stateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	const nobody = 65534
	if err := os.Chown(stateDir, nobody, nobody); err != nil {
		t.Fatal(err)
	}

	set := "-all,+" + strings.Join(caps, ",+")
	logPath := filepath.Join(root, "agent.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := lab.Command(t, lab.ServerNS, "setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
		"--inh-caps", set, "--ambient-caps", set, "--bounding-set", set, "--no-new-privs",
		binary, "agent", "--state-dir", stateDir, "--log-level", "debug")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			log, _ := os.ReadFile(logPath)
			t.Logf("agent log:\n%s", log)
		}
	})
	socket := filepath.Join(stateDir, "agent.sock")
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("unix", socket); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent did not open %s within 15 s", socket)
		}
	}
	status, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^Uid:\s+65534\s`).Match(status) {
		t.Fatalf("the agent does not run as nobody:\n%s", status)
	}

	conn := connect(t, stateDir)
	state, err := conn.PutBootServer(t.Context(), &netbootv1.PutBootServerRequest{BootServer: labBootServer(lab, "stateful")})
	if err != nil {
		t.Fatal(err)
	}
	if !state.GetStatus().GetServing() {
		t.Fatalf("not serving with capabilities %v: %v", caps, state.GetStatus())
	}
	ra := lab.MustExec(t, lab.ClientNS, "rdisc6", "-1", "-w", "3000", lab.ClientIf)
	if !strings.Contains(ra, "2001:db8:1::/64") {
		t.Errorf("no Router Advertisement with the prefix:\n%s", ra)
	}
	lease := dhclient(t, lab, t.TempDir())
	if !iaaddrPattern.MatchString(lease) {
		t.Errorf("no DHCPv6 lease:\n%s", lease)
	}
}
