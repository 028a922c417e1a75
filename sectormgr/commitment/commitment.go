// Package commitment is the manager's commitment manager (spec/sector-manager.md §4.7): it checks
// the pre-commits and proofs workers submit, batches them per miner, builds the miner-actor
// messages the chain's network version accepts, sends them through a messager.Sender, and maps
// where each message is to the poll answers workers act on.
//
// Nothing is sent twice and nothing is lost across a crash: before a message is pushed, a
// journal entry holding the message and its sender id is written (commitment/pending/<id>);
// after the push, each sector records the message's CID and the entry is deleted. Start replays
// every entry left by a crash (pushing the same id again sends nothing new) before it re-queues
// the sectors still waiting to be sent. Terminate is not part of this package yet.
package commitment

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/big"
	"github.com/filecoin-project/go-state-types/builtin/v16/miner"
	"github.com/filecoin-project/go-state-types/crypto"
	"github.com/filecoin-project/go-state-types/network"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/logging"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/config"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/messager"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/sealverify"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/sectors"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

var log = logging.Logger("commitment")

// Chain is the full-node calls the commitment manager makes.
type Chain interface {
	ChainHead(ctx context.Context) (*chain.TipSet, error)
	StateGetNetworkParams(ctx context.Context) (*chain.NetworkParams, error)
	StateNetworkVersion(ctx context.Context, tsk chain.TipSetKey) (network.Version, error)
	StateMinerSectorAllocated(ctx context.Context, maddr address.Address, num abi.SectorNumber, tsk chain.TipSetKey) (bool, error)
	StateSectorPreCommitInfo(ctx context.Context, maddr address.Address, num abi.SectorNumber, tsk chain.TipSetKey) (*miner.SectorPreCommitOnChainInfo, error)
	StateSectorGetInfo(ctx context.Context, maddr address.Address, num abi.SectorNumber, tsk chain.TipSetKey) (*chain.SectorOnChainInfo, error)
	StateGetRandomnessFromBeacon(ctx context.Context, dst crypto.DomainSeparationTag, epoch abi.ChainEpoch, entropy []byte, tsk chain.TipSetKey) (abi.Randomness, error)
	StateMinerPreCommitDepositForPower(ctx context.Context, maddr address.Address, pci miner.SectorPreCommitInfo, tsk chain.TipSetKey) (big.Int, error)
	StateMinerInitialPledgeCollateral(ctx context.Context, maddr address.Address, pci miner.SectorPreCommitInfo, tsk chain.TipSetKey) (big.Int, error)
}

// Deps are what a Manager works with.
type Deps struct {
	// Sectors is the sector state store.
	Sectors *sectors.Store
	// DB keeps the push journal; it may be the database the sector store lives in.
	DB       statedb.DB
	Chain    Chain
	Sender   messager.Sender
	Verifier sealverify.Verifier
	// Miner returns the live config of a miner, so that a reload applies to the next decision.
	Miner func(abi.ActorID) (config.MinerConfig, bool)
	// RetryInterval is the wait between pushes of a message whose first push may or may not
	// have arrived (a network failure); 0 means DefaultRetryInterval.
	RetryInterval time.Duration
}

// DefaultRetryInterval is how often a push whose outcome is unknown is tried again.
const DefaultRetryInterval = time.Minute

// Kind is what a message commits: a pre-commit or a proof.
type Kind string

const (
	KindPreCommit Kind = "pre-commit"
	KindProve     Kind = "prove-commit"
)

// The poll and submit texts of the original, which operators and scripts know.
const (
	errMsgPublishAttemptFailed  = "attempt to publish message but failed"
	errMsgReceiptNotFound       = "receipt not found for on-chain message"
	errMsgSectorAllocated       = "sector already allocated"
	errMsgPreCommitInfoNotFound = "pre-commit info not found on chain"
	errMsgSectorInfoNotFound    = "sector info not found on chain"
)

// MinNetworkVersion is the oldest network whose miner actor has PreCommitSectorBatch2.
const MinNetworkVersion = network.Version17

// Manager is the commitment manager. It is safe for concurrent use.
type Manager struct {
	deps Deps

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	batchers map[batcherKey]*batcher
	// busy holds the sectors whose message is being built, pushed or recorded, or whose push
	// is in doubt: they must not be queued again until that message is settled.
	busy    map[busyKey]struct{}
	stopped bool

	paramsMu sync.Mutex
	params   *chain.NetworkParams

	reportedMu sync.Mutex
	reported   map[cid.Cid]api.OnChainState

	// crashAt, when set (tests), stops processing at a named point as a crash would.
	crashAt func(point string) bool
}

type batcherKey struct {
	miner abi.ActorID
	kind  Kind
}

type busyKey struct {
	kind Kind
	sid  abi.SectorID
}

// New returns a manager; Start recovers what a previous run left and starts its work.
func New(deps Deps) *Manager {
	if deps.RetryInterval <= 0 {
		deps.RetryInterval = DefaultRetryInterval
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Manager{
		deps:     deps,
		ctx:      ctx,
		cancel:   cancel,
		batchers: map[batcherKey]*batcher{},
		busy:     map[busyKey]struct{}{},
		reported: map[cid.Cid]api.OnChainState{},
	}
}

// Start replays the push journal, so every message a crash left between journal and record is
// pushed (again, under the same id: the backend sends it at most once) and recorded, and then
// queues every online sector that still waits for its message: to pre-commit when it has no
// pre-commit CID, else to prove. Sectors a journal entry covers are not queued again. ctx
// bounds the first push of each replayed message; later retries run until Stop.
func (m *Manager) Start(ctx context.Context) error {
	entries, err := m.loadJournal()
	if err != nil {
		return err
	}
	for _, e := range entries {
		m.markBusy(e.Kind, e.Miner, e.Sectors)
	}
	for _, e := range entries {
		log.Infow("replaying a message left by the previous run", "miner", e.Miner, "kind", e.Kind, "sectors", e.Sectors, "id", e.ID)
		m.pushSettling(ctx, e)
	}
	states, err := m.deps.Sectors.List(api.WorkerOnline, api.SectorWorkerJobSealing)
	if err != nil {
		return fmt.Errorf("list online sectors to re-queue: %w", err)
	}
	for _, st := range states {
		if !st.MessageInfo.NeedSend {
			continue
		}
		kind, since := KindPreCommit, abi.ChainEpoch(0)
		if st.Pre != nil {
			since = st.Pre.Ticket.Epoch
		}
		if st.MessageInfo.PreCommitCid != nil {
			kind = KindProve
			if st.Seed != nil {
				since = st.Seed.Epoch
			}
		}
		if m.isBusy(kind, st.ID) {
			continue
		}
		log.Infow("re-queueing a sector waiting for its message", "sector", api.FormatSectorID(st.ID), "kind", kind)
		m.enqueue(kind, st.ID, since)
	}
	return nil
}

// Stop ends the batchers and waits for the messages being sent. Sectors still queued keep
// NeedSend and are queued again by the next Start; a push in doubt stays in the journal.
func (m *Manager) Stop() {
	m.mu.Lock()
	m.stopped = true
	m.mu.Unlock()
	m.cancel()
	m.wg.Wait()
}

// Flush sends every sector the batcher of (actor, kind) holds now, whatever its batch policy
// says, and returns once those messages were pushed (or failed to be). It returns at once when
// nothing is queued.
func (m *Manager) Flush(ctx context.Context, actor abi.ActorID, kind Kind) error {
	if kind != KindPreCommit && kind != KindProve {
		return fmt.Errorf("unknown commitment kind %q: want %q or %q", kind, KindPreCommit, KindProve)
	}
	m.mu.Lock()
	b := m.batchers[batcherKey{actor, kind}]
	m.mu.Unlock()
	if b == nil {
		return nil
	}
	return b.flush(ctx)
}

// policy returns the commitment policy of kind for a miner; an RPC error when the miner has no
// config or no valid sender.
func (m *Manager) policy(miner abi.ActorID, kind Kind) (config.MinerConfig, config.CommitmentPolicy, error) {
	cfg, ok := m.deps.Miner(miner)
	if !ok {
		return cfg, config.CommitmentPolicy{}, fmt.Errorf("config for miner actor %d not found", miner)
	}
	policy := cfg.Commitment.Pre
	if kind == KindProve {
		policy = cfg.Commitment.Prove
	}
	if !policy.Sender.IsSet() {
		return cfg, policy, errors.New("sender address not valid")
	}
	return cfg, policy, nil
}

// stateErr labels an error of a worker-facing method as the original's sectorStateErr does,
// except the 11001 error, which must stay the outermost error for go-jsonrpc to send its code.
func stateErr(err error) error {
	if err == nil || api.IsSectorStateNotFound(err) {
		return err
	}
	return fmt.Errorf("sector state: %w", err)
}

func minerAddr(miner abi.ActorID) address.Address {
	a, err := address.NewIDAddress(uint64(miner))
	if err != nil {
		// Every uint64 is an ID address.
		panic(err)
	}
	return a
}

func (m *Manager) head(ctx context.Context) (*chain.TipSet, error) {
	head, err := m.deps.Chain.ChainHead(ctx)
	if err == nil && head == nil {
		err = errors.New("the chain answered a null head")
	}
	return head, err
}

// networkParams are fixed per network, so the first answer is kept.
func (m *Manager) networkParams(ctx context.Context) (*chain.NetworkParams, error) {
	m.paramsMu.Lock()
	defer m.paramsMu.Unlock()
	if m.params != nil {
		return m.params, nil
	}
	p, err := m.deps.Chain.StateGetNetworkParams(ctx)
	if err == nil && p == nil {
		err = errors.New("the chain answered null network params")
	}
	if err != nil {
		return nil, err
	}
	m.params = p
	return p, nil
}

// networkVersion reads the version at head and refuses the networks this manager cannot build
// messages for.
func (m *Manager) networkVersion(ctx context.Context, head *chain.TipSet) (network.Version, error) {
	nv, err := m.deps.Chain.StateNetworkVersion(ctx, head.Key())
	if err != nil {
		return 0, err
	}
	if nv < MinNetworkVersion {
		return nv, fmt.Errorf("network version %d is older than %d: this manager sends PreCommitSectorBatch2, which the chain has only from network version %d; upgrade the chain node's network", nv, MinNetworkVersion, MinNetworkVersion)
	}
	return nv, nil
}

func (m *Manager) markBusy(kind Kind, miner abi.ActorID, nums []abi.SectorNumber) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, n := range nums {
		m.busy[busyKey{kind, abi.SectorID{Miner: miner, Number: n}}] = struct{}{}
	}
}

func (m *Manager) unmarkBusy(kind Kind, miner abi.ActorID, nums []abi.SectorNumber) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, n := range nums {
		delete(m.busy, busyKey{kind, abi.SectorID{Miner: miner, Number: n}})
	}
}

func (m *Manager) isBusy(kind Kind, sid abi.SectorID) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.busy[busyKey{kind, sid}]
	return ok
}

// goTracked runs fn as part of the manager's work, which Stop waits for; false once stopped.
func (m *Manager) goTracked(fn func()) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return false
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		fn()
	}()
	return true
}

func (m *Manager) crashed(point string) bool {
	return m.crashAt != nil && m.crashAt(point)
}
