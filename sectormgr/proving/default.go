//go:build !ffi

package proving

// DefaultProver is this build's prover: mock proofs.
func DefaultProver() Prover { return MockProver{} }
