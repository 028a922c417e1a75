package api

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/filecoin-project/go-state-types/abi"
)

var byteUnits = map[string]uint64{
	"": 1, "b": 1,
	"k": 1 << 10, "kb": 1000, "kib": 1 << 10,
	"m": 1 << 20, "mb": 1000 * 1000, "mib": 1 << 20,
	"g": 1 << 30, "gb": 1000 * 1000 * 1000, "gib": 1 << 30,
	"t": 1 << 40, "tb": 1000 * 1000 * 1000 * 1000, "tib": 1 << 40,
	"p": 1 << 50, "pb": 1000 * 1000 * 1000 * 1000 * 1000, "pib": 1 << 50,
}

// ParseByteSize parses sizes as the config and the CLI write them: "2KiB", "32GiB", "1KB", "2048".
// Binary units (KiB, MiB, GiB) are the ones that give sector sizes.
func ParseByteSize(s string) (uint64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return !unicode.IsDigit(r) && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	}
	mult, ok := byteUnits[unit]
	if num == "" || !ok {
		return 0, fmt.Errorf("invalid size %q: want a number with an optional unit such as 2KiB or 32GiB", s)
	}
	if !strings.Contains(num, ".") {
		n, err := strconv.ParseUint(num, 10, 64)
		if err != nil || (n != 0 && n*mult/mult != n) {
			return 0, fmt.Errorf("invalid size %q: out of range", s)
		}
		return n * mult, nil
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f*float64(mult) >= 1<<64 {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return uint64(f * float64(mult)), nil
}

// sealProofsV1_1 are the proof types the system seals with, by sector size.
var sealProofsV1_1 = map[abi.SectorSize]abi.RegisteredSealProof{
	2 << 10:   abi.RegisteredSealProof_StackedDrg2KiBV1_1,
	8 << 20:   abi.RegisteredSealProof_StackedDrg8MiBV1_1,
	512 << 20: abi.RegisteredSealProof_StackedDrg512MiBV1_1,
	32 << 30:  abi.RegisteredSealProof_StackedDrg32GiBV1_1,
	64 << 30:  abi.RegisteredSealProof_StackedDrg64GiBV1_1,
}

// SealProofForSize maps a sector size to its V1_1 seal proof (2KiB → 5 … 64GiB → 9).
func SealProofForSize(size abi.SectorSize) (abi.RegisteredSealProof, error) {
	p, ok := sealProofsV1_1[size]
	if !ok {
		return 0, fmt.Errorf("invalid sector size: %d (want 2KiB, 8MiB, 512MiB, 32GiB or 64GiB)", uint64(size))
	}
	return p, nil
}

// ParseSectorSize parses a size string and checks that it is a valid sector size.
func ParseSectorSize(s string) (abi.SectorSize, abi.RegisteredSealProof, error) {
	n, err := ParseByteSize(s)
	if err != nil {
		return 0, 0, err
	}
	p, err := SealProofForSize(abi.SectorSize(n))
	if err != nil {
		return 0, 0, err
	}
	return abi.SectorSize(n), p, nil
}
