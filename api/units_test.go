package api_test

import (
	"strings"
	"testing"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/api"
)

func TestParseByteSize(t *testing.T) {
	good := map[string]uint64{
		"2KiB":    2 << 10,
		"8MiB":    8 << 20,
		"512MiB":  512 << 20,
		"32GiB":   32 << 30,
		"64GiB":   64 << 30,
		"2048":    2048,
		"0":       0,
		"2k":      2 << 10, // the manager's RAMInBytes form
		"1.5KiB":  1536,
		" 32GiB ": 32 << 30,
		"32 GiB":  32 << 30,
		"32gib":   32 << 30,
		"1TiB":    1 << 40,
	}
	for in, want := range good {
		got, err := api.ParseByteSize(in)
		if err != nil || got != want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "KiB", "abc", "-1", "12XB", "1.2.3KiB", "1e3", ".", "2 KiB extra", "99999999999999999999", "20000000PiB"} {
		if got, err := api.ParseByteSize(in); err == nil {
			t.Errorf("ParseByteSize(%q) = %d, want an error", in, got)
		} else if !strings.Contains(err.Error(), in) {
			t.Errorf("ParseByteSize(%q) error %q does not name the input", in, err)
		}
	}
}

func TestSealProofForSize(t *testing.T) {
	want := map[abi.SectorSize]abi.RegisteredSealProof{
		2 << 10:   5,
		8 << 20:   6,
		512 << 20: 7,
		32 << 30:  8,
		64 << 30:  9,
	}
	for size, proof := range want {
		got, err := api.SealProofForSize(size)
		if err != nil || got != proof {
			t.Errorf("SealProofForSize(%d) = %d, %v; want %d", size, got, err, proof)
		}
		// The chain's own table must agree: the proof type seals sectors of that size.
		if s, err := got.SectorSize(); err != nil || s != size {
			t.Errorf("proof %d has sector size %d, %v; want %d", got, s, err, size)
		}
	}
	if _, err := api.SealProofForSize(3 << 10); err == nil {
		t.Error("SealProofForSize(3KiB) succeeded")
	}
}

func TestParseSectorSize(t *testing.T) {
	cases := []struct {
		in    string
		size  abi.SectorSize
		proof abi.RegisteredSealProof
	}{
		{"2KiB", 2 << 10, abi.RegisteredSealProof_StackedDrg2KiBV1_1},
		{"8MiB", 8 << 20, abi.RegisteredSealProof_StackedDrg8MiBV1_1},
		{"512MiB", 512 << 20, abi.RegisteredSealProof_StackedDrg512MiBV1_1},
		{"32GiB", 32 << 30, abi.RegisteredSealProof_StackedDrg32GiBV1_1},
		{"64GiB", 64 << 30, abi.RegisteredSealProof_StackedDrg64GiBV1_1},
		{"2048", 2 << 10, abi.RegisteredSealProof_StackedDrg2KiBV1_1},
	}
	for _, c := range cases {
		size, proof, err := api.ParseSectorSize(c.in)
		if err != nil || size != c.size || proof != c.proof {
			t.Errorf("ParseSectorSize(%q) = %d, %d, %v; want %d, %d", c.in, size, proof, err, c.size, c.proof)
		}
	}

	_, _, err := api.ParseSectorSize("3KiB")
	if err == nil {
		t.Fatal("ParseSectorSize(3KiB) succeeded")
	}
	// The message says what is wrong and which sizes are valid.
	for _, part := range []string{"invalid sector size", "3072", "2KiB", "32GiB", "64GiB"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("ParseSectorSize(3KiB) error %q lacks %q", err, part)
		}
	}
	for _, in := range []string{"", "garbage", "32GB", "-2KiB"} {
		if _, _, err := api.ParseSectorSize(in); err == nil {
			t.Errorf("ParseSectorSize(%q) succeeded", in)
		}
	}
}

func TestFormatAndScanSectorID(t *testing.T) {
	cases := map[string]abi.SectorID{
		"s-t010000-3":                     {Miner: 10000, Number: 3},
		"s-t01-0":                         {Miner: 1, Number: 0},
		"s-t00-0":                         {Miner: 0, Number: 0},
		"s-t018446744073709551615-123456": {Miner: 18446744073709551615, Number: 123456},
	}
	for s, id := range cases {
		if got := api.FormatSectorID(id); got != s {
			t.Errorf("FormatSectorID(%+v) = %q, want %q", id, got, s)
		}
		got, err := api.ScanSectorID(s)
		if err != nil || got != id {
			t.Errorf("ScanSectorID(%q) = %+v, %v; want %+v", s, got, err, id)
		}
	}
	bad := []string{"", "s-t010000", "s-t010000-", "s-t010000-3x", "s-t010000-03", "s-t0010000-3",
		"s-t1000-3", "t010000-3", "s-t0-1-3", "s-t010000--3", " s-t010000-3", "s-t010000-3 "}
	for _, s := range bad {
		if id, err := api.ScanSectorID(s); err == nil {
			t.Errorf("ScanSectorID(%q) = %+v, want an error", s, id)
		} else if !strings.Contains(err.Error(), "s-t0<miner>-<number>") {
			t.Errorf("ScanSectorID(%q) error %q does not show the expected form", s, err)
		}
	}
}
