package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// WriteFileAtomic fsyncs the file and its directory; a file transfer into an existing directory
// does the same; each fsync is counted once.
func TestSyncStatsCountEveryFsync(t *testing.T) {
	dir := t.TempDir()
	before := ReadSyncStats()
	if err := WriteFileAtomic(filepath.Join(dir, "p_aux"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := ReadSyncStats().Syncs - before.Syncs; got != 2 {
		t.Fatalf("WriteFileAtomic: %d fsyncs counted, want 2 (file, directory)", got)
	}
	dst := filepath.Join(t.TempDir(), "copy")
	mid := ReadSyncStats()
	if err := TransferFile(context.Background(), filepath.Join(dir, "p_aux"), dst, false); err != nil {
		t.Fatal(err)
	}
	after := ReadSyncStats()
	if got := after.Syncs - mid.Syncs; got != 2 {
		t.Fatalf("TransferFile: %d fsyncs counted, want 2 (file, directory)", got)
	}
	if after.SyncTime <= before.SyncTime {
		t.Fatalf("sync time did not grow: %v then %v", before.SyncTime, after.SyncTime)
	}
	if b, err := os.ReadFile(dst); err != nil || string(b) != "x" {
		t.Fatalf("copy: %q, %v", b, err)
	}
}
