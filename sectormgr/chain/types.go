// Package chain is the manager's side of a Lotus-compatible full node: the JSON shapes of Lotus's
// v1 API (documentation/en/api-methods-v1-stable.md), the Filecoin.* methods the manager calls, and
// a client that sends them to /rpc/v1 with `Authorization: Bearer <token>`. The modules of the
// manager each declare the few of these calls they make as their own interface; *Node and the
// simulated chain (sectormgr/simchain) both provide them.
package chain

import (
	"encoding/json"
	"github.com/filecoin-project/go-bitfield"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/big"
	"github.com/filecoin-project/go-state-types/crypto"
	"github.com/filecoin-project/go-state-types/exitcode"
	"github.com/google/uuid"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/api"
)

// TipSetKey names a tipset by its block CIDs; on the wire it is a JSON array of CIDs. The empty
// key (EmptyTSK) asks the node for its head.
type TipSetKey []cid.Cid

// EmptyTSK is the key Lotus clients send to mean "the current head"; Lotus encodes it as [].
var EmptyTSK = TipSetKey{}

// MarshalJSON writes [] for the empty key, as Lotus does (never null).
func (k TipSetKey) MarshalJSON() ([]byte, error) {
	if k == nil {
		return []byte("[]"), nil
	}
	return json.Marshal([]cid.Cid(k))
}

// TipSet is Lotus's types.TipSet: {"Cids":[...],"Blocks":[...],"Height":n}.
type TipSet struct {
	Cids   []cid.Cid
	Blocks []BlockHeader
	Height abi.ChainEpoch
}

// Key is the tipset's key.
func (ts *TipSet) Key() TipSetKey { return TipSetKey(ts.Cids) }

// BlockHeader is the part of Lotus's types.BlockHeader the manager reads or a node must serve
// for its shape; JSON decoding ignores the fields it does not list.
type BlockHeader struct {
	Miner                 address.Address
	Ticket                *Ticket
	ElectionProof         *ElectionProof
	BeaconEntries         []BeaconEntry
	WinPoStProof          []PoStProof
	Parents               []cid.Cid
	ParentWeight          big.Int
	Height                abi.ChainEpoch
	ParentStateRoot       cid.Cid
	ParentMessageReceipts cid.Cid
	Messages              cid.Cid
	BLSAggregate          *crypto.Signature
	Timestamp             uint64
	BlockSig              *crypto.Signature
	ForkSignaling         uint64
	ParentBaseFee         abi.TokenAmount
}

// Ticket is a block's VRF ticket.
type Ticket struct {
	VRFProof []byte
}

// ElectionProof is a block's election proof.
type ElectionProof struct {
	WinCount int64
	VRFProof []byte
}

// BeaconEntry is one drand round in a block.
type BeaconEntry struct {
	Round uint64
	Data  []byte
}

// PoStProof is a WinningPoSt proof in a block header.
type PoStProof struct {
	PoStProof  abi.RegisteredPoStProof
	ProofBytes []byte
}

// NetworkParams is Lotus's api.NetworkParams (StateGetNetworkParams). ForkUpgradeParams is kept
// raw: the manager reads the network version with StateNetworkVersion instead.
type NetworkParams struct {
	NetworkName             string
	BlockDelaySecs          uint64
	ConsensusMinerMinPower  abi.StoragePower
	PreCommitChallengeDelay abi.ChainEpoch
	ForkUpgradeParams       json.RawMessage
	Eip155ChainID           int
	GenesisTimestamp        uint64
}

// MinerInfo is Lotus's miner.MinerInfo as StateMinerInfo serves it.
type MinerInfo struct {
	Owner                      address.Address
	Worker                     address.Address
	NewWorker                  address.Address
	ControlAddresses           []address.Address
	WorkerChangeEpoch          abi.ChainEpoch
	PeerId                     *string
	Multiaddrs                 [][]byte
	WindowPoStProofType        abi.RegisteredPoStProof
	SectorSize                 abi.SectorSize
	WindowPoStPartitionSectors uint64
	ConsensusFaultElapsed      abi.ChainEpoch
	PendingOwnerAddress        *address.Address
	Beneficiary                address.Address
	BeneficiaryTerm            *BeneficiaryTerm
	PendingBeneficiaryTerm     *PendingBeneficiaryChange
}

// BeneficiaryTerm is the miner's beneficiary quota.
type BeneficiaryTerm struct {
	Quota      abi.TokenAmount
	UsedQuota  abi.TokenAmount
	Expiration abi.ChainEpoch
}

// PendingBeneficiaryChange is a proposed beneficiary change.
type PendingBeneficiaryChange struct {
	NewBeneficiary        address.Address
	NewQuota              abi.TokenAmount
	NewExpiration         abi.ChainEpoch
	ApprovedByBeneficiary bool
	ApprovedByNominee     bool
}

// SectorOnChainInfo is Lotus's miner.SectorOnChainInfo as StateSectorGetInfo serves it (the
// shape of the API documentation: go-state-types' actor struct has an extra DeprecatedDealIDs).
type SectorOnChainInfo struct {
	SectorNumber          abi.SectorNumber
	SealProof             abi.RegisteredSealProof
	SealedCID             cid.Cid
	Activation            abi.ChainEpoch
	Expiration            abi.ChainEpoch
	DealWeight            abi.DealWeight
	VerifiedDealWeight    abi.DealWeight
	InitialPledge         abi.TokenAmount
	ExpectedDayReward     abi.TokenAmount
	ExpectedStoragePledge abi.TokenAmount
	PowerBaseEpoch        abi.ChainEpoch
	ReplacedDayReward     abi.TokenAmount
	SectorKeyCID          *cid.Cid
	Flags                 uint64
	DailyFee              abi.TokenAmount
}

// Message is Lotus's types.Message. On the wire it also carries its "CID" (MarshalJSON).
type Message struct {
	Version    uint64
	To         address.Address
	From       address.Address
	Nonce      uint64
	Value      abi.TokenAmount
	GasLimit   int64
	GasFeeCap  abi.TokenAmount
	GasPremium abi.TokenAmount
	Method     abi.MethodNum
	Params     []byte
}

// SignedMessage is Lotus's types.SignedMessage; its JSON carries the signed message's "CID".
type SignedMessage struct {
	Message   Message
	Signature crypto.Signature
}

// MessageSendSpec is Lotus's api.MessageSendSpec. A node that has already pushed a message with
// MsgUuid returns that message again instead of sending a second one: the manager relies on it
// to never send twice across a crash.
type MessageSendSpec struct {
	MaxFee         abi.TokenAmount
	MsgUuid        uuid.UUID
	MaximizeFeeCap bool
}

// MessageReceipt is Lotus's types.MessageReceipt.
type MessageReceipt struct {
	ExitCode   exitcode.ExitCode
	Return     []byte
	GasUsed    int64
	EventsRoot *cid.Cid
}

// MsgLookup is Lotus's api.MsgLookup (StateSearchMsg, StateWaitMsg): where and how a message
// was executed.
type MsgLookup struct {
	Message   cid.Cid
	Receipt   MessageReceipt
	ReturnDec any
	TipSet    TipSetKey
	Height    abi.ChainEpoch
}

// Deadline is Lotus's api.Deadline as StateMinerDeadlines serves it: the partitions proven in
// the deadline's current window (PostSubmissions), the optimistic proofs open to dispute, and
// the daily fee of its sectors (FIP-0100).
type Deadline struct {
	PostSubmissions      bitfield.BitField
	DisputableProofCount uint64
	DailyFee             abi.TokenAmount
}

// Partition is Lotus's api.Partition as StateMinerPartitions serves it.
type Partition = api.Partition
