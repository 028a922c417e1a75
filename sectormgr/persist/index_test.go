package persist

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/config"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

func TestCacheFileNames(t *testing.T) {
	small := []string{"p_aux", "t_aux", "sc-02-data-tree-r-last.dat"}
	for _, size := range []abi.SectorSize{2 << 10, 8 << 20, 512 << 20} {
		if got, err := CacheFileNames(size); err != nil || !slices.Equal(got, small) {
			t.Errorf("CacheFileNames(%d) = %v, %v", size, got, err)
		}
	}
	want32 := []string{"p_aux", "t_aux",
		"sc-02-data-tree-r-last-0.dat", "sc-02-data-tree-r-last-1.dat", "sc-02-data-tree-r-last-2.dat", "sc-02-data-tree-r-last-3.dat",
		"sc-02-data-tree-r-last-4.dat", "sc-02-data-tree-r-last-5.dat", "sc-02-data-tree-r-last-6.dat", "sc-02-data-tree-r-last-7.dat"}
	if got, err := CacheFileNames(32 << 30); err != nil || !slices.Equal(got, want32) {
		t.Errorf("CacheFileNames(32GiB) = %v, %v", got, err)
	}
	got64, err := CacheFileNames(64 << 30)
	if err != nil || len(got64) != 18 || got64[2] != "sc-02-data-tree-r-last-0.dat" || got64[17] != "sc-02-data-tree-r-last-15.dat" {
		t.Errorf("CacheFileNames(64GiB) = %v, %v", got64, err)
	}
	_, err = CacheFileNames(4096)
	wantErr(t, "CacheFileNames(4096)", err, "unknown sector size 4096 bytes: want 2KiB, 8MiB, 512MiB, 32GiB or 64GiB")
}

// persistFixture has one store and one online sector of proof p with its files complete.
func persistFixture(t *testing.T, p abi.RegisteredSealProof, strict bool) (*fixture, *Manager, config.PersistStoreConfig, abi.SectorID) {
	t.Helper()
	f := newFixture(t)
	cfg := f.storeDir(t, "store1")
	cfg.Strict = strict
	m := f.open(t, cfg)
	sid := f.allocate(t, miner, p)
	size, err := p.SectorSize()
	if err != nil {
		t.Fatal(err)
	}
	writeSector(t, cfg.Path, sid, size, false)
	return f, m, cfg, sid
}

func TestSubmitPersistedIndexesACompleteSector(t *testing.T) {
	f, m, _, sid := persistFixture(t, proof2K, true)
	ok, err := m.SubmitPersisted(ctx, sid, "store1")
	if !ok || err != nil {
		t.Fatalf("SubmitPersisted = %v, %v", ok, err)
	}
	for key, want := range map[string]string{
		"sector-index/m-10000-n-1":             "store1",
		"sector-index/cache/m-10000-n-1":       "store1",
		"sector-upgrade/m-10000-n-1":           "<none>",
		"mock-sector-index/normal/m-10000-n-1": "<none>",
	} {
		if got := f.key(t, key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
}

// Each missing or wrong file makes SubmitPersisted answer false, not an error, and index nothing.
func TestSubmitPersistedRefusesIncompleteFiles(t *testing.T) {
	for _, c := range []struct {
		name  string
		proof abi.RegisteredSealProof
		files []string
	}{
		{"2KiB", proof2K, []string{"p_aux", "t_aux", "sc-02-data-tree-r-last.dat"}},
		{"32GiB", proof32G, []string{"p_aux", "t_aux",
			"sc-02-data-tree-r-last-0.dat", "sc-02-data-tree-r-last-1.dat", "sc-02-data-tree-r-last-2.dat", "sc-02-data-tree-r-last-3.dat",
			"sc-02-data-tree-r-last-4.dat", "sc-02-data-tree-r-last-5.dat", "sc-02-data-tree-r-last-6.dat", "sc-02-data-tree-r-last-7.dat"}},
	} {
		for _, missing := range append([]string{"sealed file"}, c.files...) {
			t.Run(c.name+"/"+missing, func(t *testing.T) {
				f, m, cfg, sid := persistFixture(t, c.proof, false)
				path := filepath.Join(cfg.Path, "cache", "s-t010000-1", missing)
				if missing == "sealed file" {
					path = filepath.Join(cfg.Path, "sealed", "s-t010000-1")
				}
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
				ok, err := m.SubmitPersisted(ctx, sid, "store1")
				if ok || err != nil {
					t.Fatalf("SubmitPersisted without %s = %v, %v; want false, nil", missing, ok, err)
				}
				if got := f.key(t, "sector-index/m-10000-n-1"); got != "<none>" {
					t.Errorf("indexed without %s: %q", missing, got)
				}
				// Once the file is there, the sector is accepted.
				writeFile(t, path, func() int64 {
					if missing == "sealed file" {
						size, _ := c.proof.SectorSize()
						return int64(size)
					}
					return 1
				}())
				if ok, err := m.SubmitPersisted(ctx, sid, "store1"); !ok || err != nil {
					t.Errorf("SubmitPersisted after restoring %s = %v, %v", missing, ok, err)
				}
			})
		}
	}
}

func TestSubmitPersistedChecksTheSealedFileSize(t *testing.T) {
	for _, size := range []int64{2047, 2049, 0} {
		_, m, cfg, sid := persistFixture(t, proof2K, false)
		writeFile(t, filepath.Join(cfg.Path, "sealed", "s-t010000-1"), size)
		if ok, err := m.SubmitPersisted(ctx, sid, "store1"); ok || err != nil {
			t.Errorf("sealed file of %d bytes: SubmitPersisted = %v, %v; want false, nil", size, ok, err)
		}
	}
}

// A Strict store wants regular files (a symlink to one is fine); a plain store wants them to exist.
func TestSubmitPersistedStrictWantsRegularFiles(t *testing.T) {
	for _, strict := range []bool{true, false} {
		_, m, cfg, sid := persistFixture(t, proof2K, strict)
		aux := filepath.Join(cfg.Path, "cache", "s-t010000-1", "t_aux")
		if err := os.Remove(aux); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(aux, 0o755); err != nil {
			t.Fatal(err)
		}
		if ok, err := m.SubmitPersisted(ctx, sid, "store1"); ok != !strict || err != nil {
			t.Errorf("Strict=%v, t_aux a directory: SubmitPersisted = %v, %v; want %v", strict, ok, err, !strict)
		}
		if err := os.Remove(aux); err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(t.TempDir(), "t_aux")
		writeFile(t, target, 1)
		if err := os.Symlink(target, aux); err != nil {
			t.Fatal(err)
		}
		if ok, err := m.SubmitPersisted(ctx, sid, "store1"); !ok || err != nil {
			t.Errorf("Strict=%v, t_aux a symlink to a file: SubmitPersisted = %v, %v; want true", strict, ok, err)
		}
	}
}

func TestSubmitPersistedErrors(t *testing.T) {
	_, m, _, sid := persistFixture(t, proof2K, false)
	ok, err := m.SubmitPersisted(ctx, abi.SectorID{Miner: miner, Number: 9}, "store1")
	if ok {
		t.Error("SubmitPersisted(unknown sector) = true")
	}
	wantUnwrapped11001(t, "SubmitPersisted(unknown sector)", err)

	_, err = m.SubmitPersisted(ctx, sid, "store9")
	wantErr(t, "SubmitPersisted(unknown store)", err,
		`persist store "store9" is not in [[Common.PersistStores]] of the manager: add it back and restart the manager`)

	// A cache path that runs through a file is a missing file too.
	_, m2, cfg2, sid2 := persistFixture(t, proof2K, false)
	cache := filepath.Join(cfg2.Path, "cache", "s-t010000-1")
	if err := os.RemoveAll(cache); err != nil {
		t.Fatal(err)
	}
	writeFile(t, cache, 1)
	if ok, err := m2.SubmitPersisted(ctx, sid2, "store1"); ok || err != nil {
		t.Errorf("cache dir a file: SubmitPersisted = %v, %v; want false, nil", ok, err)
	}
}

func TestSubmitPersistedUpgradeUsesUpdateFilesAndTheUpgradeIndex(t *testing.T) {
	f, m, cfg, sid := persistFixture(t, proof2K, false)
	// Only sealed/ and cache/ are there.
	if ok, err := m.SubmitPersistedUpgrade(ctx, sid, "store1"); ok || err != nil {
		t.Fatalf("SubmitPersistedUpgrade without update files = %v, %v; want false", ok, err)
	}
	writeSector(t, cfg.Path, sid, 2<<10, true)
	if ok, err := m.SubmitPersistedUpgrade(ctx, sid, "store1"); !ok || err != nil {
		t.Fatalf("SubmitPersistedUpgrade = %v, %v", ok, err)
	}
	for key, want := range map[string]string{
		"sector-upgrade/m-10000-n-1":       "store1",
		"sector-upgrade/cache/m-10000-n-1": "store1",
		"sector-index/m-10000-n-1":         "<none>",
	} {
		if got := f.key(t, key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	files, found, err := m.Locate(sid, true)
	if err != nil || !found {
		t.Fatalf("Locate(upgrade) = %+v, %v, %v", files, found, err)
	}
	if files.SealedFile != filepath.Join(cfg.Path, "update", "s-t010000-1") || files.CacheDir != filepath.Join(cfg.Path, "update-cache", "s-t010000-1") {
		t.Errorf("Locate(upgrade) = %+v", files)
	}
	if _, found, _ := m.Locate(sid, false); found {
		t.Error("Locate(normal) found a sector only the upgrade index has")
	}
	// damocles' SubmitPersistedEx is the same pair.
	if ok, err := m.SubmitPersistedEx(ctx, sid, "store1", true); !ok || err != nil {
		t.Errorf("SubmitPersistedEx(upgrade) = %v, %v", ok, err)
	}
	if ok, err := m.SubmitPersistedEx(ctx, sid, "store1", false); !ok || err != nil {
		t.Errorf("SubmitPersistedEx(normal) = %v, %v", ok, err)
	}
}

func TestSectorIndexerFind(t *testing.T) {
	f, m, _, sid := persistFixture(t, proof2K, false)
	loc, err := m.SectorIndexerFind(ctx, IndexNormal, sid)
	if got, want := jsonOf(t, loc), `{"Found":false,"Instance":{"SealedFile":"","CacheDir":""}}`; got != want || err != nil {
		t.Errorf("SectorIndexerFind before = %s, %v; want %s", got, err, want)
	}
	if ok, err := m.SubmitPersisted(ctx, sid, "store1"); !ok || err != nil {
		t.Fatalf("SubmitPersisted = %v, %v", ok, err)
	}
	loc, err = m.SectorIndexerFind(ctx, "normal", sid)
	if got, want := jsonOf(t, loc), `{"Found":true,"Instance":{"SealedFile":"store1","CacheDir":"store1"}}`; got != want || err != nil {
		t.Errorf("SectorIndexerFind = %s, %v; want %s", got, err, want)
	}
	if loc, err := m.SectorIndexerFind(ctx, "upgrade", sid); loc.Found || err != nil {
		t.Errorf("SectorIndexerFind(upgrade) = %+v, %v", loc, err)
	}
	_, err = m.SectorIndexerFind(ctx, "snap", sid)
	wantErr(t, "SectorIndexerFind(snap)", err, `sector index type "snap" is not supported: use "normal" or "upgrade"`)

	// An index written by `util storage attach --allow-splitted` names two stores; one without
	// a cache entry has its cache beside the sealed file.
	put := func(key, value string) {
		if err := f.db.Update(func(tx statedb.Txn) error { return tx.Put(key, []byte(value)) }); err != nil {
			t.Fatal(err)
		}
	}
	put("sector-index/m-10000-n-2", "store1")
	put("sector-index/cache/m-10000-n-2", "store2")
	put("sector-index/m-10000-n-3", "store3")
	for num, want := range map[abi.SectorNumber]string{
		2: `{"Found":true,"Instance":{"SealedFile":"store1","CacheDir":"store2"}}`,
		3: `{"Found":true,"Instance":{"SealedFile":"store3","CacheDir":"store3"}}`,
	} {
		loc, err := m.SectorIndexerFind(ctx, IndexNormal, abi.SectorID{Miner: miner, Number: num})
		if got := jsonOf(t, loc); got != want || err != nil {
			t.Errorf("SectorIndexerFind(%d) = %s, %v; want %s", num, got, err, want)
		}
	}
}

func TestLocate(t *testing.T) {
	f, m, cfg, sid := persistFixture(t, proof2K, false)
	if files, found, err := m.Locate(sid, false); found || err != nil {
		t.Errorf("Locate before SubmitPersisted = %+v, %v, %v", files, found, err)
	}
	if ok, err := m.SubmitPersisted(ctx, sid, "store1"); !ok || err != nil {
		t.Fatalf("SubmitPersisted = %v, %v", ok, err)
	}
	files, found, err := m.Locate(sid, false)
	if err != nil || !found {
		t.Fatalf("Locate = %+v, %v, %v", files, found, err)
	}
	want := `{"SealedStore":{"Name":"store1","Path":"` + cfg.Path + `","Meta":{}},"SealedFile":"` + cfg.Path + `/sealed/s-t010000-1",` +
		`"CacheStore":{"Name":"store1","Path":"` + cfg.Path + `","Meta":{}},"CacheDir":"` + cfg.Path + `/cache/s-t010000-1"}`
	if got := jsonOf(t, files); got != want {
		t.Errorf("Locate =\n%s\nwant\n%s", got, want)
	}

	// The store left the config: the index still names it, and Locate says so.
	other := f.storeDir(t, "store2")
	m2 := f.open(t, other)
	_, _, err = m2.Locate(sid, false)
	wantErr(t, "Locate with store1 gone", err,
		`sector s-t010000-1 is indexed in persist store "store1", which is not in [[Common.PersistStores]]: add the store back`)
}
