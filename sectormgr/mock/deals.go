package mock

import (
	"context"
	"fmt"

	"github.com/filecoin-project/go-state-types/abi"
	v16market "github.com/filecoin-project/go-state-types/builtin/v16/market"
	"github.com/filecoin-project/go-state-types/builtin/v8/market"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/deals"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/deals/dirmarket"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/simchain"
)

// dealStartEpoch is when every deal of the pieces dir starts on the simulated chain: far enough
// ahead that no mock reaches it (11 days of 1s epochs), so a pre-commit never finds its deals
// expired, and before their end (dirmarket.DealDuration).
const dealStartEpoch = abi.ChainEpoch(1_000_000)

// publishedMarket is the pieces-dir market with its deals published on the simulated chain,
// which checks a pre-commit's deals against the ones it knows, as a real market actor does.
type publishedMarket struct {
	*dirmarket.Market
	chain *simchain.Chain
}

var _ deals.Manager = publishedMarket{}

// Acquire is the directory's Acquire with each deal starting at dealStartEpoch and published
// on the chain (a deal handed out before, to a sector since aborted, is on chain already).
func (p publishedMarket) Acquire(ctx context.Context, sid abi.SectorID, spec api.AcquireDealsSpec, lifetime *deals.Lifetime, job deals.Job) (api.Deals, error) {
	pieces, err := p.Market.Acquire(ctx, sid, spec, lifetime, job)
	if err != nil || pieces == nil {
		return pieces, err
	}
	for i := range pieces {
		d := &pieces[i]
		if d.ID == 0 || d.Proposal == nil {
			continue
		}
		prop := *d.Proposal
		prop.StartEpoch = dealStartEpoch
		d.Proposal = &prop
		if err := p.publish(d.ID, prop); err != nil {
			_ = p.Market.Release(ctx, sid, pieces)
			return nil, err
		}
	}
	return pieces, nil
}

func (p publishedMarket) publish(id abi.DealID, prop market.DealProposal) error {
	if p.chain.HasDeal(id) {
		return nil
	}
	label, err := chainLabel(prop.Label)
	if err != nil {
		return fmt.Errorf("deal %d: %w", id, err)
	}
	return p.chain.AddDeal(id, v16market.DealProposal{
		PieceCID:             prop.PieceCID,
		PieceSize:            prop.PieceSize,
		VerifiedDeal:         prop.VerifiedDeal,
		Client:               prop.Client,
		Provider:             prop.Provider,
		Label:                label,
		StartEpoch:           prop.StartEpoch,
		EndEpoch:             prop.EndEpoch,
		StoragePricePerEpoch: prop.StoragePricePerEpoch,
		ProviderCollateral:   prop.ProviderCollateral,
		ClientCollateral:     prop.ClientCollateral,
	})
}

// chainLabel is a deal label in the chain's (actors v16) type.
func chainLabel(l market.DealLabel) (v16market.DealLabel, error) {
	if l.IsString() {
		s, err := l.ToString()
		if err != nil {
			return v16market.EmptyDealLabel, err
		}
		return v16market.NewLabelFromString(s)
	}
	b, err := l.ToBytes()
	if err != nil {
		return v16market.EmptyDealLabel, err
	}
	return v16market.NewLabelFromBytes(b)
}
