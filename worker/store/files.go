package store

import (
	"fmt"

	"github.com/filecoin-project/go-state-types/abi"
)

// TreeDFileName is rust-fil-proofs' name for the tree_d store in a cache dir.
const TreeDFileName = "sc-02-data-tree-d.dat"

// Persisted cache files besides tree-r-last.
const (
	PAuxFileName = "p_aux"
	TAuxFileName = "t_aux"
)

const (
	size32GiB = abi.SectorSize(32 << 30)
	size64GiB = abi.SectorSize(64 << 30)
)

// CachedFileNames lists the cache files persisted with a sector of the given size (spec §6.5):
// tree-r-last is split into 8 files for 32GiB and 16 for 64GiB, one file for smaller sizes.
func CachedFileNames(size abi.SectorSize) []string {
	var names []string
	switch size {
	case size32GiB:
		names = treeRLastParts(8)
	case size64GiB:
		names = treeRLastParts(16)
	default:
		names = []string{"sc-02-data-tree-r-last.dat"}
	}
	return append(names, PAuxFileName, TAuxFileName)
}

func treeRLastParts(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("sc-02-data-tree-r-last-%d.dat", i)
	}
	return names
}

// RequiredPersistSize is the space reserved in a persist store for one sector: twice the sector
// below 32GiB, else the sector plus 2% for its cache files.
func RequiredPersistSize(size abi.SectorSize) uint64 {
	s := uint64(size)
	if size < size32GiB {
		return 2 * s
	}
	return s + s/50
}
