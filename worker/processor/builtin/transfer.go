package builtin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ipfs-force-community/venus-cluster-go/worker/processor"
)

// copyChunk is how much a copy moves between two checks of its context.
const copyChunk = 64 << 20

// maxCopyDepth bounds a directory copy, which follows symlinks, against link cycles.
const maxCopyDepth = 64

// Transfer runs the routes in order (spec §9.4): allow_link makes dest a symlink to src,
// otherwise src, a file or a directory, is copied. The first error stops the task. Call it
// through New, which recovers panics.
func Transfer(ctx context.Context, task processor.TransferInput) (bool, error) {
	for i, r := range task.Routes {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		if err := transferRoute(ctx, r); err != nil {
			return false, fmt.Errorf("transfer route %d (%s -> %s): %w", i, r.Src.URI, r.Dest.URI, err)
		}
	}
	return true, nil
}

func transferRoute(ctx context.Context, r processor.TransferRoute) error {
	src, dest := r.Src.URI, r.Dest.URI
	if !filepath.IsAbs(src) {
		return fmt.Errorf("src uri %q must be an absolute path", src)
	}
	if !filepath.IsAbs(dest) {
		return fmt.Errorf("dest uri %q must be an absolute path", dest)
	}
	srcInfo, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("src: %w", err)
	}
	if err := checkDest(src, srcInfo, dest); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return fmt.Errorf("create parent of dest: %w", err)
	}
	if r.Opt != nil && r.Opt.AllowLink {
		return link(src, dest)
	}
	return copyInto(ctx, src, srcInfo, dest)
}

// checkDest enforces that an existing dest is of the same kind as src, and that replacing it
// cannot destroy src.
func checkDest(src string, srcInfo os.FileInfo, dest string) error {
	lst, err := os.Lstat(dest)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("dest: %w", err)
	}
	destInfo := lst
	if lst.Mode()&fs.ModeSymlink != 0 {
		// Replacing a symlink never touches what it points to; a dangling one is just replaced.
		if destInfo, err = os.Stat(dest); err != nil {
			return nil
		}
	} else if os.SameFile(srcInfo, lst) {
		return fmt.Errorf("dest %s is src %s itself: replacing it would destroy the source", dest, src)
	}
	if destInfo.IsDir() != srcInfo.IsDir() {
		return fmt.Errorf("dest %s is a %s but src %s is a %s: remove dest or fix the route",
			dest, kind(destInfo), src, kind(srcInfo))
	}
	return nil
}

func kind(fi os.FileInfo) string {
	if fi.IsDir() {
		return "directory"
	}
	return "file"
}

// replace moves the finished tmp to dest. A rename replaces a file or a symlink atomically; a
// directory at dest (or any dest when tmp is a directory) must be removed first.
func replace(tmp, dest string, tmpIsDir bool) error {
	if lst, err := os.Lstat(dest); err == nil && (lst.IsDir() || tmpIsDir) {
		if err := os.RemoveAll(dest); err != nil {
			return fmt.Errorf("remove existing dest: %w", err)
		}
	}
	if err := os.Rename(tmp, dest); err != nil {
		return fmt.Errorf("move into dest: %w", err)
	}
	syncDir(filepath.Dir(dest))
	return nil
}

func link(src, dest string) error {
	tmp := tempName(dest)
	if err := os.Symlink(src, tmp); err != nil {
		return fmt.Errorf("symlink: %w", err)
	}
	if err := replace(tmp, dest, false); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// copyInto copies src to a temporary name next to dest, syncs it and renames it, so dest never
// holds half a copy.
func copyInto(ctx context.Context, src string, srcInfo os.FileInfo, dest string) error {
	tmp := tempName(dest)
	var err error
	if srcInfo.IsDir() {
		err = copyDir(ctx, src, tmp, srcInfo, 0)
	} else {
		err = copyFile(ctx, src, tmp, srcInfo)
	}
	if err == nil {
		err = replace(tmp, dest, srcInfo.IsDir())
	}
	if err != nil {
		os.RemoveAll(tmp)
	}
	return err
}

func copyFile(ctx context.Context, src, dst string, srcInfo os.FileInfo) error {
	if !srcInfo.Mode().IsRegular() {
		return fmt.Errorf("src %s is neither a regular file nor a directory", src)
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, srcInfo.Mode().Perm())
	if err != nil {
		return err
	}
	err = copyContent(ctx, out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return nil
}

// copyContent copies in chunks so a cancelled task stops between them; io.CopyN of a file into
// a file still lets the kernel copy (copy_file_range) each chunk.
func copyContent(ctx context.Context, out, in *os.File) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		_, err := io.CopyN(out, in, copyChunk)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// copyDir copies a directory tree. Symlinks inside it are followed: a persisted copy must stand
// on its own once the worker's local files are gone.
func copyDir(ctx context.Context, src, dst string, srcInfo os.FileInfo, depth int) error {
	if depth > maxCopyDepth {
		return fmt.Errorf("src %s is nested more than %d directories deep (a symlink cycle?)", src, maxCopyDepth)
	}
	if err := os.Mkdir(dst, srcInfo.Mode().Perm()|0o700); err != nil {
		return err
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		s, d := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		info, err := os.Stat(s)
		if err != nil {
			return fmt.Errorf("src: %w", err)
		}
		if info.IsDir() {
			err = copyDir(ctx, s, d, info, depth+1)
		} else {
			err = copyFile(ctx, s, d, info)
		}
		if err != nil {
			return err
		}
	}
	syncDir(dst)
	return nil
}
