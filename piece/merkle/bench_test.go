package merkle

import (
	"crypto/sha256"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"
)

// BenchmarkHashLayer is one core hashing a layer; MB/s counts the layer's bytes.
func BenchmarkHashLayer(b *testing.B) {
	src := make([]byte, 1<<20)
	dst := make([]byte, len(src)/2)
	for _, impl := range []struct {
		name string
		hash func(dst, src []byte)
		ok   bool
	}{{"sha-ni", hashLayer, useSHANI}, {"crypto-sha256", hashLayerGeneric, true}} {
		b.Run(impl.name, func(b *testing.B) {
			if !impl.ok {
				b.Skip("no SHA extensions on this CPU")
			}
			b.SetBytes(int64(len(src)))
			for i := 0; i < b.N; i++ {
				impl.hash(dst, src)
			}
		})
	}
}

// sha256AllCores times raw SHA-256 on every core at once, each hashing 1MiB (which stays in
// its cache) 64 times, and returns the bytes hashed and the time taken. Measured this way, a
// machine busy with other work slows it as much as the code it is compared with.
func sha256AllCores() (int64, time.Duration) {
	cores := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	start := time.Now()
	for range cores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1<<20)
			for range 64 {
				sha256.Sum256(buf)
			}
		}()
	}
	wg.Wait()
	return int64(cores) * 64 << 20, time.Since(start)
}

// BenchmarkTreeHashing is the tree hashing alone, without I/O: the root of 64MiB of leaves, one
// subtree per core. x_sha_limit compares it with what SHA-256 alone allows on all cores
// (sha256_MB/s, timed between the iterations), at four bytes hashed per byte of leaves.
func BenchmarkTreeHashing(b *testing.B) {
	data := make([]byte, 64<<20)
	rand.NewChaCha8([32]byte{3}).Read(data)
	cores := runtime.GOMAXPROCS(0)
	part := len(data) / cores
	scratch := make([][]byte, cores)
	for i := range scratch {
		scratch[i] = make([]byte, part/2)
	}
	var (
		shaBytes int64
		shaTime  time.Duration
	)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		n, d := sha256AllCores()
		shaBytes += n
		shaTime += d
		b.StartTimer()

		var wg sync.WaitGroup
		for c := 0; c < cores; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				Root(data[c*part:(c+1)*part], scratch[c])
			}()
		}
		wg.Wait()
	}
	b.StopTimer()
	mbps := float64(len(data)) * float64(b.N) / b.Elapsed().Seconds() / 1e6
	shaMBps := float64(shaBytes) / shaTime.Seconds() / 1e6
	b.ReportMetric(shaMBps, "sha256_MB/s")
	b.ReportMetric(mbps/(shaMBps/4), "x_sha_limit")
}
