// Package treed builds Filecoin's tree_d: the binary merkle tree over a sector's staged
// (fr32-padded) data whose root is the sector's CommD. Nodes are 32 bytes; a parent is the
// SHA-256 of its two children with the two most significant bits of the last byte cleared
// (sha256-trunc254), so every node is a valid field element. The tree file stores every layer,
// leaves first and root last, as rust-fil-proofs' sc-02-data-tree-d.dat does.
package treed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/filecoin-project/go-commp-utils/v2/zerocomm"
	commcid "github.com/filecoin-project/go-fil-commcid"
	"github.com/filecoin-project/go-state-types/abi"

	"github.com/ipfs-force-community/venus-cluster-go/piece/merkle"
)

// FileName is the name rust-fil-proofs gives the tree_d store inside a cache directory.
const FileName = "sc-02-data-tree-d.dat"

// NodeSize is the size of a leaf and of every node of the tree.
const NodeSize = merkle.NodeSize

// defaultChunkLeaves sets the subtree built in memory at once: 4 MiB of data, about 8 MiB of
// buffers per worker, whatever the sector size.
const defaultChunkLeaves = 1 << 17

// FileSize is the size of the tree_d file of a sector: 2n−1 nodes for n leaves.
func FileSize(size abi.SectorSize) int64 { return 2*int64(size) - NodeSize }

// Build writes the tree_d of stagedFile to outFile and returns its root, the sector's CommD.
func Build(stagedFile, outFile string, sectorSize abi.SectorSize) ([32]byte, error) {
	return BuildContext(context.Background(), stagedFile, outFile, sectorSize)
}

// BuildContext is Build that stops between chunks when ctx is cancelled.
func BuildContext(ctx context.Context, stagedFile, outFile string, sectorSize abi.SectorSize) ([32]byte, error) {
	return build(ctx, stagedFile, outFile, sectorSize, defaultChunkLeaves)
}

// ZeroCommD is the CommD of a sector holding only zeros.
func ZeroCommD(sectorSize abi.SectorSize) [32]byte {
	c := zerocomm.ZeroPieceCommitment(abi.PaddedPieceSize(sectorSize).Unpadded())
	raw, err := commcid.CIDToDataCommitmentV1(c)
	if err != nil {
		// The table of zero commitments is built into the library; a failure is a bug there.
		panic(fmt.Sprintf("zero commitment of %d bytes: %v", sectorSize, err))
	}
	var out [32]byte
	copy(out[:], raw)
	return out
}

// ReadRoot reads the root (CommD) from a tree_d file, checking that the file has the size of a
// complete tree of the sector.
func ReadRoot(treeFile string, sectorSize abi.SectorSize) ([32]byte, error) {
	var root [32]byte
	f, err := os.Open(treeFile)
	if err != nil {
		return root, fmt.Errorf("open tree_d: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return root, fmt.Errorf("stat tree_d: %w", err)
	}
	if want := FileSize(sectorSize); st.Size() != want {
		return root, fmt.Errorf("tree_d file %s is %d bytes, a %s sector needs %d: build tree_d again",
			treeFile, st.Size(), sectorSize.ShortString(), want)
	}
	if _, err := f.ReadAt(root[:], st.Size()-NodeSize); err != nil {
		return root, fmt.Errorf("read tree_d root from %s: %w", treeFile, err)
	}
	return root, nil
}

// layout gives where each layer of a tree with a given number of leaves starts in the file.
type layout struct {
	leaves  uint64
	offsets []int64 // offsets[k] is the byte offset of layer k; layer 0 holds the leaves
}

func newLayout(leaves uint64) layout {
	l := layout{leaves: leaves}
	off := int64(0)
	for n := leaves; n >= 1; n /= 2 {
		l.offsets = append(l.offsets, off)
		off += int64(n) * NodeSize
	}
	return l
}

func (l layout) height() int { return len(l.offsets) - 1 }

// leafCount checks that the sector size makes a binary tree and returns its number of leaves.
func leafCount(size abi.SectorSize) (uint64, error) {
	n := uint64(size) / NodeSize
	if uint64(size)%NodeSize != 0 || n < 2 || bits.OnesCount64(n) != 1 {
		return 0, fmt.Errorf("sector size %d is not a power of two of at least %d bytes", size, 2*NodeSize)
	}
	return n, nil
}

func build(ctx context.Context, stagedFile, outFile string, sectorSize abi.SectorSize, chunkLeaves uint64) (root [32]byte, err error) {
	leaves, err := leafCount(sectorSize)
	if err != nil {
		return root, err
	}
	chunkLeaves = min(chunkLeaves, leaves)

	in, err := openStaged(stagedFile, sectorSize)
	if err != nil {
		return root, err
	}
	defer in.Close()

	// Written under a temporary name and renamed, so a tree_d at outFile is always complete.
	tmp := outFile + ".tmp"
	out, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return root, fmt.Errorf("create tree_d: %w", err)
	}
	defer func() {
		if out != nil {
			out.Close()
		}
		if err != nil {
			os.Remove(tmp)
		}
	}()
	// The whole file is reserved up front (a full disk fails here, not at the final sync), and
	// reads as zeros until written: an all-zero chunk then needs no write for its leaves.
	if err := reserve(out, FileSize(sectorSize)); err != nil {
		return root, fmt.Errorf("reserve %d bytes for tree_d file %s: %w", FileSize(sectorSize), tmp, err)
	}

	lay := newLayout(leaves)
	chunkRoots, err := buildChunks(ctx, in, out, lay, chunkLeaves)
	if err != nil {
		return root, err
	}
	root, err = buildTop(out, lay, bits.TrailingZeros64(chunkLeaves), chunkRoots)
	if err != nil {
		return root, err
	}
	if err := out.Sync(); err != nil {
		return root, fmt.Errorf("sync tree_d: %w", err)
	}
	closeErr := out.Close()
	out = nil
	if closeErr != nil {
		return root, fmt.Errorf("close tree_d: %w", closeErr)
	}
	if err := os.Rename(tmp, outFile); err != nil {
		return root, fmt.Errorf("move tree_d into place: %w", err)
	}
	syncDir(filepath.Dir(outFile))
	return root, nil
}

func openStaged(stagedFile string, sectorSize abi.SectorSize) (*os.File, error) {
	in, err := os.Open(stagedFile)
	if err != nil {
		return nil, fmt.Errorf("open staged file: %w", err)
	}
	st, err := in.Stat()
	if err != nil {
		in.Close()
		return nil, fmt.Errorf("stat staged file: %w", err)
	}
	if st.Size() > int64(sectorSize) {
		in.Close()
		return nil, fmt.Errorf("staged file %s is %d bytes, more than the %s sector: the sector's pieces must fit in it",
			stagedFile, st.Size(), sectorSize.ShortString())
	}
	return in, nil
}

// syncDir makes a rename durable; a failure only weakens durability, so it is not reported.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// buildChunks builds the subtree of every chunk of chunkLeaves leaves, writes its layers at their
// place in out, and returns the chunk roots in order. Chunks are independent, so one goroutine
// per CPU takes them in turn.
func buildChunks(ctx context.Context, in, out *os.File, lay layout, chunkLeaves uint64) ([][32]byte, error) {
	chunks := lay.leaves / chunkLeaves
	roots := make([][32]byte, chunks)
	workers := min(uint64(runtime.GOMAXPROCS(0)), chunks)

	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		firstEr error
		next    = make(chan uint64)
		stop    = make(chan struct{})
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstEr == nil {
			firstEr = err
			close(stop)
		}
	}
	for w := uint64(0); w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					fail(fmt.Errorf("tree_d chunk builder panicked: %v", r))
				}
			}()
			cb := newChunkBuilder(chunkLeaves)
			for idx := range next {
				r, err := cb.build(in, out, lay, idx)
				if err != nil {
					fail(err)
					return
				}
				roots[idx] = r
			}
		}()
	}
feed:
	for idx := uint64(0); idx < chunks; idx++ {
		if err := ctx.Err(); err != nil {
			fail(fmt.Errorf("tree_d build stopped: %w", err))
			break
		}
		select {
		case next <- idx:
		case <-stop:
			break feed
		}
	}
	close(next)
	wg.Wait()
	return roots, firstEr
}

// chunkBuilder holds the buffers of one subtree: every layer, leaves first, back to back.
type chunkBuilder struct {
	leaves uint64
	buf    []byte
}

func newChunkBuilder(leaves uint64) *chunkBuilder {
	return &chunkBuilder{leaves: leaves, buf: make([]byte, (2*leaves-1)*NodeSize)}
}

func (c *chunkBuilder) build(in, out *os.File, lay layout, idx uint64) ([32]byte, error) {
	var root [32]byte
	data := c.buf[:c.leaves*NodeSize]
	if err := readAtZeroFilled(in, data, int64(idx*c.leaves*NodeSize)); err != nil {
		return root, err
	}
	zero := isZero(data)

	layerStart, n := uint64(0), c.leaves
	for k := 0; n >= 1; k++ {
		layer := c.buf[layerStart*NodeSize : (layerStart+n)*NodeSize]
		if k > 0 {
			prev := c.buf[(layerStart-2*n)*NodeSize : layerStart*NodeSize]
			if zero {
				fillZeroLayer(layer, k)
			} else {
				merkle.HashLayer(layer, prev)
			}
		}
		// The file reads as zeros where nothing is written, so zero leaves need no write.
		if k > 0 || !zero {
			off := lay.offsets[k] + int64(idx*n*NodeSize)
			if _, err := out.WriteAt(layer, off); err != nil {
				return root, fmt.Errorf("write tree_d layer %d: %w", k, err)
			}
			startWriteback(out, off, int64(len(layer)))
		}
		if n == 1 {
			copy(root[:], layer)
		}
		layerStart += n
		n /= 2
	}
	return root, nil
}

// buildTop builds the layers above the chunk roots (layer chunkHeight) in memory, writes them and
// returns the tree's root.
func buildTop(out *os.File, lay layout, chunkHeight int, chunkRoots [][32]byte) ([32]byte, error) {
	layer := make([]byte, len(chunkRoots)*NodeSize)
	for i, r := range chunkRoots {
		copy(layer[i*NodeSize:], r[:])
	}
	for k := chunkHeight + 1; k <= lay.height(); k++ {
		parent := make([]byte, len(layer)/2)
		merkle.HashLayer(parent, layer)
		if _, err := out.WriteAt(parent, lay.offsets[k]); err != nil {
			return [32]byte{}, fmt.Errorf("write tree_d layer %d: %w", k, err)
		}
		layer = parent
	}
	var root [32]byte
	copy(root[:], layer)
	return root, nil
}

// readAtZeroFilled fills buf from f at off; whatever lies past the end of f reads as zeros, as a
// sparse CC staged file or a file shorter than the sector does.
func readAtZeroFilled(f *os.File, buf []byte, off int64) error {
	n, err := f.ReadAt(buf, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read staged file at %d: %w", off, err)
	}
	clear(buf[n:])
	return nil
}

func isZero(b []byte) bool {
	for len(b) >= 8 {
		if b[0]|b[1]|b[2]|b[3]|b[4]|b[5]|b[6]|b[7] != 0 {
			return false
		}
		b = b[8:]
	}
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

func fillZeroLayer(layer []byte, k int) {
	zero := merkle.ZeroNode(k)
	for i := 0; i < len(layer); i += NodeSize {
		copy(layer[i:], zero[:])
	}
}
