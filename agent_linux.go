package main

import (
	"os"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent"
)

// runAgent runs the agent subcommand.
func runAgent(args []string) int {
	agent.Version = version
	return agent.Main(args, os.Stdout, os.Stderr)
}
