package sealverify

import (
	"testing"

	"github.com/ipfs-force-community/venus-cluster-go/internal/ffitypecheck"
)

// The manager's real-proof verifier compiles only under -tags ffi; check it against the pinned
// filecoin-ffi in the default build, so a signature change cannot go unnoticed.
func TestFFIVerifierTypeChecksAgainstPinnedFilecoinFFI(t *testing.T) {
	ffitypecheck.Check(t, ".", "github.com/ipfs-force-community/venus-cluster-go/sectormgr/sealverify",
		[]string{"VerifySeal", "AggregateSealProofs", "VerifyAggregateSeals", "VerifyWindowPoSt"})
}
