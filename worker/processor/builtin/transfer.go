package builtin

import (
	"context"
	"fmt"

	"github.com/ipfs-force-community/venus-cluster-go/worker/processor"
	"github.com/ipfs-force-community/venus-cluster-go/worker/store"
)

// Transfer runs the routes in order (spec §9.4), each through store.TransferFile: allow_link
// makes dest a symlink to src, otherwise src, a file or a directory, is copied. The first error
// stops the task. Call it through New, which recovers panics.
func Transfer(ctx context.Context, task processor.TransferInput) (bool, error) {
	for i, r := range task.Routes {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		allowLink := r.Opt != nil && r.Opt.AllowLink
		if err := store.TransferFile(ctx, r.Src.URI, r.Dest.URI, allowLink); err != nil {
			return false, fmt.Errorf("transfer route %d (%s -> %s): %w", i, r.Src.URI, r.Dest.URI, err)
		}
	}
	return true, nil
}
