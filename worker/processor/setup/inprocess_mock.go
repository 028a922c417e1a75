//go:build !ffi

package setup

import (
	"github.com/ipfs-force-community/venus-cluster-go/worker/processor"
	"github.com/ipfs-force-community/venus-cluster-go/worker/processor/builtin"
)

// InProcess is this build's in-process processors: mock proofs in the default build.
func InProcess() processor.Set { return builtin.New() }
