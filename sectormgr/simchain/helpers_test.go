package simchain_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-commp-utils/v2/zerocomm"
	commcid "github.com/filecoin-project/go-fil-commcid"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/big"
	"github.com/filecoin-project/go-state-types/builtin"
	"github.com/filecoin-project/go-state-types/builtin/v16/miner"
	"github.com/filecoin-project/go-state-types/crypto"
	"github.com/filecoin-project/go-state-types/exitcode"
	"github.com/google/uuid"
	"github.com/ipfs/go-cid"
	cbg "github.com/whyrusleeping/cbor-gen"

	"github.com/ipfs-force-community/venus-cluster-go/api/mockproof"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/sealverify"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/simchain"
)

const (
	testActor  = abi.ActorID(10000)
	otherActor = abi.ActorID(20000)
	size2KiB   = abi.SectorSize(2048)
	proof2KiB  = abi.RegisteredSealProof_StackedDrg2KiBV1_1
	delay      = abi.ChainEpoch(10) // PreCommitChallengeDelay of the test chains
)

var (
	testMiner, _  = address.NewIDAddress(uint64(testActor))
	otherMiner, _ = address.NewIDAddress(uint64(otherActor))
	worker        = simchain.DefaultWorker(testActor)
	deposit2KiB   = simchain.ExactPreCommitDeposit(size2KiB)
	pledge2KiB    = simchain.ExactInitialPledge(size2KiB)
	ctx           = context.Background()
)

// maxProveCommit is the actor's prove-commit window for V1_1 with the test delay.
const maxProveCommit = 30*builtin.EpochsInDay + delay

// sim is a test chain with miner f010000 (2KiB) and f020000 (2KiB).
type sim struct {
	t *testing.T
	c *simchain.Chain
}

func newSim(t *testing.T, opts simchain.Options) *sim {
	t.Helper()
	if opts.PreCommitChallengeDelay == 0 {
		opts.PreCommitChallengeDelay = delay
	}
	c, err := simchain.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	s := &sim{t: t, c: c}
	for _, a := range []abi.ActorID{testActor, otherActor} {
		if err := c.AddMiner(simchain.MinerSpec{Actor: a, SectorSize: size2KiB}); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func (s *sim) advance(n int) {
	s.t.Helper()
	if err := s.c.Advance(n); err != nil {
		s.t.Fatal(err)
	}
}

// sector is a sealed 2KiB sector of f010000 with mock proofs, as a worker would make it.
type sector struct {
	num         abi.SectorNumber
	ticketEpoch abi.ChainEpoch
	ticket      abi.Randomness
	commD       cid.Cid
	sealed      cid.Cid
}

func minerEntropy(t *testing.T, maddr address.Address) []byte {
	var buf bytes.Buffer
	if err := maddr.MarshalCBOR(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var zeroCommD2KiB = zerocomm.ZeroPieceCommitment(abi.PaddedPieceSize(2048).Unpadded())

// seal seals an empty sector with the ticket of ticketEpoch.
func (s *sim) seal(num abi.SectorNumber, ticketEpoch abi.ChainEpoch) sector {
	return s.sealWithCommD(num, ticketEpoch, zeroCommD2KiB)
}

func (s *sim) sealWithCommD(num abi.SectorNumber, ticketEpoch abi.ChainEpoch, commD cid.Cid) sector {
	s.t.Helper()
	ticket, err := s.c.StateGetRandomnessFromTickets(ctx, crypto.DomainSeparationTag_SealRandomness, ticketEpoch, minerEntropy(s.t, testMiner), chain.EmptyTSK)
	if err != nil {
		s.t.Fatal(err)
	}
	d, err := commcid.CIDToDataCommitmentV1(commD)
	if err != nil {
		s.t.Fatal(err)
	}
	var commDb [32]byte
	copy(commDb[:], d)
	commR := mockproof.CommR(proof2KiB, abi.SectorID{Miner: testActor, Number: num}, ticket, commDb)
	sealed, err := commcid.ReplicaCommitmentV1ToCID(commR[:])
	if err != nil {
		s.t.Fatal(err)
	}
	return sector{num: num, ticketEpoch: ticketEpoch, ticket: ticket, commD: commD, sealed: sealed}
}

// expiration is a valid expiration for a pre-commit executed at the next height.
func (s *sim) expiration() abi.ChainEpoch {
	return s.c.Head() + 1 + maxProveCommit + miner.MinSectorExpiration + 1000
}

func (s *sim) info(sec sector) miner.SectorPreCommitInfo {
	return miner.SectorPreCommitInfo{
		SealProof:     proof2KiB,
		SectorNumber:  sec.num,
		SealedCID:     sec.sealed,
		SealRandEpoch: sec.ticketEpoch,
		Expiration:    s.expiration(),
	}
}

// proof is the mock seal proof of a sector pre-committed at pcEpoch.
func (s *sim) proof(sec sector, pcEpoch abi.ChainEpoch) []byte {
	s.t.Helper()
	seed, err := s.c.StateGetRandomnessFromBeacon(ctx, crypto.DomainSeparationTag_InteractiveSealChallengeSeed, pcEpoch+delay, minerEntropy(s.t, testMiner), chain.EmptyTSK)
	if err != nil {
		s.t.Fatal(err)
	}
	commR, commD, err := sealverify.Commitments(sec.sealed, sec.commD)
	if err != nil {
		s.t.Fatal(err)
	}
	p, err := mockproof.SealProof(proof2KiB, abi.SectorID{Miner: testActor, Number: sec.num}, sec.ticket, seed, commR, commD)
	if err != nil {
		s.t.Fatal(err)
	}
	return p
}

func encode(t *testing.T, p cbg.CBORMarshaler) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := p.MarshalCBOR(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// push sends a message from the worker of f010000 and returns its CID.
func (s *sim) push(to address.Address, method abi.MethodNum, params []byte, value abi.TokenAmount) cid.Cid {
	return s.pushFrom(worker, to, method, params, value)
}

func (s *sim) pushFrom(from, to address.Address, method abi.MethodNum, params []byte, value abi.TokenAmount) cid.Cid {
	s.t.Helper()
	sm, err := s.c.MpoolPushMessage(ctx, &chain.Message{To: to, From: from, Value: value, Method: method, Params: params},
		&chain.MessageSendSpec{MsgUuid: uuid.New()})
	if err != nil {
		s.t.Fatal(err)
	}
	c, err := sm.Cid()
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

// execute mines one tipset and returns the message's lookup.
func (s *sim) execute(c cid.Cid) *chain.MsgLookup {
	s.t.Helper()
	s.advance(1)
	l, err := s.c.StateSearchMsg(ctx, chain.EmptyTSK, c, -1, false)
	if err != nil {
		s.t.Fatal(err)
	}
	if l == nil {
		s.t.Fatalf("message %s not executed", c)
	}
	return l
}

// reason is why the chain refused a message.
func (s *sim) reason(c cid.Cid) string {
	for _, m := range s.c.Messages() {
		if m.Cid == c {
			return m.Error
		}
	}
	s.t.Fatalf("message %s not pushed", c)
	return ""
}

func (s *sim) expectExit(c cid.Cid, code exitcode.ExitCode, reasonPart string) {
	s.t.Helper()
	l := s.execute(c)
	if l.Receipt.ExitCode != code {
		s.t.Fatalf("exit code %d (%s), want %d", l.Receipt.ExitCode, s.reason(c), code)
	}
	if r := s.reason(c); !bytes.Contains([]byte(r), []byte(reasonPart)) {
		s.t.Fatalf("reason %q does not contain %q", r, reasonPart)
	}
}

func (s *sim) preCommit(infos ...miner.SectorPreCommitInfo) cid.Cid {
	s.t.Helper()
	value := big.Mul(deposit2KiB, big.NewInt(int64(len(infos))))
	return s.push(testMiner, builtin.MethodsMiner.PreCommitSectorBatch2, encode(s.t, &miner.PreCommitSectorBatchParams2{Sectors: infos}), value)
}

// preCommitted pre-commits the sectors, checks it worked, and returns the pre-commit epoch.
func (s *sim) preCommitted(secs ...sector) abi.ChainEpoch {
	s.t.Helper()
	infos := make([]miner.SectorPreCommitInfo, len(secs))
	for i, sec := range secs {
		infos[i] = s.info(sec)
	}
	l := s.execute(s.preCommit(infos...))
	if l.Receipt.ExitCode != exitcode.Ok {
		s.t.Fatalf("pre-commit failed: exit %d", l.Receipt.ExitCode)
	}
	return l.Height
}

func (s *sim) funds(a abi.ActorID) simchain.Funds {
	s.t.Helper()
	f, ok := s.c.MinerFunds(a)
	if !ok {
		s.t.Fatalf("no miner f0%d", a)
	}
	return f
}

func equalFunds(t *testing.T, got simchain.Funds, balance, deposits, pledge abi.TokenAmount) {
	t.Helper()
	if !got.Balance.Equals(balance) || !got.PreCommitDeposits.Equals(deposits) || !got.InitialPledge.Equals(pledge) {
		t.Fatalf("funds: balance %s deposits %s pledge %s; want %s %s %s", got.Balance, got.PreCommitDeposits, got.InitialPledge, balance, deposits, pledge)
	}
}

func mul(a abi.TokenAmount, n int64) abi.TokenAmount { return big.Mul(a, big.NewInt(n)) }
