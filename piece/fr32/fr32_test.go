package fr32

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// referencePad is the definition, bit by bit: bit i of the data is bit i%254 of node i/254.
func referencePad(in []byte) []byte {
	out := make([]byte, len(in)/UnpaddedChunk*PaddedChunk)
	for c := 0; c < len(in)/UnpaddedChunk; c++ {
		for i := 0; i < 8*UnpaddedChunk; i++ {
			src := 8*UnpaddedChunk*c + i
			if in[src/8]>>(src%8)&1 == 1 {
				dst := 8*PaddedChunk*c + 256*(i/254) + i%254
				out[dst/8] |= 1 << (dst % 8)
			}
		}
	}
	return out
}

func random(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPadMatchesBitDefinition(t *testing.T) {
	in := random(t, 5*UnpaddedChunk)
	out := make([]byte, 5*PaddedChunk)
	Pad(out, in)
	if !bytes.Equal(out, referencePad(in)) {
		t.Fatal("Pad differs from the bit-by-bit definition")
	}
}

func TestPadKnownVectors(t *testing.T) {
	// All ones: every node is 254 ones, 31 bytes of 0xff then 0x3f.
	ones := bytes.Repeat([]byte{0xff}, UnpaddedChunk)
	node := append(bytes.Repeat([]byte{0xff}, 31), 0x3f)
	out := make([]byte, PaddedChunk)
	Pad(out, ones)
	if want := bytes.Repeat(node, 4); !bytes.Equal(out, want) {
		t.Fatalf("all ones padded to\n%x\nwant\n%x", out, want)
	}

	// Bit 254 of the data (byte 31, bit 6) is the first bit of the second node (byte 32).
	in := make([]byte, UnpaddedChunk)
	in[31] = 0x40
	Pad(out, in)
	want := make([]byte, PaddedChunk)
	want[32] = 0x01
	if !bytes.Equal(out, want) {
		t.Fatalf("bit 254 padded to\n%x\nwant\n%x", out, want)
	}

	// The last data byte holds bits 1010..1015 of node 3's 254: its top six bits end the chunk.
	clear(in)
	in[126] = 0xfc
	Pad(out, in)
	clear(want)
	want[127] = 0x3f
	if !bytes.Equal(out, want) {
		t.Fatalf("last byte padded to\n%x\nwant\n%x", out, want)
	}
}

func TestUnpadInvertsPad(t *testing.T) {
	in := random(t, 64*UnpaddedChunk)
	padded := make([]byte, 64*PaddedChunk)
	Pad(padded, in)
	back := make([]byte, len(in))
	Unpad(back, padded)
	if !bytes.Equal(back, in) {
		t.Fatal("Unpad(Pad(x)) != x")
	}
	// The two top bits of a node carry no data: set, they change nothing.
	for i := 31; i < len(padded); i += 32 {
		padded[i] |= 0xc0
	}
	Unpad(back, padded)
	if !bytes.Equal(back, in) {
		t.Fatal("Unpad read the two top bits of a node")
	}
}

func TestStreamingRoundTrip(t *testing.T) {
	// Sizes around the adapters' internal buffer and a partial last chunk.
	for _, n := range []int{0, 1, UnpaddedChunk, 1000, streamChunks * UnpaddedChunk, 3*streamChunks*UnpaddedChunk + 5} {
		data := random(t, n)
		chunks := (n + UnpaddedChunk - 1) / UnpaddedChunk
		full := make([]byte, chunks*UnpaddedChunk)
		copy(full, data)
		want := referencePad(full)

		padded, err := io.ReadAll(NewPadReader(iotest.HalfReader(bytes.NewReader(data))))
		if err != nil || !bytes.Equal(padded, want) {
			t.Fatalf("%d bytes: pad reader gave %d bytes (err %v), want %d", n, len(padded), err, len(want))
		}

		var buf bytes.Buffer
		w := NewPadWriter(&buf)
		for rest := data; len(rest) > 0; {
			k := min(len(rest), 333)
			if _, err := w.Write(rest[:k]); err != nil {
				t.Fatal(err)
			}
			rest = rest[k:]
		}
		if err := w.Close(); err != nil || !bytes.Equal(buf.Bytes(), want) {
			t.Fatalf("%d bytes: pad writer gave %d bytes (err %v), want %d", n, buf.Len(), err, len(want))
		}

		back, err := io.ReadAll(NewUnpadReader(iotest.OneByteReader(bytes.NewReader(padded))))
		if err != nil || !bytes.Equal(back, full) {
			t.Fatalf("%d bytes: unpad reader gave %d bytes (err %v), want %d", n, len(back), err, len(full))
		}
	}
}

func TestUnpadReaderRejectsPartialChunk(t *testing.T) {
	_, err := io.ReadAll(NewUnpadReader(bytes.NewReader(make([]byte, PaddedChunk+10))))
	if !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), "10 bytes into a 128-byte chunk") {
		t.Fatalf("got %v", err)
	}
}

func TestPadReaderPassesReadErrors(t *testing.T) {
	boom := errors.New("disk on fire")
	r := io.MultiReader(bytes.NewReader(make([]byte, 200)), iotest.ErrReader(boom))
	out, err := io.ReadAll(NewPadReader(r))
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want the reader's error", err)
	}
	if len(out) != PaddedChunk {
		t.Fatalf("got %d padded bytes before the error, want only the one whole chunk", len(out))
	}
}

func BenchmarkPad(b *testing.B) {
	in := make([]byte, 8192*UnpaddedChunk)
	out := make([]byte, 8192*PaddedChunk)
	b.SetBytes(int64(len(out)))
	for i := 0; i < b.N; i++ {
		Pad(out, in)
	}
}

func BenchmarkUnpad(b *testing.B) {
	in := make([]byte, 8192*PaddedChunk)
	out := make([]byte, 8192*UnpaddedChunk)
	b.SetBytes(int64(len(in)))
	for i := 0; i < b.N; i++ {
		Unpad(out, in)
	}
}
