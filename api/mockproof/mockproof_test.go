package mockproof_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api/mockproof"
)

const proof2KiB = abi.RegisteredSealProof_StackedDrg2KiBV1_1

// inputs is one full set of public inputs of a mock proof.
type inputs struct {
	proof  abi.RegisteredSealProof
	sid    abi.SectorID
	ticket []byte
	seed   []byte
	commD  [32]byte
}

func baseInputs() inputs {
	in := inputs{
		proof:  proof2KiB,
		sid:    abi.SectorID{Miner: 10000, Number: 1},
		ticket: make([]byte, 32),
		seed:   bytes.Repeat([]byte{0xab}, 32),
	}
	for i := range in.ticket {
		in.ticket[i] = byte(i)
	}
	for i := range in.commD {
		in.commD[i] = byte(200 + i)
	}
	return in
}

func (in inputs) commR() [32]byte { return mockproof.CommR(in.proof, in.sid, in.ticket, in.commD) }

func (in inputs) sealProof(t *testing.T) []byte {
	t.Helper()
	p, err := mockproof.SealProof(in.proof, in.sid, in.ticket, in.seed, in.commR(), in.commD)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The worker of one build and the manager of another must agree on these bytes; a change here
// makes every sealed mock sector fail verification after an upgrade.
func TestGoldenValues(t *testing.T) {
	in := baseInputs()
	commR := in.commR()
	if got := hex.EncodeToString(commR[:]); got != "fdcfb6eece4cd3c8abe3598b4703f5cd2bf6cf74e1cb64192a9798c6c2413634" {
		t.Errorf("CommR = %s", got)
	}
	sum := sha256.Sum256(in.sealProof(t))
	if got := hex.EncodeToString(sum[:]); got != "c5e093d0ec0cbb9a7a18872cd92b6eb6a5ae92513afbc38004bcf3aca78d1cab" {
		t.Errorf("sha256(SealProof) = %s", got)
	}
}

func TestDeterministic(t *testing.T) {
	a, b := baseInputs(), baseInputs()
	if a.commR() != b.commR() {
		t.Error("CommR differs for the same inputs")
	}
	if !bytes.Equal(a.sealProof(t), b.sealProof(t)) {
		t.Error("SealProof differs for the same inputs")
	}
}

func TestProofLengths(t *testing.T) {
	want := map[abi.RegisteredSealProof]int{
		abi.RegisteredSealProof_StackedDrg2KiBV1_1:   192,
		abi.RegisteredSealProof_StackedDrg8MiBV1_1:   192,
		abi.RegisteredSealProof_StackedDrg512MiBV1_1: 192,
		abi.RegisteredSealProof_StackedDrg32GiBV1_1:  1920,
		abi.RegisteredSealProof_StackedDrg64GiBV1_1:  1920,
	}
	for proof, n := range want {
		in := baseInputs()
		in.proof = proof
		if got := len(in.sealProof(t)); got != n {
			t.Errorf("SealProof(%d) is %d bytes, want %d", proof, got, n)
		}
	}
}

func TestUnknownProofTypeIsAnError(t *testing.T) {
	in := baseInputs()
	if _, err := mockproof.SealProof(abi.RegisteredSealProof(99), in.sid, in.ticket, in.seed, in.commR(), in.commD); err == nil {
		t.Error("SealProof with proof type 99 succeeded")
	}
}

// CommR must be a valid field element, as a real one is: the top two bits of its last byte are clear.
func TestCommRIsFieldElement(t *testing.T) {
	in := baseInputs()
	for n := 0; n < 256; n++ {
		in.sid.Number = abi.SectorNumber(n)
		if c := in.commR(); c[31]&0xc0 != 0 {
			t.Fatalf("CommR of sector %d ends in %#x: top bits set", n, c[31])
		}
	}
}

func TestOutputsChangeWithEveryInput(t *testing.T) {
	mutations := map[string]func(*inputs){
		"proof type":   func(in *inputs) { in.proof = abi.RegisteredSealProof_StackedDrg2KiBV1 },
		"miner":        func(in *inputs) { in.sid.Miner++ },
		"number":       func(in *inputs) { in.sid.Number++ },
		"ticket":       func(in *inputs) { in.ticket = append([]byte{}, in.ticket...); in.ticket[0] ^= 1 },
		"ticket split": func(in *inputs) { in.ticket, in.seed = in.ticket[:31], append(in.ticket[31:], in.seed...) },
		"seed":         func(in *inputs) { in.seed = append([]byte{}, in.seed...); in.seed[31] ^= 1 },
		"commD":        func(in *inputs) { in.commD[31] ^= 1 },
	}
	base := baseInputs()
	baseCommR, baseProof := base.commR(), base.sealProof(t)
	for name, mutate := range mutations {
		in := baseInputs()
		mutate(&in)
		commRChanged := in.commR() != baseCommR
		proofChanged := !bytes.Equal(in.sealProof(t), baseProof)
		// The seed is not an input of CommR: it arrives after the pre-commit.
		if commRChanged == (name == "seed") {
			t.Errorf("changing %s: CommR changed = %v", name, commRChanged)
		}
		if !proofChanged {
			t.Errorf("changing %s did not change the seal proof", name)
		}
	}

	// SealProof takes CommR as given, so a wrong CommR gives a different proof.
	in := baseInputs()
	commR := in.commR()
	commR[0] ^= 1
	p, err := mockproof.SealProof(in.proof, in.sid, in.ticket, in.seed, commR, in.commD)
	if err != nil || bytes.Equal(p, baseProof) {
		t.Errorf("changing CommR did not change the seal proof (err %v)", err)
	}
}
