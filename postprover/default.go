//go:build !ffi

package postprover

// DefaultProver is this build's prover: mock proofs.
func DefaultProver() Prover { return MockProver{} }
