// Command terraform-provider-netboot is both the Terraform provider (run with
// no arguments by Terraform) and, on Linux, the netboot agent (`... agent`).
// Builds for other systems hold the provider alone, for remote agents.
package main

import (
	"context"
	"flag"
	"log"
	"os"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/netbootlab/terraform-provider-netboot/internal/terraform/provider"
)

// version is set by goreleaser.
var version = "dev"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "agent" {
		os.Exit(runAgent(os.Args[2:]))
	}

	quietSDKLogs()
	tuneGC()

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
