package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestRepositoryStandsAlone fails when a tracked file names a file outside
// the repository: every fact a reader or a test needs lives in it.
func TestRepositoryStandsAlone(t *testing.T) {
	out, err := exec.Command("git", "ls-files", "-z").Output()
	if err != nil {
		t.Skipf("not a git checkout (%v): nothing to check", err)
	}
	// Spelled in pieces so this file does not match itself.
	outside := []string{"FIRMWARE" + ".md", "shared" + "/lab", "../" + "shared", "/" + "work/"}
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		data, err := os.ReadFile(name)
		if err != nil {
			continue // listed but deleted in the work tree
		}
		for i, line := range bytes.Split(data, []byte("\n")) {
			for _, p := range outside {
				if bytes.Contains(line, []byte(p)) {
					t.Errorf("%s:%d names %q, outside the repository: copy what it needs in", name, i+1, p)
				}
			}
		}
	}
}
