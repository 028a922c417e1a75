package piece

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/filecoin-project/go-state-types/abi"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/piece/fr32"
	"github.com/ipfs-force-community/venus-cluster-go/piece/merkle"
)

// chunkSize is the padded size of the slices a piece is processed in: each is padded, written
// and hashed as one subtree. A few of them are in memory at once, whatever the piece size.
const chunkSize = 1 << 20

// CommP computes the commitment and the piece CID of a piece of pieceSize padded bytes whose data
// is the first payloadSize bytes of src, zero-padded to the piece's unpadded size.
func CommP(ctx context.Context, src io.Reader, payloadSize uint64, pieceSize abi.PaddedPieceSize) (Commitment, cid.Cid, error) {
	comm, err := WritePadded(ctx, io.Discard, src, payloadSize, pieceSize)
	if err != nil {
		return comm, cid.Undef, err
	}
	return comm, CID(comm), nil
}

// WritePadded reads payloadSize bytes from src, zero-pads them to the unpadded size of a piece
// of pieceSize padded bytes, and writes their fr32 padding to dst (exactly pieceSize bytes), in
// one pass that also computes the piece commitment. src is not read past payloadSize, and not
// at all for a pledge piece (payloadSize 0, src may be nil). After an error dst may hold part of
// the piece.
func WritePadded(ctx context.Context, dst io.Writer, src io.Reader, payloadSize uint64, pieceSize abi.PaddedPieceSize) (Commitment, error) {
	if err := CheckSize(pieceSize); err != nil {
		return Commitment{}, err
	}
	if capacity := pieceSize.Unpadded(); payloadSize > uint64(capacity) {
		return Commitment{}, fmt.Errorf("payload of %d bytes does not fit a piece of %d padded bytes (at most %d bytes of data): "+
			"the piece size must be at least the payload size times 128/127, rounded up to a power of two", payloadSize, pieceSize, capacity)
	}
	p := startPipeline(dst, pieceSize)
	err := p.feed(ctx, src, payloadSize)
	if waitErr := p.wait(); err == nil {
		err = waitErr
	}
	if err != nil {
		return Commitment{}, err
	}
	return merkle.Root(p.roots, make([]byte, len(p.roots)/2)), nil
}

// pipeline pads a piece chunk by chunk on the calling goroutine, while one goroutine writes the
// padded chunks in order and one per CPU hashes them into subtree roots. Hashing costs the most
// and gets every core; the write of a chunk (a copy into the page cache) overlaps the hashing
// of others instead of waiting for it.
type pipeline struct {
	dst     io.Writer
	chunk   int // padded bytes per chunk
	chunks  int
	roots   []byte // the roots of the chunk subtrees, in order
	free    chan []byte
	hashes  chan *padded
	writes  chan *padded
	hashers sync.WaitGroup
	writer  sync.WaitGroup

	writeErr atomic.Pointer[error]
}

// padded is a chunk on its way: written and hashed, then its buffer is free again.
type padded struct {
	index  int
	data   []byte
	pooled bool         // data goes back to the free buffers after use
	users  atomic.Int32 // the writer and the hasher, until each is done
}

func startPipeline(dst io.Writer, pieceSize abi.PaddedPieceSize) *pipeline {
	chunk := min(int(pieceSize), chunkSize)
	chunks := int(pieceSize) / chunk
	hashers := min(runtime.GOMAXPROCS(0), chunks)
	// A buffer per hasher, one being written, one being filled, one spare.
	buffers := hashers + 3
	p := &pipeline{
		dst:    dst,
		chunk:  chunk,
		chunks: chunks,
		roots:  make([]byte, chunks*merkle.NodeSize),
		free:   make(chan []byte, buffers),
		hashes: make(chan *padded, buffers),
		writes: make(chan *padded, buffers),
	}
	for range buffers {
		p.free <- make([]byte, chunk)
	}
	for range hashers {
		p.hashers.Add(1)
		go p.hash()
	}
	p.writer.Add(1)
	go p.write()
	return p
}

func (p *pipeline) hash() {
	defer p.hashers.Done()
	scratch := make([]byte, p.chunk/2)
	for c := range p.hashes {
		root := merkle.Root(c.data, scratch)
		copy(p.roots[c.index*merkle.NodeSize:], root[:])
		p.release(c)
	}
}

func (p *pipeline) write() {
	defer p.writer.Done()
	for c := range p.writes {
		if p.writeErr.Load() == nil {
			if _, err := p.dst.Write(c.data); err != nil {
				err = fmt.Errorf("write padded piece: %w", err)
				p.writeErr.Store(&err)
			}
		}
		p.release(c)
	}
}

func (p *pipeline) release(c *padded) {
	if c.users.Add(-1) == 0 && c.pooled {
		p.free <- c.data
	}
}

func (p *pipeline) failed() error {
	if err := p.writeErr.Load(); err != nil {
		return *err
	}
	return nil
}

// wait stops the writer and the hashers once they are done, and returns the writer's error.
func (p *pipeline) wait() error {
	close(p.writes)
	close(p.hashes)
	p.writer.Wait()
	p.hashers.Wait()
	return p.failed()
}

func (p *pipeline) feed(ctx context.Context, src io.Reader, payloadSize uint64) error {
	unpaddedChunk := uint64(p.chunk / fr32.PaddedChunk * fr32.UnpaddedChunk)
	in := make([]byte, unpaddedChunk)
	var zeros *padded // a chunk of zeros, made when the payload ends before the piece
	zeroRoot := merkle.ZeroNode(height(abi.PaddedPieceSize(p.chunk)))

	for i, left := 0, payloadSize; i < p.chunks; i++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("piece padding stopped: %w", err)
		}
		if err := p.failed(); err != nil {
			return err
		}
		if left == 0 {
			if zeros == nil {
				zeros = &padded{data: make([]byte, p.chunk)}
			}
			copy(p.roots[i*merkle.NodeSize:], zeroRoot[:])
			p.writes <- zeros
			continue
		}
		n := min(left, unpaddedChunk)
		if err := readPayload(src, in[:n], payloadSize-left, payloadSize); err != nil {
			return err
		}
		clear(in[n:])
		left -= n

		c := &padded{index: i, data: <-p.free, pooled: true}
		fr32.Pad(c.data, in)
		c.users.Store(2)
		p.hashes <- c
		p.writes <- c
	}
	return nil
}

func readPayload(src io.Reader, buf []byte, offset, payloadSize uint64) error {
	n, err := io.ReadFull(src, buf)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("piece payload ended after %d of its %d bytes: %w", offset+uint64(n), payloadSize, io.ErrUnexpectedEOF)
	}
	if err != nil {
		return fmt.Errorf("read piece payload at byte %d: %w", offset, err)
	}
	return nil
}
