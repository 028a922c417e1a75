package mock

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	commcid "github.com/filecoin-project/go-fil-commcid"
	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/api/mockproof"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

const (
	testMiner = abi.ActorID(10000)
	testSize  = abi.SectorSize(2 << 10)
	testProof = abi.RegisteredSealProof_StackedDrg2KiBV1_1
)

func newMock(t *testing.T) *Mock {
	t.Helper()
	m, err := New(testMiner, testSize)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

func allocate(t *testing.T, m *Mock) api.AllocatedSector {
	t.Helper()
	s, err := m.AllocateSector(context.Background(), api.AllocateSectorSpec{})
	if err != nil || s == nil {
		t.Fatalf("AllocateSector = %v, %v", s, err)
	}
	return *s
}

// zeroCommD2KiB builds the data commitment of 2KiB of zeros from first principles (a binary
// SHA-256 tree with the top two bits of every node cleared), independently of zerocomm.
func zeroCommD2KiB() [32]byte {
	var node [32]byte
	for level := 0; level < 6; level++ { // 64 leaves of 32 bytes
		node = sha256.Sum256(append(node[:], node[:]...))
		node[31] &= 0x3f
	}
	return node
}

// sealedPreCommit is what an honest worker submits for a CC sector after AssignTicket.
func sealedPreCommit(sid abi.SectorID, ticket api.Ticket) api.PreCommitOnChainInfo {
	commD := zeroCommD2KiB()
	return api.PreCommitOnChainInfo{
		CommR:  mockproof.CommR(testProof, sid, ticket.Ticket, commD),
		CommD:  commD,
		Ticket: ticket,
	}
}

func sealProof(t *testing.T, sid abi.SectorID, pre api.PreCommitOnChainInfo, seed api.Seed) []byte {
	t.Helper()
	proof, err := mockproof.SealProof(testProof, sid, pre.Ticket.Ticket, seed.Seed, pre.CommR, pre.CommD)
	if err != nil {
		t.Fatal(err)
	}
	return proof
}

func wantSectorNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !api.IsSectorStateNotFound(err) {
		t.Fatalf("%s: err = %v, want code 11001", what, err)
	}
	if err.Error() != "error code 11001: sector state not found" {
		t.Fatalf("%s: message = %q", what, err.Error())
	}
}

func TestNewRejectsInvalidSectorSize(t *testing.T) {
	_, err := New(testMiner, 3<<10)
	if err == nil || !strings.Contains(err.Error(), "invalid sector size: 3072") {
		t.Fatalf("New(3KiB) err = %v", err)
	}
}

func TestAllocateSectorNumbersFromOne(t *testing.T) {
	m := newMock(t)
	for want := abi.SectorNumber(1); want <= 3; want++ {
		s := allocate(t, m)
		if s.ID != (abi.SectorID{Miner: testMiner, Number: want}) || s.ProofType != testProof {
			t.Fatalf("allocation %d = %+v", want, s)
		}
		st, online, found := m.Sector(s.ID)
		if !found || !online || st.ID != s.ID || st.SectorType != testProof || st.Finalized {
			t.Fatalf("state of %v = %+v online=%v found=%v", s.ID, st, online, found)
		}
	}
}

func TestAllocateSectorFilters(t *testing.T) {
	m := newMock(t)
	ctx := context.Background()
	refused := []api.AllocateSectorSpec{
		{AllowedMiners: []abi.ActorID{1000}},
		{AllowedProofTypes: []abi.RegisteredSealProof{abi.RegisteredSealProof_StackedDrg32GiBV1_1}},
		{AllowedMiners: []abi.ActorID{testMiner}, AllowedProofTypes: []abi.RegisteredSealProof{abi.RegisteredSealProof_StackedDrg2KiBV1}},
	}
	for _, spec := range refused {
		if s, err := m.AllocateSector(ctx, spec); s != nil || err != nil {
			t.Fatalf("AllocateSector(%+v) = %+v, %v; want null", spec, s, err)
		}
	}
	s, err := m.AllocateSector(ctx, api.AllocateSectorSpec{
		AllowedMiners:     []abi.ActorID{1000, testMiner},
		AllowedProofTypes: []abi.RegisteredSealProof{testProof},
	})
	if err != nil || s == nil || s.ID.Number != 1 {
		t.Fatalf("matching filters: %+v, %v; want sector 1 (refusals take no number)", s, err)
	}
	if got := len(m.Sectors(false)); got != 1 {
		t.Fatalf("%d online sectors, want 1", got)
	}
}

func TestConcurrentAllocationsGetDistinctNumbers(t *testing.T) {
	m := newMock(t)
	const n = 40
	var wg sync.WaitGroup
	numbers := make(chan abi.SectorNumber, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := m.AllocateSector(context.Background(), api.AllocateSectorSpec{})
			if err == nil && s != nil {
				numbers <- s.ID.Number
			}
		}()
	}
	wg.Wait()
	close(numbers)
	seen := map[abi.SectorNumber]bool{}
	for num := range numbers {
		if num < 1 || num > n || seen[num] {
			t.Fatalf("number %d out of range or repeated", num)
		}
		seen[num] = true
	}
	if len(seen) != n {
		t.Fatalf("%d distinct numbers, want %d", len(seen), n)
	}
}

// waitLanded polls the pre-commit (or the proof) of sid until it landed: the commitment manager
// pushes a message after the submission returns, and the mock's chain mines it on the push.
func waitLanded(t *testing.T, m *Mock, sid abi.SectorID, proof bool) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var state api.OnChainState
		if proof {
			st, err := m.PollProofState(ctx, sid)
			if err != nil {
				t.Fatal(err)
			}
			state = st.State
		} else {
			st, err := m.PollPreCommitState(ctx, sid)
			if err != nil {
				t.Fatal(err)
			}
			state = st.State
		}
		if state == api.OnChainLanded {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v: still %v after 10s (proof=%v)", sid, state, proof)
		}
		time.Sleep(5 * time.Millisecond) // polling, as a worker does; the deadline bounds it
	}
}

// preCommitted assigns sid a ticket and lands an honest CC pre-commit for it.
func preCommitted(t *testing.T, m *Mock, sector api.AllocatedSector) api.PreCommitOnChainInfo {
	t.Helper()
	ticket, err := m.AssignTicket(context.Background(), sector.ID)
	if err != nil {
		t.Fatal(err)
	}
	info := sealedPreCommit(sector.ID, ticket)
	if r, err := m.SubmitPreCommit(context.Background(), sector, info, false); err != nil || r.Res != api.SubmitAccepted {
		t.Fatalf("pre-commit = %+v, %v", r, err)
	}
	waitLanded(t, m, sector.ID, false)
	return info
}

// Tickets and seeds are the simulated chain's randomness: a ticket is drawn afresh at every
// AssignTicket, 900 epochs behind the head (the chain starts at 2000), and is the same for every
// sector of the miner at one head; a seed exists once the pre-commit landed, at its epoch (the
// mock's chain has no challenge delay).
func TestTicketsAndSeedsComeFromTheChain(t *testing.T) {
	m := newMock(t)
	ctx := context.Background()
	a, b := allocate(t, m), allocate(t, m)

	ta, err := m.AssignTicket(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	tb, _ := m.AssignTicket(ctx, b.ID)
	if len(ta.Ticket) != 32 || ta.Epoch != 1100 {
		t.Fatalf("ticket = %+v, want 32 bytes at epoch 1100", ta)
	}
	if !bytes.Equal(ta.Ticket, tb.Ticket) || tb.Epoch != 1100 {
		t.Fatal("two sectors of one miner at one head got different tickets")
	}
	if err := m.Chain().Advance(1); err != nil {
		t.Fatal(err)
	}
	again, _ := m.AssignTicket(ctx, a.ID)
	if again.Epoch != 1101 || bytes.Equal(again.Ticket, ta.Ticket) {
		t.Fatalf("AssignTicket one epoch later = %+v; want a new ticket at 1101", again)
	}
	if st, _, _ := m.Sector(a.ID); st.Ticket == nil || !bytes.Equal(st.Ticket.Ticket, again.Ticket) {
		t.Fatalf("state keeps ticket %+v, want the latest", st.Ticket)
	}

	_, err = m.WaitSeed(ctx, a.ID)
	if err == nil || err.Error() != "sector s-t010000-1: no pre-commit on chain yet (Filecoin.StateSectorPreCommitInfo returned null); retry later" {
		t.Fatalf("WaitSeed before the pre-commit: %v", err)
	}
	preCommitted(t, m, a)
	pci := m.Chain().PreCommit(testMiner, a.ID.Number)
	sa, err := m.WaitSeed(ctx, a.ID)
	if err != nil || sa.ShouldWait || sa.Seed == nil || len(sa.Seed.Seed) != 32 || sa.Seed.Epoch != pci.PreCommitEpoch {
		t.Fatalf("WaitSeed = %+v, %v; want a seed at the pre-commit epoch %d", sa, err, pci.PreCommitEpoch)
	}
	if bytes.Equal(sa.Seed.Seed, again.Ticket) {
		t.Fatal("the seed equals the ticket")
	}
	if sa2, _ := m.WaitSeed(ctx, a.ID); !bytes.Equal(sa.Seed.Seed, sa2.Seed.Seed) {
		t.Fatal("a repeated WaitSeed changed the sector's seed")
	}
	if st, _, _ := m.Sector(a.ID); st.Seed == nil || !bytes.Equal(st.Seed.Seed, sa.Seed.Seed) {
		t.Fatalf("state does not keep the seed: %+v", st.Seed)
	}
}

func TestSubmitPreCommitAcceptsRepeatsAndResets(t *testing.T) {
	m := newMock(t)
	ctx := context.Background()
	sector := allocate(t, m)
	ticket, _ := m.AssignTicket(ctx, sector.ID)
	info := sealedPreCommit(sector.ID, ticket)

	if st, _ := m.PollPreCommitState(ctx, sector.ID); st.State != api.OnChainFailed || st.Desc == nil || *st.Desc != "attempt to publish message but failed" {
		t.Fatalf("poll before submit = %+v, want Failed (nothing was sent)", st)
	}
	if resp, err := m.SubmitPreCommit(ctx, sector, info, false); err != nil || resp.Res != api.SubmitAccepted || resp.Desc != nil {
		t.Fatalf("submit = %+v, %v", resp, err)
	}
	waitLanded(t, m, sector.ID, false)
	for _, reset := range []bool{false, true} {
		if resp, err := m.SubmitPreCommit(ctx, sector, info, reset); err != nil || resp.Res != api.SubmitAccepted || resp.Desc != nil {
			t.Fatalf("identical repeat (reset=%v) = %+v, %v; want Accepted", reset, resp, err)
		}
	}
	other := info
	other.CommR[0] ^= 1
	if resp, _ := m.SubmitPreCommit(ctx, sector, other, false); resp.Res != api.SubmitMismatchedSubmission {
		t.Fatalf("a different pre-commit without reset = %+v, want MismatchedSubmission", resp)
	}
	if st, _ := m.PollPreCommitState(ctx, sector.ID); st.State != api.OnChainLanded || st.Desc != nil {
		t.Fatalf("poll after submit = %+v, want Landed", st)
	}

	st, _, _ := m.Sector(sector.ID)
	wantR, _ := commcid.ReplicaCommitmentV1ToCID(info.CommR[:])
	wantD, _ := commcid.DataCommitmentV1ToCID(info.CommD[:])
	if st.Pre == nil || st.Pre.CommR != wantR || st.Pre.CommD != wantD || !bytes.Equal(st.Pre.Ticket.Ticket, ticket.Ticket) {
		t.Fatalf("stored pre-commit = %+v", st.Pre)
	}
	if pci := m.Chain().PreCommit(testMiner, sector.ID.Number); pci == nil || pci.Info.SealedCID != wantR || pci.Info.SealRandEpoch != 1100 {
		t.Fatalf("pre-commit on chain = %+v", pci)
	}
}

func TestSubmitPreCommitRejectsWhatDiffers(t *testing.T) {
	m := newMock(t)
	ctx := context.Background()
	sector := allocate(t, m)
	ticket, _ := m.AssignTicket(ctx, sector.ID)
	good := sealedPreCommit(sector.ID, ticket)

	wrongCommD := sealedPreCommit(sector.ID, ticket)
	wrongCommD.CommD[0] ^= 1
	wrongCommD.CommR = mockproof.CommR(testProof, sector.ID, ticket.Ticket, wrongCommD.CommD)

	cases := []struct {
		name string
		info api.PreCommitOnChainInfo
		desc string
	}{
		{"non-zero CommD", wrongCommD, "CommD "},
		{"a CommD that is no CID", api.PreCommitOnChainInfo{CommR: good.CommR, Ticket: ticket}, "CommD "},
	}
	for _, c := range cases {
		for _, reset := range []bool{false, true} {
			resp, err := m.SubmitPreCommit(ctx, sector, c.info, reset)
			if err != nil || resp.Res != api.SubmitRejected || resp.Desc == nil || !strings.HasPrefix(*resp.Desc, c.desc) {
				t.Fatalf("%s (reset=%v) = %+v, %v; want Rejected starting %q", c.name, reset, resp, err, c.desc)
			}
		}
	}
	if st, _, _ := m.Sector(sector.ID); st.Pre != nil {
		t.Fatalf("a rejected pre-commit was kept: %+v", st.Pre)
	}

	// A rejection after an accepted submission leaves the accepted one in place.
	preCommitted(t, m, sector)
	if resp, _ := m.SubmitPreCommit(ctx, sector, wrongCommD, true); resp.Res != api.SubmitRejected {
		t.Fatalf("bad reset = %+v, want Rejected", resp)
	}
	st, _, _ := m.Sector(sector.ID)
	if want, _ := commcid.ReplicaCommitmentV1ToCID(good.CommR[:]); st.Pre.CommR != want {
		t.Fatal("a rejected reset replaced the accepted pre-commit")
	}
}

func TestSubmitProof(t *testing.T) {
	m := newMock(t)
	ctx := context.Background()
	sector := allocate(t, m)

	resp, err := m.SubmitProof(ctx, sector.ID, api.ProofOnChainInfo{Proof: []byte("x")}, false)
	if err != nil || resp.Res != api.SubmitRejected || resp.Desc == nil || *resp.Desc != "pre-commit info not found on chain" {
		t.Fatalf("proof before pre-commit = %+v, %v", resp, err)
	}
	info := preCommitted(t, m, sector)
	seed, _ := m.WaitSeed(ctx, sector.ID)
	proof := sealProof(t, sector.ID, info, *seed.Seed)
	if len(proof) != 192 {
		t.Fatalf("mock proof is %d bytes, want 192 for 2KiB", len(proof))
	}

	wrong := append([]byte{}, proof...)
	wrong[100] ^= 1
	otherSeed := *seed.Seed
	otherSeed.Seed = make([]byte, 32)
	for name, bad := range map[string][]byte{
		"flipped byte": wrong,
		"short":        proof[:191],
		"wrong seed":   sealProof(t, sector.ID, info, otherSeed),
	} {
		resp, err := m.SubmitProof(ctx, sector.ID, api.ProofOnChainInfo{Proof: bad}, false)
		want := fmt.Sprintf("invalid proof: the mock verifier rejects the %d-byte proof of the pre-committed sector", len(bad))
		if err != nil || resp.Res != api.SubmitRejected || resp.Desc == nil || *resp.Desc != want {
			t.Fatalf("%s proof = %+v, %v; want Rejected %q", name, resp, err, want)
		}
	}
	if st, _ := m.PollProofState(ctx, sector.ID); st.State == api.OnChainLanded {
		t.Fatalf("poll before an accepted proof = %v", st.State)
	}

	if resp, err := m.SubmitProof(ctx, sector.ID, api.ProofOnChainInfo{Proof: proof}, false); err != nil || resp.Res != api.SubmitAccepted {
		t.Fatalf("proof = %+v, %v", resp, err)
	}
	waitLanded(t, m, sector.ID, true)
	if resp, _ := m.SubmitProof(ctx, sector.ID, api.ProofOnChainInfo{Proof: proof}, false); resp.Res != api.SubmitAccepted {
		t.Fatalf("identical repeat = %+v, want Accepted", resp)
	}
	if resp, _ := m.SubmitProof(ctx, sector.ID, api.ProofOnChainInfo{Proof: wrong}, false); resp.Res != api.SubmitMismatchedSubmission {
		t.Fatalf("different proof without reset = %+v, want MismatchedSubmission", resp)
	}
	if st, _, _ := m.Sector(sector.ID); st.Proof == nil || !bytes.Equal(st.Proof.Proof, proof) {
		t.Fatalf("stored proof = %+v", st.Proof)
	}
	if on := m.Chain().Sector(testMiner, sector.ID.Number); on == nil {
		t.Fatal("the proven sector is not on chain")
	}
}

// sectorCalls are every call that must answer 11001 for a sector that is not online.
func sectorCalls(m *Mock, sid abi.SectorID) map[string]func() error {
	ctx := context.Background()
	return map[string]func() error{
		"AcquireDeals": func() error { _, err := m.AcquireDeals(ctx, sid, api.AcquireDealsSpec{}); return err },
		"AssignTicket": func() error { _, err := m.AssignTicket(ctx, sid); return err },
		"SubmitPreCommit": func() error {
			_, err := m.SubmitPreCommit(ctx, api.AllocatedSector{ID: sid, ProofType: testProof}, api.PreCommitOnChainInfo{}, true)
			return err
		},
		"PollPreCommitState": func() error { _, err := m.PollPreCommitState(ctx, sid); return err },
		"SubmitPersisted":    func() error { _, err := m.SubmitPersisted(ctx, sid, "store1"); return err },
		"WaitSeed":           func() error { _, err := m.WaitSeed(ctx, sid); return err },
		"SubmitProof":        func() error { _, err := m.SubmitProof(ctx, sid, api.ProofOnChainInfo{}, true); return err },
		"PollProofState":     func() error { _, err := m.PollProofState(ctx, sid); return err },
		"ReportState":        func() error { return m.ReportState(ctx, sid, api.ReportStateReq{}) },
		"ReportFinalized":    func() error { return m.ReportFinalized(ctx, sid) },
		"ReportAborted":      func() error { return m.ReportAborted(ctx, sid, "again") },
		"StoreReserveSpace": func() error {
			_, err := m.StoreReserveSpace(ctx, sid, 1, []string{"store1"})
			return err
		},
	}
}

func TestUnknownSectorIsNotFound(t *testing.T) {
	m := newMock(t)
	allocate(t, m)
	for name, call := range sectorCalls(m, abi.SectorID{Miner: testMiner, Number: 99}) {
		wantSectorNotFound(t, name, call())
	}
}

func TestFinalizedSectorGoesOffline(t *testing.T) {
	m := newMock(t)
	ctx := context.Background()
	sid := allocate(t, m).ID
	report := api.ReportStateReq{
		Worker:      api.WorkerIdentifier{Instance: "127.0.0.1", Location: "/store/1"},
		StateChange: api.SectorStateChange{Prev: "ProofSubmitted", Next: "Finished", Event: "Finish"},
	}
	if err := m.ReportState(ctx, sid, api.ReportStateReq{StateChange: api.SectorStateChange{Prev: "Empty", Next: "Allocated"}}); err != nil {
		t.Fatal(err)
	}
	if err := m.ReportState(ctx, sid, report); err != nil {
		t.Fatal(err)
	}
	if err := m.ReportFinalized(ctx, sid); err != nil {
		t.Fatal(err)
	}

	st, online, found := m.Sector(sid)
	if !found || online || !st.Finalized || st.AbortReason != "" {
		t.Fatalf("after finalize: %+v online=%v found=%v", st, online, found)
	}
	if st.LatestState == nil || *st.LatestState != report {
		t.Fatalf("latest state = %+v, want the last report", st.LatestState)
	}
	if len(m.Sectors(false)) != 0 || len(m.Sectors(true)) != 1 {
		t.Fatal("the finalized sector must be only in the offline store")
	}
	for name, call := range sectorCalls(m, sid) {
		if name == "ReportFinalized" {
			// A repeat (its first reply lost) is acknowledged, never 11001.
			if err := call(); err != nil {
				t.Errorf("repeated ReportFinalized: %v", err)
			}
			continue
		}
		wantSectorNotFound(t, name+" after finalize", call())
	}
}

func TestAbortedSectorGoesOfflineWithReason(t *testing.T) {
	m := newMock(t)
	sid := allocate(t, m).ID
	if err := m.ReportAborted(context.Background(), sid, "pc1 failed"); err != nil {
		t.Fatal(err)
	}
	st, online, found := m.Sector(sid)
	if !found || online || !st.Finalized || st.AbortReason != "pc1 failed" {
		t.Fatalf("after abort: %+v online=%v found=%v", st, online, found)
	}
	for name, call := range sectorCalls(m, sid) {
		if name == "ReportAborted" {
			// A repeat is acknowledged and keeps the first reason.
			if err := call(); err != nil {
				t.Errorf("repeated ReportAborted: %v", err)
			}
			continue
		}
		wantSectorNotFound(t, name+" after abort", call())
	}
	if st, _, _ := m.Sector(sid); st.AbortReason != "pc1 failed" {
		t.Errorf("abort reason after a repeat = %q", st.AbortReason)
	}
}

func TestSectorsAreInStoreKeyOrder(t *testing.T) {
	m := newMock(t)
	for i := 0; i < 11; i++ {
		allocate(t, m)
	}
	var got []string
	for _, st := range m.Sectors(false) {
		got = append(got, fmt.Sprint(st.ID.Number))
	}
	if want := "1 10 11 2 3 4 5 6 7 8 9"; strings.Join(got, " ") != want {
		t.Fatalf("order = %v, want %s", got, want)
	}
}

func TestStores(t *testing.T) {
	m := newMock(t)
	ctx := context.Background()
	sid := allocate(t, m).ID

	if info, err := m.StoreReserveSpace(ctx, sid, 2048, nil); info != nil || err != nil {
		t.Fatalf("no candidates = %+v, %v; want null", info, err)
	}
	info, err := m.StoreReserveSpace(ctx, sid, 2048, []string{"a", "b"})
	if err != nil || info == nil || (info.Name != "a" && info.Name != "b") || info.Path != info.Name || info.Meta == nil || len(info.Meta) != 0 {
		t.Fatalf("reserve = %+v, %v", info, err)
	}
	info, err = m.StoreBasicInfo(ctx, "store1")
	if err != nil || info == nil || info.Name != "store1" || info.Path != "store1" || info.Meta == nil {
		t.Fatalf("basic info = %+v, %v", info, err)
	}
	if ok, err := m.SubmitPersisted(ctx, sid, "store1"); !ok || err != nil {
		t.Fatalf("SubmitPersisted = %v, %v", ok, err)
	}
	if deals, err := m.AcquireDeals(ctx, sid, api.AcquireDealsSpec{}); deals != nil || err != nil {
		t.Fatalf("AcquireDeals = %v, %v; want null", deals, err)
	}
}

// Without a pieces dir there is nothing to snap up; a snap-up proof of a sector that was not
// handed out is refused.
func TestSnapUpIsIdleWithoutDeals(t *testing.T) {
	m := newMock(t)
	ctx := context.Background()
	if s, err := m.AllocateSanpUpSector(ctx, api.AllocateSnapUpSpec{}); s != nil || err != nil {
		t.Fatalf("AllocateSanpUpSector = %+v, %v", s, err)
	}
	_, err := m.SubmitSnapUpProof(ctx, abi.SectorID{Miner: testMiner, Number: 1}, api.SnapUpOnChainInfo{})
	wantSectorNotFound(t, "SubmitSnapUpProof of an unknown sector", err)
	sid := allocate(t, m).ID
	r, err := m.SubmitSnapUpProof(ctx, sid, api.SnapUpOnChainInfo{Proof: []byte{1}})
	if err != nil || r.Res != api.SubmitRejected || r.Desc == nil || *r.Desc != "sector is not being upgraded: AllocateSanpUpSector did not hand it out" {
		t.Fatalf("SubmitSnapUpProof of a sealing sector = %+v, %v", r, err)
	}
}

func TestWorkerPingRegistry(t *testing.T) {
	m := newMock(t)
	ctx := context.Background()

	for _, c := range []struct {
		info api.WorkerInfo
		want string
	}{
		{api.WorkerInfo{Dest: "127.0.0.1:17890"}, "worker name is required"},
		{api.WorkerInfo{Name: "w1"}, "worker dest is required"},
	} {
		if err := m.WorkerPing(ctx, c.info); err == nil || err.Error() != c.want {
			t.Fatalf("WorkerPing(%+v) err = %v, want %q", c.info, err, c.want)
		}
	}
	if list, _ := m.WorkerPingInfoList(ctx); len(list) != 0 {
		t.Fatalf("invalid pings were stored: %+v", list)
	}

	before := time.Now().Unix()
	first := api.WorkerInfo{Name: "w2", Dest: "10.0.0.2:17890", Summary: api.WorkerInfoSummary{Threads: 1}}
	latest := api.WorkerInfo{Name: "w2", Dest: "10.0.0.2:17890", Summary: api.WorkerInfoSummary{Threads: 3, Paused: 1}}
	for _, info := range []api.WorkerInfo{first, {Name: "w10", Dest: "10.0.0.10:17890"}, {Name: "w1", Dest: "10.0.0.1:17890"}, latest} {
		if err := m.WorkerPing(ctx, info); err != nil {
			t.Fatal(err)
		}
	}
	after := time.Now().Unix()

	got, err := m.WorkerGetPingInfo(ctx, "w2")
	if err != nil || got == nil || got.Info != latest || got.LastPing < before || got.LastPing > after {
		t.Fatalf("WorkerGetPingInfo(w2) = %+v, %v; want the latest ping stamped in [%d, %d]", got, err, before, after)
	}
	if got, err := m.WorkerGetPingInfo(ctx, "nobody"); got != nil || err != nil {
		t.Fatalf("unknown worker = %+v, %v; want null", got, err)
	}
	list, _ := m.WorkerPingInfoList(ctx)
	var names []string
	for _, w := range list {
		names = append(names, w.Info.Name)
	}
	if strings.Join(names, " ") != "w1 w10 w2" {
		t.Fatalf("list order = %v, want w1 w10 w2", names)
	}
}

// TestStateSurvivesReopenOfItsHome: with a home, everything a worker relies on after a manager
// restart is still there: numbers, tickets, seeds, landed pre-commits and proofs, reports,
// finalized sectors and the worker registry.
func TestStateSurvivesReopenOfItsHome(t *testing.T) {
	home := t.TempDir()
	ctx := context.Background()
	open := func() (*Mock, func()) {
		db, err := statedb.OpenHome(home)
		if err != nil {
			t.Fatal(err)
		}
		m, err := New(testMiner, testSize, WithDB(db), WithHome(home))
		if err != nil {
			t.Fatal(err)
		}
		return m, func() { m.Close(); db.Close() }
	}

	m, closeDB := open()
	sealed, finished := allocate(t, m), allocate(t, m)
	pre := preCommitted(t, m, sealed)
	ticket := pre.Ticket
	seed, _ := m.WaitSeed(ctx, sealed.ID)
	proof := sealProof(t, sealed.ID, pre, *seed.Seed)
	if r, _ := m.SubmitProof(ctx, sealed.ID, api.ProofOnChainInfo{Proof: proof}, false); r.Res != api.SubmitAccepted {
		t.Fatalf("proof = %+v", r)
	}
	waitLanded(t, m, sealed.ID, true)
	report := api.ReportStateReq{StateChange: api.SectorStateChange{Prev: "C2Done", Next: "ProofSubmitted", Event: "None"}}
	if err := m.ReportState(ctx, sealed.ID, report); err != nil {
		t.Fatal(err)
	}
	if err := m.ReportFinalized(ctx, finished.ID); err != nil {
		t.Fatal(err)
	}
	if err := m.WorkerPing(ctx, api.WorkerInfo{Name: "w1", Dest: "10.0.0.1:17890"}); err != nil {
		t.Fatal(err)
	}
	closeDB()

	m, closeDB = open()
	defer closeDB()
	if st, _, _ := m.Sector(sealed.ID); st.Ticket == nil || !bytes.Equal(st.Ticket.Ticket, ticket.Ticket) || st.Ticket.Epoch != ticket.Epoch {
		t.Fatal("the ticket changed across a restart")
	}
	if st, _, _ := m.Sector(sealed.ID); st.Seed == nil || !bytes.Equal(st.Seed.Seed, seed.Seed.Seed) {
		t.Fatal("the seed changed across a restart")
	}
	if st, _ := m.PollProofState(ctx, sealed.ID); st.State != api.OnChainLanded {
		t.Fatalf("proof after restart = %v, want Landed", st.State)
	}
	if r, _ := m.SubmitProof(ctx, sealed.ID, api.ProofOnChainInfo{Proof: proof}, false); r.Res != api.SubmitAccepted {
		t.Fatalf("resubmitted proof after restart = %+v, want Accepted", r)
	}
	if m.Chain().Head() < 2002 || m.Chain().Sector(testMiner, sealed.ID.Number) == nil {
		t.Fatalf("the simulated chain did not survive the restart: head %d", m.Chain().Head())
	}
	if st, online, _ := m.Sector(sealed.ID); !online || st.LatestState == nil || *st.LatestState != report {
		t.Fatalf("latest state after restart = %+v", st.LatestState)
	}
	if st, online, found := m.Sector(finished.ID); !found || online || !st.Finalized {
		t.Fatal("the finalized sector is not offline after restart")
	}
	if next := allocate(t, m); next.ID.Number != 3 {
		t.Fatalf("first number after restart = %d, want 3", next.ID.Number)
	}
	if w, _ := m.WorkerGetPingInfo(ctx, "w1"); w == nil || w.Info.Dest != "10.0.0.1:17890" {
		t.Fatalf("worker registry after restart = %+v", w)
	}
}

// With a seed delay the chain mines one 1s epoch a second and its challenge delay is the delay
// in epochs: a landed pre-commit waits about that long for its seed, told in seconds.
func TestSeedDelayMakesSectorsWait(t *testing.T) {
	m, err := New(10000, 2<<10, WithSeedDelay(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	s := allocate(t, m)
	preCommitted(t, m, s)
	resp, err := m.WaitSeed(ctx, s.ID)
	if err != nil || !resp.ShouldWait || resp.Delay < 7 || resp.Delay > 10 || resp.Seed != nil {
		t.Fatalf("first WaitSeed = %+v, %v; want a wait of about 10s", resp, err)
	}
	if err := m.Chain().Advance(10); err != nil {
		t.Fatal(err)
	}
	pci := m.Chain().PreCommit(10000, s.ID.Number)
	if resp, _ := m.WaitSeed(ctx, s.ID); resp.ShouldWait || resp.Seed == nil || resp.Seed.Epoch != pci.PreCommitEpoch+10 {
		t.Fatalf("WaitSeed after the delay = %+v, want the seed of epoch %d", resp, pci.PreCommitEpoch+10)
	}
	if _, err := m.WaitSeed(ctx, abi.SectorID{Miner: 10000, Number: 99}); !api.IsSectorStateNotFound(err) {
		t.Fatalf("unknown sector: %v", err)
	}
}

// Workers with mock proofs accept only a manager whose version ends with the mock chain tag.
func TestVersionEndsWithTheMockChainTag(t *testing.T) {
	m := newMock(t)
	v, err := m.Version(context.Background())
	if err != nil || !strings.HasSuffix(v, " "+api.MockChainTag) || !strings.HasPrefix(v, "venus-sector-manager ") {
		t.Fatalf("Version = %q, %v; want venus-sector-manager … %s", v, err, api.MockChainTag)
	}
}

// A mock without --home forgets its numbers when it restarts, while its workers still hold the
// sectors it handed out: any call naming a sector it does not know makes that number used, so
// the next allocation is above it and cannot seal over the worker's files.
func TestUnknownSectorNumbersAreNeverHandedOut(t *testing.T) {
	for name := range sectorCalls(newMock(t), abi.SectorID{}) {
		t.Run(name, func(t *testing.T) {
			m := newMock(t)
			reported := abi.SectorID{Miner: testMiner, Number: 41}
			wantSectorNotFound(t, name, sectorCalls(m, reported)[name]())
			if got := allocate(t, m); got.ID.Number != 42 {
				t.Fatalf("after %s named sector 41, AllocateSector gave number %d, want 42", name, got.ID.Number)
			}
			// A lower unknown number does not move the counter back.
			wantSectorNotFound(t, name, sectorCalls(m, abi.SectorID{Miner: testMiner, Number: 7})[name]())
			if got := allocate(t, m); got.ID.Number != 43 {
				t.Fatalf("after sector 7, AllocateSector gave number %d, want 43", got.ID.Number)
			}
		})
	}
}
