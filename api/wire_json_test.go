package api_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/filecoin-project/go-commp-utils/v2/zerocomm"
	commcid "github.com/filecoin-project/go-fil-commcid"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/api"
)

// The literals below are the bytes the original Rust worker and Go manager put on the wire
// (spec/worker.md §7–8, spec/sector-manager.md §0.3, §3.2). A failure here means a worker or a
// manager of the original system can no longer talk to ours.

// compactJSON strips insignificant whitespace so literals can be written over several lines while
// the comparison stays byte-exact (key order included).
func compactJSON(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatalf("test literal is not JSON: %v\n%s", err, s)
	}
	return b.String()
}

// checkWire checks both directions: v marshals to exactly want, and want, as a peer sends it,
// decodes back to v.
func checkWire[T any](t *testing.T, v T, want string) {
	t.Helper()
	want = compactJSON(t, want)
	got, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %T: %v", v, err)
	}
	if string(got) != want {
		t.Errorf("marshal %T:\n got %s\nwant %s", v, got, want)
	}
	checkDecode(t, want, v)
}

// checkDecode checks that a literal a peer sends decodes to want.
func checkDecode[T any](t *testing.T, literal string, want T) {
	t.Helper()
	var got T
	if err := json.Unmarshal([]byte(literal), &got); err != nil {
		t.Fatalf("unmarshal %s into %T: %v", literal, got, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("unmarshal %s:\n got %#v\nwant %#v", literal, got, want)
	}
}

func ptr[T any](v T) *T { return &v }

// Fixed wire values, each written out literally next to the Go value that produces it.
const (
	// zero-piece commitment of a 2KiB piece: the CID every pledge piece of a 2KiB sector carries.
	zeroPieceCID2KiB = "baga6ea4seaqpy7usqklokfx2vxuynmupslkeutzexe2uqurdg5vhtebhxqmpqmy"
	// commcid.ReplicaCommitmentV1ToCID(commR) and DataCommitmentV1ToCID(commD) of the arrays below.
	sealedCID   = "bagboea4b5abcaaicamcakbqhbaequcymbuha6earcijrifiwc4mbsgq3dqor4hza"
	unsealedCID = "baga6ea4seaqmrsokzpgm3twp2di5fu6u2xlnpwgz3ln5zxo637qodyxd4ts6nzy"

	commRJSON = "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32]"
	commDJSON = "[200,201,202,203,204,205,206,207,208,209,210,211,212,213,214,215,216,217,218,219,220,221,222,223,224,225,226,227,228,229,230,231]"

	ticketB64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" // bytes 0..31
	seedB64   = "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=" // 32 × 0xab
	proofB64  = "3q2+7w=="                                     // de ad be ef: standard alphabet, padded
)

func testCommR() (c [32]byte) {
	for i := range c {
		c[i] = byte(i + 1)
	}
	return c
}

func testCommD() (c [32]byte) {
	for i := range c {
		c[i] = byte(200 + i)
	}
	return c
}

func testTicketBytes() abi.Randomness {
	b := make(abi.Randomness, 32)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func testSeedBytes() abi.Randomness {
	return bytes.Repeat([]byte{0xab}, 32)
}

func testProof() []byte { return []byte{0xde, 0xad, 0xbe, 0xef} }

func zeroPieceCID(t *testing.T) cid.Cid {
	t.Helper()
	c := zerocomm.ZeroPieceCommitment(abi.PaddedPieceSize(2048).Unpadded())
	if c.String() != zeroPieceCID2KiB {
		t.Fatalf("zero piece commitment of 2KiB is %s, want %s", c, zeroPieceCID2KiB)
	}
	return c
}

func commitmentCID(t *testing.T, toCID func([]byte) (cid.Cid, error), comm [32]byte, want string) cid.Cid {
	t.Helper()
	c, err := toCID(comm[:])
	if err != nil {
		t.Fatal(err)
	}
	if c.String() != want {
		t.Fatalf("commitment CID is %s, want %s", c, want)
	}
	return c
}

func sealedCIDOf(t *testing.T) cid.Cid {
	return commitmentCID(t, commcid.ReplicaCommitmentV1ToCID, testCommR(), sealedCID)
}

func unsealedCIDOf(t *testing.T) cid.Cid {
	return commitmentCID(t, commcid.DataCommitmentV1ToCID, testCommD(), unsealedCID)
}

func TestWireSectorID(t *testing.T) {
	checkWire(t, abi.SectorID{Miner: 10000, Number: 3}, `{"Miner":10000,"Number":3}`)
}

func TestWireAllocateSectorSpec(t *testing.T) {
	// The Rust worker sends null for "any miner" and "any proof type".
	checkWire(t, api.AllocateSectorSpec{}, `{"AllowedMiners":null,"AllowedProofTypes":null}`)
	checkWire(t, api.AllocateSectorSpec{
		AllowedMiners:     []abi.ActorID{10000, 10001},
		AllowedProofTypes: []abi.RegisteredSealProof{abi.RegisteredSealProof_StackedDrg2KiBV1_1, abi.RegisteredSealProof_StackedDrg32GiBV1_1},
	}, `{"AllowedMiners":[10000,10001],"AllowedProofTypes":[5,8]}`)
}

func TestWireAllocatedSector(t *testing.T) {
	checkWire(t, api.AllocatedSector{
		ID:        abi.SectorID{Miner: 10000, Number: 1},
		ProofType: abi.RegisteredSealProof_StackedDrg2KiBV1_1,
	}, `{"ID":{"Miner":10000,"Number":1},"ProofType":5}`)
	// AllocateSector answers null when no miner fits.
	checkWire(t, (*api.AllocatedSector)(nil), `null`)
}

func TestWireAcquireDealsSpec(t *testing.T) {
	checkWire(t, api.AcquireDealsSpec{}, `{"MaxDeals":null,"MinUsedSpace":null}`)
	checkWire(t, api.AcquireDealsSpec{MaxDeals: ptr(uint(3)), MinUsedSpace: ptr(uint64(1016))},
		`{"MaxDeals":3,"MinUsedSpace":1016}`)
}

func TestWirePieceAndDealInfo(t *testing.T) {
	piece := api.PieceInfo{Size: 2048, Cid: zeroPieceCID(t)}
	pieceJSON := `{"Size":2048,"Cid":{"/":"` + zeroPieceCID2KiB + `"}}`
	checkWire(t, piece, pieceJSON)

	pledge := api.DealInfo{ID: 0, PayloadSize: 2032, Piece: piece}
	pledgeJSON := `{"ID":0,"PayloadSize":2032,"Piece":` + pieceJSON + `,"Proposal":null,"IsCompatible":false}`
	checkWire(t, pledge, pledgeJSON)

	checkWire(t, api.Deals{pledge, {ID: 7, PayloadSize: 100, Piece: piece, IsCompatible: true}},
		`[`+pledgeJSON+`,{"ID":7,"PayloadSize":100,"Piece":`+pieceJSON+`,"Proposal":null,"IsCompatible":true}]`)
	// No deals for the sector: the manager sends null.
	checkWire(t, api.Deals(nil), `null`)
}

// A manager with real deals sends the market proposal too; the worker must decode it and keep it intact.
func TestWireDealInfoWithProposal(t *testing.T) {
	literal := compactJSON(t, `{"ID":7,"PayloadSize":1900,
		"Piece":{"Size":2048,"Cid":{"/":"`+unsealedCID+`"}},
		"Proposal":{"PieceCID":{"/":"`+unsealedCID+`"},"PieceSize":2048,"VerifiedDeal":true,
			"Client":"f01000","Provider":"f010000","Label":"deal-1","StartEpoch":100,"EndEpoch":200,
			"StoragePricePerEpoch":"10","ProviderCollateral":"0","ClientCollateral":"0"},
		"IsCompatible":true}`)
	var d api.DealInfo
	if err := json.Unmarshal([]byte(literal), &d); err != nil {
		t.Fatal(err)
	}
	p := d.Proposal
	if p == nil {
		t.Fatal("Proposal decoded as nil")
	}
	label, _ := p.Label.ToString()
	if !p.PieceCID.Equals(unsealedCIDOf(t)) || p.PieceSize != 2048 || !p.VerifiedDeal ||
		p.Client.String() != "f01000" || p.Provider.String() != "f010000" || label != "deal-1" ||
		p.StartEpoch != 100 || p.EndEpoch != 200 || p.StoragePricePerEpoch.String() != "10" {
		t.Errorf("proposal decoded wrong: %+v", p)
	}
	again, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != literal {
		t.Errorf("re-encoded deal differs:\n got %s\nwant %s", again, literal)
	}
}

func TestWireTicketAndSeed(t *testing.T) {
	checkWire(t, api.Ticket{Ticket: testTicketBytes(), Epoch: 1234}, `{"Ticket":"`+ticketB64+`","Epoch":1234}`)
	checkWire(t, api.Seed{Seed: testSeedBytes(), Epoch: 5678}, `{"Seed":"`+seedB64+`","Epoch":5678}`)
}

func TestWirePreCommitOnChainInfo(t *testing.T) {
	info := api.PreCommitOnChainInfo{
		CommR:  testCommR(),
		CommD:  testCommD(),
		Ticket: api.Ticket{Ticket: testTicketBytes(), Epoch: 1234},
		Deals:  []abi.DealID{},
	}
	// Commitments are arrays of 32 integers, never base64; a sector without deals sends [].
	checkWire(t, info, `{"CommR":`+commRJSON+`,"CommD":`+commDJSON+
		`,"Ticket":{"Ticket":"`+ticketB64+`","Epoch":1234},"Deals":[]}`)

	info.Deals = []abi.DealID{7, 9}
	checkWire(t, info, `{"CommR":`+commRJSON+`,"CommD":`+commDJSON+
		`,"Ticket":{"Ticket":"`+ticketB64+`","Epoch":1234},"Deals":[7,9]}`)
}

func TestWireProofOnChainInfo(t *testing.T) {
	checkWire(t, api.ProofOnChainInfo{Proof: testProof()}, `{"Proof":"`+proofB64+`"}`)
}

func TestWireSubmitResult(t *testing.T) {
	names := []string{"Unknown", "Accepted", "DuplicateSubmit", "MismatchedSubmission", "Rejected", "FilesMissed"}
	consts := []api.SubmitResult{api.SubmitUnknown, api.SubmitAccepted, api.SubmitDuplicateSubmit,
		api.SubmitMismatchedSubmission, api.SubmitRejected, api.SubmitFilesMissed}
	for i, r := range consts {
		checkWire(t, r, string(rune('0'+i)))
		if r.String() != names[i] {
			t.Errorf("SubmitResult(%d).String() = %q, want %q", i, r.String(), names[i])
		}
	}
	if got := api.SubmitResult(9).String(); got != "SubmitResult(9)" {
		t.Errorf("unknown SubmitResult renders %q", got)
	}
}

func TestWireOnChainState(t *testing.T) {
	names := []string{"Unknown", "Pending", "Packed", "Landed", "NotFound", "Failed", "PermFailed", "ShouldAbort"}
	consts := []api.OnChainState{api.OnChainUnknown, api.OnChainPending, api.OnChainPacked, api.OnChainLanded,
		api.OnChainNotFound, api.OnChainFailed, api.OnChainPermFailed, api.OnChainShouldAbort}
	for i, s := range consts {
		checkWire(t, s, string(rune('0'+i)))
		if s.String() != names[i] {
			t.Errorf("OnChainState(%d).String() = %q, want %q", i, s.String(), names[i])
		}
	}
	if got := api.OnChainState(8).String(); got != "OnChainState(8)" {
		t.Errorf("unknown OnChainState renders %q", got)
	}
}

func TestWireSubmitAndPollResponses(t *testing.T) {
	checkWire(t, api.SubmitPreCommitResp{Res: api.SubmitAccepted}, `{"Res":1,"Desc":null}`)
	checkWire(t, api.SubmitProofResp{Res: api.SubmitMismatchedSubmission, Desc: ptr("commR mismatch")},
		`{"Res":3,"Desc":"commR mismatch"}`)
	checkWire(t, api.SubmitSnapUpProofResp{Res: api.SubmitFilesMissed}, `{"Res":5,"Desc":null}`)
	checkWire(t, api.PollPreCommitStateResp{State: api.OnChainLanded}, `{"State":3,"Desc":null}`)
	checkWire(t, api.PollProofStateResp{State: api.OnChainFailed, Desc: ptr("out of gas")},
		`{"State":5,"Desc":"out of gas"}`)

	// A newer manager may send a result this version does not know: it decodes, and the worker
	// decides what to do with it.
	checkDecode(t, `{"Res":9,"Desc":null}`, api.SubmitPreCommitResp{Res: 9})
}

func TestWireWaitSeedResp(t *testing.T) {
	checkWire(t, api.WaitSeedResp{ShouldWait: true, Delay: 30}, `{"ShouldWait":true,"Delay":30,"Seed":null}`)
	checkWire(t, api.WaitSeedResp{Seed: &api.Seed{Seed: testSeedBytes(), Epoch: 5678}},
		`{"ShouldWait":false,"Delay":0,"Seed":{"Seed":"`+seedB64+`","Epoch":5678}}`)
}

func TestWireReportStateReq(t *testing.T) {
	req := api.ReportStateReq{
		Worker:      api.WorkerIdentifier{Instance: "127.0.0.1", Location: "/abs/mock-tmp/store1"},
		StateChange: api.SectorStateChange{Prev: "Empty", Next: "Allocated", Event: "None"},
	}
	const head = `{"Worker":{"Instance":"127.0.0.1","Location":"/abs/mock-tmp/store1"},` +
		`"StateChange":{"Prev":"Empty","Next":"Allocated","Event":"None"},`
	checkWire(t, req, head+`"Failure":null}`)

	req.Failure = &api.SectorFailure{Level: "Temporary", Desc: "rpc: connection refused"}
	checkWire(t, req, head+`"Failure":{"Level":"Temporary","Desc":"rpc: connection refused"}}`)
}

func TestWireWorkerInfo(t *testing.T) {
	info := api.WorkerInfo{
		Name:    "127.0.0.1",
		Dest:    "127.0.0.1:17890",
		Version: "v0.5.0-mock-git.abc123",
		Summary: api.WorkerInfoSummary{Threads: 9, Empty: 1, Paused: 2, Running: 3, Waiting: 1, Errors: 2},
	}
	const infoJSON = `{"Name":"127.0.0.1","Dest":"127.0.0.1:17890","Version":"v0.5.0-mock-git.abc123",` +
		`"Summary":{"Threads":9,"Empty":1,"Paused":2,"Running":3,"Waiting":1,"Errors":2}}`
	checkWire(t, info.Summary, `{"Threads":9,"Empty":1,"Paused":2,"Running":3,"Waiting":1,"Errors":2}`)
	checkWire(t, info, infoJSON)
	checkWire(t, api.WorkerPingInfo{Info: info, LastPing: 1700000000}, `{"Info":`+infoJSON+`,"LastPing":1700000000}`)
	checkWire(t, []api.WorkerPingInfo(nil), `null`)
	// A drained worker adds one member; one that is not sends the original's bytes (above).
	info.Drained = true
	checkWire(t, info, infoJSON[:len(infoJSON)-1]+`,"Drained":true}`)
}

// An original (venus-cluster) worker pings without Version, Running and Waiting.
func TestWireWorkerInfoFromOriginalWorker(t *testing.T) {
	checkDecode(t, `{"Name":"127.0.0.1","Dest":"127.0.0.1:17890","Summary":{"Threads":3,"Empty":0,"Paused":3,"Errors":3}}`,
		api.WorkerInfo{Name: "127.0.0.1", Dest: "127.0.0.1:17890", Summary: api.WorkerInfoSummary{Threads: 3, Paused: 3, Errors: 3}})
}

func TestWireSectorListingParams(t *testing.T) {
	checkWire(t, api.WorkerOnline, `"online"`)
	checkWire(t, api.WorkerOffline, `"offline"`)
	checkWire(t, api.SectorWorkerJobAll, `0`)
	checkWire(t, api.SectorWorkerJobSealing, `1`)
	checkWire(t, api.SectorWorkerJobSnapUp, `2`)
	checkWire(t, []*api.SectorState(nil), `null`)

	for _, ws := range []api.SectorWorkerState{"", "Online", "all"} {
		err := ws.Check()
		if code, _ := api.ErrorCode(err); code != api.ErrCodeInvalidParams || !strings.Contains(err.Error(), `"`+string(ws)+`"`) {
			t.Errorf("SectorWorkerState(%q).Check() = %v, want invalid params naming it", ws, err)
		}
	}
	if err := api.SectorWorkerJob(3).Check(); err == nil || !strings.Contains(err.Error(), "invalid sector job filter 3") {
		t.Errorf("job 3: %v", err)
	}
	up := &api.SectorState{Upgraded: true}
	sealing := &api.SectorState{}
	for _, c := range []struct {
		job         api.SectorWorkerJob
		up, sealing bool
	}{{api.SectorWorkerJobAll, true, true}, {api.SectorWorkerJobSealing, false, true}, {api.SectorWorkerJobSnapUp, true, false}} {
		if c.job.Matches(up) != c.up || c.job.Matches(sealing) != c.sealing {
			t.Errorf("job %d matches upgraded=%v sealing=%v", c.job, c.job.Matches(up), c.job.Matches(sealing))
		}
	}
}

func TestWireSectorHistoryEntry(t *testing.T) {
	at := time.Date(2026, 11, 25, 0, 55, 28, 123456789, time.UTC)
	entry := api.SectorHistoryEntry{
		Time:        at,
		Worker:      api.WorkerIdentifier{Instance: "127.0.0.1", Location: "/abs/store1"},
		StateChange: api.SectorStateChange{Prev: "Empty", Next: "Allocated", Event: "None"},
	}
	const head = `{"Time":"2026-11-25T00:55:28.123456789Z","Worker":{"Instance":"127.0.0.1","Location":"/abs/store1"},` +
		`"StateChange":{"Prev":"Empty","Next":"Allocated","Event":"None"},`
	checkWire(t, entry, head+`"Failure":null}`)
	entry.Failure = &api.SectorFailure{Level: "Temporary", Desc: "rpc: connection refused"}
	checkWire(t, []api.SectorHistoryEntry{entry}, `[`+head+`"Failure":{"Level":"Temporary","Desc":"rpc: connection refused"}}]`)
}

func TestWireStoreBasicInfo(t *testing.T) {
	checkWire(t, api.StoreBasicInfo{Name: "store1", Path: "/mnt/store1", Meta: map[string]string{}},
		`{"Name":"store1","Path":"/mnt/store1","Meta":{}}`)
	checkWire(t, api.StoreBasicInfo{Name: "store1", Path: "/mnt/store1"},
		`{"Name":"store1","Path":"/mnt/store1","Meta":null}`)
	checkWire(t, api.StoreBasicInfo{Name: "s", Path: "/p", Meta: map[string]string{"b": "2", "a": "1"}},
		`{"Name":"s","Path":"/p","Meta":{"a":"1","b":"2"}}`)
	checkWire(t, (*api.StoreBasicInfo)(nil), `null`)
}

func TestWireAllocateSnapUpSpec(t *testing.T) {
	checkWire(t, api.AllocateSnapUpSpec{},
		`{"Sector":{"AllowedMiners":null,"AllowedProofTypes":null},"Deals":{"MaxDeals":null,"MinUsedSpace":null}}`)
	checkWire(t, api.AllocateSnapUpSpec{
		Sector: api.AllocateSectorSpec{AllowedMiners: []abi.ActorID{10000}},
		Deals:  api.AcquireDealsSpec{MaxDeals: ptr(uint(1))},
	}, `{"Sector":{"AllowedMiners":[10000],"AllowedProofTypes":null},"Deals":{"MaxDeals":1,"MinUsedSpace":null}}`)
}

func TestWireAllocatedSnapUpSector(t *testing.T) {
	s := api.AllocatedSnapUpSector{
		Sector: api.AllocatedSector{ID: abi.SectorID{Miner: 10000, Number: 9}, ProofType: abi.RegisteredSealProof_StackedDrg2KiBV1_1},
		Pieces: api.Deals{{ID: 7, PayloadSize: 2032, Piece: api.PieceInfo{Size: 2048, Cid: zeroPieceCID(t)}}},
		Public: api.SectorPublicInfo{
			CommR:      testCommR(),
			SealedCID:  sealedCIDOf(t),
			Activation: 100,
			Expiration: 1000000,
		},
		Private: api.SectorPrivateInfo{AccessInstance: "store1"},
	}
	checkWire(t, s, `{
		"Sector":{"ID":{"Miner":10000,"Number":9},"ProofType":5},
		"Pieces":[{"ID":7,"PayloadSize":2032,"Piece":{"Size":2048,"Cid":{"/":"`+zeroPieceCID2KiB+`"}},"Proposal":null,"IsCompatible":false}],
		"Public":{"CommR":`+commRJSON+`,"SealedCID":{"/":"`+sealedCID+`"},"Activation":100,"Expiration":1000000},
		"Private":{"AccessInstance":"store1"}}`)
	checkWire(t, (*api.AllocatedSnapUpSector)(nil), `null`)
	// An undefined CID travels as null.
	checkWire(t, api.SectorPublicInfo{}, `{"CommR":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],"SealedCID":null,"Activation":0,"Expiration":0}`)
}

func TestWireSnapUpOnChainInfo(t *testing.T) {
	checkWire(t, api.SnapUpOnChainInfo{
		CommR:          testCommR(),
		CommD:          testCommD(),
		AccessInstance: "store1",
		Pieces:         []cid.Cid{zeroPieceCID(t)},
		Proof:          testProof(),
	}, `{"CommR":`+commRJSON+`,"CommD":`+commDJSON+`,"AccessInstance":"store1",`+
		`"Pieces":[{"/":"`+zeroPieceCID2KiB+`"}],"Proof":"`+proofB64+`"}`)
}

func TestWireWorkerThreadInfo(t *testing.T) {
	idle := api.WorkerThreadInfo{Location: "/abs/store1", Index: 0, State: "Empty"}
	const idleJSON = `{"location":"/abs/store1","sector_id":null,"index":0,"paused":false,` +
		`"paused_elapsed":null,"state":"Empty","last_error":null}`
	checkWire(t, idle, idleJSON)

	paused := api.WorkerThreadInfo{
		Location:      "/abs/store2",
		SectorID:      &abi.SectorID{Miner: 10000, Number: 3},
		Index:         1,
		Paused:        true,
		PausedElapsed: ptr(uint64(42)),
		State:         "PC1Done",
		LastError:     ptr("permanent: pc2 failed"),
	}
	const pausedJSON = `{"location":"/abs/store2","sector_id":{"Miner":10000,"Number":3},"index":1,"paused":true,` +
		`"paused_elapsed":42,"state":"PC1Done","last_error":"permanent: pc2 failed"}`
	checkWire(t, paused, pausedJSON)

	// WorkerList answers the threads in index order.
	checkWire(t, []api.WorkerThreadInfo{idle, paused}, `[`+idleJSON+`,`+pausedJSON+`]`)
}

// Peers of other versions add fields; decoding must ignore them rather than fail the call.
func TestWireUnknownFieldsIgnored(t *testing.T) {
	checkDecode(t, `{"ID":{"Miner":10000,"Number":1},"ProofType":5,"Extra":{"x":1}}`,
		api.AllocatedSector{ID: abi.SectorID{Miner: 10000, Number: 1}, ProofType: 5})
	checkDecode(t, `{"ShouldWait":true,"Delay":30,"Seed":null,"Later":true}`,
		api.WaitSeedResp{ShouldWait: true, Delay: 30})
}

func TestWireSectorStateMinimal(t *testing.T) {
	// What the manager stores right after AllocateSector: omitempty fields absent, the rest zero.
	checkWire(t, api.SectorState{
		ID:         abi.SectorID{Miner: 10000, Number: 1},
		SectorType: abi.RegisteredSealProof_StackedDrg2KiBV1_1,
	}, `{"ID":{"Miner":10000,"Number":1},"SectorType":5,"Deals":null,
		"MessageInfo":{"PreCommitCid":null,"CommitCid":null,"NeedSend":false},
		"TerminateInfo":{"TerminateCid":null,"TerminatedAt":0,"AddedHeight":0},
		"Finalized":false,"Removed":false,"AbortReason":"",
		"Upgraded":false,"UpgradePublic":null,"UpgradedInfo":null,"UpgradeMessageID":null,"UpgradeLandedEpoch":null,
		"Imported":false}`)
}

func TestWireSectorStateFull(t *testing.T) {
	piece := zeroPieceCID(t)
	sealed, unsealed := sealedCIDOf(t), unsealedCIDOf(t)
	ticket := &api.Ticket{Ticket: testTicketBytes(), Epoch: 1234}
	state := api.SectorState{
		ID:         abi.SectorID{Miner: 10000, Number: 3},
		SectorType: abi.RegisteredSealProof_StackedDrg2KiBV1_1,
		Ticket:     ticket,
		Seed:       &api.Seed{Seed: testSeedBytes(), Epoch: 5678},
		Pieces:     api.Deals{{ID: 0, PayloadSize: 2032, Piece: api.PieceInfo{Size: 2048, Cid: piece}}},
		Pre:        &api.PreCommitInfo{CommR: sealed, CommD: unsealed, Ticket: *ticket, Deals: []abi.DealID{7}},
		Proof:      &api.ProofInfo{Proof: testProof()},
		MessageInfo: api.MessageInfo{
			PreCommitCid: &sealed,
			CommitCid:    &unsealed,
			NeedSend:     true,
		},
		TerminateInfo: api.TerminateInfo{TerminateCid: &piece, TerminatedAt: 300, AddedHeight: 290},
		LatestState: &api.ReportStateReq{
			Worker:      api.WorkerIdentifier{Instance: "w1", Location: "/abs/store1"},
			StateChange: api.SectorStateChange{Prev: "C2Done", Next: "Finished", Event: "None"},
			Failure:     &api.SectorFailure{Level: "Permanent", Desc: "boom"},
		},
		Finalized:   true,
		Removed:     true,
		AbortReason: "aborted by user",
		Upgraded:    true,
		UpgradePublic: &api.SectorPublicInfo{
			CommR: testCommR(), SealedCID: sealed, Activation: 100, Expiration: 1000000,
		},
		UpgradedInfo: &api.SectorUpgradedInfo{
			AccessInstance: "store1", SealedCID: sealed, UnsealedCID: unsealed, Proof: testProof(),
		},
		UpgradeMessageID:   ptr("bafy-msg"),
		UpgradeLandedEpoch: ptr(abi.ChainEpoch(400)),
		Imported:           true,
	}
	checkWire(t, state, `{
		"ID":{"Miner":10000,"Number":3},"SectorType":5,
		"Ticket":{"Ticket":"`+ticketB64+`","Epoch":1234},
		"Seed":{"Seed":"`+seedB64+`","Epoch":5678},
		"Deals":[{"ID":0,"PayloadSize":2032,"Piece":{"Size":2048,"Cid":{"/":"`+zeroPieceCID2KiB+`"}},"Proposal":null,"IsCompatible":false}],
		"Pre":{"CommR":{"/":"`+sealedCID+`"},"CommD":{"/":"`+unsealedCID+`"},
			"Ticket":{"Ticket":"`+ticketB64+`","Epoch":1234},"Deals":[7]},
		"Proof":{"Proof":"`+proofB64+`"},
		"MessageInfo":{"PreCommitCid":{"/":"`+sealedCID+`"},"CommitCid":{"/":"`+unsealedCID+`"},"NeedSend":true},
		"TerminateInfo":{"TerminateCid":{"/":"`+zeroPieceCID2KiB+`"},"TerminatedAt":300,"AddedHeight":290},
		"LatestState":{"Worker":{"Instance":"w1","Location":"/abs/store1"},
			"StateChange":{"Prev":"C2Done","Next":"Finished","Event":"None"},
			"Failure":{"Level":"Permanent","Desc":"boom"}},
		"Finalized":true,"Removed":true,"AbortReason":"aborted by user",
		"Upgraded":true,
		"UpgradePublic":{"CommR":`+commRJSON+`,"SealedCID":{"/":"`+sealedCID+`"},"Activation":100,"Expiration":1000000},
		"UpgradedInfo":{"AccessInstance":"store1","SealedCID":{"/":"`+sealedCID+`"},
			"UnsealedCID":{"/":"`+unsealedCID+`"},"Proof":"`+proofB64+`"},
		"UpgradeMessageID":"bafy-msg","UpgradeLandedEpoch":400,
		"Imported":true}`)
}
