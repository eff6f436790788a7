package main

import (
	"bytes"
	"os"
	"os/exec"
	"slices"
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

// TestLayers keeps internal/'s folders honest about who may use whom:
// wire (the API, its client and certificates) uses only itself;
// boot (the model both ends validate: boot servers, boot-file URLs, menus,
// NFS roots) adds
// wire; the agent and its protocol servers add boot; the Terraform side
// adds wire and boot but never the agent, whose one exception is checking
// lease_db the way the agent will parse it. Test files may cross: the fast
// provider tier runs the real agent core in-process.
func TestLayers(t *testing.T) {
	const module = "github.com/netbootlab/terraform-provider-netboot/internal/"
	allowed := map[string][]string{
		"wire":      {"wire"},
		"boot":      {"wire", "boot"},
		"agent":     {"wire", "boot", "agent"},
		"terraform": {"wire", "boot", "terraform", "agent/pglease"},
		"lab":       {"wire", "boot", "agent", "lab"},
	}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./internal/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module)
		layer, _, _ := strings.Cut(pkg, "/")
		may, ok := allowed[layer]
		if !ok {
			t.Errorf("internal/%s is in no layer: put it under %v", pkg, []string{"terraform", "wire", "boot", "agent", "lab"})
			continue
		}
		for _, imp := range fields[1:] {
			dep, found := strings.CutPrefix(imp, module)
			if !found {
				continue
			}
			if !slices.ContainsFunc(may, func(prefix string) bool { return dep == prefix || strings.HasPrefix(dep, prefix+"/") }) {
				t.Errorf("internal/%s imports internal/%s: the %s layer may use only %v", pkg, dep, layer, may)
			}
		}
	}
}
