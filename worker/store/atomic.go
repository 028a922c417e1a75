package store

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// WriteFileAtomic puts data at path with permissions perm so that path never holds half a file:
// the bytes go to a temporary name next to path, are fsync'd and renamed over path, and the
// directory is fsync'd. The parent directory must exist.
func WriteFileAtomic(path string, data []byte, perm fs.FileMode) error {
	tmp := tempName(path)
	err := writeNew(tmp, perm, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %q: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

// tempName is a unique hidden name next to path (.<name>.tmp-<random>), so concurrent writers of
// the same path never share a temporary file and a leftover one is easy to recognise.
func tempName(path string) string {
	return filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp-"+rand.Text())
}

// RemoveStaleTemps removes the temporary files (or directories) that writes of path left next to
// it when their process died part-way: .<name>.tmp-*, as tempName makes them. A parent that is
// missing or not a directory is fine. Only the sole writer of path may call it, before it
// writes: a concurrent writer's temporary would be removed too.
func RemoveStaleTemps(path string) error {
	dir, base := filepath.Dir(path), filepath.Base(path)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil // nothing was ever written there; the write itself will say what is wrong
	}
	if err != nil {
		return fmt.Errorf("look for leftover temporaries of %q: %w", path, err)
	}
	prefix := "." + base + ".tmp-"
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		stale := filepath.Join(dir, e.Name())
		if err := os.RemoveAll(stale); err != nil {
			return fmt.Errorf("remove leftover temporary %q: %w", stale, err)
		}
	}
	return nil
}

// writeNew creates the file path, which must not exist, lets fill write it, then gives it perm
// exactly (no umask), fsyncs and closes it.
func writeNew(path string, perm fs.FileMode, fill func(*os.File) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	err = fill(f)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = timedSync(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// mkdirAllDurable creates dir and its missing parents, fsyncing each new entry's parent so the
// directories survive a crash along with the files renamed into them.
func mkdirAllDurable(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirAllDurable(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return syncDir(parent)
}

// syncDir makes the entries created or renamed in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = timedSync(d)
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync dir %q: %w", dir, err)
	}
	return nil
}

// SyncStats are counts over the process: how many files and directories this package fsync'd
// and the wall time the fsyncs took.
type SyncStats struct {
	Syncs    int64
	SyncTime time.Duration
}

var syncs, syncNanos atomic.Int64

// ReadSyncStats returns the counts so far; subtract two readings to get those of a period.
func ReadSyncStats() SyncStats {
	return SyncStats{Syncs: syncs.Load(), SyncTime: time.Duration(syncNanos.Load())}
}

func timedSync(f *os.File) error {
	start := time.Now()
	err := f.Sync()
	syncNanos.Add(int64(time.Since(start)))
	syncs.Add(1)
	return err
}
