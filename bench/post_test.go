package bench

import (
	"context"
	"fmt"
	"github.com/ipfs-force-community/venus-cluster-go/postprover"
	"os"
	"testing"
	"time"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/builtin"
	"github.com/filecoin-project/go-state-types/builtin/v16/miner"
	"github.com/filecoin-project/go-state-types/proof"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/config"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/messager"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/mock"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/poster"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/proving/provingtest"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/sealverify"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/simchain"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

// sectorFiles is a persist store of the 2KiB sectors 1..n in a fresh directory.
func sectorFiles(tb testing.TB, n int) provingtest.Store {
	s := provingtest.Store{Root: tb.TempDir(), Miner: chainMiner, SectorSize: chainSectorSize}
	for i := 1; i <= n; i++ {
		s.Write(tb, abi.SectorNumber(i))
	}
	return s
}

// postDeadline is one deadline proven by the scheduler against the simulated Lotus node over
// JSON-RPC: the time from the Step at its open to its messages pushed, and the node's calls over
// the whole deadline with the scheduler polling as `daemon run --poster` does on mainnet (every
// [Common.API] ChainEventInterval, 1 minute, on 30 s epochs: every 2 epochs).
type postDeadline struct {
	openToSent  time.Duration
	proveCalls  int // calls of the Step at the open
	windowCalls int // calls of every Step from the open to the close
	messages    int
}

func proveOneDeadline(b *testing.B, store provingtest.Store, partitions int) postDeadline {
	b.Helper()
	ch, node, stop := provingtest.ServeChain(b, simchain.Options{}, chainMiner, chainSectorSize)
	defer stop()
	// A 2KiB partition holds 2 sectors.
	nums := make([]abi.SectorNumber, 2*partitions)
	for i := range nums {
		nums[i] = abi.SectorNumber(i + 1)
	}
	if err := ch.ActivateSectors(chainMiner, nums...); err != nil {
		b.Fatal(err)
	}
	mc := config.DefaultMinerConfig()
	mc.Actor = chainMiner
	mc.PoSt.Enabled = true
	s := poster.New(poster.Deps{Chain: node, Sender: messager.NewMpool(node), DB: statedb.InMemory(), Stores: store,
		Prover: postprover.MockProver{}, Verifier: sealverify.Mock{}, Miners: func() []config.MinerConfig { return []config.MinerConfig{mc} }})
	maddr, _ := address.NewIDAddress(uint64(chainMiner))
	di, err := node.StateMinerProvingDeadline(context.Background(), maddr, chain.EmptyTSK)
	if err != nil {
		b.Fatal(err)
	}
	// The sectors are in the deadline after next (simchain assigns them as the actor does).
	if err := ch.Advance(int(di.Close + miner.WPoStChallengeWindow - di.CurrentEpoch)); err != nil {
		b.Fatal(err)
	}
	var d postDeadline
	calls0 := totalCalls(ch)
	b.StartTimer()
	start := time.Now()
	if err := s.Step(context.Background(), mc); err != nil {
		b.Fatal(err)
	}
	d.openToSent = time.Since(start)
	b.StopTimer()
	d.proveCalls = totalCalls(ch) - calls0
	for _, m := range ch.Messages() {
		if m.Message.Method == builtin.MethodsMiner.SubmitWindowedPoSt {
			d.messages++
		}
	}
	if d.messages == 0 {
		b.Fatalf("%d partitions: the Step at the open sent no SubmitWindowedPoSt", partitions)
	}
	for e := abi.ChainEpoch(2); e < miner.WPoStChallengeWindow; e += 2 {
		if err := ch.Advance(2); err != nil {
			b.Fatal(err)
		}
		if err := s.Step(context.Background(), mc); err != nil {
			b.Fatal(err)
		}
	}
	d.windowCalls = totalCalls(ch) - calls0
	if res, ok := s.Last(chainMiner); !ok || res.Proven != partitions {
		b.Fatalf("%d partitions: the deadline came to %+v", partitions, res)
	}
	return d
}

// BenchmarkPoSt proves one deadline of 1, 10 and 100 partitions (mock proofs; the sectors' files
// on disk are checked as in production) against the simulated Lotus node over JSON-RPC. Each
// iteration proves a fresh deadline of the given size and one of 1 partition, the baseline.
//
//   - open_to_sent_ms: the Step at the deadline's open, from reading the head to the last
//     SubmitWindowedPoSt pushed; x_1partition: that over the 1-partition deadline's, same run;
//   - node_calls/prove: full-node calls of that Step; node_calls/deadline: calls from the open
//     to the close with the scheduler polling every 2 epochs (30 of them);
//   - msgs/deadline: SubmitWindowedPoSt messages (MaxPartitionsPerPoStMessage 0: the actor's limit).
func BenchmarkPoSt(b *testing.B) {
	quiet(b)
	store := sectorFiles(b, 200)
	for _, parts := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("partitions=%d", parts), func(b *testing.B) {
			b.StopTimer()
			var sum, base postDeadline
			for i := 0; i < b.N; i++ {
				d := proveOneDeadline(b, store, parts)
				sum.openToSent += d.openToSent
				sum.proveCalls += d.proveCalls
				sum.windowCalls += d.windowCalls
				sum.messages += d.messages
				b.StopTimer()
				one := proveOneDeadline(b, store, 1)
				base.openToSent += one.openToSent
			}
			n := float64(b.N)
			b.ReportMetric(float64(sum.openToSent.Microseconds())/1000/n, "open_to_sent_ms")
			b.ReportMetric(float64(sum.openToSent)/float64(base.openToSent), "x_1partition")
			b.ReportMetric(float64(sum.proveCalls)/n, "node_calls/prove")
			b.ReportMetric(float64(sum.windowCalls)/n, "node_calls/deadline")
			b.ReportMetric(float64(sum.messages)/n, "msgs/deadline")
		})
	}
}

// BenchmarkSectorCheck checks 1,000 sectors' files as WindowPoSt does before a proof, through the
// manager's Venus.CheckProvable (the persist index looked up in the kvstore, then the files
// stat'ed), against a plain stat and a 1-byte read of the same files in the same run.
//
//   - sectors/s: CheckProvable's throughput; baseline_sectors/s: the stat + read loop's;
//     x_baseline: CheckProvable's time per sector over the baseline's.
func BenchmarkSectorCheck(b *testing.B) {
	quiet(b)
	const n = 1000
	store := sectorFiles(b, n)
	m, err := mock.New(chainMiner, chainSectorSize, mock.WithPersistStores([]config.PersistStoreConfig{{Name: "store1", Path: store.Root}}))
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	sectors := make([]proof.ExtendedSectorInfo, n)
	for i := range sectors {
		if _, err := m.AllocateSector(ctx, api.AllocateSectorSpec{}); err != nil {
			b.Fatal(err)
		}
		sid := abi.SectorID{Miner: chainMiner, Number: abi.SectorNumber(i + 1)}
		if ok, err := m.SubmitPersisted(ctx, sid, "store1"); !ok || err != nil {
			b.Fatalf("SubmitPersisted %d: %v %v", i+1, ok, err)
		}
		sectors[i] = proof.ExtendedSectorInfo{SealProof: abi.RegisteredSealProof_StackedDrg2KiBV1_1, SectorNumber: sid.Number}
	}
	var files []string
	for i := 1; i <= n; i++ {
		sealed, cache := store.Files(b, abi.SectorNumber(i))
		files = append(append(files, sealed), cache...)
	}
	var check, baseline time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		bad, err := m.CheckProvable(ctx, chainMiner, sectors, false)
		if err != nil || len(bad) != 0 {
			b.Fatalf("CheckProvable: %v %v", bad, err)
		}
		check += time.Since(start)
		start = time.Now()
		statAndRead(b, files)
		baseline += time.Since(start)
	}
	b.ReportMetric(float64(n*b.N)/check.Seconds(), "sectors/s")
	b.ReportMetric(float64(n*b.N)/baseline.Seconds(), "baseline_sectors/s")
	b.ReportMetric(float64(check)/float64(baseline), "x_baseline")
}

func statAndRead(b *testing.B, files []string) {
	buf := make([]byte, 1)
	for _, path := range files {
		if _, err := os.Stat(path); err != nil {
			b.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.Read(buf); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}
