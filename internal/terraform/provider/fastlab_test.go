package provider

import (
	"os"
	"testing"

	"github.com/netbootlab/terraform-provider-netboot/internal/wire/agentclient"
)

// TestMain keeps every test from launching an agent by accident: the
// provider would start this test binary. A test that launches one sets
// its own.
//
// It also lets the terraform CLI's garbage collector wait for four times
// the live heap rather than twice: the tests run terraform hundreds of
// times, each for under a second, and at that lifetime most of its
// collections are wasted work (a quarter of its CPU time).
func TestMain(m *testing.M) {
	if err := os.Setenv(agentclient.AgentBinaryEnv, "/bin/false"); err != nil {
		panic(err)
	}
	if _, set := os.LookupEnv("GOGC"); !set {
		if err := os.Setenv("GOGC", "400"); err != nil {
			panic(err)
		}
	}
	os.Exit(m.Run())
}

// The fast tier's links: what the offline agent takes the host's
// interfaces to be. fastSecondIf is a second link to move a boot server to.
const (
	fastServerIf        = "nbfast0"
	fastSecondIf        = "nbfast1"
	fastServerAddr      = "2001:db8:1::1"
	fastServerLinkLocal = "fe80::5054:ff:fe00:1"
	fastSecondLinkLocal = "fe80::5054:ff:fe00:2"
)

// fastLab is a fast-tier test's world: the real agent core, in the test
// process, on a private state dir, with no protocol server bound
// (agent.Options.Offline). The provider reaches it as it would a launched
// agent; the test needs no root, no namespace and no built binary. Its
// fields are named as testlab.Lab's, so a test moves between the tiers by
// its constructor.
type fastLab struct {
	agentLab
	ServerIf, Prefix, ServerAddr string
}
