package treed

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/filecoin-project/go-state-types/abi"
)

const (
	size2KiB = abi.SectorSize(2 << 10)
	size8MiB = abi.SectorSize(8 << 20)
)

// naiveTree is the reference: every layer of the tree, leaves first, built in memory.
func naiveTree(data []byte) [][]byte {
	layers := [][]byte{data}
	for cur := data; len(cur) > 32; {
		next := make([]byte, 0, len(cur)/2)
		for i := 0; i < len(cur); i += 64 {
			h := sha256.Sum256(cur[i : i+64])
			h[31] &= 0x3f
			next = append(next, h[:]...)
		}
		layers = append(layers, next)
		cur = next
	}
	return layers
}

func writeFile(t testing.TB, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "staged")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func buildWith(t *testing.T, data []byte, size abi.SectorSize, chunkLeaves uint64) ([32]byte, []byte) {
	t.Helper()
	staged := writeFile(t, data)
	out := filepath.Join(t.TempDir(), FileName)
	root, err := build(context.Background(), staged, out, size, chunkLeaves)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	file, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return root, file
}

func TestZeroSectorRootIsZeroCommD(t *testing.T) {
	for _, size := range []abi.SectorSize{size2KiB, size8MiB} {
		t.Run(size.ShortString(), func(t *testing.T) {
			// A CC staged file is sparse: sized, never written.
			staged := filepath.Join(t.TempDir(), "staged")
			f, err := os.Create(staged)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Truncate(int64(size)); err != nil {
				t.Fatal(err)
			}
			f.Close()

			out := filepath.Join(t.TempDir(), FileName)
			root, err := Build(staged, out, size)
			if err != nil {
				t.Fatal(err)
			}
			want := ZeroCommD(size)
			if root != want {
				t.Fatalf("root %x, want zero CommD %x", root, want)
			}
			onDisk, err := ReadRoot(out, size)
			if err != nil {
				t.Fatal(err)
			}
			if onDisk != want {
				t.Fatalf("root on disk %x, want %x", onDisk, want)
			}
		})
	}
}

func TestZeroCommDKnownValue(t *testing.T) {
	// CommD of an empty 2KiB sector, the value lotus and rust-fil-proofs use for 2KiB CC sectors.
	want := "fc7e928296e516faade986b28f92d44a4f24b935485223376a799027bc18f833"
	if got := hex.EncodeToString(func() []byte { r := ZeroCommD(size2KiB); return r[:] }()); got != want {
		t.Fatalf("ZeroCommD(2KiB) = %s, want %s", got, want)
	}
}

func TestFileLayout(t *testing.T) {
	data := randomBytes(t, int(size2KiB))
	root, file := buildWith(t, data, size2KiB, defaultChunkLeaves)

	if int64(len(file)) != 2*int64(size2KiB)-32 || int64(len(file)) != FileSize(size2KiB) {
		t.Fatalf("file is %d bytes, want %d", len(file), 2*size2KiB-32)
	}
	if !bytes.Equal(file[:32], data[:32]) {
		t.Fatal("first 32 bytes are not the first leaf")
	}
	if !bytes.Equal(file[len(file)-32:], root[:]) {
		t.Fatal("last 32 bytes are not the root")
	}
	// Layer k of a 64-leaf tree starts after the layers below it: 0, 2048, 3072, 3584, ...
	wantOffsets := []int64{0, 2048, 3072, 3584, 3840, 3968, 4032}
	lay := newLayout(uint64(size2KiB) / 32)
	layers := naiveTree(data)
	if len(lay.offsets) != len(wantOffsets) || len(layers) != len(wantOffsets) {
		t.Fatalf("got %d layers in layout, %d in reference, want %d", len(lay.offsets), len(layers), len(wantOffsets))
	}
	for k, off := range wantOffsets {
		if lay.offsets[k] != off {
			t.Fatalf("layer %d at offset %d, want %d", k, lay.offsets[k], off)
		}
		if got := file[off : off+int64(len(layers[k]))]; !bytes.Equal(got, layers[k]) {
			t.Fatalf("layer %d at offset %d differs from the reference", k, off)
		}
	}
}

func TestRandomDataMatchesNaiveTree(t *testing.T) {
	cases := []struct {
		name        string
		size        abi.SectorSize
		chunkLeaves uint64
	}{
		{"2KiB one chunk", size2KiB, defaultChunkLeaves},
		{"2KiB chunks of 4 leaves", size2KiB, 4},
		{"64KiB chunks of 64 leaves", 64 << 10, 64},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := randomBytes(t, int(c.size))
			// Zero some chunks so the all-zero shortcut is checked against the reference too.
			clear(data[len(data)/4 : len(data)/2])
			root, file := buildWith(t, data, c.size, c.chunkLeaves)
			want := bytes.Join(naiveTree(data), nil)
			if !bytes.Equal(file, want) {
				t.Fatal("tree file differs from the reference tree")
			}
			if !bytes.Equal(root[:], want[len(want)-32:]) {
				t.Fatalf("root %x differs from the reference", root)
			}
		})
	}
}

func TestShortFileReadsAsZeroPadded(t *testing.T) {
	data := randomBytes(t, 1000)
	padded := make([]byte, size2KiB)
	copy(padded, data)

	for _, chunk := range []uint64{defaultChunkLeaves, 8} {
		shortRoot, shortFile := buildWith(t, data, size2KiB, chunk)
		fullRoot, fullFile := buildWith(t, padded, size2KiB, chunk)
		if shortRoot != fullRoot || !bytes.Equal(shortFile, fullFile) {
			t.Fatalf("chunk %d: a short file builds a different tree than the zero-padded file", chunk)
		}
	}
	emptyRoot, _ := buildWith(t, nil, size2KiB, 8)
	if emptyRoot != ZeroCommD(size2KiB) {
		t.Fatal("an empty staged file does not give the zero CommD")
	}
}

func TestBuildRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, FileName)

	tooBig := writeFile(t, make([]byte, size2KiB+1))
	if _, err := Build(tooBig, out, size2KiB); err == nil || !strings.Contains(err.Error(), "more than the 2KiB sector") {
		t.Fatalf("oversized staged file: got %v", err)
	}
	if _, err := Build(filepath.Join(dir, "missing"), out, size2KiB); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing staged file: got %v", err)
	}
	if _, err := Build(writeFile(t, nil), out, 3000); err == nil || !strings.Contains(err.Error(), "not a power of two") {
		t.Fatalf("bad sector size: got %v", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a failed build left %s behind", out)
	}
}

func TestBuildStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	staged := writeFile(t, make([]byte, size2KiB))
	out := filepath.Join(t.TempDir(), FileName)
	if _, err := build(ctx, staged, out, size2KiB, 4); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 0 {
		t.Fatalf("a cancelled build left %d files behind", len(entries))
	}
}

func TestReadRootChecksFileSize(t *testing.T) {
	p := writeFile(t, make([]byte, 100))
	if _, err := ReadRoot(p, size2KiB); err == nil || !strings.Contains(err.Error(), "build tree_d again") {
		t.Fatalf("got %v", err)
	}
}

func TestBuildFailsCleanlyOnReadError(t *testing.T) {
	// A directory opens like a file but fails every read: each chunk builder fails at once.
	staged := t.TempDir()
	out := filepath.Join(t.TempDir(), FileName)
	_, err := build(context.Background(), staged, out, 64<<10, 4)
	if err == nil || !strings.Contains(err.Error(), "read staged file") {
		t.Fatalf("got %v, want a read error", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 0 {
		t.Fatalf("a failed build left %d files behind", len(entries))
	}
}
