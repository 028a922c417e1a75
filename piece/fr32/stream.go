package fr32

import (
	"errors"
	"fmt"
	"io"
)

// streamChunks is how many chunks the adapters pad or unpad per call: 32 KiB of output.
const streamChunks = 256

// padReader pads what it reads from r.
type padReader struct {
	r       io.Reader
	in, out []byte
	pending []byte // padded bytes not yet returned
	err     error  // the error to return once pending is drained
}

// NewPadReader returns the fr32-padded form of what r yields. If r ends inside a 127-byte chunk,
// the chunk is completed with zeros, as a piece is zero-padded to its size.
func NewPadReader(r io.Reader) io.Reader {
	return &padReader{
		r:   r,
		in:  make([]byte, streamChunks*UnpaddedChunk),
		out: make([]byte, streamChunks*PaddedChunk),
	}
}

func (p *padReader) Read(b []byte) (int, error) {
	for len(p.pending) == 0 {
		if p.err != nil {
			return 0, p.err
		}
		p.fill()
	}
	n := copy(b, p.pending)
	p.pending = p.pending[n:]
	return n, nil
}

func (p *padReader) fill() {
	n, err := io.ReadFull(p.r, p.in)
	chunks := n / UnpaddedChunk
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		p.err = io.EOF
		// The end of the data completes its chunk with zeros; a failure to read does not.
		chunks = (n + UnpaddedChunk - 1) / UnpaddedChunk
		clear(p.in[n : chunks*UnpaddedChunk])
	case err != nil:
		p.err = err
	}
	Pad(p.out, p.in[:chunks*UnpaddedChunk])
	p.pending = p.out[:chunks*PaddedChunk]
}

// unpadReader removes the padding of what it reads from r.
type unpadReader struct {
	r       io.Reader
	in, out []byte
	pending []byte
	err     error
}

// NewUnpadReader returns the data that the fr32-padded stream r holds. r must hold whole 128-byte
// chunks; a stream that ends inside one fails with io.ErrUnexpectedEOF.
func NewUnpadReader(r io.Reader) io.Reader {
	return &unpadReader{
		r:   r,
		in:  make([]byte, streamChunks*PaddedChunk),
		out: make([]byte, streamChunks*UnpaddedChunk),
	}
}

func (u *unpadReader) Read(b []byte) (int, error) {
	for len(u.pending) == 0 {
		if u.err != nil {
			return 0, u.err
		}
		u.fill()
	}
	n := copy(b, u.pending)
	u.pending = u.pending[n:]
	return n, nil
}

func (u *unpadReader) fill() {
	n, err := io.ReadFull(u.r, u.in)
	switch {
	case errors.Is(err, io.EOF):
		u.err = io.EOF
	case errors.Is(err, io.ErrUnexpectedEOF) && n%PaddedChunk == 0:
		u.err = io.EOF
	case errors.Is(err, io.ErrUnexpectedEOF):
		u.err = fmt.Errorf("fr32: padded stream ends %d bytes into a %d-byte chunk: %w",
			n%PaddedChunk, PaddedChunk, io.ErrUnexpectedEOF)
	case err != nil:
		u.err = err
	}
	whole := n / PaddedChunk * PaddedChunk
	Unpad(u.out, u.in[:whole])
	u.pending = u.out[:whole/PaddedChunk*UnpaddedChunk]
}

// PadWriter pads what is written to it into an underlying writer.
type PadWriter struct {
	w        io.Writer
	in, out  []byte
	buffered int // bytes of in waiting for a whole chunk
	err      error
}

// NewPadWriter returns a writer that writes the fr32-padded form of its input to w. Close pads
// and writes the last partial chunk with zeros; it does not close w.
func NewPadWriter(w io.Writer) *PadWriter {
	return &PadWriter{
		w:   w,
		in:  make([]byte, streamChunks*UnpaddedChunk),
		out: make([]byte, streamChunks*PaddedChunk),
	}
}

// Write buffers b and writes the padding of every chunk it completes.
func (p *PadWriter) Write(b []byte) (int, error) {
	written := 0
	for len(b) > 0 {
		if p.err != nil {
			return written, p.err
		}
		n := copy(p.in[p.buffered:], b)
		p.buffered += n
		b = b[n:]
		written += n
		if p.buffered == len(p.in) {
			p.flush(p.buffered)
		}
	}
	return written, p.err
}

// Close writes the last partial chunk, completed with zeros.
func (p *PadWriter) Close() error {
	if p.err == nil && p.buffered > 0 {
		chunks := (p.buffered + UnpaddedChunk - 1) / UnpaddedChunk
		clear(p.in[p.buffered : chunks*UnpaddedChunk])
		p.flush(chunks * UnpaddedChunk)
	}
	return p.err
}

func (p *PadWriter) flush(n int) {
	Pad(p.out, p.in[:n])
	if _, err := p.w.Write(p.out[:n/UnpaddedChunk*PaddedChunk]); err != nil {
		p.err = err
	}
	p.buffered = 0
}
