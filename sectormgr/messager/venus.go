package messager

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/filecoin-project/go-jsonrpc"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"

	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
)

// VenusNamespace is the JSON-RPC namespace of the venus-messager API.
const VenusNamespace = "Message"

// VenusCallTimeout bounds each call to the messager.
const VenusCallTimeout = 30 * time.Second

// MessageState is venus-messager's state of a message (venus-shared types/messager).
type MessageState int

const (
	UnKnown MessageState = iota
	UnFillMsg
	FillMsg
	OnChainMsg
	FailedMsg
	// NonceConflictMsg: another message with the same nonce (a replacement made outside the
	// messager, e.g. `mpool replace`) reached the chain; its receipt is the message's receipt.
	NonceConflictMsg
)

func (s MessageState) String() string {
	switch s {
	case UnFillMsg:
		return "UnFillMsg"
	case FillMsg:
		return "FillMsg"
	case OnChainMsg:
		return "OnChainMsg"
	case FailedMsg:
		return "FailedMsg"
	case NonceConflictMsg:
		return "NonceConflictMsg"
	}
	return "UnKnown"
}

// VenusSendSpec is venus-messager's SendSpec, the third parameter of PushMessageWithId.
type VenusSendSpec struct {
	ExpireEpoch       abi.ChainEpoch  `json:"expireEpoch"`
	GasOverEstimation float64         `json:"gasOverEstimation"`
	MaxFee            abi.TokenAmount `json:"maxFee,omitempty"`
	GasOverPremium    float64         `json:"gasOverPremium"`
}

// VenusMessage is the part of venus-messager's Message (GetMessageByUid) the manager reads; the
// unsigned message's fields, flattened into the same object, are ignored.
type VenusMessage struct {
	ID          string
	UnsignedCid *cid.Cid
	SignedCid   *cid.Cid
	Height      int64
	Confidence  int64
	Receipt     *chain.MessageReceipt
	State       MessageState
}

// venusClient is the go-jsonrpc client of the three messager methods the manager calls.
type venusClient struct {
	HasMessageByUid   func(ctx context.Context, id string) (bool, error)
	PushMessageWithId func(ctx context.Context, id string, msg *chain.Message, meta *VenusSendSpec) (string, error)
	GetMessageByUid   func(ctx context.Context, id string) (*VenusMessage, error)
}

// VenusError is a failed venus-messager call.
type VenusError struct {
	Addr   string // the endpoint, e.g. http://127.0.0.1:39812/rpc/v0
	Method string // e.g. Message.PushMessageWithId
	Err    error
}

func (e *VenusError) Error() string {
	return fmt.Sprintf("venus messager %s: %s: %v", e.Addr, e.Method, e.Err)
}

func (e *VenusError) Unwrap() error { return e.Err }

// Venus sends through a venus-messager, which estimates, signs (through its wallet) and pushes.
// The id is the original's uid (see NewID); the CID Push returns is that uid, which is what the
// messager knows the message by (GetMessageByUid), not the chain's CID of the message.
type Venus struct {
	endpoint string
	c        venusClient
	closer   jsonrpc.ClientCloser
}

var _ Sender = (*Venus)(nil)

// DialVenus prepares a client of the messager at endpoint (http://<host>:<port>/rpc/v0), sending
// token as `Authorization: Bearer <token>` when it is not empty. No I/O happens until the first
// call.
func DialVenus(ctx context.Context, endpoint, token string) (*Venus, error) {
	header := http.Header{}
	if token != "" {
		header.Set("Authorization", "Bearer "+token)
	}
	v := &Venus{endpoint: endpoint}
	closer, err := jsonrpc.NewMergeClient(ctx, endpoint, VenusNamespace, []interface{}{&v.c}, header,
		jsonrpc.WithHTTPClient(&http.Client{Timeout: 2 * VenusCallTimeout}), jsonrpc.WithTimeout(2*VenusCallTimeout))
	if err != nil {
		return nil, &VenusError{Addr: endpoint, Method: "dial", Err: err}
	}
	v.closer = closer
	return v, nil
}

// Endpoint is where the messager is reached.
func (v *Venus) Endpoint() string { return v.endpoint }

// Close releases the client.
func (v *Venus) Close() {
	if v.closer != nil {
		v.closer()
	}
}

func (v *Venus) wrap(method string, err error) error {
	if err == nil {
		return nil
	}
	return &VenusError{Addr: v.endpoint, Method: VenusNamespace + "." + method, Err: err}
}

func bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, VenusCallTimeout)
}

func (v *Venus) has(ctx context.Context, id string) (bool, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	has, err := v.c.HasMessageByUid(ctx, id)
	return has, v.wrap("HasMessageByUid", err)
}

// maxUIDAttempts is how many uids NewID tries: the attempt number is one byte.
const maxUIDAttempts = 256

// NewID is the original's uid: the first i for which the messager has no message with uid
// CIDv1(raw, blake2b-256) of [byte(i)] ++ the message's serialisation. The same message sent
// again after a failure (a re-submission) therefore gets a new uid, i+1.
func (v *Venus) NewID(ctx context.Context, msg *chain.Message) (string, error) {
	raw, err := normalised(msg).Serialize()
	if err != nil {
		return "", err
	}
	for i := 0; i < maxUIDAttempts; i++ {
		uid, err := UID(i, raw)
		if err != nil {
			return "", err
		}
		has, err := v.has(ctx, uid.String())
		if err != nil {
			return "", err
		}
		if !has {
			return uid.String(), nil
		}
	}
	return "", fmt.Errorf("venus messager %s already has %d messages with the same content; not sending another", v.endpoint, maxUIDAttempts)
}

// UID is candidate i of a message's uid: CIDv1(raw, blake2b-256) of [byte(i)] ++ serialised.
func UID(i int, serialised []byte) (cid.Cid, error) {
	seed := append([]byte{byte(i)}, serialised...)
	return cid.V1Builder{Codec: cid.Raw, MhType: multihash.BLAKE2B_MIN + 31}.Sum(seed)
}

// Push sends msg with PushMessageWithId(id, msg, spec) unless the messager already has a message
// with id (HasMessageByUid), in which case nothing is sent. The CID is id parsed.
func (v *Venus) Push(ctx context.Context, id string, msg *chain.Message, spec SendSpec) (cid.Cid, error) {
	uid, err := cid.Parse(id)
	if err != nil {
		return cid.Undef, &Refused{fmt.Errorf("message id %q is not a CID (a venus messager id comes from Venus.NewID): %w", id, err)}
	}
	has, err := v.has(ctx, id)
	if err != nil {
		return cid.Undef, err
	}
	if has {
		log.Infow("message already pushed, not sending again", "messager", v.endpoint, "id", id)
		return uid, nil
	}
	meta := &VenusSendSpec{GasOverEstimation: spec.GasOverEstimation, MaxFee: orZero(spec.MaxFee), GasOverPremium: spec.GasOverPremium}
	pctx, cancel := bounded(ctx)
	defer cancel()
	got, err := v.c.PushMessageWithId(pctx, id, normalised(msg), meta)
	if err != nil {
		return cid.Undef, v.wrap("PushMessageWithId", err)
	}
	if got != id {
		return cid.Undef, &Refused{v.wrap("PushMessageWithId", fmt.Errorf("the messager answered id %q for the message pushed as %q", got, id))}
	}
	return uid, nil
}

// State maps GetMessageByUid: OnChainMsg and NonceConflictMsg are on chain, FailedMsg failed,
// every other state pending.
func (v *Venus) State(ctx context.Context, c cid.Cid) (State, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	msg, err := v.c.GetMessageByUid(ctx, c.String())
	if err == nil && msg == nil {
		err = errors.New("the messager answered null")
	}
	if err != nil {
		return State{}, v.wrap("GetMessageByUid", err)
	}
	st := State{Status: Pending, Receipt: msg.Receipt}
	switch msg.State {
	case OnChainMsg, NonceConflictMsg:
		st.Status = OnChain
		st.Height = abi.ChainEpoch(msg.Height)
		st.Confidence = msg.Confidence
	case FailedMsg:
		st.Status = Failed
	}
	return st, nil
}
