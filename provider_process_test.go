package main

import (
	"os"
	"testing"
)

// Without a log asked for, every SDK logger is off: the root's alone
// leaves the framework and protocol subsystems building their records.
func TestQuietSDKLogs(t *testing.T) {
	all := append([]string{"TF_LOG", "TF_LOG_PROVIDER"}, sdkLogEnv...)
	for _, tc := range []struct {
		name string
		set  map[string]string
		want map[string]string
	}{
		{"no log asked for", nil,
			map[string]string{"TF_LOG_SDK": "off", "TF_LOG_SDK_FRAMEWORK": "off", "TF_LOG_SDK_PROTO": "off"}},
		{"TF_LOG", map[string]string{"TF_LOG": "debug"},
			map[string]string{"TF_LOG_SDK": "", "TF_LOG_SDK_FRAMEWORK": "", "TF_LOG_SDK_PROTO": ""}},
		{"TF_LOG_PROVIDER", map[string]string{"TF_LOG_PROVIDER": "trace"},
			map[string]string{"TF_LOG_SDK": "", "TF_LOG_SDK_FRAMEWORK": "", "TF_LOG_SDK_PROTO": ""}},
		{"a subsystem's own level", map[string]string{"TF_LOG_SDK_FRAMEWORK": "trace"},
			map[string]string{"TF_LOG_SDK": "", "TF_LOG_SDK_FRAMEWORK": "trace", "TF_LOG_SDK_PROTO": ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, name := range all {
				t.Setenv(name, tc.set[name])
			}
			quietSDKLogs()
			for name, want := range tc.want {
				if got := os.Getenv(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
		})
	}
}
