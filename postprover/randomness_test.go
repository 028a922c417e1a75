package postprover

import (
	"bytes"
	"testing"

	"github.com/filecoin-project/go-state-types/abi"
)

// The proofs take randomness as a field element: the top two bits of the last byte cleared, as
// Lotus clears them; the caller's bytes stay as they were.
func TestFieldRandomness(t *testing.T) {
	r := abi.PoStRandomness(bytes.Repeat([]byte{0xff}, 32))
	got := FieldRandomness(r)
	want := append(bytes.Repeat([]byte{0xff}, 31), 0x3f)
	if !bytes.Equal(got, want) {
		t.Errorf("FieldRandomness = %x, want %x", got, want)
	}
	if r[31] != 0xff {
		t.Error("FieldRandomness changed its argument")
	}
}
