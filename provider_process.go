package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
)

// sdkLogEnv are the plugin SDK's log levels: the root's and its framework
// and protocol subsystems'. A subsystem whose variable is unset logs at
// every level, whatever the root's says.
var sdkLogEnv = []string{"TF_LOG_SDK", "TF_LOG_SDK_FRAMEWORK", "TF_LOG_SDK_PROTO"}

// quietSDKLogs turns the SDK's logs off unless a log is asked for: it
// builds every call's records even when Terraform discards them, a large
// share of a big plan's provider CPU, and Terraform only shows provider
// logs when TF_LOG or TF_LOG_PROVIDER is set.
func quietSDKLogs() {
	for _, name := range append([]string{"TF_LOG", "TF_LOG_PROVIDER"}, sdkLogEnv...) {
		if os.Getenv(name) != "" {
			return
		}
	}
	for _, name := range sdkLogEnv {
		_ = os.Setenv(name, "off")
	}
}

// providerGCPercent lets the heap grow to five times what is live between
// collections: Terraform starts the provider for one command, its live heap
// is small and each call's values are garbage at once, so at the default
// most collections are wasted work.
const providerGCPercent = 400

// tuneGC sets providerGCPercent unless GOGC is set.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(providerGCPercent)
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
