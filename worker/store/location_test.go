package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/kvstore"
)

func initLocation(t *testing.T) string {
	t.Helper()
	loc := filepath.Join(t.TempDir(), "store1")
	if err := SealingInit(loc); err != nil {
		t.Fatalf("sealing-init: %v", err)
	}
	return loc
}

func openLocation(t *testing.T, loc string) *Location {
	t.Helper()
	l, err := OpenLocation(loc)
	if err != nil {
		t.Fatalf("open location: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func requireErrContains(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want an error containing %q, got nil", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not contain %q", err, p)
		}
	}
}

func TestSealingInitCreatesLayout(t *testing.T) {
	loc := initLocation(t)
	for name, wantDir := range map[string]bool{".holder": false, "data": true, "meta": true} {
		info, err := os.Lstat(filepath.Join(loc, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if info.IsDir() != wantDir {
			t.Fatalf("%s: is dir %v, want %v", name, info.IsDir(), wantDir)
		}
	}
	if _, err := os.Stat(filepath.Join(loc, "meta", kvstore.FileName)); err != nil {
		t.Fatalf("metadb file: %v", err)
	}
}

func TestSealingInitTwiceFailsNamingHolder(t *testing.T) {
	loc := initLocation(t)
	err := SealingInit(loc)
	requireErrContains(t, err, filepath.Join(loc, ".holder"))
}

func TestFileInit(t *testing.T) {
	loc := filepath.Join(t.TempDir(), "a", "b")
	if err := FileInit(loc); err != nil {
		t.Fatal(err)
	}
	if err := FileInit(loc); err != nil {
		t.Fatalf("file-init must be repeatable: %v", err)
	}
	if info, err := os.Stat(loc); err != nil || !info.IsDir() {
		t.Fatalf("not a dir: %v", err)
	}
}

func TestOpenLocationCanonicalRoot(t *testing.T) {
	loc := initLocation(t)
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(loc, link); err != nil {
		t.Fatal(err)
	}
	l := openLocation(t, link)
	want, _ := filepath.EvalSymlinks(loc)
	if l.Root != want {
		t.Fatalf("root %s, want %s", l.Root, want)
	}
	if err := l.DB.Put("meta/info", []byte("x")); err != nil {
		t.Fatal(err)
	}
}

func TestOpenLocationMissing(t *testing.T) {
	loc := filepath.Join(t.TempDir(), "nope")
	_, err := OpenLocation(loc)
	requireErrContains(t, err, loc, "venus-worker store sealing-init -l "+loc)
}

func TestOpenLocationDataIsSymlink(t *testing.T) {
	loc := initLocation(t)
	data := filepath.Join(loc, "data")
	elsewhere := t.TempDir()
	if err := os.Remove(data); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, data); err != nil {
		t.Fatal(err)
	}
	_, err := OpenLocation(loc)
	requireErrContains(t, err, `"`+data+`" is not a dir`)
}

func TestOpenLocationDataIsFile(t *testing.T) {
	loc := initLocation(t)
	data := filepath.Join(loc, "data")
	if err := os.Remove(data); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(data, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := OpenLocation(loc)
	requireErrContains(t, err, `"`+data+`" is not a dir`)
}

func TestOpenLocationMissingHolder(t *testing.T) {
	loc := initLocation(t)
	holder := filepath.Join(loc, ".holder")
	if err := os.Remove(holder); err != nil {
		t.Fatal(err)
	}
	_, err := OpenLocation(loc)
	requireErrContains(t, err, holder, "sealing-init")
}

func TestOpenLocationHolderIsDir(t *testing.T) {
	loc := initLocation(t)
	holder := filepath.Join(loc, ".holder")
	if err := os.Remove(holder); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(holder, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := OpenLocation(loc)
	requireErrContains(t, err, `"`+holder+`" is not a regular file`)
}

func TestOpenLocationTwiceIsLocked(t *testing.T) {
	loc := initLocation(t)
	openLocation(t, loc)
	_, err := OpenLocation(loc)
	requireErrContains(t, err, "is locked by another process")
}

func TestLocationDataSurvivesReopen(t *testing.T) {
	loc := initLocation(t)
	l, err := OpenLocation(loc)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.DB.Put("meta/info", []byte("PC1Done")); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openLocation(t, loc)
	if v, err := l.DB.Get("meta/info"); err != nil || string(v) != "PC1Done" {
		t.Fatalf("got %q, %v", v, err)
	}
}

func TestPathHelpers(t *testing.T) {
	l := openLocation(t, initLocation(t))
	sid := abi.SectorID{Miner: 10000, Number: 2}
	data := l.Root + "/data/"
	cases := map[string]string{
		l.Unsealed(sid):    data + "unsealed/s-t010000-2",
		l.Sealed(sid):      data + "sealed/s-t010000-2",
		l.Cache(sid):       data + "cache/s-t010000-2",
		l.Prepared(sid):    data + "prepared/s-t010000-2",
		l.Update(sid):      data + "update/s-t010000-2",
		l.UpdateCache(sid): data + "update-cache/s-t010000-2",
	}
	for got, want := range cases {
		if got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
	if l.DataDir() != l.Root+"/data" {
		t.Errorf("data dir %s", l.DataDir())
	}
}

func TestRel(t *testing.T) {
	l := openLocation(t, initLocation(t))
	sid := abi.SectorID{Miner: 10000, Number: 1}
	for path, want := range map[string]string{
		l.Sealed(sid):                              "sealed/s-t010000-1",
		filepath.Join(l.Cache(sid), "p_aux"):       "cache/s-t010000-1/p_aux",
		filepath.Join(l.UpdateCache(sid), "t_aux"): "update-cache/s-t010000-1/t_aux",
	} {
		got, err := l.Rel(path)
		if err != nil || got != want {
			t.Errorf("Rel(%s) = %q, %v; want %q", path, got, err, want)
		}
	}
	for _, bad := range []string{l.DataDir(), l.Root, filepath.Join(l.Root, "meta", "x"), "/elsewhere/sealed/x", "sealed/x"} {
		if _, err := l.Rel(bad); err == nil {
			t.Errorf("Rel(%s) accepted a path outside the data dir", bad)
		}
	}
}

func TestWipeData(t *testing.T) {
	l := openLocation(t, initLocation(t))
	sid := abi.SectorID{Miner: 10000, Number: 3}
	if err := os.MkdirAll(l.Cache(sid), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(l.Cache(sid), "p_aux"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(l.Sealed(sid)), 0o755); err != nil {
		t.Fatal(err)
	}
	// a symlink's target outside data/ must survive the wipe
	outside := filepath.Join(t.TempDir(), "keep")
	if err := os.WriteFile(outside, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, l.Sealed(sid)); err != nil {
		t.Fatal(err)
	}

	if err := l.WipeData(); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(l.DataDir())
	if err != nil {
		t.Fatalf("data dir must remain: %v", err)
	}
	if len(entries) != 0 {
		t.Fatalf("data dir not empty: %v", entries)
	}
	if _, err := os.Stat(outside); err != nil {
		t.Fatalf("wipe followed a symlink out of data/: %v", err)
	}
	if _, err := os.Stat(filepath.Join(l.Root, ".holder")); err != nil {
		t.Fatalf("wipe removed .holder: %v", err)
	}

	// repeatable, and safe when data/ itself is gone
	if err := l.WipeData(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(l.DataDir()); err != nil {
		t.Fatal(err)
	}
	if err := l.WipeData(); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Lstat(l.DataDir()); err != nil || !info.IsDir() {
		t.Fatalf("data dir not restored: %v", err)
	}
}

func TestWipeDataKeepsMetadb(t *testing.T) {
	l := openLocation(t, initLocation(t))
	if err := l.DB.Put("meta/info", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := l.WipeData(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.DB.Get("meta/info"); errors.Is(err, kvstore.ErrNotFound) || err != nil {
		t.Fatalf("wipe touched the metadb: %v", err)
	}
}

// A sealing location's metadb (the thread's job) is private to the worker's user.
func TestSealingMetaIsPrivate(t *testing.T) {
	loc := initLocation(t)
	openLocation(t, loc)
	for path, want := range map[string]os.FileMode{
		filepath.Join(loc, MetaDirName):                   0o700,
		filepath.Join(loc, MetaDirName, kvstore.FileName): 0o600,
	} {
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, %v; want %04o", path, fi.Mode().Perm(), err, want)
		}
	}
}
