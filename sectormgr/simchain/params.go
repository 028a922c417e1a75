package simchain

import (
	"bytes"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/builtin"
	"github.com/filecoin-project/go-state-types/builtin/v16/miner"
	"github.com/filecoin-project/go-state-types/network"
	cbg "github.com/whyrusleeping/cbor-gen"

	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
)

// The miner methods the chain executes.
var (
	methodSend                  = builtin.MethodSend
	methodPreCommitSector       = builtin.MethodsMiner.PreCommitSector
	methodProveCommitSector     = builtin.MethodsMiner.ProveCommitSector
	methodPreCommitSectorBatch  = builtin.MethodsMiner.PreCommitSectorBatch
	methodProveCommitAggregate  = builtin.MethodsMiner.ProveCommitAggregate
	methodPreCommitSectorBatch2 = builtin.MethodsMiner.PreCommitSectorBatch2
	methodProveCommitSectors3   = builtin.MethodsMiner.ProveCommitSectors3

	methodSubmitWindowedPoSt     = builtin.MethodsMiner.SubmitWindowedPoSt
	methodDeclareFaults          = builtin.MethodsMiner.DeclareFaults
	methodDeclareFaultsRecovered = builtin.MethodsMiner.DeclareFaultsRecovered
)

// methodExists tells whether the miner actor of the network version has the method
// (builtin-actors: PreCommitSectorBatch2 since v9/nv17, ProveCommitSectors3 since v13/nv22; the
// removals are in the package doc).
func methodExists(method abi.MethodNum, nv network.Version) bool {
	switch method {
	case methodSend, methodSubmitWindowedPoSt, methodDeclareFaults, methodDeclareFaultsRecovered:
		return true
	case methodPreCommitSector, methodPreCommitSectorBatch:
		return nv < network.Version22
	case methodProveCommitSector:
		return nv < network.Version23
	case methodProveCommitAggregate:
		return nv < network.Version27
	case methodPreCommitSectorBatch2:
		return nv >= network.Version17
	case methodProveCommitSectors3:
		return nv >= network.Version22
	}
	return false
}

// newParams is an empty params value of a miner method, nil for the others.
func newParams(method abi.MethodNum) cbg.CBORUnmarshaler {
	switch method {
	case methodSubmitWindowedPoSt:
		return new(miner.SubmitWindowedPoStParams)
	case methodDeclareFaults:
		return new(miner.DeclareFaultsParams)
	case methodDeclareFaultsRecovered:
		return new(miner.DeclareFaultsRecoveredParams)
	case methodPreCommitSector:
		return new(miner.PreCommitSectorParams)
	case methodProveCommitSector:
		return new(miner.ProveCommitSectorParams)
	case methodPreCommitSectorBatch:
		return new(miner.PreCommitSectorBatchParams)
	case methodProveCommitAggregate:
		return new(miner.ProveCommitAggregateParams)
	case methodPreCommitSectorBatch2:
		return new(miner.PreCommitSectorBatchParams2)
	case methodProveCommitSectors3:
		return new(miner.ProveCommitSectors3Params)
	}
	return nil
}

func decodeParams(method abi.MethodNum, raw []byte) (cbg.CBORUnmarshaler, error) {
	p := newParams(method)
	if p == nil {
		return nil, nil
	}
	if err := p.UnmarshalCBOR(bytes.NewReader(raw)); err != nil {
		return nil, err
	}
	return p, nil
}

// decodeParamsForView decodes a message to an ID address with a miner method's params; it does
// not need to know whether the address is a miner.
func decodeParamsForView(m *chain.Message) any {
	if m.To.Protocol() != address.ID {
		return nil
	}
	p, err := decodeParams(m.Method, m.Params)
	if err != nil || p == nil {
		return nil
	}
	return p
}
