package builtin

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/worker/processor/treed"
)

// Cache file names rust-fil-proofs uses, which the worker persists after PC2 (spec §6.5).
const (
	pAuxName = "p_aux"
	tAuxName = "t_aux"
)

func treeDPath(cacheDir string) string { return filepath.Join(cacheDir, treed.FileName) }

// treeRLastNames are the tree-r-last files of a sector: one file up to 512MiB, 8 for 32GiB and
// 16 for 64GiB, as rust-fil-proofs splits the tree of the large sizes.
func treeRLastNames(size abi.SectorSize) []string {
	var parts int
	switch size {
	case 32 << 30:
		parts = 8
	case 64 << 30:
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

func requireDir(path, field string) error {
	if path == "" {
		return fmt.Errorf("%s is empty: it must name a directory", field)
	}
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%s %s is not a directory", field, path)
	}
	return nil
}

func requireFile(path, field string) (os.FileInfo, error) {
	if path == "" {
		return nil, fmt.Errorf("%s is empty: it must name a file", field)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s %s is not a regular file", field, path)
	}
	return st, nil
}

// tempName is a unique name next to path, so concurrent writers of the same path never share
// a temporary file.
func tempName(path string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp-"+hex.EncodeToString(b[:]))
}

// writeFileAtomic writes data under a temporary name, syncs it and renames it to path, so path
// never holds half a file.
func writeFileAtomic(path string, data []byte) error {
	tmp := tempName(path)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// syncDir makes renames inside dir durable; a failure only weakens durability, so it is not
// reported.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
