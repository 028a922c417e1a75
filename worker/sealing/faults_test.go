package sealing

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/worker/processor"
	"github.com/ipfs-force-community/venus-cluster-go/worker/processor/builtin"
)

// missingFileError is the last_error of a job opened in state whose file is gone.
func missingFileError(state, what, path string) string {
	return fmt.Sprintf("permanent: sector s-t010000-1 in state %s: %s: stat %s: no such file or directory "+
		"(resume with --state Aborted to drop the sector, or with an earlier state to make the file again)", state, what, path)
}

// A sector's files deleted under a paused thread: the resume fails at once with an error naming
// the file, nothing is sent to the manager, and resuming in Aborted drops the sector.
func TestResumeWithAFileDeletedUnderThePausedThreadNamesIt(t *testing.T) {
	fm := newFakeManager(2)
	r := newRig(t, fm)
	pauseAtPCLanded(t, r, fm)
	fm.pollPreCommit = nil
	sealed := r.loc.Sealed(sector(1))
	if err := os.Remove(sealed); err != nil {
		t.Fatal(err)
	}
	reportsBefore := len(fm.reportsOf(sector(1)))

	r.resume(nil)
	r.waitFor("paused on the missing file", func() bool { i := r.info(); return i.Paused && i.LastError != nil })
	info := r.info()
	if want := missingFileError("PCLanded", "sealed file", sealed); *info.LastError != want {
		t.Fatalf("last_error = %q\nwant       %q", *info.LastError, want)
	}
	if info.State != "PCLanded" {
		t.Errorf("state = %s, want PCLanded", info.State)
	}
	if n := fm.callCount("StoreReserveSpace") + fm.callCount("SubmitPersisted"); n != 0 {
		t.Errorf("%d persist calls reached the manager for a sector without its sealed file", n)
	}
	// The failure is reported to the manager with its level.
	reps := fm.reportsOf(sector(1))[reportsBefore:]
	if len(reps) != 1 || reps[0].Failure == nil || reps[0].Failure.Level != "Permanent" || !strings.Contains(reps[0].Failure.Desc, sealed) {
		t.Errorf("reports after the resume = %+v", reps)
	}

	to := Aborted
	r.resume(&to)
	r.waitFor("next sector finalized", func() bool { return fm.finalizedCount() == 1 })
	if reason, ok := fm.abortReason(sector(1)); !ok || reason != "task aborted" {
		t.Errorf("abort of sector 1 = %q, %v", reason, ok)
	}
}

// A file that went missing while the worker was down stops the job when it is reopened, naming
// the file, instead of letting a later step fail on it.
func TestRestartWithACacheFileGoneNamesIt(t *testing.T) {
	fm := newFakeManager(1)
	r := newRig(t, fm)
	pauseAtPCLanded(t, r, fm)
	r.stop()
	fm.pollPreCommit = nil
	pAux := filepath.Join(r.loc.Cache(sector(1)), "p_aux")
	if err := os.Remove(pAux); err != nil {
		t.Fatal(err)
	}
	r.open()
	r.start()
	info := r.waitPaused()
	if info.LastError == nil || *info.LastError != missingFileError("PCLanded", "cache file", pAux) {
		t.Fatalf("last_error = %v", info.LastError)
	}
	// Resuming in PC1Done re-runs PC2, which makes the file again.
	to := PC1Done
	r.resume(&to)
	r.waitFor("sector finalized", func() bool { return fm.finalizedCount() == 1 })
}

// A persist store where nothing can be created: a permanent failure naming the store, the job
// stays before Persisted, and the manager is never told the sector is persisted.
func TestPersistToAStoreThatCannotBeWrittenPauses(t *testing.T) {
	fm := newFakeManager(1)
	r := newRig(t, fm)
	// "sealed" is a file where the store needs a directory: every create under it fails, as on a
	// read-only mount (the tests run as root, which ignores permission bits).
	if err := os.WriteFile(filepath.Join(r.persist.Root, "sealed"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r.start()
	info := r.waitPaused()
	if info.State != "PCLanded" || info.LastError == nil {
		t.Fatalf("paused thread = %+v", info)
	}
	dst := filepath.Join(r.persist.Root, "sealed", "s-t010000-1")
	want := fmt.Sprintf(`permanent: transfer persist sector files to persist-store1 (%s): transfer route 0 (%s -> %s): destination %q: stat %s: not a directory`,
		r.persist.Root, r.loc.Sealed(sector(1)), dst, dst, dst)
	if *info.LastError != want {
		t.Fatalf("last_error = %q\nwant       %q", *info.LastError, want)
	}
	if n := fm.callCount("SubmitPersisted"); n != 0 {
		t.Errorf("SubmitPersisted called %d times", n)
	}
	for _, rep := range fm.reportsOf(sector(1)) {
		if rep.StateChange.Next == "Persisted" {
			t.Errorf("Persisted reported: %+v", rep)
		}
	}
	if rec, _, _ := loadRecord(r.loc.DB); rec.State != PCLanded || rec.Phases.PersistInstance != nil {
		t.Errorf("record = state %s, persist instance %v", rec.State, rec.Phases.PersistInstance)
	}
	// Once the store is fixed, a resume persists and finishes the sector.
	os.Remove(filepath.Join(r.persist.Root, "sealed"))
	r.resume(nil)
	r.waitFor("sector finalized", func() bool { return fm.finalizedCount() == 1 })
	if _, err := os.Stat(dst); err != nil {
		t.Error(err)
	}
}

// A store that fills up part-way through persisting: the files copied before the failure are
// whole (never half a file), the failure names the store and the cause, the job stays before
// Persisted, and the manager is not told. A resume once there is room finishes the sector.
func TestPersistToAFullStorePauses(t *testing.T) {
	fm := newFakeManager(1)
	r := newRig(t, fm)
	var full atomic.Bool
	full.Store(true)
	real := builtin.New().Transfer
	r.env.Procs.Transfer = processor.Func[processor.TransferInput, bool](func(ctx context.Context, task processor.TransferInput) (bool, error) {
		if !full.Load() {
			return real.Process(ctx, task)
		}
		// The first route fits, the second does not.
		first := task
		first.Routes = task.Routes[:1]
		if _, err := real.Process(ctx, first); err != nil {
			return false, err
		}
		r1 := task.Routes[1]
		return false, fmt.Errorf("transfer route 1 (%s -> %s): %w", r1.Src.URI, r1.Dest.URI,
			&os.PathError{Op: "write", Path: r1.Dest.URI, Err: syscall.ENOSPC})
	})
	r.start()
	info := r.waitPaused()
	if info.State != "PCLanded" || info.LastError == nil ||
		!strings.HasPrefix(*info.LastError, "permanent: transfer persist sector files to persist-store1 ("+r.persist.Root+"): transfer route 1 (") ||
		!strings.HasSuffix(*info.LastError, ": no space left on device") {
		t.Fatalf("paused thread = %+v", info)
	}
	if n := fm.callCount("SubmitPersisted"); n != 0 {
		t.Errorf("SubmitPersisted called %d times", n)
	}
	if rec, _, _ := loadRecord(r.loc.DB); rec.State != PCLanded {
		t.Errorf("record state = %s", rec.State)
	}
	full.Store(false)
	r.resume(nil)
	r.waitFor("sector finalized", func() bool { return fm.finalizedCount() == 1 })
	name := api.FormatSectorID(sector(1))
	for _, rel := range []string{"sealed/" + name, "cache/" + name + "/p_aux", "cache/" + name + "/t_aux", "cache/" + name + "/sc-02-data-tree-r-last.dat"} {
		if _, err := os.Stat(filepath.Join(r.persist.Root, rel)); err != nil {
			t.Error(err)
		}
	}
}

// A worker killed while persisting leaves a temporary in the store; the next attempt of the step
// removes it, so the store holds only whole files.
func TestPersistRemovesTemporariesOfAnInterruptedAttempt(t *testing.T) {
	fm := newFakeManager(1)
	r := newRig(t, fm)
	name := api.FormatSectorID(sector(1))
	stale := []string{
		filepath.Join(r.persist.Root, "sealed", "."+name+".tmp-KILLED"),
		filepath.Join(r.persist.Root, "cache", name, ".p_aux.tmp-KILLED"),
	}
	for _, p := range stale {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("half"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r.start()
	r.waitFor("sector finalized", func() bool { return fm.finalizedCount() == 1 })
	for _, p := range stale {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s still there: %v", p, err)
		}
	}
}

// A stop (SIGTERM) while AllocateSector is in flight waits for the answer and persists it: the
// number the manager handed out is not lost, and the restarted thread seals that sector.
func TestStopDuringAllocationKeepsTheNumber(t *testing.T) {
	fm := newFakeManager(1)
	r := newRig(t, fm)
	entered, release := make(chan struct{}), make(chan struct{})
	alloc := r.env.RPC.AllocateSector
	r.env.RPC.AllocateSector = func(ctx context.Context, spec api.AllocateSectorSpec) (*api.AllocatedSector, error) {
		close(entered)
		<-release
		if err := ctx.Err(); err != nil {
			return nil, err // the reply would be lost: the test fails below
		}
		return alloc(ctx, spec)
	}
	r.start()
	<-entered
	r.cancel() // returns once the thread's context is cancelled: the stop is under way mid-call
	close(release)
	r.stop()

	r.open()
	rec, ok, err := loadRecord(r.loc.DB)
	if err != nil || !ok || rec.State != Allocated || rec.SectorID() == nil || *rec.SectorID() != sector(1) {
		t.Fatalf("record after the stop: %+v ok=%v err=%v; want sector 1 Allocated", rec, ok, err)
	}
	r.env.RPC.AllocateSector = alloc
	r.start()
	r.waitFor("sector 1 finalized", func() bool { return fm.finalizedCount() == 1 })
	// Numbers handed out, not calls: once sector 1 is done the thread asks again every
	// seal_interval and gets null.
	if n := fm.handedOut(); n != 1 {
		t.Errorf("the manager handed out %d sector numbers, want 1", n)
	}
}

// A sector number handed out twice (a mock restarted without --home) must not let the second
// sector overwrite the first one's persisted files: the thread pauses naming both paths and the
// store keeps its bytes. Removing the stale file and resuming persists the new sector.
func TestPersistRefusesToReplaceOtherContent(t *testing.T) {
	fm := newFakeManager(1)
	r := newRig(t, fm)
	dst := filepath.Join(r.persist.Root, "sealed", "s-t010000-1")
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	earlier := []byte("the sealed replica of an earlier sector 1")
	if err := os.WriteFile(dst, earlier, 0o644); err != nil {
		t.Fatal(err)
	}
	r.start()
	info := r.waitPaused()
	want := "permanent: sector s-t010000-1 is already persisted with different content: " + dst + " is not " +
		r.loc.Sealed(sector(1)) + "; nothing was replaced (if the persisted file is a stale leftover, remove it and resume)"
	if info.State != "PCLanded" || info.LastError == nil || *info.LastError != want {
		t.Fatalf("paused thread = %+v\nwant last_error %q", info, want)
	}
	if got, err := os.ReadFile(dst); err != nil || string(got) != string(earlier) {
		t.Fatalf("persisted file = %q, %v; want it untouched", got, err)
	}
	if n := fm.callCount("SubmitPersisted"); n != 0 {
		t.Errorf("SubmitPersisted called %d times", n)
	}
	if err := os.Remove(dst); err != nil {
		t.Fatal(err)
	}
	r.resume(nil)
	r.waitFor("sector finalized", func() bool { return fm.finalizedCount() == 1 })
}
