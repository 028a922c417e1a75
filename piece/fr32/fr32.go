// Package fr32 is Filecoin's bit padding of piece data: every 127 bytes (1016 bits) become four
// 254-bit values, each stored little-endian in 32 bytes whose two most significant bits are zero,
// so that every 32-byte node of the padded data is a valid BLS12-381 field element (an Fr, hence
// the name). Padded sizes are 128/127 of the unpadded ones.
package fr32

import (
	"encoding/binary"
	"fmt"
)

const (
	// UnpaddedChunk is the size of the data a padded chunk holds.
	UnpaddedChunk = 127
	// PaddedChunk is the size of a padded chunk: four 32-byte nodes.
	PaddedChunk = 128
)

// low62 keeps the 62 low bits of the last word of a node.
const low62 = 1<<62 - 1

// Pad pads in, a whole number of 127-byte chunks, into out, 128/127 as long.
func Pad(out, in []byte) {
	if len(in)%UnpaddedChunk != 0 || len(out) < len(in)/UnpaddedChunk*PaddedChunk {
		panic(fmt.Sprintf("fr32: Pad of %d bytes into %d", len(in), len(out)))
	}
	for i := 0; i < len(in)/UnpaddedChunk; i++ {
		padChunk((*[PaddedChunk]byte)(out[i*PaddedChunk:]), (*[UnpaddedChunk]byte)(in[i*UnpaddedChunk:]))
	}
}

// padChunk spreads bits 254k..254k+253 of in into node k of out. Node 1 starts at bit 254,
// that is bit 6 of byte 31; node 2 at bit 4 of byte 63; node 3 at bit 2 of byte 95. Every
// index is a constant, so the compiler checks no bounds.
func padChunk(out *[PaddedChunk]byte, in *[UnpaddedChunk]byte) {
	le := binary.LittleEndian
	w := func(i int) uint64 { return le.Uint64(in[i:]) }
	put := func(i int, v uint64) { le.PutUint64(out[i:], v) }

	put(0, w(0))
	put(8, w(8))
	put(16, w(16))
	put(24, w(24)&low62)

	put(32, w(31)>>6|w(39)<<58)
	put(40, w(39)>>6|w(47)<<58)
	put(48, w(47)>>6|w(55)<<58)
	put(56, (w(55)>>6|w(63)<<58)&low62)

	put(64, w(63)>>4|w(71)<<60)
	put(72, w(71)>>4|w(79)<<60)
	put(80, w(79)>>4|w(87)<<60)
	put(88, (w(87)>>4|w(95)<<60)&low62)

	put(96, w(95)>>2|w(103)<<62)
	put(104, w(103)>>2|w(111)<<62)
	put(112, w(111)>>2|w(119)<<62)
	put(120, w(119)>>2) // the last data bit is bit 61: nothing to clear
}

// Unpad removes the padding of in, a whole number of 128-byte chunks, into out, 127/128 as long.
// The two top bits of every node are dropped, whatever their value.
func Unpad(out, in []byte) {
	if len(in)%PaddedChunk != 0 || len(out) < len(in)/PaddedChunk*UnpaddedChunk {
		panic(fmt.Sprintf("fr32: Unpad of %d bytes into %d", len(in), len(out)))
	}
	for i := 0; i < len(in)/PaddedChunk; i++ {
		unpadChunk((*[UnpaddedChunk]byte)(out[i*UnpaddedChunk:]), (*[PaddedChunk]byte)(in[i*PaddedChunk:]))
	}
}

// unpadChunk joins the 254 bits of each node of in into out: the inverse of padChunk.
func unpadChunk(out *[UnpaddedChunk]byte, in *[PaddedChunk]byte) {
	le := binary.LittleEndian
	n := func(i int) uint64 { return le.Uint64(in[i:]) }
	put := func(i int, v uint64) { le.PutUint64(out[i:], v) }
	n03, n13, n23, n33 := n(24)&low62, n(56)&low62, n(88)&low62, n(120)&low62

	put(0, n(0))
	put(8, n(8))
	put(16, n(16))
	put(24, n03|n(32)<<62)

	put(32, n(32)>>2|n(40)<<62)
	put(40, n(40)>>2|n(48)<<62)
	put(48, n(48)>>2|n13<<62)
	put(56, n13>>2|n(64)<<60)

	put(64, n(64)>>4|n(72)<<60)
	put(72, n(72)>>4|n(80)<<60)
	put(80, n(80)>>4|n23<<60)
	put(88, n23>>4|n(96)<<58)

	put(96, n(96)>>6|n(104)<<58)
	put(104, n(104)>>6|n(112)<<58)
	put(112, n(112)>>6|n33<<58)
	// The last 56 bits fill the last 7 bytes.
	last := n33 >> 6
	for i := 0; i < 7; i++ {
		out[120+i] = byte(last >> (8 * i))
	}
}
