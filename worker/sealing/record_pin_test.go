package sealing

import (
	"encoding/json"

	"github.com/filecoin-project/go-state-types/abi"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/worker/processor"
)

func b32(first byte) [32]byte {
	var b [32]byte
	b[0] = first
	return b
}

// pinnedRecord has every field of a job record set to a value that shows in its JSON.
func pinnedRecord() *Record {
	plan := "sealer"
	prev := PC2Done
	instance := "persist-store1"
	piece := cid.MustParse("baga6ea4seaqpy7usqklokfx2vxuynmupslkeutzexe2uqurdg5vhtebhxqmpqmy")
	sealed := cid.MustParse("bagboea4b5abcbrshxgmmpaucffwp2elaofbcrvb7hmcu3653o4lsw2arlor4hn3c")
	return &Record{
		Version:   1,
		Plan:      &plan,
		State:     PCSubmitted,
		PrevState: &prev,
		Retry:     2,
		Base: &Base{
			Allocated:  api.AllocatedSector{ID: abi.SectorID{Miner: 10000, Number: 3}, ProofType: abi.RegisteredSealProof_StackedDrg2KiBV1_1},
			ProveInput: ProveInput{ProverID: abi.ProverID{1, 2}, Number: 3},
		},
		Deals: api.Deals{{ID: 11, PayloadSize: 1000, Piece: api.PieceInfo{Size: 2048, Cid: piece}, IsCompatible: true}},
		Finalized: &SnapUpFinalized{
			Public:  api.SectorPublicInfo{CommR: b32(9), SealedCID: sealed, Activation: 100, Expiration: 200},
			Private: api.SectorPrivateInfo{AccessInstance: "store-a"},
		},
		Phases: Phases{
			Pieces:          []processor.PieceInfo{{Commitment: b32(4), Size: 2032}},
			Ticket:          &api.Ticket{Ticket: []byte{5, 6}, Epoch: 7},
			PC1Out:          json.RawMessage(`{"labels":1}`),
			PC2Out:          &processor.PC2Output{RegisteredProof: processor.SealProof(abi.RegisteredSealProof_StackedDrg2KiBV1_1), CommR: b32(1), CommD: b32(2)},
			PC2ReSubmit:     true,
			PersistInstance: &instance,
			Seed:            &api.Seed{Seed: []byte{8}, Epoch: 9},
			C1Out:           json.RawMessage(`{"c1":2}`),
			C2Out:           &processor.C2Output{Proof: []byte{1, 2, 3}},
			C2ReSubmit:      true,
			SnapEncodeOut:   &processor.SnapEncodeOutput{CommRNew: b32(3), CommRLastNew: b32(4), CommDNew: b32(5)},
			SnapProveOut:    processor.Bytes{7, 8},
		},
	}
}

const pinnedRecordJSON = `{"version":1,"plan":"sealer","state":8,"prev_state":7,"retry":2,` +
	`"base":{"allocated":{"ID":{"Miner":10000,"Number":3},"ProofType":5},"prove_input":[[1,2,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],3]},` +
	`"deals":[{"ID":11,"PayloadSize":1000,"Piece":{"Size":2048,"Cid":{"/":"baga6ea4seaqpy7usqklokfx2vxuynmupslkeutzexe2uqurdg5vhtebhxqmpqmy"}},"Proposal":null,"IsCompatible":true}],` +
	`"finalized":{"public":{"CommR":[9,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],"SealedCID":{"/":"bagboea4b5abcbrshxgmmpaucffwp2elaofbcrvb7hmcu3653o4lsw2arlor4hn3c"},` +
	`"Activation":100,"Expiration":200},"private":{"AccessInstance":"store-a"}},` +
	`"phases":{"pieces":[{"commitment":[4,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],"size":2032}],"ticket":{"Ticket":"BQY=","Epoch":7},"pc1out":{"labels":1},` +
	`"pc2out":{"registered_proof":"StackedDrg2KiBV1_1","comm_r":[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],"comm_d":[2,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]},` +
	`"pc2_re_submit":true,"persist_instance":"persist-store1","seed":{"Seed":"CA==","Epoch":9},"c1out":{"c1":2},"c2out":{"proof":[1,2,3]},"c2_re_submit":true,` +
	`"snap_encode_out":{"comm_r_new":[3,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],"comm_r_last_new":[4,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],"comm_d_new":[5,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]},` +
	`"snap_prov_out":[7,8]}}`
