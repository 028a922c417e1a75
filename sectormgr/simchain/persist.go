package simchain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/builtin/v16/market"
	"github.com/filecoin-project/go-state-types/builtin/v16/miner"
	"github.com/google/uuid"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
)

// stateFileVersion is the format of the state file; a file of another version is refused.
const stateFileVersion = 1

// fileState is the state file: JSON, with Lotus's JSON shapes for the Filecoin types.
type fileState struct {
	Version          int
	Seed             []byte
	Genesis          abi.ChainEpoch
	GenesisTimestamp uint64
	Head             abi.ChainEpoch
	NextID           abi.ActorID
	Accounts         []fileAccount
	Miners           []fileMiner
	Deals            []fileDeal
	Messages         []fileMessage
	Nonces           []fileNonce
	// Forks are the heights the chain was reorganised above (Reorg): they decide the tipsets'
	// CIDs and tickets, so a restarted mock keeps its fork.
	Forks []abi.ChainEpoch `json:",omitempty"`
}

type fileAccount struct {
	ID  abi.ActorID
	Key address.Address
}

type fileMiner struct {
	Actor             abi.ActorID
	SectorSize        abi.SectorSize
	Owner             address.Address
	Worker            address.Address
	Controls          []address.Address
	Balance           abi.TokenAmount
	PreCommitDeposits abi.TokenAmount
	InitialPledge     abi.TokenAmount
	Allocated         []abi.SectorNumber
	PreCommits        []*miner.SectorPreCommitOnChainInfo
	Sectors           []*chain.SectorOnChainInfo
	Deadlines         []*Deadline `json:",omitempty"`
}

type fileDeal struct {
	ID        abi.DealID
	Proposal  []byte // CBOR of market.DealProposal
	Activated bool
}

type fileMessage struct {
	Signed   *chain.SignedMessage
	Uuid     uuid.UUID
	Included abi.ChainEpoch
	Receipt  chain.MessageReceipt
	Reason   string `json:",omitempty"`
}

type fileNonce struct {
	Key  address.Address
	Next uint64
}

// saveLocked writes the state file, if there is one: to a temporary file in the same
// directory, fsync'd, renamed over the file, and the directory fsync'd, so the file is always
// one whole state.
func (c *Chain) saveLocked() error {
	if c.opts.StateFile == "" || c.broken != nil {
		return nil
	}
	raw, err := json.Marshal(c.st.toFile())
	if err != nil {
		return fmt.Errorf("simchain: encode state: %w", err)
	}
	if err := writeFileAtomic(c.opts.StateFile, raw); err != nil {
		return fmt.Errorf("simchain: save state to %s: %w", c.opts.StateFile, err)
	}
	return nil
}

func writeFileAtomic(path string, raw []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(raw); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	done = true
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// loadState reads the state file; found is false when there is none (or no path).
func loadState(path string) (st *state, found bool, err error) {
	if path == "" {
		return nil, false, nil
	}
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("simchain: read state file %s: %w", path, err)
	}
	corrupt := func(err error) error {
		return fmt.Errorf("simchain: state file %s is corrupt: %v (move it away to start a new chain)", path, err)
	}
	var f fileState
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, false, corrupt(err)
	}
	if f.Version != stateFileVersion {
		return nil, false, fmt.Errorf("simchain: state file %s has format version %d, this program reads %d", path, f.Version, stateFileVersion)
	}
	st, err = f.toState()
	if err != nil {
		return nil, false, corrupt(err)
	}
	return st, true, nil
}

func (st *state) toFile() *fileState {
	f := &fileState{Version: stateFileVersion, Seed: st.seed, Genesis: st.genesis, GenesisTimestamp: st.genesisTime, Head: st.head, NextID: st.nextID, Forks: st.forks}
	for id, key := range st.idToKey {
		f.Accounts = append(f.Accounts, fileAccount{ID: id, Key: key})
	}
	sort.Slice(f.Accounts, func(i, j int) bool { return f.Accounts[i].ID < f.Accounts[j].ID })
	for _, m := range st.miners {
		f.Miners = append(f.Miners, m.toFile())
	}
	sort.Slice(f.Miners, func(i, j int) bool { return f.Miners[i].Actor < f.Miners[j].Actor })
	for id, d := range st.deals {
		var buf bytes.Buffer
		if err := d.proposal.MarshalCBOR(&buf); err != nil {
			panic(err) // a proposal that came in through AddDeal always serialises
		}
		f.Deals = append(f.Deals, fileDeal{ID: id, Proposal: buf.Bytes(), Activated: d.activated})
	}
	sort.Slice(f.Deals, func(i, j int) bool { return f.Deals[i].ID < f.Deals[j].ID })
	for _, p := range st.msgs {
		signed := p.signed
		f.Messages = append(f.Messages, fileMessage{Signed: &signed, Uuid: p.uuid, Included: p.included, Receipt: p.receipt, Reason: p.reason})
	}
	for key, next := range st.nonces {
		f.Nonces = append(f.Nonces, fileNonce{Key: key, Next: next})
	}
	sort.Slice(f.Nonces, func(i, j int) bool { return f.Nonces[i].Key.String() < f.Nonces[j].Key.String() })
	return f
}

func (m *minerState) toFile() fileMiner {
	fm := fileMiner{
		Actor: m.actor, SectorSize: m.size, Owner: m.owner, Worker: m.worker, Controls: m.controls,
		Balance: m.balance, PreCommitDeposits: m.precommitDeposits, InitialPledge: m.initialPledge,
	}
	for n := range m.allocated {
		fm.Allocated = append(fm.Allocated, n)
	}
	sort.Slice(fm.Allocated, func(i, j int) bool { return fm.Allocated[i] < fm.Allocated[j] })
	for _, pc := range m.precommits {
		fm.PreCommits = append(fm.PreCommits, pc)
	}
	sort.Slice(fm.PreCommits, func(i, j int) bool { return fm.PreCommits[i].Info.SectorNumber < fm.PreCommits[j].Info.SectorNumber })
	for _, s := range m.sectors {
		fm.Sectors = append(fm.Sectors, s)
	}
	sort.Slice(fm.Sectors, func(i, j int) bool { return fm.Sectors[i].SectorNumber < fm.Sectors[j].SectorNumber })
	fm.Deadlines = m.deadlines
	return fm
}

// toState rebuilds the state and checks what the rest of the chain relies on.
func (f *fileState) toState() (*state, error) {
	if len(f.Seed) == 0 {
		return nil, errors.New("no seed")
	}
	if f.Genesis < 0 || f.Head < f.Genesis {
		return nil, fmt.Errorf("head %d below genesis %d", f.Head, f.Genesis)
	}
	st := newState(f.Seed, f.Genesis, f.GenesisTimestamp)
	st.head, st.nextID, st.forks = f.Head, f.NextID, f.Forks
	for _, a := range f.Accounts {
		if p := a.Key.Protocol(); p != address.SECP256K1 && p != address.BLS {
			return nil, fmt.Errorf("account f0%d has no key address", a.ID)
		}
		st.idToKey[a.ID], st.keyToID[a.Key] = a.Key, a.ID
	}
	for _, fm := range f.Miners {
		m, err := fm.toState(st)
		if err != nil {
			return nil, err
		}
		st.miners[m.actor] = m
	}
	for _, fd := range f.Deals {
		var p market.DealProposal
		if err := p.UnmarshalCBOR(bytes.NewReader(fd.Proposal)); err != nil {
			return nil, fmt.Errorf("deal %d: %w", fd.ID, err)
		}
		st.deals[fd.ID] = &deal{proposal: p, activated: fd.Activated}
	}
	for i, fm := range f.Messages {
		if fm.Signed == nil {
			return nil, fmt.Errorf("message %d has no body", i)
		}
		if fm.Included < 0 || fm.Included > st.head {
			return nil, fmt.Errorf("message %d included at %d, head is %d", i, fm.Included, st.head)
		}
		p, err := newPushed(*fm.Signed, fm.Uuid)
		if err != nil {
			return nil, fmt.Errorf("message %d: %w", i, err)
		}
		p.included, p.receipt, p.reason = fm.Included, fm.Receipt, fm.Reason
		st.addPushedLocked(p)
	}
	for _, n := range f.Nonces {
		st.nonces[n.Key] = n.Next
	}
	return st, nil
}

func (fm fileMiner) toState(st *state) (*minerState, error) {
	proof, err := api.SealProofForSize(fm.SectorSize)
	if err != nil {
		return nil, fmt.Errorf("miner f0%d: %w", fm.Actor, err)
	}
	for _, k := range append([]address.Address{fm.Owner, fm.Worker}, fm.Controls...) {
		if _, ok := st.keyToID[k]; !ok {
			return nil, fmt.Errorf("miner f0%d: address %s has no account", fm.Actor, k)
		}
	}
	for _, v := range []abi.TokenAmount{fm.Balance, fm.PreCommitDeposits, fm.InitialPledge} {
		if v.Nil() {
			return nil, fmt.Errorf("miner f0%d: missing funds", fm.Actor)
		}
	}
	m := &minerState{
		actor: fm.Actor, size: fm.SectorSize, proof: proof, owner: fm.Owner, worker: fm.Worker, controls: fm.Controls,
		balance: fm.Balance, precommitDeposits: fm.PreCommitDeposits, initialPledge: fm.InitialPledge,
		allocated:  map[abi.SectorNumber]struct{}{},
		precommits: map[abi.SectorNumber]*miner.SectorPreCommitOnChainInfo{},
		sectors:    map[abi.SectorNumber]*chain.SectorOnChainInfo{},
	}
	for _, n := range fm.Allocated {
		m.allocated[n] = struct{}{}
	}
	for _, pc := range fm.PreCommits {
		if pc == nil || pc.PreCommitDeposit.Nil() {
			return nil, fmt.Errorf("miner f0%d: incomplete pre-commit", fm.Actor)
		}
		m.precommits[pc.Info.SectorNumber] = pc
	}
	for _, s := range fm.Sectors {
		if s == nil || s.InitialPledge.Nil() {
			return nil, fmt.Errorf("miner f0%d: incomplete sector", fm.Actor)
		}
		m.sectors[s.SectorNumber] = s
	}
	if len(fm.Deadlines) > 0 {
		m.deadlines = fm.Deadlines
		m.deadlinesOrInit()
	}
	return m, nil
}

// addPushedLocked adds a message to the pool or the chain and to its indexes.
func (st *state) addPushedLocked(p *pushed) {
	st.msgs = append(st.msgs, p)
	if p.included == 0 {
		st.pending = append(st.pending, p)
	}
	st.byCid[p.cid] = p
	st.byCid[p.msgCid] = p
	st.byUuid[p.uuid] = p
}
