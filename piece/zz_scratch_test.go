package piece

import (
	"crypto/sha256"
	"testing"

	sha256simd "github.com/minio/sha256-simd"
)

var sink [32]byte

func BenchmarkStd64(b *testing.B) {
	var buf [64]byte
	b.SetBytes(64)
	for i := 0; i < b.N; i++ {
		sink = sha256.Sum256(buf[:])
	}
}
func BenchmarkSimd64(b *testing.B) {
	var buf [64]byte
	b.SetBytes(64)
	for i := 0; i < b.N; i++ {
		sink = sha256simd.Sum256(buf[:])
	}
}
func BenchmarkStdLong(b *testing.B) {
	buf := make([]byte, 1<<20)
	b.SetBytes(1 << 20)
	for i := 0; i < b.N; i++ {
		sink = sha256.Sum256(buf[:])
	}
}
func BenchmarkSimdLong(b *testing.B) {
	buf := make([]byte, 1<<20)
	b.SetBytes(1 << 20)
	for i := 0; i < b.N; i++ {
		sink = sha256simd.Sum256(buf[:])
	}
}
