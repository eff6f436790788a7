// Command terraform-provider-netboot is both the Terraform provider (run with
// no arguments by Terraform) and, on Linux, the netboot agent (`... agent`).
// Builds for other systems hold the provider alone, for remote agents.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime/pprof"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/netbootlab/terraform-provider-netboot/internal/terraform/provider"
)

// version is set by goreleaser.
var version = "dev"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "agent" {
		os.Exit(runAgent(os.Args[2:]))
	}

	// The plugin SDK formats every call's logs even when Terraform discards
	// them (about a third of a large plan's provider CPU); Terraform only
	// shows provider logs when one of these is set.
	if os.Getenv("TF_LOG") == "" && os.Getenv("TF_LOG_PROVIDER") == "" && os.Getenv("TF_LOG_SDK") == "" {
		_ = os.Setenv("TF_LOG_SDK", "off")
	}

	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.Parse()
	stopProfile := func() {}
	if dir := os.Getenv(cpuProfileDirEnv); dir != "" {
		var err error
		if stopProfile, err = startCPUProfile(dir); err != nil {
			log.Fatalf("%s: %v", cpuProfileDirEnv, err)
		}
	}
	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: "registry.terraform.io/netbootlab/netboot",
		Debug:   debug,
	})
	stopProfile()
	if err != nil {
		log.Fatal(err)
	}
}

// cpuProfileDirEnv names a directory where each provider process Terraform
// starts writes a pprof CPU profile, for performance work: Terraform starts
// the provider itself, so a flag cannot reach it.
const cpuProfileDirEnv = "NETBOOT_PROVIDER_CPU_PROFILE_DIR"

// startCPUProfile profiles this process into dir/provider-PID.pprof until
// stop, which Terraform's graceful shutdown of the plugin lets run.
func startCPUProfile(dir string) (stop func(), err error) {
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("provider-%d.pprof", os.Getpid())))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
