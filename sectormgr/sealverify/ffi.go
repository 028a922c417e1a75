//go:build ffi

package sealverify

import (
	ffi "github.com/filecoin-project/filecoin-ffi"
	"github.com/filecoin-project/go-state-types/proof"

	"github.com/ipfs-force-community/venus-cluster-go/postprover"
)

// FFI verifies and aggregates real seal proofs with filecoin-ffi.
type FFI struct{}

var _ Verifier = FFI{}

// Default is the verifier of this build: real proofs.
func Default() Verifier { return FFI{} }

// Name is "ffi".
func (FFI) Name() string { return "ffi" }

// VerifySeal checks a seal proof as the chain will.
func (FFI) VerifySeal(info proof.SealVerifyInfo) (bool, error) { return ffi.VerifySeal(info) }

// AggregateSealProofs folds proofs into one SnarkPack proof.
func (FFI) AggregateSealProofs(agg proof.AggregateSealVerifyProofAndInfos, proofs [][]byte) ([]byte, error) {
	return ffi.AggregateSealProofs(agg, proofs)
}

// VerifyAggregateSeals checks an aggregate proof as the chain will.
func (FFI) VerifyAggregateSeals(agg proof.AggregateSealVerifyProofAndInfos) (bool, error) {
	return ffi.VerifyAggregateSeals(agg)
}

// VerifyWindowPoSt checks a WindowPoSt proof with filecoin-ffi.
func (FFI) VerifyWindowPoSt(info proof.WindowPoStVerifyInfo) (bool, error) {
	info.Randomness = postprover.FieldRandomness(info.Randomness)
	return ffi.VerifyWindowPoSt(info)
}
