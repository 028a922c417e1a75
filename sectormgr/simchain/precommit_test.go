package simchain_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/filecoin-project/go-address"
	commcid "github.com/filecoin-project/go-fil-commcid"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/big"
	"github.com/filecoin-project/go-state-types/builtin"
	"github.com/filecoin-project/go-state-types/builtin/v16/market"
	"github.com/filecoin-project/go-state-types/builtin/v16/miner"
	"github.com/filecoin-project/go-state-types/exitcode"
	"github.com/filecoin-project/go-state-types/network"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/simchain"
)

func TestPreCommitBatch2Accepted(t *testing.T) {
	s := newSim(t, simchain.Options{})
	a, b := s.seal(1, s.c.Head()-900), s.seal(2, s.c.Head()-1)
	infoA, infoB := s.info(a), s.info(b)
	l := s.execute(s.preCommit(infoA, infoB))
	if l.Receipt.ExitCode != exitcode.Ok || l.Height != 2001 || l.Height != s.c.Head() {
		t.Fatalf("lookup %+v, head %d", l, s.c.Head())
	}
	for _, want := range []miner.SectorPreCommitInfo{infoA, infoB} {
		pc := s.c.PreCommit(testActor, want.SectorNumber)
		if pc == nil {
			t.Fatalf("sector %d not pre-committed", want.SectorNumber)
		}
		if pc.PreCommitEpoch != 2001 || !pc.PreCommitDeposit.Equals(big.NewInt(2_000_000_000_000)) ||
			!pc.Info.SealedCID.Equals(want.SealedCID) || pc.Info.SealRandEpoch != want.SealRandEpoch ||
			pc.Info.Expiration != want.Expiration || pc.Info.UnsealedCid != nil || pc.Info.SealProof != proof2KiB {
			t.Fatalf("pre-commit %+v, want info %+v", pc, want)
		}
		got, err := s.c.StateSectorPreCommitInfo(ctx, testMiner, want.SectorNumber, chain.EmptyTSK)
		if err != nil || got == nil || got.PreCommitEpoch != 2001 {
			t.Fatalf("StateSectorPreCommitInfo = %+v, %v", got, err)
		}
		allocated, err := s.c.StateMinerSectorAllocated(ctx, testMiner, want.SectorNumber, chain.EmptyTSK)
		if err != nil || !allocated {
			t.Fatalf("allocated = %v, %v", allocated, err)
		}
	}
	equalFunds(t, s.funds(testActor), mul(deposit2KiB, 2), mul(deposit2KiB, 2), big.Zero())

	none, err := s.c.StateSectorPreCommitInfo(ctx, testMiner, 3, chain.EmptyTSK)
	if none != nil || err != nil {
		t.Fatalf("unknown sector: %+v, %v", none, err)
	}
	allocated, err := s.c.StateMinerSectorAllocated(ctx, testMiner, 3, chain.EmptyTSK)
	if allocated || err != nil {
		t.Fatalf("sector 3 allocated = %v, %v", allocated, err)
	}

	// The pre-commit's message, as Messages reports it, with its decoded params.
	msgs := s.c.Messages()
	if len(msgs) != 1 || msgs[0].Included != 2001 || msgs[0].ExitCode != 0 || !msgs[0].Message.Value.Equals(mul(deposit2KiB, 2)) {
		t.Fatalf("messages %+v", msgs)
	}
	params, ok := msgs[0].Params.(*miner.PreCommitSectorBatchParams2)
	if !ok || len(params.Sectors) != 2 || params.Sectors[1].SectorNumber != 2 || params.Sectors[1].SealRandEpoch != 1999 ||
		!params.Sectors[0].SealedCID.Equals(a.sealed) || params.Sectors[0].Expiration != infoA.Expiration {
		t.Fatalf("params %#v", msgs[0].Params)
	}
}

// pieceCid is a piece commitment CID made of one repeated byte (a valid field element).
func pieceCid(t *testing.T, b byte) cid.Cid {
	t.Helper()
	comm := bytes.Repeat([]byte{b}, 32)
	comm[31] &= 0x3f
	c, err := commcid.PieceCommitmentV1ToCID(comm)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestPreCommitRejections: each broken pre-commit fails with the actor's exit code, and the
// whole batch (its valid sector too) changes nothing.
func TestPreCommitRejections(t *testing.T) {
	commP := pieceCid(t, 1)
	cases := []struct {
		name   string
		change func(s *sim, pcs []miner.SectorPreCommitInfo) ([]miner.SectorPreCommitInfo, abi.TokenAmount)
		code   exitcode.ExitCode
		reason string
	}{
		{"empty batch", func(s *sim, pcs []miner.SectorPreCommitInfo) ([]miner.SectorPreCommitInfo, abi.TokenAmount) {
			return nil, big.Zero()
		}, exitcode.ErrIllegalArgument, "batch empty"},
		{"duplicate number", func(s *sim, pcs []miner.SectorPreCommitInfo) ([]miner.SectorPreCommitInfo, abi.TokenAmount) {
			pcs[1].SectorNumber = pcs[0].SectorNumber
			return pcs, mul(deposit2KiB, 2)
		}, exitcode.ErrIllegalArgument, "duplicate sector number 1"},
		{"seal proof of another size", func(s *sim, pcs []miner.SectorPreCommitInfo) ([]miner.SectorPreCommitInfo, abi.TokenAmount) {
			pcs[1].SealProof = abi.RegisteredSealProof_StackedDrg32GiBV1_1
			return pcs, mul(deposit2KiB, 2)
		}, exitcode.ErrIllegalArgument, "must match miner Window PoSt proof type"},
		{"V1 seal proof", func(s *sim, pcs []miner.SectorPreCommitInfo) ([]miner.SectorPreCommitInfo, abi.TokenAmount) {
			pcs[1].SealProof = abi.RegisteredSealProof_StackedDrg2KiBV1
			return pcs, mul(deposit2KiB, 2)
		}, exitcode.ErrIllegalArgument, "unsupported seal proof type 0"},
		{"sealed CID is not a CommR", func(s *sim, pcs []miner.SectorPreCommitInfo) ([]miner.SectorPreCommitInfo, abi.TokenAmount) {
			pcs[1].SealedCID = zeroCommD2KiB
			return pcs, mul(deposit2KiB, 2)
		}, exitcode.ErrIllegalArgument, "sealed CID had wrong prefix"},
		{"unsealed CID is not a CommD", func(s *sim, pcs []miner.SectorPreCommitInfo) ([]miner.SectorPreCommitInfo, abi.TokenAmount) {
			sealed := pcs[0].SealedCID
			pcs[1].UnsealedCid = &sealed
			return pcs, mul(deposit2KiB, 2)
		}, exitcode.ErrIllegalArgument, "unsealed CID had wrong prefix"},
		{"seal rand epoch not in the past", func(s *sim, pcs []miner.SectorPreCommitInfo) ([]miner.SectorPreCommitInfo, abi.TokenAmount) {
			pcs[1].SealRandEpoch = s.c.Head() + 1
			return pcs, mul(deposit2KiB, 2)
		}, exitcode.ErrIllegalArgument, "seal challenge epoch 2001 must be before now 2001"},
		{"seal rand epoch too old", func(s *sim, pcs []miner.SectorPreCommitInfo) ([]miner.SectorPreCommitInfo, abi.TokenAmount) {
			pcs[1].SealRandEpoch = s.c.Head() + 1 - miner.MaxPreCommitRandomnessLookback - 1
			return pcs, mul(deposit2KiB, 2)
		}, exitcode.ErrIllegalArgument, "seal challenge epoch -1780 too old, must be after -1779"},
		{"expiration too soon", func(s *sim, pcs []miner.SectorPreCommitInfo) ([]miner.SectorPreCommitInfo, abi.TokenAmount) {
			pcs[1].Expiration = s.c.Head() + 1 + maxProveCommit + miner.MinSectorExpiration - 1
			return pcs, mul(deposit2KiB, 2)
		}, exitcode.ErrIllegalArgument, "total sector lifetime (518399) must exceed 518400"},
		{"expiration too far", func(s *sim, pcs []miner.SectorPreCommitInfo) ([]miner.SectorPreCommitInfo, abi.TokenAmount) {
			pcs[1].Expiration = s.c.Head() + 1 + miner.MaxSectorExpirationExtension + 1
			return pcs, mul(deposit2KiB, 2)
		}, exitcode.ErrIllegalArgument, "cannot be more than 3680640 past current epoch 2001"},
		{"unknown deal", func(s *sim, pcs []miner.SectorPreCommitInfo) ([]miner.SectorPreCommitInfo, abi.TokenAmount) {
			pcs[1].DealIDs = []abi.DealID{99}
			return pcs, mul(deposit2KiB, 2)
		}, exitcode.ErrNotFound, "no such deal 99"},
		{"deal of another provider", func(s *sim, pcs []miner.SectorPreCommitInfo) ([]miner.SectorPreCommitInfo, abi.TokenAmount) {
			s.addDeal(7, otherMiner, commP, 2048, s.c.Head()+100, pcs[1].Expiration)
			pcs[1].DealIDs = []abi.DealID{7}
			return pcs, mul(deposit2KiB, 2)
		}, exitcode.ErrForbidden, "proposal has provider f020000, must be f010000"},
		{"deal started", func(s *sim, pcs []miner.SectorPreCommitInfo) ([]miner.SectorPreCommitInfo, abi.TokenAmount) {
			s.addDeal(7, testMiner, commP, 2048, s.c.Head()+1, pcs[1].Expiration)
			pcs[1].DealIDs = []abi.DealID{7}
			return pcs, mul(deposit2KiB, 2)
		}, exitcode.ErrIllegalArgument, "proposal start epoch 2001 has already elapsed at 2001"},
		{"deal outlives the sector", func(s *sim, pcs []miner.SectorPreCommitInfo) ([]miner.SectorPreCommitInfo, abi.TokenAmount) {
			s.addDeal(7, testMiner, commP, 2048, s.c.Head()+100, pcs[1].Expiration+1)
			pcs[1].DealIDs = []abi.DealID{7}
			return pcs, mul(deposit2KiB, 2)
		}, exitcode.ErrIllegalArgument, "exceeds sector expiration"},
		{"declared CommD differs from the deals'", func(s *sim, pcs []miner.SectorPreCommitInfo) ([]miner.SectorPreCommitInfo, abi.TokenAmount) {
			s.addDeal(7, testMiner, pieceCid(t, 2), 2048, s.c.Head()+100, pcs[1].Expiration)
			pcs[1].DealIDs = []abi.DealID{7}
			return pcs, mul(deposit2KiB, 2) // UnsealedCid nil: zero data, not the deal's piece
		}, exitcode.ErrIllegalArgument, "CommDs not equal"},
		{"deposit short by one attoFIL", func(s *sim, pcs []miner.SectorPreCommitInfo) ([]miner.SectorPreCommitInfo, abi.TokenAmount) {
			return pcs, big.Sub(mul(deposit2KiB, 2), big.NewInt(1))
		}, exitcode.ErrInsufficientFunds, "insufficient funds 3999999999999 for pre-commit deposit: 4000000000000"},
		{"number already allocated", func(s *sim, pcs []miner.SectorPreCommitInfo) ([]miner.SectorPreCommitInfo, abi.TokenAmount) {
			s.preCommitted(s.seal(2, s.c.Head()-10))
			pcs[1].Expiration = s.expiration()
			pcs[0].Expiration = s.expiration()
			return pcs, mul(deposit2KiB, 2)
		}, exitcode.ErrIllegalArgument, "sector numbers [2] already allocated"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, simchain.Options{})
			pcs := []miner.SectorPreCommitInfo{s.info(s.seal(1, s.c.Head()-100)), s.info(s.seal(2, s.c.Head()-100))}
			pcs, value := tc.change(s, pcs)
			before := s.funds(testActor)
			c := s.push(testMiner, builtin.MethodsMiner.PreCommitSectorBatch2, encode(t, &miner.PreCommitSectorBatchParams2{Sectors: pcs}), value)
			s.expectExit(c, tc.code, tc.reason)
			if s.c.PreCommit(testActor, 1) != nil {
				t.Fatal("sector 1 pre-committed by a failed batch")
			}
			if allocated, _ := s.c.StateMinerSectorAllocated(ctx, testMiner, 1, chain.EmptyTSK); allocated {
				t.Fatal("sector 1 allocated by a failed batch")
			}
			equalFunds(t, s.funds(testActor), before.Balance, before.PreCommitDeposits, before.InitialPledge)
		})
	}
}

func (s *sim) addDeal(id abi.DealID, provider address.Address, piece cid.Cid, size abi.PaddedPieceSize, start, end abi.ChainEpoch) {
	s.t.Helper()
	client, _ := address.NewIDAddress(5000)
	err := s.c.AddDeal(id, market.DealProposal{
		PieceCID: piece, PieceSize: size, Client: client, Provider: provider, StartEpoch: start, EndEpoch: end,
		StoragePricePerEpoch: big.Zero(), ProviderCollateral: big.Zero(), ClientCollateral: big.Zero(),
	})
	if err != nil {
		s.t.Fatal(err)
	}
}

func TestPreCommitWithDeal(t *testing.T) {
	s := newSim(t, simchain.Options{})
	// A 2KiB sector holding one 2KiB piece: its CommD is the piece's CID.
	piece := pieceCid(t, 2)
	sec := s.sealWithCommD(1, s.c.Head()-100, piece)
	info := s.info(sec)
	s.addDeal(7, testMiner, piece, 2048, s.c.Head()+100, info.Expiration)
	info.DealIDs = []abi.DealID{7}
	info.UnsealedCid = &piece
	if l := s.execute(s.preCommit(info)); l.Receipt.ExitCode != exitcode.Ok {
		t.Fatalf("exit %d: %s", l.Receipt.ExitCode, s.reason(l.Message))
	}
	pc := s.c.PreCommit(testActor, 1)
	if pc == nil || len(pc.Info.DealIDs) != 1 || pc.Info.DealIDs[0] != 7 || !pc.Info.UnsealedCid.Equals(piece) {
		t.Fatalf("pre-commit %+v", pc)
	}
	if err := s.c.AddDeal(7, market.DealProposal{}); err == nil || err.Error() != "simchain: deal 7 exists" {
		t.Fatalf("second AddDeal: %v", err)
	}
}

func TestPreCommitFromNonControlAddressForbidden(t *testing.T) {
	s := newSim(t, simchain.Options{})
	info := s.info(s.seal(1, s.c.Head()-100))
	// The other miner's worker is in the wallet, but it does not control f010000.
	c := s.pushFrom(simchain.DefaultWorker(otherActor), testMiner, builtin.MethodsMiner.PreCommitSectorBatch2,
		encode(t, &miner.PreCommitSectorBatchParams2{Sectors: []miner.SectorPreCommitInfo{info}}), deposit2KiB)
	s.expectExit(c, exitcode.ErrForbidden, "caller f0103 is not one of supported")
	if s.c.PreCommit(testActor, 1) != nil {
		t.Fatal("pre-committed by a stranger")
	}
}

func TestPreCommitFromOwnerAndControl(t *testing.T) {
	s := newSim(t, simchain.Options{})
	control := simchain.ControlKey(testActor, 0)
	if err := s.c.AddMiner(simchain.MinerSpec{Actor: testActor, SectorSize: size2KiB, Controls: []address.Address{control}}); err != nil {
		t.Fatal(err)
	}
	for i, from := range []address.Address{simchain.DefaultOwner(testActor), control} {
		info := s.info(s.seal(abi.SectorNumber(i+1), s.c.Head()-100))
		c := s.pushFrom(from, testMiner, builtin.MethodsMiner.PreCommitSectorBatch2,
			encode(t, &miner.PreCommitSectorBatchParams2{Sectors: []miner.SectorPreCommitInfo{info}}), deposit2KiB)
		s.expectExit(c, exitcode.Ok, "")
	}
}

func TestPreCommitPaidFromMinerBalance(t *testing.T) {
	s := newSim(t, simchain.Options{})
	if err := s.c.AddMiner(simchain.MinerSpec{Actor: 30000, SectorSize: size2KiB, Balance: deposit2KiB}); err != nil {
		t.Fatal(err)
	}
	equalFunds(t, s.funds(30000), deposit2KiB, big.Zero(), big.Zero())
	// The existing miner keeps its funds when added again.
	if err := s.c.AddMiner(simchain.MinerSpec{Actor: 30000, SectorSize: size2KiB}); err != nil {
		t.Fatal(err)
	}
	equalFunds(t, s.funds(30000), deposit2KiB, big.Zero(), big.Zero())
	if err := s.c.AddMiner(simchain.MinerSpec{Actor: 30000, SectorSize: 8 << 20}); err == nil ||
		err.Error() != "simchain: miner f030000 exists with sector size 2048, not 8388608" {
		t.Fatalf("AddMiner of another size: %v", err)
	}
}

func TestUndecodableParams(t *testing.T) {
	s := newSim(t, simchain.Options{})
	c := s.push(testMiner, builtin.MethodsMiner.PreCommitSectorBatch2, []byte{0xff, 0x00}, big.Zero())
	s.expectExit(c, exitcode.ErrSerialization, "failed to decode params of method 28")
	if m := s.c.Messages()[0]; m.Params != nil {
		t.Fatalf("params %#v for undecodable bytes", m.Params)
	}
}

func TestSendToMinerAndToOthers(t *testing.T) {
	s := newSim(t, simchain.Options{})
	s.expectExit(s.push(testMiner, builtin.MethodSend, nil, big.NewInt(500)), exitcode.Ok, "")
	equalFunds(t, s.funds(testActor), big.NewInt(500), big.Zero(), big.Zero())
	// Not a miner: any method succeeds and does nothing.
	s.expectExit(s.push(simchain.DefaultOwner(testActor), 28, []byte("anything"), big.NewInt(1)), exitcode.Ok, "")
	nobody, _ := address.NewIDAddress(4242)
	s.expectExit(s.push(nobody, 34, nil, big.Zero()), exitcode.Ok, "")
	// An unknown miner method.
	s.expectExit(s.push(testMiner, 99, nil, big.Zero()), exitcode.ErrUnhandledMessage, "miner actor at network version 25 has no method 99")
}

// TestMinerMethodsByNetworkVersion: the deprecated onboarding methods exist before their removal
// and end with exit 22 after it.
func TestMinerMethodsByNetworkVersion(t *testing.T) {
	type call struct {
		method abi.MethodNum
		params func(s *sim) []byte
	}
	legacyPreCommit := func(s *sim) miner.PreCommitSectorParams {
		sec := s.seal(1, s.c.Head()-100)
		return miner.PreCommitSectorParams{SealProof: proof2KiB, SectorNumber: 1, SealedCID: sec.sealed, SealRandEpoch: sec.ticketEpoch, Expiration: s.expiration()}
	}
	preCommitSector := call{builtin.MethodsMiner.PreCommitSector, func(s *sim) []byte {
		p := legacyPreCommit(s)
		return encode(s.t, &p)
	}}
	preCommitBatch := call{builtin.MethodsMiner.PreCommitSectorBatch, func(s *sim) []byte {
		return encode(s.t, &miner.PreCommitSectorBatchParams{Sectors: []miner.PreCommitSectorParams{legacyPreCommit(s)}})
	}}
	preCommitBatch2 := call{builtin.MethodsMiner.PreCommitSectorBatch2, func(s *sim) []byte {
		return encode(s.t, &miner.PreCommitSectorBatchParams2{Sectors: []miner.SectorPreCommitInfo{s.info(s.seal(1, s.c.Head()-100))}})
	}}
	cases := []struct {
		nv   int
		call call
		want exitcode.ExitCode
	}{
		{21, preCommitSector, exitcode.Ok},
		{22, preCommitSector, exitcode.ErrUnhandledMessage},
		{21, preCommitBatch, exitcode.Ok},
		{22, preCommitBatch, exitcode.ErrUnhandledMessage},
		{21, preCommitBatch2, exitcode.Ok},
		{27, preCommitBatch2, exitcode.Ok},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("method%d/nv%d", tc.call.method, tc.nv), func(t *testing.T) {
			s := newSim(t, simchain.Options{NetworkVersion: network.Version(tc.nv)})
			l := s.execute(s.push(testMiner, tc.call.method, tc.call.params(s), deposit2KiB))
			if l.Receipt.ExitCode != tc.want {
				t.Fatalf("exit %d (%s), want %d", l.Receipt.ExitCode, s.reason(l.Message), tc.want)
			}
			if committed := s.c.PreCommit(testActor, 1) != nil; committed != (tc.want == exitcode.Ok) {
				t.Fatalf("pre-committed: %v", committed)
			}
		})
	}
}
