package postprover

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	commcid "github.com/filecoin-project/go-fil-commcid"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/proof"
)

func testSectors(t *testing.T) []SectorToProve {
	t.Helper()
	var out []SectorToProve
	for _, n := range []abi.SectorNumber{3, 1} {
		sealed, err := commcid.ReplicaCommitmentV1ToCID(bytes.Repeat([]byte{byte(n)}, 32))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, SectorToProve{SectorInfo: proof.SectorInfo{SealProof: abi.RegisteredSealProof_StackedDrg2KiBV1_1, SectorNumber: n, SealedCID: sealed},
			SealedFile: "/p/sealed/s-t010000-" + n.String(), CacheDir: "/p/cache/s-t010000-" + n.String()})
	}
	return out
}

// The window_post task on the wire, as spec/worker.md §9 gives it: names, 32-int arrays.
func TestPoStTaskWireJSON(t *testing.T) {
	seed := bytes.Repeat([]byte{2}, 32)
	task, err := taskOf(10000, abi.RegisteredPoStProof_StackedDrgWindow2KiBV1_1, testSectors(t)[1:], seed)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(task)
	ones := strings.Repeat("1,", 31) + "1"
	twos := strings.Repeat("2,", 31) + "2"
	want := `{"miner_id":10000,"proof_type":"StackedDrgWindow2KiBV1_1","replicas":[{"sector_id":1,"comm_r":[` + ones +
		`],"cache_dir":"/p/cache/s-t010000-1","sealed_file":"/p/sealed/s-t010000-1"}],"seed":[` + twos + `]}`
	if string(got) != want {
		t.Fatalf("task JSON:\n%s\nwant\n%s", got, want)
	}
	var back PoStTask
	if err := json.Unmarshal([]byte(want), &back); err != nil || back.ProofType != PoStProof(abi.RegisteredPoStProof_StackedDrgWindow2KiBV1_1) {
		t.Fatalf("decode: %+v %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"proof_type":"StackedDrgWindow3KiBV1"}`), &back); err == nil || !strings.Contains(err.Error(), `unknown proof_type "StackedDrgWindow3KiBV1"`) {
		t.Errorf("unknown proof type: %v", err)
	}
	out, _ := json.Marshal(WindowPoStOutput{Proofs: [][]byte{{1, 2}}, Faults: []abi.SectorNumber{}})
	if string(out) != `{"proofs":["AQI="],"faults":[]}` {
		t.Errorf("output JSON %s", out)
	}
}

// Through the stages (what a child serves), both proofs equal the prover's own.
func TestExtProverMakesTheProversProofs(t *testing.T) {
	sectors := testSectors(t)
	rand := abi.PoStRandomness(bytes.Repeat([]byte{9}, 32))
	ext := ExtProver{Window: WindowStage{Prover: MockProver{}}, Winning: WinningStage{Prover: MockProver{}}, Fallback: MockProver{}}
	for name, gen := range map[string][2]func(abi.ActorID, abi.RegisteredPoStProof, []SectorToProve, abi.PoStRandomness) ([]proof.PoStProof, error){
		"window":  {ext.GenerateWindowPoSt, MockProver{}.GenerateWindowPoSt},
		"winning": {ext.GenerateWinningPoSt, MockProver{}.GenerateWinningPoSt},
	} {
		got, err := gen[0](10000, abi.RegisteredPoStProof_StackedDrgWindow2KiBV1_1, sectors, rand)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := gen[1](10000, abi.RegisteredPoStProof_StackedDrgWindow2KiBV1_1, sectors, rand)
		if len(got) != 1 || got[0].PoStProof != want[0].PoStProof || !bytes.Equal(got[0].ProofBytes, want[0].ProofBytes) {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
	if ext.Name() != "window=ext,winning=ext" || (ExtProver{Window: ext.Window, Fallback: MockProver{}}).Name() != "window=ext,winning=mock" {
		t.Errorf("names %q", ext.Name())
	}
}

type faultyProver struct{ MockProver }

func (faultyProver) GenerateWindowPoSt(abi.ActorID, abi.RegisteredPoStProof, []SectorToProve, abi.PoStRandomness) ([]proof.PoStProof, error) {
	return nil, &FaultyError{Sectors: []abi.SectorNumber{3}}
}

// Faults a child finds travel as faults and fail the call as the built-in prover's do.
func TestExtProverFaults(t *testing.T) {
	out, err := WindowStage{Prover: faultyProver{}}.Process(context.Background(), PoStTask{ProofType: PoStProof(abi.RegisteredPoStProof_StackedDrgWindow2KiBV1_1)})
	if err != nil || len(out.Faults) != 1 || out.Faults[0] != 3 {
		t.Fatalf("stage output %+v %v", out, err)
	}
	ext := ExtProver{Window: WindowStage{Prover: faultyProver{}}, Fallback: MockProver{}}
	_, err = ext.GenerateWindowPoSt(10000, abi.RegisteredPoStProof_StackedDrgWindow2KiBV1_1, testSectors(t), bytes.Repeat([]byte{1}, 32))
	var faulty *FaultyError
	if !errors.As(err, &faulty) || len(faulty.Sectors) != 1 || faulty.Sectors[0] != 3 {
		t.Fatalf("err = %v", err)
	}
}
