package store

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// copyContents is the byte copy of one file; a variable so tests can make a copy fail part-way.
var copyContents = io.Copy

// TransferFile puts src at dst, for a file or a whole directory (by src's kind): a symlink to
// src when allowLink, else a copy. src must exist; both paths must be absolute. An existing dst
// must be of the same kind as src and is replaced.
//
// Nothing half-written may look persisted: the new content is built under a temporary name next
// to dst, fsync'd, renamed over dst, and the parent directory is fsync'd. A failed transfer
// leaves dst as it was.
func TransferFile(src, dst string, allowLink bool) error {
	if !filepath.IsAbs(src) {
		return fmt.Errorf("transfer source %q must be an absolute path", src)
	}
	if !filepath.IsAbs(dst) {
		return fmt.Errorf("transfer destination %q must be an absolute path", dst)
	}
	srcInfo, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("transfer source %q: %w", src, err)
	}

	done, err := checkDestination(src, srcInfo, dst)
	if err != nil || done {
		return err
	}

	parent := filepath.Dir(dst)
	if err := mkdirAllDurable(parent); err != nil {
		return fmt.Errorf("create parent of %q: %w", dst, err)
	}

	var tmp string
	switch {
	case allowLink:
		tmp, err = linkToTemp(src, dst)
	case srcInfo.IsDir():
		tmp, err = copyDirToTemp(src, srcInfo, dst)
	default:
		tmp, err = copyFileToTemp(src, srcInfo, dst)
	}
	if err != nil {
		return err
	}

	if err := replace(tmp, dst); err != nil {
		_ = os.RemoveAll(tmp)
		return err
	}
	return syncDir(parent)
}

// checkDestination enforces that an existing dst has src's kind. done is true when dst already
// is src itself: replacing it would destroy the source.
func checkDestination(src string, srcInfo fs.FileInfo, dst string) (done bool, err error) {
	if lInfo, err := os.Lstat(dst); err == nil && os.SameFile(srcInfo, lInfo) {
		return true, nil
	}
	dstInfo, err := os.Stat(dst)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("transfer destination %q: %w", dst, err)
	}
	if dstInfo.IsDir() != srcInfo.IsDir() {
		return false, fmt.Errorf("transfer destination %q is a %s but source %q is a %s; remove the destination or fix the route",
			dst, kindName(dstInfo), src, kindName(srcInfo))
	}
	return false, nil
}

func kindName(info fs.FileInfo) string {
	if info.IsDir() {
		return "directory"
	}
	return "file"
}

// replace renames tmp over dst. rename(2) replaces a file or symlink atomically but cannot
// replace a directory, nor put a directory over a file, so those are removed first.
func replace(tmp, dst string) error {
	tmpInfo, err := os.Lstat(tmp)
	if err != nil {
		return err
	}
	if dstInfo, err := os.Lstat(dst); err == nil && (dstInfo.IsDir() || tmpInfo.IsDir()) {
		if err := os.RemoveAll(dst); err != nil {
			return fmt.Errorf("remove existing %q: %w", dst, err)
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("move %q into place: %w", dst, err)
	}
	return nil
}

// tempPattern is the os.CreateTemp pattern of dst's temporary name: <dst>.tmp-<random>.
func tempPattern(dst string) string {
	return filepath.Base(dst) + ".tmp-*"
}

func linkToTemp(src, dst string) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	tmp := dst + ".tmp-" + hex.EncodeToString(b[:])
	if err := os.Symlink(src, tmp); err != nil {
		return "", fmt.Errorf("link %q to %q: %w", dst, src, err)
	}
	return tmp, nil
}

func copyFileToTemp(src string, srcInfo fs.FileInfo, dst string) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(dst), tempPattern(dst))
	if err != nil {
		return "", fmt.Errorf("copy %q to %q: %w", src, dst, err)
	}
	tmp := f.Name()
	if err := fillFile(f, src, srcInfo); err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("copy %q to %q: %w", src, dst, err)
	}
	return tmp, nil
}

func copyDirToTemp(src string, srcInfo fs.FileInfo, dst string) (string, error) {
	tmp, err := os.MkdirTemp(filepath.Dir(dst), tempPattern(dst))
	if err != nil {
		return "", fmt.Errorf("copy %q to %q: %w", src, dst, err)
	}
	err = copyTree(src, tmp)
	if err == nil {
		err = os.Chmod(tmp, srcInfo.Mode().Perm())
	}
	if err != nil {
		_ = os.RemoveAll(tmp)
		return "", fmt.Errorf("copy %q to %q: %w", src, dst, err)
	}
	return tmp, nil
}

// copyTree copies the contents of directory src into the existing directory dst. Symlinks are
// followed: a persisted copy must not point back into the sealing location, which is wiped.
func copyTree(src, dst string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		from, to := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		info, err := os.Stat(from)
		if err != nil {
			return err
		}
		switch {
		case info.IsDir():
			if err := os.Mkdir(to, info.Mode().Perm()); err != nil {
				return err
			}
			if err := copyTree(from, to); err != nil {
				return err
			}
		case info.Mode().IsRegular():
			if err := copyFile(from, info, to); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%q is neither a file nor a directory", from)
		}
	}
	return syncDir(dst)
}

func copyFile(src string, srcInfo fs.FileInfo, dst string) error {
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	return fillFile(f, src, srcInfo)
}

// fillFile writes src's bytes and permissions into f, fsyncs and closes it.
func fillFile(f *os.File, src string, srcInfo fs.FileInfo) error {
	err := writeFrom(f, src)
	if err == nil {
		err = f.Chmod(srcInfo.Mode().Perm())
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func writeFrom(f *os.File, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if _, err := copyContents(f, in); err != nil {
		return fmt.Errorf("read %q: %w", src, err)
	}
	return nil
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

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync dir %q: %w", dir, err)
	}
	return nil
}
