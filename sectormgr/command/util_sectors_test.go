package command

import (
	"bytes"
	"context"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/filecoin-project/go-state-types/abi"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/api"
)

func allocateN(t *testing.T, c *api.ManagerClient, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if s, err := c.AllocateSector(context.Background(), api.AllocateSectorSpec{}); err != nil || s == nil {
			t.Fatalf("AllocateSector = %+v, %v", s, err)
		}
	}
}

func reportState(t *testing.T, c *api.ManagerClient, num abi.SectorNumber, prev, next string, failure *api.SectorFailure) {
	t.Helper()
	req := api.ReportStateReq{
		Worker:      api.WorkerIdentifier{Instance: "127.0.0.1", Location: "/store1"},
		StateChange: api.SectorStateChange{Prev: prev, Next: next, Event: "None"},
		Failure:     failure,
	}
	if err := c.ReportState(context.Background(), abi.SectorID{Miner: 10000, Number: num}, req); err != nil {
		t.Fatal(err)
	}
}

func TestUtilSectorsList(t *testing.T) {
	addr, c := startUtilManager(t, &testClock{t: t0})
	allocateN(t, c, 11)
	reportState(t, c, 1, "Empty", "Allocated", nil)
	reportState(t, c, 2, "PC1Done", "PC2Done", &api.SectorFailure{Level: "Temporary", Desc: "oom"})
	reportState(t, c, 4, "ProofSubmitted", "Finished", nil)
	if err := c.ReportFinalized(context.Background(), abi.SectorID{Miner: 10000, Number: 4}); err != nil {
		t.Fatal(err)
	}
	mustUtil(t, addr, "sealer", "sectors", "abort", "10000", "3")

	online := "" +
		"Sectors:\n" +
		"s-t010000-1:\n\tWorker: 127.0.0.1 @ /store1\n\tState: Empty => Allocated @None\n\tFinalized: false, Removed: false\n\n" +
		"s-t010000-10:\nNULL\n" +
		"s-t010000-11:\nNULL\n" +
		"s-t010000-2:\n\tWorker: 127.0.0.1 @ /store1\n\tState: PC1Done => PC2Done @None\n\tFinalized: false, Removed: false\n\n" +
		"s-t010000-5:\nNULL\n" +
		"s-t010000-6:\nNULL\n" +
		"s-t010000-7:\nNULL\n" +
		"s-t010000-8:\nNULL\n" +
		"s-t010000-9:\nNULL\n" +
		"Count: 9\n"
	for _, args := range [][]string{{}, {"--sealing"}, {"--sealing=false"}, {"--miner", "10000"}, {"--miner", "t010000"}, {"--sealing", "--snapup"},
		// --sealing defaults to true, so --snapup alone lists both, as in the original.
		{"--snapup"}} {
		if out := mustUtil(t, addr, append([]string{"sealer", "sectors", "list"}, args...)...); out != online {
			t.Errorf("list %v:\n%s\nwant\n%s", args, out, online)
		}
	}
	offline := "" +
		"Sectors:\n" +
		"s-t010000-3:\nNULL\n" +
		"s-t010000-4:\n\tWorker: 127.0.0.1 @ /store1\n\tState: ProofSubmitted => Finished @None\n\tFinalized: true, Removed: false\n\n" +
		"Count: 2\n"
	if out := mustUtil(t, addr, "sealer", "sectors", "list", "--offline"); out != offline {
		t.Errorf("list --offline:\n%s\nwant\n%s", out, offline)
	}
	for _, args := range [][]string{{"--snapup", "--sealing=false"}, {"--miner", "1000"}} {
		if out := mustUtil(t, addr, append([]string{"sealer", "sectors", "list"}, args...)...); out != "Sectors:\nCount: 0\n" {
			t.Errorf("list %v:\n%s", args, out)
		}
	}
	wantError(t, util(t, addr, "sealer", "sectors", "list", "--miner", "t1abc"),
		`ERROR: --miner: invalid miner "t1abc": want an actor id such as 10000 or t010000`)
}

// --orphans lists the allocated sectors no worker ever called about: the ones a worker died
// holding before it saved its job. A reported state or a ticket makes a sector not an orphan.
func TestUtilSectorsListOrphans(t *testing.T) {
	addr, c := startUtilManager(t, &testClock{t: t0})
	allocateN(t, c, 4)
	reportState(t, c, 1, "Empty", "Allocated", nil)
	if _, err := c.AssignTicket(context.Background(), abi.SectorID{Miner: 10000, Number: 3}); err != nil {
		t.Fatal(err)
	}
	want := "Sectors:\ns-t010000-2:\nNULL\ns-t010000-4:\nNULL\nCount: 2\n"
	if out := mustUtil(t, addr, "sealer", "sectors", "list", "--orphans"); out != want {
		t.Errorf("list --orphans:\n%s\nwant\n%s", out, want)
	}
	mustUtil(t, addr, "sealer", "sectors", "abort", "10000", "2")
	if out := mustUtil(t, addr, "sealer", "sectors", "list", "--orphans", "--miner", "10000"); out != "Sectors:\ns-t010000-4:\nNULL\nCount: 1\n" {
		t.Errorf("list --orphans after aborting 2:\n%s", out)
	}
	wantError(t, util(t, addr, "sealer", "sectors", "list", "--orphans", "--offline"),
		"ERROR: --orphans lists online sectors only: drop --offline")
}

func TestRenderSectorListMarksUpgraded(t *testing.T) {
	var b bytes.Buffer
	renderSectorList(&b, []*api.SectorState{
		{ID: abi.SectorID{Miner: 10000, Number: 3}, Upgraded: true, Finalized: true,
			LatestState: &api.ReportStateReq{StateChange: api.SectorStateChange{Prev: "A", Next: "B", Event: "E"}, Worker: api.WorkerIdentifier{Instance: "w", Location: "/l"}}},
		{ID: abi.SectorID{Miner: 10000, Number: 4}, Upgraded: true},
	})
	want := "Sectors:\ns-t010000-3(up):\n\tWorker: w @ /l\n\tState: A => B @E\n\tFinalized: true, Removed: false\n\ns-t010000-4(up):\nNULL\nCount: 2\n"
	if b.String() != want {
		t.Fatalf("got\n%q\nwant\n%q", b.String(), want)
	}
}

func TestUtilSectorsStateWithHistory(t *testing.T) {
	clk := &testClock{t: t0}
	addr, c := startUtilManager(t, clk)
	ctx := context.Background()
	allocateN(t, c, 2)
	sid := abi.SectorID{Miner: 10000, Number: 2}

	fresh := "" +
		"Sector s-t010000-2: \n\nCommon:\n\tFinalized: false\n\tRemoved: false\n\tAborting: \n\t\tNULL\n" +
		"\nLatestState:\n\tState Change: NULL\n\tWorker: NULL\n\tFailure: NULL\n\tHistory: NULL\n" +
		"\nDeals:\n\tNULL\n" +
		"\nSealing:\n\tTicket: NULL\n\tPreCommit Info:\n\t\tNULL\n\tPreCommit Message: NULL\n\tSeed: NULL\n" +
		"\tProveCommit Info:\n\t\tNULL\n\tProveCommit Message: NULL\n\tMessage NeedSend: false\n" +
		"\nSnapUp:\n\tUpgraded: false\n" +
		"\nTermination:\n\tTerminate Message: NULL\n\n"
	if out := mustUtil(t, addr, "sealer", "sectors", "state", "10000", "2"); out != fresh {
		t.Fatalf("fresh sector:\n%s\nwant\n%s", out, fresh)
	}

	clk.set(t0.Add(1500 * time.Millisecond))
	reportState(t, c, 2, "Empty", "Allocated", nil)
	ticket, err := c.AssignTicket(ctx, sid)
	if err != nil {
		t.Fatal(err)
	}
	clk.set(t0.Add(3 * time.Second))
	reportState(t, c, 2, "TicketAssigned", "TicketAssigned", &api.SectorFailure{Level: "Permanent", Desc: "pc1 failed:\nout of memory"})
	clk.set(t0.Add(4 * time.Second))
	if err := c.ReportAborted(ctx, sid, "too many failures\nsee the worker log"); err != nil {
		t.Fatal(err)
	}

	want := "" +
		"Sector s-t010000-2: \n\nCommon:\n\tFinalized: true\n\tRemoved: false\n\tAborting: \n\t\ttoo many failures\n\t\tsee the worker log\n" +
		"\nLatestState:\n\tState Change: TicketAssigned => TicketAssigned, by None\n\tWorker: 127.0.0.1(/store1)\n" +
		"\tFailure: \n\t\t[Permanent] pc1 failed:\n\t\tout of memory\n" +
		"\tHistory:\n" +
		"\t\t2023-11-14T22:13:21.500Z Empty => Allocated, by None, on 127.0.0.1(/store1)\n" +
		"\t\t2023-11-14T22:13:23.000Z TicketAssigned => TicketAssigned, by None, on 127.0.0.1(/store1)\n" +
		"\t\t\tFailure: [Permanent] pc1 failed:\n\t\t\t\tout of memory\n" +
		"\nDeals:\n\tNULL\n" +
		"\nSealing:\n\tTicket: (" + strconv.FormatInt(int64(ticket.Epoch), 10) + ") " + hex.EncodeToString(ticket.Ticket) +
		"\n\tPreCommit Info:\n\t\tNULL\n\tPreCommit Message: NULL\n\tSeed: NULL\n" +
		"\tProveCommit Info:\n\t\tNULL\n\tProveCommit Message: NULL\n\tMessage NeedSend: false\n" +
		"\nSnapUp:\n\tUpgraded: false\n" +
		"\nTermination:\n\tTerminate Message: NULL\n\n"
	if out := mustUtil(t, addr, "sealer", "sectors", "state", "--offline", "10000", "2"); out != want {
		t.Fatalf("aborted sector:\n%s\nwant\n%s", out, want)
	}
	wantError(t, util(t, addr, "sealer", "sectors", "state", "10000", "2"),
		"ERROR: rpc FindSector: sector s-t010000-2 not found in the online store (a finalized or aborted sector is in the offline store: add --offline)")
	wantError(t, util(t, addr, "sealer", "sectors", "state", "--offline", "10000", "1"),
		"ERROR: rpc FindSector: sector s-t010000-1 not found in the offline store")
	wantError(t, util(t, addr, "sealer", "sectors", "state", "10000", "two"),
		`ERROR: invalid sector number "two": want a number such as 3`)
}

func TestRenderSectorStateSealedAndUpgraded(t *testing.T) {
	commR, _ := cid.Parse("bagboea4b5abcaaicamcakbqhbaequcymbuha6earcijrifiwc4mbsgq3dqor4hza")
	commD, _ := cid.Parse("baga6ea4seaqmrsokzpgm3twp2di5fu6u2xlnpwgz3ln5zxo637qodyxd4ts6nzy")
	msg, epoch := "msg-1", abi.ChainEpoch(1234)
	st := &api.SectorState{
		ID:          abi.SectorID{Miner: 10000, Number: 7},
		Pieces:      api.Deals{{ID: 0}, {ID: 42, Piece: api.PieceInfo{Size: 2048, Cid: commD}}},
		Pre:         &api.PreCommitInfo{CommR: commR, CommD: commD},
		Proof:       &api.ProofInfo{Proof: []byte{0xde, 0xad}},
		MessageInfo: api.MessageInfo{PreCommitCid: &commR, NeedSend: true},
		Upgraded:    true, UpgradedInfo: &api.SectorUpgradedInfo{SealedCID: commR, UnsealedCID: commD, Proof: []byte{1}},
		UpgradeMessageID: &msg, UpgradeLandedEpoch: &epoch,
		TerminateInfo: api.TerminateInfo{TerminateCid: &commD},
	}
	var b bytes.Buffer
	renderSectorState(&b, st, nil)
	for _, want := range []string{
		"\nDeals:\n\tID: 42\n\tPiece: {2048 " + commD.String() + "}\n\nSealing:\n",
		"\tPreCommit Info:\n\t\tCommD: " + commD.String() + "\n\t\tCommR: " + commR.String() + "\n\tPreCommit Message: " + commR.String() + "\n",
		"\tProveCommit Info:\n\t\tProof: dead\n\tProveCommit Message: NULL\n\tMessage NeedSend: true\n",
		"\nSnapUp:\n\tUpgraded: true\n\tUnsealedCID: " + commD.String() + "\n\tSealedCID: " + commR.String() + "\n\tProof: 01\n\tUpgrade Message: msg-1\n\tLanded Epoch: 1234\n",
		"\nTermination:\n\tTerminate Message: " + commD.String() + "\n\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q in\n%s", want, b.String())
		}
	}
}

func TestUtilSectorsAbortAndRestore(t *testing.T) {
	addr, c := startUtilManager(t, &testClock{t: t0})
	ctx := context.Background()
	allocateN(t, c, 2)
	one, two := abi.SectorID{Miner: 10000, Number: 1}, abi.SectorID{Miner: 10000, Number: 2}

	r := util(t, addr, "sealer", "sectors", "abort", "10000", "1")
	if r.code != 0 || !strings.Contains(r.stderr, "\tINFO\tcmd\tsector aborted\t{\"sector\": \"s-t010000-1\"}\n") {
		t.Fatalf("abort: %+v", r)
	}
	// The worker sealing it learns at its next call: 11001 means abort.
	if _, err := c.AssignTicket(ctx, one); !api.IsSectorStateNotFound(err) {
		t.Fatalf("worker call after abort: %v, want 11001", err)
	}
	st, err := c.FindSector(ctx, api.WorkerOffline, one)
	if err != nil || st.AbortReason != "aborted via CLI" || !st.Finalized {
		t.Fatalf("aborted = %+v, %v", st, err)
	}
	wantError(t, util(t, addr, "sealer", "sectors", "abort", "10000", "1"),
		"ERROR: sector s-t010000-1 is not online (finalized, aborted or never allocated): nothing to abort")

	r = util(t, addr, "sealer", "sectors", "restore", "10000", "1")
	if r.code != 0 || !strings.Contains(r.stderr, "sector restored") {
		t.Fatalf("restore: %+v", r)
	}
	if _, err := c.AssignTicket(ctx, one); err != nil {
		t.Fatalf("worker call after restore: %v", err)
	}
	wantError(t, util(t, addr, "sealer", "sectors", "restore", "10000", "1"),
		"ERROR: rpc RestoreSector: load state from offline: sector s-t010000-1 not found (only a finalized or aborted sector can be restored)")

	if err := c.ReportFinalized(ctx, two); err != nil {
		t.Fatal(err)
	}
	wantError(t, util(t, addr, "sealer", "sectors", "restore", "10000", "2"),
		"ERROR: rpc RestoreSector: sector is not aborted, can not be normally restored")
	mustUtil(t, addr, "sealer", "sectors", "restore", "--force", "10000", "2")
	if st, err := c.FindSector(ctx, api.WorkerOnline, two); err != nil || st.Finalized {
		t.Fatalf("forced restore = %+v, %v", st, err)
	}
}
