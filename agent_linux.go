package main

import (
	"os"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/agentcli"
)

// runAgent runs the agent subcommand.
func runAgent(args []string) int {
	agent.Version = version
	return agentcli.Main(args, os.Stdout, os.Stderr)
}
