package piece

import (
	"context"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	commphh "github.com/filecoin-project/go-fil-commp-hashhash"
	"github.com/filecoin-project/go-state-types/abi"
)

// The data path benchmarks run only with -bench (scripts/bench-datapath.sh). They stream a
// random payload that fills a 1GiB piece from a file generated once per run, and time
// go-fil-commp-hashhash over the same file between their own iterations, so that a machine
// whose load changes during the run skews both sides alike.
const benchPieceSize = abi.PaddedPieceSize(1 << 30)

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

// benchPayload is a file of random bytes that fills a benchPieceSize piece.
func benchPayload(b *testing.B) (string, uint64) {
	size := uint64(benchPieceSize.Unpadded())
	benchDataOnce.Do(func() {
		benchDir, benchDataErr = os.MkdirTemp("", "piece-bench-")
		if benchDataErr == nil {
			benchData = filepath.Join(benchDir, "payload")
			benchDataErr = writeRandomFile(benchData, int64(size))
		}
	})
	if benchDataErr != nil {
		b.Fatal(benchDataErr)
	}
	return benchData, size
}

func writeRandomFile(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	rng := rand.NewChaCha8([32]byte{2})
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

// baselines accumulates the time of the reference computation over the same bytes.
type baselines struct {
	hashhash time.Duration
}

func (bl *baselines) timeHashhash(b *testing.B, path string) Commitment {
	start := time.Now()
	comm := hashhashFile(b, path)
	bl.hashhash += time.Since(start)
	return Commitment(comm)
}

func hashhashFile(b *testing.B, path string) []byte {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var calc commphh.Calc
	if _, err := io.CopyBuffer(&calc, f, make([]byte, 1<<20)); err != nil {
		b.Fatal(err)
	}
	comm, _, err := calc.Digest()
	if err != nil {
		b.Fatal(err)
	}
	return comm
}

func mbps(bytes int64, d time.Duration) float64 { return float64(bytes) / d.Seconds() / 1e6 }

// BenchmarkAddPieceCommP is the worker's AddPiece of a deal: the payload streamed from a file,
// fr32-padded into a new staged file and committed in the same pass. MB/s counts payload bytes,
// as hashhash_MB/s does for go-fil-commp-hashhash computing only the commitment of the same file.
func BenchmarkAddPieceCommP(b *testing.B) {
	payload, size := benchPayload(b)
	staged := filepath.Join(b.TempDir(), "staged")
	var bl baselines
	b.SetBytes(int64(size))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		want := bl.timeHashhash(b, payload)
		removeBeforeRewrite(staged)
		b.StartTimer()
		if got := addPiece(b, payload, staged, size); got != want {
			b.Fatalf("AddPiece commitment %x, hashhash %x", got, want)
		}
	}
	b.StopTimer()
	ours := mbps(int64(size)*int64(b.N), b.Elapsed())
	theirs := mbps(int64(size)*int64(b.N), bl.hashhash)
	b.ReportMetric(theirs, "hashhash_MB/s")
	b.ReportMetric(ours/theirs, "x_hashhash")
}

// removeBeforeRewrite deletes the previous iteration's output just before the next one writes
// it: its teardown is not part of the work measured, and the page cache memory it frees is then
// reused at once. (On a VM that hands free memory back to its host after a couple of seconds,
// as this one does, memory freed earlier costs a host page fault per page on first touch,
// which would add the host's cost to ours.)
func removeBeforeRewrite(path string) { os.Remove(path) }

func addPiece(b *testing.B, payload, staged string, size uint64) Commitment {
	in, err := os.Open(payload)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(staged)
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	comm, err := WritePadded(context.Background(), out, in, size, benchPieceSize)
	if err != nil {
		b.Fatal(err)
	}
	return comm
}

// BenchmarkCommP is the commitment alone, as the manager computes it for the pieces it serves.
func BenchmarkCommP(b *testing.B) {
	payload, size := benchPayload(b)
	var bl baselines
	b.SetBytes(int64(size))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		want := bl.timeHashhash(b, payload)
		b.StartTimer()
		f, err := os.Open(payload)
		if err != nil {
			b.Fatal(err)
		}
		got, _, err := CommP(context.Background(), f, size, benchPieceSize)
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
		if got != want {
			b.Fatalf("CommP %x, hashhash %x", got, want)
		}
	}
	b.StopTimer()
	ours := mbps(int64(size)*int64(b.N), b.Elapsed())
	theirs := mbps(int64(size)*int64(b.N), bl.hashhash)
	b.ReportMetric(theirs, "hashhash_MB/s")
	b.ReportMetric(ours/theirs, "x_hashhash")
}
