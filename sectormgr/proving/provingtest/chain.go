package provingtest

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/simchain"
)

// ServeChain is a simulated chain (of opts) with one miner, served over JSON-RPC, and the
// manager's client of it (which talks to it as to Lotus). stop closes all three.
func ServeChain(tb testing.TB, opts simchain.Options, miner abi.ActorID, size abi.SectorSize) (ch *simchain.Chain, node *chain.Node, stop func()) {
	tb.Helper()
	ch = simchain.New(opts)
	if err := ch.AddMiner(simchain.MinerSpec{Actor: miner, SectorSize: size}); err != nil {
		ch.Close()
		tb.Fatal(err)
	}
	srv := httptest.NewServer(ch.Handler())
	node, err := chain.Dial(context.Background(), srv.URL+simchain.RPCPath, "")
	if err != nil {
		srv.Close()
		ch.Close()
		tb.Fatal(err)
	}
	return ch, node, func() {
		node.Close()
		srv.Close()
		ch.Close()
	}
}
