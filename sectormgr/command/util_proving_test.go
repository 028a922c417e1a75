package command

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/config"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/mock"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/persist"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/server"
)

// provingRig is a mock whose chain holds sectors 1 and 2 of miner 10000, active and assigned to
// deadline 10 (the chain's head, 2000, is in deadline 8 of the period that started at 1520), with
// their files in the persist store "store1".
type provingRig struct {
	addr  string
	store string
}

func startProvingRig(t *testing.T) provingRig {
	t.Helper()
	store := t.TempDir()
	m, err := mock.New(10000, 2<<10, mock.WithPersistStores([]config.PersistStoreConfig{{Name: "store1", Path: store}}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	ln, err := server.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- server.Serve(ctx, ln, server.New(m)) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	c, closer, err := api.NewManagerClient(ctx, "http://"+ln.Addr().String()+api.ManagerRPCPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closer()
	allocateN(t, c, 2)
	for _, n := range []abi.SectorNumber{1, 2} {
		sid := abi.SectorID{Miner: 10000, Number: n}
		writeSectorFiles(t, store, sid)
		if ok, err := c.SubmitPersisted(ctx, sid, "store1"); !ok || err != nil {
			t.Fatalf("SubmitPersisted(%d) = %v, %v", n, ok, err)
		}
	}
	if err := m.Chain().ActivateSectors(10000, 1, 2); err != nil {
		t.Fatal(err)
	}
	return provingRig{addr: ln.Addr().String(), store: store}
}

func writeSectorFiles(t *testing.T, store string, sid abi.SectorID) {
	t.Helper()
	sealed, cache := persist.SectorPaths(sid, false)
	names, err := persist.CacheFileNames(2 << 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{filepath.Dir(filepath.Join(store, sealed)), filepath.Join(store, cache)} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(store, sealed), make([]byte, 2<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(store, cache, n), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestUtilProvingInfo(t *testing.T) {
	r := startProvingRig(t)
	want := `Sealer: f010000
Current Epoch:           2000
Proving Period Boundary: 1520
Proving Period Start:    1520 (8 minutes ago)
Next Period Start:       4400 (in 40 minutes)

Faults:      0 (0.00%)
Recovering:  0
Deadline Index:       8
Deadline Sectors:     0
Deadline Open:        2000 (now)
Deadline Close:       2060 (in 1 minute)
Deadline Challenge:   1980 (20 seconds ago)
Deadline FaultCutoff: 1930 (1 minute 10 seconds ago)
`
	if out := mustUtil(t, r.addr, "sealer", "proving", "--miner", "10000", "info"); out != want {
		t.Errorf("info:\n%s\nwant:\n%s", out, want)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(mustUtil(t, r.addr, "sealer", "proving", "info", "--miner", "t010000", "--json")), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["proving_sectors"] != 2.0 || doc["faults"] != 0.0 || doc["deadline"].(map[string]any)["index"] != 8.0 {
		t.Errorf("info --json = %v", doc)
	}
}

func TestUtilProvingDeadlines(t *testing.T) {
	r := startProvingRig(t)
	out := mustUtil(t, r.addr, "sealer", "proving", "--miner", "10000", "deadlines")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 50 || lines[0] != "Sealer: f010000" || lines[1] != "deadline  open      partitions  sectors (faults)  proven partitions" {
		t.Fatalf("deadlines:\n%s", out)
	}
	for i, l := range lines[2:] {
		f := strings.Fields(l)
		want := []string{"0", "0", "(0)", "0"}
		switch i {
		case 8:
			want = []string{"0", "0", "(0)", "0", "(current)"}
		case 10:
			want = []string{"1", "2", "(0)", "0"}
		}
		if f[0] != strconv.Itoa(i) || len(f[1]) != 8 || strings.Join(f[2:], " ") != strings.Join(want, " ") {
			t.Errorf("deadline %d row %q, want partitions, sectors (faults), proven %v", i, l, want)
		}
	}

	var doc struct {
		Deadlines []struct {
			Index      uint64 `json:"index"`
			Partitions int    `json:"partitions"`
			Sectors    uint64 `json:"sectors"`
			Current    bool   `json:"current"`
		} `json:"deadlines"`
	}
	if err := json.Unmarshal([]byte(mustUtil(t, r.addr, "sealer", "proving", "deadlines", "--miner", "10000", "--json")), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Deadlines) != 48 || doc.Deadlines[10].Partitions != 1 || doc.Deadlines[10].Sectors != 2 || !doc.Deadlines[8].Current {
		t.Errorf("deadlines --json = %+v", doc)
	}
}

func TestUtilProvingDeadlineAndCheck(t *testing.T) {
	r := startProvingRig(t)
	out := mustUtil(t, r.addr, "sealer", "proving", "--miner", "10000", "deadline", "10")
	rest := out[strings.Index(out, "\nPartitions:"):]
	want := `
Partitions:               1
Proven Partitions:        0
Current:                  false

Partition Index:          0
Sectors:                  2
Sector Numbers:           [1 2]
Faults:                   0
Faulty Sectors:           []
`
	if !strings.HasPrefix(out, "Deadline Index:           10\nDeadline Open:            ") || rest != want {
		t.Errorf("deadline 10:\n%s", out)
	}

	want = "deadline  partition  sector  status\n10        0          1       good\n10        0          2       good\n"
	if out := mustUtil(t, r.addr, "sealer", "proving", "--miner", "10000", "check", "10"); out != want {
		t.Errorf("check with every file there:\n%s\nwant:\n%s", out, want)
	}
	sealed, _ := persist.SectorPaths(abi.SectorID{Miner: 10000, Number: 2}, false)
	if err := os.Remove(filepath.Join(r.store, sealed)); err != nil {
		t.Fatal(err)
	}
	out = mustUtil(t, r.addr, "sealer", "proving", "--miner", "10000", "check", "--only-bad", "10")
	if !strings.HasPrefix(out, "deadline  partition  sector  status\n10        0          2       bad (") ||
		!strings.Contains(out, filepath.Join(r.store, sealed)) || strings.Count(out, "\n") != 2 {
		t.Errorf("check --only-bad with sector 2's sealed file gone:\n%s", out)
	}
	var doc struct {
		Deadline uint64 `json:"deadline"`
		Sectors  []struct {
			Sector uint64 `json:"sector"`
			Good   bool   `json:"good"`
			Error  string `json:"error"`
		} `json:"sectors"`
	}
	if err := json.Unmarshal([]byte(mustUtil(t, r.addr, "sealer", "proving", "check", "--miner", "10000", "--json", "10")), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Deadline != 10 || len(doc.Sectors) != 2 || !doc.Sectors[0].Good || doc.Sectors[1].Good || doc.Sectors[1].Error == "" {
		t.Errorf("check --json = %+v", doc)
	}
}

func TestUtilProvingErrors(t *testing.T) {
	r := startProvingRig(t)
	wantError(t, util(t, r.addr, "sealer", "proving", "info"), "ERROR: --miner is not set: give the miner whose deadlines to show, e.g. --miner 10000")
	wantError(t, util(t, r.addr, "sealer", "proving", "--miner", "f1abc", "info"), `ERROR: --miner: invalid miner "f1abc": want an actor id such as 10000 or t010000`)
	wantError(t, util(t, r.addr, "sealer", "proving", "--miner", "10000", "deadline", "48"), `ERROR: invalid deadline index "48": want a number from 0 to 47`)
	wantError(t, util(t, r.addr, "sealer", "proving", "--miner", "10000", "check"), "ERROR: want one argument, the deadline index (0 to 47), got 0")
}
