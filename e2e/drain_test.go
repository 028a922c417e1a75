package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// allocatedSectors counts every sector the manager has handed out, online or finished.
func allocatedSectors(t *testing.T, addr string) int {
	t.Helper()
	n := 0
	for _, args := range [][]string{{"sealer", "sectors", "list", "--json"}, {"sealer", "sectors", "list", "--json", "--offline"}} {
		r := util(t, addr, args...)
		var doc struct{ Sectors []json.RawMessage }
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &doc) != nil {
			t.Fatalf("util %v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
		n += len(doc.Sectors)
	}
	return n
}

func workerDrainedInList(t *testing.T, addr string) bool {
	var doc struct {
		Workers []struct {
			Name    string
			Drained bool
		}
	}
	r := util(t, addr, "worker", "list", "--json")
	if json.Unmarshal([]byte(r.stdout), &doc) != nil || len(doc.Workers) != 1 {
		t.Fatalf("worker list --json: %s%s", r.stdout, r.stderr)
	}
	return doc.Workers[0].Drained
}

// A drained worker, across real processes: its threads finish what they hold and take nothing
// new, the mark survives a SIGKILL of the worker, and the worker's own CLI undrains it.
func TestDrainAcrossProcessesAndRestart(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	startMock(t, addr, nil, []string{"--seed-delay", "1s"})
	w := newWorkerSetup(t, addr, 2)
	wp := startWorker(t, w)
	waitFor(t, "the worker's ping", 20*time.Second, func() bool {
		return strings.Contains(util(t, addr, "worker", "list").stdout, "e2e-worker")
	})

	if r := util(t, addr, "worker", "drain", "e2e-worker"); r.code != 0 || !strings.Contains(r.stderr, "drain call done, changed = true") {
		t.Fatalf("drain: exit %d\n%s", r.code, r.stderr)
	}
	waitFor(t, "the drain in the worker's ping", 20*time.Second, func() bool { return workerDrainedInList(t, addr) })
	c := adminClient(t, w)
	waitFor(t, "both threads to finish their sectors", 60*time.Second, func() bool {
		for _, th := range threads(t, c) {
			if th.State != "Empty" || th.SectorID != nil {
				return false
			}
		}
		return true
	})
	held := allocatedSectors(t, addr)
	if held > 2 {
		t.Errorf("%d sectors allocated to a worker of 2 threads drained at its first ping", held)
	}

	wp.kill()
	startWorker(t, w)
	waitFor(t, "the restarted worker's ping", 20*time.Second, func() bool {
		return strings.Contains(util(t, addr, "worker", "info", "e2e-worker").stdout, "drained: e2e-worker takes no new sector (util worker undrain e2e-worker)")
	})
	time.Sleep(2 * time.Second) // ten recover intervals
	if n := allocatedSectors(t, addr); n != held {
		t.Fatalf("the restarted drained worker took sectors: %d, was %d", n, held)
	}

	if r := w.cli(t, "undrain"); r.code != 0 || !strings.Contains(r.stderr, "worker undrain") || !strings.Contains(r.stderr, `"changed": true`) {
		t.Fatalf("venus-worker worker undrain: exit %d\n%s", r.code, r.stderr)
	}
	waitFor(t, "a new sector after the undrain", 30*time.Second, func() bool { return allocatedSectors(t, addr) > held })
	waitFor(t, "the undrain in the worker's ping", 20*time.Second, func() bool { return !workerDrainedInList(t, addr) })
}
