//go:build ffi

package ffi

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/ipfs-force-community/venus-cluster-go/worker/processor"
	"github.com/ipfs-force-community/venus-cluster-go/worker/processor/builtin"
)

// New returns the processor of every stage for the ffi build: filecoin-ffi where it has the
// stage, the built-in processor where it has not (tree_d, transfer).
func New() processor.Set {
	set := builtin.New()
	set.PC1 = guard(processor.StagePC1, PC1)
	set.PC2 = guard(processor.StagePC2, PC2)
	set.C1 = guard(processor.StageC1, C1)
	set.C2 = guard(processor.StageC2, C2)
	set.SnapEncode = guard(processor.StageSnapEncode, SnapEncode)
	set.SnapVanilla = guard("snap_vanilla", SnapVanilla)
	set.SnapProve = guard(processor.StageSnapProve, SnapProve)
	set.SnapVerify = guard("snap_verify", SnapVerify)
	return set
}

// guard turns a panic in a conversion into an error, as the built-in processors do (spec §9.1).
// filecoin-ffi itself returns Rust panics as errors.
func guard[I, O any](stage string, f func(context.Context, I) (O, error)) processor.Func[I, O] {
	return func(ctx context.Context, task I) (out O, err error) {
		defer func() {
			if r := recover(); r != nil {
				var zero O
				out, err = zero, fmt.Errorf("ffi %s processor panicked: %v\n%s", stage, r, debug.Stack())
			}
		}()
		return f(ctx, task)
	}
}
