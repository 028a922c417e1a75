package kvstore

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func openTemp(t *testing.T) (*DB, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "meta")
	db, err := Open(dir)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return db, dir
}

func TestPutGetDelete(t *testing.T) {
	db, _ := openTemp(t)
	defer db.Close()

	if _, err := db.Get("meta/info"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get missing key: want ErrNotFound, got %v", err)
	}
	if err := db.Put("meta/info", []byte(`{"version":1}`)); err != nil {
		t.Fatal(err)
	}
	got, err := db.Get("meta/info")
	if err != nil || string(got) != `{"version":1}` {
		t.Fatalf("get: %q, %v", got, err)
	}
	if err := db.Put("meta/info", []byte(`{"version":2}`)); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Get("meta/info"); string(got) != `{"version":2}` {
		t.Fatalf("overwrite: got %q", got)
	}
	if err := db.Delete("meta/info"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Get("meta/info"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: want ErrNotFound, got %v", err)
	}
	if err := db.Delete("meta/info"); err != nil {
		t.Fatalf("deleting a missing key must succeed: %v", err)
	}
}

func TestEmptyValueIsNotMissing(t *testing.T) {
	db, _ := openTemp(t)
	defer db.Close()
	if err := db.Put("k", []byte{}); err != nil {
		t.Fatal(err)
	}
	if v, err := db.Get("k"); err != nil || len(v) != 0 {
		t.Fatalf("got %q, %v", v, err)
	}
}

func TestSurvivesReopen(t *testing.T) {
	db, dir := openTemp(t)
	if err := db.Put("meta/info", []byte("state")); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got, err := db.Get("meta/info"); err != nil || string(got) != "state" {
		t.Fatalf("after reopen: %q, %v", got, err)
	}
	if db.Path() != filepath.Join(dir, "meta.db") {
		t.Fatalf("path %s", db.Path())
	}
}

func TestSecondOpenFailsLocked(t *testing.T) {
	db, dir := openTemp(t)
	defer db.Close()
	_, err := Open(dir)
	if err == nil {
		t.Fatal("second open of a locked kvstore succeeded")
	}
	want := "kvstore " + filepath.Join(dir, "meta.db") + " is locked by another process (is another daemon using it?)"
	if err.Error() != want {
		t.Fatalf("error %q, want %q", err, want)
	}
}

func TestPrefixedJoinsWithSlash(t *testing.T) {
	db, _ := openTemp(t)
	defer db.Close()
	meta := db.Prefixed("meta")
	if err := meta.Put("info", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Get("meta/info"); err != nil || string(got) != "x" {
		t.Fatalf("meta/info via db: %q, %v", got, err)
	}
	nested := db.Prefixed("trace").Prefixed("a")
	if err := nested.Put("b", []byte("y")); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Get("trace/a/b"); string(got) != "y" {
		t.Fatalf("nested prefix: got %q", got)
	}
	if err := meta.Delete("info"); err != nil {
		t.Fatal(err)
	}
	if _, err := meta.Get("info"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("view get after delete: %v", err)
	}
}

func TestOpenCreatesMissingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b", "meta")
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if !strings.HasPrefix(db.Path(), dir) {
		t.Fatalf("path %s not under %s", db.Path(), dir)
	}
}

// Every Put, Delete and Update is one counted commit, whether it changed anything or not; reads
// are not counted.
func TestStatsCountCommits(t *testing.T) {
	db, _ := openTemp(t)
	defer db.Close()
	before := ReadStats()
	if err := db.Put("a", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := db.Delete("missing"); err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *Txn) error { return tx.Put("b", []byte("2")) }); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Get("a"); err != nil {
		t.Fatal(err)
	}
	after := ReadStats()
	if got := after.Commits - before.Commits; got != 3 {
		t.Fatalf("commits: got %d, want 3", got)
	}
	if after.CommitTime <= before.CommitTime {
		t.Fatalf("commit time did not grow: %v then %v", before.CommitTime, after.CommitTime)
	}
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// The store is private to the daemon's user: meta/ 0700 and meta.db 0600, also when an older
// version left them readable by others; the parents it creates keep the usual 0755.
func TestStoreIsPrivate(t *testing.T) {
	parent := filepath.Join(t.TempDir(), "loc")
	dir := filepath.Join(parent, "meta")
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if m := mode(t, dir); m != 0o700 {
		t.Errorf("new meta dir mode %04o, want 0700", m)
	}
	if m := mode(t, filepath.Join(dir, FileName)); m != 0o600 {
		t.Errorf("new meta.db mode %04o, want 0600", m)
	}
	if m := mode(t, parent); m != 0o755 {
		t.Errorf("parent mode %04o, want 0755", m)
	}

	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Join(dir, FileName), 0o644)
	db, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if m := mode(t, dir); m != 0o700 {
		t.Errorf("reopened meta dir mode %04o, want 0700", m)
	}
	if m := mode(t, filepath.Join(dir, FileName)); m != 0o600 {
		t.Errorf("reopened meta.db mode %04o, want 0600", m)
	}
}
