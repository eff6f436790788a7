package agentclient

import (
	"context"
	"runtime"
	"strings"
	"testing"
)

func TestLocalAgentError(t *testing.T) {
	for _, goos := range []string{"darwin", "windows", "freebsd"} {
		err := LocalAgentError(goos)
		if err == nil || !strings.Contains(err.Error(), "no local agent on "+goos) || !strings.Contains(err.Error(), "set endpoint") {
			t.Errorf("LocalAgentError(%q) = %v, want it to name %s and say to set endpoint", goos, err, goos)
		}
	}
	if err := LocalAgentError("linux"); err != nil {
		t.Errorf("LocalAgentError(linux) = %v", err)
	}
}

// TestConnectWithoutLocalAgent: where the build has no agent, Connect
// refuses a local connection at once instead of launching anything.
func TestConnectWithoutLocalAgent(t *testing.T) {
	want := LocalAgentError(runtime.GOOS)
	if want == nil {
		t.Skip("this build has a local agent")
	}
	_, err := Connect(context.Background(), Options{StateDir: t.TempDir()})
	if err == nil || err.Error() != want.Error() {
		t.Errorf("Connect = %v, want %v", err, want)
	}
}
