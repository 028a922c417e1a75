// Package messager is how the manager's messages reach the chain: a Sender that pushes a message
// under an id chosen before the push, and tells where a pushed message is. Two backends:
//
//   - Mpool: a Lotus-compatible full node's message pool (MpoolPushMessage with MsgUuid), so a
//     plain Lotus node is enough;
//   - Venus: a venus-messager (namespace "Message": HasMessageByUid, PushMessageWithId,
//     GetMessageByUid).
//
// The contract both keep, which the commitment manager builds its crash safety on: the caller
// gets an id from NewID and persists it together with the message before calling Push; pushing
// the same id again (after a crash, or after an error that left it unknown whether the first push
// arrived) never sends a second message and returns the first one's CID.
package messager

import (
	"context"
	"errors"
	"fmt"

	"github.com/filecoin-project/go-jsonrpc"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/big"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/logging"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
)

var log = logging.Logger("messager")

// Sender pushes messages and reports on them.
type Sender interface {
	// NewID picks the id msg will be pushed under. It sends nothing.
	NewID(ctx context.Context, msg *chain.Message) (string, error)
	// Push sends msg under id, or, when a message was pushed under id before, returns that
	// message's CID without sending anything. The CID is what State takes.
	Push(ctx context.Context, id string, msg *chain.Message, spec SendSpec) (cid.Cid, error)
	// State tells where a pushed message is.
	State(ctx context.Context, c cid.Cid) (State, error)
}

// SendSpec is the fee policy of one message (the FeeConfig of the manager's config). The message
// itself carries GasFeeCap.
type SendSpec struct {
	// MaxFee caps the total fee; zero leaves the backend's default.
	MaxFee abi.TokenAmount
	// GasOverEstimation multiplies the estimated gas limit (venus-messager only: a Lotus node
	// applies its own [Fees] settings).
	GasOverEstimation float64
	// GasOverPremium multiplies the estimated gas premium (venus-messager only).
	GasOverPremium float64
}

// Status is where a pushed message is.
type Status int

const (
	// Pending: not on chain yet (waiting in a pool, or not known to be anywhere).
	Pending Status = iota
	// OnChain: executed; State.Receipt says how.
	OnChain
	// Failed: the backend gave up on the message; it will not reach the chain.
	Failed
)

func (s Status) String() string {
	switch s {
	case Pending:
		return "pending"
	case OnChain:
		return "on chain"
	case Failed:
		return "failed"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// State is what a Sender knows about a pushed message.
type State struct {
	Status Status
	// Height is the epoch of the tipset that executed the message (OnChain).
	Height abi.ChainEpoch
	// Confidence is how many epochs the chain has grown since Height (OnChain).
	Confidence int64
	// Receipt is the execution receipt (OnChain; a Failed message may carry one too).
	Receipt *chain.MessageReceipt
}

// Refused marks a Push error after which the message is known not to be in the backend under
// its id: the backend answered with an error, or the push never started. A Push error that is
// not Refused (a network failure, a timeout) leaves it open whether the message arrived; pushing
// the same id again settles it without sending twice.
type Refused struct{ Err error }

func (e *Refused) Error() string { return e.Err.Error() }
func (e *Refused) Unwrap() error { return e.Err }

// MayHaveSent tells whether the message of a failed Push may have reached the backend, so that
// the caller must keep its id and push it again later instead of giving up on it. It is false
// for Refused errors and for any error the backend answered over JSON-RPC (a node that answers
// "not enough funds" has sent nothing).
func MayHaveSent(err error) bool {
	if err == nil {
		return false
	}
	var refused *Refused
	if errors.As(err, &refused) {
		return false
	}
	var answered *jsonrpc.JSONRPCError
	return !errors.As(err, &answered)
}

// normalised returns a copy of msg whose amounts are never nil big.Ints (which have no CBOR
// form), so its serialisation, and therefore its id and CID, are defined.
func normalised(msg *chain.Message) *chain.Message {
	m := *msg
	m.Value = orZero(m.Value)
	m.GasFeeCap = orZero(m.GasFeeCap)
	m.GasPremium = orZero(m.GasPremium)
	m.Params = append([]byte(nil), msg.Params...)
	return &m
}

func orZero(v abi.TokenAmount) abi.TokenAmount {
	if v.Int == nil {
		return big.Zero()
	}
	return v
}
