package provider

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// TF_LOG=debug shows each call to the agent, with its method and status,
// here the health check that finds no agent.
func TestAgentCallsAreInTerraformsLog(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "terraform.log")
	t.Setenv("TF_LOG", "debug")
	t.Setenv("TF_LOG_PATH", logPath)
	tfresource.UnitTest(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		Steps: []tfresource.TestStep{{
			Config:      noAgentProviderConfig(t) + "data \"netboot_leases\" \"all\" {}\n",
			ExpectError: errorText("Cannot reach the netboot agent"),
		}},
	})
	log, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"netboot agent call", "rpc=/grpc.health.v1.Health/Check", "code=Unavailable"} {
		if !strings.Contains(string(log), want) {
			t.Errorf("terraform's log lacks %q", want)
		}
	}
}
