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

	// The plugin SDK formats every call's logs even when Terraform discards
	// them (about a third of a large plan's provider CPU); Terraform only
	// shows provider logs when one of these is set.
	if os.Getenv("TF_LOG") == "" && os.Getenv("TF_LOG_PROVIDER") == "" && os.Getenv("TF_LOG_SDK") == "" {
		_ = os.Setenv("TF_LOG_SDK", "off")
	}

	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.Parse()
	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: "registry.terraform.io/netbootlab/netboot",
		Debug:   debug,
	})
	if err != nil {
		log.Fatal(err)
	}
}
