// Package ffi holds the processors of the `ffi` build tag (`make ffi`): they run the sealing
// stages with filecoin-ffi (rust-fil-proofs), so the proofs are real. It is a thin adapter: it
// converts our task types (worker/processor/types.go) to filecoin-ffi's arguments and back.
//
//	stage        filecoin-ffi
//	tree_d       none: filecoin-ffi has no tree_d call, the built-in pure-Go tree_d stays
//	AddPiece     WriteWithAlignment
//	pc1          SealPreCommitPhase1
//	pc2          SealPreCommitPhase2
//	c1           SealCommitPhase1
//	c2           SealCommitPhase2
//	snap_encode  SectorUpdate.EncodeInto
//	snap vanilla SectorUpdate.GenerateUpdateVanillaProofs
//	snap_prove   SectorUpdate.GenerateUpdateProofWithVanilla
//	snap verify  SectorUpdate.VerifyUpdateProof
//	transfer     none: the built-in transfer stays
//
// pc1out and c1out are filecoin-ffi's bytes unchanged: rust-fil-proofs writes them as the serde
// JSON of SealPreCommitPhase1Output and SealCommitPhase1Output, which is also what the original
// venus-worker stores, so they go into the opaque JSON fields as they are.
//
// Only this file and convert.go are in the default build (no cgo): the conversions have no cgo
// and are tested there. Everything that calls filecoin-ffi needs `-tags ffi` and the Rust library
// under extern/filecoin-ffi (scripts/ffi.sh). typecheck_test.go type-checks the tagged files
// against the pinned filecoin-ffi source in the default `go test`, so a signature change in
// filecoin-ffi fails CI even though CI cannot link it.
package ffi
