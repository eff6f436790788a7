//go:build !linux

package provider

import "testing"

// newFastLab skips: the fast tier's agent runs only on Linux.
func newFastLab(t *testing.T, _ ...func(stateDir string)) *fastLab {
	t.Skip("the fast tier runs the agent in-process, and the agent runs only on Linux")
	return nil
}
