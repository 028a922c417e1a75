package e2e

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/builtin"
	"github.com/filecoin-project/go-state-types/exitcode"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/simchain"
)

// Faults of the production manager's world: the node, the chain's verdicts, the daemon itself.

// A worker that rides out a minute of failed calls: many retries, close together.
var patientWorker = []string{"max_retries = 3", "max_retries = 1000"}

// sectorHeader is the first line of a sector in `util sealer sectors list`.
var sectorHeader = regexp.MustCompile(`(?m)^s-t010000-(\d+):$`)

// online lists the numbers of the sectors the manager has online (being sealed).
func (c *daemonCluster) online(t *testing.T) []abi.SectorNumber {
	t.Helper()
	var nums []abi.SectorNumber
	for _, m := range sectorHeader.FindAllStringSubmatch(util(t, c.home.addr, "sealer", "sectors", "list").stdout, -1) {
		n, _ := strconv.ParseUint(m[1], 10, 64)
		nums = append(nums, abi.SectorNumber(n))
	}
	return nums
}

// waitAllFinished waits until every sector of nums is finalized.
func (c *daemonCluster) waitAllFinished(t *testing.T, nums []abi.SectorNumber, timeout time.Duration) {
	t.Helper()
	waitFor(t, fmt.Sprintf("sectors %v finalized", nums), timeout, func() bool {
		done := c.finished(t)
		for _, n := range nums {
			if !slices.Contains(done, n) {
				return false
			}
		}
		return true
	})
}

func workerLog(t *testing.T, wp *workerProc) string {
	t.Helper()
	b, err := os.ReadFile(wp.log.Name())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// noAborts asserts that no sector of the offline store (finalized or aborted) carries an abort
// reason and that no thread is paused.
func (c *daemonCluster) noAborts(t *testing.T) {
	t.Helper()
	for _, m := range sectorHeader.FindAllStringSubmatch(util(t, c.home.addr, "sealer", "sectors", "list", "--offline").stdout, -1) {
		n, _ := strconv.ParseUint(m[1], 10, 64)
		if st := c.state(t, abi.SectorNumber(n), true); st.abortReason != "" {
			t.Errorf("sector %d aborted: %s", n, st.abortReason)
		}
	}
	for _, th := range c.threads(t) {
		if th.Paused {
			t.Errorf("thread %d paused: %s", th.Index, strOrNil(th.LastError))
		}
	}
}

// The node down for a while during sealing: the manager's chain calls fail, the workers' calls
// fail with them as temporary errors and are retried; once the node is back every sector that
// was in flight finishes, and nothing is aborted.
func TestDaemonNodeDownIsRiddenOut(t *testing.T) {
	t.Parallel()
	c := startDaemonCluster(t, 2, patientWorker)
	wp := startWorker(t, c.w)
	waitFor(t, "a pre-commit landed", 60*time.Second, func() bool {
		for _, m := range minerMessages(c.node, builtin.MethodsMiner.PreCommitSectorBatch2) {
			if m.Included != 0 {
				return true
			}
		}
		return false
	})

	const cause = "node down for maintenance (test)"
	c.node.SetDown(errors.New(cause))
	failed := regexp.MustCompile(`temporary failure, will retry\t\{"thread": \d, .*"err": "rpc \w+: .*` + regexp.QuoteMeta(cause))
	waitFor(t, "the workers' calls failing", 60*time.Second, func() bool {
		return len(failed.FindAllString(workerLog(t, wp), -1)) >= 10
	})
	inFlight := c.online(t)
	c.node.SetDown(nil)
	if len(inFlight) == 0 {
		t.Fatal("no sector online while the node was down")
	}

	c.waitAllFinished(t, inFlight, 120*time.Second)
	c.checkOnChain(t, inFlight)
	c.noAborts(t)
	if strings.Contains(c.daemon.logText(), "panic") {
		t.Errorf("the daemon panicked:\n%s", tail(c.daemon.logText(), 4000))
	}
}

// firstOf returns an outcome function that gives the first message of method the outcome, and
// executes every other message; first reports that message's CID once it was decided.
func firstOf(method abi.MethodNum, o simchain.Outcome) (fn func(simchain.PushedMessage) simchain.Outcome, first func() cid.Cid) {
	var mu sync.Mutex
	var c cid.Cid
	fn = func(m simchain.PushedMessage) simchain.Outcome {
		if m.Message.Method != method {
			return simchain.OutcomeExecute
		}
		mu.Lock()
		defer mu.Unlock()
		if !c.Defined() {
			c = m.Cid
		}
		if m.Cid == c {
			return o
		}
		return simchain.OutcomeExecute
	}
	return fn, func() cid.Cid { mu.Lock(); defer mu.Unlock(); return c }
}

// A pre-commit that runs out of gas is Failed to the worker, which re-submits it: the manager
// sends a second pre-commit for the sector, which lands, and the sector is finalized.
func TestDaemonPreCommitOutOfGasIsResubmitted(t *testing.T) {
	t.Parallel()
	c := startDaemonCluster(t, 1, nil)
	outcome, first := firstOf(builtin.MethodsMiner.PreCommitSectorBatch2, simchain.OutcomeOutOfGas)
	c.node.SetOutcome(outcome)
	wp := startWorker(t, c.w)

	var num abi.SectorNumber
	waitFor(t, "the first pre-commit out of gas", 60*time.Second, func() bool {
		for _, m := range minerMessages(c.node, builtin.MethodsMiner.PreCommitSectorBatch2) {
			if m.Cid == first() && m.Included != 0 {
				num = m.sectors[0]
				return true
			}
		}
		return false
	})
	// The worker waits 30 s before it re-submits a failed message.
	c.waitAllFinished(t, []abi.SectorNumber{num}, 120*time.Second)
	states := c.checkOnChain(t, []abi.SectorNumber{num})

	var mine []minerMessage
	for _, m := range minerMessages(c.node, builtin.MethodsMiner.PreCommitSectorBatch2) {
		if len(m.sectors) == 1 && m.sectors[0] == num {
			mine = append(mine, m)
		}
	}
	if len(mine) != 2 {
		t.Fatalf("sector %d: %d pre-commit messages, want 2 (the one out of gas and its re-submission)", num, len(mine))
	}
	if mine[0].ExitCode != exitcode.SysErrOutOfGas || mine[1].ExitCode != exitcode.Ok || mine[0].Cid == mine[1].Cid {
		t.Errorf("pre-commits of sector %d: %s exit %d, then %s exit %d", num, mine[0].Cid, mine[0].ExitCode, mine[1].Cid, mine[1].ExitCode)
	}
	checkPreCommit(t, mine[1], states)
	log := workerLog(t, wp)
	if !strings.Contains(log, "on-chain message failed, will re-submit\t{\"thread\": 0, ") {
		t.Errorf("no re-submit line in the worker log")
	}
	c.noAborts(t)
}

// A proof whose message exits with code 16 (illegal argument) is ShouldAbort to the worker: it
// aborts the sector, the manager keeps the reason, and the thread seals the next sector.
func TestDaemonProofExitAbortsSector(t *testing.T) {
	t.Parallel()
	c := startDaemonCluster(t, 1, nil)
	outcome, first := firstOf(builtin.MethodsMiner.ProveCommitSectors3, simchain.OutcomeExit(exitcode.ErrIllegalArgument))
	c.node.SetOutcome(outcome)
	startWorker(t, c.w)

	var num abi.SectorNumber
	waitFor(t, "the first proof failed", 60*time.Second, func() bool {
		for _, m := range minerMessages(c.node, builtin.MethodsMiner.ProveCommitSectors3) {
			if m.Cid == first() && m.Included != 0 {
				num = m.sectors[0]
				return true
			}
		}
		return false
	})
	var next []abi.SectorNumber
	waitFor(t, "the next sector finalized", 60*time.Second, func() bool {
		next = c.finished(t)
		return len(next) > 0
	})
	// Aborted sectors are finalized with their reason, as the original keeps them.
	const reason = "Proof should abort: message exited with code 16 (ErrIllegalArgument(16))"
	if st := c.state(t, num, true); st.abortReason != reason {
		t.Errorf("sector %d: abort reason %q, want %q\n%s", num, st.abortReason, reason, st.text)
	} else if !strings.Contains(st.text, "\t\t\tFailure: [Abort] "+reason+"\n") {
		t.Errorf("sector %d: no Abort failure in its history:\n%s", num, st.text)
	}
	entry := fmt.Sprintf("s-t010000-%d:\n\tWorker: e2e-worker @ %s\n\tState: ProofSubmitted => ProofSubmitted @None\n\tFinalized: true, Removed: false\n", num, c.w.stores[0])
	if out := util(t, c.home.addr, "sealer", "sectors", "list", "--offline").stdout; !strings.Contains(out, entry) {
		t.Errorf("offline list has no entry\n%s\nin\n%s", entry, out)
	}
	if !regexp.MustCompile(`message failed\t\{"sector": "s-t010000-` + strconv.Itoa(int(num)) + `", "kind": "prove-commit", .*"state": "ShouldAbort", .*"exit": "ErrIllegalArgument\(16\)"`).MatchString(c.daemon.logText()) {
		t.Errorf("the daemon log has no message failed line for the proof of sector %d", num)
	}
	if c.node.Sector(daemonActor, num) != nil {
		t.Errorf("sector %d is on chain after its proof failed", num)
	}
	if slices.Contains(next, num) {
		t.Errorf("the aborted sector %d is listed finalized", num)
	}
	c.checkOnChain(t, next)
}

// The pre-commit gone from the chain after it landed and before the seed (as if it had expired):
// WaitSeed answers a temporary error naming it, the worker retries max_retries times, and then
// the thread pauses with that error; the sector stays online, nothing panics.
func TestDaemonPreCommitMissingAtWaitSeed(t *testing.T) {
	t.Parallel()
	c := startDaemonCluster(t, 1, nil)
	wp := startWorker(t, c.w)
	var sid abi.SectorID
	waitFor(t, "the thread waiting for its seed", 60*time.Second, func() bool {
		th := c.threads(t)[0]
		if th.State == "PersistanceSubmitted" && th.SectorID != nil {
			sid = *th.SectorID
			return true
		}
		return false
	})
	if removed, err := c.node.RemovePreCommit(daemonActor, sid.Number); !removed || err != nil {
		t.Fatalf("RemovePreCommit(%d): %v %v", sid.Number, removed, err)
	}
	var th api.WorkerThreadInfo
	waitFor(t, "the thread paused", 60*time.Second, func() bool {
		th = c.threads(t)[0]
		return th.Paused
	})
	notReady := fmt.Sprintf("rpc WaitSeed: sector %s: no pre-commit on chain yet (Filecoin.StateSectorPreCommitInfo returned null); retry later", api.FormatSectorID(sid))
	if want := "permanent: gave up after 3 temporary failures: " + notReady; th.State != "PersistanceSubmitted" || strOrNil(th.LastError) != want {
		t.Errorf("paused thread: state %s, last_error %q\nwant last_error %q", th.State, strOrNil(th.LastError), want)
	}
	// The manager's history of the sector: the first call and its 3 retries, then the pause.
	st := c.state(t, sid.Number, false)
	if n := strings.Count(st.text, "\t\t\tFailure: [Temporary] "+notReady+"\n"); n != 4 {
		t.Errorf("%d temporary WaitSeed failures in the sector's history, want 4:\n%s", n, st.text)
	}
	if !strings.Contains(st.text, "\tFailure: \n\t\t[Permanent] gave up after 3 temporary failures: "+notReady+"\n") || st.abortReason != "" || st.seedEpoch != 0 {
		t.Errorf("sector state after the pause:\n%s", st.text)
	}
	if !slices.Contains(c.online(t), sid.Number) {
		t.Errorf("sector %d is no longer online", sid.Number)
	}
	if log := workerLog(t, wp); !strings.Contains(log, "sealing thread paused on failure\t{\"thread\": 0, ") || strings.Contains(log, "sector aborted") {
		t.Errorf("worker log:\n%s", tail(log, 3000))
	}
	if strings.Contains(c.daemon.logText(), "panic") {
		t.Errorf("the daemon panicked:\n%s", tail(c.daemon.logText(), 4000))
	}
	if r := util(t, c.home.addr, "worker", "list"); r.code != 0 {
		t.Errorf("the daemon stopped answering: %s", r.stderr)
	}
}

// SIGKILL between push and land: the pre-commits are in the node's pool (held there), the daemon
// is killed and started again on its home, the chain then includes them. Every sector finishes
// with exactly one pre-commit message, and a SIGTERM then stops the daemon with status 0.
func TestDaemonKilledBetweenPushAndLand(t *testing.T) {
	t.Parallel()
	c := startDaemonCluster(t, 2, patientWorker)
	c.node.SetOutcome(func(simchain.PushedMessage) simchain.Outcome { return simchain.OutcomeHold })
	startWorker(t, c.w)
	var held []abi.SectorNumber
	waitFor(t, "both pre-commits pending in the node", 60*time.Second, func() bool {
		held = nil
		for _, m := range minerMessages(c.node, builtin.MethodsMiner.PreCommitSectorBatch2) {
			if m.Pending() {
				held = append(held, m.sectors...)
			}
		}
		return len(held) == 2
	})
	c.daemon.kill()
	c.daemon = startDaemon(t, c.home)
	c.node.SetOutcome(nil)

	c.waitAllFinished(t, held, 120*time.Second)
	c.checkOnChain(t, held)
	for n, count := range preCommitsOf(c.node) {
		if count != 1 {
			t.Errorf("sector %d: %d pre-commit messages, want exactly 1", n, count)
		}
	}
	c.noAborts(t)

	// With the worker still sealing against it, SIGTERM stops the daemon cleanly.
	c.daemon.cmd.Process.Signal(syscall.SIGTERM)
	if code := c.daemon.exitCode(t, 5*time.Second); code != 0 {
		t.Errorf("daemon run exited %d after SIGTERM:\n%s", code, tail(c.daemon.logText(), 3000))
	}
}
