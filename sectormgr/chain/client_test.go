package chain

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/big"
	"github.com/filecoin-project/go-state-types/builtin/v16/miner"
	"github.com/filecoin-project/go-state-types/crypto"
	"github.com/google/uuid"
	"github.com/ipfs/go-cid"
)

var ctx = context.Background()

// TestClientMatchesFullNode: the go-jsonrpc client has one field per FullNode method, with the
// same name and signature, so a method added to one is added to the other.
func TestClientMatchesFullNode(t *testing.T) {
	iface := reflect.TypeOf((*FullNode)(nil)).Elem()
	fields := map[string]reflect.Type{}
	for _, f := range clientMethods() {
		fields[f.Name] = f.Type
	}
	if len(fields) != iface.NumMethod() {
		t.Fatalf("client has %d fields, FullNode %d methods", len(fields), iface.NumMethod())
	}
	for i := 0; i < iface.NumMethod(); i++ {
		m := iface.Method(i)
		ft, ok := fields[m.Name]
		if !ok {
			t.Fatalf("client has no field %s", m.Name)
		}
		if ft != m.Type {
			t.Fatalf("%s: client %s, FullNode %s", m.Name, ft, m.Type)
		}
	}
}

// fakeLotus is a raw JSON-RPC server: it records each request and answers with a canned
// result (the Lotus documentation's example) or error.
type fakeLotus struct {
	t      *testing.T
	mu     sync.Mutex
	method string
	params string
	auth   string
	answer string // a JSON result, or `error:<message>`
}

func (f *fakeLotus) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		f.t.Error(err)
		return
	}
	var req struct {
		ID     json.RawMessage
		Method string
		Params json.RawMessage
	}
	if err := json.Unmarshal(body, &req); err != nil {
		f.t.Errorf("request %s: %v", body, err)
		return
	}
	f.mu.Lock()
	f.method, f.params, f.auth = req.Method, string(req.Params), r.Header.Get("Authorization")
	answer := f.answer
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if msg, ok := strings.CutPrefix(answer, "error:"); ok {
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"error":{"code":1,"message":%q}}`, req.ID, msg)
		return
	}
	fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":%s}`, req.ID, answer)
}

// lotus serves a fakeLotus on 127.0.0.1 and dials it with token "tok".
func lotus(t *testing.T) (*fakeLotus, *Node) {
	t.Helper()
	f := &fakeLotus{t: t}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	n, err := Dial(ctx, srv.URL+"/rpc/v1", "tok")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	return f, n
}

func (f *fakeLotus) answers(result string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answer = result
}

// sent checks the last request: its method, its params exactly, and the token.
func (f *fakeLotus) sent(method, params string) {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.method != "Filecoin."+method || f.params != params || f.auth != "Bearer tok" {
		f.t.Fatalf("request %s %s (Authorization %q)\nwant Filecoin.%s %s", f.method, f.params, f.auth, method, params)
	}
}

// The Lotus documentation's example values.
const (
	docCid1 = "bafy2bzacea3wsdh6y3a36tb3skempjoxqpuyompjbmfeyf34fi3uy6uue42v4"
	docCid2 = "bafy2bzacebp3shtrn43k7g3unredz7fxn4gj533d3o43tqn2p2ipxxhrvchve"
	docTSK  = `[{"/":"` + docCid1 + `"},{"/":"` + docCid2 + `"}]`
)

func docKey(t *testing.T) TipSetKey {
	return TipSetKey{cid.MustParse(docCid1), cid.MustParse(docCid2)}
}

var f01234, _ = address.NewIDAddress(1234)

func TestChainHeadJSON(t *testing.T) {
	f, n := lotus(t)
	f.answers(`{"Cids":[{"/":"bafy2bzacedo7hjsumaajt6sbor42qycvjyk6goqe4oi4o4ddsjxkdeqrqf42c"}],"Blocks":[{"Miner":"f01938223",
		"Ticket":{"VRFProof":"rIPyBy+F827Szc5oN/6ylCmpzxfAWr7aI5F4YJrN4pLSyknkcJI3ivsCo2KKjQVZFRnFyEus1maD5LdzQpnFRKMla4138qEuML+Ne/fsgOMrUEAeL34ceVwJd+Mt4Jrz"},
		"ElectionProof":{"WinCount":1,"VRFProof":"sN51JqjZNf+xWxwoo+wlMH1bpXI9T3wUIrla6FpwTxU4jC1z+ab5NFU/B2ZdDITTE+u8qaiibtLkld5lhNcOEOUqwKNyJ4nwFo5vAhWqvOTNdOiZmxsKpWG0NZUoXb/+"},
		"BeaconEntries":[{"Round":17133822,"Data":"tH4q8euIaP9/QRJt8ALfkBvttSmQ/DOAt8+37wGGV5f8kkhzEFrHhskitNnPS70j"},{"Round":17133832,"Data":"uQD5cEn8U69+sPjpccT8Bm0jVrnXLScf2jBkLJNHvAHLA6tPsZDREzpBIckpVvPy"}],
		"WinPoStProof":[{"PoStProof":3,"ProofBytes":"qOPLMhMui8qm/rE2y/UceyBDv5JvRCH5Fc5Ul+kuN190XDcMme5eKURUCmE2sN1HoQ2dMZX+xNZY351dbG93H/tUr6wuNhkvmemi2Xi62YvqU36/kJh+K2YBiW7h/4LXCUTP/6XAOONOPl+j9GqS7RQxruPLfIyehvzVC0C8dB8+SVWtAnRKRPUUOPJvyHKejlrCyzWXOz/I7JG2/qEGLD0xwazBVwML1vVvuE5NzXeOoQGlnB2PwSRb5Cn8FH8Q"}],
		"Parents":[{"/":"bafy2bzaceba2kdmysmi5ieugzvv5np7f2lobayzpvtk777du74n7jq6xhynda"},{"/":"bafy2bzacecrye24tkqrvvddcf62gfi4z4o33z2tdedbpaalordozaxfrz2jyi"},{"/":"bafy2bzaceab5mrohjvnp3mz7mo33ky7qqlmssrs7veqmjrgouafxyhnd5dy66"}],
		"ParentWeight":"116013147118","Height":4863283,
		"ParentStateRoot":{"/":"bafy2bzaceajxzsvzuq3ddzxfrs2jlaxsooqmgdy5uxbqujnjy3y56iumzzy7u"},
		"ParentMessageReceipts":{"/":"bafy2bzacecfcx2ykqucyv3gkyrcy3upwrvdraz3ktfg7phkqysefdwsggglac"},
		"Messages":{"/":"bafy2bzacebzofmh6migvc4v6qsme6vuxlhi6pv2ocy4apyic3uihjqm7dum3u"},
		"BLSAggregate":{"Type":2,"Data":"krFATGA0OBu/kFwtXsThVtKCkppnU7045uTURCeiOeJttxuXfx3wqJrLkCytnJFWFLVC+tiVWI4BxC3wqc9r6eAlNr9dEBx+3KwML/RFG/b5grmknLpGWn7g1EB/2T4y"},
		"Timestamp":1744204890,
		"BlockSig":{"Type":2,"Data":"pWiUr+M8xxTxLED7GuU586gSfZCaHyLbLj0uS0HhKYRtHuyG47fIrfIT/04OCmQvEXBD8pFraWbMc3tnFrSsM1mIBJ5M38UPUfXDSspo+QGdouo2kll2X+VNKY3ajb1K"},
		"ForkSignaling":0,"ParentBaseFee":"20592036"}],"Height":4863283}`)
	ts, err := n.ChainHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.sent("ChainHead", `[]`)
	b := ts.Blocks[0]
	if ts.Height != 4863283 || ts.Cids[0].String() != "bafy2bzacedo7hjsumaajt6sbor42qycvjyk6goqe4oi4o4ddsjxkdeqrqf42c" ||
		b.Miner.String() != "f01938223" || len(b.Ticket.VRFProof) != 96 || b.ElectionProof.WinCount != 1 ||
		len(b.BeaconEntries) != 2 || b.BeaconEntries[1].Round != 17133832 || b.WinPoStProof[0].PoStProof != 3 ||
		len(b.Parents) != 3 || b.Parents[2].String() != "bafy2bzaceab5mrohjvnp3mz7mo33ky7qqlmssrs7veqmjrgouafxyhnd5dy66" ||
		b.ParentWeight.String() != "116013147118" || b.Height != 4863283 ||
		b.Messages.String() != "bafy2bzacebzofmh6migvc4v6qsme6vuxlhi6pv2ocy4apyic3uihjqm7dum3u" ||
		b.BLSAggregate.Type != crypto.SigTypeBLS || b.Timestamp != 1744204890 || b.BlockSig.Type != crypto.SigTypeBLS ||
		b.ParentBaseFee.String() != "20592036" || len(ts.Key()) != 1 {
		t.Fatalf("tipset %+v", ts)
	}
}

func TestStateGetNetworkParamsJSON(t *testing.T) {
	f, n := lotus(t)
	f.answers(`{"NetworkName":"lotus","BlockDelaySecs":42,"ConsensusMinerMinPower":"0","PreCommitChallengeDelay":10101,
		"ForkUpgradeParams":{"UpgradeSmokeHeight":10101,"UpgradeTockHeight":10101,"UpgradeXxHeight":10101},"Eip155ChainID":123,"GenesisTimestamp":42}`)
	p, err := n.StateGetNetworkParams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.sent("StateGetNetworkParams", `[]`)
	if p.NetworkName != "lotus" || p.BlockDelaySecs != 42 || !p.ConsensusMinerMinPower.IsZero() || p.PreCommitChallengeDelay != 10101 ||
		p.Eip155ChainID != 123 || p.GenesisTimestamp != 42 ||
		string(p.ForkUpgradeParams) != `{"UpgradeSmokeHeight":10101,"UpgradeTockHeight":10101,"UpgradeXxHeight":10101}` {
		t.Fatalf("params %+v (%s)", p, p.ForkUpgradeParams)
	}
}

func TestStateNetworkVersionJSON(t *testing.T) {
	f, n := lotus(t)
	f.answers(`29`)
	v, err := n.StateNetworkVersion(ctx, docKey(t))
	if err != nil || v != 29 {
		t.Fatalf("version %d, %v", v, err)
	}
	f.sent("StateNetworkVersion", `[`+docTSK+`]`)
	if _, err := n.StateNetworkVersion(ctx, EmptyTSK); err != nil {
		t.Fatal(err)
	}
	f.sent("StateNetworkVersion", `[[]]`)
	if _, err := n.StateNetworkVersion(ctx, nil); err != nil {
		t.Fatal(err)
	}
	f.sent("StateNetworkVersion", `[[]]`)
}

func TestStateMinerInfoJSON(t *testing.T) {
	f, n := lotus(t)
	f.answers(`{"Owner":"f01234","Worker":"f01234","NewWorker":"f01234","ControlAddresses":["f01234"],"WorkerChangeEpoch":10101,
		"PeerId":"12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf","Multiaddrs":["Ynl0ZSBhcnJheQ=="],"WindowPoStProofType":8,
		"SectorSize":34359738368,"WindowPoStPartitionSectors":42,"ConsensusFaultElapsed":10101,"PendingOwnerAddress":"f01234",
		"Beneficiary":"f01234","BeneficiaryTerm":{"Quota":"0","UsedQuota":"0","Expiration":10101},
		"PendingBeneficiaryTerm":{"NewBeneficiary":"f01234","NewQuota":"0","NewExpiration":10101,"ApprovedByBeneficiary":true,"ApprovedByNominee":true}}`)
	mi, err := n.StateMinerInfo(ctx, f01234, EmptyTSK)
	if err != nil {
		t.Fatal(err)
	}
	f.sent("StateMinerInfo", `["f01234",[]]`)
	if mi.Owner != f01234 || mi.Worker != f01234 || mi.NewWorker != f01234 || len(mi.ControlAddresses) != 1 || mi.WorkerChangeEpoch != 10101 ||
		*mi.PeerId != "12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf" || string(mi.Multiaddrs[0]) != "byte array" ||
		mi.WindowPoStProofType != abi.RegisteredPoStProof_StackedDrgWindow32GiBV1 || mi.SectorSize != 32<<30 ||
		mi.WindowPoStPartitionSectors != 42 || mi.ConsensusFaultElapsed != 10101 || *mi.PendingOwnerAddress != f01234 ||
		mi.Beneficiary != f01234 || mi.BeneficiaryTerm.Expiration != 10101 || !mi.BeneficiaryTerm.Quota.IsZero() ||
		!mi.PendingBeneficiaryTerm.ApprovedByNominee || mi.PendingBeneficiaryTerm.NewExpiration != 10101 {
		t.Fatalf("miner info %+v", mi)
	}
}

func TestStateMinerProvingDeadlineJSON(t *testing.T) {
	f, n := lotus(t)
	f.answers(`{"CurrentEpoch":10101,"PeriodStart":10101,"Index":42,"Open":10101,"Close":10101,"Challenge":10101,"FaultCutoff":10101,
		"WPoStPeriodDeadlines":42,"WPoStProvingPeriod":10101,"WPoStChallengeWindow":10101,"WPoStChallengeLookback":10101,"FaultDeclarationCutoff":10101}`)
	di, err := n.StateMinerProvingDeadline(ctx, f01234, docKey(t))
	if err != nil {
		t.Fatal(err)
	}
	f.sent("StateMinerProvingDeadline", `["f01234",`+docTSK+`]`)
	if di.CurrentEpoch != 10101 || di.Index != 42 || di.Challenge != 10101 || di.WPoStPeriodDeadlines != 42 || di.FaultDeclarationCutoff != 10101 {
		t.Fatalf("deadline %+v", di)
	}
}

func TestStateMinerSectorAllocatedJSON(t *testing.T) {
	f, n := lotus(t)
	f.answers(`true`)
	ok, err := n.StateMinerSectorAllocated(ctx, f01234, 9, EmptyTSK)
	if err != nil || !ok {
		t.Fatalf("allocated %v, %v", ok, err)
	}
	f.sent("StateMinerSectorAllocated", `["f01234",9,[]]`)
}

func TestRandomnessJSON(t *testing.T) {
	f, n := lotus(t)
	f.answers(`"Bw=="`)
	r, err := n.StateGetRandomnessFromTickets(ctx, crypto.DomainSeparationTag_ElectionProofProduction, 10101, []byte("byte array"), docKey(t))
	if err != nil || !bytes.Equal(r, []byte{7}) {
		t.Fatalf("tickets %x, %v", r, err)
	}
	f.sent("StateGetRandomnessFromTickets", `[2,10101,"Ynl0ZSBhcnJheQ==",`+docTSK+`]`)
	r, err = n.StateGetRandomnessFromBeacon(ctx, crypto.DomainSeparationTag_ElectionProofProduction, 10101, []byte("byte array"), EmptyTSK)
	if err != nil || !bytes.Equal(r, []byte{7}) {
		t.Fatalf("beacon %x, %v", r, err)
	}
	f.sent("StateGetRandomnessFromBeacon", `[2,10101,"Ynl0ZSBhcnJheQ==",[]]`)
}

func TestStateSectorPreCommitInfoJSON(t *testing.T) {
	f, n := lotus(t)
	f.answers(`{"Info":{"SealProof":8,"SectorNumber":9,"SealedCID":{"/":"` + docCid1 + `"},"SealRandEpoch":10101,"DealIDs":[5432],
		"Expiration":10101,"UnsealedCid":{"/":"` + docCid1 + `"}},"PreCommitDeposit":"0","PreCommitEpoch":10101}`)
	pci, err := n.StateSectorPreCommitInfo(ctx, f01234, 9, docKey(t))
	if err != nil {
		t.Fatal(err)
	}
	f.sent("StateSectorPreCommitInfo", `["f01234",9,`+docTSK+`]`)
	if pci.Info.SealProof != abi.RegisteredSealProof_StackedDrg32GiBV1_1 || pci.Info.SectorNumber != 9 || pci.Info.SealedCID.String() != docCid1 ||
		pci.Info.SealRandEpoch != 10101 || pci.Info.DealIDs[0] != 5432 || pci.Info.UnsealedCid.String() != docCid1 ||
		!pci.PreCommitDeposit.IsZero() || pci.PreCommitEpoch != 10101 {
		t.Fatalf("pre-commit %+v", pci)
	}
	f.answers(`null`)
	if pci, err := n.StateSectorPreCommitInfo(ctx, f01234, 9, EmptyTSK); pci != nil || err != nil {
		t.Fatalf("no pre-commit: %+v, %v", pci, err)
	}
}

func TestStateSectorGetInfoJSON(t *testing.T) {
	f, n := lotus(t)
	f.answers(`{"SectorNumber":9,"SealProof":8,"SealedCID":{"/":"` + docCid1 + `"},"Activation":10101,"Expiration":10101,"DealWeight":"0",
		"VerifiedDealWeight":"0","InitialPledge":"0","ExpectedDayReward":"0","ExpectedStoragePledge":"0","PowerBaseEpoch":10101,
		"ReplacedDayReward":"0","SectorKeyCID":{"/":"` + docCid1 + `"},"Flags":0,"DailyFee":"0"}`)
	si, err := n.StateSectorGetInfo(ctx, f01234, 9, EmptyTSK)
	if err != nil {
		t.Fatal(err)
	}
	f.sent("StateSectorGetInfo", `["f01234",9,[]]`)
	if si.SectorNumber != 9 || si.SealProof != 8 || si.SealedCID.String() != docCid1 || si.Activation != 10101 || si.Expiration != 10101 ||
		!si.InitialPledge.IsZero() || si.PowerBaseEpoch != 10101 || si.SectorKeyCID.String() != docCid1 || !si.DailyFee.IsZero() {
		t.Fatalf("sector %+v", si)
	}
	f.answers(`null`)
	if si, err := n.StateSectorGetInfo(ctx, f01234, 9, EmptyTSK); si != nil || err != nil {
		t.Fatalf("no sector: %+v, %v", si, err)
	}
}

func TestDepositAndPledgeJSON(t *testing.T) {
	f, n := lotus(t)
	unsealed := cid.MustParse(docCid1)
	pci := miner.SectorPreCommitInfo{SealProof: 8, SectorNumber: 9, SealedCID: cid.MustParse(docCid1), SealRandEpoch: 10101,
		DealIDs: []abi.DealID{5432}, Expiration: 10101, UnsealedCid: &unsealed}
	wantParams := `["f01234",{"SealProof":8,"SectorNumber":9,"SealedCID":{"/":"` + docCid1 + `"},"SealRandEpoch":10101,"DealIDs":[5432],` +
		`"Expiration":10101,"UnsealedCid":{"/":"` + docCid1 + `"}},` + docTSK + `]`
	f.answers(`"0"`)
	d, err := n.StateMinerPreCommitDepositForPower(ctx, f01234, pci, docKey(t))
	if err != nil || !d.IsZero() {
		t.Fatalf("deposit %s, %v", d, err)
	}
	f.sent("StateMinerPreCommitDepositForPower", wantParams)
	f.answers(`"123456789012345678901"`)
	p, err := n.StateMinerInitialPledgeCollateral(ctx, f01234, pci, docKey(t))
	if err != nil || p.String() != "123456789012345678901" {
		t.Fatalf("pledge %s, %v", p, err)
	}
	f.sent("StateMinerInitialPledgeCollateral", wantParams)
}

// docMessage is the message of the documentation's MpoolPushMessage example.
func docMessage() *Message {
	return &Message{Version: 42, To: f01234, From: f01234, Nonce: 42, Value: big.Zero(), GasLimit: 9,
		GasFeeCap: big.Zero(), GasPremium: big.Zero(), Method: 1, Params: []byte("byte array")}
}

func TestMpoolPushMessageJSON(t *testing.T) {
	f, n := lotus(t)
	docMsg := `{"Version":42,"To":"f01234","From":"f01234","Nonce":42,"Value":"0","GasLimit":9,"GasFeeCap":"0","GasPremium":"0",` +
		`"Method":1,"Params":"Ynl0ZSBhcnJheQ==","CID":{"/":"bafy2bzacebbpdegvr3i4cosewthysg5xkxpqfn2wfcz6mv2hmoktwbdxkax4s"}}`
	f.answers(`{"Message":` + docMsg + `,"Signature":{"Type":2,"Data":"Ynl0ZSBhcnJheQ=="},"CID":{"/":"bafy2bzacebbpdegvr3i4cosewthysg5xkxpqfn2wfcz6mv2hmoktwbdxkax4s"}}`)
	spec := &MessageSendSpec{MaxFee: big.Zero(), MsgUuid: uuid.MustParse("07070707-0707-0707-0707-070707070707"), MaximizeFeeCap: true}
	sm, err := n.MpoolPushMessage(ctx, docMessage(), spec)
	if err != nil {
		t.Fatal(err)
	}
	// The CID the client computes is the one Lotus wrote in its documentation.
	f.sent("MpoolPushMessage", `[`+docMsg+`,{"MaxFee":"0","MsgUuid":"07070707-0707-0707-0707-070707070707","MaximizeFeeCap":true}]`)
	c, err := sm.Cid()
	if err != nil || c.String() != "bafy2bzacebbpdegvr3i4cosewthysg5xkxpqfn2wfcz6mv2hmoktwbdxkax4s" || sm.Message.Nonce != 42 ||
		sm.Signature.Type != crypto.SigTypeBLS || string(sm.Signature.Data) != "byte array" || string(sm.Message.Params) != "byte array" {
		t.Fatalf("signed message %+v (%s, %v)", sm, c, err)
	}
	if _, err := n.MpoolPushMessage(ctx, docMessage(), nil); err != nil {
		t.Fatal(err)
	}
	f.sent("MpoolPushMessage", `[`+docMsg+`,null]`)
}

const docLookup = `{"Message":{"/":"` + docCid1 + `"},"Receipt":{"ExitCode":0,"Return":"Ynl0ZSBhcnJheQ==","GasUsed":9,"EventsRoot":{"/":"` + docCid1 + `"}},` +
	`"ReturnDec":{},"TipSet":` + docTSK + `,"Height":10101}`

func checkDocLookup(t *testing.T, l *MsgLookup) {
	t.Helper()
	if l == nil || l.Message.String() != docCid1 || l.Receipt.ExitCode != 0 || string(l.Receipt.Return) != "byte array" || l.Receipt.GasUsed != 9 ||
		l.Receipt.EventsRoot.String() != docCid1 || len(l.TipSet) != 2 || l.TipSet[1].String() != docCid2 || l.Height != 10101 ||
		!reflect.DeepEqual(l.ReturnDec, map[string]any{}) {
		t.Fatalf("lookup %+v", l)
	}
}

func TestStateSearchMsgJSON(t *testing.T) {
	f, n := lotus(t)
	f.answers(docLookup)
	l, err := n.StateSearchMsg(ctx, docKey(t), cid.MustParse(docCid1), 10101, true)
	if err != nil {
		t.Fatal(err)
	}
	f.sent("StateSearchMsg", `[`+docTSK+`,{"/":"`+docCid1+`"},10101,true]`)
	checkDocLookup(t, l)
	f.answers(`null`)
	if l, err := n.StateSearchMsg(ctx, EmptyTSK, cid.MustParse(docCid1), -1, false); l != nil || err != nil {
		t.Fatalf("not found: %+v, %v", l, err)
	}
	f.sent("StateSearchMsg", `[[],{"/":"`+docCid1+`"},-1,false]`)
}

func TestStateWaitMsgJSON(t *testing.T) {
	f, n := lotus(t)
	f.answers(docLookup)
	l, err := n.StateWaitMsg(ctx, cid.MustParse(docCid1), 42, 10101, true)
	if err != nil {
		t.Fatal(err)
	}
	f.sent("StateWaitMsg", `[{"/":"`+docCid1+`"},42,10101,true]`)
	checkDocLookup(t, l)
}

func TestNodeDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + ln.Addr().String() + "/rpc/v1"
	ln.Close()
	n, err := Dial(ctx, endpoint, "")
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	_, err = n.ChainHead(ctx)
	var ne *NodeError
	if !errors.As(err, &ne) || !IsNodeError(err) || !ne.Temporary() || ne.Addr != endpoint || ne.Method != "Filecoin.ChainHead" ||
		!strings.HasPrefix(err.Error(), "full node "+endpoint+": Filecoin.ChainHead: ") {
		t.Fatalf("closed port: %v", err)
	}
}

func TestNodeAnswersError(t *testing.T) {
	f, n := lotus(t)
	f.answers("error:failed to load miner actor: actor not found")
	_, err := n.StateMinerInfo(ctx, f01234, EmptyTSK)
	var ne *NodeError
	if !errors.As(err, &ne) || ne.Method != "Filecoin.StateMinerInfo" || !strings.Contains(err.Error(), "failed to load miner actor: actor not found") {
		t.Fatalf("error answer: %v", err)
	}
	// A null where a value must be is an error too.
	f.answers(`null`)
	if _, err := n.ChainHead(ctx); !errors.As(err, &ne) || !strings.Contains(err.Error(), "Filecoin.ChainHead: the node answered null") {
		t.Fatalf("null head: %v", err)
	}
}

func TestHungNodeTimesOut(t *testing.T) {
	old := callTimeout
	callTimeout = 200 * time.Millisecond
	defer func() { callTimeout = old }()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	n, err := Dial(ctx, srv.URL+"/rpc/v1", "")
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	start := time.Now()
	_, err = n.ChainHead(ctx)
	if !IsNodeError(err) {
		t.Fatalf("hung node: %v", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Fatalf("the call took %s with a %s timeout", elapsed, callTimeout)
	}
}

// TestMessageCidLotusVector: the encoding of chain/types/message_test.go in Lotus.
func TestMessageCidLotusVector(t *testing.T) {
	power, _ := address.NewIDAddress(4)
	system, _ := address.NewIDAddress(0)
	m := Message{To: power, From: system, Nonce: 34, Value: big.Zero(), GasLimit: 123, GasFeeCap: big.NewInt(234), GasPremium: big.NewInt(234),
		Method: 6, Params: []byte("hai")}
	c, err := m.Cid()
	if err != nil || c.String() != "bafy2bzaced5rdpz57e64sc7mdwjn3blicglhpialnrph2dlbufhf6iha63dmc" {
		t.Fatalf("message CID %s, %v", c, err)
	}
	raw, err := json.Marshal(&m)
	wantMsg := `{"Version":0,"To":"f04","From":"f00","Nonce":34,"Value":"0","GasLimit":123,"GasFeeCap":"234","GasPremium":"234","Method":6,"Params":"aGFp","CID":{"/":"bafy2bzaced5rdpz57e64sc7mdwjn3blicglhpialnrph2dlbufhf6iha63dmc"}}`
	if err != nil || string(raw) != wantMsg {
		t.Fatalf("message JSON %s, %v", raw, err)
	}
	var back Message
	if err := json.Unmarshal(raw, &back); err != nil || !reflect.DeepEqual(back.Params, m.Params) || back.Nonce != 34 || back.To != power {
		t.Fatalf("decoded %+v, %v", back, err)
	}

	sm := &SignedMessage{Message: m, Signature: crypto.Signature{}}
	sc, err := sm.Cid()
	if err != nil || sc.String() != "bafy2bzacea5ainifngxj3rygaw2hppnyz2cw72x5pysqty2x6dxmjs5qg2uus" {
		t.Fatalf("signed message CID %s, %v", sc, err)
	}
	raw, err = json.Marshal(sm)
	if want := `{"Message":` + wantMsg + `,"Signature":{"Type":0,"Data":null},"CID":{"/":"bafy2bzacea5ainifngxj3rygaw2hppnyz2cw72x5pysqty2x6dxmjs5qg2uus"}}`; err != nil || string(raw) != want {
		t.Fatalf("signed message JSON %s, %v", raw, err)
	}
	// A BLS message is known by its unsigned CID.
	bls := &SignedMessage{Message: m, Signature: crypto.Signature{Type: crypto.SigTypeBLS, Data: []byte{1}}}
	if bc, _ := bls.Cid(); !bc.Equals(c) {
		t.Fatalf("BLS signed CID %s, message CID %s", bc, c)
	}
}
