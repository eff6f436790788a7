package agent

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLeaseDBWriterKeptAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	first, err := leaseDBWriter(dir)
	if err != nil || first == "" {
		t.Fatalf("leaseDBWriter = %q, %v", first, err)
	}
	again, err := leaseDBWriter(dir)
	if err != nil || again != first {
		t.Errorf("after a restart: %q, %v; want %q", again, err, first)
	}
	if other, _ := leaseDBWriter(t.TempDir()); other == first {
		t.Errorf("two state dirs share the writer name %q", first)
	}
	if err := os.WriteFile(filepath.Join(dir, leaseDBWriterFile), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := leaseDBWriter(dir); err != nil || got == "" {
		t.Errorf("from an empty file: %q, %v; want a new name", got, err)
	}
}
