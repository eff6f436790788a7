package agentcli

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

// TestHeapProfiles: --mem-profile leaves one complete gzip'd pprof profile
// when the agent stops, and no temporary files beside it.
func TestHeapProfiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "heap.pprof")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	heapProfiles(ctx, path, slog.New(slog.NewTextHandler(io.Discard, nil)))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	z, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("the heap profile is not gzip'd pprof: %v", err)
	}
	if _, err := io.ReadAll(z); err != nil {
		t.Fatalf("the heap profile is cut short: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the profile's directory holds %d files, want only heap.pprof", len(entries))
	}
	if err := writeHeapProfile(filepath.Join(dir, "missing", "heap.pprof")); err == nil {
		t.Error("writeHeapProfile into a missing directory succeeded")
	}
}
