package persist

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
)

// Directories of a store that hold persisted sectors: a sealed sector's file and cache dir, and
// a snap-up's (upgraded) ones.
const (
	SealedDir      = "sealed"
	CacheDir       = "cache"
	UpdateDir      = "update"
	UpdateCacheDir = "update-cache"
)

// SectorPaths are a sector's sealed (or update) file and cache (or update-cache) dir relative to
// their store, e.g. sealed/s-t010000-1 and cache/s-t010000-1.
func SectorPaths(sid abi.SectorID, upgrade bool) (sealedFile, cacheDir string) {
	name := api.FormatSectorID(sid)
	if upgrade {
		return filepath.Join(UpdateDir, name), filepath.Join(UpdateCacheDir, name)
	}
	return filepath.Join(SealedDir, name), filepath.Join(CacheDir, name)
}

// CacheFileNames are the files a sector's cache dir must hold for WindowPoSt (spec §4.8):
// p_aux, t_aux and the tree-r-last file(s) of the sector size.
func CacheFileNames(size abi.SectorSize) ([]string, error) {
	names := []string{"p_aux", "t_aux"}
	switch size {
	case 2 << 10, 8 << 20, 512 << 20:
		return append(names, "sc-02-data-tree-r-last.dat"), nil
	case 32 << 30:
		return appendTreeRLast(names, 8), nil
	case 64 << 30:
		return appendTreeRLast(names, 16), nil
	}
	return nil, fmt.Errorf("unknown sector size %d bytes: want 2KiB, 8MiB, 512MiB, 32GiB or 64GiB", uint64(size))
}

func appendTreeRLast(names []string, n int) []string {
	for i := range n {
		names = append(names, fmt.Sprintf("sc-02-data-tree-r-last-%d.dat", i))
	}
	return names
}

// FileProblem says which persisted file is missing or wrong; CheckSectorFiles returns it for
// anything a re-transfer of the sector would fix, and other errors for failures to look.
type FileProblem struct {
	Path    string
	Problem string
}

func (p *FileProblem) Error() string { return p.Path + ": " + p.Problem }

// CheckSectorFiles checks the persisted files of sid under the store directories sealedStore
// and cacheStore: the sealed (or update) file must be size bytes, and the cache (or update-cache)
// dir must hold CacheFileNames(size). A strict store also requires every one to be a regular
// file (symlinks are followed).
func CheckSectorFiles(sealedStore, cacheStore string, sid abi.SectorID, size abi.SectorSize, upgrade, strict bool) error {
	names, err := CacheFileNames(size)
	if err != nil {
		return err
	}
	sealedRel, cacheRel := SectorPaths(sid, upgrade)
	sealed := filepath.Join(sealedStore, sealedRel)
	fi, err := statFile(sealed, strict)
	if err != nil {
		return err
	}
	if fi.Size() != int64(size) {
		return &FileProblem{Path: sealed, Problem: fmt.Sprintf("size is %d bytes, the sector size is %d", fi.Size(), uint64(size))}
	}
	for _, name := range names {
		if _, err := statFile(filepath.Join(cacheStore, cacheRel, name), strict); err != nil {
			return err
		}
	}
	return nil
}

// statFile stats path, giving a FileProblem when it is missing or, strict, not a regular file.
func statFile(path string, strict bool) (fs.FileInfo, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, &FileProblem{Path: path, Problem: "missing"}
	}
	if err != nil {
		return nil, fmt.Errorf("check persisted file: %w", err)
	}
	if strict && !fi.Mode().IsRegular() {
		return nil, &FileProblem{Path: path, Problem: fmt.Sprintf("not a regular file (%s) in a Strict store", fi.Mode().Type())}
	}
	return fi, nil
}
