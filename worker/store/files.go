package store

import (
	"fmt"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/worker/processor/treed"
)

// TreeDFileName is rust-fil-proofs' name for the tree_d store in a cache dir; treed, which
// writes it, defines it.
const TreeDFileName = treed.FileName

// Cache files rust-fil-proofs' PC2 leaves besides tree-r-last, persisted with the sector.
const (
	PAuxFileName = "p_aux"
	TAuxFileName = "t_aux"
)

const (
	size32GiB = abi.SectorSize(32 << 30)
	size64GiB = abi.SectorSize(64 << 30)
)

// CachedFileNames lists the cache files persisted with a sector of the given size (spec §6.5):
// its tree-r-last files, p_aux and t_aux.
func CachedFileNames(size abi.SectorSize) []string {
	return append(TreeRLastNames(size), PAuxFileName, TAuxFileName)
}

// TreeRLastNames are the tree-r-last files of a sector: rust-fil-proofs splits the tree into 8
// files for 32GiB and 16 for 64GiB, and keeps one file for smaller sizes.
func TreeRLastNames(size abi.SectorSize) []string {
	var parts int
	switch size {
	case size32GiB:
		parts = 8
	case size64GiB:
		parts = 16
	default:
		return []string{"sc-02-data-tree-r-last.dat"}
	}
	names := make([]string, parts)
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
