package commitment

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/filecoin-project/go-commp-utils/v2/zerocomm"
	commcid "github.com/filecoin-project/go-fil-commcid"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/big"
	"github.com/filecoin-project/go-state-types/network"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/api/mockproof"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/config"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/messager"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/randomness"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/sealverify"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/sectors"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/simchain"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

const (
	testActor = abi.ActorID(1000)
	sealProof = abi.RegisteredSealProof_StackedDrg2KiBV1_1
)

var bg = context.Background()

// env is a commitment manager over a simulated chain served as a Lotus node over HTTP, with the
// sector store, the ticket and seed module, and a live miner config it can change.
type env struct {
	t     *testing.T
	sim   *simchain.Chain
	url   string
	node  *chain.Node
	proxy *dropper
	db    statedb.DB
	store *sectors.Store
	rand  *randomness.Randomness

	cfgMu sync.Mutex
	cfg   config.MinerConfig
	noCfg bool

	m *Manager
}

type envOptions struct {
	nv      network.Version
	balance abi.TokenAmount
	db      statedb.DB
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	sim := simchain.New(simchain.Options{NetworkVersion: o.nv})
	t.Cleanup(sim.Close)
	if err := sim.AddMiner(simchain.MinerSpec{Actor: testActor, SectorSize: 2048, Balance: o.balance}); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, sim: sim, proxy: &dropper{next: sim.Handler()}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: e.proxy}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	e.url = "http://" + ln.Addr().String() + simchain.RPCPath
	if e.node, err = chain.Dial(bg, e.url, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.node.Close)

	e.db = o.db
	if e.db == nil {
		e.db = statedb.InMemory()
	}
	e.store = sectors.New(e.db)
	e.rand = randomness.New(e.node, e.store)
	e.cfg = config.DefaultMinerConfig()
	e.cfg.Actor = testActor
	e.cfg.Commitment.Pre.Sender = config.MustAddress(simchain.DefaultWorker(testActor))
	e.cfg.Commitment.Prove.Sender = config.MustAddress(simchain.DefaultWorker(testActor))
	e.m = e.newManager()
	return e
}

// newManager builds and starts a manager over the env's database and chain, as a restarted
// daemon would.
func (e *env) newManager() *Manager {
	e.t.Helper()
	m := New(Deps{
		Sectors:       e.store,
		DB:            e.db,
		Chain:         e.node,
		Sender:        messager.NewMpool(e.node),
		Verifier:      sealverify.Mock{},
		Miner:         e.miner,
		RetryInterval: 5 * time.Millisecond,
	})
	if err := m.Start(bg); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(m.Stop)
	return m
}

func (e *env) miner(actor abi.ActorID) (config.MinerConfig, bool) {
	e.cfgMu.Lock()
	defer e.cfgMu.Unlock()
	if actor != testActor || e.noCfg {
		return config.MinerConfig{}, false
	}
	return e.cfg, true
}

// configure changes the live config.
func (e *env) configure(fn func(c *config.MinerConfig)) {
	e.cfgMu.Lock()
	defer e.cfgMu.Unlock()
	fn(&e.cfg)
}

func (e *env) batch(kind Kind, threshold int) {
	e.configure(func(c *config.MinerConfig) {
		p := &c.Commitment.Pre
		if kind == KindProve {
			p = &c.Commitment.Prove
		}
		p.Batch.Enabled = true
		p.Batch.Threshold = threshold
	})
}

func (e *env) advance(n int) {
	e.t.Helper()
	if err := e.sim.Advance(n); err != nil {
		e.t.Fatal(err)
	}
}

// sector is a sector of the test miner with what its worker computed.
type sector struct {
	sid    abi.SectorID
	ticket api.Ticket
	commD  [32]byte
	commR  [32]byte
}

// newSector allocates a CC sector and draws its ticket.
func (e *env) newSector() *sector {
	e.t.Helper()
	sid, err := e.store.Allocate(testActor, sealProof)
	if err != nil {
		e.t.Fatal(err)
	}
	ticket, err := e.rand.AssignTicket(bg, sid)
	if err != nil {
		e.t.Fatal(err)
	}
	zero := zerocomm.ZeroPieceCommitment(abi.PaddedPieceSize(2048).Unpadded())
	raw, err := commcid.CIDToDataCommitmentV1(zero)
	if err != nil {
		e.t.Fatal(err)
	}
	s := &sector{sid: sid, ticket: ticket}
	copy(s.commD[:], raw)
	s.commR = mockproof.CommR(sealProof, sid, ticket.Ticket, s.commD)
	return s
}

func (s *sector) preCommit() api.PreCommitOnChainInfo {
	return api.PreCommitOnChainInfo{CommR: s.commR, CommD: s.commD, Ticket: s.ticket}
}

func (e *env) submitPre(s *sector, hardReset bool) api.SubmitPreCommitResp {
	e.t.Helper()
	resp, err := e.m.SubmitPreCommit(bg, api.AllocatedSector{ID: s.sid, ProofType: sealProof}, s.preCommit(), hardReset)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

func (e *env) flush(kind Kind) {
	e.t.Helper()
	if err := e.m.Flush(bg, testActor, kind); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) pollPre(s *sector) api.PollPreCommitStateResp {
	e.t.Helper()
	resp, err := e.m.PollPreCommitState(bg, s.sid)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

func (e *env) pollProof(s *sector) api.PollProofStateResp {
	e.t.Helper()
	resp, err := e.m.PollProofState(bg, s.sid)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

// land mines the tipset that includes the pending messages and enough after it for the
// configured confidence.
func (e *env) land() {
	e.advance(1 + int(e.cfg.Commitment.Confidence))
}

// seed waits out the challenge delay of a landed pre-commit and draws the sector's seed.
func (e *env) seed(s *sector) api.Seed {
	e.t.Helper()
	for i := 0; i < 400; i++ {
		resp, err := e.rand.WaitSeed(bg, s.sid)
		if err != nil {
			e.t.Fatal(err)
		}
		if resp.Seed != nil {
			return *resp.Seed
		}
		e.advance(10)
	}
	e.t.Fatal("no seed after 4000 epochs")
	return api.Seed{}
}

func (e *env) proof(s *sector, seed api.Seed) []byte {
	e.t.Helper()
	p, err := mockproof.SealProof(sealProof, s.sid, s.ticket.Ticket, seed.Seed, s.commR, s.commD)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *env) submitProof(s *sector, proof []byte, hardReset bool) api.SubmitProofResp {
	e.t.Helper()
	resp, err := e.m.SubmitProof(bg, s.sid, api.ProofOnChainInfo{Proof: proof}, hardReset)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

// preCommitLanded takes sectors through a landed pre-commit (batching as configured) and draws
// their seeds.
func (e *env) preCommitLanded(n int) ([]*sector, []api.Seed) {
	e.t.Helper()
	var secs []*sector
	for i := 0; i < n; i++ {
		s := e.newSector()
		if resp := e.submitPre(s, false); resp.Res != api.SubmitAccepted {
			e.t.Fatalf("pre-commit of %s: %+v", api.FormatSectorID(s.sid), resp)
		}
		secs = append(secs, s)
	}
	e.flush(KindPreCommit)
	e.land()
	var seeds []api.Seed
	for _, s := range secs {
		if got := e.pollPre(s); got.State != api.OnChainLanded {
			e.t.Fatalf("pre-commit of %s: %s %v", api.FormatSectorID(s.sid), got.State, desc(got.Desc))
		}
		seeds = append(seeds, e.seed(s))
	}
	return secs, seeds
}

func (e *env) state(s *sector) *api.SectorState {
	e.t.Helper()
	st, err := e.store.Online(s.sid)
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

// waitFor polls cond until it holds or 10 s pass.
func (e *env) waitFor(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func desc(d *string) string {
	if d == nil {
		return "<nil>"
	}
	return *d
}

func estimate(exact abi.TokenAmount) abi.TokenAmount {
	return big.Div(big.Mul(exact, big.NewInt(110)), big.NewInt(100))
}

// dropper passes requests to the node; while armed for a method, it lets one such request reach
// the node and then breaks the connection instead of answering, as a network failure after the
// node acted would.
type dropper struct {
	next http.Handler
	drop atomic.Value // string: the method to drop the answer of, once
}

func (d *dropper) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	method, _ := d.drop.Load().(string)
	if method == "" || !requestIs(r, method) {
		d.next.ServeHTTP(w, r)
		return
	}
	d.drop.Store("")
	d.next.ServeHTTP(discard{header: http.Header{}}, r)
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

var errNoBody = errors.New("no body")

// readAll reads r's body and puts it back for the next handler.
func readAll(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, errNoBody
	}
	body, err := io.ReadAll(r.Body)
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, err
}

func containsMethod(body []byte, method string) bool {
	var req struct {
		Method string `json:"method"`
	}
	return json.Unmarshal(body, &req) == nil && req.Method == method
}

// requestIs peeks at the JSON-RPC method of r, leaving the body readable.
func requestIs(r *http.Request, method string) bool {
	body, err := readAll(r)
	if err != nil {
		return false
	}
	return containsMethod(body, method)
}

type discard struct{ header http.Header }

func (d discard) Header() http.Header         { return d.header }
func (d discard) Write(b []byte) (int, error) { return len(b), nil }
func (d discard) WriteHeader(int)             {}

func bigFIL(n int64) abi.TokenAmount {
	return big.Mul(big.NewInt(n), big.NewInt(1_000_000_000_000_000_000))
}
