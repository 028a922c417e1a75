package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/big"
	"github.com/filecoin-project/go-state-types/builtin"
	"github.com/filecoin-project/go-state-types/builtin/v16/miner"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/simchain"
)

// The production manager (`venus-sector-manager daemon run`) as a user runs it: a home made by
// `daemon init` and edited by hand, a Lotus node (the simulated chain, in this process so the
// tests can steer it), and a real venus-worker with a write token.

const (
	daemonActor      = abi.ActorID(10000)
	daemonSectorSize = abi.SectorSize(2 << 10)
	// daemonEpoch is how often the test chain mines a tipset.
	daemonEpoch = 200 * time.Millisecond
)

// simNode is a simulated chain served as a Lotus full node on 127.0.0.1, with miner f010000.
type simNode struct {
	*simchain.Chain
	// maddr is the node's address in sector-manager.cfg form (/ip4/…/tcp/…).
	maddr string
}

// startSimNode serves a chain with a short challenge delay and 1 s epochs as advertised (the
// delays WaitSeed hands the worker are counted in them); every > 0 mines a tipset that often.
func startSimNode(t *testing.T, opts simchain.Options, every time.Duration) *simNode {
	t.Helper()
	if opts.PreCommitChallengeDelay == 0 {
		opts.PreCommitChallengeDelay = 5
	}
	if opts.BlockDelaySecs == 0 {
		opts.BlockDelaySecs = 1
	}
	ch, err := simchain.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.AddMiner(simchain.MinerSpec{Actor: daemonActor, SectorSize: daemonSectorSize}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { defer close(served); ch.Serve(ctx, ln) }()
	mined := make(chan struct{})
	go func() {
		defer close(mined)
		if every > 0 {
			ch.Run(ctx, every)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-served
		<-mined
		ch.Close()
	})
	tcp := ln.Addr().(*net.TCPAddr)
	return &simNode{Chain: ch, maddr: fmt.Sprintf("/ip4/%s/tcp/%d", tcp.IP, tcp.Port)}
}

// cfgEdit is one line a user changes in sector-manager.cfg: key under the table header. An
// empty key drops the header line (its keys are all commented out in the example), as a user
// removes an example table they do not use.
type cfgEdit struct{ header, key, value string }

// editCfg does what a user does to the file daemon init wrote: under each edit's table header,
// the line `#Key = …` (or `Key = …`) becomes `Key = value`; every other line stays.
func editCfg(t *testing.T, text string, edits ...cfgEdit) string {
	t.Helper()
	lines := strings.Split(text, "\n")
	for _, e := range edits {
		if e.key == "" {
			i := slices.Index(lines, e.header)
			if i < 0 {
				t.Fatalf("sector-manager.cfg written by daemon init has no %s", e.header)
			}
			lines = slices.Delete(lines, i, i+1)
			continue
		}
		in, done := false, false
		for i, l := range lines {
			if strings.HasPrefix(l, "[") {
				in = l == e.header
				continue
			}
			if in && (strings.HasPrefix(l, "#"+e.key+" = ") || strings.HasPrefix(l, e.key+" = ")) {
				lines[i] = e.key + " = " + e.value
				done = true
				break
			}
		}
		if !done {
			t.Fatalf("sector-manager.cfg written by daemon init has no %s line under %s", e.key, e.header)
		}
	}
	return strings.Join(lines, "\n")
}

// daemonHome is a manager home made by `daemon init`, with the config edited for one miner.
type daemonHome struct {
	home, cfg string
	// addr is where `daemon run` listens (host:port).
	addr string
}

// baseEdits point the example config at the node and the worker's persist store, and make
// f010000 seal with the chain's default worker key as sender, confirming at one epoch.
func baseEdits(node *simNode, persist string) []cfgEdit {
	sender := strconv.Quote(simchain.DefaultWorker(daemonActor).String())
	return []cfgEdit{
		{"[Common.API]", "Chain", strconv.Quote(node.maddr)},
		// No piece store: the example's entry has no Path, which daemon run refuses.
		{"[[Common.PieceStores]]", "", ""},
		{"[Common.PieceStores.Meta]", "", ""},
		{"[[Common.PersistStores]]", "Name", `"persist-store1"`},
		{"[[Common.PersistStores]]", "Path", strconv.Quote(persist)},
		{"[[Miners]]", "Actor", strconv.Itoa(int(daemonActor))},
		{"[Miners.Commitment]", "Confidence", "1"},
		{"[Miners.Commitment.Pre]", "Sender", sender},
		{"[Miners.Commitment.Prove]", "Sender", sender},
	}
}

// newDaemonHome picks the home's directory and the daemon's address; init writes the config.
func newDaemonHome(t *testing.T) *daemonHome {
	t.Helper()
	h := &daemonHome{home: filepath.Join(t.TempDir(), "vsm"), addr: fmt.Sprintf("127.0.0.1:%d", freePort(t))}
	h.cfg = filepath.Join(h.home, "sector-manager.cfg")
	// util(t, addr, …) finds the admin token in this home.
	managerHomes.Store(h.addr, h.home)
	return h
}

// init runs `daemon init` and edits the config it wrote.
func (h *daemonHome) init(t *testing.T, edits ...cfgEdit) {
	t.Helper()
	mustRun(t, bin("venus-sector-manager"), "--home", h.home, "daemon", "init")
	raw, err := os.ReadFile(h.cfg)
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, h.cfg, editCfg(t, string(raw), edits...))
}

func (h *daemonHome) createToken(t *testing.T, perm string) string {
	t.Helper()
	return (&authManager{addr: h.addr, home: h.home}).createToken(t, perm)
}

// daemonProc is a running `venus-sector-manager daemon run`.
type daemonProc struct {
	cmd    *exec.Cmd
	log    string
	exited chan struct{}
	err    error
}

// runDaemon starts `daemon run` on the home; it does not wait for anything.
func runDaemon(t *testing.T, h *daemonHome, extra ...string) *daemonProc {
	t.Helper()
	logf, err := os.CreateTemp(t.TempDir(), "daemon-*.log")
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	args := append([]string{"--home", h.home, "daemon", "run", "--listen", h.addr}, extra...)
	cmd := exec.Command(bin("venus-sector-manager"), args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &daemonProc{cmd: cmd, log: logf.Name(), exited: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.kill()
		// A panic, or a race report of a daemon built with VC_E2E_RACE, fails any test.
		if log := p.logText(); strings.Contains(log, "panic:") || strings.Contains(log, "WARNING: DATA RACE") {
			t.Errorf("daemon run panicked or raced")
		}
		if t.Failed() {
			t.Logf("daemon log (%s):\n%s", p.log, tail(p.logText(), 8000))
		}
	})
	return p
}

// startDaemon runs `daemon run` and waits until it answers util; a daemon that exits at start
// fails the test with its log.
func startDaemon(t *testing.T, h *daemonHome, extra ...string) *daemonProc {
	t.Helper()
	p := runDaemon(t, h, extra...)
	waitFor(t, "daemon run answering util", 30*time.Second, func() bool {
		select {
		case <-p.exited:
			t.Fatalf("daemon run exited at start (%v):\n%s", p.err, p.logText())
		default:
		}
		return util(t, h.addr, "worker", "list").code == 0
	})
	return p
}

func (p *daemonProc) logText() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

func (p *daemonProc) kill() {
	select {
	case <-p.exited:
	default:
		p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.exited
	}
}

// exitCode waits up to timeout for the process to end and returns its exit status.
func (p *daemonProc) exitCode(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(timeout):
		t.Fatalf("daemon run still running after %s:\n%s", timeout, tail(p.logText(), 4000))
	}
	var exit *exec.ExitError
	if errors.As(p.err, &exit) {
		return exit.ExitCode()
	}
	if p.err != nil {
		t.Fatalf("daemon run: %v", p.err)
	}
	return 0
}

// daemonWorker makes a worker of threads sealing threads for the daemon (its token is set once
// the daemon has made its secret); settings replace lines of the harness's worker config, in
// old, new pairs.
func daemonWorker(t *testing.T, h *daemonHome, threads int, settings ...string) *workerSetup {
	t.Helper()
	w := newWorkerSetup(t, h.addr, threads)
	raw, err := os.ReadFile(w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	for i := 0; i+1 < len(settings); i += 2 {
		if !strings.Contains(text, settings[i]) {
			t.Fatalf("worker config has no %q", settings[i])
		}
		text = strings.Replace(text, settings[i], settings[i+1], 1)
	}
	mustWrite(t, w.cfg, text)
	return w
}

// daemonCluster is a chain, a home edited for it and a worker's persist store, and the
// daemon: what every sealing test starts with.
type daemonCluster struct {
	node   *simNode
	home   *daemonHome
	daemon *daemonProc
	w      *workerSetup
	// token is the worker's write token (its admin api accepts it for listings).
	token string
}

func startDaemonCluster(t *testing.T, threads int, workerSettings []string, extra ...cfgEdit) *daemonCluster {
	t.Helper()
	return startDaemonClusterWith(t, threads, workerSettings, nil, extra...)
}

// startDaemonClusterWith runs `daemon run` with the flags in args.
func startDaemonClusterWith(t *testing.T, threads int, workerSettings, args []string, extra ...cfgEdit) *daemonCluster {
	t.Helper()
	node := startSimNode(t, simchain.Options{}, daemonEpoch)
	// The worker's config names the daemon's address, the daemon's the worker's persist store.
	c := &daemonCluster{node: node, home: newDaemonHome(t)}
	c.w = daemonWorker(t, c.home, threads, workerSettings...)
	c.home.init(t, append(baseEdits(node, c.w.persist), extra...)...)
	c.daemon = startDaemon(t, c.home, args...)
	c.token = c.home.createToken(t, "write")
	setToken(t, c.w, c.token)
	return c
}

// threads lists the worker's threads through its admin api, with the worker's token.
func (c *daemonCluster) threads(t *testing.T) []api.WorkerThreadInfo {
	t.Helper()
	client, closer, err := api.NewWorkerAdminClient(context.Background(), c.w.adminAddr, api.AuthHeader(c.token))
	if err != nil {
		t.Fatal(err)
	}
	defer closer()
	list, err := client.WorkerList(context.Background())
	if err != nil {
		t.Fatalf("WorkerList: %v", err)
	}
	return list
}

// finished lists the numbers of the sectors `util sealer sectors list --offline` shows finalized.
func (c *daemonCluster) finished(t *testing.T) []abi.SectorNumber {
	t.Helper()
	var nums []abi.SectorNumber
	for _, m := range finishedSector.FindAllStringSubmatch(util(t, c.home.addr, "sealer", "sectors", "list", "--offline").stdout, -1) {
		n, _ := strconv.ParseUint(m[2], 10, 64)
		nums = append(nums, abi.SectorNumber(n))
	}
	slices.Sort(nums)
	return nums
}

// waitFinished waits until at least n sectors are finalized, and returns them.
func (c *daemonCluster) waitFinished(t *testing.T, n int, timeout time.Duration) []abi.SectorNumber {
	t.Helper()
	var nums []abi.SectorNumber
	waitFor(t, fmt.Sprintf("%d sectors finalized", n), timeout, func() bool {
		nums = c.finished(t)
		return len(nums) >= n
	})
	return nums
}

// sectorState is what `util sealer sectors state` shows of a sector's sealing.
type sectorState struct {
	text         string
	ticketEpoch  abi.ChainEpoch
	seedEpoch    abi.ChainEpoch
	commR        cid.Cid
	preCommitMsg string
	commitMsg    string
	abortReason  string
}

var (
	stateTicket    = regexp.MustCompile(`(?m)^\tTicket: \((\d+)\) [0-9a-f]{64}$`)
	stateSeed      = regexp.MustCompile(`(?m)^\tSeed: \((\d+)\) [0-9a-f]{64}$`)
	stateCommR     = regexp.MustCompile(`(?m)^\t\tCommR: (\S+)$`)
	statePreMsg    = regexp.MustCompile(`(?m)^\tPreCommit Message: (\S+)$`)
	stateCommitMsg = regexp.MustCompile(`(?m)^\tProveCommit Message: (\S+)$`)
	stateAborting  = regexp.MustCompile(`(?m)^\tAborting: \n\t\t(.*)$`)
)

func (c *daemonCluster) state(t *testing.T, num abi.SectorNumber, offline bool) sectorState {
	t.Helper()
	args := []string{"sealer", "sectors", "state"}
	if offline {
		args = append(args, "--offline")
	}
	r := util(t, c.home.addr, append(args, strconv.Itoa(int(daemonActor)), strconv.Itoa(int(num)))...)
	if r.code != 0 {
		t.Fatalf("util sealer sectors state %d: exit %d %s", num, r.code, r.stderr)
	}
	s := sectorState{text: r.stdout}
	if m := stateTicket.FindStringSubmatch(r.stdout); m != nil {
		e, _ := strconv.ParseInt(m[1], 10, 64)
		s.ticketEpoch = abi.ChainEpoch(e)
	}
	if m := stateSeed.FindStringSubmatch(r.stdout); m != nil {
		e, _ := strconv.ParseInt(m[1], 10, 64)
		s.seedEpoch = abi.ChainEpoch(e)
	}
	if m := stateCommR.FindStringSubmatch(r.stdout); m != nil {
		s.commR, _ = cid.Parse(m[1])
	}
	if m := statePreMsg.FindStringSubmatch(r.stdout); m != nil {
		s.preCommitMsg = m[1]
	}
	if m := stateCommitMsg.FindStringSubmatch(r.stdout); m != nil {
		s.commitMsg = m[1]
	}
	if m := stateAborting.FindStringSubmatch(r.stdout); m != nil && m[1] != "NULL" {
		s.abortReason = m[1]
	}
	return s
}

// minerMessage is a message to the miner actor, with the sector numbers its params name.
type minerMessage struct {
	simchain.PushedMessage
	sectors []abi.SectorNumber
}

// minerMessages lists the pushed messages of method to f010000, in push order.
func minerMessages(node *simNode, method abi.MethodNum) []minerMessage {
	var out []minerMessage
	for _, m := range node.Messages() {
		if m.Message.Method != method {
			continue
		}
		mm := minerMessage{PushedMessage: m}
		switch p := m.Params.(type) {
		case *miner.PreCommitSectorBatchParams2:
			for _, s := range p.Sectors {
				mm.sectors = append(mm.sectors, s.SectorNumber)
			}
		case *miner.ProveCommitSectors3Params:
			for _, a := range p.SectorActivations {
				mm.sectors = append(mm.sectors, a.SectorNumber)
			}
		}
		out = append(out, mm)
	}
	return out
}

// preCommitsOf counts the pre-commit messages that name each sector.
func preCommitsOf(node *simNode) map[abi.SectorNumber]int {
	count := map[abi.SectorNumber]int{}
	for _, m := range minerMessages(node, builtin.MethodsMiner.PreCommitSectorBatch2) {
		for _, n := range m.sectors {
			count[n]++
		}
	}
	return count
}

// checkOnChain asserts the chain has each sector proven, with the CommR the manager keeps and
// the pre-commit message the manager recorded.
func (c *daemonCluster) checkOnChain(t *testing.T, nums []abi.SectorNumber) map[abi.SectorNumber]sectorState {
	t.Helper()
	states := map[abi.SectorNumber]sectorState{}
	for _, n := range nums {
		st := c.state(t, n, true)
		states[n] = st
		onChain := c.node.Sector(daemonActor, n)
		if onChain == nil {
			t.Errorf("sector %d finalized but not proven on chain", n)
			continue
		}
		if !st.commR.Defined() || !onChain.SealedCID.Equals(st.commR) {
			t.Errorf("sector %d: SealedCID on chain %s, CommR in the manager %s", n, onChain.SealedCID, st.commR)
		}
		if st.abortReason != "" {
			t.Errorf("sector %d finalized with an abort reason: %s", n, st.abortReason)
		}
	}
	return states
}

// checkPreCommit asserts what a PreCommitSectorBatch2 carried for each of its sectors: the
// manager's CommR and ticket epoch, an expiration of 538 days (LifetimeDays 540 less two proving
// periods) from about when it was sent, and a value that pays every deposit.
func checkPreCommit(t *testing.T, m minerMessage, states map[abi.SectorNumber]sectorState) {
	t.Helper()
	if m.Included == 0 || m.ExitCode != 0 {
		t.Errorf("pre-commit %s: included at %d with exit code %d (%s)", m.Cid, m.Included, m.ExitCode, m.Error)
	}
	if want := simchain.DefaultWorker(daemonActor); m.Message.From != want {
		t.Errorf("pre-commit %s sent from %s, want the configured sender %s", m.Cid, m.Message.From, want)
	}
	p := m.Params.(*miner.PreCommitSectorBatchParams2)
	lifetime := abi.ChainEpoch(538 * builtin.EpochsInDay)
	for _, s := range p.Sectors {
		st, ok := states[s.SectorNumber]
		if !ok {
			t.Errorf("pre-commit %s names sector %d, which did not finish", m.Cid, s.SectorNumber)
			continue
		}
		if !s.SealedCID.Equals(st.commR) {
			t.Errorf("sector %d: SealedCID %s, CommR %s", s.SectorNumber, s.SealedCID, st.commR)
		}
		if s.SealRandEpoch != st.ticketEpoch || st.ticketEpoch == 0 {
			t.Errorf("sector %d: SealRandEpoch %d, ticket epoch %d", s.SectorNumber, s.SealRandEpoch, st.ticketEpoch)
		}
		if s.SealProof != abi.RegisteredSealProof_StackedDrg2KiBV1_1 {
			t.Errorf("sector %d: seal proof %d", s.SectorNumber, s.SealProof)
		}
		// Built at a head at most a few epochs before the tipset that included it.
		if built := s.Expiration - lifetime; built > m.Included || built < m.Included-20 {
			t.Errorf("sector %d: expiration %d is not %d epochs after a head just before %d", s.SectorNumber, s.Expiration, lifetime, m.Included)
		}
		if st.preCommitMsg != m.Cid.String() {
			t.Errorf("sector %d: the manager recorded pre-commit message %s, the chain has %s", s.SectorNumber, st.preCommitMsg, m.Cid)
		}
	}
	deposits := big.Mul(simchain.ExactPreCommitDeposit(daemonSectorSize), big.NewInt(int64(len(p.Sectors))))
	if m.Message.Value.LessThan(deposits) {
		t.Errorf("pre-commit %s of %d sectors: value %s below their deposits %s", m.Cid, len(p.Sectors), m.Message.Value, deposits)
	}
}

// checkProof asserts what a ProveCommitSectors3 carried: one activation per sector (CC sectors:
// no pieces), either one proof each or one SnarkPackV2 aggregate, and the pledge left to pay.
func checkProof(t *testing.T, m minerMessage, aggregate bool, states map[abi.SectorNumber]sectorState) {
	t.Helper()
	if m.Included == 0 || m.ExitCode != 0 {
		t.Errorf("proof %s: included at %d with exit code %d (%s)", m.Cid, m.Included, m.ExitCode, m.Error)
	}
	p := m.Params.(*miner.ProveCommitSectors3Params)
	for _, a := range p.SectorActivations {
		st, ok := states[a.SectorNumber]
		if !ok {
			t.Errorf("proof %s names sector %d, which did not finish", m.Cid, a.SectorNumber)
			continue
		}
		if len(a.Pieces) != 0 {
			t.Errorf("sector %d: %d pieces in a CC sector's activation", a.SectorNumber, len(a.Pieces))
		}
		if st.commitMsg != m.Cid.String() {
			t.Errorf("sector %d: the manager recorded proof message %s, the chain has %s", a.SectorNumber, st.commitMsg, m.Cid)
		}
	}
	if aggregate {
		if len(p.SectorProofs) != 0 || len(p.AggregateProof) == 0 || p.AggregateProofType == nil || *p.AggregateProofType != abi.RegisteredAggregationProof_SnarkPackV2 {
			t.Errorf("proof %s is not a SnarkPackV2 aggregate: %d proofs, %d aggregate bytes, type %v", m.Cid, len(p.SectorProofs), len(p.AggregateProof), p.AggregateProofType)
		}
	} else if len(p.SectorProofs) != len(p.SectorActivations) || len(p.AggregateProof) != 0 {
		t.Errorf("proof %s: %d proofs for %d sectors, %d aggregate bytes", m.Cid, len(p.SectorProofs), len(p.SectorActivations), len(p.AggregateProof))
	}
	perSector := big.Sub(simchain.ExactInitialPledge(daemonSectorSize), simchain.ExactPreCommitDeposit(daemonSectorSize))
	if want := big.Mul(perSector, big.NewInt(int64(len(p.SectorActivations)))); m.Message.Value.LessThan(want) {
		t.Errorf("proof %s of %d sectors: value %s below the pledge left to pay %s", m.Cid, len(p.SectorActivations), m.Message.Value, want)
	}
}

// TestDaemonInitRunSeals: `daemon init`, the config edited by hand, `daemon run` against the
// node, and a worker sealing until sectors are finalized and proven on chain; without batching
// one message per sector and kind, with batching one PreCommitSectorBatch2 and one aggregated
// ProveCommitSectors3 of 4 sectors.
func TestDaemonInitRunSeals(t *testing.T) {
	t.Run("unbatched", func(t *testing.T) {
		t.Parallel()
		c := startDaemonCluster(t, 2, nil)
		startWorker(t, c.w)
		nums := c.waitFinished(t, 3, 120*time.Second)
		states := c.checkOnChain(t, nums)
		for n, count := range preCommitsOf(c.node) {
			if count != 1 && slices.Contains(nums, n) {
				t.Errorf("sector %d: %d pre-commit messages, want 1", n, count)
			}
		}
		for _, m := range minerMessages(c.node, builtin.MethodsMiner.PreCommitSectorBatch2) {
			if len(m.sectors) != 1 {
				t.Errorf("pre-commit %s carries sectors %v, want one without batching", m.Cid, m.sectors)
				continue
			}
			if slices.Contains(nums, m.sectors[0]) {
				checkPreCommit(t, m, states)
			}
		}
		proofs := 0
		for _, m := range minerMessages(c.node, builtin.MethodsMiner.ProveCommitSectors3) {
			if len(m.sectors) != 1 {
				t.Errorf("proof %s carries sectors %v, want one without batching", m.Cid, m.sectors)
				continue
			}
			if slices.Contains(nums, m.sectors[0]) {
				proofs++
				checkProof(t, m, false, states)
			}
		}
		if proofs != len(nums) {
			t.Errorf("%d proof messages for the %d finished sectors %v", proofs, len(nums), nums)
		}
	})
	t.Run("batched", func(t *testing.T) {
		t.Parallel()
		batch := []cfgEdit{
			{"[Miners.Commitment.Pre.Batch]", "Enabled", "true"},
			{"[Miners.Commitment.Pre.Batch]", "Threshold", "4"},
			{"[Miners.Commitment.Prove.Batch]", "Enabled", "true"},
			{"[Miners.Commitment.Prove.Batch]", "Threshold", "4"},
		}
		c := startDaemonCluster(t, 4, nil, batch...)
		startWorker(t, c.w)
		nums := c.waitFinished(t, 4, 120*time.Second)
		states := c.checkOnChain(t, nums)
		// The threshold holds every pre-commit until the fourth: the first four sectors go in
		// one message, and so do their proofs.
		first := nums[:4]
		pre := minerMessages(c.node, builtin.MethodsMiner.PreCommitSectorBatch2)
		if len(pre) == 0 || !slices.Equal(sorted(pre[0].sectors), first) {
			t.Fatalf("first pre-commit message carries %v, want %v", sectorsOf(pre), first)
		}
		checkPreCommit(t, pre[0], states)
		proofs := minerMessages(c.node, builtin.MethodsMiner.ProveCommitSectors3)
		if len(proofs) == 0 || !slices.Equal(proofs[0].sectors, first) {
			t.Fatalf("first proof message carries %v, want %v (sorted)", sectorsOf(proofs), first)
		}
		checkProof(t, proofs[0], true, states)
		for n, count := range preCommitsOf(c.node) {
			if count != 1 {
				t.Errorf("sector %d: %d pre-commit messages, want 1", n, count)
			}
		}
	})
}

func sorted(nums []abi.SectorNumber) []abi.SectorNumber {
	out := slices.Clone(nums)
	slices.Sort(out)
	return out
}

func sectorsOf(msgs []minerMessage) [][]abi.SectorNumber {
	var out [][]abi.SectorNumber
	for _, m := range msgs {
		out = append(out, m.sectors)
	}
	return out
}

// persistStore is an initialised persist store directory for a home without a worker.
func persistStore(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "persist")
	mustRun(t, bin("venus-worker"), "store", "file-init", "-l", dir)
	return dir
}

// errorLine asserts that a daemon run ended with status 1 and one ERROR line, its last, and
// returns that line.
func errorLine(t *testing.T, p *daemonProc) string {
	t.Helper()
	if code := p.exitCode(t, 30*time.Second); code != 1 {
		t.Fatalf("daemon run exited %d, want 1:\n%s", code, p.logText())
	}
	out := p.logText()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	last := lines[len(lines)-1]
	if strings.Count(out, "ERROR") != 1 || !strings.HasPrefix(last, "ERROR: ") || strings.Contains(out, "panic") {
		t.Fatalf("want one ERROR line, the last:\n%s", out)
	}
	return last
}

// A default build (mock proofs) refuses a node of a real network, in one line that names the
// network and the fix; --unsafe-mock-proofs starts it anyway with a WARN line, and SIGTERM stops
// it with status 0.
func TestDaemonRealNetworkNeedsFFI(t *testing.T) {
	t.Parallel()
	node := startSimNode(t, simchain.Options{NetworkName: "calibrationnet"}, 0)
	h := newDaemonHome(t)
	h.init(t, baseEdits(node, persistStore(t))...)

	want := `ERROR: the full node is on network "calibrationnet", but this build verifies only mock proofs: ` +
		`real networks need a build with -tags ffi (make ffi); for a devnet that accepts mock proofs pass --unsafe-mock-proofs`
	if line := errorLine(t, runDaemon(t, h)); line != want {
		t.Errorf("error line:\n%s\nwant\n%s", line, want)
	}

	p := startDaemon(t, h, "--unsafe-mock-proofs")
	warn := regexp.MustCompile(`(?m)^\S+\tWARN\tmanager\tUNSAFE: running with mock proofs on a network that is not the simulated one ` +
		`\(--unsafe-mock-proofs\); no proof sent from here verifies on a real chain\t\{"network": "calibrationnet"\}$`)
	if !warn.MatchString(p.logText()) {
		t.Errorf("no UNSAFE warning in the log:\n%s", tail(p.logText(), 3000))
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.exitCode(t, 5*time.Second); code != 0 {
		t.Errorf("daemon run exited %d after SIGTERM", code)
	}
	if !strings.Contains(p.logText(), "\tINFO\tcmd\tstop application") {
		t.Errorf("no stop line in the log:\n%s", tail(p.logText(), 2000))
	}
}

// Errors a user makes in the config or the node's address end daemon run with status 1 and one
// line that names the key or the address.
func TestDaemonStartupErrorsNameTheInput(t *testing.T) {
	t.Parallel()
	node := startSimNode(t, simchain.Options{}, 0)
	persist := persistStore(t)

	t.Run("misspelt key", func(t *testing.T) {
		h := newDaemonHome(t)
		h.init(t, baseEdits(node, persist)...)
		raw, _ := os.ReadFile(h.cfg)
		text := strings.Replace(string(raw), "Confidence = 1\n", "Confidense = 1\n", 1)
		mustWrite(t, h.cfg, text)
		want := fmt.Sprintf(`ERROR: %s: unknown key "Miners.Commitment.Confidense" (check the spelling; see daemon init's example)`, h.cfg)
		if line := errorLine(t, runDaemon(t, h)); line != want {
			t.Errorf("error line:\n%s\nwant\n%s", line, want)
		}
	})
	t.Run("--miner without a gateway", func(t *testing.T) {
		h := newDaemonHome(t)
		h.init(t, baseEdits(node, persist)...)
		want := `ERROR: --miner: [Common.API] Gateway is empty: list the venus-gateway addresses in sector-manager.cfg, e.g. Gateway = ["/ip4/127.0.0.1/tcp/45132"]`
		if line := errorLine(t, runDaemon(t, h, "--miner")); line != want {
			t.Errorf("error line:\n%s\nwant\n%s", line, want)
		}
	})
	t.Run("--miner with a bad gateway address", func(t *testing.T) {
		h := newDaemonHome(t)
		h.init(t, append(baseEdits(node, persist), cfgEdit{"[Common.API]", "Gateway", `["/ip4/127.0.0.1/tcp/1", "/tcp/45132"]`})...)
		want := `ERROR: [Common.API] Gateway[1]: invalid multiaddr "/tcp/45132": ip4 or ip6 protocol is required (or dns4/dns6 with a host name), e.g. /ip4/127.0.0.1/tcp/1789`
		if line := errorLine(t, runDaemon(t, h, "--miner")); line != want {
			t.Errorf("error line:\n%s\nwant\n%s", line, want)
		}
	})
	t.Run("node unreachable", func(t *testing.T) {
		port := freePort(t)
		h := newDaemonHome(t)
		h.init(t, append(baseEdits(node, persist), cfgEdit{"[Common.API]", "Chain", fmt.Sprintf(`"/ip4/127.0.0.1/tcp/%d"`, port)})...)
		line := errorLine(t, runDaemon(t, h))
		prefix := fmt.Sprintf("ERROR: cannot reach the full node: full node http://127.0.0.1:%d/rpc/v1: Filecoin.StateGetNetworkParams: ", port)
		suffix := "connection refused (check [Common.API] Chain and Token in sector-manager.cfg, and that the node runs)"
		if !strings.HasPrefix(line, prefix) || !strings.HasSuffix(line, suffix) {
			t.Errorf("error line:\n%s\nwant\n%s…%s", line, prefix, suffix)
		}
	})
}
