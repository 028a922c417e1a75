package persist

import (
	"slices"
	"testing"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

func openAny(t *testing.T) (*fixture, *Manager) {
	t.Helper()
	f := newFixture(t)
	return f, OpenAny(f.db, f.sectors, f.options()...)
}

func TestAnyKnowsEveryStore(t *testing.T) {
	_, m := openAny(t)
	for _, name := range []string{"store1", "/mnt/worker-a/store", ""} {
		info, err := m.StoreBasicInfo(ctx, name)
		if got, want := jsonOf(t, info), `{"Name":"`+name+`","Path":"`+name+`","Meta":{}}`; got != want || err != nil {
			t.Errorf("StoreBasicInfo(%q) = %s, %v; want %s", name, got, err, want)
		}
	}
	list, err := m.StoreList(ctx)
	if got := jsonOf(t, list); got != "[]" || err != nil {
		t.Errorf("StoreList = %s, %v; want []", got, err)
	}
}

func TestAnyReservesARandomCandidate(t *testing.T) {
	f, m := openAny(t)
	sid := f.allocate(t, miner, proof2K)
	f.next = 1
	got, err := m.StoreReserveSpace(ctx, sid, ^uint64(0), []string{"a", "b", "c"})
	if got, want := jsonOf(t, got), `{"Name":"b","Path":"b","Meta":{}}`; got != want || err != nil {
		t.Errorf("StoreReserveSpace = %s, %v; want %s", got, err, want)
	}
	if !slices.Equal(f.asked, []uint64{3}) {
		t.Errorf("random draws over %v, want [3]", f.asked)
	}
	if got, err := m.StoreReserveSpace(ctx, sid, 4096, nil); got != nil || err != nil {
		t.Errorf("StoreReserveSpace without candidates = %+v, %v; want null", got, err)
	}
	_, err = m.StoreReserveSpace(ctx, abi.SectorID{Miner: miner, Number: 9}, 4096, []string{"a"})
	wantUnwrapped11001(t, "StoreReserveSpace(unknown sector)", err)
	if _, err := f.db.Get(ReserveSummaryKey); err == nil {
		t.Error("the mock's mode wrote a reserve summary")
	}
	if released, err := m.StoreReleaseReserved(ctx, sid); released || err != nil {
		t.Errorf("StoreReleaseReserved = %v, %v; want false", released, err)
	}
}

// SubmitPersisted accepts a sector without files and indexes it under the keys the mock's
// snap-up reads (mock-sector-index/normal/m-<miner>-n-<num>).
func TestAnyAcceptsEverySectorAndIndexesIt(t *testing.T) {
	f, m := openAny(t)
	sid := f.allocate(t, miner, proof2K)
	if ok, err := m.SubmitPersisted(ctx, sid, "/mnt/store1"); !ok || err != nil {
		t.Fatalf("SubmitPersisted = %v, %v", ok, err)
	}
	for key, want := range map[string]string{
		"mock-sector-index/normal/m-10000-n-1":       "/mnt/store1",
		"mock-sector-index/normal/cache/m-10000-n-1": "/mnt/store1",
		"sector-index/m-10000-n-1":                   "<none>",
	} {
		if got := f.key(t, key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if ok, err := m.SubmitPersistedUpgrade(ctx, sid, "/mnt/store2"); !ok || err != nil {
		t.Fatalf("SubmitPersistedUpgrade = %v, %v", ok, err)
	}
	if got := f.key(t, "mock-sector-index/upgrade/m-10000-n-1"); got != "/mnt/store2" {
		t.Errorf("upgrade index = %q", got)
	}
	ok, err := m.SubmitPersisted(ctx, abi.SectorID{Miner: miner, Number: 9}, "/mnt/store1")
	if ok {
		t.Error("SubmitPersisted(unknown sector) = true")
	}
	wantUnwrapped11001(t, "SubmitPersisted(unknown sector)", err)
}

// A mock home written before this package had only mock-sector-index/normal/<key>; it is still
// found, with the cache dir beside the sealed file.
func TestAnyReadsAnExistingMockHome(t *testing.T) {
	f, m := openAny(t)
	if err := f.db.Update(func(tx statedb.Txn) error {
		return tx.Put("mock-sector-index/normal/m-10000-n-4", []byte("/mnt/store1"))
	}); err != nil {
		t.Fatal(err)
	}
	sid := abi.SectorID{Miner: miner, Number: 4}
	files, found, err := m.Locate(sid, false)
	if err != nil || !found {
		t.Fatalf("Locate = %+v, %v, %v", files, found, err)
	}
	want := `{"SealedStore":{"Name":"/mnt/store1","Path":"/mnt/store1","Meta":{}},"SealedFile":"/mnt/store1/sealed/s-t010000-4",` +
		`"CacheStore":{"Name":"/mnt/store1","Path":"/mnt/store1","Meta":{}},"CacheDir":"/mnt/store1/cache/s-t010000-4"}`
	if got := jsonOf(t, files); got != want {
		t.Errorf("Locate =\n%s\nwant\n%s", got, want)
	}
	loc, err := m.SectorIndexerFind(ctx, IndexNormal, sid)
	if got, want := jsonOf(t, loc), `{"Found":true,"Instance":{"SealedFile":"/mnt/store1","CacheDir":"/mnt/store1"}}`; got != want || err != nil {
		t.Errorf("SectorIndexerFind = %s, %v; want %s", got, err, want)
	}
}
