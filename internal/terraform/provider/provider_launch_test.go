package provider

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/agentclient"
)

// A relative state_dir is the directory under Terraform's working
// directory; when the agent launched there refuses its state file, the
// error is the agent's own line, at once, and no agent is left running.
func TestProviderShowsTheLaunchedAgentsReason(t *testing.T) {
	t.Setenv(agentclient.AgentBinaryEnv, testlab.Binary(t)) // built from the module, before leaving it
	t.Chdir(t.TempDir())
	if err := os.MkdirAll("st", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("st", "state.db"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("st")
	start := time.Now()
	tfresource.UnitTest(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		Steps: []tfresource.TestStep{{
			Config:      "provider \"netboot\" {\n  state_dir = \"st\"\n}\n\ndata \"netboot_leases\" \"lab\" {\n  boot_server = \"lab\"\n}\n",
			PlanOnly:    true,
			ExpectError: errorTexts("could not start: state file "+filepath.Join(abs, "state.db")+" is empty (0 bytes)", "--allow-empty-state"),
		}},
	})
	if took := time.Since(start); took > 25*time.Second {
		t.Errorf("the plan took %s: the agent's exit was not noticed at once", took)
	}
	if conn, err := net.Dial("unix", filepath.Join(abs, "agent.sock")); err == nil {
		conn.Close()
		t.Error("an agent answers on the state dir after the failed configure")
	}
}
