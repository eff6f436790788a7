package agent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/agentcli"
	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/eventkind"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// runOps runs `agent <args> --state-dir stateDir` in-process, as an operator
// would, and returns its stdout.
func runOps(t *testing.T, stateDir string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := agentcli.Main(append(args, "--state-dir", stateDir), &stdout, &stderr); code != 0 {
		t.Fatalf("agent %s: exit %d\n%s", strings.Join(args, " "), code, stderr.String())
	}
	return stdout.String()
}

// TestOpsObjectsAndLogs: after a real client leased an address and fetched
// its menu, `agent objects --json` shows every object and what that host
// gets, and `agent logs --json` the lease, the script and the changes.
func TestOpsObjectsAndLogs(t *testing.T) {
	testlab.RequireRoot(t, "dhclient", "curl")
	lab := testlab.New(t)
	stateDir := t.TempDir()
	agentProc := lab.StartAgent(t, stateDir)
	conn := connect(t, stateDir)
	ctx := context.Background()

	if _, err := conn.PutBootServer(ctx, &netbootv1.PutBootServerRequest{BootServer: labBootServer(lab, "stateful")}); err != nil {
		t.Fatal(err)
	}
	stream, err := conn.PutArtifact(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []*netbootv1.PutArtifactRequest{
		{Part: &netbootv1.PutArtifactRequest_Header{Header: &netbootv1.ArtifactHeader{Path: "ipxe.efi"}}},
		{Part: &netbootv1.PutArtifactRequest_Chunk{Chunk: []byte("efi")}},
	} {
		if err := stream.Send(part); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := stream.CloseAndRecv(); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.PutBootEntry(ctx, &netbootv1.PutBootEntryRequest{Entry: &netbootv1.BootEntry{Name: "local", Kind: "exit"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.PutBootMenu(ctx, &netbootv1.PutBootMenuRequest{Menu: &netbootv1.BootMenu{
		Name: "main", IsDefault: true, Items: []*netbootv1.MenuItem{{Entry: "local"}},
	}}); err != nil {
		t.Fatal(err)
	}
	dhclient(t, lab, t.TempDir())
	hostPath := "netboot/host/mac-52-54-00-12-34-56/uuid-/arch-x86_64/platform-efi/menu.ipxe"
	lab.MustExec(t, lab.ClientNS, "curl", "-g", "-sS", "--fail", "http://["+lab.ServerAddr+"]/"+hostPath)

	var objects struct {
		BootServers struct {
			BootServers []*struct {
				Config struct{ Name, Interface string }
			} `json:"boot_servers"`
		} `json:"boot_servers"`
		Artifacts struct {
			Artifacts []struct{ Path, Sha256, Size string }
		}
		BootMenus struct{ Menus []struct{ Name string } } `json:"boot_menus"`
		Hosts     struct {
			Hosts []struct {
				ClientDuid string   `json:"client_duid"`
				Addresses  []string `json:"addresses"`
				Menu       string   `json:"menu"`
				MenuReason string   `json:"menu_reason"`
			}
		}
	}
	out := runOps(t, stateDir, "objects", "--json")
	if err := json.Unmarshal([]byte(out), &objects); err != nil {
		t.Fatalf("objects --json is not JSON: %v\n%s", err, out)
	}
	if bs := objects.BootServers.BootServers; len(bs) != 1 || bs[0].Config.Name != "lab" || bs[0].Config.Interface != lab.ServerIf {
		t.Errorf("boot servers: %s", out)
	}
	if a := objects.Artifacts.Artifacts; len(a) != 1 || a[0].Path != "ipxe.efi" || len(a[0].Sha256) != 64 || a[0].Size != "3" {
		t.Errorf("artifacts: %s", out)
	}
	if m := objects.BootMenus.Menus; len(m) != 1 || m[0].Name != "main" {
		t.Errorf("menus: %s", out)
	}
	hosts := objects.Hosts.Hosts
	if len(hosts) != 1 || hosts[0].ClientDuid == "" || len(hosts[0].Addresses) != 1 || hosts[0].Menu != "main" || hosts[0].MenuReason == "" {
		t.Fatalf("hosts: want the dhclient host with menu main: %s", out)
	}
	duid := hosts[0].ClientDuid
	if table := runOps(t, stateDir, "objects"); !strings.Contains(table, "HOSTS (by lease)") || !strings.Contains(table, duid) {
		t.Errorf("objects table lacks the host:\n%s", table)
	}

	type event struct {
		Kind, Message, Client string
		BootServer            string            `json:"boot_server"`
		Attrs                 map[string]string `json:"attrs"`
	}
	parse := func(out string) []event {
		var events []event
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var e event
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				t.Fatalf("logs --json line is not JSON: %v: %s", err, line)
			}
			events = append(events, e)
		}
		return events
	}
	seen := map[string]bool{}
	for _, e := range parse(runOps(t, stateDir, "logs", "--json", "--since", "10m")) {
		seen[e.Kind+": "+e.Message] = true
		if _, err := eventkind.Parse(e.Kind); err != nil {
			t.Errorf("event %v: %v", e, err)
		}
		if c := e.Attrs["component"]; c != "" {
			seen["component "+c] = true
			if e.Kind == "agent" {
				t.Errorf("event from the %s server has kind agent: %v", c, e)
			}
		}
		if e.Kind == "lease" && e.Message == "leased address" && (e.Client != duid || e.BootServer != "lab") {
			t.Errorf("lease event names client %q on %q, want %s on lab", e.Client, e.BootServer, duid)
		}
		if e.Kind == "script" && e.Attrs["mac"] != "52:54:00:12:34:56" {
			t.Errorf("script event lacks the host's MAC: %v", e)
		}
	}
	for _, want := range []string{"lease: leased address", "script: http request", "artifact: artifact stored", "config: boot menu saved", "config: boot server saved",
		"component dhcpv6", "component ra"} {
		if !seen[want] {
			t.Errorf("logs lack %q; have %v", want, seen)
		}
	}
	// Every record at info and above names its kind, on the call or on its
	// server's logger (component): none is agent for want of one.
	logText, err := os.ReadFile(agentProc.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	records := 0
	for _, line := range strings.Split(string(logText), "\n") {
		if !strings.HasPrefix(line, "time=") || strings.Contains(line, " level=DEBUG ") {
			continue
		}
		records++
		if !strings.Contains(line, " event=") && !strings.Contains(line, " component=") {
			t.Errorf("log record names no kind: %s", line)
		}
	}
	if records < 10 {
		t.Errorf("agent log has %d records at info and above:\n%s", records, logText)
	}
	for _, e := range parse(runOps(t, stateDir, "logs", "--json", "--kind", "lease", "--client", duid)) {
		if e.Kind != "lease" || e.Client != duid {
			t.Errorf("filtered logs returned %v", e)
		}
	}
	if text := runOps(t, stateDir, "logs", "--kind", "lease"); !strings.Contains(text, "leased address") || !strings.Contains(text, "[lab]") {
		t.Errorf("logs table:\n%s", text)
	}

	// Following: a change made now arrives on the open stream.
	followCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	watch, err := conn.WatchEvents(followCtx, &netbootv1.WatchEventsRequest{Follow: true, Kinds: []string{"config"}, SinceUnixNano: time.Now().UnixNano()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.PutBootEntry(ctx, &netbootv1.PutBootEntryRequest{Entry: &netbootv1.BootEntry{Name: "shell", Kind: "script", Script: "shell"}}); err != nil {
		t.Fatal(err)
	}
	e, err := watch.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if e.GetMessage() != "boot entry saved" || e.GetAttrs()["entry"] != "shell" {
		t.Fatalf("followed event = %v, want the new entry", e)
	}
}
