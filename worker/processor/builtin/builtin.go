// Package builtin holds the in-process processors of the default build (no cgo): a real tree_d
// and a real transfer, and mock PC1, PC2, C1 and C2 whose outputs have the real shapes and are
// deterministic functions of their inputs (api/mockproof), so a mock manager can check them.
// Mock proofs prove nothing and must never reach a real chain.
package builtin

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime/debug"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/worker/processor"
	"github.com/ipfs-force-community/venus-cluster-go/worker/processor/treed"
	"github.com/ipfs-force-community/venus-cluster-go/worker/store"
)

// New returns the built-in processor of every stage.
func New() processor.Set {
	return processor.Set{
		TreeD:    guard(processor.StageTreeD, TreeD),
		PC1:      guard(processor.StagePC1, PC1),
		PC2:      guard(processor.StagePC2, PC2),
		C1:       guard(processor.StageC1, C1),
		C2:       guard(processor.StageC2, C2),
		Transfer: guard(processor.StageTransfer, Transfer),

		SnapEncode:  guard(processor.StageSnapEncode, SnapEncode),
		SnapVanilla: guard("snap_vanilla", SnapVanilla),
		SnapProve:   guard(processor.StageSnapProve, SnapProve),
		SnapVerify:  guard("snap_verify", SnapVerify),
	}
}

// guard turns a panic of a stage into an error, so a bug in one sector's step fails that step
// instead of the whole worker (spec §9.1).
func guard[I, O any](stage string, f func(context.Context, I) (O, error)) processor.Func[I, O] {
	return func(ctx context.Context, task I) (out O, err error) {
		defer func() {
			if r := recover(); r != nil {
				var zero O
				out, err = zero, fmt.Errorf("built-in %s processor panicked: %v\n%s", stage, r, debug.Stack())
			}
		}()
		return f(ctx, task)
	}
}

// TreeD builds the sector's tree_d as cache_dir/sc-02-data-tree-d.dat. Call it through New,
// which recovers panics.
func TreeD(ctx context.Context, task processor.TreeDInput) (bool, error) {
	size, err := sectorSize(task.RegisteredProof)
	if err != nil {
		return false, err
	}
	if err := store.RequireDir(task.CacheDir, "cache_dir"); err != nil {
		return false, err
	}
	if _, err := treed.BuildContext(ctx, task.StagedFile, treeDPath(task.CacheDir), size); err != nil {
		return false, fmt.Errorf("build tree_d: %w", err)
	}
	return true, nil
}

func sectorSize(p processor.SealProof) (abi.SectorSize, error) {
	size, err := abi.RegisteredSealProof(p).SectorSize()
	if err != nil {
		return 0, fmt.Errorf("registered_proof %s: %w", p, err)
	}
	return size, nil
}

func treeDPath(cacheDir string) string { return filepath.Join(cacheDir, treed.FileName) }
