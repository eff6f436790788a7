package store

import (
	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// dropResident lets go of the pages of the state file that tx's reads
// made resident in the agent's memory map. bbolt reads through a shared
// read-only map of the file, so scanning a million leases at start leaves
// the whole file counted in the agent's memory (RSS) until the kernel
// needs the memory back; the pages stay in the page cache and a later
// read maps them again. tx keeps bbolt from remapping meanwhile. Best
// effort: an error changes nothing.
func dropResident(db *bolt.DB, tx *bolt.Tx) {
	base, size := db.Info().Data, tx.Size()
	if base == 0 || size <= 0 {
		return
	}
	_, _, _ = unix.Syscall(unix.SYS_MADVISE, base, uintptr(size), unix.MADV_DONTNEED)
}
