// Package paths knows where the agent keeps its state by default, so the
// agent and the provider agree without configuration.
package paths

import (
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

// Files of an agent inside its state dir.
const (
	// SocketName is the control socket; only its owner (root) may connect.
	SocketName = "agent.sock"
	// PIDFileName holds the running agent's process id.
	PIDFileName = "agent.pid"
	// LogFileName receives the output of an agent the provider launched.
	LogFileName = "agent.log"
)
