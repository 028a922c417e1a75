package api

import (
	"time"

	"github.com/filecoin-project/go-state-types/abi"
	"github.com/ipfs/go-cid"
)

// SectorWorkerState names the store a sector state lives in: "online" while it is being sealed,
// "offline" once it was finalized or aborted.
type SectorWorkerState string

const (
	WorkerOnline  SectorWorkerState = "online"
	WorkerOffline SectorWorkerState = "offline"
)

// Check rejects any store name but online and offline, naming the bad value.
func (ws SectorWorkerState) Check() error {
	if ws != WorkerOnline && ws != WorkerOffline {
		return InvalidParams("invalid sector store %q: want %q or %q", string(ws), WorkerOnline, WorkerOffline)
	}
	return nil
}

// SectorWorkerJob filters sector listings by the kind of job.
type SectorWorkerJob uint

const (
	SectorWorkerJobAll     SectorWorkerJob = 0
	SectorWorkerJobSealing SectorWorkerJob = 1 // sectors that are not upgraded
	SectorWorkerJobSnapUp  SectorWorkerJob = 2 // upgraded (snap-up) sectors
)

// Check rejects unknown job filters, naming the bad value.
func (j SectorWorkerJob) Check() error {
	if j > SectorWorkerJobSnapUp {
		return InvalidParams("invalid sector job filter %d: want 0 (all), 1 (sealing) or 2 (snapup)", uint(j))
	}
	return nil
}

// Matches reports whether a sector belongs to the job filter.
func (j SectorWorkerJob) Matches(st *SectorState) bool {
	switch j {
	case SectorWorkerJobSealing:
		return !st.Upgraded
	case SectorWorkerJobSnapUp:
		return st.Upgraded
	default:
		return true
	}
}

// SectorHistoryEntry is one state report of a sector as the manager received it; the history of
// a sector is every report in arrival order (the original keeps only the latest one). Time is the
// manager's clock, in UTC.
type SectorHistoryEntry struct {
	Time        time.Time
	Worker      WorkerIdentifier
	StateChange SectorStateChange
	Failure     *SectorFailure
}

// PreCommitInfo is the pre-commit as the manager keeps it: commitments as CIDs.
type PreCommitInfo struct {
	CommR  cid.Cid
	CommD  cid.Cid
	Ticket Ticket
	Deals  []abi.DealID
}

type ProofInfo = ProofOnChainInfo

type MessageInfo struct {
	PreCommitCid *cid.Cid
	CommitCid    *cid.Cid
	NeedSend     bool
}

type TerminateInfo struct {
	TerminateCid *cid.Cid
	TerminatedAt abi.ChainEpoch
	AddedHeight  abi.ChainEpoch
}

type SectorUpgradedInfo struct {
	AccessInstance string
	SealedCID      cid.Cid
	UnsealedCID    cid.Cid
	Proof          []byte
}

// SectorState is the manager's record of one sector (online or offline store).
type SectorState struct {
	ID         abi.SectorID
	SectorType abi.RegisteredSealProof

	Ticket *Ticket        `json:",omitempty"`
	Seed   *Seed          `json:",omitempty"`
	Pieces Deals          `json:"Deals"`
	Pre    *PreCommitInfo `json:",omitempty"`
	Proof  *ProofInfo     `json:",omitempty"`

	MessageInfo   MessageInfo
	TerminateInfo TerminateInfo

	LatestState *ReportStateReq `json:",omitempty"`
	Finalized   bool
	Removed     bool
	AbortReason string

	Upgraded           bool
	UpgradePublic      *SectorPublicInfo
	UpgradedInfo       *SectorUpgradedInfo
	UpgradeMessageID   *string
	UpgradeLandedEpoch *abi.ChainEpoch
	Imported           bool
}
