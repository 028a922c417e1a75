package simchain_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/filecoin-project/go-bitfield"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/batch"
	"github.com/filecoin-project/go-state-types/big"
	"github.com/filecoin-project/go-state-types/builtin"
	"github.com/filecoin-project/go-state-types/builtin/v16/miner"
	"github.com/filecoin-project/go-state-types/crypto"
	"github.com/filecoin-project/go-state-types/exitcode"
	"github.com/filecoin-project/go-state-types/network"
	"github.com/filecoin-project/go-state-types/proof"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/sealverify"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/simchain"
)

func activations(secs ...sector) []miner.SectorActivationManifest {
	out := make([]miner.SectorActivationManifest, len(secs))
	for i, s := range secs {
		out[i] = miner.SectorActivationManifest{SectorNumber: s.num}
	}
	return out
}

func (s *sim) proveBatched(value abi.TokenAmount, require bool, secs []sector, proofs [][]byte) cid.Cid {
	s.t.Helper()
	p := &miner.ProveCommitSectors3Params{SectorActivations: activations(secs...), SectorProofs: proofs, RequireActivationSuccess: require}
	return s.push(testMiner, builtin.MethodsMiner.ProveCommitSectors3, encode(s.t, p), value)
}

// pledgeValue is what a prove message must carry when the pre-commit deposits are released:
// the pledges minus the deposits.
func pledgeValue(n int64) abi.TokenAmount { return mul(big.Sub(pledge2KiB, deposit2KiB), n) }

func TestProveCommitSectors3Batched(t *testing.T) {
	s := newSim(t, simchain.Options{})
	a, b := s.seal(1, s.c.Head()-100), s.seal(2, s.c.Head()-100)
	pce := s.preCommitted(a, b)
	expiration := s.c.PreCommit(testActor, 1).Info.Expiration
	s.advance(int(delay))
	c := s.proveBatched(pledgeValue(2), true, []sector{a, b}, [][]byte{s.proof(a, pce), s.proof(b, pce)})
	l := s.execute(c)
	if l.Receipt.ExitCode != exitcode.Ok {
		t.Fatalf("exit %d: %s", l.Receipt.ExitCode, s.reason(c))
	}
	want := fmt.Sprintf(`{"SectorNumber":1,"SealProof":5,"SealedCID":{"/":"%s"},"Activation":2012,"Expiration":%d,`+
		`"DealWeight":"0","VerifiedDealWeight":"0","InitialPledge":"4000000000000","ExpectedDayReward":"0","ExpectedStoragePledge":"0",`+
		`"PowerBaseEpoch":2012,"ReplacedDayReward":"0","SectorKeyCID":null,"Flags":1,"DailyFee":"0"}`, a.sealed, expiration)
	got, err := s.c.StateSectorGetInfo(ctx, testMiner, 1, chain.EmptyTSK)
	if err != nil {
		t.Fatal(err)
	}
	if raw, _ := json.Marshal(got); string(raw) != want {
		t.Fatalf("sector info\n%s\nwant\n%s", raw, want)
	}
	if s.c.PreCommit(testActor, 1) != nil || s.c.PreCommit(testActor, 2) != nil || s.c.Sector(testActor, 2) == nil {
		t.Fatal("pre-commits not replaced by sectors")
	}
	equalFunds(t, s.funds(testActor), mul(pledge2KiB, 2), big.Zero(), mul(pledge2KiB, 2))
	// The return, raw and decoded by StateWaitMsg.
	var ret batch.BatchReturn
	if err := ret.UnmarshalCBOR(bytes.NewReader(l.Receipt.Return)); err != nil || ret.SuccessCount != 2 || len(ret.FailCodes) != 0 {
		t.Fatalf("return %+v, %v", ret, err)
	}
	wl, err := s.c.StateWaitMsg(ctx, c, 0, -1, false)
	if err != nil {
		t.Fatal(err)
	}
	if dec, ok := wl.ReturnDec.(*miner.ProveCommitSectors3Return); !ok || dec.SuccessCount != 2 {
		t.Fatalf("ReturnDec %#v", wl.ReturnDec)
	}
	none, err := s.c.StateSectorGetInfo(ctx, testMiner, 3, chain.EmptyTSK)
	if none != nil || err != nil {
		t.Fatalf("unknown sector: %+v, %v", none, err)
	}
	msgs := s.c.Messages()
	params, ok := msgs[len(msgs)-1].Params.(*miner.ProveCommitSectors3Params)
	if !ok || len(params.SectorActivations) != 2 || params.SectorActivations[1].SectorNumber != 2 || !params.RequireActivationSuccess {
		t.Fatalf("params %#v", msgs[len(msgs)-1].Params)
	}
}

func TestProveCommitTooEarly(t *testing.T) {
	s := newSim(t, simchain.Options{})
	a := s.seal(1, s.c.Head()-100)
	s.preCommitted(a)
	s.advance(int(delay) - 1)                                                            // the message executes at the seed epoch itself
	c := s.proveBatched(pledgeValue(1), false, []sector{a}, [][]byte{make([]byte, 192)}) // the seed is not drawn yet
	s.expectExit(c, exitcode.ErrForbidden, "too early to prove sector 1: seed epoch 2011, now 2011")
	if s.c.Sector(testActor, 1) != nil || s.c.PreCommit(testActor, 1) == nil {
		t.Fatal("state changed by a failed prove")
	}
}

func TestProveCommitPartialSuccess(t *testing.T) {
	s := newSim(t, simchain.Options{})
	a, b := s.seal(1, s.c.Head()-100), s.seal(2, s.c.Head()-100)
	pce := s.preCommitted(a, b)
	s.advance(int(delay))
	bad := s.proof(b, pce)
	bad[0] ^= 1

	// Requiring success, one bad proof fails it all.
	c := s.proveBatched(pledgeValue(2), true, []sector{a, b}, [][]byte{s.proof(a, pce), bad})
	s.expectExit(c, exitcode.ErrIllegalArgument, "invalid proof for sector 2 while requiring activation success")
	if s.c.Sector(testActor, 1) != nil {
		t.Fatal("sector 1 activated by a failed message")
	}

	// Without, the good sector activates and the return names the bad one.
	c = s.proveBatched(pledgeValue(1), false, []sector{a, b}, [][]byte{s.proof(a, pce), bad})
	l := s.execute(c)
	if l.Receipt.ExitCode != exitcode.Ok {
		t.Fatalf("exit %d: %s", l.Receipt.ExitCode, s.reason(c))
	}
	var ret batch.BatchReturn
	if err := ret.UnmarshalCBOR(bytes.NewReader(l.Receipt.Return)); err != nil {
		t.Fatal(err)
	}
	if want := (batch.BatchReturn{SuccessCount: 1, FailCodes: []batch.FailCode{{Idx: 1, Code: exitcode.ErrIllegalArgument}}}); !reflect.DeepEqual(ret, want) {
		t.Fatalf("return %+v, want %+v", ret, want)
	}
	if s.c.Sector(testActor, 1) == nil || s.c.Sector(testActor, 2) != nil || s.c.PreCommit(testActor, 2) == nil {
		t.Fatal("wrong sectors activated")
	}
	equalFunds(t, s.funds(testActor), big.Add(mul(deposit2KiB, 2), pledgeValue(1)), deposit2KiB, pledge2KiB)
}

func TestProveCommitRejections(t *testing.T) {
	cases := []struct {
		name   string
		params func(s *sim, a, b sector, pce abi.ChainEpoch) (*miner.ProveCommitSectors3Params, abi.TokenAmount)
		code   exitcode.ExitCode
		reason string
	}{
		{"not pre-committed", func(s *sim, a, b sector, pce abi.ChainEpoch) (*miner.ProveCommitSectors3Params, abi.TokenAmount) {
			c := s.seal(9, s.c.Head()-100)
			return &miner.ProveCommitSectors3Params{SectorActivations: activations(a, c), SectorProofs: [][]byte{s.proof(a, pce), s.proof(c, pce)}}, pledgeValue(2)
		}, exitcode.ErrNotFound, "sector 9 not found"},
		{"no proofs at all", func(s *sim, a, b sector, pce abi.ChainEpoch) (*miner.ProveCommitSectors3Params, abi.TokenAmount) {
			return &miner.ProveCommitSectors3Params{SectorActivations: activations(a, b)}, pledgeValue(2)
		}, exitcode.ErrIllegalArgument, "exactly one of sector proofs or aggregate proof must be non-empty"},
		{"proofs and an aggregate", func(s *sim, a, b sector, pce abi.ChainEpoch) (*miner.ProveCommitSectors3Params, abi.TokenAmount) {
			return &miner.ProveCommitSectors3Params{SectorActivations: activations(a, b), SectorProofs: [][]byte{s.proof(a, pce), s.proof(b, pce)}, AggregateProof: []byte{1}}, pledgeValue(2)
		}, exitcode.ErrIllegalArgument, "exactly one of sector proofs or aggregate proof must be non-empty"},
		{"one proof for two sectors", func(s *sim, a, b sector, pce abi.ChainEpoch) (*miner.ProveCommitSectors3Params, abi.TokenAmount) {
			return &miner.ProveCommitSectors3Params{SectorActivations: activations(a, b), SectorProofs: [][]byte{s.proof(a, pce)}}, pledgeValue(2)
		}, exitcode.ErrIllegalArgument, "mismatched lengths: 2 sector activations, 1 proofs"},
		{"oversized proof", func(s *sim, a, b sector, pce abi.ChainEpoch) (*miner.ProveCommitSectors3Params, abi.TokenAmount) {
			return &miner.ProveCommitSectors3Params{SectorActivations: activations(a, b), SectorProofs: [][]byte{s.proof(a, pce), make([]byte, 193)}}, pledgeValue(2)
		}, exitcode.ErrIllegalArgument, "sector proof size 193 exceeds max 192"},
		{"pledge short by one attoFIL", func(s *sim, a, b sector, pce abi.ChainEpoch) (*miner.ProveCommitSectors3Params, abi.TokenAmount) {
			return &miner.ProveCommitSectors3Params{SectorActivations: activations(a, b), SectorProofs: [][]byte{s.proof(a, pce), s.proof(b, pce)}}, big.Sub(pledgeValue(2), big.NewInt(1))
		}, exitcode.ErrInsufficientFunds, "insufficient funds for aggregate initial pledge requirement 8000000000000, available: 7999999999999"},
		{"pieces that are not the CommD", func(s *sim, a, b sector, pce abi.ChainEpoch) (*miner.ProveCommitSectors3Params, abi.TokenAmount) {
			acts := activations(a, b)
			acts[1].Pieces = []miner.PieceActivationManifest{{CID: pieceCid(s.t, 3), Size: 2048}}
			return &miner.ProveCommitSectors3Params{SectorActivations: acts, SectorProofs: [][]byte{s.proof(a, pce), s.proof(b, pce)}}, pledgeValue(2)
		}, exitcode.ErrIllegalArgument, "unsealed CID does not match pieces for sector 2"},
		{"every proof invalid", func(s *sim, a, b sector, pce abi.ChainEpoch) (*miner.ProveCommitSectors3Params, abi.TokenAmount) {
			return &miner.ProveCommitSectors3Params{SectorActivations: activations(a, b), SectorProofs: [][]byte{s.proof(b, pce), s.proof(a, pce)}}, pledgeValue(2)
		}, exitcode.ErrIllegalArgument, "no valid proofs specified"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, simchain.Options{})
			a, b := s.seal(1, s.c.Head()-100), s.seal(2, s.c.Head()-100)
			pce := s.preCommitted(a, b)
			s.advance(int(delay))
			p, value := tc.params(s, a, b, pce)
			before := s.funds(testActor)
			s.expectExit(s.push(testMiner, builtin.MethodsMiner.ProveCommitSectors3, encode(t, p), value), tc.code, tc.reason)
			if s.c.Sector(testActor, 1) != nil || s.c.PreCommit(testActor, 1) == nil {
				t.Fatal("state changed by a failed prove")
			}
			equalFunds(t, s.funds(testActor), before.Balance, before.PreCommitDeposits, before.InitialPledge)
		})
	}
}

func TestProveCommitSectors3SkipsDealPreCommits(t *testing.T) {
	s := newSim(t, simchain.Options{})
	piece := pieceCid(t, 2)
	a := s.sealWithCommD(1, s.c.Head()-100, piece)
	info := s.info(a)
	s.addDeal(7, testMiner, piece, 2048, s.c.Head()+1000, info.Expiration)
	info.DealIDs, info.UnsealedCid = []abi.DealID{7}, &piece
	l := s.execute(s.preCommit(info))
	s.advance(int(delay))
	c := s.proveBatched(pledgeValue(1), false, []sector{a}, [][]byte{s.proof(a, l.Height)})
	s.expectExit(c, exitcode.ErrIllegalArgument, "no valid precommits specified")
	c = s.proveBatched(pledgeValue(1), true, []sector{a}, [][]byte{s.proof(a, l.Height)})
	s.expectExit(c, exitcode.ErrIllegalArgument, "pre-commit has deal ids")
}

func TestProveCommitSectors3WithPieces(t *testing.T) {
	s := newSim(t, simchain.Options{})
	piece := pieceCid(t, 2)
	a := s.sealWithCommD(1, s.c.Head()-100, piece)
	info := s.info(a)
	info.UnsealedCid = &piece
	l := s.execute(s.preCommit(info))
	s.advance(int(delay))
	p := &miner.ProveCommitSectors3Params{
		SectorActivations: []miner.SectorActivationManifest{{SectorNumber: 1, Pieces: []miner.PieceActivationManifest{{CID: piece, Size: 2048}}}},
		SectorProofs:      [][]byte{s.proof(a, l.Height)},
	}
	c := s.push(testMiner, builtin.MethodsMiner.ProveCommitSectors3, encode(t, p), pledgeValue(1))
	s.expectExit(c, exitcode.Ok, "")
	sec := s.c.Sector(testActor, 1)
	// Deal weight is the data's space × the sector's remaining life.
	if want := big.Mul(big.NewInt(2048), big.NewInt(int64(sec.Expiration-sec.Activation))); !sec.DealWeight.Equals(want) {
		t.Fatalf("deal weight %s, want %s", sec.DealWeight, want)
	}
}

// aggregate is the mock aggregate of the sectors' proofs, in the order given.
func (s *sim) aggregate(secs []sector, pce abi.ChainEpoch) []byte {
	s.t.Helper()
	infos := make([]proof.AggregateSealVerifyInfo, len(secs))
	proofs := make([][]byte, len(secs))
	for i, sec := range secs {
		seed, _ := s.c.StateGetRandomnessFromBeacon(ctx, crypto.DomainSeparationTag_InteractiveSealChallengeSeed, pce+delay, minerEntropy(s.t, testMiner), chain.EmptyTSK)
		infos[i] = proof.AggregateSealVerifyInfo{Number: sec.num, Randomness: abi.SealRandomness(sec.ticket), InteractiveRandomness: abi.InteractiveSealRandomness(seed), SealedCID: sec.sealed, UnsealedCID: sec.commD}
		proofs[i] = s.proof(sec, pce)
	}
	agg, err := sealverify.Mock{}.AggregateSealProofs(proof.AggregateSealVerifyProofAndInfos{
		Miner: testActor, SealProof: proof2KiB, AggregateProof: abi.RegisteredAggregationProof_SnarkPackV2, Infos: infos,
	}, proofs)
	if err != nil {
		s.t.Fatal(err)
	}
	return agg
}

func TestProveCommitSectors3Aggregate(t *testing.T) {
	snarkPack := abi.RegisteredAggregationProof_SnarkPackV2
	setup := func(t *testing.T, n int) (*sim, []sector, abi.ChainEpoch) {
		s := newSim(t, simchain.Options{})
		secs := make([]sector, n)
		for i := range secs {
			secs[i] = s.seal(abi.SectorNumber(i+1), s.c.Head()-100)
		}
		pce := s.preCommitted(secs...)
		s.advance(int(delay))
		return s, secs, pce
	}
	t.Run("accepted", func(t *testing.T) {
		s, secs, pce := setup(t, 4)
		p := &miner.ProveCommitSectors3Params{SectorActivations: activations(secs...), AggregateProof: s.aggregate(secs, pce), AggregateProofType: &snarkPack, RequireActivationSuccess: true}
		s.expectExit(s.push(testMiner, builtin.MethodsMiner.ProveCommitSectors3, encode(t, p), pledgeValue(4)), exitcode.Ok, "")
		for _, sec := range secs {
			if s.c.Sector(testActor, sec.num) == nil {
				t.Fatalf("sector %d not activated", sec.num)
			}
		}
	})
	t.Run("verified in the activations' order", func(t *testing.T) {
		s, secs, pce := setup(t, 4)
		agg := s.aggregate(secs, pce) // sorted by number
		secs[0], secs[1] = secs[1], secs[0]
		p := &miner.ProveCommitSectors3Params{SectorActivations: activations(secs...), AggregateProof: agg, AggregateProofType: &snarkPack}
		s.expectExit(s.push(testMiner, builtin.MethodsMiner.ProveCommitSectors3, encode(t, p), pledgeValue(4)), exitcode.ErrIllegalArgument, "aggregate seal verify failed")
	})
	t.Run("too few sectors", func(t *testing.T) {
		s, secs, pce := setup(t, 3)
		p := &miner.ProveCommitSectors3Params{SectorActivations: activations(secs...), AggregateProof: s.aggregate(secs, pce), AggregateProofType: &snarkPack}
		s.expectExit(s.push(testMiner, builtin.MethodsMiner.ProveCommitSectors3, encode(t, p), pledgeValue(3)), exitcode.ErrIllegalArgument, "too few sectors addressed, addressed 3 want >= 4")
	})
	t.Run("no aggregate type", func(t *testing.T) {
		s, secs, pce := setup(t, 4)
		p := &miner.ProveCommitSectors3Params{SectorActivations: activations(secs...), AggregateProof: s.aggregate(secs, pce)}
		s.expectExit(s.push(testMiner, builtin.MethodsMiner.ProveCommitSectors3, encode(t, p), pledgeValue(4)), exitcode.ErrIllegalArgument, "aggregate proof type must be SnarkPackV2")
	})
	t.Run("ProveCommitAggregate", func(t *testing.T) {
		s, secs, pce := setup(t, 4)
		p := &miner.ProveCommitAggregateParams{SectorNumbers: bitfield.NewFromSet([]uint64{1, 2, 3, 4}), AggregateProof: s.aggregate(secs, pce)}
		s.expectExit(s.push(testMiner, builtin.MethodsMiner.ProveCommitAggregate, encode(t, p), pledgeValue(4)), exitcode.Ok, "")
		for _, sec := range secs {
			if s.c.Sector(testActor, sec.num) == nil {
				t.Fatalf("sector %d not activated", sec.num)
			}
		}
	})
	t.Run("ProveCommitAggregate removed at nv27", func(t *testing.T) {
		s := newSim(t, simchain.Options{NetworkVersion: network.Version27})
		p := &miner.ProveCommitAggregateParams{SectorNumbers: bitfield.NewFromSet([]uint64{1, 2, 3, 4}), AggregateProof: []byte{1}}
		s.expectExit(s.push(testMiner, builtin.MethodsMiner.ProveCommitAggregate, encode(t, p), big.Zero()), exitcode.ErrUnhandledMessage, "miner actor at network version 27 has no method 26")
	})
}

func TestProveCommitSectorByNetworkVersion(t *testing.T) {
	for _, tc := range []struct {
		nv   network.Version
		want exitcode.ExitCode
	}{{network.Version22, exitcode.Ok}, {network.Version23, exitcode.ErrUnhandledMessage}} {
		s := newSim(t, simchain.Options{NetworkVersion: tc.nv})
		a := s.seal(1, s.c.Head()-100)
		pce := s.preCommitted(a)
		s.advance(int(delay))
		p := &miner.ProveCommitSectorParams{SectorNumber: 1, Proof: s.proof(a, pce)}
		l := s.execute(s.push(testMiner, builtin.MethodsMiner.ProveCommitSector, encode(t, p), pledgeValue(1)))
		if l.Receipt.ExitCode != tc.want || (s.c.Sector(testActor, 1) != nil) != (tc.want == exitcode.Ok) {
			t.Fatalf("nv%d: exit %d (%s), want %d", tc.nv, l.Receipt.ExitCode, s.reason(l.Message), tc.want)
		}
	}
	s := newSim(t, simchain.Options{NetworkVersion: network.Version21})
	p := &miner.ProveCommitSectors3Params{SectorActivations: []miner.SectorActivationManifest{{SectorNumber: 1}}, SectorProofs: [][]byte{{1}}}
	s.expectExit(s.push(testMiner, builtin.MethodsMiner.ProveCommitSectors3, encode(t, p), big.Zero()), exitcode.ErrUnhandledMessage, "network version 21 has no method 34")
}

func TestPreCommitLifecycleEnds(t *testing.T) {
	s := newSim(t, simchain.Options{})
	a, b := s.seal(1, s.c.Head()-100), s.seal(2, s.c.Head()-100)
	pce := s.preCommitted(a, b)

	// RemovePreCommit: the deposit is burnt, the number stays allocated.
	if removed, err := s.c.RemovePreCommit(testActor, 1); !removed || err != nil {
		t.Fatalf("RemovePreCommit = %v, %v", removed, err)
	}
	if removed, _ := s.c.RemovePreCommit(testActor, 1); removed {
		t.Fatal("removed twice")
	}
	equalFunds(t, s.funds(testActor), deposit2KiB, deposit2KiB, big.Zero())
	if allocated, _ := s.c.StateMinerSectorAllocated(ctx, testMiner, 1, chain.EmptyTSK); !allocated {
		t.Fatal("number freed")
	}
	s.advance(int(delay))
	s.expectExit(s.proveBatched(pledgeValue(1), false, []sector{a}, [][]byte{s.proof(a, pce)}), exitcode.ErrNotFound, "sector 1 not found")

	// Too late: past the prove-commit window the pre-commit cannot be proven ...
	s.advance(int(pce + maxProveCommit - s.c.Head()))
	s.expectExit(s.proveBatched(pledgeValue(1), false, []sector{b}, [][]byte{s.proof(b, pce)}), exitcode.ErrIllegalArgument, "no valid precommits specified")
	if s.c.PreCommit(testActor, 2) == nil {
		t.Fatal("pre-commit 2 removed before its clean-up")
	}
	// ... and the clean-up removes it 8 hours later and burns the deposit.
	s.advance(int(pce + maxProveCommit + 960 - s.c.Head() - 1))
	if s.c.PreCommit(testActor, 2) == nil {
		t.Fatal("pre-commit 2 removed early")
	}
	s.advance(1)
	if s.c.PreCommit(testActor, 2) != nil {
		t.Fatal("expired pre-commit 2 kept")
	}
	equalFunds(t, s.funds(testActor), big.Zero(), big.Zero(), big.Zero())
}
