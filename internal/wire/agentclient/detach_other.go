//go:build !unix

package agentclient

import "os/exec"

// detach does nothing where there is no local agent to launch (see
// LocalAgentError).
func detach(*exec.Cmd) {}
