// Package randomness draws the chain randomness a sector is sealed with (spec/sector-manager.md
// §4.6): the ticket of its replica, from the chain's tickets at a finalized epoch, and the seed of
// its interactive proof, from the beacon once its pre-commit has waited out the challenge delay.
// Each is kept in the sector's state before it is handed to the worker.
package randomness

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/builtin/v16/miner"
	"github.com/filecoin-project/go-state-types/crypto"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/logging"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/sectors"
)

var log = logging.Logger("randomness")

// SealRandomnessLookback is how far behind the head a ticket is drawn: chain finality, so the
// ticket cannot change with a reorg.
const SealRandomnessLookback = miner.ChainFinality

// InteractivePoRepConfidence is how many epochs past the seed epoch the seed is handed out, so a
// short reorg cannot change it (Lotus's policy value).
const InteractivePoRepConfidence = abi.ChainEpoch(6)

// Chain is the full-node calls tickets and seeds need.
type Chain interface {
	ChainHead(ctx context.Context) (*chain.TipSet, error)
	StateGetNetworkParams(ctx context.Context) (*chain.NetworkParams, error)
	StateSectorPreCommitInfo(ctx context.Context, maddr address.Address, num abi.SectorNumber, tsk chain.TipSetKey) (*miner.SectorPreCommitOnChainInfo, error)
	StateGetRandomnessFromTickets(ctx context.Context, dst crypto.DomainSeparationTag, epoch abi.ChainEpoch, entropy []byte, tsk chain.TipSetKey) (abi.Randomness, error)
	StateGetRandomnessFromBeacon(ctx context.Context, dst crypto.DomainSeparationTag, epoch abi.ChainEpoch, entropy []byte, tsk chain.TipSetKey) (abi.Randomness, error)
}

// NotReadyError says the chain is not where the call needs it yet: the worker should retry
// later. It is a temporary error, as a *chain.NodeError is.
type NotReadyError struct {
	msg string
}

func (e *NotReadyError) Error() string { return e.msg }

// Temporary says the call may succeed if tried again.
func (e *NotReadyError) Temporary() bool { return true }

// Randomness serves AssignTicket and WaitSeed. It is safe for concurrent use.
type Randomness struct {
	chain Chain
	store *sectors.Store

	// confidence is how many epochs past the seed epoch the seed is handed out.
	confidence abi.ChainEpoch

	mu     sync.Mutex
	params *chain.NetworkParams // cached after the first success: they are fixed per network
}

// New draws randomness from c and keeps it in store.
func New(c Chain, store *sectors.Store) *Randomness {
	return &Randomness{chain: c, store: store, confidence: InteractivePoRepConfidence}
}

// SetSeedConfidence replaces InteractivePoRepConfidence: the mock's simulated chain, which
// never reorgs, hands seeds out at their epoch.
func (r *Randomness) SetSeedConfidence(epochs abi.ChainEpoch) { r.confidence = epochs }

// AssignTicket draws a fresh ticket for sid at head - SealRandomnessLookback, keeps it as the
// sector's ticket (replacing any earlier one) and returns it. A sector that is not online gives
// the 11001 error, unwrapped.
func (r *Randomness) AssignTicket(ctx context.Context, sid abi.SectorID) (api.Ticket, error) {
	if _, err := r.store.Online(sid); err != nil {
		return api.Ticket{}, err
	}
	entropy, err := entropyOf(sid.Miner)
	if err != nil {
		return api.Ticket{}, err
	}
	head, err := r.head(ctx)
	if err != nil {
		return api.Ticket{}, err
	}
	if head.Height < SealRandomnessLookback {
		return api.Ticket{}, &NotReadyError{msg: fmt.Sprintf(
			"sector %s: the chain head is at epoch %d, before the ticket lookback of %d epochs; retry once the chain is %d epochs long",
			api.FormatSectorID(sid), head.Height, SealRandomnessLookback, SealRandomnessLookback)}
	}
	epoch := head.Height - SealRandomnessLookback
	rand, err := r.chain.StateGetRandomnessFromTickets(ctx, crypto.DomainSeparationTag_SealRandomness, epoch, entropy, head.Key())
	if err != nil {
		return api.Ticket{}, err
	}
	ticket := api.Ticket{Ticket: rand, Epoch: epoch}
	err = r.store.Update(sid, func(st *api.SectorState) error {
		st.Ticket = &api.Ticket{Ticket: bytes.Clone(rand), Epoch: epoch}
		return nil
	})
	if err != nil {
		return api.Ticket{}, err
	}
	log.Infow("ticket assigned", "sector", api.FormatSectorID(sid), "epoch", epoch)
	return ticket, nil
}

// WaitSeed tells the worker how long to wait for the seed of sid, or draws the seed, keeps it as
// the sector's seed and returns it. The seed epoch is the pre-commit's epoch plus the network's
// PreCommitChallengeDelay; the seed is handed out InteractivePoRepConfidence epochs later. A
// sector without a pre-commit on chain gets a NotReadyError; one that is not online gets the
// 11001 error, unwrapped.
func (r *Randomness) WaitSeed(ctx context.Context, sid abi.SectorID) (api.WaitSeedResp, error) {
	if _, err := r.store.Online(sid); err != nil {
		return api.WaitSeedResp{}, err
	}
	maddr, err := address.NewIDAddress(uint64(sid.Miner))
	if err != nil {
		return api.WaitSeedResp{}, fmt.Errorf("sector %s: %w", api.FormatSectorID(sid), err)
	}
	params, err := r.networkParams(ctx)
	if err != nil {
		return api.WaitSeedResp{}, err
	}
	head, err := r.head(ctx)
	if err != nil {
		return api.WaitSeedResp{}, err
	}
	pci, err := r.chain.StateSectorPreCommitInfo(ctx, maddr, sid.Number, head.Key())
	if err != nil {
		return api.WaitSeedResp{}, err
	}
	if pci == nil {
		return api.WaitSeedResp{}, &NotReadyError{msg: fmt.Sprintf(
			"sector %s: no pre-commit on chain yet (%s.StateSectorPreCommitInfo returned null); retry later",
			api.FormatSectorID(sid), chain.Namespace)}
	}

	seedEpoch := pci.PreCommitEpoch + params.PreCommitChallengeDelay
	confEpoch := seedEpoch + r.confidence
	if head.Height < confEpoch {
		delay := int64(confEpoch-head.Height) * int64(params.BlockDelaySecs)
		return api.WaitSeedResp{ShouldWait: true, Delay: int(delay)}, nil
	}

	entropy, err := entropyOf(sid.Miner)
	if err != nil {
		return api.WaitSeedResp{}, err
	}
	rand, err := r.chain.StateGetRandomnessFromBeacon(ctx, crypto.DomainSeparationTag_InteractiveSealChallengeSeed, seedEpoch, entropy, head.Key())
	if err != nil {
		return api.WaitSeedResp{}, err
	}
	err = r.store.Update(sid, func(st *api.SectorState) error {
		st.Seed = &api.Seed{Seed: bytes.Clone(rand), Epoch: seedEpoch}
		return nil
	})
	if err != nil {
		return api.WaitSeedResp{}, err
	}
	log.Infow("seed assigned", "sector", api.FormatSectorID(sid), "epoch", seedEpoch)
	return api.WaitSeedResp{Seed: &api.Seed{Seed: rand, Epoch: seedEpoch}}, nil
}

// head is the chain head; a node answering null is an error, not a panic.
func (r *Randomness) head(ctx context.Context) (*chain.TipSet, error) {
	head, err := r.chain.ChainHead(ctx)
	if err != nil {
		return nil, err
	}
	if head == nil {
		return nil, fmt.Errorf("%s.ChainHead returned null", chain.Namespace)
	}
	return head, nil
}

// networkParams are the node's network parameters, read once.
func (r *Randomness) networkParams(ctx context.Context) (*chain.NetworkParams, error) {
	r.mu.Lock()
	params := r.params
	r.mu.Unlock()
	if params != nil {
		return params, nil
	}
	params, err := r.chain.StateGetNetworkParams(ctx)
	if err != nil {
		return nil, err
	}
	if params == nil {
		return nil, fmt.Errorf("%s.StateGetNetworkParams returned null", chain.Namespace)
	}
	r.mu.Lock()
	r.params = params
	r.mu.Unlock()
	return params, nil
}

// entropyOf is the entropy both draws mix in: the CBOR encoding of the miner's ID address.
func entropyOf(m abi.ActorID) ([]byte, error) {
	maddr, err := address.NewIDAddress(uint64(m))
	if err != nil {
		return nil, fmt.Errorf("miner actor %d: %w", m, err)
	}
	var buf bytes.Buffer
	if err := maddr.MarshalCBOR(&buf); err != nil {
		return nil, fmt.Errorf("encode the address of miner actor %d: %w", m, err)
	}
	return buf.Bytes(), nil
}
