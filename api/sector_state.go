package api

import (
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/ipfs/go-cid"
)

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
