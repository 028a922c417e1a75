// Package winning answers WinningPoSt (daemon run --miner): for each miner with Proof.Enabled it
// listens to the venus-gateway's proof events, proves the challenged sectors from the persist
// stores and answers each request, and reconnects whenever the gateway goes away.
package winning

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/ipfs-force-community/venus-cluster-go/postprover"
	"sync"
	"time"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/proof"

	"github.com/ipfs-force-community/venus-cluster-go/logging"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/gateway"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/proving"
)

var log = logging.Logger("winning")

// Retry bounds: a listen that failed is tried again after MinRetry, doubling up to MaxRetry,
// and back at MinRetry once a listen got through.
const (
	MinRetry = time.Second
	MaxRetry = 30 * time.Second
)

// responseTimeout bounds an answer to the gateway, so a hung gateway cannot hold a proof.
const responseTimeout = 30 * time.Second

// Dialer opens one connection to a gateway; close releases it.
type Dialer func(ctx context.Context) (events gateway.ProofEvents, close func(), err error)

// GatewayDialer dials the venus-gateway at url (ws or wss) with its token.
func GatewayDialer(url, token string) Dialer {
	return func(ctx context.Context) (gateway.ProofEvents, func(), error) {
		c, err := gateway.Dial(ctx, url, token)
		if err != nil {
			return nil, nil, err
		}
		return c, c.Close, nil
	}
}

// Prover proves the sectors of requests: it finds their files and runs the prover.
type Prover struct {
	Stores proving.Locator
	Prover postprover.Prover
}

// Prove is the WinningPoSt of the challenged sectors of miner mid. Every sector must be in the
// sector index with its files in place: the proof cannot skip one.
func (p Prover) Prove(mid abi.ActorID, sectors []proof.ExtendedSectorInfo, rand abi.PoStRandomness) ([]proof.PoStProof, error) {
	if len(sectors) == 0 {
		return nil, errors.New("no sector challenged")
	}
	postProof, err := sectors[0].SealProof.RegisteredWinningPoStProof()
	if err != nil {
		return nil, fmt.Errorf("sector %d: %w", sectors[0].SectorNumber, err)
	}
	toProve := make([]postprover.SectorToProve, len(sectors))
	for i, s := range sectors {
		sid := abi.SectorID{Miner: mid, Number: s.SectorNumber}
		files, err := proving.CheckSector(p.Stores, sid, s.SealProof, s.SectorKey != nil, false)
		if err != nil {
			return nil, fmt.Errorf("sector %d of miner %d: %w", s.SectorNumber, mid, err)
		}
		toProve[i] = postprover.SectorToProve{
			SectorInfo: proof.SectorInfo{SealProof: s.SealProof, SectorNumber: s.SectorNumber, SealedCID: s.SealedCID},
			SealedFile: files.SealedFile, CacheDir: files.CacheDir,
		}
	}
	proofs, err := p.Prover.GenerateWinningPoSt(mid, postProof, toProve, rand)
	if err != nil {
		return nil, fmt.Errorf("generate winning post of %d sectors: %w", len(sectors), err)
	}
	return proofs, nil
}

// Listener takes the proof events of one miner from one gateway.
type Listener struct {
	Miner   abi.ActorID
	Gateway string // the gateway's endpoint, for the logs
	Dial    Dialer
	Prover  Prover
}

// Run listens until ctx ends, reconnecting after every failure.
func (l *Listener) Run(ctx context.Context) {
	log.Infow("listening for winning post requests", "miner", l.Miner, "gateway", l.Gateway)
	retry := MinRetry
	for {
		connected, err := l.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if connected {
			retry = MinRetry
		}
		if err != nil {
			log.Errorw("winning post listen failed; retrying", "miner", l.Miner, "gateway", l.Gateway, "in", retry, "err", err)
		} else {
			log.Warnw("the gateway closed the winning post channel; reconnecting", "miner", l.Miner, "gateway", l.Gateway, "in", retry)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(retry):
		}
		if !connected {
			retry = min(2*retry, MaxRetry)
		}
	}
}

// listenOnce serves one connection until its channel closes or ctx ends; connected says it got
// a channel. The proofs under way are answered before the connection closes.
func (l *Listener) listenOnce(ctx context.Context) (connected bool, err error) {
	events, closeConn, err := l.Dial(context.WithoutCancel(ctx))
	if err != nil {
		return false, err
	}
	defer closeConn()
	var answers sync.WaitGroup
	defer answers.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	maddr, err := address.NewIDAddress(uint64(l.Miner))
	if err != nil {
		return false, err
	}
	ch, err := events.ListenProofEvent(ctx, &gateway.ProofRegisterPolicy{MinerAddress: maddr})
	if err != nil {
		return false, err
	}
	for {
		select {
		case <-ctx.Done():
			return true, nil
		case ev, ok := <-ch:
			if !ok {
				return true, nil
			}
			l.handle(ctx, events, ev, &answers)
		}
	}
}

func (l *Listener) handle(ctx context.Context, events gateway.ProofEvents, ev *gateway.RequestEvent, answers *sync.WaitGroup) {
	switch ev.Method {
	case gateway.MethodInitConnect:
		var cc gateway.ConnectedCompleted
		if err := json.Unmarshal(ev.Payload, &cc); err != nil {
			log.Errorw("InitConnect with an unreadable payload", "miner", l.Miner, "gateway", l.Gateway, "err", err)
			return
		}
		log.Infow("connected to the gateway for winning post", "miner", l.Miner, "gateway", l.Gateway, "channel", cc.ChannelId)
	case gateway.MethodComputeProof:
		// Each request is proven on its own, so a slow proof does not hold the next one.
		answers.Add(1)
		go func() {
			defer answers.Done()
			l.answer(ctx, events, ev)
		}()
	default:
		log.Errorw("unexpected proof event; ignored", "miner", l.Miner, "gateway", l.Gateway, "method", ev.Method, "id", ev.ID)
	}
}

// answer proves a ComputeProof request and responds with the proofs or the reason there are none.
func (l *Listener) answer(ctx context.Context, events gateway.ProofEvents, ev *gateway.RequestEvent) {
	start := time.Now()
	resp := &gateway.ResponseEvent{ID: ev.ID}
	var req gateway.ComputeProofRequest
	proofs, err := func() ([]proof.PoStProof, error) {
		if err := json.Unmarshal(ev.Payload, &req); err != nil {
			return nil, fmt.Errorf("ComputeProof payload: %w", err)
		}
		return l.Prover.Prove(l.Miner, req.SectorInfos, req.Rand)
	}()
	if err == nil {
		resp.Payload, err = json.Marshal(proofs)
	}
	if err != nil {
		resp.Error = err.Error()
	}
	// A proof made is delivered even when the manager is stopping: a block may depend on it.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), responseTimeout)
	defer cancel()
	sendErr := events.ResponseProofEvent(rctx, resp)
	fields := []interface{}{"miner", l.Miner, "gateway", l.Gateway, "id", ev.ID, "height", req.Height,
		"sectors", len(req.SectorInfos), "took", time.Since(start)}
	switch {
	case sendErr != nil:
		log.Errorw("winning post answer not delivered", append(fields, "err", sendErr, "proof_err", resp.Error)...)
	case err != nil:
		log.Errorw("winning post failed; the gateway was told why", append(fields, "err", err)...)
	default:
		log.Infow("winning post answered", fields...)
	}
}
