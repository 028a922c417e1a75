package command

import (
	"context"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/internal/fakeworker"
)

// The --json documents are pinned byte for byte: scripts depend on the field names.
func TestUtilWorkerListJSON(t *testing.T) {
	clk := &testClock{t: t0}
	addr, c := startUtilManager(t, clk)
	cliAt(t, t0)
	if out := mustUtil(t, addr, "worker", "list", "--json"); out != "{\n  \"workers\": []\n}\n" {
		t.Fatalf("empty registry:\n%s", out)
	}
	ping(t, c, api.WorkerInfo{Name: "w2", Dest: "10.0.0.2:17890", Summary: api.WorkerInfoSummary{Threads: 12, Empty: 10, Errors: 1}, Drained: true})
	clk.set(t0.Add(11 * time.Minute))
	ping(t, c, api.WorkerInfo{Name: "w1", Dest: "[fe80::1]:17890", Version: "v0.5.0",
		Summary: api.WorkerInfoSummary{Threads: 2, Running: 1, Waiting: 1, Paused: 1}})
	cliAt(t, t0.Add(12*time.Minute+1500*time.Millisecond))
	want := `{
  "workers": [
    {
      "name": "w1",
      "dest": "[fe80::1]:17890",
      "version": "v0.5.0",
      "threads": 2,
      "empty": 0,
      "paused": 1,
      "running": 1,
      "waiting": 1,
      "errors": 0,
      "last_ping": "` + t0.Add(11*time.Minute).UTC().Format(time.RFC3339) + `",
      "seconds_since_last_ping": 61.5,
      "expired": false,
      "drained": false
    },
    {
      "name": "w2",
      "dest": "10.0.0.2:17890",
      "version": "",
      "threads": 12,
      "empty": 10,
      "paused": 0,
      "running": 0,
      "waiting": 0,
      "errors": 1,
      "last_ping": "` + t0.UTC().Format(time.RFC3339) + `",
      "seconds_since_last_ping": 721.5,
      "expired": true,
      "drained": true
    }
  ]
}
`
	if out := mustUtil(t, addr, "worker", "list", "--json"); out != want {
		t.Fatalf("worker list --json:\n%s\nwant\n%s", out, want)
	}
}

func TestUtilSectorsListJSON(t *testing.T) {
	addr, c := startUtilManager(t, &testClock{t: t0})
	if out := mustUtil(t, addr, "sealer", "sectors", "list", "--json"); out != "{\n  \"sectors\": []\n}\n" {
		t.Fatalf("no sectors:\n%s", out)
	}
	allocateN(t, c, 2)
	reportState(t, c, 1, "PC1Done", "PC2Done", &api.SectorFailure{Level: "Temporary", Desc: "oom"})
	want := `{
  "sectors": [
    {
      "id": "s-t010000-1",
      "miner": 10000,
      "number": 1,
      "upgraded": false,
      "finalized": false,
      "removed": false,
      "latest_state": {
        "worker": "127.0.0.1",
        "location": "/store1",
        "prev": "PC1Done",
        "next": "PC2Done",
        "event": "None",
        "failure": "Temporary: oom"
      }
    },
    {
      "id": "s-t010000-2",
      "miner": 10000,
      "number": 2,
      "upgraded": false,
      "finalized": false,
      "removed": false,
      "latest_state": null
    }
  ]
}
`
	if out := mustUtil(t, addr, "sealer", "sectors", "list", "--json"); out != want {
		t.Fatalf("sectors list --json:\n%s\nwant\n%s", out, want)
	}
	// --orphans and --offline filter the document as they filter the list.
	if err := c.ReportFinalized(context.Background(), abi.SectorID{Miner: 10000, Number: 1}); err != nil {
		t.Fatal(err)
	}
	out := mustUtil(t, addr, "sealer", "sectors", "list", "--offline", "--json")
	if want := `"id": "s-t010000-1"`; !strings.Contains(out, want) || strings.Contains(out, "s-t010000-2") {
		t.Errorf("--offline --json:\n%s", out)
	}
}

// util worker info --json is the worker's own `worker list --json` document, through the manager.
func TestUtilWorkerInfoJSON(t *testing.T) {
	addr, c := startUtilManager(t, &testClock{t: t0})
	paused, lastErr := uint64(822), "permanent: oom"
	_, w := fakeworker.Start(t,
		api.WorkerThreadInfo{Index: 0, Location: "/s1", State: "Empty"},
		api.WorkerThreadInfo{Index: 1, Location: "/s2", SectorID: &abi.SectorID{Miner: 10000, Number: 12}, State: "PC1Done",
			Paused: true, PausedElapsed: &paused, LastError: &lastErr})
	_, empty := fakeworker.Start(t)
	ping(t, c, api.WorkerInfo{Name: "w1", Dest: w})
	ping(t, c, api.WorkerInfo{Name: "empty", Dest: empty})
	cliAt(t, fakeworker.StartedAt.Add(90*time.Second))
	want := `{
  "drained": false,
  "threads": [
    {
      "index": 0,
      "location": "/s1",
      "sector": null,
      "paused": false,
      "paused_seconds": null,
      "state": "Empty",
      "last_error": null,
      "state_entered_at": "2026-12-05T15:00:00Z",
      "seconds_in_state": 90,
      "step": null,
      "bytes_done": null,
      "bytes_total": null
    },
    {
      "index": 1,
      "location": "/s2",
      "sector": "s-t010000-12",
      "paused": true,
      "paused_seconds": 822,
      "state": "PC1Done",
      "last_error": "permanent: oom",
      "state_entered_at": "2026-12-05T15:00:00Z",
      "seconds_in_state": 90,
      "step": null,
      "bytes_done": null,
      "bytes_total": null
    }
  ]
}
`
	if out := mustUtil(t, addr, "worker", "info", "--json", "w1"); out != want {
		t.Fatalf("worker info --json:\n%s\nwant\n%s", out, want)
	}
	if out := mustUtil(t, addr, "worker", "info", "--json", "empty"); out != "{\n  \"drained\": false,\n  \"threads\": []\n}\n" {
		t.Fatalf("a worker without threads: %q", out)
	}
}

func TestUtilSectorsStateJSON(t *testing.T) {
	clk := &testClock{t: t0}
	addr, c := startUtilManager(t, clk)
	allocateN(t, c, 1)
	sid := abi.SectorID{Miner: 10000, Number: 1}
	clk.set(t0.Add(1500 * time.Millisecond))
	reportState(t, c, 1, "Empty", "Allocated", nil)
	ticket, err := c.AssignTicket(context.Background(), sid)
	if err != nil {
		t.Fatal(err)
	}
	clk.set(t0.Add(3 * time.Second))
	reportState(t, c, 1, "TicketAssigned", "TicketAssigned", &api.SectorFailure{Level: "Permanent", Desc: "pc1 failed"})
	if err := c.ReportAborted(context.Background(), sid, "too many failures"); err != nil {
		t.Fatal(err)
	}
	want := `{
  "id": "s-t010000-1",
  "miner": 10000,
  "number": 1,
  "upgraded": false,
  "finalized": true,
  "removed": false,
  "latest_state": {
    "worker": "127.0.0.1",
    "location": "/store1",
    "prev": "TicketAssigned",
    "next": "TicketAssigned",
    "event": "None",
    "failure": "Permanent: pc1 failed"
  },
  "abort_reason": "too many failures",
  "history": [
    {
      "time": "2023-11-14T22:13:21.500Z",
      "worker": "127.0.0.1",
      "location": "/store1",
      "prev": "Empty",
      "next": "Allocated",
      "event": "None",
      "failure": null
    },
    {
      "time": "2023-11-14T22:13:23.000Z",
      "worker": "127.0.0.1",
      "location": "/store1",
      "prev": "TicketAssigned",
      "next": "TicketAssigned",
      "event": "None",
      "failure": "Permanent: pc1 failed"
    }
  ],
  "deals": [],
  "ticket": {
    "epoch": ` + strconv.FormatInt(int64(ticket.Epoch), 10) + `,
    "value": "` + hex.EncodeToString(ticket.Ticket) + `"
  },
  "comm_d": null,
  "comm_r": null,
  "precommit_message": null,
  "seed": null,
  "proof": null,
  "prove_commit_message": null,
  "message_need_send": false,
  "upgrade_message": null,
  "upgrade_landed_epoch": null,
  "terminate_message": null
}
`
	if out := mustUtil(t, addr, "sealer", "sectors", "state", "--offline", "--json", "10000", "1"); out != want {
		t.Fatalf("sectors state --json:\n%s\nwant\n%s", out, want)
	}
}
