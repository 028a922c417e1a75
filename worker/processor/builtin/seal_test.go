package builtin

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api/mockproof"
	"github.com/ipfs-force-community/venus-cluster-go/worker/processor"
	"github.com/ipfs-force-community/venus-cluster-go/worker/processor/treed"
)

const (
	proof2KiB = abi.RegisteredSealProof_StackedDrg2KiBV1_1
	size2KiB  = abi.SectorSize(2 << 10)
	testMiner = abi.ActorID(10000)
)

// sector lays out one sector's files as a sealing thread does (spec §4.2).
type sector struct {
	staged, prepared, cache, sealed string
	proverID, ticket, seed          [32]byte
	number                          abi.SectorNumber
}

func newSector(t *testing.T) *sector {
	t.Helper()
	data := filepath.Join(t.TempDir(), "data")
	s := &sector{
		staged:   filepath.Join(data, "unsealed", "s-t010000-7"),
		prepared: filepath.Join(data, "prepared", "s-t010000-7"),
		cache:    filepath.Join(data, "cache", "s-t010000-7"),
		sealed:   filepath.Join(data, "sealed", "s-t010000-7"),
		number:   7,
	}
	for _, d := range []string{filepath.Dir(s.staged), s.prepared, s.cache, filepath.Dir(s.sealed)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// A CC staged file: sized to the sector, never written.
	f, err := os.Create(s.staged)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(int64(size2KiB)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.WriteFile(s.sealed, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	pid, err := abi.MakeProverID(testMiner)
	if err != nil {
		t.Fatal(err)
	}
	s.proverID = pid
	_, _ = rand.Read(s.ticket[:])
	_, _ = rand.Read(s.seed[:])
	return s
}

func (s *sector) sid() abi.SectorID { return abi.SectorID{Miner: testMiner, Number: s.number} }

func zeroPiece() []processor.PieceInfo {
	return []processor.PieceInfo{{Commitment: treed.ZeroCommD(size2KiB), Size: abi.PaddedPieceSize(size2KiB).Unpadded()}}
}

// buildTreeD runs tree_d and links it into the cache as the thread does before PC1.
func (s *sector) buildTreeD(t *testing.T, set processor.Set) {
	t.Helper()
	ok, err := set.TreeD.Process(context.Background(), processor.TreeDInput{
		RegisteredProof: processor.SealProof(proof2KiB), StagedFile: s.staged, CacheDir: s.prepared,
	})
	if err != nil || !ok {
		t.Fatalf("tree_d: %v %v", ok, err)
	}
	if err := os.Symlink(filepath.Join(s.prepared, treed.FileName), filepath.Join(s.cache, treed.FileName)); err != nil {
		t.Fatal(err)
	}
}

func (s *sector) pc1Input(pieces []processor.PieceInfo) processor.PC1Input {
	return processor.PC1Input{
		RegisteredProof: processor.SealProof(proof2KiB), CachePath: s.cache, InPath: s.staged, OutPath: s.sealed,
		ProverID: s.proverID, SectorID: s.number, Ticket: s.ticket, PieceInfos: pieces,
	}
}

func (s *sector) c1Input(pc2 processor.PC2Output) processor.C1Input {
	return processor.C1Input{
		RegisteredProof: processor.SealProof(proof2KiB), CachePath: s.cache, ReplicaPath: s.sealed,
		ProverID: s.proverID, SectorID: s.number, Ticket: s.ticket, Seed: s.seed, PC2Out: pc2, PieceInfos: zeroPiece(),
	}
}

// sealUpToPC2 runs tree_d, PC1 and PC2 of a CC sector.
func (s *sector) sealUpToPC2(t *testing.T, set processor.Set) processor.PC2Output {
	t.Helper()
	ctx := context.Background()
	s.buildTreeD(t, set)
	pc1out, err := set.PC1.Process(ctx, s.pc1Input(zeroPiece()))
	if err != nil {
		t.Fatalf("pc1: %v", err)
	}
	pc2out, err := set.PC2.Process(ctx, processor.PC2Input{PC1Out: pc1out, CacheDir: s.cache, SealedFile: s.sealed})
	if err != nil {
		t.Fatalf("pc2: %v", err)
	}
	return pc2out
}

func TestSealChainOfACCSector(t *testing.T) {
	set := New()
	s := newSector(t)
	ctx := context.Background()

	pc2out := s.sealUpToPC2(t, set)
	commD := treed.ZeroCommD(size2KiB)
	if pc2out.CommD != commD {
		t.Fatalf("comm_d %x, want the zero commitment %x", pc2out.CommD, commD)
	}
	if want := mockproof.CommR(proof2KiB, s.sid(), s.ticket[:], commD); pc2out.CommR != want {
		t.Fatalf("comm_r %x, want mockproof.CommR %x", pc2out.CommR, want)
	}
	if pc2out.RegisteredProof != processor.SealProof(proof2KiB) {
		t.Fatalf("registered_proof %s", pc2out.RegisteredProof)
	}

	wantSizes := map[string]int64{
		filepath.Join(s.prepared, treed.FileName): 2*2048 - 32,
		s.sealed: 2048,
		filepath.Join(s.cache, "sc-02-data-tree-r-last.dat"): 32,
		filepath.Join(s.cache, "p_aux"):                      64,
		filepath.Join(s.cache, "t_aux"):                      -1,
	}
	for p, size := range wantSizes {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatalf("pc2 left no %s: %v", p, err)
		}
		if size >= 0 && st.Size() != size {
			t.Fatalf("%s is %d bytes, want %d", p, st.Size(), size)
		}
	}

	c1out, err := set.C1.Process(ctx, s.c1Input(pc2out))
	if err != nil {
		t.Fatalf("c1: %v", err)
	}
	c2out, err := set.C2.Process(ctx, processor.C2Input{C1Out: c1out, ProverID: s.proverID, SectorID: s.number, MinerID: testMiner})
	if err != nil {
		t.Fatalf("c2: %v", err)
	}
	want, err := mockproof.SealProof(proof2KiB, s.sid(), s.ticket[:], s.seed[:], pc2out.CommR, commD)
	if err != nil {
		t.Fatal(err)
	}
	if len(c2out.Proof) != 192 || string(c2out.Proof) != string(want) {
		t.Fatalf("proof of %d bytes differs from mockproof.SealProof", len(c2out.Proof))
	}
}

func TestPC1OutputDocument(t *testing.T) {
	set := New()
	s := newSector(t)
	s.buildTreeD(t, set)
	out, err := set.PC1.Process(context.Background(), s.pc1Input(zeroPiece()))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"mock", "registered_proof", "prover_id", "sector_id", "ticket", "comm_d", "piece_infos"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("pc1out lacks %q: %s", k, out)
		}
	}
	if string(doc["mock"]) != "true" || string(doc["registered_proof"]) != `"StackedDrg2KiBV1_1"` || string(doc["sector_id"]) != "7" {
		t.Fatalf("pc1out %s", out)
	}
}

func TestPC1ChecksItsInputs(t *testing.T) {
	set := New()
	s := newSector(t)
	ctx := context.Background()

	if _, err := set.PC1.Process(ctx, s.pc1Input(zeroPiece())); err == nil || !strings.Contains(err.Error(), "tree_d") {
		t.Fatalf("pc1 without tree_d in the cache: %v", err)
	}
	s.buildTreeD(t, set)

	wrong := zeroPiece()
	wrong[0].Commitment[0] ^= 1
	half := []processor.PieceInfo{{Commitment: treed.ZeroCommD(1024), Size: abi.PaddedPieceSize(1024).Unpadded()}}
	noInput := s.pc1Input(zeroPiece())
	noInput.InPath = filepath.Join(filepath.Dir(s.staged), "missing")
	cases := []struct {
		name string
		in   processor.PC1Input
		want string
	}{
		{"wrong commitment", s.pc1Input(wrong), "pieces and comm_d do not match"},
		{"pieces do not fill the sector", s.pc1Input(half), "fill the rest with zero pieces"},
		{"no pieces", s.pc1Input(nil), "piece_infos is empty"},
		{"missing staged file", noInput, "in_path"},
	}
	for _, c := range cases {
		if _, err := set.PC1.Process(ctx, c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		}
	}
}

func TestPC2RejectsMalformedPC1Out(t *testing.T) {
	set := New()
	s := newSector(t)
	s.buildTreeD(t, set)
	good, err := set.PC1.Process(context.Background(), s.pc1Input(zeroPiece()))
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(map[string]any)) json.RawMessage {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	cases := []struct {
		name   string
		pc1out json.RawMessage
		want   string
	}{
		{"empty", nil, "pc1out is empty"},
		{"not an object", json.RawMessage(`[1,2]`), "pc1out is not a JSON object"},
		{"real pc1 output", edit(func(m map[string]any) { delete(m, "mock") }), `no "mock": true`},
		{"missing comm_d", edit(func(m map[string]any) { delete(m, "comm_d") }), `missing field "comm_d"`},
		{"short ticket", edit(func(m map[string]any) { m["ticket"] = []int{1, 2} }), `field "ticket" is malformed`},
		{"byte out of range", edit(func(m map[string]any) { m["comm_d"] = append(make([]int, 31), 256) }), `field "comm_d" is malformed`},
		{"unknown proof", edit(func(m map[string]any) { m["registered_proof"] = "StackedDrg3KiB" }), `field "registered_proof" is malformed`},
		{"bad prover id", edit(func(m map[string]any) { m["prover_id"] = append([]int{0x80}, make([]int, 31)...) }), `field "prover_id"`},
	}
	for _, c := range cases {
		_, err := set.PC2.Process(context.Background(), processor.PC2Input{PC1Out: c.pc1out, CacheDir: s.cache, SealedFile: s.sealed})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		}
	}
}

func TestC1ChecksTheSealedFiles(t *testing.T) {
	set := New()
	s := newSector(t)
	pc2out := s.sealUpToPC2(t, set)
	ctx := context.Background()

	otherTicket := s.c1Input(pc2out)
	otherTicket.Ticket[0] ^= 1
	if _, err := set.C1.Process(ctx, otherTicket); err == nil || !strings.Contains(err.Error(), "pc2out comm_r") {
		t.Fatalf("c1 with another ticket: %v", err)
	}

	if err := os.WriteFile(filepath.Join(s.cache, "p_aux"), make([]byte, 64), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := set.C1.Process(ctx, s.c1Input(pc2out)); err == nil || !strings.Contains(err.Error(), "p_aux") {
		t.Fatalf("c1 with a stale p_aux: %v", err)
	}

	if err := os.Remove(filepath.Join(s.cache, "sc-02-data-tree-r-last.dat")); err != nil {
		t.Fatal(err)
	}
	if _, err := set.C1.Process(ctx, s.c1Input(pc2out)); err == nil || !strings.Contains(err.Error(), "tree-r-last") {
		t.Fatalf("c1 without tree-r-last: %v", err)
	}
}

func TestC2RejectsMalformedC1Out(t *testing.T) {
	set := New()
	s := newSector(t)
	pc2out := s.sealUpToPC2(t, set)
	good, err := set.C1.Process(context.Background(), s.c1Input(pc2out))
	if err != nil {
		t.Fatal(err)
	}
	otherPID, _ := abi.MakeProverID(testMiner + 1)
	task := func(c1out json.RawMessage) processor.C2Input {
		return processor.C2Input{C1Out: c1out, ProverID: s.proverID, SectorID: s.number, MinerID: testMiner}
	}
	cases := []struct {
		name string
		in   processor.C2Input
		want string
	}{
		{"not JSON", task(json.RawMessage(`{`)), "c1out is not a JSON object"},
		{"missing seed", task(json.RawMessage(strings.Replace(string(good), `"seed"`, `"sead"`, 1))), `c1out is missing field "seed"`},
		{"other sector", func() processor.C2Input { i := task(good); i.SectorID++; return i }(), "c1out was made for sector 7"},
		{"other prover", func() processor.C2Input { i := task(good); i.ProverID = otherPID; return i }(), "c1out was made for prover id"},
		{"miner not the prover", func() processor.C2Input { i := task(good); i.MinerID++; return i }(), "does not match prover_id"},
	}
	for _, c := range cases {
		if _, err := set.C2.Process(context.Background(), c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		}
	}
}

func TestMinerFromProverID(t *testing.T) {
	for _, id := range []abi.ActorID{0, 1000, 10000, 1 << 40, 1<<63 - 1} {
		pid, err := abi.MakeProverID(id)
		if err != nil {
			t.Fatal(err)
		}
		got, err := MinerFromProverID(pid)
		if err != nil || got != id {
			t.Fatalf("MinerFromProverID(MakeProverID(%d)) = %d, %v", id, got, err)
		}
	}
	var tail [32]byte
	tail[0], tail[5] = 5, 1
	var nonCanonical [32]byte
	nonCanonical[0], nonCanonical[1] = 0x85, 0x00 // 5 in two bytes
	var unterminated [32]byte
	for i := range unterminated {
		unterminated[i] = 0xff
	}
	for name, pid := range map[string][32]byte{"bytes after the id": tail, "non-canonical": nonCanonical, "unterminated": unterminated} {
		if _, err := MinerFromProverID(pid); err == nil {
			t.Errorf("%s: accepted %x", name, pid)
		}
	}
}

func TestGuardTurnsPanicsIntoErrors(t *testing.T) {
	p := guard("pc1", func(context.Context, int) (string, error) { panic("boom") })
	out, err := p.Process(context.Background(), 1)
	if err == nil || !strings.Contains(err.Error(), "built-in pc1 processor panicked: boom") || out != "" {
		t.Fatalf("got %q, %v", out, err)
	}
}

func TestTreeDStopsWhenCancelled(t *testing.T) {
	s := newSector(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := New().TreeD.Process(ctx, processor.TreeDInput{
		RegisteredProof: processor.SealProof(proof2KiB), StagedFile: s.staged, CacheDir: s.prepared,
	})
	if err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("got %v", err)
	}
	if _, err := os.Stat(filepath.Join(s.prepared, treed.FileName)); !os.IsNotExist(err) {
		t.Fatal("a cancelled tree_d left a file")
	}
}
