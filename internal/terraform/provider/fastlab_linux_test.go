package provider

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"testing"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent"
	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
)

// newFastLab starts the agent; seed, if given, first writes into the state
// dir (leases straight into the store, say). The agent stops in t.Cleanup.
// The test then runs in parallel with the other fast ones: each has its own
// agent and state dir, and TestMain keeps the provider from launching one.
func newFastLab(t *testing.T, seed ...func(stateDir string)) *fastLab {
	t.Helper()
	// A unix socket path has at most 108 bytes: t.TempDir() names the
	// test and may be longer.
	dir, err := os.MkdirTemp("", "nbfast")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, s := range seed {
		s(dir)
	}
	links := map[string]agent.OfflineLink{
		fastServerIf: {LinkLocal: netip.MustParseAddr(fastServerLinkLocal), Global: []netip.Addr{netip.MustParseAddr(fastServerAddr)}},
		fastSecondIf: {LinkLocal: netip.MustParseAddr(fastSecondLinkLocal)},
	}
	artifactPaths, nfsRootPaths := testlab.PublishDirs()
	stop, err := agent.Start(context.Background(), agent.Options{
		StateDir: dir, Offline: &agent.Offline{Links: links},
		ArtifactPaths: artifactPaths, NFSRootPaths: nfsRootPaths,
		// url downloads come from httptest servers on loopback.
		ArtifactURLAllow: []string{"127.0.0.1", "::1"},
		// Nothing here survives a power cut anyway: no fsync per write,
		// which waits on a busy disk.
		NoFsync: true,
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("agent: %v", err)
		}
	})
	// Parallel only now: binding its socket sets the process's umask for a
	// moment, while no test runs beside this one (parallel tests wait for
	// the sequential ones), so no other test creates a file meanwhile.
	t.Parallel()
	return &fastLab{agentLab: agentLab{StateDir: dir}, ServerIf: fastServerIf, Prefix: "2001:db8:1::/64", ServerAddr: fastServerAddr}
}
