// Package provingtest is a persist store of sectors' files in a directory for the tests and
// benchmarks of the provers: it locates a sector by its path, as the sector index would.
package provingtest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/persist"
)

// Store holds the files of Miner's sectors of SectorSize under Root.
type Store struct {
	Root       string
	Miner      abi.ActorID
	SectorSize abi.SectorSize
}

// Locate finds a sector whose sealed file is there (a sector never written is not in the index).
func (s Store) Locate(sid abi.SectorID, upgrade bool) (persist.SectorFiles, bool, error) {
	sealed, cache := persist.SectorPaths(sid, upgrade)
	if _, err := os.Stat(filepath.Join(s.Root, sealed)); err != nil {
		return persist.SectorFiles{}, false, nil
	}
	st := api.StoreBasicInfo{Name: "store1", Path: s.Root}
	return persist.SectorFiles{SealedStore: st, SealedFile: filepath.Join(s.Root, sealed), CacheStore: st, CacheDir: filepath.Join(s.Root, cache)}, true, nil
}

// Files are the sealed file and the cache files a PoSt reads for sector num.
func (s Store) Files(tb testing.TB, num abi.SectorNumber) (sealed string, cache []string) {
	tb.Helper()
	names, err := persist.CacheFileNames(s.SectorSize)
	if err != nil {
		tb.Fatal(err)
	}
	sealedPath, cacheDir := persist.SectorPaths(abi.SectorID{Miner: s.Miner, Number: num}, false)
	for _, n := range names {
		cache = append(cache, filepath.Join(s.Root, cacheDir, n))
	}
	return filepath.Join(s.Root, sealedPath), cache
}

// Write writes the sectors' files: a sealed file of SectorSize zeros and the cache files.
func (s Store) Write(tb testing.TB, nums ...abi.SectorNumber) {
	tb.Helper()
	for _, num := range nums {
		sealed, cache := s.Files(tb, num)
		for _, dir := range []string{filepath.Dir(sealed), filepath.Dir(cache[0])} {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				tb.Fatal(err)
			}
		}
		if err := os.WriteFile(sealed, make([]byte, s.SectorSize), 0o644); err != nil {
			tb.Fatal(err)
		}
		for _, f := range cache {
			if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

// RemoveSealed removes a sector's sealed file.
func (s Store) RemoveSealed(tb testing.TB, num abi.SectorNumber) {
	tb.Helper()
	sealed, _ := s.Files(tb, num)
	if err := os.Remove(sealed); err != nil {
		tb.Fatal(err)
	}
}
