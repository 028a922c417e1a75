package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/filecoin-project/go-jsonrpc"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/builtin"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/api/mockproof"
	"github.com/ipfs-force-community/venus-cluster-go/piece"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/config"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/manager"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/mock"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/persist"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/sealverify"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/sectors"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/server"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/simchain"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

const (
	chainMiner      = abi.ActorID(10000)
	chainSectorSize = abi.SectorSize(2 << 10)
	// mainnetBlockSecs and workerPollSecs set how often the scripted workers poll: the worker's
	// default rpc_polling_interval (180s) on a 30s chain is one poll every 6 epochs.
	mainnetBlockSecs = 30
	workerPollSecs   = 180
)

// chainManager is a manager and the chain it seals on, as the scripted workers drive them.
type chainManager struct {
	api.ManagerAPI
	chain     *simchain.Chain
	pollEvery abi.ChainEpoch
	blockSecs int
}

// fakeNodeManager is `daemon run` with the production defaults of sector-manager.cfg (message
// confidence 10, seed confidence 6) and both batchers at threshold, on the simulated chain
// served over loopback HTTP as a Lotus node (mainnet's 30s epochs and 150-epoch challenge delay).
func fakeNodeManager(b *testing.B, threshold int) *chainManager {
	ch := simchain.New(simchain.Options{BlockDelaySecs: mainnetBlockSecs})
	b.Cleanup(ch.Close)
	if err := ch.AddMiner(simchain.MinerSpec{Actor: chainMiner, SectorSize: chainSectorSize}); err != nil {
		b.Fatal(err)
	}
	url := serveFullNode(b, ch)
	node, err := chain.Dial(context.Background(), url, "")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(node.Close)

	mc := config.DefaultMinerConfig()
	mc.Actor = chainMiner
	sender := config.MustAddress(simchain.DefaultWorker(chainMiner))
	mc.Commitment.Pre.Sender, mc.Commitment.Prove.Sender = sender, sender
	for _, batch := range []*config.BatchConfig{&mc.Commitment.Pre.Batch, &mc.Commitment.Prove.Batch} {
		batch.Enabled = true
		batch.Threshold = threshold
	}
	db := statedb.InMemory()
	store := sectors.New(db)
	built, err := manager.Build(context.Background(), manager.BuildOptions{
		Config:   config.NewLive("", &config.Config{Common: config.DefaultCommonConfig(), Miners: []config.MinerConfig{mc}}),
		DB:       db,
		Chain:    node,
		Sectors:  store,
		Stores:   persist.OpenAny(db, store),
		Verifier: sealverify.Mock{},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(built.Close)
	return &chainManager{ManagerAPI: built.Manager, chain: ch, pollEvery: workerPollSecs / mainnetBlockSecs, blockSecs: mainnetBlockSecs}
}

// mockManager is the baseline: `mock`, the same modules over its in-process chain, which mines
// every push at once and wants no confidence.
func mockManager(b *testing.B) *chainManager {
	m, err := mock.New(chainMiner, chainSectorSize)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(m.Close)
	return &chainManager{ManagerAPI: m, chain: m.Chain(), pollEvery: 1, blockSecs: 1}
}

// serveFullNode serves ch as a Lotus node on loopback until the benchmark ends; it returns the
// node's v1 RPC URL.
func serveFullNode(b *testing.B, ch *simchain.Chain) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { defer close(served); ch.Serve(ctx, ln) }()
	b.Cleanup(func() { cancel(); <-served })
	return "http://" + ln.Addr().String() + simchain.RPCPath
}

// Stages of a scripted sector.
const (
	waitPreCommit = iota
	waitSeed
	waitProof
	finalized
)

// scriptedSector is what a worker's sealing thread knows of its sector between manager calls.
type scriptedSector struct {
	id           api.AllocatedSector
	ticket       api.Ticket
	commR, commD [32]byte
	stage        int
	next         abi.ChainEpoch // the epoch of its next call
}

// sealScripted seals n CC sectors through m as a cluster of n sealing threads would, with the
// proofs replaced by mock ones computed on the spot: all sectors are allocated and pre-committed
// together, then every epoch each thread whose poll is due makes its call (PollPreCommitState,
// WaitSeed, SubmitProof, PollProofState, ReportFinalized), and the chain mines one epoch.
func sealScripted(b *testing.B, m *chainManager, n int) {
	ctx := context.Background()
	commD, err := piece.ZeroCommitment(abi.PaddedPieceSize(chainSectorSize))
	if err != nil {
		b.Fatal(err)
	}
	all := make([]*scriptedSector, n)
	for i := range all {
		all[i] = preCommitScripted(b, m, [32]byte(commD))
	}
	// Landing, the seed delay and the batchers take a few hundred epochs; ten thousand means a
	// sector is stuck, and the benchmark says so instead of spinning.
	limit := m.chain.Head() + 10000
	for done := 0; done < n; {
		head := m.chain.Head()
		for _, s := range all {
			if s.stage == finalized || s.next > head {
				continue
			}
			if stepScripted(b, ctx, m, s, head) {
				done++
			}
		}
		if err := m.chain.Advance(1); err != nil {
			b.Fatal(err)
		}
		if head > limit {
			b.Fatalf("%d of %d sectors not finalized by epoch %d", n-done, n, limit)
		}
	}
}

func preCommitScripted(b *testing.B, m *chainManager, commD [32]byte) *scriptedSector {
	ctx := context.Background()
	id, err := m.AllocateSector(ctx, api.AllocateSectorSpec{})
	if err != nil || id == nil {
		b.Fatalf("allocate: %v, %v", id, err)
	}
	ticket, err := m.AssignTicket(ctx, id.ID)
	if err != nil {
		b.Fatalf("ticket of %v: %v", id.ID, err)
	}
	s := &scriptedSector{id: *id, ticket: ticket, commD: commD}
	s.commR = mockproof.CommR(id.ProofType, id.ID, ticket.Ticket, commD)
	resp, err := m.SubmitPreCommit(ctx, *id, api.PreCommitOnChainInfo{CommR: s.commR, CommD: commD, Ticket: ticket}, false)
	if err != nil || resp.Res != api.SubmitAccepted {
		b.Fatalf("pre-commit of %v: %+v, %v", id.ID, resp, err)
	}
	s.next = m.chain.Head() + m.pollEvery
	return s
}

// stepScripted makes the call s is due for at head and says whether s is now finalized.
func stepScripted(b *testing.B, ctx context.Context, m *chainManager, s *scriptedSector, head abi.ChainEpoch) bool {
	sid := s.id.ID
	switch s.stage {
	case waitPreCommit:
		resp, err := m.PollPreCommitState(ctx, sid)
		if landed := mustProgress(b, sid, "pre-commit", resp, err); !landed {
			s.next = head + m.pollEvery
			return false
		}
		s.stage = waitSeed
		fallthrough
	case waitSeed:
		resp, err := m.WaitSeed(ctx, sid)
		if err != nil {
			b.Fatalf("seed of %v: %v", sid, err)
		}
		if resp.ShouldWait || resp.Seed == nil {
			s.next = head + max(1, abi.ChainEpoch((resp.Delay+m.blockSecs-1)/m.blockSecs))
			return false
		}
		proof, err := mockproof.SealProof(s.id.ProofType, sid, s.ticket.Ticket, resp.Seed.Seed, s.commR, s.commD)
		if err != nil {
			b.Fatal(err)
		}
		if ok, err := m.SubmitPersisted(ctx, sid, "bench"); err != nil || !ok {
			b.Fatalf("persisted %v: %v, %v", sid, ok, err)
		}
		if r, err := m.SubmitProof(ctx, sid, api.ProofOnChainInfo{Proof: proof}, false); err != nil || r.Res != api.SubmitAccepted {
			b.Fatalf("proof of %v: %+v, %v", sid, r, err)
		}
		s.stage, s.next = waitProof, head+m.pollEvery
	case waitProof:
		resp, err := m.PollProofState(ctx, sid)
		if !mustProgress(b, sid, "proof", resp, err) {
			s.next = head + m.pollEvery
			return false
		}
		if err := m.ReportFinalized(ctx, sid); err != nil {
			b.Fatalf("finalize %v: %v", sid, err)
		}
		s.stage = finalized
		return true
	}
	return false
}

// mustProgress fails the benchmark on a message that will not land; it says whether it landed.
func mustProgress(b *testing.B, sid abi.SectorID, what string, resp api.PollPreCommitStateResp, err error) bool {
	if err != nil {
		b.Fatalf("poll %s of %v: %v", what, sid, err)
	}
	switch resp.State {
	case api.OnChainLanded:
		return true
	case api.OnChainPending, api.OnChainPacked:
		return false
	}
	desc := ""
	if resp.Desc != nil {
		desc = *resp.Desc
	}
	b.Fatalf("poll %s of %v: %v %s", what, sid, resp.State, desc)
	return false
}

// messagesByKind counts the pushed messages that pre-commit and that prove.
func messagesByKind(ch *simchain.Chain) (pre, prove int) {
	for _, msg := range ch.Messages() {
		switch msg.Message.Method {
		case builtin.MethodsMiner.PreCommitSectorBatch2, builtin.MethodsMiner.PreCommitSector, builtin.MethodsMiner.PreCommitSectorBatch:
			pre++
		default:
			prove++
		}
	}
	return pre, prove
}

func totalCalls(ch *simchain.Chain) int {
	n := 0
	for _, c := range ch.Calls() {
		n += c
	}
	return n
}

// BenchmarkChainSectors seals CC sectors through the production manager over the fake full node
// (the simulated chain served as a Lotus node over loopback HTTP), with both batchers at
// threshold 1, 4 and 16, driven by scripted sealing threads that call the manager's API as
// workers do (see sealScripted); mock is the same script against `mock`, whose chain is in
// process. The sector count is b.N rounded up to a multiple of 16, so every batch fills.
//
//   - node_calls/sector: full-node calls (Filecoin.*) per sealed sector, as the node counts them;
//   - pre_msgs/sector, prove_msgs/sector: messages pushed per sector;
//   - cpu_ms/sector: CPU time (user+system) of this process per sector, which holds the manager,
//     the scripted threads and the node; x_mock: that against the mock's, in the same run.
func BenchmarkChainSectors(b *testing.B) {
	quiet(b)
	var mockCPU float64
	modes := []struct {
		name      string
		threshold int
	}{{"mock", 0}, {"threshold=1", 1}, {"threshold=4", 4}, {"threshold=16", 16}}
	for _, mode := range modes {
		b.Run(mode.name, func(b *testing.B) {
			n := (b.N + 15) / 16 * 16
			var m *chainManager
			if mode.threshold == 0 {
				m = mockManager(b)
			} else {
				m = fakeNodeManager(b, mode.threshold)
			}
			calls0 := totalCalls(m.chain)
			cpu0 := cpuTime()
			b.ResetTimer()
			sealScripted(b, m, n)
			b.StopTimer()
			cpu := ms(cpuTime()-cpu0) / float64(n)
			pre, prove := messagesByKind(m.chain)
			b.ReportMetric(float64(totalCalls(m.chain)-calls0)/float64(n), "node_calls/sector")
			b.ReportMetric(float64(pre)/float64(n), "pre_msgs/sector")
			b.ReportMetric(float64(prove)/float64(n), "prove_msgs/sector")
			b.ReportMetric(cpu, "cpu_ms/sector")
			if mode.threshold == 0 {
				mockCPU = cpu
			} else if mockCPU > 0 {
				b.ReportMetric(cpu/mockCPU, "x_mock")
			}
		})
	}
}

// inFlightSectors is how many sectors BenchmarkChainInFlight holds between pre-commit and seed.
const inFlightSectors = 1000

// BenchmarkChainInFlight is the production manager over the fake node holding 1,000 sectors in
// flight (pre-committed, waiting for their seed) and 1,000 registered workers, while the
// threads of those sectors poll their pre-commits (one poll per sector every 15 s, the mock
// worker config's rpc_polling_interval, so about 67 a second):
//
//   - list_p99_ms, noop_p99_ms: p99 latency of Venus.WorkerPingInfoList (1,000 entries) and of a
//     no-op call with a small parameter on the same server, alternated; list_x_noop their ratio;
//   - sectors_list_ms: wall time of `util sealer sectors list` (the real binary, best of 5), and
//     sectors_list_x_state: that against `util sealer sectors state` of one sector.
func BenchmarkChainInFlight(b *testing.B) {
	quiet(b)
	m := fakeNodeManager(b, 16)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	commD, err := piece.ZeroCommitment(abi.PaddedPieceSize(chainSectorSize))
	if err != nil {
		b.Fatal(err)
	}
	inFlight := make([]*scriptedSector, inFlightSectors)
	for i := range inFlight {
		inFlight[i] = preCommitScripted(b, m, [32]byte(commD))
	}
	for i := 0; i < managerWorkers; i++ {
		if err := m.WorkerPing(ctx, simulatedWorker(i)); err != nil {
			b.Fatal(err)
		}
	}
	if err := m.chain.Advance(1); err != nil {
		b.Fatal(err)
	}
	baseline := jsonrpc.NewServer()
	baseline.Register(api.ManagerNamespace, noop{})
	addr := serveManager(b, m.ManagerAPI, server.WithHandler("/bench/noop", baseline))
	polled := pollInBackground(ctx, m, inFlight, 15*time.Second/inFlightSectors)

	hc := &http.Client{Timeout: time.Minute}
	var mc api.ManagerClient
	closeMC, err := jsonrpc.NewMergeClient(ctx, "http://"+addr+api.ManagerRPCPath, api.ManagerNamespace, []any{&mc}, nil, jsonrpc.WithHTTPClient(hc))
	if err != nil {
		b.Fatal(err)
	}
	defer closeMC()
	var nc noopClient
	closeNC, err := jsonrpc.NewMergeClient(ctx, "http://"+addr+"/bench/noop", api.ManagerNamespace, []any{&nc}, nil, jsonrpc.WithHTTPClient(hc))
	if err != nil {
		b.Fatal(err)
	}
	defer closeNC()

	const calls = 200
	var lists, noops []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for c := 0; c < calls; c++ {
			start := time.Now()
			list, err := mc.WorkerPingInfoList(ctx)
			lists = append(lists, time.Since(start))
			if err != nil || len(list) != managerWorkers {
				b.Fatalf("WorkerPingInfoList: %d entries, %v", len(list), err)
			}
			start = time.Now()
			if err := nc.Noop(ctx, simulatedWorker(c)); err != nil {
				b.Fatal(err)
			}
			noops = append(noops, time.Since(start))
		}
	}
	b.StopTimer()
	sortDurations(lists)
	sortDurations(noops)
	listP99, noopP99 := percentile(lists, 0.99), percentile(noops, 0.99)

	one, _ := bestOfUtil(b, addr, "sealer", "sectors", "state", fmt.Sprint(chainMiner), fmt.Sprint(inFlight[0].id.ID.Number))
	list, out := bestOfUtil(b, addr, "sealer", "sectors", "list")
	if got := strings.Count(out, "\n"); got < inFlightSectors {
		b.Fatalf("sectors list printed %d lines, want at least %d", got, inFlightSectors)
	}
	stop()
	if n := <-polled; n == 0 {
		b.Fatal("no pre-commit was polled while measuring")
	}

	b.ReportMetric(ms(listP99), "list_p99_ms")
	b.ReportMetric(ms(noopP99), "noop_p99_ms")
	b.ReportMetric(float64(listP99)/float64(noopP99), "list_x_noop")
	b.ReportMetric(ms(list), "sectors_list_ms")
	b.ReportMetric(float64(list)/float64(one), "sectors_list_x_state")
}

// pollInBackground polls the sectors' pre-commits round-robin, one every interval, until ctx
// ends; it then sends how many polls it made.
func pollInBackground(ctx context.Context, m *chainManager, sectors []*scriptedSector, interval time.Duration) <-chan int {
	done := make(chan int, 1)
	var once sync.Once
	go func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		n := 0
		defer once.Do(func() { done <- n })
		for i := 0; ; i = (i + 1) % len(sectors) {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if _, err := m.PollPreCommitState(ctx, sectors[i].id.ID); err == nil {
				n++
			}
		}
	}()
	return done
}

// bestOfUtil runs `venus-sector-manager util --listen addr args...` five times and returns the
// fastest wall time and the output.
func bestOfUtil(b *testing.B, addr string, args ...string) (time.Duration, string) {
	argv := append([]string{"util", "--listen", addr}, args...)
	var best time.Duration
	var out []byte
	for r := 0; r < 5; r++ {
		cmd := exec.Command(bin(b, "venus-sector-manager"), argv...)
		start := time.Now()
		o, err := cmd.Output()
		d := time.Since(start)
		if err != nil {
			b.Fatalf("%s: %v", strings.Join(argv, " "), err)
		}
		if r == 0 || d < best {
			best = d
		}
		out = o
	}
	return best, string(out)
}
