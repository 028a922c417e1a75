package api

import (
	"github.com/filecoin-project/go-bitfield"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/dline"
	"github.com/filecoin-project/go-state-types/proof"
)

// Partition is Lotus's api.Partition, as StateMinerPartitions serves it: the chain client reads
// it, and ProvingInfo passes it on to `util sealer proving`.
type Partition struct {
	AllSectors        bitfield.BitField
	FaultySectors     bitfield.BitField
	RecoveringSectors bitfield.BitField
	LiveSectors       bitfield.BitField
	ActiveSectors     bitfield.BitField
}

// ProvingInfo is a miner's WindowPoSt state on chain at the head, as `util sealer proving`
// shows it (an addition of ours: the original's util read the chain itself, ours needs only the
// manager). Deadline is the current deadline; Deadlines has all 48, in index order.
type ProvingInfo struct {
	Miner          abi.ActorID
	BlockDelaySecs uint64
	// HeadTimestamp is the Unix time of the head's blocks, from which the open times are told.
	HeadTimestamp uint64
	Deadline      dline.Info
	Deadlines     []ProvingDeadline
}

// ProvingDeadline is one deadline: which partitions were proven in its current window
// (PostSubmissions, as in Lotus's api.Deadline) and its partitions.
type ProvingDeadline struct {
	PostSubmissions bitfield.BitField
	Partitions      []ProvingPartition
}

// ProvingPartition is a partition and, for the deadline ProvingInfo was asked about, its live
// sectors as CheckProvable takes them.
type ProvingPartition struct {
	Partition
	Sectors []proof.ExtendedSectorInfo `json:",omitempty"`
}
