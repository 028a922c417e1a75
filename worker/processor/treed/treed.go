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
	"github.com/ipfs-force-community/venus-cluster-go/worker/progress"
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
// place in out, and returns the chunk roots in order.
func buildChunks(ctx context.Context, in, out *os.File, lay layout, chunkLeaves uint64) ([][32]byte, error) {
	p := startChunkPipeline(in, out, lay, chunkLeaves, progress.Adder(ctx))
	p.feed(ctx)
	return p.wait()
}

// chunkPipeline builds chunks: they are independent, so one goroutine per CPU reads and hashes
// them in turn, while a single goroutine writes them (concurrent writes to one file contend for
// its lock in the kernel and cost more than they overlap).
type chunkPipeline struct {
	in, out     *os.File
	lay         layout
	chunkLeaves uint64
	roots       [][32]byte
	done        func(staged int64) // counts the staged bytes of each chunk written

	next    chan uint64     // chunks to build
	free    chan []byte     // buffers for a chunk's layers
	written chan *chunkTree // built chunks, to write
	hashing sync.WaitGroup
	writing sync.WaitGroup

	mu   sync.Mutex
	err  error
	stop chan struct{} // closed on the first error
}

func startChunkPipeline(in, out *os.File, lay layout, chunkLeaves uint64, done func(int64)) *chunkPipeline {
	chunks := lay.leaves / chunkLeaves
	hashers := min(uint64(runtime.GOMAXPROCS(0)), chunks)
	buffers := hashers + 2 // one being written and one ready, so hashers rarely wait
	p := &chunkPipeline{
		in: in, out: out, lay: lay, chunkLeaves: chunkLeaves, done: done,
		roots:   make([][32]byte, chunks),
		next:    make(chan uint64),
		free:    make(chan []byte, buffers),
		written: make(chan *chunkTree, buffers),
		stop:    make(chan struct{}),
	}
	for range buffers {
		p.free <- make([]byte, (2*chunkLeaves-1)*NodeSize)
	}
	p.writing.Add(1)
	go p.write()
	for range hashers {
		p.hashing.Add(1)
		go p.hash()
	}
	return p
}

func (p *chunkPipeline) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		p.err = err
		close(p.stop)
	}
}

func (p *chunkPipeline) failed() bool {
	select {
	case <-p.stop:
		return true
	default:
		return false
	}
}

func (p *chunkPipeline) feed(ctx context.Context) {
	for idx := range uint64(len(p.roots)) {
		if err := ctx.Err(); err != nil {
			p.fail(fmt.Errorf("tree_d build stopped: %w", err))
			return
		}
		select {
		case p.next <- idx:
		case <-p.stop:
			return
		}
	}
}

func (p *chunkPipeline) hash() {
	defer p.hashing.Done()
	defer func() {
		if r := recover(); r != nil {
			p.fail(fmt.Errorf("tree_d chunk builder panicked: %v", r))
		}
	}()
	for idx := range p.next {
		t := &chunkTree{index: idx, leaves: p.chunkLeaves, layers: <-p.free}
		if err := t.build(p.in); err != nil {
			p.free <- t.layers
			p.fail(err)
			return
		}
		p.written <- t
	}
}

func (p *chunkPipeline) write() {
	defer p.writing.Done()
	for t := range p.written {
		if !p.failed() {
			if err := t.write(p.out, p.lay); err != nil {
				p.fail(err)
			}
			p.roots[t.index] = t.root()
			p.done(int64(p.chunkLeaves * NodeSize))
		}
		p.free <- t.layers
	}
}

// wait lets the hashers and then the writer finish, and returns the roots or the first error.
func (p *chunkPipeline) wait() ([][32]byte, error) {
	close(p.next)
	p.hashing.Wait()
	close(p.written)
	p.writing.Wait()
	return p.roots, p.err
}

// chunkTree is the subtree of one chunk: every layer, leaves first, back to back in layers.
type chunkTree struct {
	index  uint64
	leaves uint64
	layers []byte
	zero   bool // all its leaves are zero
}

// build reads the chunk's leaves from the staged file and hashes the layers above them.
func (t *chunkTree) build(in *os.File) error {
	data := t.layers[:t.leaves*NodeSize]
	if err := readAtZeroFilled(in, data, int64(t.index*t.leaves*NodeSize)); err != nil {
		return err
	}
	t.zero = isZero(data)
	start, n := uint64(0), t.leaves
	for k := 1; n > 1; k++ {
		prev := t.layers[start*NodeSize : (start+n)*NodeSize]
		start += n
		n /= 2
		layer := t.layers[start*NodeSize : (start+n)*NodeSize]
		if t.zero {
			fillZeroLayer(layer, k)
		} else {
			merkle.HashLayer(layer, prev)
		}
	}
	return nil
}

// write puts each layer of the subtree at its place in the tree file.
func (t *chunkTree) write(out *os.File, lay layout) error {
	start, n := uint64(0), t.leaves
	for k := 0; n >= 1; k++ {
		layer := t.layers[start*NodeSize : (start+n)*NodeSize]
		// The file reads as zeros where nothing is written, so zero leaves need no write.
		if k > 0 || !t.zero {
			off := lay.offsets[k] + int64(t.index*n*NodeSize)
			if _, err := out.WriteAt(layer, off); err != nil {
				return fmt.Errorf("write tree_d layer %d: %w", k, err)
			}
			startWriteback(out, off, int64(len(layer)))
		}
		start += n
		n /= 2
	}
	return nil
}

func (t *chunkTree) root() [32]byte {
	return [32]byte(t.layers[len(t.layers)-NodeSize:])
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
