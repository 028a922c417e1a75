package persist

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

func TestReserveSpaceNeedsAnOnlineSector(t *testing.T) {
	f := newFixture(t)
	m := f.open(t, f.storeDir(t, "store1"))
	got, err := m.StoreReserveSpace(ctx, abi.SectorID{Miner: miner, Number: 7}, 4096, nil)
	if got != nil {
		t.Errorf("StoreReserveSpace(unknown sector) = %+v", got)
	}
	wantUnwrapped11001(t, "StoreReserveSpace(unknown sector)", err)
	if _, err := f.db.Get(ReserveSummaryKey); !errors.Is(err, statedb.ErrNotFound) {
		t.Errorf("summary written for an unknown sector: %v", err)
	}
}

// reserveAll reserves for each sector in turn, with the random source answering r, and returns
// the chosen stores' names.
func reserveAll(t *testing.T, f *fixture, m *Manager, sids []abi.SectorID, size uint64, candidates []string, r uint64) []string {
	t.Helper()
	var names []string
	for _, sid := range sids {
		f.next = r
		got, err := m.StoreReserveSpace(ctx, sid, size, candidates)
		if err != nil {
			t.Fatalf("StoreReserveSpace(%v): %v", sid, err)
		}
		names = append(names, storeName(got))
	}
	return names
}

func TestReserveSpaceMinerPolicy(t *testing.T) {
	f := newFixture(t)
	allow1000 := f.storeDir(t, "allow-1000")
	allow1000.AllowMiners = []abi.ActorID{1000}
	deny10000 := f.storeDir(t, "deny-10000")
	deny10000.DenyMiners = []abi.ActorID{10000}
	both := f.storeDir(t, "both")
	both.AllowMiners, both.DenyMiners = []abi.ActorID{10000, 1000}, []abi.ActorID{10000}
	anyMiner := f.storeDir(t, "any")
	m := f.open(t, allow1000, deny10000, both, anyMiner)

	// Miner 10000: denied by deny-10000 and by both (deny wins), not in allow-1000's list.
	s10000 := f.allocate(t, 10000, proof2K)
	if got := reserveAll(t, f, m, []abi.SectorID{s10000}, 4096, nil, 0); !slices.Equal(got, []string{"any"}) {
		t.Errorf("miner 10000 got %v, want [any]", got)
	}
	// Miner 1000: every store admits it; r walks through them in config order.
	var s1000 []abi.SectorID
	for range 4 {
		s1000 = append(s1000, f.allocate(t, 1000, proof2K))
	}
	for r, want := range []string{"allow-1000", "deny-10000", "both", "any"} {
		if got := reserveAll(t, f, m, s1000[r:r+1], 4096, nil, uint64(r)); !slices.Equal(got, []string{want}) {
			t.Errorf("miner 1000, r=%d: got %v, want %s", r, got, want)
		}
	}
	// Miner 2000: only where no allow list excludes it.
	s2000 := f.allocate(t, 2000, proof2K)
	if got := reserveAll(t, f, m, []abi.SectorID{s2000}, 4096, nil, 1); !slices.Equal(got, []string{"any"}) {
		t.Errorf("miner 2000 got %v, want [any] (r=1 of deny-10000, any)", got)
	}
	if want := []uint64{1, 4, 4, 4, 4, 2}; !slices.Equal(f.asked, want) {
		t.Errorf("random draws over %v, want %v", f.asked, want)
	}
}

func TestReserveSpaceCandidates(t *testing.T) {
	f := newFixture(t)
	m := f.open(t, f.storeDir(t, "a"), f.storeDir(t, "b"), f.storeDir(t, "c"))
	sids := []abi.SectorID{f.allocate(t, miner, proof2K), f.allocate(t, miner, proof2K), f.allocate(t, miner, proof2K)}

	if got := reserveAll(t, f, m, sids[:1], 4096, []string{"x", "c"}, 0); !slices.Equal(got, []string{"c"}) {
		t.Errorf("candidates [x c] got %v", got)
	}
	if got := reserveAll(t, f, m, sids[1:2], 4096, []string{"x"}, 0); !slices.Equal(got, []string{"<null>"}) {
		t.Errorf("candidates [x] got %v, want null", got)
	}
	if got := reserveAll(t, f, m, sids[2:3], 4096, nil, 2); !slices.Equal(got, []string{"c"}) {
		t.Errorf("no candidates, r=2 got %v", got)
	}
	if want := []uint64{1, 3}; !slices.Equal(f.asked, want) {
		t.Errorf("random draws over %v, want %v", f.asked, want)
	}
}

func TestReserveSpaceIsIdempotentForTheSameSize(t *testing.T) {
	f := newFixture(t)
	m := f.open(t, f.storeDir(t, "a"), f.storeDir(t, "b"))
	sid := f.allocate(t, miner, proof2K)

	if got := reserveAll(t, f, m, []abi.SectorID{sid}, 4096, nil, 0); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("first reservation got %v", got)
	}
	before := f.summary(t)
	// Asked again (the worker lost the answer): the same store, nothing added, even where the
	// random choice would now say b.
	if got := reserveAll(t, f, m, []abi.SectorID{sid, sid}, 4096, nil, 1); !slices.Equal(got, []string{"a", "a"}) {
		t.Errorf("repeated reservations got %v, want [a a]", got)
	}
	if after := f.summary(t); after != before {
		t.Errorf("summary changed by a repeat:\n%s\nwas\n%s", after, before)
	}
	// Another size is a new reservation; on the same store it replaces the old one.
	if got := reserveAll(t, f, m, []abi.SectorID{sid}, 8192, nil, 0); !slices.Equal(got, []string{"a"}) {
		t.Errorf("reservation of another size got %v", got)
	}
	want := `{"Stats":{"a":{"ReservedSize":8192,"Reserved":{"s-t010000-1":{"By":"s-t010000-1","Size":8192,"At":1700000000}}}}}`
	if got := f.summary(t); got != want {
		t.Errorf("summary = %s\nwant %s", got, want)
	}
	// A candidate list without the store holding the reservation does not see it.
	if got := reserveAll(t, f, m, []abi.SectorID{sid}, 8192, []string{"b"}, 0); !slices.Equal(got, []string{"b"}) {
		t.Errorf("reservation restricted to b got %v", got)
	}
}

func TestReserveSpaceSkipsReadOnlyAndFullStores(t *testing.T) {
	f := newFixture(t)
	ro := f.storeDir(t, "readonly")
	ro.ReadOnly = true
	small := f.storeDir(t, "small")
	f.setDisk(small.Path, 10000)
	broken := f.storeDir(t, "broken")
	delete(f.disks, broken.Path)
	m := f.open(t, ro, broken, small)

	var sids []abi.SectorID
	for range 3 {
		sids = append(sids, f.allocate(t, miner, proof2K))
	}
	// 4096 + 4096 fit in 10000 free bytes; a third does not.
	if got := reserveAll(t, f, m, sids, 4096, nil, 0); !slices.Equal(got, []string{"small", "small", "<null>"}) {
		t.Errorf("reservations got %v, want [small small <null>]", got)
	}
	want := `{"Stats":{"small":{"ReservedSize":8192,"Reserved":{` +
		`"s-t010000-1":{"By":"s-t010000-1","Size":4096,"At":1700000000},` +
		`"s-t010000-2":{"By":"s-t010000-2","Size":4096,"At":1700000000}}}}}`
	if got := f.summary(t); got != want {
		t.Errorf("summary = %s\nwant %s", got, want)
	}
	// Space freed on the disk counts at once; the reservations still count.
	f.setDisk(small.Path, 12288)
	if got := reserveAll(t, f, m, sids[2:], 4096, nil, 0); !slices.Equal(got, []string{"small"}) {
		t.Errorf("after the disk grew: %v", got)
	}
	// A size that does not fit even an empty store, however large, is no store (no overflow).
	big := f.allocate(t, miner, proof2K)
	if got := reserveAll(t, f, m, []abi.SectorID{big}, ^uint64(0), nil, 0); !slices.Equal(got, []string{"<null>"}) {
		t.Errorf("reservation of 2^64-1 bytes got %v", got)
	}
}

func TestReserveSpaceWeights(t *testing.T) {
	f := newFixture(t)
	light := f.storeDir(t, "weight-0")
	heavy := f.storeDir(t, "weight-3")
	heavy.Weight = 3
	m := f.open(t, light, heavy)

	// Weight 0 counts as 1: the draw is over 4, 0 is weight-0's, 1..3 are weight-3's.
	for r, want := range []string{"weight-0", "weight-3", "weight-3", "weight-3"} {
		sid := f.allocate(t, miner, proof2K)
		if got := reserveAll(t, f, m, []abi.SectorID{sid}, 4096, nil, uint64(r)); !slices.Equal(got, []string{want}) {
			t.Errorf("r=%d got %v, want %s", r, got, want)
		}
	}
	if want := []uint64{4, 4, 4, 4}; !slices.Equal(f.asked, want) {
		t.Errorf("random draws over %v, want %v", f.asked, want)
	}
}

func TestReserveSpaceAnswersNullWhenNothingFits(t *testing.T) {
	f := newFixture(t)
	ro := f.storeDir(t, "readonly")
	ro.ReadOnly = true
	m := f.open(t, ro)
	sid := f.allocate(t, miner, proof2K)
	got, err := m.StoreReserveSpace(ctx, sid, 4096, nil)
	if got != nil || err != nil {
		t.Fatalf("StoreReserveSpace = %+v, %v; want null", got, err)
	}
	if got := jsonOf(t, got); got != "null" {
		t.Errorf("answer encodes as %s", got)
	}
	if _, err := f.db.Get(ReserveSummaryKey); !errors.Is(err, statedb.ErrNotFound) {
		t.Errorf("summary written when nothing was reserved: %v", err)
	}

	none := f.open(t)
	if got, err := none.StoreReserveSpace(ctx, sid, 4096, nil); got != nil || err != nil {
		t.Errorf("StoreReserveSpace without stores = %+v, %v", got, err)
	}
}

// Concurrent reservations never overbook: with room for five, five of ten get a store.
func TestReserveSpaceConcurrently(t *testing.T) {
	f := newFixture(t)
	cfg := f.storeDir(t, "store1")
	f.setDisk(cfg.Path, 5*4096)
	m := f.open(t, cfg)
	var sids []abi.SectorID
	for range 10 {
		sids = append(sids, f.allocate(t, miner, proof2K))
	}
	var wg sync.WaitGroup
	results := make([]string, len(sids))
	for i, sid := range sids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := m.StoreReserveSpace(ctx, sid, 4096, nil)
			if err != nil {
				t.Error(err)
			}
			results[i] = storeName(got)
		}()
	}
	wg.Wait()
	var granted int
	for _, r := range results {
		if r == "store1" {
			granted++
		}
	}
	if granted != 5 {
		t.Errorf("%d reservations granted, want 5: %v", granted, results)
	}
	list, err := m.StoreList(ctx)
	if err != nil || len(list) != 1 || list[0].Reserved != 5*4096 || len(list[0].ReservedBy) != 5 {
		t.Errorf("StoreList = %+v, %v", list, err)
	}
}

func TestReleaseReserved(t *testing.T) {
	f := newFixture(t)
	m := f.open(t, f.storeDir(t, "a"), f.storeDir(t, "b"))
	s1, s2 := f.allocate(t, miner, proof2K), f.allocate(t, miner, proof2K)
	reserveAll(t, f, m, []abi.SectorID{s1, s2}, 4096, nil, 0)
	reserveAll(t, f, m, []abi.SectorID{s1}, 2048, []string{"b"}, 0)

	released, err := m.StoreReleaseReserved(ctx, s1)
	if !released || err != nil {
		t.Fatalf("StoreReleaseReserved(s1) = %v, %v", released, err)
	}
	want := `{"Stats":{"a":{"ReservedSize":4096,"Reserved":{"s-t010000-2":{"By":"s-t010000-2","Size":4096,"At":1700000000}}},` +
		`"b":{"ReservedSize":0,"Reserved":{}}}}`
	if got := f.summary(t); got != want {
		t.Errorf("summary = %s\nwant %s", got, want)
	}
	if released, err := m.StoreReleaseReserved(ctx, s1); released || err != nil {
		t.Errorf("second StoreReleaseReserved(s1) = %v, %v; want false", released, err)
	}
	// Not even a known sector is needed: an operator may clean up after anything.
	if released, err := m.StoreReleaseReserved(ctx, abi.SectorID{Miner: 1, Number: 1}); released || err != nil {
		t.Errorf("StoreReleaseReserved(never reserved) = %v, %v; want false", released, err)
	}
}

func TestReleaseReservedNeverGoesBelowZero(t *testing.T) {
	f := newFixture(t)
	m := f.open(t, f.storeDir(t, "a"))
	bad := `{"Stats":{"a":{"ReservedSize":100,"Reserved":{"s-t010000-1":{"By":"s-t010000-1","Size":4096,"At":1}}}}}`
	if err := f.db.Update(func(tx statedb.Txn) error { return tx.Put(ReserveSummaryKey, []byte(bad)) }); err != nil {
		t.Fatal(err)
	}
	if released, err := m.StoreReleaseReserved(ctx, abi.SectorID{Miner: miner, Number: 1}); !released || err != nil {
		t.Fatalf("StoreReleaseReserved = %v, %v", released, err)
	}
	if got, want := f.summary(t), `{"Stats":{"a":{"ReservedSize":0,"Reserved":{}}}}`; got != want {
		t.Errorf("summary = %s, want %s", got, want)
	}
}

func TestCorruptSummaryIsAnError(t *testing.T) {
	f := newFixture(t)
	m := f.open(t, f.storeDir(t, "a"))
	if err := f.db.Update(func(tx statedb.Txn) error { return tx.Put(ReserveSummaryKey, []byte("{")) }); err != nil {
		t.Fatal(err)
	}
	sid := f.allocate(t, miner, proof2K)
	_, err := m.StoreReserveSpace(ctx, sid, 4096, nil)
	wantErr(t, "StoreReserveSpace", err, "decode objstore/StoreReserveSummary: unexpected end of JSON input")
	_, err = m.StoreReleaseReserved(ctx, sid)
	wantErr(t, "StoreReleaseReserved", err, "decode objstore/StoreReserveSummary: unexpected end of JSON input")
}
