package builtin

import (
	"encoding/json"
	"fmt"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/worker/processor"
)

// mockPC1Out is the pc1out of the mock PC1. The worker stores it as opaque JSON and hands it to
// PC2; "mock": true lets our PC2 refuse the output of a real PC1 (and the reverse).
type mockPC1Out struct {
	Mock            bool                  `json:"mock"`
	RegisteredProof processor.SealProof   `json:"registered_proof"`
	ProverID        [32]byte              `json:"prover_id"`
	SectorID        abi.SectorNumber      `json:"sector_id"`
	Ticket          [32]byte              `json:"ticket"`
	CommD           [32]byte              `json:"comm_d"`
	PieceInfos      []processor.PieceInfo `json:"piece_infos"`
}

// mockC1Out is the c1out of the mock C1: everything the mock seal proof binds.
type mockC1Out struct {
	Mock            bool                `json:"mock"`
	RegisteredProof processor.SealProof `json:"registered_proof"`
	ProverID        [32]byte            `json:"prover_id"`
	SectorID        abi.SectorNumber    `json:"sector_id"`
	Ticket          [32]byte            `json:"ticket"`
	Seed            [32]byte            `json:"seed"`
	CommR           [32]byte            `json:"comm_r"`
	CommD           [32]byte            `json:"comm_d"`
}

// docField is one required field of a mock document and where it decodes to.
type docField struct {
	name string
	dst  any
}

// decodeMockDoc decodes the JSON object raw (named doc in errors) field by field, so an error
// names the field that is missing or malformed.
func decodeMockDoc(doc string, raw json.RawMessage, fields []docField) error {
	if len(raw) == 0 {
		return fmt.Errorf("%s is empty: run the stage that produces it again", doc)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return fmt.Errorf("%s is not a JSON object: %w", doc, err)
	}
	var mock bool
	if m, ok := obj["mock"]; !ok || json.Unmarshal(m, &mock) != nil || !mock {
		return fmt.Errorf("%s was not made by the built-in mock processor (no \"mock\": true); "+
			"every stage of a sector must run with the same kind of processor", doc)
	}
	for _, f := range fields {
		v, ok := obj[f.name]
		if !ok {
			return fmt.Errorf("%s is missing field %q", doc, f.name)
		}
		if err := decodeField(v, f.dst); err != nil {
			return fmt.Errorf("%s field %q is malformed: %w", doc, f.name, err)
		}
	}
	return nil
}

// decodeField is json.Unmarshal, except that a 32-byte value must be a list of exactly 32
// bytes: encoding/json would silently zero-fill a shorter list and drop the excess of a longer one.
func decodeField(v json.RawMessage, dst any) error {
	b32, ok := dst.(*[32]byte)
	if !ok {
		return json.Unmarshal(v, dst)
	}
	var b []byte
	if err := json.Unmarshal(v, &b); err != nil {
		return err
	}
	if len(b) != len(b32) {
		return fmt.Errorf("want a list of 32 bytes, got %d", len(b))
	}
	copy(b32[:], b)
	return nil
}

func decodePC1Out(raw json.RawMessage) (mockPC1Out, error) {
	out := mockPC1Out{Mock: true}
	err := decodeMockDoc("pc1out", raw, []docField{
		{"registered_proof", &out.RegisteredProof},
		{"prover_id", &out.ProverID},
		{"sector_id", &out.SectorID},
		{"ticket", &out.Ticket},
		{"comm_d", &out.CommD},
		{"piece_infos", &out.PieceInfos},
	})
	return out, err
}

func decodeC1Out(raw json.RawMessage) (mockC1Out, error) {
	out := mockC1Out{Mock: true}
	err := decodeMockDoc("c1out", raw, []docField{
		{"registered_proof", &out.RegisteredProof},
		{"prover_id", &out.ProverID},
		{"sector_id", &out.SectorID},
		{"ticket", &out.Ticket},
		{"seed", &out.Seed},
		{"comm_r", &out.CommR},
		{"comm_d", &out.CommD},
	})
	return out, err
}
