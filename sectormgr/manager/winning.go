package manager

import (
	"context"
	"errors"
	"fmt"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/config"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/gateway"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/winning"
)

// gatewayEndpoint is one [Common.API] Gateway entry: its websocket URL and the token it is
// dialed with (its own, in the <token>:<addr> form, or [Common.API] Token).
type gatewayEndpoint struct{ url, token string }

func gatewayEndpoints(apiCfg config.APIConfig) ([]gatewayEndpoint, error) {
	if len(apiCfg.Gateway) == 0 {
		return nil, errors.New(`--miner: [Common.API] Gateway is empty: list the venus-gateway addresses in sector-manager.cfg, e.g. Gateway = ["/ip4/127.0.0.1/tcp/45132"]`)
	}
	out := make([]gatewayEndpoint, 0, len(apiCfg.Gateway))
	for i, raw := range apiCfg.Gateway {
		token, addr := config.ParseAPIInfo(raw)
		if token == "" {
			token = apiCfg.Token
		}
		a, err := api.ParseAddr(fmt.Sprintf("[Common.API] Gateway[%d]", i), addr)
		if err != nil {
			return nil, err
		}
		out = append(out, gatewayEndpoint{url: a.WebSocketURL(gateway.RPCPath), token: token})
	}
	return out, nil
}

// winningMiners are the actors of the [[Miners]] entries with Proof.Enabled, read once at start
// as the original does.
func winningMiners(miners []config.MinerConfig) []abi.ActorID {
	var out []abi.ActorID
	for _, m := range miners {
		if m.Proof.Enabled {
			out = append(out, m.Actor)
		}
	}
	return out
}

// startWinning runs one listener per gateway and miner (daemon run --miner), after the
// warm-up proof when asked. stop ends them all.
func startWinning(ctx context.Context, cfg *config.Config, node winning.Chain, p winning.Prover, warmup bool) (stop func(), err error) {
	endpoints, err := gatewayEndpoints(cfg.Common.API)
	if err != nil {
		return nil, err
	}
	actors := winningMiners(cfg.Miners)
	if len(actors) == 0 {
		log.Warnw("--miner: no [[Miners]] entry has Proof.Enabled = true, so no WinningPoSt is answered")
		return func() {}, nil
	}
	if warmup {
		warmUp(ctx, node, p, actors)
	}
	var stops []func()
	for _, ep := range endpoints {
		for _, actor := range actors {
			l := &winning.Listener{Miner: actor, Gateway: ep.url, Prover: p, Dial: winning.GatewayDialer(ep.url, ep.token)}
			stops = append(stops, runInBackground(l.Run))
		}
	}
	return func() {
		for _, s := range stops {
			s()
		}
	}, nil
}

// warmUp proves one sector of each miner and logs how long it took. A failure is logged, not
// fatal: a miner that cannot prove one sector may still prove the others, and a manager that
// does not start answers nothing.
func warmUp(ctx context.Context, node winning.Chain, p winning.Prover, actors []abi.ActorID) {
	for _, actor := range actors {
		res, err := winning.Warmup(ctx, node, p, actor)
		switch {
		case errors.Is(err, winning.ErrNoSector):
			log.Infow("winning post warm-up skipped: the miner has no active sector on chain yet", "miner", actor)
		case err != nil:
			log.Errorw("winning post warm-up failed", "miner", actor, "sector", res.Sector, "err", err)
		default:
			log.Infow("winning post warm-up done", "miner", actor, "sector", res.Sector, "prover", p.Prover.Name(), "took", res.Took)
		}
	}
}
