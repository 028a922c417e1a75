package store

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// requireNoTemp checks no <name>.tmp-* file was left in dir.
func requireNoTemp(t *testing.T, dir string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Fatalf("temporary %s left in %s", e.Name(), dir)
		}
	}
}

func TestTransferCopyFileCreatesParents(t *testing.T) {
	src := filepath.Join(t.TempDir(), "data", "sealed", "s-t010000-1")
	writeFile(t, src, "sealed bytes")
	dst := filepath.Join(t.TempDir(), "sealed", "s-t010000-1")

	if err := TransferFile(src, dst, false); err != nil {
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

	if err := TransferFile(src, dst, false); err != nil {
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
	if err := TransferFile(src, dst, true); err != nil {
		t.Fatal(err)
	}
	target, err := os.Readlink(dst)
	if err != nil || target != src {
		t.Fatalf("readlink %q, %v; want %q", target, err, src)
	}

	// a second link over an existing one replaces it
	src2 := filepath.Join(t.TempDir(), "sealed2")
	writeFile(t, src2, "y")
	if err := TransferFile(src2, dst, true); err != nil {
		t.Fatal(err)
	}
	if target, _ := os.Readlink(dst); target != src2 {
		t.Fatalf("link not replaced: %q", target)
	}
	requireNoTemp(t, filepath.Dir(dst))
}

func TestTransferLinkOntoItselfKeepsSource(t *testing.T) {
	src := filepath.Join(t.TempDir(), "sealed")
	writeFile(t, src, "precious")
	if err := TransferFile(src, src, true); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, src); got != "precious" {
		t.Fatalf("source damaged: %q", got)
	}
}

func TestTransferDir(t *testing.T) {
	src := filepath.Join(t.TempDir(), "cache", "s-t010000-1")
	writeFile(t, filepath.Join(src, "p_aux"), "p")
	writeFile(t, filepath.Join(src, "sub", "t_aux"), "t")
	// a symlink inside is copied as content: the persisted copy must not point into data/
	outside := filepath.Join(t.TempDir(), "tree-d")
	writeFile(t, outside, "tree d")
	if err := os.Symlink(outside, filepath.Join(src, "sc-02-data-tree-d.dat")); err != nil {
		t.Fatal(err)
	}

	dst := filepath.Join(t.TempDir(), "cache", "s-t010000-1")
	writeFile(t, filepath.Join(dst, "stale"), "old")

	if err := TransferFile(src, dst, false); err != nil {
		t.Fatal(err)
	}
	if readFile(t, filepath.Join(dst, "p_aux")) != "p" || readFile(t, filepath.Join(dst, "sub", "t_aux")) != "t" {
		t.Fatal("dir content not copied")
	}
	tree := filepath.Join(dst, "sc-02-data-tree-d.dat")
	if info, err := os.Lstat(tree); err != nil || !info.Mode().IsRegular() || readFile(t, tree) != "tree d" {
		t.Fatalf("symlink in dir not copied as a file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dst, "stale")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("existing dest dir not replaced: %v", err)
	}
	requireNoTemp(t, filepath.Dir(dst))
}

func TestTransferKindMismatch(t *testing.T) {
	srcFile := filepath.Join(t.TempDir(), "f")
	writeFile(t, srcFile, "x")
	dstDir := t.TempDir()
	writeFile(t, filepath.Join(dstDir, "keep"), "k")
	err := TransferFile(srcFile, dstDir, false)
	requireErrContains(t, err, dstDir, "is a directory", srcFile)
	if readFile(t, filepath.Join(dstDir, "keep")) != "k" {
		t.Fatal("dest touched")
	}

	srcDir := t.TempDir()
	dstFile := filepath.Join(t.TempDir(), "f")
	writeFile(t, dstFile, "y")
	err = TransferFile(srcDir, dstFile, false)
	requireErrContains(t, err, dstFile, "is a file", srcDir)
	if readFile(t, dstFile) != "y" {
		t.Fatal("dest touched")
	}
}

func TestTransferBadPaths(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	err := TransferFile(missing, filepath.Join(dir, "dst"), false)
	requireErrContains(t, err, missing)
	if _, err := os.Lstat(filepath.Join(dir, "dst")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("dst created for a missing source")
	}

	src := filepath.Join(dir, "src")
	writeFile(t, src, "x")
	requireErrContains(t, TransferFile("relative/src", filepath.Join(dir, "d"), false), `"relative/src"`, "absolute")
	requireErrContains(t, TransferFile(src, "relative/dst", false), `"relative/dst"`, "absolute")
}

func TestTransferFailedFileCopyLeavesNothing(t *testing.T) {
	src := filepath.Join(t.TempDir(), "sealed")
	writeFile(t, src, strings.Repeat("x", 4096))
	dstDir := t.TempDir()
	dst := filepath.Join(dstDir, "sealed")

	orig := copyContents
	copyContents = func(w io.Writer, r io.Reader) (int64, error) {
		n, _ := io.CopyN(w, r, 100) // half-written, then the disk "fails"
		return n, errors.New("injected I/O error")
	}
	defer func() { copyContents = orig }()

	err := TransferFile(src, dst, false)
	requireErrContains(t, err, src, "injected I/O error")
	if _, err := os.Lstat(dst); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a failed copy left something at dst: %v", err)
	}
	requireNoTemp(t, dstDir)

	// and a failed copy over an existing dst leaves the old content in place
	writeFile(t, dst, "previous")
	if err := TransferFile(src, dst, false); err == nil {
		t.Fatal("want an error")
	}
	if got := readFile(t, dst); got != "previous" {
		t.Fatalf("dst changed by a failed copy: %q", got)
	}
	requireNoTemp(t, dstDir)
}

func TestTransferFailedDirCopyLeavesNothing(t *testing.T) {
	src := filepath.Join(t.TempDir(), "cache")
	writeFile(t, filepath.Join(src, "p_aux"), "p")
	broken := filepath.Join(src, "zz-broken")
	if err := os.Symlink(filepath.Join(src, "gone"), broken); err != nil {
		t.Fatal(err)
	}
	dstDir := t.TempDir()
	dst := filepath.Join(dstDir, "cache")

	err := TransferFile(src, dst, false)
	requireErrContains(t, err, broken)
	if _, err := os.Lstat(dst); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a failed dir copy left something at dst: %v", err)
	}
	requireNoTemp(t, dstDir)
}
