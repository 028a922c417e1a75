package treed

import (
	"crypto/sha256"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/filecoin-project/go-state-types/abi"
)

// The data path benchmarks run only with -bench (scripts/bench-datapath.sh): they stream a
// sector of random data from a file generated once per run.
const benchSectorSize = abi.SectorSize(1 << 30)

var (
	benchDir      string
	benchDataOnce sync.Once
	benchData     string
	benchDataErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// randomSectorFile is a file of benchSectorSize random bytes, written once per run.
func randomSectorFile(b *testing.B) string {
	benchDataOnce.Do(func() {
		benchDir, benchDataErr = os.MkdirTemp("", "treed-bench-")
		if benchDataErr != nil {
			return
		}
		benchData = filepath.Join(benchDir, "staged")
		benchDataErr = writeRandomFile(benchData, int64(benchSectorSize))
	})
	if benchDataErr != nil {
		b.Fatal(benchDataErr)
	}
	return benchData
}

func writeRandomFile(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	rng := rand.NewChaCha8([32]byte{1})
	buf := make([]byte, 4<<20)
	for left := size; left > 0; left -= int64(len(buf)) {
		rng.Read(buf)
		if _, err := f.Write(buf[:min(left, int64(len(buf)))]); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
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

// BenchmarkTreeD builds the tree_d of a sector of random data. x_sha_limit compares it with
// what SHA-256 alone allows on all cores (sha256_MB/s, timed between the iterations): a tree
// hashes about four times its leaves' bytes (every node is two compressions of 64 bytes, and
// there is one node per 32 bytes of leaves).
func BenchmarkTreeD(b *testing.B) {
	staged := randomSectorFile(b)
	out := filepath.Join(b.TempDir(), FileName)
	var (
		shaBytes int64
		shaTime  time.Duration
	)
	b.SetBytes(int64(benchSectorSize))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		n, d := sha256AllCores()
		shaBytes += n
		shaTime += d
		// The previous tree's teardown is not part of the build, and the page cache memory it
		// frees is reused at once (this VM hands memory freed for a couple of seconds back to
		// its host, and first touch then costs a host page fault per page).
		os.Remove(out)
		b.StartTimer()
		if _, err := Build(staged, out, benchSectorSize); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	mbps := float64(benchSectorSize) * float64(b.N) / b.Elapsed().Seconds() / 1e6
	shaMBps := float64(shaBytes) / shaTime.Seconds() / 1e6
	b.ReportMetric(shaMBps, "sha256_MB/s")
	b.ReportMetric(mbps/(shaMBps/4), "x_sha_limit")
}
