//go:build ignore

// asm_gen.go writes hash_amd64.s: `go run asm_gen.go > hash_amd64.s` (see go:generate in
// hash_amd64.go).
//
// Every node of a Filecoin merkle tree is SHA-256 of exactly 64 bytes, which costs two
// compressions: the data block, then a padding block that is the same for every node. So the
// padding block's message schedule (plus the round constants) is a table computed here, and no
// per-call state is kept. Two independent nodes are hashed side by side so that a CPU whose round
// instruction is bound by its latency overlaps them; where it is bound by its throughput, as on
// the 2-core Rocket Lake this was measured on, the gain is a few percent.
package main

import (
	"fmt"
	"math/bits"
	"os"
	"strings"
)

var k256 = [64]uint32{
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}

// iv is the SHA-256 initial state a..h.
var iv = [8]uint32{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19}

// paddingWK is W[t]+K[t] for the second block of a 64-byte message: 0x80, zeros, length 512 bits.
func paddingWK() [64]uint32 {
	var w [64]uint32
	w[0], w[15] = 0x80000000, 512
	for t := 16; t < 64; t++ {
		s0 := bits.RotateLeft32(w[t-15], -7) ^ bits.RotateLeft32(w[t-15], -18) ^ w[t-15]>>3
		s1 := bits.RotateLeft32(w[t-2], -17) ^ bits.RotateLeft32(w[t-2], -19) ^ w[t-2]>>10
		w[t] = s1 + w[t-7] + s0 + w[t-16]
	}
	for t := range w {
		w[t] += k256[t]
	}
	return w
}

var out strings.Builder

func emit(format string, args ...any) { fmt.Fprintf(&out, "\t"+format+"\n", args...) }

func table(name string, words []uint32) {
	for i, w := range words {
		fmt.Fprintf(&out, "DATA %s<>+%d(SB)/4, $0x%08x\n", name, 4*i, w)
	}
	fmt.Fprintf(&out, "GLOBL %s<>(SB), RODATA|NOPTR, $%d\n\n", name, 4*len(words))
}

// stream holds the registers of one message in flight: state (abef, cdgh) and schedule (m).
type stream struct {
	abef, cdgh string
	m          [4]string
}

var streams = []stream{
	{"X1", "X2", [4]string{"X3", "X4", "X5", "X6"}},
	{"X7", "X8", [4]string{"X9", "X10", "X11", "X12"}},
}

const (
	tmp  = "X13"
	flip = "X14" // X15 is left alone: Go's internal ABI keeps zero there.
)

// rounds4 runs four rounds on s with the W+K words already in X0.
func rounds4(s stream) {
	emit("SHA256RNDS2 X0, %s, %s", s.abef, s.cdgh)
	emit("PSHUFD $0x0e, X0, X0")
	emit("SHA256RNDS2 X0, %s, %s", s.cdgh, s.abef)
}

// schedule turns s.m[g%4], holding W[4g-16..4g-13], into W[4g..4g+3].
func schedule(s stream, g int) {
	m := func(i int) string { return s.m[(g+i)%4] }
	emit("SHA256MSG1 %s, %s", m(1), m(0))
	emit("VPALIGNR $4, %s, %s, %s", m(2), m(3), tmp)
	emit("VPADDD %s, %s, %s", tmp, m(0), m(0))
	emit("SHA256MSG2 %s, %s", m(3), m(0))
}

// dataBlock compresses the 64 input bytes of each stream, starting from the initial state.
func dataBlock() {
	for _, s := range streams {
		emit("VMOVDQU ivABEF<>(SB), %s", s.abef)
		emit("VMOVDQU ivCDGH<>(SB), %s", s.cdgh)
	}
	for g := 0; g < 16; g++ {
		for i, s := range streams {
			if g < 4 {
				emit("VMOVDQU %d(SI), %s", 64*i+16*g, s.m[g])
				emit("VPSHUFB %s, %s, %s", flip, s.m[g], s.m[g])
			} else {
				schedule(s, g)
			}
			emit("VPADDD K256<>+%d(SB), %s, X0", 16*g, s.m[g%4])
			rounds4(s)
		}
	}
	for _, s := range streams {
		emit("VPADDD ivABEF<>(SB), %s, %s", s.abef, s.abef)
		emit("VPADDD ivCDGH<>(SB), %s, %s", s.cdgh, s.cdgh)
	}
}

// paddingBlock compresses the constant second block; the streams share its W+K words.
func paddingBlock() {
	for _, s := range streams {
		emit("VMOVDQA %s, %s", s.abef, s.m[0])
		emit("VMOVDQA %s, %s", s.cdgh, s.m[1])
	}
	for g := 0; g < 16; g++ {
		emit("VMOVDQU padWK<>+%d(SB), X0", 16*g)
		for _, s := range streams {
			emit("SHA256RNDS2 X0, %s, %s", s.abef, s.cdgh)
		}
		emit("PSHUFD $0x0e, X0, X0")
		for _, s := range streams {
			emit("SHA256RNDS2 X0, %s, %s", s.cdgh, s.abef)
		}
	}
	for _, s := range streams {
		emit("VPADDD %s, %s, %s", s.m[0], s.abef, s.abef)
		emit("VPADDD %s, %s, %s", s.m[1], s.cdgh, s.cdgh)
	}
}

// store writes each stream's digest big-endian, with the top two bits of the last byte cleared.
func store() {
	for i, s := range streams {
		emit("PSHUFD $0x1b, %s, %s", s.abef, s.abef) // lanes A B E F
		emit("PSHUFD $0xb1, %s, %s", s.cdgh, s.cdgh) // lanes G H C D
		emit("VPBLENDW $0xf0, %s, %s, %s", s.cdgh, s.abef, s.m[2])
		emit("VPALIGNR $8, %s, %s, %s", s.abef, s.cdgh, s.m[3])
		emit("VPSHUFB %s, %s, %s", flip, s.m[2], s.m[2])
		emit("VPSHUFB %s, %s, %s", flip, s.m[3], s.m[3])
		emit("VPAND trunc254<>(SB), %s, %s", s.m[3], s.m[3])
		emit("VMOVDQU %s, %d(DI)", s.m[2], 32*i)
		emit("VMOVDQU %s, %d(DI)", s.m[3], 32*i+16)
	}
}

func main() {
	out.WriteString("// Code generated by asm_gen.go. DO NOT EDIT.\n\n//go:build amd64 && !purego\n\n#include \"textflag.h\"\n\n")
	table("K256", k256[:])
	wk := paddingWK()
	table("padWK", wk[:])
	table("ivABEF", []uint32{iv[5], iv[4], iv[1], iv[0]})
	table("ivCDGH", []uint32{iv[7], iv[6], iv[3], iv[2]})
	table("flipMask", []uint32{0x00010203, 0x04050607, 0x08090a0b, 0x0c0d0e0f})
	table("trunc254", []uint32{0xffffffff, 0xffffffff, 0xffffffff, 0x3fffffff})

	out.WriteString("// func hashPairsSHANI(dst, src *byte, n int)\n")
	out.WriteString("// Requires: SHA, AVX, SSE4.1, SSSE3\n")
	out.WriteString("TEXT ·hashPairsSHANI(SB), NOSPLIT, $0-24\n")
	emit("MOVQ dst+0(FP), DI")
	emit("MOVQ src+8(FP), SI")
	emit("MOVQ n+16(FP), CX")
	emit("TESTQ CX, CX")
	emit("JZ done")
	emit("VMOVDQU flipMask<>(SB), %s", flip)
	out.WriteString("\nloop:\n")
	dataBlock()
	paddingBlock()
	store()
	emit("ADDQ $%d, SI", 64*len(streams))
	emit("ADDQ $%d, DI", 32*len(streams))
	emit("DECQ CX")
	emit("JNZ loop")
	out.WriteString("\ndone:\n")
	emit("RET")
	os.Stdout.WriteString(out.String())
}
