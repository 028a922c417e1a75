package store

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ipfs-force-community/venus-cluster-go/worker/store/storetest"
)

var (
	writeFile = storetest.WriteFile
	readFile  = storetest.ReadFile
)

func transfer(src, dst string, allowLink bool) error {
	return TransferFile(context.Background(), src, dst, allowLink)
}

// requireNoTemp checks no temporary (.<name>.tmp-*) was left in dir.
func requireNoTemp(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Fatalf("temporary %s left in %s", e.Name(), dir)
		}
	}
}

func requireNotExist(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s exists (%v), want nothing there", path, err)
	}
}

// replaceCopyN swaps the chunk copy of file copies for the test's duration.
func replaceCopyN(t *testing.T, f func(w io.Writer, r io.Reader, n int64) (int64, error)) {
	orig := copyN
	copyN = f
	t.Cleanup(func() { copyN = orig })
}

func TestTransferCopyFileCreatesParents(t *testing.T) {
	src := filepath.Join(t.TempDir(), "data", "sealed", "s-t010000-1")
	writeFile(t, src, "sealed bytes")
	dst := filepath.Join(t.TempDir(), "sealed", "s-t010000-1")

	if err := transfer(src, dst, false); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, dst); got != "sealed bytes" {
		t.Fatalf("dst content %q", got)
	}
	info, _ := os.Lstat(dst)
	if !info.Mode().IsRegular() {
		t.Fatalf("dst is %v, want a regular file", info.Mode())
	}
	if info.Mode().Perm() != 0o644 {
		t.Fatalf("dst perm %v, want the source's 0644", info.Mode().Perm())
	}
	requireNoTemp(t, filepath.Dir(dst))
}

func TestTransferReplacesExistingFile(t *testing.T) {
	src := filepath.Join(t.TempDir(), "p_aux")
	writeFile(t, src, "new")
	dst := filepath.Join(t.TempDir(), "p_aux")
	writeFile(t, dst, "old and longer")

	if err := transfer(src, dst, false); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, dst); got != "new" {
		t.Fatalf("dst content %q", got)
	}
}

func TestTransferLink(t *testing.T) {
	src := filepath.Join(t.TempDir(), "sealed")
	writeFile(t, src, "x")
	dst := filepath.Join(t.TempDir(), "a", "b", "sealed")
	if err := transfer(src, dst, true); err != nil {
		t.Fatal(err)
	}
	target, err := os.Readlink(dst)
	if err != nil || target != src {
		t.Fatalf("readlink %q, %v; want %q", target, err, src)
	}

	// a second link over an existing one replaces it
	src2 := filepath.Join(t.TempDir(), "sealed2")
	writeFile(t, src2, "y")
	if err := transfer(src2, dst, true); err != nil {
		t.Fatal(err)
	}
	if target, _ := os.Readlink(dst); target != src2 {
		t.Fatalf("link not replaced: %q", target)
	}
	if readFile(t, src) != "x" || readFile(t, src2) != "y" {
		t.Fatal("linking changed a source")
	}
	requireNoTemp(t, filepath.Dir(dst))
}

func TestTransferCopyOverLinkReplacesOnlyTheLink(t *testing.T) {
	dir := t.TempDir()
	linked := filepath.Join(dir, "store", "sealed")
	writeFile(t, linked, "replica")
	dst := filepath.Join(dir, "local", "sealed")
	if err := transfer(linked, dst, true); err != nil {
		t.Fatal(err)
	}

	other := filepath.Join(dir, "other")
	writeFile(t, other, "other")
	if err := transfer(other, dst, false); err != nil {
		t.Fatal(err)
	}
	if info, _ := os.Lstat(dst); !info.Mode().IsRegular() || readFile(t, dst) != "other" {
		t.Fatal("the link at dst was not replaced by a copy")
	}
	if readFile(t, linked) != "replica" {
		t.Fatal("copying over a link wrote through it")
	}
}

func TestTransferOntoItself(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "sealed")
	writeFile(t, src, "precious")
	// src reached through a symlink: linking its target to it would make a link cycle
	viaLink := filepath.Join(dir, "link")
	if err := os.Symlink(src, viaLink); err != nil {
		t.Fatal(err)
	}

	for _, from := range []string{src, viaLink} {
		if err := transfer(from, src, true); err != nil {
			t.Fatalf("link %s onto itself: %v", from, err)
		}
		err := transfer(from, src, false)
		requireErrContains(t, err, `destination "`+src+`" is the source`, "fix the route")
		if info, _ := os.Lstat(src); !info.Mode().IsRegular() || readFile(t, src) != "precious" {
			t.Fatalf("source damaged by a transfer from %s onto itself", from)
		}
	}
	requireNoTemp(t, dir)
}

func TestTransferDir(t *testing.T) {
	src := filepath.Join(t.TempDir(), "cache", "s-t010000-1")
	writeFile(t, filepath.Join(src, "p_aux"), "p")
	writeFile(t, filepath.Join(src, "sub", "t_aux"), "t")
	// a symlink inside is copied as content: the persisted copy must not point into data/
	outside := filepath.Join(t.TempDir(), "tree-d")
	writeFile(t, outside, "tree d")
	if err := os.Symlink(outside, filepath.Join(src, TreeDFileName)); err != nil {
		t.Fatal(err)
	}

	dst := filepath.Join(t.TempDir(), "cache", "s-t010000-1")
	writeFile(t, filepath.Join(dst, "stale"), "old")

	if err := transfer(src, dst, false); err != nil {
		t.Fatal(err)
	}
	if readFile(t, filepath.Join(dst, "p_aux")) != "p" || readFile(t, filepath.Join(dst, "sub", "t_aux")) != "t" {
		t.Fatal("dir content not copied")
	}
	tree := filepath.Join(dst, TreeDFileName)
	if info, err := os.Lstat(tree); err != nil || !info.Mode().IsRegular() || readFile(t, tree) != "tree d" {
		t.Fatalf("symlink in dir not copied as a file: %v", err)
	}
	requireNotExist(t, filepath.Join(dst, "stale"))
	requireNoTemp(t, filepath.Dir(dst))
}

func TestTransferDirKeepsPermissions(t *testing.T) {
	src := filepath.Join(t.TempDir(), "cache")
	writeFile(t, filepath.Join(src, "sub", "t_aux"), "t")
	for dir, perm := range map[string]os.FileMode{src: 0o750, filepath.Join(src, "sub"): 0o555} {
		if err := os.Chmod(dir, perm); err != nil {
			t.Fatal(err)
		}
	}
	dst := filepath.Join(t.TempDir(), "cache")
	t.Cleanup(func() { // so the test dirs can be removed when not run as root
		_ = os.Chmod(filepath.Join(src, "sub"), 0o755)
		_ = os.Chmod(filepath.Join(dst, "sub"), 0o755)
	})

	if err := transfer(src, dst, false); err != nil {
		t.Fatal(err)
	}
	for dir, want := range map[string]os.FileMode{dst: 0o750, filepath.Join(dst, "sub"): 0o555} {
		if info, err := os.Stat(dir); err != nil || info.Mode().Perm() != want {
			t.Fatalf("%s: %v, %v; want permissions %v", dir, info.Mode().Perm(), err, want)
		}
	}
	if readFile(t, filepath.Join(dst, "sub", "t_aux")) != "t" {
		t.Fatal("file in a read-only dir not copied")
	}
}

func TestTransferKindMismatch(t *testing.T) {
	srcFile := filepath.Join(t.TempDir(), "f")
	writeFile(t, srcFile, "x")
	dstDir := t.TempDir()
	writeFile(t, filepath.Join(dstDir, "keep"), "k")
	err := transfer(srcFile, dstDir, false)
	requireErrContains(t, err, `"`+dstDir+`" is a directory but source "`+srcFile+`" is a file`, "remove the destination")
	if readFile(t, filepath.Join(dstDir, "keep")) != "k" {
		t.Fatal("dest touched")
	}

	srcDir := t.TempDir()
	dstFile := filepath.Join(t.TempDir(), "f")
	writeFile(t, dstFile, "y")
	for _, link := range []bool{false, true} {
		err = transfer(srcDir, dstFile, link)
		requireErrContains(t, err, `"`+dstFile+`" is a file but source "`+srcDir+`" is a directory`)
		if readFile(t, dstFile) != "y" {
			t.Fatalf("dest touched (link %v)", link)
		}
	}
}

func TestTransferBadPaths(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	err := transfer(missing, filepath.Join(dir, "dst"), false)
	requireErrContains(t, err, missing, "no such file")
	requireNotExist(t, filepath.Join(dir, "dst"))

	src := filepath.Join(dir, "src")
	writeFile(t, src, "x")
	requireErrContains(t, transfer("relative/src", filepath.Join(dir, "d"), false), `"relative/src" must be an absolute path`)
	requireErrContains(t, transfer(src, "relative/dst", false), `"relative/dst" must be an absolute path`)
}

func TestTransferRefusesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "cache", "fifo")
	if err := os.MkdirAll(filepath.Dir(fifo), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	// Reading a FIFO nobody writes would block forever: both must fail at once.
	for _, src := range []string{fifo, filepath.Dir(fifo)} {
		dst := filepath.Join(dir, "dst", filepath.Base(src))
		requireErrContains(t, transfer(src, dst, false), fifo, "neither a regular file nor a directory")
		requireNotExist(t, dst)
	}
}

// sealedFile makes a 4 KiB source file and names a destination for it in an empty dir.
func sealedFile(t *testing.T) (src, dstDir, dst string) {
	src = filepath.Join(t.TempDir(), "sealed")
	writeFile(t, src, strings.Repeat("x", 4096))
	dstDir = t.TempDir()
	return src, dstDir, filepath.Join(dstDir, "sealed")
}

func TestTransferFailedFileCopyLeavesNothing(t *testing.T) {
	src, dstDir, dst := sealedFile(t)

	replaceCopyN(t, func(w io.Writer, r io.Reader, _ int64) (int64, error) {
		n, _ := io.CopyN(w, r, 100) // half-written, then the disk "fails"
		return n, errors.New("injected I/O error")
	})

	err := transfer(src, dst, false)
	requireErrContains(t, err, src, "injected I/O error")
	requireNotExist(t, dst)
	requireNoTemp(t, dstDir)

	// and a failed copy over an existing dst leaves the old content in place
	writeFile(t, dst, "previous")
	if err := transfer(src, dst, false); err == nil {
		t.Fatal("want an error")
	}
	if got := readFile(t, dst); got != "previous" {
		t.Fatalf("dst changed by a failed copy: %q", got)
	}
	requireNoTemp(t, dstDir)
}

// A directory copy fails on a link it cannot follow (broken, or a cycle) and leaves nothing.
func TestTransferFailedDirCopyLeavesNothing(t *testing.T) {
	for name, target := range map[string]string{"zz-broken": "gone", "loop": "."} {
		src := filepath.Join(t.TempDir(), "cache")
		writeFile(t, filepath.Join(src, "p_aux"), "p")
		link := filepath.Join(src, name)
		if err := os.Symlink(filepath.Join(src, target), link); err != nil {
			t.Fatal(err)
		}
		dstDir := t.TempDir()
		dst := filepath.Join(dstDir, "cache")

		requireErrContains(t, transfer(src, dst, false), link)
		requireNotExist(t, dst)
		requireNoTemp(t, dstDir)
	}
}

func TestTransferCancelledCopyStopsBetweenChunks(t *testing.T) {
	src, dstDir, dst := sealedFile(t)
	writeFile(t, dst, "previous")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	chunks := 0
	replaceCopyN(t, func(w io.Writer, r io.Reader, _ int64) (int64, error) {
		chunks++
		cancel() // the task is cancelled while this chunk is copied
		return io.CopyN(w, r, 100)
	})

	err := TransferFile(ctx, src, dst, false)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if chunks != 1 {
		t.Fatalf("copied %d chunks after the cancellation, want the copy to stop after the first", chunks)
	}
	if got := readFile(t, dst); got != "previous" {
		t.Fatalf("dst changed by a cancelled copy: %q", got)
	}
	requireNoTemp(t, dstDir)

	// A cancelled context stops a copy before its first chunk.
	chunks = 0
	if err := TransferFile(ctx, src, filepath.Join(dstDir, "other"), false); !errors.Is(err, context.Canceled) || chunks != 0 {
		t.Fatalf("got %v after %d chunks, want context.Canceled before any", err, chunks)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "t_aux")
	writeFile(t, path, "old and longer")
	if err := WriteFileAtomic(path, []byte("new"), 0o640); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o640 || readFile(t, path) != "new" {
		t.Fatalf("got %v, %v; want the new content with permissions 0640", info, err)
	}

	// A failed write leaves neither a half file nor a temporary behind.
	sub := filepath.Join(dir, "sub")
	writeFile(t, filepath.Join(sub, "x"), "x")
	requireErrContains(t, WriteFileAtomic(sub, []byte("data"), 0o644), `write "`+sub+`"`)
	requireNoTemp(t, dir)
	requireErrContains(t, WriteFileAtomic(filepath.Join(dir, "missing", "f"), nil, 0o644), "missing")
}

// A disk that fills up part-way through a copy (ENOSPC) fails the transfer with the error and the
// file's name, and leaves neither dst nor a temporary behind: nothing half-written can be taken
// for persisted.
func TestTransferOnAFullDiskLeavesNothing(t *testing.T) {
	src, dstDir, dst := sealedFile(t)
	replaceCopyN(t, func(w io.Writer, r io.Reader, _ int64) (int64, error) {
		n, _ := io.CopyN(w, r, 10)
		return n, &os.PathError{Op: "write", Path: "<tmp>", Err: syscall.ENOSPC}
	})
	err := transfer(src, dst, false)
	requireErrContains(t, err, src, "no space left on device")
	if !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("error %v does not wrap ENOSPC", err)
	}
	requireNotExist(t, dst)
	requireNoTemp(t, dstDir)
}

// A writer killed part-way leaves its temporary; the next writer of the same path removes it,
// and only temporaries of that path.
func TestRemoveStaleTemps(t *testing.T) {
	dir := t.TempDir()
	dst := filepath.Join(dir, "s-t010000-1")
	writeFile(t, filepath.Join(dir, ".s-t010000-1.tmp-AAAA"), "half")
	writeFile(t, filepath.Join(dir, ".s-t010000-1.tmp-BBBB", "p_aux"), "half dir")
	keep := []string{".s-t010000-10.tmp-CCCC", "s-t010000-1", ".s-t010000-1"}
	for _, k := range keep {
		writeFile(t, filepath.Join(dir, k), "keep")
	}
	if err := RemoveStaleTemps(dst); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != ".s-t010000-1 .s-t010000-10.tmp-CCCC s-t010000-1" {
		t.Fatalf("left %v", names)
	}
	if err := RemoveStaleTemps(filepath.Join(dir, "missing", "x")); err != nil {
		t.Fatalf("missing parent: %v", err)
	}
}
