package agent_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/agentclient"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// TestAgentServesEachMachineItsOwnConfig: two machines get one cloud-config
// template; the menu each machine's iPXE gets carries its own NoCloud URL,
// curl in the client namespace fetches each machine's rendering from it,
// and the neighbour's token, no token or a made-up one get 403, logged as
// a warning naming the machine.
func TestAgentServesEachMachineItsOwnConfig(t *testing.T) {
	lab, stateDir, conn, _ := provisioningLab(t, "curl")
	ctx := context.Background()
	for _, e := range []*netbootv1.BootEntry{
		{Name: "install", Kind: "linux", Linux: &netbootv1.LinuxBoot{Kernel: "vmlinuz",
			Args: `ds=nocloud;s={{ .ConfigURL "" }} meta={{ .ConfigURL "meta-data" }}`}},
	} {
		if _, err := conn.PutBootEntry(ctx, &netbootv1.PutBootEntryRequest{Entry: e}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.PutBootMenu(ctx, &netbootv1.PutBootMenuRequest{Menu: &netbootv1.BootMenu{
		Name: "install", Items: []*netbootv1.MenuItem{{Entry: "install"}}}}); err != nil {
		t.Fatal(err)
	}
	macs := map[string]string{"web1": "52:54:00:aa:bb:01", "web2": "52:54:00:aa:bb:02"}
	for name, mac := range macs {
		_, err := conn.PutMachine(ctx, &netbootv1.PutMachineRequest{Machine: &netbootv1.Machine{
			Name: name, Macs: []string{mac}, Labels: map[string]string{"role": "web"}, Menu: "install",
			Metadata: map[string]string{"greeting": "hello from " + name}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []*netbootv1.MachineConfig{
		{Name: "user-data", Kind: "cloud-config", MatchLabels: map[string]string{"role": "web"},
			Template:        "#cloud-config\nhostname: {{ .Hostname }}\nbootcmd:\n  - echo {{ toJSON .Metadata.greeting }}\npassword: {{ .Sensitive.pw }}\n",
			SensitiveValues: map[string]string{"pw": "s3cret"}},
		{Name: "meta-data", Kind: "meta-data", Template: "instance-id: {{ .Name }}\n"},
	} {
		if _, err := conn.PutMachineConfig(ctx, &netbootv1.PutMachineConfigRequest{Config: c}); err != nil {
			t.Fatal(err)
		}
	}

	base := "http://[" + lab.ServerAddr + "]"
	seed := map[string]string{}
	nocloud := regexp.MustCompile(`ds=nocloud;s=(\S+/) meta=(\S+)`)
	for name, mac := range macs {
		hostPath := "netboot/host/mac-" + strings.ReplaceAll(mac, ":", "-") + "/uuid-/arch-x86_64/platform-efi/menu.ipxe"
		script := lab.MustExec(t, lab.ClientNS, "curl", "-g", "-sS", "--fail", base+"/"+hostPath)
		m := nocloud.FindStringSubmatch(script)
		if m == nil || !strings.HasPrefix(m[1], base+"/netboot/config/"+name+"/") || m[2] != m[1]+"meta-data" {
			t.Fatalf("%s's menu has no NoCloud URL of its own:\n%s", name, script)
		}
		seed[name] = m[1]
		userData := lab.MustExec(t, lab.ClientNS, "curl", "-g", "-sS", "--fail", m[1]+"user-data")
		want := "#cloud-config\nhostname: " + name + "\nbootcmd:\n  - echo \"hello from " + name + "\"\npassword: s3cret\n"
		if userData != want {
			t.Errorf("%s's user-data:\n%s\nwant:\n%s", name, userData, want)
		}
		if got := lab.MustExec(t, lab.ClientNS, "curl", "-g", "-sS", "--fail", m[2]); got != "instance-id: "+name+"\n" {
			t.Errorf("%s's meta-data: %q", name, got)
		}
	}

	status := func(url string) string {
		t.Helper()
		return lab.MustExec(t, lab.ClientNS, "curl", "-g", "-sS", "-o", "/dev/null", "-w", "%{http_code}", url)
	}
	web1Token := strings.Split(strings.TrimPrefix(seed["web1"], base+"/netboot/config/web1/"), "/")[0]
	for url, want := range map[string]string{
		base + "/netboot/config/web2/" + web1Token + "/user-data":               "403", // the neighbour's token
		base + "/netboot/config/web2/user-data":                                 "403", // no token
		base + "/netboot/config/web2/" + strings.Repeat("0", 32) + "/user-data": "403", // a guess
		base + "/netboot/config/web3/" + web1Token + "/user-data":               "404", // no such machine
		seed["web1"] + "network-config":                                         "404", // no such file for web1
		base + "/netboot/config/web1/" + web1Token + "/user-data":               "200",
	} {
		if got := status(url); got != want {
			t.Errorf("GET %s: %s, want %s", url, got, want)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		log, _ := os.ReadFile(filepath.Join(stateDir, "agent-test.log"))
		if strings.Contains(string(log), `status=403`) && strings.Contains(string(log), `machine \"web2\": the URL does not carry the machine's token`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no 403 warning naming web2 in the agent's log:\n%s", log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// provisioningLab starts an agent in a new lab with the "lab" boot server
// (stateful DHCPv6, HTTP on) and returns its connection.
func provisioningLab(t *testing.T, tools ...string) (*testlab.Lab, string, *agentclient.Conn, *netbootv1.BootServer) {
	t.Helper()
	testlab.RequireRoot(t, tools...)
	lab := testlab.New(t)
	stateDir := t.TempDir()
	lab.StartAgent(t, stateDir)
	conn := connect(t, stateDir)
	bs := labBootServer(lab, "stateful")
	if _, err := conn.PutBootServer(context.Background(), &netbootv1.PutBootServerRequest{BootServer: bs}); err != nil {
		t.Fatal(err)
	}
	return lab, stateDir, conn, bs
}
