//go:build !linux

package store

import "syscall"

// writeDSync is Linux's pwritev2 with RWF_DSYNC; elsewhere the journal
// writes, then syncs.
func writeDSync(int, []byte, int64) (int, bool, error) { return 0, false, nil }

// syncData is fsync where there is no fdatasync.
func syncData(fd int) error { return syscall.Fsync(fd) }
