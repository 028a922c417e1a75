package simchain

import (
	"bytes"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/big"
	"github.com/filecoin-project/go-state-types/builtin/v16/market"
	"github.com/filecoin-project/go-state-types/builtin/v16/miner"
	"github.com/filecoin-project/go-state-types/exitcode"
	"github.com/google/uuid"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
)

// state is everything the chain persists. Chain.mu guards it.
type state struct {
	seed        []byte
	genesis     abi.ChainEpoch
	genesisTime uint64
	head        abi.ChainEpoch

	miners map[abi.ActorID]*minerState
	// Accounts: every wallet key has an ID address, as on a real chain, so that MinerInfo can
	// name the owner, worker and controls by ID like Lotus does.
	keyToID map[address.Address]abi.ActorID
	idToKey map[abi.ActorID]address.Address
	nextID  abi.ActorID

	deals map[abi.DealID]*deal

	msgs    []*pushed // every message in push order
	pending []*pushed // not yet included, in push order
	byCid   map[cid.Cid]*pushed
	byUuid  map[uuid.UUID]*pushed
	nonces  map[address.Address]uint64 // next nonce of each key address

	forks []abi.ChainEpoch // Reorg: the heights above which the tipsets were replaced
}

// firstAccountID is where account ids start, as on Lotus networks (below are the singletons).
const firstAccountID = 100

func newState(seed []byte, genesis abi.ChainEpoch, genesisTime uint64) *state {
	return &state{
		seed:        append([]byte(nil), seed...),
		genesis:     genesis,
		genesisTime: genesisTime,
		head:        genesis,
		miners:      map[abi.ActorID]*minerState{},
		keyToID:     map[address.Address]abi.ActorID{},
		idToKey:     map[abi.ActorID]address.Address{},
		nextID:      firstAccountID,
		deals:       map[abi.DealID]*deal{},
		byCid:       map[cid.Cid]*pushed{},
		byUuid:      map[uuid.UUID]*pushed{},
		nonces:      map[address.Address]uint64{},
	}
}

type minerState struct {
	actor    abi.ActorID
	size     abi.SectorSize
	proof    abi.RegisteredSealProof
	owner    address.Address // key addresses
	worker   address.Address
	controls []address.Address

	balance           abi.TokenAmount
	precommitDeposits abi.TokenAmount
	initialPledge     abi.TokenAmount

	allocated  map[abi.SectorNumber]struct{}
	precommits map[abi.SectorNumber]*miner.SectorPreCommitOnChainInfo
	sectors    map[abi.SectorNumber]*chain.SectorOnChainInfo
	// deadlines are the WindowPoSt deadlines (proving.go); empty until a sector is active.
	deadlines []*Deadline
}

// available is the balance free for deposits and pledges, as the actor computes it (no
// vesting, no fee debt here).
func (m *minerState) available() abi.TokenAmount {
	return big.Sub(big.Sub(m.balance, m.precommitDeposits), m.initialPledge)
}

type deal struct {
	proposal  market.DealProposal
	activated bool
}

// pushed is one message of the pool or the chain.
type pushed struct {
	signed   chain.SignedMessage
	cid      cid.Cid // the CID the chain knows it by (signed CID, or message CID for BLS)
	msgCid   cid.Cid // the unsigned message's CID
	uuid     uuid.UUID
	included abi.ChainEpoch // 0 while pending
	receipt  chain.MessageReceipt
	reason   string // why the actor failed, for logs and tests
}

// PushedMessage is one message pushed to the node, as Messages reports it.
type PushedMessage struct {
	// Cid is the CID MpoolPushMessage's answer has (SignedMessage.Cid()).
	Cid     cid.Cid
	Message chain.Message
	// MsgUuid is the spec's MsgUuid, or the one the node generated when the caller gave none.
	MsgUuid uuid.UUID
	// Included is the height of the tipset that included and executed it; 0 while pending.
	Included abi.ChainEpoch
	ExitCode exitcode.ExitCode
	Return   []byte
	// Error says why the actor refused it (not part of a Lotus receipt; Lotus logs it in the
	// execution trace).
	Error string
	// Params is the decoded params of a miner method, a pointer to the go-state-types v16 type
	// (e.g. *miner.PreCommitSectorBatchParams2), or nil for other messages and undecodable ones.
	Params any
}

// Pending tells whether the message is still waiting for a tipset.
func (m PushedMessage) Pending() bool { return m.Included == 0 }

func (p *pushed) view() PushedMessage {
	msg := p.signed.Message
	msg.Params = bytes.Clone(msg.Params)
	return PushedMessage{
		Cid:      p.cid,
		Message:  msg,
		MsgUuid:  p.uuid,
		Included: p.included,
		ExitCode: p.receipt.ExitCode,
		Return:   bytes.Clone(p.receipt.Return),
		Error:    p.reason,
		Params:   decodeParamsForView(&msg),
	}
}

func cloneCid(c *cid.Cid) *cid.Cid {
	if c == nil {
		return nil
	}
	cc := *c
	return &cc
}

func clonePreCommit(p *miner.SectorPreCommitOnChainInfo) *miner.SectorPreCommitOnChainInfo {
	out := *p
	out.Info.DealIDs = append([]abi.DealID(nil), p.Info.DealIDs...)
	out.Info.UnsealedCid = cloneCid(p.Info.UnsealedCid)
	return &out
}

func cloneSector(s *chain.SectorOnChainInfo) *chain.SectorOnChainInfo {
	out := *s
	out.SectorKeyCID = cloneCid(s.SectorKeyCID)
	return &out
}
