package allocator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-state-types/abi"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/config"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/sectors"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

// fakeChain knows the sector size of some miners and which numbers are allocated on chain.
type fakeChain struct {
	mu        sync.Mutex
	sizes     map[abi.ActorID]abi.SectorSize
	allocated map[abi.SectorID]bool
	infoErr   error
	allocErr  error
	infoCalls map[abi.ActorID]int
	// onAllocatedCheck runs inside StateMinerSectorAllocated.
	onAllocatedCheck func(sid abi.SectorID)
	checked          []abi.SectorID
}

func newFakeChain(sizes map[abi.ActorID]abi.SectorSize) *fakeChain {
	return &fakeChain{sizes: sizes, allocated: map[abi.SectorID]bool{}, infoCalls: map[abi.ActorID]int{}}
}

func actorOf(maddr address.Address) abi.ActorID {
	id, err := address.IDFromAddress(maddr)
	if err != nil {
		panic(err)
	}
	return abi.ActorID(id)
}

func (f *fakeChain) StateMinerInfo(ctx context.Context, maddr address.Address, tsk chain.TipSetKey) (chain.MinerInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(tsk) != 0 {
		return chain.MinerInfo{}, fmt.Errorf("tipset key %v, want the head's (empty)", tsk)
	}
	miner := actorOf(maddr)
	f.infoCalls[miner]++
	if f.infoErr != nil {
		return chain.MinerInfo{}, f.infoErr
	}
	size, ok := f.sizes[miner]
	if !ok {
		return chain.MinerInfo{}, fmt.Errorf("actor %d not found", miner)
	}
	return chain.MinerInfo{SectorSize: size}, nil
}

func (f *fakeChain) StateMinerSectorAllocated(ctx context.Context, maddr address.Address, num abi.SectorNumber, tsk chain.TipSetKey) (bool, error) {
	sid := abi.SectorID{Miner: actorOf(maddr), Number: num}
	if f.onAllocatedCheck != nil {
		f.onAllocatedCheck(sid)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checked = append(f.checked, sid)
	if f.allocErr != nil {
		return false, f.allocErr
	}
	return f.allocated[sid], nil
}

func u64(v uint64) *uint64 { return &v }

func miner(actor abi.ActorID, sector config.SectorConfig) config.MinerConfig {
	return config.MinerConfig{Actor: actor, Sector: sector}
}

// fixedMiners is a config getter over a list the test may change.
type fixedMiners struct {
	mu   sync.Mutex
	list []config.MinerConfig
}

func (m *fixedMiners) get() []config.MinerConfig {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]config.MinerConfig(nil), m.list...)
}

func (m *fixedMiners) set(list ...config.MinerConfig) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.list = list
}

func newAllocator(t *testing.T, c Chain, miners ...config.MinerConfig) (*Allocator, *sectors.Store, *fixedMiners) {
	t.Helper()
	store := sectors.New(statedb.InMemory())
	cfg := &fixedMiners{list: miners}
	return New(c, store, cfg.get, WithRand(func(int) int { return 0 })), store, cfg
}

func allocate(t *testing.T, a *Allocator, spec api.AllocateSectorSpec) *api.AllocatedSector {
	t.Helper()
	got, err := a.AllocateSector(context.Background(), spec)
	if err != nil {
		t.Fatalf("AllocateSector(%+v) = %v", spec, err)
	}
	return got
}

func describe(s *api.AllocatedSector) string {
	if s == nil {
		return "null"
	}
	return fmt.Sprintf("%s proof %d", api.FormatSectorID(s.ID), s.ProofType)
}

// observeLogs makes the package log into memory for the test.
func observeLogs(t *testing.T) *observer.ObservedLogs {
	core, logs := observer.New(zapcore.DebugLevel)
	old := log
	log = zap.New(core).Sugar()
	t.Cleanup(func() { log = old })
	return logs
}

const (
	kib2  = abi.SectorSize(2 << 10)
	gib32 = abi.SectorSize(32 << 30)
)

func TestAllocateNumbersFromInitNumberAndCreatesOnlineState(t *testing.T) {
	fc := newFakeChain(map[abi.ActorID]abi.SectorSize{1000: kib2})
	a, store, _ := newAllocator(t, fc, miner(1000, config.SectorConfig{Enabled: true, InitNumber: 10}))
	for _, want := range []string{"s-t01000-11 proof 5", "s-t01000-12 proof 5"} {
		got := allocate(t, a, api.AllocateSectorSpec{})
		if describe(got) != want {
			t.Fatalf("allocated %s, want %s", describe(got), want)
		}
		st, err := store.Online(got.ID)
		if err != nil || st.ID != got.ID || st.SectorType != abi.RegisteredSealProof_StackedDrg2KiBV1_1 {
			t.Fatalf("online state of %s = %+v, %v", api.FormatSectorID(got.ID), st, err)
		}
	}
	if last, _ := store.LastNumber(1000); last != 12 {
		t.Fatalf("stored counter = %d, want 12", last)
	}
	if got := fmt.Sprint(fc.checked); got != "[{1000 11} {1000 12}]" {
		t.Fatalf("chain checks = %s", got)
	}
}

func TestMinNumberOverridesInitNumber(t *testing.T) {
	fc := newFakeChain(map[abi.ActorID]abi.SectorSize{1000: kib2})
	a, _, _ := newAllocator(t, fc, miner(1000, config.SectorConfig{Enabled: true, InitNumber: 10, MinNumber: u64(100)}))
	if got := describe(allocate(t, a, api.AllocateSectorSpec{})); got != "s-t01000-101 proof 5" {
		t.Fatalf("allocated %s, want s-t01000-101", got)
	}
}

func TestSealProofFollowsTheSectorSize(t *testing.T) {
	fc := newFakeChain(map[abi.ActorID]abi.SectorSize{1000: gib32})
	a, _, _ := newAllocator(t, fc, miner(1000, config.SectorConfig{Enabled: true}))
	if got := describe(allocate(t, a, api.AllocateSectorSpec{})); got != "s-t01000-1 proof 8" {
		t.Fatalf("allocated %s, want s-t01000-1 proof 8 (32GiB V1_1)", got)
	}
}

func TestDisabledMinersAreSkippedWithAWarning(t *testing.T) {
	logs := observeLogs(t)
	fc := newFakeChain(map[abi.ActorID]abi.SectorSize{1000: kib2, 2000: kib2})
	a, _, cfg := newAllocator(t, fc,
		miner(1000, config.SectorConfig{Enabled: false}),
		miner(2000, config.SectorConfig{Enabled: true}))
	if got := describe(allocate(t, a, api.AllocateSectorSpec{})); got != "s-t02000-1 proof 5" {
		t.Fatalf("allocated %s, want s-t02000-1", got)
	}
	warned := logs.FilterMessage("sector allocator disabled").All()
	if len(warned) != 1 || warned[0].Level != zapcore.WarnLevel || fmt.Sprint(warned[0].ContextMap()["miner"]) != "1000" {
		t.Fatalf("warnings = %+v", warned)
	}
	if fc.infoCalls[1000] != 0 {
		t.Fatalf("disabled miner's info was read %d times", fc.infoCalls[1000])
	}
	// The config is read on every call: with 2000 disabled too, nothing is allocated.
	cfg.set(miner(1000, config.SectorConfig{Enabled: false}), miner(2000, config.SectorConfig{Enabled: false}))
	if got := allocate(t, a, api.AllocateSectorSpec{}); got != nil {
		t.Fatalf("all disabled: allocated %s", describe(got))
	}
}

func TestAllowedMinersAndProofTypesFilter(t *testing.T) {
	fc := newFakeChain(map[abi.ActorID]abi.SectorSize{1000: kib2, 2000: gib32})
	a, _, _ := newAllocator(t, fc,
		miner(1000, config.SectorConfig{Enabled: true}),
		miner(2000, config.SectorConfig{Enabled: true}))
	cases := []struct {
		spec api.AllocateSectorSpec
		want string
	}{
		{api.AllocateSectorSpec{AllowedMiners: []abi.ActorID{2000}}, "s-t02000-1 proof 8"},
		{api.AllocateSectorSpec{AllowedProofTypes: []abi.RegisteredSealProof{abi.RegisteredSealProof_StackedDrg2KiBV1_1}}, "s-t01000-1 proof 5"},
		{api.AllocateSectorSpec{AllowedMiners: []abi.ActorID{1000}, AllowedProofTypes: []abi.RegisteredSealProof{abi.RegisteredSealProof_StackedDrg32GiBV1_1}}, "null"},
		{api.AllocateSectorSpec{AllowedMiners: []abi.ActorID{3000}}, "null"},
		// The V1 proof of the same size is another proof type.
		{api.AllocateSectorSpec{AllowedProofTypes: []abi.RegisteredSealProof{abi.RegisteredSealProof_StackedDrg2KiBV1}}, "null"},
		// Empty lists allow anything; the (fixed) random pick takes the first candidate.
		{api.AllocateSectorSpec{AllowedMiners: []abi.ActorID{}, AllowedProofTypes: []abi.RegisteredSealProof{}}, "s-t01000-2 proof 5"},
	}
	for _, c := range cases {
		if got := describe(allocate(t, a, c.spec)); got != c.want {
			t.Errorf("spec %+v: allocated %s, want %s", c.spec, got, c.want)
		}
	}
	if fc.infoCalls[2000] != 1 || fc.infoCalls[1000] != 1 {
		t.Fatalf("miner info calls = %v, want one each (cached forever)", fc.infoCalls)
	}
}

func TestRandomCandidate(t *testing.T) {
	fc := newFakeChain(map[abi.ActorID]abi.SectorSize{1000: kib2, 2000: kib2, 3000: kib2})
	store := sectors.New(statedb.InMemory())
	miners := func() []config.MinerConfig {
		return []config.MinerConfig{
			miner(1000, config.SectorConfig{Enabled: true}),
			miner(2000, config.SectorConfig{Enabled: true}),
			miner(3000, config.SectorConfig{Enabled: true}),
		}
	}
	var asked []int
	picks := []int{2, 0, 1}
	a := New(fc, store, miners, WithRand(func(n int) int {
		asked = append(asked, n)
		p := picks[0]
		picks = picks[1:]
		return p
	}))
	var got []string
	for range 3 {
		got = append(got, describe(allocate(t, a, api.AllocateSectorSpec{})))
	}
	if want := "[s-t03000-1 proof 5 s-t01000-1 proof 5 s-t02000-1 proof 5]"; fmt.Sprint(got) != want {
		t.Fatalf("allocated %v, want %s", got, want)
	}
	if fmt.Sprint(asked) != "[3 3 3]" {
		t.Fatalf("random pick among %v candidates, want 3 each time", asked)
	}

	// With the real random source every miner gets sectors eventually.
	a = New(fc, store, miners)
	seen := map[abi.ActorID]bool{}
	for i := 0; i < 300 && len(seen) < 3; i++ {
		seen[allocate(t, a, api.AllocateSectorSpec{}).ID.Miner] = true
	}
	if len(seen) != 3 {
		t.Fatalf("300 allocations reached only miners %v", seen)
	}
}

func TestMaxNumberFallsThroughToOtherMinersThenNull(t *testing.T) {
	logs := observeLogs(t)
	fc := newFakeChain(map[abi.ActorID]abi.SectorSize{1000: kib2, 2000: kib2})
	a, store, _ := newAllocator(t, fc,
		miner(1000, config.SectorConfig{Enabled: true, InitNumber: 4, MaxNumber: u64(5), Verbose: true}),
		miner(2000, config.SectorConfig{Enabled: true, MaxNumber: u64(1)}))
	var got []string
	for range 4 {
		got = append(got, describe(allocate(t, a, api.AllocateSectorSpec{})))
	}
	// 1000 gets 5; then it is exhausted and 2000 gets 1; then both are.
	if want := "[s-t01000-5 proof 5 s-t02000-1 proof 5 null null]"; fmt.Sprint(got) != want {
		t.Fatalf("allocated %v, want %s", got, want)
	}
	if last, _ := store.LastNumber(1000); last != 5 {
		t.Fatalf("counter of 1000 = %d, want 5 (exhaustion consumes nothing)", last)
	}
	// Only the verbose miner logs its exhaustion: once per call that tried it.
	warned := logs.FilterMessage("max number exceeded").All()
	if len(warned) != 3 {
		t.Fatalf("%d max-number warnings, want 3", len(warned))
	}
	for _, w := range warned {
		if fmt.Sprint(w.ContextMap()["miner"]) != "1000" || fmt.Sprint(w.ContextMap()["max"]) != "5" {
			t.Fatalf("warning %v", w.ContextMap())
		}
	}
}

func TestNumberAllocatedOnChainIsConsumed(t *testing.T) {
	fc := newFakeChain(map[abi.ActorID]abi.SectorSize{1000: kib2})
	fc.allocated[abi.SectorID{Miner: 1000, Number: 1}] = true
	a, store, _ := newAllocator(t, fc, miner(1000, config.SectorConfig{Enabled: true}))
	var persisted uint64
	fc.onAllocatedCheck = func(sid abi.SectorID) {
		persisted, _ = store.LastNumber(sid.Miner)
	}

	got, err := a.AllocateSector(context.Background(), api.AllocateSectorSpec{})
	if got != nil || err == nil || err.Error() != "sector allocated: m-1000-s-1" || !errors.Is(err, ErrSectorAllocated) {
		t.Fatalf("AllocateSector = %s, %v; want the error sector allocated: m-1000-s-1", describe(got), err)
	}
	if persisted != 1 {
		t.Fatalf("counter during the chain check = %d, want 1 (persisted before the check)", persisted)
	}
	if _, err := store.Online(abi.SectorID{Miner: 1000, Number: 1}); !api.IsSectorStateNotFound(err) {
		t.Fatalf("refused sector has a state: %v", err)
	}
	// The retry gets the next number.
	if got := describe(allocate(t, a, api.AllocateSectorSpec{})); got != "s-t01000-2 proof 5" {
		t.Fatalf("retry allocated %s, want s-t01000-2", got)
	}
}

func TestChainCheckErrorKeepsTheNumberConsumed(t *testing.T) {
	fc := newFakeChain(map[abi.ActorID]abi.SectorSize{1000: kib2})
	fc.allocErr = &chain.NodeError{Addr: "http://127.0.0.1:1234/rpc/v1", Method: "Filecoin.StateMinerSectorAllocated", Err: errors.New("connection refused")}
	a, store, _ := newAllocator(t, fc, miner(1000, config.SectorConfig{Enabled: true}))
	_, err := a.AllocateSector(context.Background(), api.AllocateSectorSpec{})
	if err == nil || err.Error() != "full node http://127.0.0.1:1234/rpc/v1: Filecoin.StateMinerSectorAllocated: connection refused" {
		t.Fatalf("AllocateSector = %v", err)
	}
	if last, _ := store.LastNumber(1000); last != 1 {
		t.Fatalf("counter = %d, want 1", last)
	}
}

func TestMinerInfoIsCachedAfterTheFirstSuccessOnly(t *testing.T) {
	fc := newFakeChain(map[abi.ActorID]abi.SectorSize{1000: kib2})
	fc.infoErr = errors.New("node syncing")
	a, _, _ := newAllocator(t, fc, miner(1000, config.SectorConfig{Enabled: true}))
	if _, err := a.AllocateSector(context.Background(), api.AllocateSectorSpec{}); err == nil || err.Error() != "miner actor 1000: node syncing" {
		t.Fatalf("with the info call failing: %v", err)
	}
	fc.mu.Lock()
	fc.infoErr = nil
	fc.mu.Unlock()
	for range 3 {
		allocate(t, a, api.AllocateSectorSpec{})
	}
	if fc.infoCalls[1000] != 2 {
		t.Fatalf("info calls = %d, want 2 (the failure, then one success kept)", fc.infoCalls[1000])
	}
	if size, err := a.MinerInfos().SectorSize(context.Background(), 1000); err != nil || size != kib2 {
		t.Fatalf("SectorSize = %d, %v", size, err)
	}
}

func TestAMinerWhoseInfoFailsIsLeftOut(t *testing.T) {
	// 2000 is unknown to the chain; 1000 still gets sectors.
	fc := newFakeChain(map[abi.ActorID]abi.SectorSize{1000: kib2})
	a, _, _ := newAllocator(t, fc,
		miner(2000, config.SectorConfig{Enabled: true}),
		miner(1000, config.SectorConfig{Enabled: true}))
	if got := describe(allocate(t, a, api.AllocateSectorSpec{})); got != "s-t01000-1 proof 5" {
		t.Fatalf("allocated %s", got)
	}
	if _, err := a.AllocateSector(context.Background(), api.AllocateSectorSpec{AllowedMiners: []abi.ActorID{2000}}); err == nil ||
		err.Error() != "miner actor 2000: actor 2000 not found" {
		t.Fatalf("only the failing miner allowed: %v", err)
	}
}

func TestUnsupportedSectorSizeIsAnError(t *testing.T) {
	fc := newFakeChain(map[abi.ActorID]abi.SectorSize{1000: 1 << 10})
	a, _, _ := newAllocator(t, fc, miner(1000, config.SectorConfig{Enabled: true}))
	_, err := a.AllocateSector(context.Background(), api.AllocateSectorSpec{})
	if err == nil || err.Error() != "miner actor 1000: the chain gives it an invalid sector size: 1024 (want 2KiB, 8MiB, 512MiB, 32GiB or 64GiB)" {
		t.Fatalf("AllocateSector = %v", err)
	}
}

func TestNoMinersConfigured(t *testing.T) {
	a, _, _ := newAllocator(t, newFakeChain(nil))
	if got := allocate(t, a, api.AllocateSectorSpec{}); got != nil {
		t.Fatalf("allocated %s with no miner configured", describe(got))
	}
}

// A real full-node client that cannot reach its node: the error names the node and the method.
func TestNodeDownNamesNodeAndMethod(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + l.Addr().String() + "/rpc/v1"
	l.Close()
	node, err := chain.Dial(context.Background(), endpoint, "")
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close()
	a, _, _ := newAllocator(t, node, miner(1000, config.SectorConfig{Enabled: true}))
	_, err = a.AllocateSector(context.Background(), api.AllocateSectorSpec{})
	prefix := "miner actor 1000: full node " + endpoint + ": Filecoin.StateMinerInfo: "
	if err == nil || !strings.HasPrefix(err.Error(), prefix) || !chain.IsNodeError(err) {
		t.Fatalf("AllocateSector = %v, want an error starting %q", err, prefix)
	}
}

func TestConcurrentAllocationsAreDistinct(t *testing.T) {
	fc := newFakeChain(map[abi.ActorID]abi.SectorSize{1000: kib2, 2000: kib2})
	store := sectors.New(statedb.InMemory())
	miners := func() []config.MinerConfig {
		return []config.MinerConfig{miner(1000, config.SectorConfig{Enabled: true}), miner(2000, config.SectorConfig{Enabled: true})}
	}
	a := New(fc, store, miners)
	const n = 40
	got := make(chan abi.SectorID, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := a.AllocateSector(context.Background(), api.AllocateSectorSpec{})
			if err != nil || s == nil {
				t.Errorf("AllocateSector = %v, %v", s, err)
				return
			}
			got <- s.ID
		}()
	}
	wg.Wait()
	close(got)
	seen := map[abi.SectorID]bool{}
	for sid := range got {
		if seen[sid] {
			t.Fatalf("%s allocated twice", api.FormatSectorID(sid))
		}
		seen[sid] = true
	}
	l1, _ := store.LastNumber(1000)
	l2, _ := store.LastNumber(2000)
	if len(seen) != n || l1+l2 != n {
		t.Fatalf("%d sectors, counters %d+%d; want %d", len(seen), l1, l2, n)
	}
}
