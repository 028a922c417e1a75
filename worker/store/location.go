// Package store holds the worker's file stores: the local sealing location a sealing thread
// works in (<loc>/data, <loc>/meta, <loc>/.holder), the attached persist stores finished sectors
// are copied to, and the file transfer between them.
package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/kvstore"
)

// Names inside a sealing location.
const (
	HolderFileName = ".holder"
	DataDirName    = "data"
	MetaDirName    = "meta"
)

// SealingInit prepares a sealing location: the data dir, the .holder placeholder and the metadb.
// It refuses a location that already has a .holder, so two threads never share one by accident.
func SealingInit(loc string) error {
	if err := os.MkdirAll(filepath.Join(loc, DataDirName), 0o755); err != nil {
		return fmt.Errorf("init sealing location %s: %w", loc, err)
	}

	holder := filepath.Join(loc, HolderFileName)
	f, err := os.OpenFile(holder, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("sealing location %s is already initialised: %s exists", loc, holder)
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", holder, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("create %s: %w", holder, err)
	}

	db, err := kvstore.Open(filepath.Join(loc, MetaDirName))
	if err != nil {
		return err
	}
	return db.Close()
}

// FileInit prepares an attached (persist) store location.
func FileInit(loc string) error {
	if err := os.MkdirAll(loc, 0o755); err != nil {
		return fmt.Errorf("init file store %s: %w", loc, err)
	}
	return nil
}

// Location is an opened sealing location. While it is open it holds the metadb lock and keeps
// .holder open.
type Location struct {
	// Root is the canonical absolute path of the location.
	Root string
	DB   *kvstore.DB

	holder *os.File
}

// OpenLocation opens a sealing location made by SealingInit.
func OpenLocation(loc string) (*Location, error) {
	root, err := canonicalize(loc)
	if err != nil {
		return nil, fmt.Errorf("sealing location %q: %w; run `venus-worker store sealing-init -l %s` first", loc, err, loc)
	}

	if err := requireRealDir(filepath.Join(root, DataDirName), loc); err != nil {
		return nil, err
	}

	holder, err := openHolder(filepath.Join(root, HolderFileName), loc)
	if err != nil {
		return nil, err
	}

	db, err := kvstore.Open(filepath.Join(root, MetaDirName))
	if err != nil {
		_ = holder.Close()
		return nil, err
	}
	return &Location{Root: root, DB: db, holder: holder}, nil
}

// canonicalize returns the absolute, symlink-free form of an existing path.
func canonicalize(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

// requireRealDir checks path is a directory itself, not a symlink to one: everything under
// data/ is wiped after each sector, which must never reach outside the location.
func requireRealDir(path, loc string) error {
	info, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%q does not exist; run `venus-worker store sealing-init -l %s` first", path, loc)
	}
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return fmt.Errorf("%q is not a dir", path)
	}
	return nil
}

func openHolder(path, loc string) (*os.File, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%q does not exist; run `venus-worker store sealing-init -l %s` first", path, loc)
	}
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	if !info.Mode().IsRegular() {
		_ = f.Close()
		return nil, fmt.Errorf("%q is not a regular file", path)
	}
	return f, nil
}

// Close releases the metadb and the .holder file.
func (l *Location) Close() error {
	dbErr := l.DB.Close()
	holderErr := l.holder.Close()
	return errors.Join(dbErr, holderErr)
}

// DataDir is <loc>/data, the directory wiped after each sector.
func (l *Location) DataDir() string { return filepath.Join(l.Root, DataDirName) }

func (l *Location) sectorPath(kind string, sid abi.SectorID) string {
	return filepath.Join(l.DataDir(), kind, api.FormatSectorID(sid))
}

// Unsealed is the staged (unsealed, fr32-padded) data file.
func (l *Location) Unsealed(sid abi.SectorID) string { return l.sectorPath("unsealed", sid) }

// Sealed is the sealed replica (or, for snapup, the link to the original sealed file).
func (l *Location) Sealed(sid abi.SectorID) string { return l.sectorPath("sealed", sid) }

// Cache is the PC1/PC2 cache directory.
func (l *Location) Cache(sid abi.SectorID) string { return l.sectorPath("cache", sid) }

// Prepared is the directory tree_d is built into.
func (l *Location) Prepared(sid abi.SectorID) string { return l.sectorPath("prepared", sid) }

// Update is the snapup new replica.
func (l *Location) Update(sid abi.SectorID) string { return l.sectorPath("update", sid) }

// UpdateCache is the snapup new cache directory.
func (l *Location) UpdateCache(sid abi.SectorID) string { return l.sectorPath("update-cache", sid) }

// Rel gives path relative to <loc>/data (e.g. sealed/s-t010000-1): persisting copies a file to
// the same relative path in the attached store.
func (l *Location) Rel(path string) (string, error) {
	rel, err := filepath.Rel(l.DataDir(), path)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("%q is not under the data dir %s", path, l.DataDir())
	}
	return rel, nil
}

// WipeData removes everything under <loc>/data, keeping the directory itself. Entries that are
// already gone are fine: a wipe may be repeated after a crash part-way through.
func (l *Location) WipeData() error {
	dir := l.DataDir()
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		return fmt.Errorf("wipe %s: %w", dir, err)
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("wipe %s: %w", p, err)
		}
	}
	return nil
}
