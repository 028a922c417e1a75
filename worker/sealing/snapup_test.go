package sealing

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/filecoin-project/go-commp-utils/v2/zerocomm"
	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/api/mockproof"
	"github.com/ipfs-force-community/venus-cluster-go/worker/processor/treed"
	"github.com/ipfs-force-community/venus-cluster-go/worker/store"
)

// TestSnapUpUpgradesASealedSector seals a CC sector, then upgrades it on a snapup thread that reads
// the sector key from the persist store.
func TestSnapUpUpgradesASealedSector(t *testing.T) {
	fm := newFakeManager(1)
	sealerRig := newRig(t, fm)
	sealerRig.start()
	sealerRig.waitFor("CC sector finalized", func() bool { return fm.finalizedCount() == 1 })
	sealerRig.stop()

	// A snapup thread on a new location, with the same persist store attached.
	snapRig := newRig(t, fm)
	snapRig.env.Attached = sealerRig.env.Attached
	snapRig.thread = NewThread(0, "snapup", testOptions(), snapRig.loc, snapRig.env, testLogger(t))
	commROld := fm.commR[sector(1)]
	fm.snapOffer = &api.AllocatedSnapUpSector{
		Sector:  api.AllocatedSector{ID: sector(1), ProofType: abi.RegisteredSealProof_StackedDrg2KiBV1_1},
		Pieces:  api.Deals{{ID: 0, PayloadSize: 2032, Piece: api.PieceInfo{Size: 2048, Cid: zerocomm.ZeroPieceCommitment(2032)}}},
		Public:  api.SectorPublicInfo{CommR: commROld},
		Private: api.SectorPrivateInfo{AccessInstance: "persist-store1"},
	}
	snapRig.start()
	snapRig.waitFor("snapup sector finalized", func() bool { return fm.finalizedCount() == 2 })

	info := fm.snapProofs[sector(1)]
	proof := abi.RegisteredUpdateProof_StackedDrg2KiBV1
	if zeroD := treed.ZeroCommD(2 << 10); info.CommD != zeroD {
		t.Errorf("submitted CommD %x, want the zero data commitment %x", info.CommD, zeroD)
	}
	if want := mockproof.UpdateCommR(proof, commROld, info.CommD); info.CommR != want {
		t.Errorf("submitted CommR %x, want %x", info.CommR, want)
	}
	if want := mockproof.UpdateProof(proof, commROld, info.CommR, info.CommD); string(info.Proof) != string(want) {
		t.Error("submitted update proof is not the mock proof of its commitments")
	}
	if info.AccessInstance != "persist-store1" || len(info.Pieces) != 1 {
		t.Errorf("submitted %+v", info)
	}
	name := api.FormatSectorID(sector(1))
	for _, rel := range append([]string{"update/" + name}, prefixed("update-cache/"+name+"/", store.CachedFileNames(2<<10))...) {
		if _, err := os.Stat(filepath.Join(sealerRig.persist.Root, rel)); err != nil {
			t.Errorf("persisted update file: %v", err)
		}
	}
	var got []string
	for _, rep := range fm.reportsOf(sector(1)) {
		if rep.Worker.Location == snapRig.loc.Root {
			got = append(got, rep.StateChange.Next)
		}
	}
	want := []string{"Allocated", "PieceAdded", "TreeDBuilt", "SnapEncoded", "SnapProved", "Persisted", "Finished"}
	if len(got) != len(want) {
		t.Fatalf("snapup transitions = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("snapup transitions = %v, want %v", got, want)
		}
	}
}

func prefixed(prefix string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = prefix + n
	}
	return out
}
