// Package allocator hands out new sectors to workers (spec/sector-manager.md §4.4): it picks one
// of the configured miners that may seal, takes its next sector number, checks on chain that the
// number is free and creates the sector's online state.
package allocator

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/logging"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/config"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/sectors"
)

var log = logging.Logger("allocator")

// Chain is the full-node calls the allocator makes.
type Chain interface {
	MinerInfoChain
	StateMinerSectorAllocated(ctx context.Context, maddr address.Address, num abi.SectorNumber, tsk chain.TipSetKey) (bool, error)
}

// ErrSectorAllocated says the chain already knows the number handed out: the number stays
// consumed, and the worker's retry gets the next one.
var ErrSectorAllocated = errors.New("sector allocated")

// Allocator serves AllocateSector. It is safe for concurrent use.
type Allocator struct {
	chain  Chain
	infos  *MinerInfos
	store  *sectors.Store
	miners func() []config.MinerConfig
	intn   func(n int) int
}

// Option changes an Allocator.
type Option func(*Allocator)

// WithMinerInfos shares a miner-info cache with other modules (the deal manager reads sector
// sizes from it).
func WithMinerInfos(infos *MinerInfos) Option {
	return func(a *Allocator) { a.infos = infos }
}

// WithRand replaces the random choice of a miner (tests): intn(n) returns an index in [0, n).
func WithRand(intn func(n int) int) Option {
	return func(a *Allocator) { a.intn = intn }
}

// New builds an allocator over the chain and the sector store. miners is read on every call, so
// a reloaded config applies to the next allocation.
func New(c Chain, store *sectors.Store, miners func() []config.MinerConfig, opts ...Option) *Allocator {
	a := &Allocator{chain: c, store: store, miners: miners, intn: rand.IntN}
	for _, opt := range opts {
		opt(a)
	}
	if a.infos == nil {
		a.infos = NewMinerInfos(c)
	}
	return a
}

// MinerInfos is the allocator's miner-info cache.
func (a *Allocator) MinerInfos() *MinerInfos { return a.infos }

// candidate is a miner that may get the next sector.
type candidate struct {
	info MinerInfo
	cfg  config.SectorConfig
}

// AllocateSector picks a random miner among the candidates (enabled in the config, and allowed
// by spec when its lists are not empty) and gives it a new sector; null when no candidate has a
// number left. A number is persisted before the chain is asked about it, so a number the chain
// already knows is consumed and the call fails with ErrSectorAllocated.
func (a *Allocator) AllocateSector(ctx context.Context, spec api.AllocateSectorSpec) (*api.AllocatedSector, error) {
	cands, err := a.candidates(ctx, spec)
	if err != nil {
		return nil, err
	}
	for len(cands) > 0 {
		i := a.intn(len(cands))
		c := cands[i]
		num, ok, err := a.store.NextNumber(c.info.ID, floor(c.cfg), c.cfg.MaxNumber)
		if err != nil {
			return nil, err
		}
		if !ok {
			if c.cfg.Verbose {
				log.Warnw("max number exceeded", "miner", c.info.ID, "max", *c.cfg.MaxNumber)
			}
			cands = slices.Delete(cands, i, i+1)
			continue
		}
		sid := abi.SectorID{Miner: c.info.ID, Number: num}
		if err := a.checkFree(ctx, c.info, num); err != nil {
			return nil, err
		}
		if err := a.store.Init(sid, c.info.SealProofType); err != nil {
			return nil, err
		}
		log.Infow("sector allocated", "sector", api.FormatSectorID(sid), "proof", c.info.SealProofType)
		return &api.AllocatedSector{ID: sid, ProofType: c.info.SealProofType}, nil
	}
	return nil, nil
}

// floor is the number the miner's numbers start after: MinNumber if set, else InitNumber.
func floor(cfg config.SectorConfig) uint64 {
	if cfg.MinNumber != nil {
		return *cfg.MinNumber
	}
	return cfg.InitNumber
}

// checkFree fails when the chain says num of the miner was allocated already.
func (a *Allocator) checkFree(ctx context.Context, info MinerInfo, num abi.SectorNumber) error {
	allocated, err := a.chain.StateMinerSectorAllocated(ctx, info.Addr, num, chain.EmptyTSK)
	if err != nil {
		return err
	}
	if allocated {
		return fmt.Errorf("%w: m-%d-s-%d", ErrSectorAllocated, info.ID, num)
	}
	return nil
}

// candidates are the configured miners that are enabled and allowed by spec, in config order.
// Miner infos are read in parallel. A miner whose info cannot be read is left out; when that
// leaves no candidate, the first such error is returned, so a node that is down is reported
// rather than answered with null.
func (a *Allocator) candidates(ctx context.Context, spec api.AllocateSectorSpec) ([]candidate, error) {
	var wanted []config.MinerConfig
	for _, m := range a.miners() {
		if !m.Sector.Enabled {
			log.Warnw("sector allocator disabled", "miner", m.Actor)
			continue
		}
		if len(spec.AllowedMiners) > 0 && !slices.Contains(spec.AllowedMiners, m.Actor) {
			continue
		}
		wanted = append(wanted, m)
	}

	infos := make([]MinerInfo, len(wanted))
	errs := make([]error, len(wanted))
	var wg sync.WaitGroup
	for i, m := range wanted {
		wg.Add(1)
		go func() {
			defer wg.Done()
			infos[i], errs[i] = a.infos.Get(ctx, m.Actor)
		}()
	}
	wg.Wait()

	var (
		out      []candidate
		firstErr error
	)
	for i, m := range wanted {
		if errs[i] != nil {
			log.Warnw("miner left out of allocation", "miner", m.Actor, "err", errs[i])
			if firstErr == nil {
				firstErr = errs[i]
			}
			continue
		}
		if len(spec.AllowedProofTypes) > 0 && !slices.Contains(spec.AllowedProofTypes, infos[i].SealProofType) {
			continue
		}
		out = append(out, candidate{info: infos[i], cfg: m.Sector})
	}
	if len(out) == 0 && firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}
