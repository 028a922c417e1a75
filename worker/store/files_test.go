package store

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/filecoin-project/go-state-types/abi"
)

func TestCachedFileNames(t *testing.T) {
	single := []string{"sc-02-data-tree-r-last.dat", "p_aux", "t_aux"}
	parts := func(n int) []string {
		var names []string
		for i := 0; i < n; i++ {
			names = append(names, fmt.Sprintf("sc-02-data-tree-r-last-%d.dat", i))
		}
		return append(names, "p_aux", "t_aux")
	}
	cases := map[abi.SectorSize][]string{
		2 << 10:   single,
		8 << 20:   single,
		512 << 20: single,
		32 << 30:  parts(8),
		64 << 30:  parts(16),
	}
	for size, want := range cases {
		if got := CachedFileNames(size); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %v, want %v", size.ShortString(), got, want)
		}
	}
	want32 := []string{
		"sc-02-data-tree-r-last-0.dat", "sc-02-data-tree-r-last-1.dat", "sc-02-data-tree-r-last-2.dat",
		"sc-02-data-tree-r-last-3.dat", "sc-02-data-tree-r-last-4.dat", "sc-02-data-tree-r-last-5.dat",
		"sc-02-data-tree-r-last-6.dat", "sc-02-data-tree-r-last-7.dat", "p_aux", "t_aux",
	}
	if got := CachedFileNames(32 << 30); !reflect.DeepEqual(got, want32) {
		t.Errorf("32GiB names %v", got)
	}
	if got := TreeRLastNames(32 << 30); !reflect.DeepEqual(got, want32[:8]) {
		t.Errorf("32GiB tree-r-last names %v", got)
	}
}

func TestRequiredPersistSize(t *testing.T) {
	cases := map[abi.SectorSize]uint64{
		2 << 10:   4 << 10,
		8 << 20:   16 << 20,
		512 << 20: 1 << 30,
		32 << 30:  32<<30 + (32<<30)/50,
		64 << 30:  64<<30 + (64<<30)/50,
	}
	for size, want := range cases {
		if got := RequiredPersistSize(size); got != want {
			t.Errorf("%s: got %d, want %d", size.ShortString(), got, want)
		}
	}
	if RequiredPersistSize(32<<30) != 35046933135 {
		t.Errorf("32GiB: got %d", RequiredPersistSize(32<<30))
	}
}

func TestTreeDFileName(t *testing.T) {
	if TreeDFileName != "sc-02-data-tree-d.dat" {
		t.Fatal(TreeDFileName)
	}
}
