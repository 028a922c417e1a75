// Package api is the wire contract between venus-worker and venus-sector-manager: every type that
// crosses the wire, with the exact JSON names of the original system, and the method sets of the
// Venus (manager) and VenusWorker (worker admin) namespaces.
package api

import (
	"fmt"

	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/builtin/v8/market"
	"github.com/ipfs/go-cid"
)

// JSON-RPC namespaces and endpoints of the two daemons.
const (
	ManagerNamespace      = "Venus"
	WorkerNamespace       = "VenusWorker"
	ManagerRPCPath        = "/rpc/v0"
	DefaultManagerPort    = 1789
	DefaultWorkerRPCPort  = 17890
	DefaultWorkerRPCHost  = "0.0.0.0"
	DefaultWorkerDialHost = "127.0.0.1"
)

// FormatSectorID renders a sector id the way both daemons name sector files: s-t0<miner>-<number>.
func FormatSectorID(id abi.SectorID) string {
	return fmt.Sprintf("s-t0%d-%d", id.Miner, id.Number)
}

// ScanSectorID parses the s-t0<miner>-<number> form back into a sector id.
func ScanSectorID(s string) (abi.SectorID, error) {
	var id abi.SectorID
	var miner, number uint64
	n, err := fmt.Sscanf(s, "s-t0%d-%d", &miner, &number)
	if err != nil || n != 2 || FormatSectorID(abi.SectorID{Miner: abi.ActorID(miner), Number: abi.SectorNumber(number)}) != s {
		return id, fmt.Errorf("invalid sector id %q: want s-t0<miner>-<number>", s)
	}
	id.Miner, id.Number = abi.ActorID(miner), abi.SectorNumber(number)
	return id, nil
}

type AllocateSectorSpec struct {
	AllowedMiners     []abi.ActorID
	AllowedProofTypes []abi.RegisteredSealProof
}

type AllocatedSector struct {
	ID        abi.SectorID
	ProofType abi.RegisteredSealProof
}

type AcquireDealsSpec struct {
	MaxDeals     *uint
	MinUsedSpace *uint64
}

// PieceInfo is a piece as the manager describes it: padded size and piece CID.
type PieceInfo struct {
	Size abi.PaddedPieceSize
	Cid  cid.Cid
}

// DealInfo is one piece of a sector; ID 0 marks a pledge (filler) piece.
type DealInfo struct {
	ID           abi.DealID
	PayloadSize  uint64
	Piece        PieceInfo
	Proposal     *market.DealProposal
	IsCompatible bool
}

type Deals []DealInfo

type Ticket struct {
	Ticket abi.Randomness
	Epoch  abi.ChainEpoch
}

type Seed struct {
	Seed  abi.Randomness
	Epoch abi.ChainEpoch
}

type PreCommitOnChainInfo struct {
	CommR  [32]byte
	CommD  [32]byte
	Ticket Ticket
	Deals  []abi.DealID
}

type ProofOnChainInfo struct {
	Proof []byte
}

// SubmitResult is the manager's verdict on a submission.
type SubmitResult uint64

const (
	SubmitUnknown SubmitResult = iota
	SubmitAccepted
	SubmitDuplicateSubmit
	SubmitMismatchedSubmission
	SubmitRejected
	SubmitFilesMissed
)

var submitResultNames = [...]string{"Unknown", "Accepted", "DuplicateSubmit", "MismatchedSubmission", "Rejected", "FilesMissed"}

func (r SubmitResult) String() string {
	if int(r) < len(submitResultNames) {
		return submitResultNames[r]
	}
	return fmt.Sprintf("SubmitResult(%d)", uint64(r))
}

// OnChainState is the manager's view of a submitted message.
type OnChainState uint64

const (
	OnChainUnknown OnChainState = iota
	OnChainPending
	OnChainPacked
	OnChainLanded
	OnChainNotFound
	OnChainFailed
	OnChainPermFailed
	OnChainShouldAbort
)

var onChainStateNames = [...]string{"Unknown", "Pending", "Packed", "Landed", "NotFound", "Failed", "PermFailed", "ShouldAbort"}

func (s OnChainState) String() string {
	if int(s) < len(onChainStateNames) {
		return onChainStateNames[s]
	}
	return fmt.Sprintf("OnChainState(%d)", uint64(s))
}

type SubmitPreCommitResp struct {
	Res  SubmitResult
	Desc *string
}

type SubmitProofResp = SubmitPreCommitResp
type SubmitSnapUpProofResp = SubmitPreCommitResp

type PollPreCommitStateResp struct {
	State OnChainState
	Desc  *string
}

type PollProofStateResp = PollPreCommitStateResp

type WaitSeedResp struct {
	ShouldWait bool
	Delay      int
	Seed       *Seed
}

type WorkerIdentifier struct {
	Instance string
	Location string
}

type SectorStateChange struct {
	Prev  string
	Next  string
	Event string
}

// SectorFailure levels sent by the worker: Temporary, Permanent, Abort, Critical.
type SectorFailure struct {
	Level string
	Desc  string
}

type ReportStateReq struct {
	Worker      WorkerIdentifier
	StateChange SectorStateChange
	Failure     *SectorFailure
}

// WorkerInfoSummary counts a worker's sealing threads. Running and Waiting are damocles
// additions; an original worker does not send them and they decode as 0.
type WorkerInfoSummary struct {
	Threads uint
	Empty   uint
	Paused  uint
	Running uint
	Waiting uint
	Errors  uint
}

// WorkerInfo is what a worker sends with every ping. Version is a damocles addition ("" from an
// original worker).
type WorkerInfo struct {
	Name    string
	Dest    string
	Version string
	Summary WorkerInfoSummary
	// Drained is an addition of ours, sent only when true: a ping of a worker that is not drained
	// is byte for byte the original's, and an original worker's decodes as not drained.
	Drained bool `json:",omitempty"`
}

// WorkerPingInfo is a registry entry; LastPing is the manager's clock in unix seconds.
type WorkerPingInfo struct {
	Info     WorkerInfo
	LastPing int64
}

type StoreBasicInfo struct {
	Name string
	Path string
	Meta map[string]string
}

type AllocateSnapUpSpec struct {
	Sector AllocateSectorSpec
	Deals  AcquireDealsSpec
}

type SectorPublicInfo struct {
	CommR      [32]byte
	SealedCID  cid.Cid
	Activation abi.ChainEpoch
	Expiration abi.ChainEpoch
}

type SectorPrivateInfo struct {
	AccessInstance string
}

type AllocatedSnapUpSector struct {
	Sector  AllocatedSector
	Pieces  Deals
	Public  SectorPublicInfo
	Private SectorPrivateInfo
}

type SnapUpOnChainInfo struct {
	CommR          [32]byte
	CommD          [32]byte
	AccessInstance string
	Pieces         []cid.Cid
	Proof          []byte
}

// WorkerThreadInfo is one sealing thread as VenusWorker.WorkerList reports it (snake_case on the wire).
type WorkerThreadInfo struct {
	Location      string        `json:"location"`
	SectorID      *abi.SectorID `json:"sector_id"`
	Index         int           `json:"index"`
	Paused        bool          `json:"paused"`
	PausedElapsed *uint64       `json:"paused_elapsed"`
	State         string        `json:"state"`
	LastError     *string       `json:"last_error"`
}
