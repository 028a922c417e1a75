package messager

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-state-types/big"
	"github.com/filecoin-project/go-state-types/exitcode"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
	"golang.org/x/crypto/blake2b"

	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
)

func testMessage(t *testing.T) *chain.Message {
	t.Helper()
	to, _ := address.NewIDAddress(1000)
	from, _ := address.NewIDAddress(1001)
	return &chain.Message{To: to, From: from, Value: big.NewInt(42), Method: 28, Params: []byte{0x81, 0x80}, GasFeeCap: big.NewInt(5)}
}

func serialised(t *testing.T, msg *chain.Message) []byte {
	t.Helper()
	raw, err := msg.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func mustUID(t *testing.T, i int, raw []byte) string {
	t.Helper()
	c, err := UID(i, raw)
	if err != nil {
		t.Fatal(err)
	}
	return c.String()
}

func dialVenus(t *testing.T, s *rpcServer) *Venus {
	t.Helper()
	v, err := DialVenus(context.Background(), s.url, "secret")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v
}

func TestUIDIsRawBlake2b256CIDv1OfAttemptAndMessage(t *testing.T) {
	raw := []byte{0x8a, 0x00}
	got, err := UID(3, raw)
	if err != nil {
		t.Fatal(err)
	}
	digest := blake2b.Sum256(append([]byte{3}, raw...))
	mh, err := multihash.Encode(digest[:], multihash.BLAKE2B_MIN+31)
	if err != nil {
		t.Fatal(err)
	}
	if want := cid.NewCidV1(cid.Raw, mh); !got.Equals(want) {
		t.Fatalf("UID = %s, want %s", got, want)
	}
	if got.String() != "bafk2bzaceanc2auiifgbclcvhybqhwcrj5yqyz3qse3eoglrshvf2eaedcscc" {
		t.Fatalf("UID string = %s", got)
	}
}

func TestVenusNewIDTakesTheFirstFreeUID(t *testing.T) {
	msg := testMessage(t)
	raw := serialised(t, msg)
	taken := mustUID(t, 0, raw)
	s := newRPCServer(t, func(method string, params json.RawMessage) (string, bool) {
		if string(params) == `["`+taken+`"]` {
			return "true", false
		}
		return "false", false
	})
	v := dialVenus(t, s)
	id, err := v.NewID(context.Background(), msg)
	if err != nil {
		t.Fatal(err)
	}
	if want := mustUID(t, 1, raw); id != want {
		t.Fatalf("id = %s, want uid 1 %s", id, want)
	}
	want := []string{
		`Message.HasMessageByUid ["` + taken + `"]`,
		`Message.HasMessageByUid ["` + id + `"]`,
	}
	if got := s.requests(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if s.auth[0] != "Bearer secret" {
		t.Fatalf("Authorization = %q", s.auth[0])
	}
}

func TestVenusPushSendsOnlyWhenTheMessagerLacksTheID(t *testing.T) {
	msg := testMessage(t)
	id := mustUID(t, 0, serialised(t, msg))
	var has atomic.Bool
	s := newRPCServer(t, func(method string, params json.RawMessage) (string, bool) {
		switch method {
		case "Message.HasMessageByUid":
			if has.Load() {
				return "true", false
			}
			return "false", false
		case "Message.PushMessageWithId":
			has.Store(true)
			return `"` + id + `"`, false
		}
		return `{"code":-32601,"message":"method not found"}`, true
	})
	v := dialVenus(t, s)
	spec := SendSpec{MaxFee: big.NewInt(7000), GasOverEstimation: 1.25, GasOverPremium: 0.5}
	c, err := v.Push(context.Background(), id, msg, spec)
	if err != nil {
		t.Fatal(err)
	}
	if c.String() != id {
		t.Fatalf("cid = %s, want the uid %s", c, id)
	}
	again, err := v.Push(context.Background(), id, msg, spec)
	if err != nil || !again.Equals(c) {
		t.Fatalf("second push = %s, %v; want %s", again, err, c)
	}
	want := []string{
		`Message.HasMessageByUid ["` + id + `"]`,
		`Message.PushMessageWithId ["` + id + `",{"Version":0,"To":"f01000","From":"f01001","Nonce":0,"Value":"42","GasLimit":0,"GasFeeCap":"5","GasPremium":"0","Method":28,"Params":"gYA=","CID":{"/":"bafy2bzaceafhsdjwgt6e3dhpgvcvxnfngonr6nynkz2i4pthwlxfvb6ga2h5o"}},{"expireEpoch":0,"gasOverEstimation":1.25,"maxFee":"7000","gasOverPremium":0.5}]`,
		`Message.HasMessageByUid ["` + id + `"]`,
	}
	if got := s.requests(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestVenusPushRefusesAnotherID(t *testing.T) {
	msg := testMessage(t)
	id := mustUID(t, 0, serialised(t, msg))
	s := newRPCServer(t, func(method string, params json.RawMessage) (string, bool) {
		if method == "Message.HasMessageByUid" {
			return "false", false
		}
		return `"other"`, false
	})
	v := dialVenus(t, s)
	_, err := v.Push(context.Background(), id, msg, SendSpec{})
	want := "venus messager " + s.url + `: Message.PushMessageWithId: the messager answered id "other" for the message pushed as "` + id + `"`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
	if MayHaveSent(err) {
		t.Fatal("MayHaveSent = true for a refused push")
	}
}

func TestVenusErrorsNameTheMessagerAndMethod(t *testing.T) {
	msg := testMessage(t)
	id := mustUID(t, 0, serialised(t, msg))
	s := newRPCServer(t, func(method string, params json.RawMessage) (string, bool) {
		if method == "Message.HasMessageByUid" {
			return "false", false
		}
		return `{"code":1,"message":"address t01001 not found in wallet"}`, true
	})
	v := dialVenus(t, s)
	_, err := v.Push(context.Background(), id, msg, SendSpec{})
	want := "venus messager " + s.url + ": Message.PushMessageWithId: address t01001 not found in wallet"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
	if MayHaveSent(err) {
		t.Fatal("MayHaveSent = true for an error the messager answered")
	}

	s.down()
	_, err = v.Push(context.Background(), id, msg, SendSpec{})
	if err == nil || !strings.HasPrefix(err.Error(), "venus messager "+s.url+": Message.HasMessageByUid: ") {
		t.Fatalf("err = %v, want one naming the messager and HasMessageByUid", err)
	}
	if !MayHaveSent(err) {
		t.Fatal("MayHaveSent = false for a messager that did not answer")
	}
}

func TestVenusStateMapsMessageStates(t *testing.T) {
	const onChain = `{"ID":"x","UnsignedCid":{"/":"bafy2bzacea3wsdh6y3a36tb3skempjoxqpuyompjbmfeyf34fi3uy6uue42v4"},"SignedCid":null,` +
		`"Version":0,"To":"t01000","From":"t01001","Nonce":42,"Value":"0","GasLimit":9,"GasFeeCap":"0","GasPremium":"0","Method":28,"Params":null,` +
		`"Signature":{"Type":1,"Data":"AA=="},"Height":100,"Confidence":%CONF%,"Receipt":{"ExitCode":%EXIT%,"Return":"Ynl0ZSBhcnJheQ==","GasUsed":9},` +
		`"TipSetKey":[],"Meta":{"expireEpoch":0,"gasOverEstimation":1.2,"maxFee":"0","gasOverPremium":0},"WalletName":"w","FromUser":"u",` +
		`"State":%STATE%,"CreatedAt":"0001-01-01T00:00:00Z","UpdatedAt":"0001-01-01T00:00:00Z"}`
	cases := []struct {
		state, conf, exit string
		want              State
	}{
		{"3", "10", "0", State{Status: OnChain, Height: 100, Confidence: 10}},
		{"5", "4", "7", State{Status: OnChain, Height: 100, Confidence: 4}},
		{"4", "0", "0", State{Status: Failed}},
		{"1", "0", "0", State{Status: Pending}},
		{"2", "0", "0", State{Status: Pending}},
		{"0", "0", "0", State{Status: Pending}},
	}
	for _, tc := range cases {
		body := strings.NewReplacer("%STATE%", tc.state, "%CONF%", tc.conf, "%EXIT%", tc.exit).Replace(onChain)
		s := newRPCServer(t, func(method string, params json.RawMessage) (string, bool) { return body, false })
		v := dialVenus(t, s)
		uid, _ := cid.Parse("bafk2bzaceanc2auiifgbclcvhybqhwcrj5yqyz3qse3eoglrshvf2eaedcscc")
		st, err := v.State(context.Background(), uid)
		if err != nil {
			t.Fatal(err)
		}
		if st.Status != tc.want.Status || st.Height != tc.want.Height || st.Confidence != tc.want.Confidence {
			t.Errorf("state %s: got %+v, want %+v", tc.state, st, tc.want)
		}
		if st.Receipt == nil || st.Receipt.ExitCode.String() != exitcodeString(tc.exit) || string(st.Receipt.Return) != "byte array" {
			t.Errorf("state %s: receipt %+v", tc.state, st.Receipt)
		}
		if got := s.requests(); len(got) != 1 || got[0] != `Message.GetMessageByUid ["`+uid.String()+`"]` {
			t.Errorf("requests %v", got)
		}
	}
}

func exitcodeString(code string) string {
	if code == "7" {
		return exitcode.SysErrOutOfGas.String()
	}
	return exitcode.Ok.String()
}

func TestVenusPushRejectsAnIDThatIsNotACID(t *testing.T) {
	s := newRPCServer(t, func(string, json.RawMessage) (string, bool) { return "false", false })
	v := dialVenus(t, s)
	_, err := v.Push(context.Background(), "d5e2c0a4-5a44-4a52-9d6b-0c86a5d8f4e1", testMessage(t), SendSpec{})
	var refused *Refused
	if !errors.As(err, &refused) || MayHaveSent(err) {
		t.Fatalf("err = %v, want Refused", err)
	}
	if len(s.requests()) != 0 {
		t.Fatalf("requests %v, want none", s.requests())
	}
}
