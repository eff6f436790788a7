package store

import (
	"errors"

	"golang.org/x/sys/unix"
)

// writeDSync writes data at off and syncs it in one system call
// (pwritev2 with RWF_DSYNC: pwrite and fdatasync of that range).
// supported is false when the kernel or file system lacks it.
func writeDSync(fd int, data []byte, off int64) (n int, supported bool, err error) {
	n, err = unix.Pwritev2(fd, [][]byte{data}, off, unix.RWF_DSYNC)
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EINVAL) {
		return 0, false, nil
	}
	return n, true, err
}

// syncData flushes fd's data, and of its metadata what reading the data
// needs (its size), not its times.
func syncData(fd int) error { return unix.Fdatasync(fd) }
