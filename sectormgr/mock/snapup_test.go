package mock

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	commcid "github.com/filecoin-project/go-fil-commcid"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/api/mockproof"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

const testUpdateProof = abi.RegisteredUpdateProof_StackedDrg2KiBV1

// sealCC takes a CC sector through the whole sealer flow of the mock, persisted in store (""
// skips SubmitPersisted), and returns it with its pre-commit.
func sealCC(t *testing.T, m *Mock, store string) (abi.SectorID, api.PreCommitOnChainInfo) {
	t.Helper()
	ctx := context.Background()
	sector := allocate(t, m)
	if deals := acquire(t, m, sector.ID, api.AcquireDealsSpec{MaxDeals: ptr(uint(0))}); deals != nil {
		t.Fatalf("CC sector got deals %v", shapes(deals))
	}
	pre := preCommitted(t, m, sector)
	if store != "" {
		if ok, err := m.SubmitPersisted(ctx, sector.ID, store); !ok || err != nil {
			t.Fatalf("SubmitPersisted = %v, %v", ok, err)
		}
	}
	seed, _ := m.WaitSeed(ctx, sector.ID)
	if r, err := m.SubmitProof(ctx, sector.ID, api.ProofOnChainInfo{Proof: sealProof(t, sector.ID, pre, *seed.Seed)}, false); err != nil || r.Res != api.SubmitAccepted {
		t.Fatalf("proof = %+v, %v", r, err)
	}
	waitLanded(t, m, sector.ID, true)
	if err := m.ReportFinalized(ctx, sector.ID); err != nil {
		t.Fatal(err)
	}
	return sector.ID, pre
}

// honestSnapUp is what a worker submits after upgrading the sector with pieces.
func honestSnapUp(t *testing.T, commROld [32]byte, pieces api.Deals, access string) api.SnapUpOnChainInfo {
	t.Helper()
	commD := refCommD(t, pieces)
	commR := mockproof.UpdateCommR(testUpdateProof, commROld, commD)
	cids := make([]cid.Cid, len(pieces))
	for i, p := range pieces {
		cids[i] = p.Piece.Cid
	}
	return api.SnapUpOnChainInfo{
		CommR: commR, CommD: commD, AccessInstance: access, Pieces: cids,
		Proof: mockproof.UpdateProof(testUpdateProof, commROld, commR, commD),
	}
}

func TestSnapUpOfAFinishedCCSector(t *testing.T) {
	ctx := context.Background()
	m := newMock(t)
	// No deals dir: nothing is offered even with a finished CC sector.
	sealCC(t, m, "store1")
	if s, _ := m.AllocateSanpUpSector(ctx, api.AllocateSnapUpSpec{}); s != nil {
		t.Fatalf("offered without deals: %+v", s)
	}

	dir, payloads := writePayloads(t, map[string]int{"a": 300, "b": 700})
	m = newDealMock(t, dir)
	unknownStore, _ := sealCC(t, m, "") // its store is unknown: it is no candidate
	aborted := allocate(t, m).ID
	m.ReportAborted(ctx, aborted, "gave up")
	sid, pre := sealCC(t, m, "store1")
	sealing := allocate(t, m).ID // online, not finished
	if deals := acquire(t, m, sealing, api.AcquireDealsSpec{MaxDeals: ptr(uint(0))}); deals != nil {
		t.Fatal("deals for MaxDeals 0")
	}

	// Filters that exclude the miner or the proof type get nothing.
	for _, spec := range []api.AllocateSectorSpec{
		{AllowedMiners: []abi.ActorID{1}},
		{AllowedProofTypes: []abi.RegisteredSealProof{abi.RegisteredSealProof_StackedDrg8MiBV1_1}},
	} {
		if s, err := m.AllocateSanpUpSector(ctx, api.AllocateSnapUpSpec{Sector: spec}); s != nil || err != nil {
			t.Fatalf("AllocateSanpUpSector(%+v) = %+v, %v", spec, s, err)
		}
	}

	got, err := m.AllocateSanpUpSector(ctx, api.AllocateSnapUpSpec{Sector: api.AllocateSectorSpec{AllowedMiners: []abi.ActorID{testMiner}}})
	if err != nil || got == nil {
		t.Fatalf("AllocateSanpUpSector = %+v, %v", got, err)
	}
	wantSealed, _ := commcid.ReplicaCommitmentV1ToCID(pre.CommR[:])
	if got.Sector != (api.AllocatedSector{ID: sid, ProofType: testProof}) || got.Private.AccessInstance != "store1" ||
		got.Public.CommR != pre.CommR || got.Public.SealedCID != wantSealed {
		t.Fatalf("allocated = %+v", got)
	}
	if want := []pieceShape{{1, 512}, {0, 512}, {2, 1024}}; fmt.Sprint(shapes(got.Pieces)) != fmt.Sprint(want) {
		t.Fatalf("pieces = %v, want %v", shapes(got.Pieces), want)
	}
	checkPieces(t, got.Pieces, map[abi.DealID][]byte{1: payloads["a"], 2: payloads["b"]})
	st, online, _ := m.Sector(sid)
	if !online || !st.Upgraded || st.Finalized || st.UpgradePublic == nil || st.UpgradePublic.CommR != pre.CommR || jsonOf(t, st.Pieces) != jsonOf(t, got.Pieces) {
		t.Fatalf("state after allocation: online=%v %+v", online, st)
	}
	if _, on, _ := m.Sector(unknownStore); on {
		t.Fatal("a sector whose store is unknown was offered")
	}

	// The deals are taken, and there is no other candidate.
	if s, _ := m.AllocateSanpUpSector(ctx, api.AllocateSnapUpSpec{}); s != nil {
		t.Fatalf("second offer: %+v", s)
	}
	if d := acquire(t, m, sealing, api.AcquireDealsSpec{}); d != nil {
		t.Fatalf("snap-up deals handed out again: %v", shapes(d))
	}

	good := honestSnapUp(t, pre.CommR, got.Pieces, "store2")
	mutate := func(f func(i *api.SnapUpOnChainInfo)) api.SnapUpOnChainInfo {
		i := good
		i.Pieces = append([]cid.Cid(nil), good.Pieces...)
		f(&i)
		return i
	}
	zeroD := zeroCommD2KiB()
	cases := []struct {
		name string
		info api.SnapUpOnChainInfo
		desc string
	}{
		{"no proof", mutate(func(i *api.SnapUpOnChainInfo) { i.Proof = nil }), "proof is empty"},
		{"no access", mutate(func(i *api.SnapUpOnChainInfo) { i.AccessInstance = "" }), "access instance is empty: say which persist store holds the update files"},
		{"a piece short", mutate(func(i *api.SnapUpOnChainInfo) { i.Pieces = i.Pieces[:2] }), "2 pieces submitted, the sector was assigned 3"},
		{"another piece", mutate(func(i *api.SnapUpOnChainInfo) { i.Pieces[2] = i.Pieces[0] }),
			fmt.Sprintf("piece #2 is %s, the sector was assigned %s (deal 2)", good.Pieces[0], good.Pieces[2])},
		{"CC CommD", mutate(func(i *api.SnapUpOnChainInfo) { i.CommD = zeroD }), "CommD " + hex32(zeroD) + " differs from the unsealed commitment"},
		{"CommR", mutate(func(i *api.SnapUpOnChainInfo) { i.CommR[3] ^= 1 }), "CommR "},
		{"proof", mutate(func(i *api.SnapUpOnChainInfo) { i.Proof = append([]byte{}, good.Proof[1:]...) }), "proof ("},
	}
	for _, c := range cases {
		r, err := m.SubmitSnapUpProof(ctx, sid, c.info)
		if err != nil || r.Res != api.SubmitRejected || r.Desc == nil || !strings.HasPrefix(*r.Desc, c.desc) {
			t.Errorf("%s: %+v, %v; want Rejected %q", c.name, r, err, c.desc)
		}
	}
	if st, _, _ := m.Sector(sid); st.UpgradedInfo != nil {
		t.Fatal("a rejected snap-up was stored")
	}

	for i, want := range []api.SubmitResult{api.SubmitAccepted, api.SubmitDuplicateSubmit} {
		if r, err := m.SubmitSnapUpProof(ctx, sid, good); err != nil || r.Res != want || r.Desc != nil {
			t.Fatalf("submit %d = %+v, %v; want %v", i, r, err, want)
		}
	}
	if err := m.ReportFinalized(ctx, sid); err != nil {
		t.Fatal(err)
	}
	st, online, _ = m.Sector(sid)
	sealed, _ := commcid.ReplicaCommitmentV1ToCID(good.CommR[:])
	unsealed, _ := commcid.DataCommitmentV1ToCID(good.CommD[:])
	if online || !st.Finalized || !st.Upgraded || st.UpgradedInfo == nil || st.UpgradedInfo.AccessInstance != "store2" ||
		st.UpgradedInfo.SealedCID != sealed || st.UpgradedInfo.UnsealedCID != unsealed || !bytes.Equal(st.UpgradedInfo.Proof, good.Proof) {
		t.Fatalf("after finalize: online=%v %+v", online, st)
	}
	// An upgraded sector is no candidate again, even with deals left.
	if err := m.ReportAborted(ctx, sealing, "x"); err != nil {
		t.Fatal(err)
	}
	if s, _ := m.AllocateSanpUpSector(ctx, api.AllocateSnapUpSpec{}); s != nil {
		t.Fatalf("offered again: %+v", s)
	}
}

// Two snap-up threads asking at once never get the same sector or the same deal.
func TestConcurrentSnapUpAllocations(t *testing.T) {
	dir, _ := writePayloads(t, map[string]int{"a": 1000, "b": 1000, "c": 1000, "d": 1000})
	m := newDealMock(t, dir)
	for i := 0; i < 3; i++ {
		sealCC(t, m, "store1")
	}
	results := make(chan *api.AllocatedSnapUpSector, 8)
	for i := 0; i < 8; i++ {
		go func() {
			s, err := m.AllocateSanpUpSector(context.Background(), api.AllocateSnapUpSpec{Deals: api.AcquireDealsSpec{MaxDeals: ptr(uint(1))}})
			if err != nil {
				t.Error(err)
			}
			results <- s
		}()
	}
	sectors, deals := map[abi.SectorNumber]bool{}, map[abi.DealID]bool{}
	for i := 0; i < 8; i++ {
		s := <-results
		if s == nil {
			continue
		}
		if sectors[s.Sector.ID.Number] {
			t.Fatalf("sector %d handed out twice", s.Sector.ID.Number)
		}
		sectors[s.Sector.ID.Number] = true
		for _, id := range dealIDs(s.Pieces) {
			if deals[id] {
				t.Fatalf("deal %d handed out twice", id)
			}
			deals[id] = true
		}
	}
	if len(sectors) != 3 || len(deals) != 3 {
		t.Fatalf("%d sectors, %d deals handed out; want 3 and 3", len(sectors), len(deals))
	}
}

// The access instance, the snap-up state and its deals survive a restart.
func TestSnapUpSurvivesARestart(t *testing.T) {
	ctx := context.Background()
	home := t.TempDir()
	dir, _ := writePayloads(t, map[string]int{"a": 1000, "b": 1000})
	db, err := statedb.OpenHome(home)
	if err != nil {
		t.Fatal(err)
	}
	m := newDealMock(t, dir, WithDB(db), WithHome(home))
	first, _ := sealCC(t, m, "store1")
	second, _ := sealCC(t, m, "store2")
	s, err := m.AllocateSanpUpSector(ctx, api.AllocateSnapUpSpec{Deals: api.AcquireDealsSpec{MaxDeals: ptr(uint(1))}})
	if err != nil || s == nil || s.Sector.ID != first {
		t.Fatalf("first offer = %+v, %v", s, err)
	}
	m.Close()
	db.Close()

	db, err = statedb.OpenHome(home)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m = newDealMock(t, dir, WithDB(db), WithHome(home))
	defer m.Close()
	s, err = m.AllocateSanpUpSector(ctx, api.AllocateSnapUpSpec{})
	if err != nil || s == nil || s.Sector.ID != second || s.Private.AccessInstance != "store2" || fmt.Sprint(dealIDs(s.Pieces)) != "[2]" {
		t.Fatalf("offer after restart = %+v, %v; want sector %v with deal 2 from store2", s, err, second)
	}
}
