package messager

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/big"
	"github.com/filecoin-project/go-state-types/exitcode"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
)

const testUUID = "d5e2c0a4-5a44-4a52-9d6b-0c86a5d8f4e1"

// signedAnswer is the node's answer to MpoolPushMessage: the message as the node filled it in
// (nonce, gas) with a secp256k1 signature.
const signedAnswer = `{"Message":{"Version":0,"To":"f01000","From":"f01001","Nonce":3,"Value":"42","GasLimit":21000,` +
	`"GasFeeCap":"5","GasPremium":"2","Method":28,"Params":"gYA="},"Signature":{"Type":1,"Data":"AQID"}}`

func dialNode(t *testing.T, s *rpcServer) *Mpool {
	t.Helper()
	node, err := chain.Dial(context.Background(), s.url, "secret")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(node.Close)
	return NewMpool(node)
}

func TestMpoolPushPassesTheIDAsMsgUuidAndReturnsTheSignedCID(t *testing.T) {
	s := newRPCServer(t, func(method string, params json.RawMessage) (string, bool) { return signedAnswer, false })
	m := dialNode(t, s)
	c, err := m.Push(context.Background(), testUUID, testMessage(t), SendSpec{MaxFee: big.NewInt(9000), GasOverEstimation: 1.2})
	if err != nil {
		t.Fatal(err)
	}
	var signed chain.SignedMessage
	if err := json.Unmarshal([]byte(signedAnswer), &signed); err != nil {
		t.Fatal(err)
	}
	want, _ := signed.Cid()
	unsigned, _ := signed.Message.Cid()
	if !c.Equals(want) || c.Equals(unsigned) {
		t.Fatalf("cid = %s, want the signed message's %s (unsigned %s)", c, want, unsigned)
	}
	if c.String() != "bafy2bzaceazsmmmv2zqtrix4pt4iuzlzqieb6ej57hewzosll364k6k6dobb6" {
		t.Fatalf("cid = %s", c)
	}
	wantReq := `Filecoin.MpoolPushMessage [{"Version":0,"To":"f01000","From":"f01001","Nonce":0,"Value":"42","GasLimit":0,"GasFeeCap":"5",` +
		`"GasPremium":"0","Method":28,"Params":"gYA=","CID":{"/":"bafy2bzaceafhsdjwgt6e3dhpgvcvxnfngonr6nynkz2i4pthwlxfvb6ga2h5o"}},` +
		`{"MaxFee":"9000","MsgUuid":"` + testUUID + `","MaximizeFeeCap":false}]`
	if got := s.requests(); len(got) != 1 || got[0] != wantReq {
		t.Fatalf("requests:\n%v\nwant:\n%s", got, wantReq)
	}
	if s.auth[0] != "Bearer secret" {
		t.Fatalf("Authorization = %q", s.auth[0])
	}
}

func TestMpoolNewIDIsAFreshUUID(t *testing.T) {
	m := NewMpool(nil)
	a, _ := m.NewID(context.Background(), testMessage(t))
	b, _ := m.NewID(context.Background(), testMessage(t))
	if a == b || len(a) != 36 || strings.Count(a, "-") != 4 {
		t.Fatalf("ids %q, %q: want two different UUIDs", a, b)
	}
}

func TestMpoolStateSearchesWithReplacementsAndMeasuresConfidence(t *testing.T) {
	target, _ := cid.Parse("bafy2bzaceazsmmmv2zqtrix4pt4iuzlzqieb6ej57hewzosll364k6k6dobb6")
	var found atomic.Bool
	s := newRPCServer(t, func(method string, params json.RawMessage) (string, bool) {
		switch method {
		case "Filecoin.StateSearchMsg":
			if !found.Load() {
				return "null", false
			}
			return `{"Message":{"/":"` + target.String() + `"},"Receipt":{"ExitCode":7,"Return":"aGk=","GasUsed":10,"EventsRoot":null},` +
				`"ReturnDec":null,"TipSet":[],"Height":100}`, false
		case "Filecoin.ChainHead":
			return `{"Cids":[],"Blocks":[],"Height":112}`, false
		}
		return `{"code":-32601,"message":"method not found"}`, true
	})
	m := dialNode(t, s)
	st, err := m.State(context.Background(), target)
	if err != nil || st.Status != Pending || st.Receipt != nil {
		t.Fatalf("state = %+v, %v; want pending", st, err)
	}
	found.Store(true)
	st, err = m.State(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != OnChain || st.Height != 100 || st.Confidence != 12 || st.Receipt.ExitCode != exitcode.SysErrOutOfGas || string(st.Receipt.Return) != "hi" {
		t.Fatalf("state = %+v (receipt %+v)", st, st.Receipt)
	}
	want := []string{
		`Filecoin.StateSearchMsg [[],{"/":"` + target.String() + `"},-1,true]`,
		`Filecoin.StateSearchMsg [[],{"/":"` + target.String() + `"},-1,true]`,
		`Filecoin.ChainHead []`,
	}
	if got := s.requests(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestMpoolErrorsNameTheNodeAndMethod(t *testing.T) {
	s := newRPCServer(t, func(method string, params json.RawMessage) (string, bool) {
		return `{"code":1,"message":"mpool push: not enough funds including pending messages"}`, true
	})
	m := dialNode(t, s)
	_, err := m.Push(context.Background(), testUUID, testMessage(t), SendSpec{})
	want := "full node " + s.url + ": Filecoin.MpoolPushMessage: mpool push: not enough funds including pending messages"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
	if MayHaveSent(err) {
		t.Fatal("MayHaveSent = true for an error the node answered")
	}
	s.down()
	_, err = m.Push(context.Background(), testUUID, testMessage(t), SendSpec{})
	if err == nil || !strings.HasPrefix(err.Error(), "full node "+s.url+": Filecoin.MpoolPushMessage: ") || !MayHaveSent(err) {
		t.Fatalf("err = %v (may have sent %v), want a network error naming the node", err, MayHaveSent(err))
	}
}

// plainNode is an in-process node whose errors name nothing.
type plainNode struct{ err error }

func (n plainNode) ChainHead(ctx context.Context) (*chain.TipSet, error) { return nil, n.err }
func (n plainNode) MpoolPushMessage(ctx context.Context, msg *chain.Message, spec *chain.MessageSendSpec) (*chain.SignedMessage, error) {
	return nil, n.err
}
func (n plainNode) StateSearchMsg(ctx context.Context, from chain.TipSetKey, msg cid.Cid, limit abi.ChainEpoch, allowReplaced bool) (*chain.MsgLookup, error) {
	return nil, n.err
}

func TestMpoolNamesAnInProcessNode(t *testing.T) {
	m := NewMpool(plainNode{err: errors.New("node is down")})
	_, err := m.Push(context.Background(), testUUID, testMessage(t), SendSpec{})
	if err == nil || err.Error() != "full node in-process: Filecoin.MpoolPushMessage: node is down" || !MayHaveSent(err) {
		t.Fatalf("err = %v", err)
	}
	_, err = m.Push(context.Background(), "not-a-uuid", testMessage(t), SendSpec{})
	if err == nil || MayHaveSent(err) || !strings.HasPrefix(err.Error(), `message id "not-a-uuid" is not a UUID`) {
		t.Fatalf("err = %v, want a refusal of the id", err)
	}
}
