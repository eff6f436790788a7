package agentcli

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/wire/eventkind"
)

// memProfileEvery is how often --mem-profile rewrites its heap profile.
const memProfileEvery = 30 * time.Second

// heapProfiles rewrites the heap profile at path every memProfileEvery and
// once more when ctx ends, so a long run can be watched while it goes.
func heapProfiles(ctx context.Context, path string, logger *slog.Logger) {
	tick := time.NewTicker(memProfileEvery)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-tick.C:
		}
		if err := writeHeapProfile(path); err != nil {
			logger.Warn("writing the heap profile failed", eventkind.Agent.Attr(), "error", err)
		}
	}
}

// writeHeapProfile writes the heap profile (as of the last collection;
// forcing one would change what is measured) through a temporary file
// renamed over path: a reader never sees half a profile.
func writeHeapProfile(path string) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
