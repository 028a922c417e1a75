//go:build ffi

package setup

import (
	"github.com/ipfs-force-community/venus-cluster-go/worker/processor"
	"github.com/ipfs-force-community/venus-cluster-go/worker/processor/ffi"
)

// InProcess is this build's in-process processors: filecoin-ffi's real proofs.
func InProcess() processor.Set { return ffi.New() }
