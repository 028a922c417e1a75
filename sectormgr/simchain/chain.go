// Package simchain is a simulated Filecoin chain: epochs that advance on demand or on a clock,
// a message pool, a storage-miner actor per registered miner, a minimal storage market, and
// a Lotus full node in front of them. *Chain implements chain.FullNode with Lotus's v1
// semantics, and Handler/Serve serve it as a Lotus node (namespace Filecoin, /rpc/v1, HTTP
// POST and websocket). It is the full node of the manager's tests and the in-process chain of
// `venus-sector-manager mock`.
//
// Execution. The messages pending when a tipset is mined are included in it and executed at
// its height: a message included at height H has MsgLookup.Height H and MsgLookup.TipSet the
// key of that tipset. (Lotus reports the tipset after the including one, whose state holds the
// receipt; here the two are one, so confidence counts from H.) Messages to a miner actor run
// the actor's rules as builtin-actors v16 has them (actor.go); messages to other addresses
// succeed and do nothing. Which miner methods exist depends on the network version, as on
// Filecoin:
//
//	 6 PreCommitSector, 25 PreCommitSectorBatch   removed at nv22 (actors v13)
//	 7 ProveCommitSector                          removed at nv23 (actors v14, FIP-0084)
//	26 ProveCommitAggregate                       removed at nv27 (actors v17, FIP-0101)
//	28 PreCommitSectorBatch2, 34 ProveCommitSectors3, 0 (send)   always
//
// A removed or unknown method ends with exit code 22 (USR_UNHANDLED_MESSAGE).
//
// Money. A miner actor has a balance; a message's value is added to it when the message
// succeeds. Pre-commit deposits and initial pledges are locked from it as the actor does: a
// pre-commit needs available balance (balance + value - locked) for its deposits, and at
// activation the deposit is released and the pledge locked. The amounts are fixed per sector
// size (ExactPreCommitDeposit, ExactInitialPledge); the StateMiner*ForPower estimates answer
// 110% of them, as Lotus does, so an estimate always covers the requirement.
//
// State. Every change is kept in memory and, with Options.StateFile, written to that file
// (write to a temporary file, fsync, rename, fsync the directory), so a restarted mock keeps its
// chain. State queries with a tipset key answer from the current state (no history is kept),
// except where the height matters: randomness, network version and proving deadline use the
// named tipset's height, and an unknown key is an error as in Lotus. Reorg (with
// Options.ReorgDepth) replaces the last tipsets by a fork, from copies of the state it keeps.
//
// Test controls (SetOutcome, SetDown, Calls, Messages, PreCommit, Sector, RemovePreCommit, Reorg) are
// safe to call from any goroutine and do nothing unless called.
package simchain

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/big"
	"github.com/filecoin-project/go-state-types/builtin/v16/market"
	"github.com/filecoin-project/go-state-types/builtin/v16/miner"
	"github.com/filecoin-project/go-state-types/exitcode"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/logging"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
)

var log = logging.Logger("simchain")

// ErrClosed is what every call answers after Close.
var ErrClosed = errors.New("simulated chain closed")

// Chain is a simulated Filecoin chain and the Lotus full node that serves it.
type Chain struct {
	opts Options

	advanceMu sync.Mutex // one tipset at a time

	mu      sync.Mutex
	st      *state
	broken  error // the state file could not be loaded (New): every call fails with it
	outcome func(PushedMessage) Outcome
	down    error
	calls   map[string]int
	headCh  chan struct{} // closed and replaced at every new head

	life context.Context // ends at Close
	kill context.CancelFunc
	// postEvents are the deadline closes so far (PoStEvents).
	postEvents []PoStEvent
	// history is the state before each of the last Options.ReorgDepth tipsets (Reorg).
	history []snapshot
}

var _ chain.FullNode = (*Chain)(nil)

// New is Open for callers that cannot handle an error: tests and chains without a state file.
// If opts.StateFile cannot be loaded, the chain it returns answers every call with that error
// (as a node that is down) and never writes the file.
func New(opts Options) *Chain {
	c, err := Open(opts)
	if err == nil {
		return c
	}
	log.Errorw("simulated chain unusable", "error", err)
	c = newChain(opts.withDefaults(), newState(defaultSeed, 2000, 0))
	c.broken = err
	return c
}

// Open creates the chain, or loads it from opts.StateFile when that file exists. A file that
// cannot be read or decoded is an error naming the path; a new chain is written to the file at
// once, so an unwritable path fails here rather than at the first change.
func Open(opts Options) (*Chain, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	st, found, err := loadState(opts.StateFile)
	if err != nil {
		return nil, err
	}
	if !found {
		st = newState(opts.Seed, opts.StartHeight, genesisTimeFor(opts, time.Now()))
	}
	opts.GenesisTimestamp = st.genesisTime
	c := newChain(opts, st)
	if !found && opts.StateFile != "" {
		if err := c.saveLocked(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// genesisTimeFor is the genesis timestamp of a new chain: the option, or the time that makes
// the start height now.
func genesisTimeFor(opts Options, now time.Time) uint64 {
	if opts.GenesisTimestamp != 0 {
		return opts.GenesisTimestamp
	}
	back := uint64(opts.StartHeight) * opts.BlockDelaySecs
	if n := uint64(now.Unix()); n > back {
		return n - back
	}
	return 0
}

func newChain(opts Options, st *state) *Chain {
	life, kill := context.WithCancel(context.Background())
	return &Chain{opts: opts, st: st, calls: map[string]int{}, headCh: make(chan struct{}), life: life, kill: kill}
}

// Close ends the chain: Run returns, pending StateWaitMsg and WaitHead calls and every HTTP
// connection the handlers serve end, and every later call answers ErrClosed.
func (c *Chain) Close() {
	c.kill()
}

func (c *Chain) closed() bool { return c.life.Err() != nil }

// usableLocked is the error every operation fails with, if any.
func (c *Chain) usableLocked() error {
	if c.broken != nil {
		return c.broken
	}
	if c.closed() {
		return ErrClosed
	}
	return nil
}

// Head is the current height.
func (c *Chain) Head() abi.ChainEpoch {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st.head
}

// Options are the chain's options with their defaults filled.
func (c *Chain) Options() Options { return c.opts }

// Advance mines n tipsets, one after the other, each including and executing the messages
// pending when it is mined. It stops at the first error (the chain was closed, or the state
// file could not be written; the epochs before it stay mined).
func (c *Chain) Advance(n int) error {
	for i := 0; i < n; i++ {
		if err := c.advanceOne(); err != nil {
			return err
		}
	}
	return nil
}

// Run mines one tipset every `every` until ctx ends or the chain is closed. A failure to write
// the state file is logged and retried at the next tipset.
func (c *Chain) Run(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		return fmt.Errorf("simchain: epoch interval %s must be positive", every)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.life.Done():
			return ErrClosed
		case <-t.C:
			if err := c.advanceOne(); err != nil {
				if c.closed() || errors.Is(err, c.broken) {
					return err
				}
				log.Errorw("mining a tipset", "error", err)
			}
		}
	}
}

// WaitHead blocks until the head is at least h, ctx ends or the chain is closed.
func (c *Chain) WaitHead(ctx context.Context, h abi.ChainEpoch) error {
	for {
		c.mu.Lock()
		head, ch := c.st.head, c.headCh
		c.mu.Unlock()
		if head >= h {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-c.life.Done():
			return ErrClosed
		}
	}
}

func (c *Chain) advanceOne() error {
	c.advanceMu.Lock()
	defer c.advanceMu.Unlock()

	c.mu.Lock()
	if err := c.usableLocked(); err != nil {
		c.mu.Unlock()
		return err
	}
	candidates := append([]*pushed(nil), c.st.pending...)
	decide := c.outcome
	views := make([]PushedMessage, len(candidates))
	for i, p := range candidates {
		if decide != nil {
			views[i] = p.view()
		} else {
			views[i] = PushedMessage{Message: chain.Message{From: p.signed.Message.From}}
		}
	}
	c.mu.Unlock()

	// The outcome function runs without the lock, so it may call the chain.
	outcomes := decideOutcomes(decide, views)

	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.snapshotLocked(); err != nil {
		return err
	}
	h := c.st.head + 1
	included := map[*pushed]bool{}
	for i, p := range candidates {
		if outcomes[i].kind == outcomeHold {
			continue
		}
		c.includeLocked(p, h, outcomes[i])
		included[p] = true
	}
	rest := c.st.pending[:0]
	for _, p := range c.st.pending {
		if !included[p] {
			rest = append(rest, p)
		}
	}
	c.st.pending = rest
	c.st.head = h
	c.expirePreCommitsLocked(h)
	c.closeDeadlinesLocked(h)
	err := c.saveLocked()
	close(c.headCh)
	c.headCh = make(chan struct{})
	return err
}

// decideOutcomes asks decide about each candidate in order. A held message holds the later
// messages of its sender too, since their nonces cannot be included before its own.
func decideOutcomes(decide func(PushedMessage) Outcome, views []PushedMessage) []Outcome {
	out := make([]Outcome, len(views))
	held := map[address.Address]bool{}
	for i, v := range views {
		switch {
		case held[v.Message.From]:
			out[i] = OutcomeHold
		case decide != nil:
			out[i] = decide(v)
		}
		if out[i].kind == outcomeHold {
			held[v.Message.From] = true
		}
	}
	return out
}

// Outcome is what happens to a message when a tipset includes it (SetOutcome).
type Outcome struct {
	kind outcomeKind
	code exitcode.ExitCode
}

type outcomeKind int

const (
	outcomeExecute outcomeKind = iota
	outcomeOutOfGas
	outcomeExit
	outcomeHold
)

var (
	// OutcomeExecute runs the actor's rules (the default).
	OutcomeExecute = Outcome{kind: outcomeExecute}
	// OutcomeOutOfGas includes the message with exit code SysErrOutOfGas (7), all its gas
	// used, and no state change.
	OutcomeOutOfGas = Outcome{kind: outcomeOutOfGas, code: exitcode.SysErrOutOfGas}
	// OutcomeHold leaves the message (and the later messages of its sender) pending; it is
	// decided again at the next tipset.
	OutcomeHold = Outcome{kind: outcomeHold}
)

// OutcomeExit includes the message with the given exit code and no state change.
func OutcomeExit(code exitcode.ExitCode) Outcome { return Outcome{kind: outcomeExit, code: code} }

func (o Outcome) String() string {
	switch o.kind {
	case outcomeExecute:
		return "execute"
	case outcomeOutOfGas:
		return "out of gas"
	case outcomeHold:
		return "hold"
	default:
		return fmt.Sprintf("exit %d", o.code)
	}
}

// SetOutcome decides, for every pending message when a tipset is mined, what happens to it;
// nil restores the default (OutcomeExecute for all). fn runs without the chain's lock, once per
// message and tipset, in push order; it may read the chain but must not call Advance.
func (c *Chain) SetOutcome(fn func(m PushedMessage) Outcome) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.outcome = fn
}

// SetDown makes every full-node call (Go and HTTP) fail with err while it is not nil, as a node
// that is down or broken would. The chain itself keeps running.
func (c *Chain) SetDown(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.down = err
}

// Calls counts the full-node calls made so far, by method ("Filecoin.ChainHead" …), through
// the Go methods and HTTP alike, including those that failed.
func (c *Chain) Calls() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.calls))
	for k, v := range c.calls {
		out[k] = v
	}
	return out
}

// enter counts a call of method and says whether it may proceed.
func (c *Chain) enter(method string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[chain.Namespace+"."+method]++
	if err := c.usableLocked(); err != nil {
		return err
	}
	return c.down
}

// Messages lists every message pushed so far, in push order.
func (c *Chain) Messages() []PushedMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]PushedMessage, len(c.st.msgs))
	for i, p := range c.st.msgs {
		out[i] = p.view()
	}
	return out
}

// AddMiner creates a storage-miner actor with the V1_1 seal proof of its sector size, and puts
// its owner, worker and control keys in the node's wallet. Adding an actor that exists keeps
// its sectors and funds; the sector size must be the same, and the addresses are replaced.
func (c *Chain) AddMiner(spec MinerSpec) error {
	proof, err := api.SealProofForSize(spec.SectorSize)
	if err != nil {
		return fmt.Errorf("simchain: miner f0%d: %w", spec.Actor, err)
	}
	if spec.Owner == address.Undef {
		spec.Owner = DefaultOwner(spec.Actor)
	}
	if spec.Worker == address.Undef {
		spec.Worker = DefaultWorker(spec.Actor)
	}
	keys := append([]address.Address{spec.Owner, spec.Worker}, spec.Controls...)
	for _, k := range keys {
		if p := k.Protocol(); p != address.SECP256K1 && p != address.BLS {
			return fmt.Errorf("simchain: miner f0%d: address %s must be a key address (f1… or f3…): the wallet signs with it", spec.Actor, k)
		}
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.usableLocked(); err != nil {
		return err
	}
	if key, ok := c.st.idToKey[spec.Actor]; ok {
		return fmt.Errorf("simchain: actor f0%d is the account of %s, not a miner; choose another actor id", spec.Actor, key)
	}
	m, exists := c.st.miners[spec.Actor]
	if exists && m.size != spec.SectorSize {
		return fmt.Errorf("simchain: miner f0%d exists with sector size %d, not %d", spec.Actor, uint64(m.size), uint64(spec.SectorSize))
	}
	if !exists {
		m = &minerState{
			actor: spec.Actor, size: spec.SectorSize, proof: proof,
			balance: big.Zero(), precommitDeposits: big.Zero(), initialPledge: big.Zero(),
			allocated:  map[abi.SectorNumber]struct{}{},
			precommits: map[abi.SectorNumber]*miner.SectorPreCommitOnChainInfo{},
			sectors:    map[abi.SectorNumber]*chain.SectorOnChainInfo{},
		}
		if !spec.Balance.Nil() {
			m.balance = spec.Balance
		}
		c.st.miners[spec.Actor] = m
	}
	m.owner, m.worker = spec.Owner, spec.Worker
	m.controls = append([]address.Address(nil), spec.Controls...)
	for _, k := range keys {
		c.accountLocked(k)
	}
	return c.saveLocked()
}

// accountLocked is the ID of a key's account actor, created on first use.
func (c *Chain) accountLocked(key address.Address) abi.ActorID {
	if id, ok := c.st.keyToID[key]; ok {
		return id
	}
	id := c.st.nextID
	for c.st.miners[id] != nil {
		id++
	}
	c.st.nextID = id + 1
	c.st.keyToID[key] = id
	c.st.idToKey[id] = key
	return id
}

// AccountID is the ID address of a wallet key, as MinerInfo names owners, workers and controls.
func (c *Chain) AccountID(key address.Address) (address.Address, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := c.st.keyToID[key]
	if !ok {
		return address.Undef, false
	}
	return mustID(id), true
}

func mustID(id abi.ActorID) address.Address {
	a, err := address.NewIDAddress(uint64(id))
	if err != nil {
		panic(err) // NewIDAddress fails for no id
	}
	return a
}

// AddDeal puts a published storage deal in the market, so pre-commits can name it.
func (c *Chain) AddDeal(id abi.DealID, proposal market.DealProposal) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.usableLocked(); err != nil {
		return err
	}
	if _, ok := c.st.deals[id]; ok {
		return fmt.Errorf("simchain: deal %d exists", id)
	}
	c.st.deals[id] = &deal{proposal: proposal}
	return c.saveLocked()
}

// HasDeal tells whether the market knows deal id (AddDeal).
func (c *Chain) HasDeal(id abi.DealID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.st.deals[id]
	return ok
}

// PreCommit is the pre-commit of a sector, or nil.
func (c *Chain) PreCommit(actor abi.ActorID, num abi.SectorNumber) *miner.SectorPreCommitOnChainInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.st.miners[actor]
	if m == nil || m.precommits[num] == nil {
		return nil
	}
	return clonePreCommit(m.precommits[num])
}

// Sector is the on-chain info of a proven sector, or nil.
func (c *Chain) Sector(actor abi.ActorID, num abi.SectorNumber) *chain.SectorOnChainInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.st.miners[actor]
	if m == nil || m.sectors[num] == nil {
		return nil
	}
	return cloneSector(m.sectors[num])
}

// RemovePreCommit drops a pre-commit as the actor's cron does when it expires: the deposit is
// burnt and the number stays allocated. It tells whether there was one.
func (c *Chain) RemovePreCommit(actor abi.ActorID, num abi.SectorNumber) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.usableLocked(); err != nil {
		return false, err
	}
	m := c.st.miners[actor]
	if m == nil || m.precommits[num] == nil {
		return false, nil
	}
	m.expirePreCommit(num)
	return true, c.saveLocked()
}

// Funds are a miner actor's balance and what is locked from it.
type Funds struct {
	Balance           abi.TokenAmount
	PreCommitDeposits abi.TokenAmount
	InitialPledge     abi.TokenAmount
}

// MinerFunds reports a miner's funds; ok is false for an unknown miner.
func (c *Chain) MinerFunds(actor abi.ActorID) (f Funds, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.st.miners[actor]
	if m == nil {
		return Funds{}, false
	}
	return Funds{Balance: m.balance, PreCommitDeposits: m.precommitDeposits, InitialPledge: m.initialPledge}, true
}

// expirePreCommitsLocked is the actor's pre-commit clean-up: a pre-commit not proven within
// its prove-commit window plus the clean-up delay is removed and its deposit burnt.
func (c *Chain) expirePreCommitsLocked(h abi.ChainEpoch) {
	for _, m := range c.st.miners {
		var expired []abi.SectorNumber
		for num, pc := range m.precommits {
			if h >= pc.PreCommitEpoch+c.maxProveCommitDuration()+expiredPreCommitCleanUpDelay {
				expired = append(expired, num)
			}
		}
		sort.Slice(expired, func(i, j int) bool { return expired[i] < expired[j] })
		for _, num := range expired {
			log.Infow("pre-commit expired", "miner", m.actor, "sector", num, "height", h)
			m.expirePreCommit(num)
		}
	}
}

func (m *minerState) expirePreCommit(num abi.SectorNumber) {
	pc := m.precommits[num]
	delete(m.precommits, num)
	m.precommitDeposits = big.Sub(m.precommitDeposits, pc.PreCommitDeposit)
	m.balance = big.Sub(m.balance, pc.PreCommitDeposit)
}
