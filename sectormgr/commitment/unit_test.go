package commitment

import (
	"slices"
	"testing"

	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/builtin/v8/market"
	"github.com/filecoin-project/go-state-types/exitcode"
	"github.com/filecoin-project/go-state-types/network"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/messager"
)

func TestMessageStateFollowsTheTableOfTheSpec(t *testing.T) {
	receipt := func(code exitcode.ExitCode, ret string) *chain.MessageReceipt {
		return &chain.MessageReceipt{ExitCode: code, Return: []byte(ret)}
	}
	cases := []struct {
		name  string
		in    messager.State
		state api.OnChainState
		desc  string // "" for nil
	}{
		{"pending", messager.State{Status: messager.Pending}, api.OnChainPending, ""},
		{"packed below confidence", messager.State{Status: messager.OnChain, Confidence: 9, Receipt: receipt(0, "")}, api.OnChainPacked, ""},
		{"landed", messager.State{Status: messager.OnChain, Confidence: 10, Receipt: receipt(0, "")}, api.OnChainLanded, ""},
		{"no receipt", messager.State{Status: messager.OnChain, Confidence: 10}, api.OnChainFailed, "receipt not found for on-chain message"},
		{"out of gas", messager.State{Status: messager.OnChain, Confidence: 12, Receipt: receipt(exitcode.SysErrOutOfGas, "")}, api.OnChainFailed, "message exited with code 7 (SysErrOutOfGas(7))"},
		{"other exit", messager.State{Status: messager.OnChain, Confidence: 12, Receipt: receipt(exitcode.ErrIllegalArgument, "bad seal")}, api.OnChainShouldAbort, "bad seal"},
		{"failed in the messager", messager.State{Status: messager.Failed, Receipt: receipt(0, "gas estimation failed")}, api.OnChainFailed, "gas estimation failed"},
	}
	for _, tc := range cases {
		state, desc := messageState(tc.in, 10)
		got := ""
		if desc != nil {
			got = *desc
		}
		if state != tc.state || got != tc.desc {
			t.Errorf("%s: got %s %q, want %s %q", tc.name, state, got, tc.state, tc.desc)
		}
	}
}

func TestSectorExpirationFollowsTheOriginalRules(t *testing.T) {
	const head = abi.ChainEpoch(10000)
	cc := func() *api.SectorState {
		return &api.SectorState{
			ID:         abi.SectorID{Miner: 1000, Number: 1},
			SectorType: abi.RegisteredSealProof_StackedDrg2KiBV1_1,
			Pre:        &api.PreCommitInfo{Ticket: api.Ticket{Epoch: head - 900}},
		}
	}
	withDeal := func(end abi.ChainEpoch) *api.SectorState {
		st := cc()
		st.Pieces = api.Deals{{ID: 7, Proposal: &market.DealProposal{EndEpoch: end}}}
		return st
	}
	cases := []struct {
		name     string
		st       *api.SectorState
		lifetime uint64
		want     abi.ChainEpoch
	}{
		// 540 days less two proving periods.
		{"cc 540 days", cc(), 540, head + 540*2880 - 2*2880},
		// 0 means the longest extension, less two proving periods.
		{"cc default", cc(), 0, head + 1278*2880 - 2*2880},
		// Below the minimum: raised to 180 days, then to the ticket's lower bound
		// ticket + 3780 + (30 days + 150) + 180 days.
		{"cc too short", cc(), 100, head - 900 + 3780 + 30*2880 + 150 + 180*2880},
		// Above the maximum: lowered to 1278 days, within head + 150 + 1278 days.
		{"cc too long", cc(), 2000, head + 1278*2880},
		{"deal end", withDeal(2_000_000), 540, 2_000_000},
		{"deal beyond the maximum", withDeal(9_000_000), 540, head + 150 + 1278*2880},
		{"ended deal ignored", withDeal(head - 1), 540, head + 540*2880 - 2*2880},
	}
	for _, tc := range cases {
		got, err := sectorExpiration(head, tc.st, tc.lifetime, 150)
		if err != nil || got != tc.want {
			t.Errorf("%s: got %d, %v; want %d", tc.name, got, err, tc.want)
		}
	}
}

func TestActivationPiecesNotifyTheMarketOfEachDeal(t *testing.T) {
	st := &api.SectorState{Pieces: api.Deals{
		{ID: 0, Piece: api.PieceInfo{Size: 1024}},
		{ID: 300, Piece: api.PieceInfo{Size: 1024}},
	}}
	pieces, err := activationPieces(st)
	if err != nil {
		t.Fatal(err)
	}
	if len(pieces) != 2 || len(pieces[0].Notify) != 0 || len(pieces[1].Notify) != 1 {
		t.Fatalf("pieces %+v", pieces)
	}
	n := pieces[1].Notify[0]
	// CBOR of the unsigned integer 300: major type 0, two-byte argument.
	if n.Address.String() != "f05" || string(n.Payload) != "\x19\x01\x2c" {
		t.Fatalf("notification %s %x", n.Address, n.Payload)
	}
	if cc, _ := activationPieces(&api.SectorState{Pieces: api.Deals{{ID: 0}}}); cc != nil {
		t.Fatalf("a CC sector got pieces %+v", cc)
	}
}

func TestProofChunksAggregateOnlyGroupsOfAtLeastFour(t *testing.T) {
	group := func(n int) []provable { return make([]provable, n) }
	sizes := func(chunks [][]provable) []int {
		var out []int
		for _, c := range chunks {
			out = append(out, len(c))
		}
		return out
	}
	cases := []struct {
		n         int
		aggregate bool
		nv        network.Version
		want      []int
	}{
		{3, true, network.Version25, []int{3}},
		{5, true, network.Version25, []int{5}},
		{821, true, network.Version25, []int{819, 2}},
		{821, true, network.Version21, []int{819, 1, 1}},
		{20, false, network.Version25, []int{16, 4}},
		{2, false, network.Version21, []int{1, 1}},
	}
	for _, tc := range cases {
		if got := sizes(proofChunks(group(tc.n), tc.aggregate, tc.nv)); !slices.Equal(got, tc.want) {
			t.Errorf("%d sectors, aggregate %v, nv %d: chunks %v, want %v", tc.n, tc.aggregate, tc.nv, got, tc.want)
		}
	}
}
