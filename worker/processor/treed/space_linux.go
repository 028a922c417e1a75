package treed

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// reserve allocates size bytes for f, which read as zeros. Filesystems that cannot allocate
// ahead get a sparse file of that size instead.
func reserve(f *os.File, size int64) error {
	err := unix.Fallocate(int(f.Fd()), 0, 0, size)
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) {
		return f.Truncate(size)
	}
	return err
}

// startWriteback asks the kernel to start writing a range of f to disk now, without waiting,
// so that the disk works while the tree is hashed and the final sync has little left to do.
// It is only a hint: a failure shows at that sync.
func startWriteback(f *os.File, off, n int64) {
	_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}
