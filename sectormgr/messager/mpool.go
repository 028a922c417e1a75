package messager

import (
	"context"
	"errors"
	"fmt"

	"github.com/filecoin-project/go-state-types/abi"
	"github.com/google/uuid"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
)

// MpoolNode is what Mpool needs from a full node.
type MpoolNode interface {
	ChainHead(ctx context.Context) (*chain.TipSet, error)
	MpoolPushMessage(ctx context.Context, msg *chain.Message, spec *chain.MessageSendSpec) (*chain.SignedMessage, error)
	StateSearchMsg(ctx context.Context, from chain.TipSetKey, msg cid.Cid, limit abi.ChainEpoch, allowReplaced bool) (*chain.MsgLookup, error)
}

// LookbackNoLimit is Lotus's api.LookbackNoLimit: search the whole chain. Lotus stops the search
// early where the sender's nonce is below the message's, so a pending message costs little.
const LookbackNoLimit = abi.ChainEpoch(-1)

// Mpool sends through a full node's message pool: the node estimates gas, signs with the sender's
// key in its wallet, and pushes. The id is a UUID passed as MsgUuid: a Lotus node that has already
// signed a message with that UUID returns it again instead of signing a second one.
type Mpool struct {
	node     MpoolNode
	name     string
	lookback abi.ChainEpoch
}

var _ Sender = (*Mpool)(nil)

// NewMpool sends through node. Errors name the node by its Endpoint() when it has one.
func NewMpool(node MpoolNode) *Mpool {
	name := "in-process"
	if e, ok := node.(interface{ Endpoint() string }); ok {
		name = e.Endpoint()
	}
	return &Mpool{node: node, name: name, lookback: LookbackNoLimit}
}

// NewID is a fresh UUID.
func (m *Mpool) NewID(ctx context.Context, msg *chain.Message) (string, error) {
	return uuid.NewString(), nil
}

// Push is MpoolPushMessage with MsgUuid = id and MaxFee from spec; the CID is the signed
// message's, which is what the chain knows it by. GasOverEstimation and GasOverPremium are not
// part of Lotus's send spec: the node applies its own fee settings.
func (m *Mpool) Push(ctx context.Context, id string, msg *chain.Message, spec SendSpec) (cid.Cid, error) {
	u, err := uuid.Parse(id)
	if err != nil {
		return cid.Undef, &Refused{fmt.Errorf("message id %q is not a UUID (an Mpool id comes from Mpool.NewID): %w", id, err)}
	}
	sm, err := m.node.MpoolPushMessage(ctx, normalised(msg), &chain.MessageSendSpec{MaxFee: orZero(spec.MaxFee), MsgUuid: u})
	if err == nil && sm == nil {
		err = errors.New("the node answered null")
	}
	if err != nil {
		return cid.Undef, m.wrap("MpoolPushMessage", err)
	}
	c, err := sm.Cid()
	if err != nil {
		// The node did push it; a later Push with the same id returns the same message again.
		return cid.Undef, m.wrap("MpoolPushMessage", fmt.Errorf("CID of the signed message: %w", err))
	}
	return c, nil
}

// State looks the message up with StateSearchMsg (replacements allowed: a message replaced in
// the pool by a higher-fee copy counts as the copy) and measures its confidence against the head.
// A message the chain does not have is Pending; the node's pool never reports a failure.
func (m *Mpool) State(ctx context.Context, c cid.Cid) (State, error) {
	lookup, err := m.node.StateSearchMsg(ctx, chain.EmptyTSK, c, m.lookback, true)
	if err != nil {
		return State{}, m.wrap("StateSearchMsg", err)
	}
	if lookup == nil {
		return State{Status: Pending}, nil
	}
	head, err := m.node.ChainHead(ctx)
	if err == nil && head == nil {
		err = errors.New("the node answered null")
	}
	if err != nil {
		return State{}, m.wrap("ChainHead", err)
	}
	receipt := lookup.Receipt
	return State{
		Status:     OnChain,
		Height:     lookup.Height,
		Confidence: int64(head.Height - lookup.Height),
		Receipt:    &receipt,
	}, nil
}

// wrap names the node and the method, unless the node's client already did.
func (m *Mpool) wrap(method string, err error) error {
	if chain.IsNodeError(err) {
		return err
	}
	return &chain.NodeError{Addr: m.name, Method: chain.Namespace + "." + method, Err: err}
}
