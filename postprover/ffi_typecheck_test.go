package postprover

import (
	"testing"

	"github.com/ipfs-force-community/venus-cluster-go/internal/ffitypecheck"
)

// The real-proof prover compiles only under -tags ffi; check it against the pinned filecoin-ffi
// in the default build, so a signature change cannot go unnoticed.
func TestFFIProverTypeChecksAgainstPinnedFilecoinFFI(t *testing.T) {
	ffitypecheck.Check(t, ".", "github.com/ipfs-force-community/venus-cluster-go/postprover",
		[]string{"GenerateWindowPoSt", "GenerateWinningPoSt", "NewSortedPrivateSectorInfo"})
}
