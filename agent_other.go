//go:build !linux

package main

import (
	"fmt"
	"os"
	"runtime"
)

// runAgent refuses: the agent's servers (raw ICMPv6, DHCPv6, network
// namespaces) are Linux-only, so this build holds the provider alone.
func runAgent([]string) int {
	fmt.Fprintf(os.Stderr, "terraform-provider-netboot: the agent runs only on Linux; this %s/%s build is the provider alone, for remote agents (provider endpoint)\n",
		runtime.GOOS, runtime.GOARCH)
	return 2
}
