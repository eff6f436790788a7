// Package paths knows where the agent keeps its state by default, so the
// agent and the provider agree without configuration.
package paths

import (
	"fmt"
	"os"
	"path/filepath"
)

// DefaultStateDir is /var/lib/terraform-provider-netboot for root (the agent
// needs root for ports 547 and raw ICMPv6) and a per-user state directory
// otherwise.
func DefaultStateDir() string {
	if os.Geteuid() == 0 {
		return "/var/lib/terraform-provider-netboot"
	}
	if dir := os.Getenv("XDG_STATE_HOME"); dir != "" {
		return filepath.Join(dir, "terraform-provider-netboot")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "terraform-provider-netboot")
	}
	return filepath.Join(os.TempDir(), "terraform-provider-netboot")
}

// ResolveStateDir is dir made absolute against the working directory, or
// the default state dir when dir is empty. Every path built from it (the
// socket's unix:// address above all) then means the same place to the
// agent, its launcher and its operator.
func ResolveStateDir(dir string) (string, error) {
	if dir == "" {
		return DefaultStateDir(), nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("state dir %q: %w", dir, err)
	}
	return abs, nil
}

// Files of an agent inside its state dir.
const (
	// SocketName is the control socket; only its owner (root) may connect.
	SocketName = "agent.sock"
	// PIDFileName holds the running agent's process id.
	PIDFileName = "agent.pid"
	// LogFileName receives the output of an agent the provider launched.
	LogFileName = "agent.log"
	// FatalFileName holds, as one line, why the last agent in this state
	// dir stopped with an error; an agent removes it when it starts. Its
	// launcher shows it as the agent's own reason.
	FatalFileName = "agent.fatal"
)
