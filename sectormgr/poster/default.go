//go:build !ffi

package poster

// DefaultProver is this build's prover: mock proofs.
func DefaultProver() Prover { return MockProver{} }
