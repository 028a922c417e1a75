package treed

import (
	"crypto/sha256"
	"io"
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

// measureSHA256 is the throughput of SHA-256 on one core, over the file.
func measureSHA256(b *testing.B, path string) float64 {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	start := time.Now()
	n, err := io.CopyBuffer(h, f, make([]byte, 1<<20))
	if err != nil {
		b.Fatal(err)
	}
	return float64(n) / time.Since(start).Seconds() / 1e6
}

// BenchmarkTreeD builds the tree_d of a sector of random data. x_sha_limit compares it with
// what SHA-256 alone allows on all cores: a tree hashes about four times its leaves' bytes
// (every node is two compressions of 64 bytes, and there is one node per 32 bytes of leaves).
func BenchmarkTreeD(b *testing.B) {
	staged := randomSectorFile(b)
	out := filepath.Join(b.TempDir(), FileName)
	shaMBps := measureSHA256(b, staged)
	b.SetBytes(int64(benchSectorSize))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Build(staged, out, benchSectorSize); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	mbps := float64(benchSectorSize) * float64(b.N) / b.Elapsed().Seconds() / 1e6
	limit := shaMBps * float64(runtime.GOMAXPROCS(0)) / 4
	b.ReportMetric(shaMBps, "sha256_MB/s")
	b.ReportMetric(mbps/limit, "x_sha_limit")
}
