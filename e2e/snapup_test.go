package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	commcid "github.com/filecoin-project/go-fil-commcid"
	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/api/mockproof"
)

// TestSnapUpEndToEnd: a worker with a sealer thread (no deals) and a snapup thread sharing the
// attached store. The sealer seals CC sectors; the mock offers a finished one for a snap-up with
// its deals; the snapup thread reads the sector key from the store, encodes the deals, proves
// and persists the update, and the sector is finalized as upgraded.
func TestSnapUpEndToEnd(t *testing.T) {
	dir, payloads := writePiecesDir(t, 127, 254, 508)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	startMockProc(t, addr, "--pieces-dir", dir, "--max-sectors", "2")
	w := newWorkerSetup(t, addr, 2)
	editConfig(t, w, func(cfg string) string {
		// Global enable_deals builds the piece store; the sealer thread itself takes no deals.
		cfg = strings.Replace(cfg, "[sealing]\n", "[sealing]\nenable_deals = true\n", 1)
		cfg = strings.Replace(cfg, fmt.Sprintf("location = %q\n", w.stores[0]),
			fmt.Sprintf("location = %q\nsealing.enable_deals = false\n", w.stores[0]), 1)
		return strings.Replace(cfg, fmt.Sprintf("location = %q\n", w.stores[1]),
			fmt.Sprintf("location = %q\nplan = \"snapup\"\n", w.stores[1]), 1)
	})
	startWorker(t, w)
	c := managerClient(t, addr)

	var up *api.SectorState
	waitFor(t, "an upgraded sector finalized", 90*time.Second, func() bool {
		for _, st := range finishedSectors(t, c) {
			if st.Upgraded {
				up = st
				return true
			}
		}
		return false
	})
	name := api.FormatSectorID(up.ID)
	if up.ID.Number != 1 {
		t.Errorf("upgraded %s, want the first finished CC sector", name)
	}
	if up.Pre == nil || up.Proof == nil || up.UpgradePublic == nil || up.UpgradedInfo == nil {
		t.Fatalf("%s state = %+v", name, up)
	}
	if ids := fmt.Sprint(deals(up.Pieces)); ids != "[1 2 3]" {
		t.Errorf("%s snapped deals %s, want [1 2 3]", name, ids)
	}
	for _, p := range up.Pieces {
		if p.ID != 0 {
			if want := refPieceCID(t, payloads[p.ID-1]); p.Piece.Cid != want {
				t.Errorf("deal %d piece CID %s, want %s", p.ID, p.Piece.Cid, want)
			}
		}
	}

	// The update commits to the deals on top of the CC sector's replica.
	info := up.UpgradedInfo
	unsealed := refUnsealedCID(t, up.Pieces)
	if info.UnsealedCID != unsealed {
		t.Errorf("UnsealedCID %s, want the unsealed CID of the pieces %s", info.UnsealedCID, unsealed)
	}
	oldR, _ := commcid.CIDToReplicaCommitmentV1(up.Pre.CommR)
	if !bytes.Equal(up.UpgradePublic.CommR[:], oldR) {
		t.Errorf("UpgradePublic.CommR %x is not the CC sector's CommR %x", up.UpgradePublic.CommR, oldR)
	}
	rawD, _ := commcid.CIDToDataCommitmentV1(unsealed)
	commD := [32]byte(rawD)
	proof := abi.RegisteredUpdateProof_StackedDrg2KiBV1
	newR := mockproof.UpdateCommR(proof, up.UpgradePublic.CommR, commD)
	if sealed, _ := commcid.ReplicaCommitmentV1ToCID(newR[:]); info.SealedCID != sealed {
		t.Errorf("SealedCID %s, want %s", info.SealedCID, sealed)
	}
	if !bytes.Equal(info.Proof, mockproof.UpdateProof(proof, up.UpgradePublic.CommR, newR, commD)) {
		t.Error("stored update proof is not the mock proof of the commitments")
	}
	if info.AccessInstance != "persist-store1" {
		t.Errorf("access instance %q", info.AccessInstance)
	}
	for _, rel := range []string{"update/" + name, "update-cache/" + name + "/sc-02-data-tree-r-last.dat",
		"update-cache/" + name + "/p_aux", "update-cache/" + name + "/t_aux", "sealed/" + name} {
		if _, err := os.Stat(filepath.Join(w.persist, rel)); err != nil {
			t.Errorf("persisted file: %v", err)
		}
	}

	// The manager's CLI shows the sector as upgraded.
	out := util(t, addr, "sealer", "sectors", "state", "--offline", "10000", fmt.Sprint(up.ID.Number))
	for _, line := range []string{"\tUpgraded: true\n", "\tUnsealedCID: " + unsealed.String() + "\n"} {
		if !strings.Contains(out.stdout, line) {
			t.Errorf("sectors state lacks %q:\n%s\n%s", line, out.stdout, out.stderr)
		}
	}
	// Both threads carry on: none is paused.
	for _, th := range threads(t, adminClient(t, w)) {
		if th.Paused {
			t.Errorf("thread %d paused: %v", th.Index, th.LastError)
		}
	}
}

func deals(pieces api.Deals) []abi.DealID {
	var ids []abi.DealID
	for _, p := range pieces {
		if p.ID != 0 {
			ids = append(ids, p.ID)
		}
	}
	return ids
}
