package commitment

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-bitfield"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/big"
	"github.com/filecoin-project/go-state-types/builtin"
	"github.com/filecoin-project/go-state-types/builtin/v16/miner"
	"github.com/filecoin-project/go-state-types/network"
	"github.com/filecoin-project/go-state-types/proof"
	"github.com/ipfs/go-cid"
	cbg "github.com/whyrusleeping/cbor-gen"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/config"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/messager"
)

// maxIndividualProofs bounds the proofs of one ProveCommitSectors3 without aggregation, so the
// message stays far below the 64 KiB message size (a 32 GiB proof is 1920 bytes).
const maxIndividualProofs = 16

// process sends the messages of the given sectors of one miner, all marked busy. Each sector
// ends either recorded (its message's CID, or no CID and NeedSend=false when it could not be
// sent) or still busy with a push in doubt that is retried in the background.
func (m *Manager) process(mid abi.ActorID, kind Kind, nums []abi.SectorNumber) error {
	if kind == KindPreCommit {
		return m.processPreCommit(m.ctx, mid, nums)
	}
	return m.processProve(m.ctx, mid, nums)
}

// chainView is the chain at the moment a batch is built.
type chainView struct {
	head   *chain.TipSet
	nv     network.Version
	params *chain.NetworkParams
}

func (m *Manager) view(ctx context.Context) (chainView, error) {
	head, err := m.head(ctx)
	if err != nil {
		return chainView{}, err
	}
	nv, err := m.networkVersion(ctx, head)
	if err != nil {
		return chainView{}, err
	}
	params, err := m.networkParams(ctx)
	if err != nil {
		return chainView{}, err
	}
	return chainView{head: head, nv: nv, params: params}, nil
}

// loadQueued reads the state of a queued sector; ok is false (and the sector settled) when there
// is nothing to send for it.
func (m *Manager) loadQueued(kind Kind, sid abi.SectorID) (*api.SectorState, bool) {
	st, err := m.deps.Sectors.Online(sid)
	if err != nil {
		if api.IsSectorStateNotFound(err) {
			log.Warnw("a queued sector is no longer online; not sending it", "sector", api.FormatSectorID(sid), "kind", kind)
			m.unmarkBusy(kind, sid.Miner, []abi.SectorNumber{sid.Number})
		} else {
			m.fail(kind, sid.Miner, []abi.SectorNumber{sid.Number}, err)
		}
		return nil, false
	}
	sent := st.MessageInfo.PreCommitCid
	if kind == KindProve {
		sent = st.MessageInfo.CommitCid
	}
	if !st.MessageInfo.NeedSend || sent != nil {
		m.unmarkBusy(kind, sid.Miner, []abi.SectorNumber{sid.Number})
		return nil, false
	}
	return st, true
}

type preCommitEntry struct {
	info    miner.SectorPreCommitInfo
	deposit abi.TokenAmount
}

func (m *Manager) processPreCommit(ctx context.Context, mid abi.ActorID, nums []abi.SectorNumber) error {
	cfg, policy, err := m.policy(mid, KindPreCommit)
	if err != nil {
		return m.fail(KindPreCommit, mid, nums, err)
	}
	view, err := m.view(ctx)
	if err != nil {
		return m.fail(KindPreCommit, mid, nums, err)
	}
	maddr := minerAddr(mid)
	var entries []preCommitEntry
	for _, n := range nums {
		sid := abi.SectorID{Miner: mid, Number: n}
		st, ok := m.loadQueued(KindPreCommit, sid)
		if !ok {
			continue
		}
		e, err := m.preCommitEntry(ctx, view, cfg, policy, maddr, st)
		if err != nil {
			m.fail(KindPreCommit, mid, []abi.SectorNumber{n}, err)
			continue
		}
		entries = append(entries, e)
	}
	var errs []error
	for len(entries) > 0 {
		chunk := entries[:min(len(entries), miner.PreCommitSectorBatchMaxSize)]
		entries = entries[len(chunk):]
		errs = append(errs, m.sendPreCommits(ctx, mid, policy, chunk))
	}
	return errors.Join(errs...)
}

// preCommitEntry re-checks a queued sector against the chain of now (a ticket or deal may have
// expired while it waited, and one bad sector would fail the whole batch) and builds its
// SectorPreCommitInfo and deposit.
func (m *Manager) preCommitEntry(ctx context.Context, view chainView, cfg config.MinerConfig, policy config.CommitmentPolicy, maddr address.Address, st *api.SectorState) (preCommitEntry, error) {
	p, onChain, err := m.checkPrecommit(ctx, st)
	if err != nil {
		return preCommitEntry{}, err
	}
	if p != "" {
		return preCommitEntry{}, errors.New(string(p))
	}
	if onChain {
		return preCommitEntry{}, errors.New("a pre-commit of this sector with the same ticket is already on chain, sent by something else than this manager")
	}
	exp, err := sectorExpiration(view.head.Height, st, cfg.Sector.LifetimeDays, view.params.PreCommitChallengeDelay)
	if err != nil {
		return preCommitEntry{}, err
	}
	info := miner.SectorPreCommitInfo{
		SealProof:     st.SectorType,
		SectorNumber:  st.ID.Number,
		SealedCID:     st.Pre.CommR,
		SealRandEpoch: st.Pre.Ticket.Epoch,
		Expiration:    exp,
	}
	if hasDeals(st) {
		commD := st.Pre.CommD
		info.UnsealedCid = &commD
		if view.nv < ddoVersion {
			// Before ProveCommitSectors3 the pre-commit's deal IDs are what activates the deals;
			// from it on, the proof's piece manifests do, and a pre-commit with deal IDs could
			// not be proven with it.
			info.DealIDs = dealIDs(st)
		}
	}
	deposit := big.Zero()
	if policy.SendFund {
		deposit, err = m.deps.Chain.StateMinerPreCommitDepositForPower(ctx, maddr, info, view.head.Key())
		if err != nil {
			return preCommitEntry{}, err
		}
	}
	return preCommitEntry{info: info, deposit: deposit}, nil
}

// sendPreCommits sends one PreCommitSectorBatch2 for the entries, with their summed deposit
// (every sector is in the batch whatever SendFund says: the original's bug 5 left the batch empty
// without SendFund).
func (m *Manager) sendPreCommits(ctx context.Context, mid abi.ActorID, policy config.CommitmentPolicy, entries []preCommitEntry) error {
	params := miner.PreCommitSectorBatchParams2{}
	value := big.Zero()
	nums := make([]abi.SectorNumber, len(entries))
	for i, e := range entries {
		params.Sectors = append(params.Sectors, e.info)
		value = big.Add(value, e.deposit)
		nums[i] = e.info.SectorNumber
	}
	raw, err := encode(&params)
	if err != nil {
		return m.fail(KindPreCommit, mid, nums, fmt.Errorf("encode PreCommitSectorBatchParams2: %w", err))
	}
	fee := policy.FeeConfig
	if len(entries) > 1 {
		fee = policy.Batch.FeeConfig
	}
	return m.send(ctx, KindPreCommit, mid, nums, policy.Sender.Std(), builtin.MethodsMiner.PreCommitSectorBatch2, value, raw, fee)
}

// provable is a queued proof with what its message needs from the chain.
type provable struct {
	st         *api.SectorState
	pci        *miner.SectorPreCommitOnChainInfo
	collateral abi.TokenAmount
}

func (m *Manager) processProve(ctx context.Context, mid abi.ActorID, nums []abi.SectorNumber) error {
	_, policy, err := m.policy(mid, KindProve)
	if err != nil {
		return m.fail(KindProve, mid, nums, err)
	}
	view, err := m.view(ctx)
	if err != nil {
		return m.fail(KindProve, mid, nums, err)
	}
	maddr := minerAddr(mid)
	var list []provable
	for _, n := range nums {
		st, ok := m.loadQueued(KindProve, abi.SectorID{Miner: mid, Number: n})
		if !ok {
			continue
		}
		p, err := m.provable(ctx, view, policy, maddr, st)
		if err != nil {
			m.fail(KindProve, mid, []abi.SectorNumber{n}, err)
			continue
		}
		list = append(list, p)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].st.ID.Number < list[j].st.ID.Number })

	aggregate := policy.Batch.Enabled && len(list) >= miner.MinAggregatedSectors
	var errs []error
	for _, group := range bySealProof(list) {
		for _, chunk := range proofChunks(group, aggregate, view.nv) {
			errs = append(errs, m.sendProofs(ctx, mid, policy, view, chunk, aggregate && len(chunk) >= miner.MinAggregatedSectors))
		}
	}
	return errors.Join(errs...)
}

func (m *Manager) provable(ctx context.Context, view chainView, policy config.CommitmentPolicy, maddr address.Address, st *api.SectorState) (provable, error) {
	if st.Pre == nil || st.Seed == nil || st.Proof == nil {
		return provable{}, errors.New("the sector lacks its pre-commit, seed or proof")
	}
	pci, err := m.deps.Chain.StateSectorPreCommitInfo(ctx, maddr, st.ID.Number, view.head.Key())
	if err != nil {
		return provable{}, err
	}
	if pci == nil {
		return provable{}, errors.New(errMsgPreCommitInfoNotFound)
	}
	if view.nv >= ddoVersion && len(pci.Info.DealIDs) > 0 {
		return provable{}, fmt.Errorf("the sector was pre-committed with deal IDs %v, which ProveCommitSectors3 (the only prove method from network version %d on) cannot activate", pci.Info.DealIDs, ddoVersion)
	}
	collateral := big.Zero()
	if policy.SendFund {
		pledge, err := m.deps.Chain.StateMinerInitialPledgeCollateral(ctx, maddr, pci.Info, view.head.Key())
		if err != nil {
			return provable{}, err
		}
		collateral = big.Max(big.Sub(pledge, pci.PreCommitDeposit), big.Zero())
	}
	return provable{st: st, pci: pci, collateral: collateral}, nil
}

// bySealProof groups sectors by seal proof type, keeping their order: an aggregate covers one
// type.
func bySealProof(list []provable) [][]provable {
	var groups [][]provable
	index := map[abi.RegisteredSealProof]int{}
	for _, p := range list {
		i, ok := index[p.pci.Info.SealProof]
		if !ok {
			i = len(groups)
			index[p.pci.Info.SealProof] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], p)
	}
	return groups
}

// proofChunks splits a group into messages: with aggregation, aggregates of 4 to
// MaxAggregatedSectors sectors; the rest as ProveCommitSectors3 with a few individual proofs, or,
// before network version 22, one ProveCommitSector per sector.
func proofChunks(group []provable, aggregate bool, nv network.Version) [][]provable {
	var chunks [][]provable
	if aggregate {
		for len(group) >= miner.MinAggregatedSectors {
			n := min(len(group), miner.MaxAggregatedSectors)
			chunks = append(chunks, group[:n])
			group = group[n:]
		}
	}
	size := maxIndividualProofs
	if nv < ddoVersion {
		size = 1
	}
	for len(group) > 0 {
		n := min(len(group), size)
		chunks = append(chunks, group[:n])
		group = group[n:]
	}
	return chunks
}

// sendProofs sends one message proving chunk: ProveCommitSectors3 from network version 22 on,
// else ProveCommitAggregate or ProveCommitSector. The value is the summed collateral.
func (m *Manager) sendProofs(ctx context.Context, mid abi.ActorID, policy config.CommitmentPolicy, view chainView, chunk []provable, aggregate bool) error {
	nums := make([]abi.SectorNumber, len(chunk))
	value := big.Zero()
	for i, p := range chunk {
		nums[i] = p.st.ID.Number
		value = big.Add(value, p.collateral)
	}
	method, raw, err := m.proofParams(mid, view.nv, chunk, aggregate)
	if err != nil {
		return m.fail(KindProve, mid, nums, err)
	}
	fee := policy.FeeConfig
	if len(chunk) > 1 {
		fee = policy.Batch.FeeConfig
	}
	return m.send(ctx, KindProve, mid, nums, policy.Sender.Std(), method, value, raw, fee)
}

func (m *Manager) proofParams(mid abi.ActorID, nv network.Version, chunk []provable, aggregate bool) (abi.MethodNum, []byte, error) {
	var aggProof []byte
	if aggregate {
		var err error
		if aggProof, err = m.aggregate(mid, chunk); err != nil {
			return 0, nil, err
		}
	}
	if nv >= ddoVersion {
		params := miner.ProveCommitSectors3Params{}
		for _, p := range chunk {
			pieces, err := activationPieces(p.st)
			if err != nil {
				return 0, nil, err
			}
			params.SectorActivations = append(params.SectorActivations, miner.SectorActivationManifest{SectorNumber: p.st.ID.Number, Pieces: pieces})
			if !aggregate {
				params.SectorProofs = append(params.SectorProofs, p.st.Proof.Proof)
			}
		}
		if aggregate {
			t := abi.RegisteredAggregationProof_SnarkPackV2
			params.AggregateProof, params.AggregateProofType = aggProof, &t
		}
		raw, err := encode(&params)
		return builtin.MethodsMiner.ProveCommitSectors3, raw, err
	}
	if aggregate {
		nums := make([]uint64, len(chunk))
		for i, p := range chunk {
			nums[i] = uint64(p.st.ID.Number)
		}
		raw, err := encode(&miner.ProveCommitAggregateParams{SectorNumbers: bitfield.NewFromSet(nums), AggregateProof: aggProof})
		return builtin.MethodsMiner.ProveCommitAggregate, raw, err
	}
	if len(chunk) != 1 {
		return 0, nil, fmt.Errorf("ProveCommitSector proves one sector, not %d", len(chunk))
	}
	raw, err := encode(&miner.ProveCommitSectorParams{SectorNumber: chunk[0].st.ID.Number, Proof: chunk[0].st.Proof.Proof})
	return builtin.MethodsMiner.ProveCommitSector, raw, err
}

// aggregate folds the chunk's proofs, sorted by sector number, into one SnarkPackV2 proof.
func (m *Manager) aggregate(mid abi.ActorID, chunk []provable) ([]byte, error) {
	agg := proof.AggregateSealVerifyProofAndInfos{
		Miner:          mid,
		SealProof:      chunk[0].pci.Info.SealProof,
		AggregateProof: abi.RegisteredAggregationProof_SnarkPackV2,
	}
	proofs := make([][]byte, len(chunk))
	for i, p := range chunk {
		agg.Infos = append(agg.Infos, proof.AggregateSealVerifyInfo{
			Number:                p.st.ID.Number,
			Randomness:            abi.SealRandomness(p.st.Pre.Ticket.Ticket),
			InteractiveRandomness: abi.InteractiveSealRandomness(p.st.Seed.Seed),
			SealedCID:             p.pci.Info.SealedCID,
			UnsealedCID:           p.st.Pre.CommD,
		})
		proofs[i] = p.st.Proof.Proof
	}
	out, err := m.deps.Verifier.AggregateSealProofs(agg, proofs)
	if err != nil {
		return nil, fmt.Errorf("aggregate %d proofs: %w", len(chunk), err)
	}
	return out, nil
}

// activationPieces is the piece manifest of a sector with deals: every piece in order, each deal
// notifying the storage market of its deal ID (what activates it there). A CC sector has none.
func activationPieces(st *api.SectorState) ([]miner.PieceActivationManifest, error) {
	if !hasDeals(st) {
		return nil, nil
	}
	pieces := make([]miner.PieceActivationManifest, 0, len(st.Pieces))
	for _, d := range st.Pieces {
		pam := miner.PieceActivationManifest{CID: d.Piece.Cid, Size: d.Piece.Size}
		if d.ID != 0 {
			var payload bytes.Buffer
			if err := cbg.NewCborWriter(&payload).WriteMajorTypeHeader(cbg.MajUnsignedInt, uint64(d.ID)); err != nil {
				return nil, err
			}
			pam.Notify = []miner.DataActivationNotification{{Address: builtin.StorageMarketActorAddr, Payload: payload.Bytes()}}
		}
		pieces = append(pieces, pam)
	}
	return pieces, nil
}

type cborMarshaler interface {
	MarshalCBOR(w io.Writer) error
}

func encode(v cborMarshaler) ([]byte, error) {
	var buf bytes.Buffer
	if err := v.MarshalCBOR(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// send journals and pushes one message for nums. Its error is the first push's, for Flush.
func (m *Manager) send(ctx context.Context, kind Kind, mid abi.ActorID, nums []abi.SectorNumber, from address.Address, method abi.MethodNum, value abi.TokenAmount, params []byte, fee config.FeeConfig) error {
	msg := chain.Message{
		To:         minerAddr(mid),
		From:       from,
		Value:      value,
		Method:     method,
		Params:     params,
		GasFeeCap:  fee.EffectiveGasFeeCap().TokenAmount(),
		GasPremium: big.Zero(),
	}
	id, err := m.deps.Sender.NewID(ctx, &msg)
	if err != nil {
		return m.fail(kind, mid, nums, fmt.Errorf("choose the message id: %w", err))
	}
	e := &journalEntry{
		ID:      id,
		Kind:    kind,
		Miner:   mid,
		Sectors: nums,
		Message: msg,
		Spec:    journalSpec{MaxFee: fee.MaxFee.TokenAmount(), GasOverEstimation: fee.GasOverEstimation, GasOverPremium: fee.GasOverPremium},
		Created: time.Now().UTC(),
	}
	if err := m.writeJournal(e); err != nil {
		return m.fail(kind, mid, nums, fmt.Errorf("journal the message before pushing it: %w", err))
	}
	if m.crashed("journaled") {
		return nil
	}
	return m.pushSettling(ctx, e)
}

// pushSettling pushes a journaled message once; if it is unknown whether the push arrived, it
// keeps pushing the same id in the background until the outcome is known.
func (m *Manager) pushSettling(ctx context.Context, e *journalEntry) error {
	settled, err := m.pushOnce(ctx, e)
	if settled {
		return err
	}
	if !m.goTracked(func() { m.retryPush(e) }) {
		log.Warnw("stopping with a push in doubt; the next start pushes it again", "miner", e.Miner, "kind", e.Kind, "sectors", e.Sectors, "id", e.ID)
	}
	return err
}

func (m *Manager) retryPush(e *journalEntry) {
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-time.After(m.deps.RetryInterval):
		}
		if settled, _ := m.pushOnce(m.ctx, e); settled {
			return
		}
	}
}

// pushOnce pushes e and records the outcome. settled is false when the push failed in a way
// that may have sent it: the entry stays journaled and busy, to be pushed again.
//
// The rule for failures: an error the backend answered (or a refusal before sending) means the
// message is not in the backend, so the entry is dropped and the sectors get NeedSend=false
// without a CID: the poll says Failed and the worker re-submits. Any other error (network,
// timeout, stop) may have sent it, so the entry is kept: pushing the same id again returns the
// message if it arrived and sends it if not, and only then are the sectors recorded.
func (m *Manager) pushOnce(ctx context.Context, e *journalEntry) (settled bool, err error) {
	c, err := m.deps.Sender.Push(ctx, e.ID, &e.Message, e.Spec.sendSpec())
	if err != nil {
		if messager.MayHaveSent(err) {
			log.Warnw("push failed and may have arrived; pushing the same id again later", "miner", e.Miner, "kind", e.Kind,
				"method", methodName(e.Message.Method), "sectors", e.Sectors, "id", e.ID, "err", err)
			return false, err
		}
		m.failJournaled(e, err)
		return true, err
	}
	if m.crashed("pushed") {
		return true, nil
	}
	log.Infow("message pushed", "miner", e.Miner, "kind", e.Kind, "method", methodName(e.Message.Method), "sectors", e.Sectors,
		"cid", c, "value", config.FILFromAtto(e.Message.Value).String())
	m.record(e, c)
	return true, nil
}

// record gives each sector of e the message's CID, then drops the entry. A sector that is gone
// is skipped; if a sector cannot be written, the entry stays for the next Start to record again.
func (m *Manager) record(e *journalEntry, c cid.Cid) {
	defer m.unmarkBusy(e.Kind, e.Miner, e.Sectors)
	complete := true
	for _, n := range e.Sectors {
		sid := abi.SectorID{Miner: e.Miner, Number: n}
		err := m.deps.Sectors.Update(sid, func(st *api.SectorState) error {
			mc := c
			if e.Kind == KindPreCommit {
				st.MessageInfo.PreCommitCid = &mc
			} else {
				st.MessageInfo.CommitCid = &mc
			}
			st.MessageInfo.NeedSend = false
			return nil
		})
		switch {
		case err == nil:
		case api.IsSectorStateNotFound(err):
			log.Warnw("a sector of a pushed message is no longer online", "sector", api.FormatSectorID(sid), "kind", e.Kind, "cid", c)
		default:
			complete = false
			log.Errorw("record the message of a sector; the next start records it again", "sector", api.FormatSectorID(sid), "kind", e.Kind, "cid", c, "err", err)
		}
	}
	if !complete {
		return
	}
	if err := m.deleteJournal(e.ID); err != nil {
		log.Errorw("drop a recorded journal entry; the next start records it again", "id", e.ID, "err", err)
	}
}

// failJournaled records that e's message was not sent, and drops the entry.
func (m *Manager) failJournaled(e *journalEntry, cause error) {
	m.fail(e.Kind, e.Miner, e.Sectors, cause)
	if err := m.deleteJournal(e.ID); err != nil {
		log.Errorw("drop the journal entry of a failed push", "id", e.ID, "err", err)
	}
}

// fail records that the sectors' message could not be sent: NeedSend=false and no CID, so the
// poll says Failed ("attempt to publish message but failed") and the worker re-submits. A sector
// that has a message of this kind recorded is left as it is. It returns cause.
func (m *Manager) fail(kind Kind, mid abi.ActorID, nums []abi.SectorNumber, cause error) error {
	defer m.unmarkBusy(kind, mid, nums)
	log.Warnw("message not sent", "miner", mid, "kind", kind, "sectors", nums, "err", cause)
	for _, n := range nums {
		sid := abi.SectorID{Miner: mid, Number: n}
		err := m.deps.Sectors.Update(sid, func(st *api.SectorState) error {
			sent := st.MessageInfo.PreCommitCid
			if kind == KindProve {
				sent = st.MessageInfo.CommitCid
			}
			if sent == nil {
				st.MessageInfo.NeedSend = false
			}
			return nil
		})
		if err != nil && !api.IsSectorStateNotFound(err) {
			log.Errorw("record a failed send", "sector", api.FormatSectorID(sid), "kind", kind, "err", err)
		}
	}
	return cause
}

func methodName(method abi.MethodNum) string {
	if meta, ok := miner.Methods[method]; ok {
		return meta.Name
	}
	return fmt.Sprintf("method %d", method)
}
