package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/builtin"
	"github.com/filecoin-project/go-state-types/builtin/v16/miner"
	"github.com/filecoin-project/go-state-types/exitcode"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/simchain"
)

// postEpoch is the simulated chain's epoch in the WindowPoSt cycle: a deadline lasts 60 epochs
// (1.2s) and a proving period 48 deadlines (58s), so faults and recoveries show within minutes.
const postEpoch = "20ms"

// provingDoc is what the cycle reads of `util sealer proving deadlines --json`.
type provingDoc struct {
	Deadlines []struct {
		Index            uint64 `json:"index"`
		Partitions       int    `json:"partitions"`
		Sectors          uint64 `json:"sectors"`
		Faults           uint64 `json:"faults"`
		ProvenPartitions uint64 `json:"proven_partitions"`
	} `json:"deadlines"`
}

func provingDeadlines(t *testing.T, addr string) provingDoc {
	t.Helper()
	r := util(t, addr, "sealer", "proving", "--miner", "10000", "deadlines", "--json")
	if r.code != 0 {
		t.Fatalf("proving deadlines: %s", r.stderr)
	}
	var doc provingDoc
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("proving deadlines --json: %v\n%s", err, r.stdout)
	}
	return doc
}

// sealedDeadline is the deadline holding the miner's sectors, and their faults.
func sealedDeadline(t *testing.T, addr string) (idx uint64, sectors, faults uint64, ok bool) {
	for _, d := range provingDeadlines(t, addr).Deadlines {
		if d.Sectors > 0 {
			return d.Index, d.Sectors, d.Faults, true
		}
	}
	return 0, 0, 0, false
}

// TestWindowPoStCycle: a worker seals two sectors in `mock --poster`; the scheduler proves their
// deadline; a sealed file removed from the attached store makes a fault declared on chain, and the
// file put back makes a recovery declared and proven.
func TestWindowPoStCycle(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	w := newWorkerSetup(t, addr, 2)
	m := startMockProc(t, addr, "--max-sectors", "2", "--poster", "--epoch-duration", postEpoch,
		"--persist-store", "persist-store1="+w.persist)
	startWorker(t, w)
	c := managerClient(t, addr)
	waitFor(t, "two sectors sealed", 2*time.Minute, func() bool { return len(finishedSectors(t, c)) == 2 })

	var dl uint64
	waitFor(t, "the sectors' deadline on chain", 30*time.Second, func() bool {
		var sectors uint64
		var ok bool
		dl, sectors, _, ok = sealedDeadline(t, addr)
		return ok && sectors == 2
	})
	provenLine := regexp.MustCompile(`deadline proven.*"deadline": ` + fmt.Sprint(dl) + `, .*"partitions": 1, "skipped": 0, "faults_declared": 0, "recoveries_declared": 0, "messages": \["b`)
	waitFor(t, fmt.Sprintf("deadline %d proven", dl), 2*time.Minute, func() bool {
		b, _ := os.ReadFile(m.log)
		return provenLine.Match(b)
	})
	if _, _, faults, _ := sealedDeadline(t, addr); faults != 0 {
		t.Fatalf("%d faults after the deadline was proven", faults)
	}

	// A sealed file gone: the scheduler finds it at the next check of the deadline (declared
	// before its cutoff, or skipped in the proof), and the chain counts the sector faulty.
	sealed := filepath.Join(w.persist, "sealed", api.FormatSectorID(abi.SectorID{Miner: 10000, Number: 1}))
	moved := sealed + ".away"
	if err := os.Rename(sealed, moved); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "sector 1 faulty on chain", 3*time.Minute, func() bool {
		_, _, faults, _ := sealedDeadline(t, addr)
		return faults == 1
	})
	check := util(t, addr, "sealer", "proving", "--miner", "10000", "check", "--only-bad", fmt.Sprint(dl))
	if want := regexp.MustCompile(`^deadline  partition  sector  status\n` + fmt.Sprint(dl) + ` +0 +1 +bad \(.*` + regexp.QuoteMeta(sealed) + `.*\)\n$`); !want.MatchString(check.stdout) {
		t.Errorf("proving check --only-bad with the file gone:\n%s%s", check.stdout, check.stderr)
	}

	// The file back: a recovery is declared and the next proof heals the sector.
	if err := os.Rename(moved, sealed); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "sector 1 recovered on chain", 3*time.Minute, func() bool {
		_, _, faults, _ := sealedDeadline(t, addr)
		return faults == 0
	})
	b, _ := os.ReadFile(m.log)
	if !regexp.MustCompile(`deadline proven.*"recoveries_declared": 1`).Match(b) {
		t.Errorf("no deadline line with the recovery declared in the manager log")
	}
	if !regexp.MustCompile(`deadline proven.*("faults_declared": 1|"skipped": 1)`).Match(b) {
		t.Errorf("no deadline line with the fault declared (or the sector skipped) in the manager log")
	}
}

// TestDaemonPosterKilledMidDeadline: `daemon run --poster` pushes the deadline's proof, which
// the chain holds in its pool; the manager is SIGKILLed, restarted, and meets the node down for a
// while. The restarted scheduler finds the proof in its journal, pushes nothing new, retries
// through the outage while the window is open, and the deadline closes proven by the one
// SubmitWindowedPoSt.
func TestDaemonPosterKilledMidDeadline(t *testing.T) {
	t.Parallel()
	c := startDaemonClusterWith(t, 1, nil, []string{"--poster"},
		cfgEdit{"[Common.API]", "ChainEventInterval", `"100ms"`},
		cfgEdit{"[Miners.PoSt]", "Enabled", "true"},
		cfgEdit{"[Miners.PoSt]", "Confidence", "2"})
	var hold atomic.Bool
	hold.Store(true)
	c.node.SetOutcome(func(m simchain.PushedMessage) simchain.Outcome {
		if m.Message.Method == builtin.MethodsMiner.SubmitWindowedPoSt && hold.Load() {
			return simchain.OutcomeHold
		}
		return simchain.OutcomeExecute
	})
	startWorker(t, c.w)
	c.waitFinished(t, 1, 120*time.Second)
	posts := func() []minerMessage { return minerMessages(c.node, builtin.MethodsMiner.SubmitWindowedPoSt) }
	waitFor(t, "the deadline's proof pushed", 90*time.Second, func() bool { return len(posts()) == 1 })
	dl := posts()[0].Params.(*miner.SubmitWindowedPoStParams).Deadline

	c.daemon.kill()
	c.daemon = startDaemon(t, c.home, "--poster")
	waitFor(t, "the restarted scheduler", 10*time.Second, func() bool {
		return strings.Contains(c.daemon.logText(), "window post scheduler started")
	})
	c.node.SetDown(errors.New("node restarting"))
	waitFor(t, "a step failing on the node", 10*time.Second, func() bool {
		return regexp.MustCompile(`WARN\s+poster\s+window post.*node restarting`).MatchString(c.daemon.logText())
	})
	c.node.SetDown(nil)
	time.Sleep(300 * time.Millisecond) // a few polls of the restarted scheduler with the proof pending
	if n := len(posts()); n != 1 {
		t.Fatalf("%d SubmitWindowedPoSt after the restart, want the journaled one only", n)
	}
	hold.Store(false)

	proven := regexp.MustCompile(`deadline proven.*"deadline": ` + fmt.Sprint(dl) + `, .*"partitions": 1, .*"resent": 0`)
	waitFor(t, fmt.Sprintf("deadline %d proven by the restarted daemon", dl), 60*time.Second, func() bool {
		return proven.MatchString(c.daemon.logText())
	})
	all := posts()
	if len(all) != 1 || all[0].ExitCode != exitcode.Ok {
		t.Fatalf("SubmitWindowedPoSt messages = %+v, want one that ran", all)
	}
	waitFor(t, "the deadline closed", 30*time.Second, func() bool { return len(c.node.PoStEvents()) > 0 })
	if ev := c.node.PoStEvents()[0]; ev.Deadline != dl || len(ev.Proven) != 1 || len(ev.Missed) != 0 {
		t.Fatalf("deadline close = %+v", ev)
	}
}
