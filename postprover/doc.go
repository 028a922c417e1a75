// Package postprover generates PoSt proofs for both daemons: the prover the manager's WindowPoSt
// scheduler and WinningPoSt listener call (mock proofs in the default build, filecoin-ffi under
// the ffi tag), and the window_post and winning_post stages of the vc-processors protocol, which
// `venus-worker processor window_post|winning_post` serves and the manager's --ext-prover calls.
package postprover
