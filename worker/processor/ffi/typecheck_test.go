package ffi

import (
	"testing"

	"github.com/ipfs-force-community/venus-cluster-go/internal/ffitypecheck"
)

// ffiCalls are the filecoin-ffi functions the adapter maps our stages onto.
var ffiCalls = []string{
	"WriteWithAlignment",
	"SealPreCommitPhase1",
	"SealPreCommitPhase2",
	"SealCommitPhase1",
	"SealCommitPhase2",
	"SectorUpdate",
	"EncodeInto",
	"GenerateUpdateVanillaProofs",
	"GenerateUpdateProofWithVanilla",
	"VerifyUpdateProof",
}

func TestAdapterTypeChecksAgainstPinnedFilecoinFFI(t *testing.T) {
	ffitypecheck.Check(t, ".", "github.com/ipfs-force-community/venus-cluster-go/worker/processor/ffi", ffiCalls)
}
