package sealing

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/kvstore"
	"github.com/ipfs-force-community/venus-cluster-go/worker/processor"
)

// recordKey is where a thread keeps its current job in its metadb (spec/worker.md §4.3).
const recordKey = "meta/info"

const recordVersion = 1

// Record is the whole current job of a sealing thread, persisted as JSON after every change.
type Record struct {
	Version   uint32           `json:"version"`
	Plan      *string          `json:"plan"`
	State     State            `json:"state"`
	PrevState *State           `json:"prev_state"`
	Retry     uint32           `json:"retry"`
	Base      *Base            `json:"base"`
	Deals     api.Deals        `json:"deals"`
	Finalized *SnapUpFinalized `json:"finalized"`
	Phases    Phases           `json:"phases"`
}

// Base is the allocated sector and the prover inputs derived from it.
type Base struct {
	Allocated  api.AllocatedSector `json:"allocated"`
	ProveInput ProveInput          `json:"prove_input"`
}

// ProveInput is (prover id, sector number), a JSON pair as the original writes it.
type ProveInput struct {
	ProverID abi.ProverID
	Number   abi.SectorNumber
}

func (p ProveInput) MarshalJSON() ([]byte, error) {
	return json.Marshal([]any{p.ProverID, p.Number})
}

func (p *ProveInput) UnmarshalJSON(b []byte) error {
	var pair []json.RawMessage
	if err := json.Unmarshal(b, &pair); err != nil || len(pair) != 2 {
		return fmt.Errorf("prove_input must be [prover_id, sector_number]")
	}
	if err := json.Unmarshal(pair[0], &p.ProverID); err != nil {
		return fmt.Errorf("prove_input prover id: %w", err)
	}
	return json.Unmarshal(pair[1], &p.Number)
}

// SnapUpFinalized is what the manager tells a snapup job about the sector it upgrades.
type SnapUpFinalized struct {
	Public  api.SectorPublicInfo  `json:"public"`
	Private api.SectorPrivateInfo `json:"private"`
}

// Phases holds every step's output that a later step needs.
type Phases struct {
	Pieces          []processor.PieceInfo `json:"pieces"`
	Ticket          *api.Ticket           `json:"ticket"`
	PC1Out          json.RawMessage       `json:"pc1out"`
	PC2Out          *processor.PC2Output  `json:"pc2out"`
	PC2ReSubmit     bool                  `json:"pc2_re_submit"`
	PersistInstance *string               `json:"persist_instance"`
	Seed            *api.Seed             `json:"seed"`
	C1Out           json.RawMessage       `json:"c1out"`
	C2Out           *processor.C2Output   `json:"c2out"`
	C2ReSubmit      bool                  `json:"c2_re_submit"`

	SnapEncodeOut *processor.SnapEncodeOutput `json:"snap_encode_out"`
	SnapProveOut  processor.Bytes             `json:"snap_prov_out"`
}

// SectorID is the allocated sector, or nil before allocation.
func (r *Record) SectorID() *abi.SectorID {
	if r.Base == nil {
		return nil
	}
	id := r.Base.Allocated.ID
	return &id
}

func newRecord(plan string) *Record {
	return &Record{Version: recordVersion, Plan: &plan, State: Empty}
}

// loadRecord reads the persisted job; ok is false when the thread has none.
func loadRecord(db *kvstore.DB) (rec *Record, ok bool, err error) {
	raw, err := db.Get(recordKey)
	if errors.Is(err, kvstore.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read job record: %w", err)
	}
	rec = &Record{}
	if err := json.Unmarshal(raw, rec); err != nil {
		return nil, false, fmt.Errorf("decode job record %s: %w", recordKey, err)
	}
	return rec, true, nil
}

// saveRecord writes the job in one fsync'd transaction: nothing reports a state before this returns.
func saveRecord(db *kvstore.DB, rec *Record) error {
	raw, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode job record: %w", err)
	}
	if err := db.Put(recordKey, raw); err != nil {
		return fmt.Errorf("write job record: %w", err)
	}
	return nil
}

// sectorIDOf reads the sector of a job record that does not decode as a whole, when its base is
// intact; nil otherwise.
func sectorIDOf(raw []byte) *abi.SectorID {
	var partial struct {
		Base *struct {
			Allocated struct {
				ID *abi.SectorID `json:"ID"`
			} `json:"allocated"`
		} `json:"base"`
	}
	if json.Unmarshal(raw, &partial) != nil || partial.Base == nil {
		return nil
	}
	return partial.Base.Allocated.ID
}

func deleteRecord(db *kvstore.DB) error {
	if err := db.Delete(recordKey); err != nil && !errors.Is(err, kvstore.ErrNotFound) {
		return fmt.Errorf("delete job record: %w", err)
	}
	return nil
}
