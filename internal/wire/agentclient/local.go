package agentclient

import "fmt"

// LocalAgentError says why a provider built for goos cannot use a local
// agent, or is nil on Linux. The agent is compiled in on Linux only (see
// the main package), so elsewhere only a remote agent (Endpoint) serves.
func LocalAgentError(goos string) error {
	if goos == "linux" {
		return nil
	}
	return fmt.Errorf("this provider build has no local agent on %s (the agent runs only on Linux): "+
		"set endpoint to a remote agent", goos)
}
