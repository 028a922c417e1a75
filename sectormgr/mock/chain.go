package mock

import (
	"context"
	"net/http"

	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/deals/dirmarket"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/simchain"
)

// pushMiner is the simulated chain as the manager sees it when no clock mines it: every message
// pushed is mined into the next tipset before the push returns, so a sector never waits for an
// epoch (the chain has no challenge delay and the mock no confidence to wait for).
type pushMiner struct {
	*simchain.Chain
}

// mineOnPush is ch, mining on every push when enabled.
func mineOnPush(ch *simchain.Chain, enabled bool) chain.FullNode {
	if !enabled {
		return ch
	}
	return pushMiner{ch}
}

func (p pushMiner) MpoolPushMessage(ctx context.Context, msg *chain.Message, spec *chain.MessageSendSpec) (*chain.SignedMessage, error) {
	sm, err := p.Chain.MpoolPushMessage(ctx, msg, spec)
	if err != nil {
		return sm, err
	}
	if err := p.Chain.Advance(1); err != nil {
		// The message is in the pool: the next push mines it.
		log.Warnw("mine the pushed message", "err", err)
	}
	return sm, nil
}

// noPieces is the piece store of a mock without --pieces-dir: it answers as the --pieces-dir
// one does for a piece that is no deal's.
func noPieces(w http.ResponseWriter, r *http.Request) {
	if c, ok := dirmarket.PieceRequest(w, r); ok {
		dirmarket.NoDeal(w, c)
	}
}
