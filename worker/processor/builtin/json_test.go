package builtin

import (
	"encoding/json"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/worker/processor"
)

// roundTrip marshals v, checks the top-level keys are exactly keys, decodes it back into a new
// value of the same type and checks nothing was lost. It returns the JSON.
func roundTrip[T any](t *testing.T, v T, keys ...string) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %T: %v", v, err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var got []string
	for k := range m {
		got = append(got, k)
	}
	sort.Strings(got)
	sort.Strings(keys)
	if !reflect.DeepEqual(got, keys) {
		t.Fatalf("%T has keys %v, spec §9.1 names %v", v, got, keys)
	}
	var back T
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("unmarshal %T: %v", v, err)
	}
	if !reflect.DeepEqual(back, v) {
		t.Fatalf("%T changed in a JSON round trip:\n%+v\n%+v", v, v, back)
	}
	return string(b)
}

func seq32(start byte) (b [32]byte) {
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

func ints32(start int) string {
	parts := make([]string, 32)
	for i := range parts {
		parts[i] = strconv.Itoa(start + i)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func TestTaskJSONFieldNames(t *testing.T) {
	proof := processor.SealProof(abi.RegisteredSealProof_StackedDrg2KiBV1_1)

	got := roundTrip(t, processor.TreeDInput{RegisteredProof: proof, StagedFile: "/d/unsealed/s", CacheDir: "/d/prepared/s"},
		"registered_proof", "staged_file", "cache_dir")
	if want := `{"registered_proof":"StackedDrg2KiBV1_1","staged_file":"/d/unsealed/s","cache_dir":"/d/prepared/s"}`; got != want {
		t.Fatalf("tree_d task\n got %s\nwant %s", got, want)
	}

	pc1 := processor.PC1Input{
		RegisteredProof: proof, CachePath: "/c", InPath: "/u", OutPath: "/s",
		ProverID: seq32(1), SectorID: 7, Ticket: seq32(2),
		PieceInfos: []processor.PieceInfo{{Commitment: seq32(3), Size: 2032}},
	}
	got = roundTrip(t, pc1, "registered_proof", "cache_path", "in_path", "out_path", "prover_id", "sector_id", "ticket", "piece_infos")
	for _, frag := range []string{
		`"prover_id":` + ints32(1), `"sector_id":7`, `"ticket":` + ints32(2),
		`"piece_infos":[{"commitment":` + ints32(3) + `,"size":2032}]`,
	} {
		if !strings.Contains(got, frag) {
			t.Fatalf("pc1 task %s lacks %s", got, frag)
		}
	}

	got = roundTrip(t, processor.PC2Input{PC1Out: json.RawMessage(`{"mock":true}`), CacheDir: "/c", SealedFile: "/s"},
		"pc1out", "cache_dir", "sealed_file")
	if want := `{"pc1out":{"mock":true},"cache_dir":"/c","sealed_file":"/s"}`; got != want {
		t.Fatalf("pc2 task\n got %s\nwant %s", got, want)
	}
	got = roundTrip(t, processor.PC2Output{RegisteredProof: proof, CommR: seq32(4), CommD: seq32(5)}, "registered_proof", "comm_r", "comm_d")
	if want := `{"registered_proof":"StackedDrg2KiBV1_1","comm_r":` + ints32(4) + `,"comm_d":` + ints32(5) + `}`; got != want {
		t.Fatalf("pc2 output\n got %s\nwant %s", got, want)
	}

	got = roundTrip(t, processor.C2Input{C1Out: json.RawMessage(`{"mock":true}`), ProverID: seq32(1), SectorID: 7, MinerID: 10000},
		"c1out", "prover_id", "sector_id", "miner_id")
	if want := `{"c1out":{"mock":true},"prover_id":` + ints32(1) + `,"sector_id":7,"miner_id":10000}`; got != want {
		t.Fatalf("c2 task\n got %s\nwant %s", got, want)
	}
	if got = roundTrip(t, processor.C2Output{Proof: []byte{0, 1, 255}}, "proof"); got != `{"proof":[0,1,255]}` {
		t.Fatalf("c2 output %s", got)
	}

	store := "store-a"
	tr := processor.TransferInput{
		Stores: map[string]processor.TransferStoreInfo{store: {Name: store, Meta: map[string]string{"k": "v"}}},
		Routes: []processor.TransferRoute{
			{Src: processor.TransferItem{URI: "/l/sealed/s"}, Dest: processor.TransferItem{StoreName: &store, URI: "/p/sealed/s"}},
			{Src: processor.TransferItem{StoreName: &store, URI: "/p/cache/s"}, Dest: processor.TransferItem{URI: "/l/cache/s"},
				Opt: &processor.TransferOption{IsDir: true, AllowLink: true}},
		},
	}
	got = roundTrip(t, tr, "stores", "routes")
	want := `{"stores":{"store-a":{"name":"store-a","meta":{"k":"v"}}},"routes":[` +
		`{"src":{"store_name":null,"uri":"/l/sealed/s"},"dest":{"store_name":"store-a","uri":"/p/sealed/s"},"opt":null},` +
		`{"src":{"store_name":"store-a","uri":"/p/cache/s"},"dest":{"store_name":null,"uri":"/l/cache/s"},"opt":{"is_dir":true,"allow_link":true}}]}`
	if got != want {
		t.Fatalf("transfer task\n got %s\nwant %s", got, want)
	}
}
