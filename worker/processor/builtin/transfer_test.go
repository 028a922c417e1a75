package builtin

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipfs-force-community/venus-cluster-go/worker/processor"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func route(src, dest string, opt *processor.TransferOption) processor.TransferRoute {
	return processor.TransferRoute{Src: processor.TransferItem{URI: src}, Dest: processor.TransferItem{URI: dest}, Opt: opt}
}

var linkOpt = &processor.TransferOption{AllowLink: true}

func transfer(routes ...processor.TransferRoute) error {
	ok, err := New().Transfer.Process(context.Background(), processor.TransferInput{Routes: routes})
	if err == nil && !ok {
		return errors.New("transfer returned false without an error")
	}
	return err
}

// noTempFiles fails if a transfer left a temporary file in dir.
func noTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Fatalf("temporary file %s left in %s", e.Name(), dir)
		}
	}
}

func TestTransferCopiesFilesInOrder(t *testing.T) {
	dir := t.TempDir()
	sealed, paux := filepath.Join(dir, "local/sealed/s-t01-1"), filepath.Join(dir, "local/cache/s-t01-1/p_aux")
	write(t, sealed, "replica")
	write(t, paux, "aux")
	destSealed, destAux := filepath.Join(dir, "store/sealed/s-t01-1"), filepath.Join(dir, "store/cache/s-t01-1/p_aux")

	if err := transfer(route(sealed, destSealed, nil), route(paux, destAux, &processor.TransferOption{})); err != nil {
		t.Fatal(err)
	}
	if read(t, destSealed) != "replica" || read(t, destAux) != "aux" {
		t.Fatal("copies differ from their sources")
	}
	if st, _ := os.Lstat(destSealed); !st.Mode().IsRegular() {
		t.Fatalf("copy is a %v, want a regular file", st.Mode())
	}
	noTempFiles(t, filepath.Dir(destSealed))
	noTempFiles(t, filepath.Dir(destAux))
}

func TestTransferReplacesAnExistingFile(t *testing.T) {
	dir := t.TempDir()
	src, dest := filepath.Join(dir, "src"), filepath.Join(dir, "dest")
	write(t, src, "new")
	write(t, dest, "old content, longer than the new one")
	if err := transfer(route(src, dest, nil)); err != nil {
		t.Fatal(err)
	}
	if got := read(t, dest); got != "new" {
		t.Fatalf("dest holds %q", got)
	}
}

func TestTransferCopiesDirectories(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "cache")
	write(t, filepath.Join(src, "p_aux"), "p")
	write(t, filepath.Join(src, "sub/t_aux"), "t")
	outside := filepath.Join(dir, "prepared/tree-d")
	write(t, outside, "tree")
	if err := os.Symlink(outside, filepath.Join(src, "tree_d")); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(dir, "store/cache")
	write(t, filepath.Join(dest, "stale"), "from an earlier copy")

	if err := transfer(route(src, dest, &processor.TransferOption{IsDir: true})); err != nil {
		t.Fatal(err)
	}
	if read(t, filepath.Join(dest, "p_aux")) != "p" || read(t, filepath.Join(dest, "sub/t_aux")) != "t" {
		t.Fatal("directory copy differs from its source")
	}
	// A persisted copy must not point back into the worker's local files.
	if st, err := os.Lstat(filepath.Join(dest, "tree_d")); err != nil || !st.Mode().IsRegular() || read(t, filepath.Join(dest, "tree_d")) != "tree" {
		t.Fatalf("symlink in the source was not copied as its content: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dest, "stale")); !os.IsNotExist(err) {
		t.Fatal("the existing dest directory was not replaced")
	}
	noTempFiles(t, filepath.Dir(dest))
}

func TestTransferLinks(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "store/sealed/s")
	write(t, src, "replica")
	dest := filepath.Join(dir, "local/sealed/s")

	// Twice: the second run replaces the link made by the first.
	for i := 0; i < 2; i++ {
		if err := transfer(route(src, dest, linkOpt)); err != nil {
			t.Fatal(err)
		}
		target, err := os.Readlink(dest)
		if err != nil || target != src {
			t.Fatalf("dest links to %q (%v), want %q", target, err, src)
		}
	}
	if read(t, src) != "replica" {
		t.Fatal("linking changed the source")
	}

	// Copying over a link replaces the link and leaves what it pointed to alone.
	other := filepath.Join(dir, "other")
	write(t, other, "other")
	if err := transfer(route(other, dest, nil)); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Lstat(dest); !st.Mode().IsRegular() || read(t, dest) != "other" || read(t, src) != "replica" {
		t.Fatal("copy over a link did not replace just the link")
	}
}

func TestTransferRejectsBadRoutes(t *testing.T) {
	dir := t.TempDir()
	file, sub := filepath.Join(dir, "file"), filepath.Join(dir, "sub")
	write(t, file, "content")
	write(t, filepath.Join(sub, "x"), "x")

	cases := []struct {
		name  string
		route processor.TransferRoute
		want  string
	}{
		{"relative src", route("file", filepath.Join(dir, "d"), nil), "must be an absolute path"},
		{"relative dest", route(file, "d", nil), "must be an absolute path"},
		{"missing src", route(filepath.Join(dir, "missing"), filepath.Join(dir, "d"), nil), "no such file"},
		{"file onto a directory", route(file, sub, nil), "is a directory but src"},
		{"directory onto a file", route(sub, file, linkOpt), "is a file but src"},
		{"file onto itself", route(file, file, nil), "would destroy the source"},
	}
	for _, c := range cases {
		if err := transfer(c.route); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		}
	}
	if read(t, file) != "content" || read(t, filepath.Join(sub, "x")) != "x" {
		t.Fatal("a rejected route changed a file")
	}
}

func TestTransferStopsAtTheFirstError(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	write(t, src, "x")
	after := filepath.Join(dir, "after")
	err := transfer(route(src, filepath.Join(dir, "a"), nil), route(filepath.Join(dir, "missing"), filepath.Join(dir, "b"), nil), route(src, after, nil))
	if err == nil || !strings.Contains(err.Error(), "transfer route 1") {
		t.Fatalf("got %v, want an error naming route 1", err)
	}
	if _, err := os.Stat(after); !os.IsNotExist(err) {
		t.Fatal("a route after the failed one ran")
	}
}

func TestTransferHonoursCancellation(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	write(t, src, "x")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := New().Transfer.Process(ctx, processor.TransferInput{Routes: []processor.TransferRoute{route(src, filepath.Join(dir, "d"), nil)}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}
