package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ipfs-force-community/venus-cluster-go/worker/progress"
)

// copyChunk is how much a copy moves between two checks of its context.
const copyChunk = 64 << 20

// maxCopyDepth bounds a directory copy, which follows symlinks, against link cycles.
const maxCopyDepth = 64

// copyN moves one chunk of a file copy; a variable so tests can make a copy fail or be cancelled
// part-way.
var copyN = io.CopyN

// TransferFile puts src at dst (spec §9.4), for a file or a whole directory (by src's kind): a
// symlink to src when allowLink, else a copy. Both paths must be absolute and src must exist. An
// existing dst must be of src's kind and is replaced; a symlink at dst is replaced, never what it
// points to. A directory copy follows the symlinks inside src: a persisted copy must not point
// back into the sealing location, which is wiped.
//
// When dst already is src itself, a link is already in place, but a copy is refused: it would
// make no second copy, and the caller would take the sector for persisted.
//
// Nothing half-written may look persisted: the new content is built under a temporary name next
// to dst, fsync'd, renamed over dst, and the parent directory is fsync'd. A failed or cancelled
// transfer leaves dst as it was. A copy checks ctx between chunks of 64 MiB and returns ctx's
// error once it is done.
func TransferFile(ctx context.Context, src, dst string, allowLink bool) error {
	srcInfo, err := statSource(src)
	if err != nil {
		return err
	}
	if !filepath.IsAbs(dst) {
		return fmt.Errorf("destination %q must be an absolute path", dst)
	}
	isSrc, err := checkDestination(src, srcInfo, dst)
	if err != nil {
		return err
	}
	if isSrc {
		if allowLink {
			return nil
		}
		return fmt.Errorf("destination %q is the source %q itself: a copy needs a second place; fix the route", dst, src)
	}

	parent := filepath.Dir(dst)
	if err := mkdirAllDurable(parent); err != nil {
		return fmt.Errorf("create parent of %q: %w", dst, err)
	}
	tmp := tempName(dst)
	err = buildAt(ctx, tmp, src, srcInfo, allowLink)
	if err == nil {
		err = replace(tmp, dst)
	}
	if err != nil {
		_ = os.RemoveAll(tmp)
		return err
	}
	return syncDir(parent)
}

func statSource(src string) (fs.FileInfo, error) {
	if !filepath.IsAbs(src) {
		return nil, fmt.Errorf("source %q must be an absolute path", src)
	}
	info, err := os.Stat(src)
	if err != nil {
		return nil, fmt.Errorf("source %q: %w", src, err)
	}
	return info, nil
}

// checkDestination enforces that an existing dst has src's kind. isSrc is true when dst is src
// itself (the same file, or a name src's symlink resolves to).
func checkDestination(src string, srcInfo fs.FileInfo, dst string) (isSrc bool, err error) {
	if lInfo, err := os.Lstat(dst); err == nil && os.SameFile(srcInfo, lInfo) {
		return true, nil
	}
	dstInfo, err := os.Stat(dst)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil // nothing there, or a dangling symlink, which is just replaced
	}
	if err != nil {
		return false, fmt.Errorf("destination %q: %w", dst, err)
	}
	if dstInfo.IsDir() != srcInfo.IsDir() {
		return false, fmt.Errorf("destination %q is a %s but source %q is a %s; remove the destination or fix the route",
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

// buildAt makes the new dst content at the free name tmp: a symlink to src, or a copy of it.
func buildAt(ctx context.Context, tmp, src string, srcInfo fs.FileInfo, allowLink bool) error {
	switch {
	case allowLink:
		if err := os.Symlink(src, tmp); err != nil {
			return fmt.Errorf("link to %q: %w", src, err)
		}
		return nil
	case srcInfo.IsDir():
		return copyDir(ctx, src, tmp, srcInfo, 0)
	default:
		return copyFile(ctx, src, tmp, srcInfo)
	}
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

// copyDir copies the directory src to the new directory dst, following symlinks.
func copyDir(ctx context.Context, src, dst string, srcInfo fs.FileInfo, depth int) error {
	if depth > maxCopyDepth {
		return fmt.Errorf("%q is nested more than %d directories deep (a symlink cycle?)", src, maxCopyDepth)
	}
	// Owner-writable while it fills; src's permissions are applied once it is complete, so a
	// read-only source directory can still be copied.
	if err := os.Mkdir(dst, 0o700); err != nil {
		return err
	}
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
		if info.IsDir() {
			err = copyDir(ctx, from, to, info, depth+1)
		} else {
			err = copyFile(ctx, from, to, info)
		}
		if err != nil {
			return err
		}
	}
	if err := os.Chmod(dst, srcInfo.Mode().Perm()); err != nil {
		return err
	}
	return syncDir(dst)
}

// copyFile copies the regular file src to the new file dst, with src's permissions.
func copyFile(ctx context.Context, src, dst string, srcInfo fs.FileInfo) error {
	// Anything else (a FIFO, a device) could block a read forever or never end.
	if !srcInfo.Mode().IsRegular() {
		return fmt.Errorf("%q is neither a regular file nor a directory", src)
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	err = writeNew(dst, srcInfo.Mode().Perm(), func(out *os.File) error {
		return copyContent(ctx, out, in)
	})
	if err != nil {
		return fmt.Errorf("copy %q: %w", src, err)
	}
	return nil
}

// copyContent copies in chunks so a cancelled copy stops between them; io.CopyN of a file into
// a file still lets the kernel copy each chunk (copy_file_range).
func copyContent(ctx context.Context, out, in *os.File) error {
	done := progress.Adder(ctx)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := copyN(out, in, copyChunk)
		done(n)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
