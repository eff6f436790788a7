//go:build unix

package agentclient

import (
	"os/exec"
	"syscall"
)

// detach starts cmd in a session of its own, so it outlives terraform.
func detach(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} }
