//go:build amd64 && !purego

package merkle

import "github.com/klauspost/cpuid/v2"

//go:generate sh -c "go run asm_gen.go > hash_amd64.s"

// hashPairsSHANI hashes 2n messages of 64 bytes from src into 2n nodes at dst. dst may be src
// itself: each step reads its 128 bytes before it writes its 64.
//
//go:noescape
func hashPairsSHANI(dst, src *byte, n int)

var useSHANI = cpuid.CPU.Supports(cpuid.SHA, cpuid.AVX, cpuid.SSE4, cpuid.SSSE3)

func hashLayer(dst, src []byte) {
	if !useSHANI {
		hashLayerGeneric(dst, src)
		return
	}
	pairs := len(src) / (4 * NodeSize)
	if pairs > 0 {
		hashPairsSHANI(&dst[0], &src[0], pairs)
	}
	if rest := pairs * 4 * NodeSize; rest < len(src) {
		hashLayerGeneric(dst[rest/2:], src[rest:])
	}
}
