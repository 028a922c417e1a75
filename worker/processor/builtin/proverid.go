package builtin

import (
	"encoding/binary"
	"fmt"

	"github.com/filecoin-project/go-state-types/abi"
)

// MinerFromProverID is the inverse of abi.MakeProverID: a prover id is the payload of the
// miner's ID address (the unsigned LEB128 of the actor id), zero-padded to 32 bytes.
func MinerFromProverID(proverID [32]byte) (abi.ActorID, error) {
	id, n := binary.Uvarint(proverID[:])
	if n <= 0 {
		return 0, fmt.Errorf("prover id %x does not start with an actor id (unsigned LEB128)", proverID)
	}
	// Re-encoding rejects non-canonical varints and non-zero bytes after the id.
	want, err := abi.MakeProverID(abi.ActorID(id))
	if err != nil || want != proverID {
		return 0, fmt.Errorf("prover id %x is not the prover id of an ID address", proverID)
	}
	return abi.ActorID(id), nil
}
