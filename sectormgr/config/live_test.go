package config

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const liveText = `
[Common.API]
Chain = "/ip4/127.0.0.1/tcp/1234"
[[Common.PersistStores]]
Path = "/data/a"
[[Miners]]
Actor = 1000
[Miners.Commitment.Pre]
Sender = "t01001"
[Miners.Commitment.Prove]
Sender = "t01001"
[Miners.Commitment.Pre.Batch]
Threshold = %s
`

func writeLive(t *testing.T, dir, threshold string) {
	t.Helper()
	text := strings.Replace(liveText, "%s", threshold, 1)
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLiveReload(t *testing.T) {
	dir := t.TempDir()
	writeLive(t, dir, "8")
	cfg, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	live := NewLive(dir, cfg)
	if live.Get() != cfg {
		t.Fatal("Get does not return the config given to NewLive")
	}

	writeLive(t, dir, "12")
	if err := live.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := live.Get().Miners[0].Commitment.Pre.Batch.Threshold; got != 12 {
		t.Errorf("after reload Threshold = %d, want 12", got)
	}

	// A file that does not load, or does not validate, leaves the current config in place.
	writeLive(t, dir, `"many"`)
	if err := live.Reload(); err == nil || !strings.HasSuffix(err.Error(), `Miners[0].Commitment.Pre.Batch.Threshold: incompatible types: TOML value has type string; destination has type integer`) {
		t.Errorf("reload of a bad file: err = %v", err)
	}
	writeLive(t, dir, "0")
	wantErr(t, live.Reload(), "sector-manager.cfg: [[Miners]] #1 (Actor = 1000) Commitment.Pre.Batch.Threshold = 0: it must be at least 1")
	if got := live.Get().Miners[0].Commitment.Pre.Batch.Threshold; got != 12 {
		t.Errorf("after failed reloads Threshold = %d, want 12", got)
	}
}

func TestLiveConcurrentGetAndReload(t *testing.T) {
	dir := t.TempDir()
	writeLive(t, dir, "8")
	cfg, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	live := NewLive(dir, cfg)
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				if n := live.Get().Miners[0].Commitment.Pre.Batch.Threshold; n != 8 {
					t.Errorf("Threshold = %d, want 8", n)
					return
				}
			}
		}()
	}
	for j := 0; j < 5; j++ {
		if err := live.Reload(); err != nil {
			t.Error(err)
		}
	}
	wg.Wait()
}

func TestLiveExtProverReload(t *testing.T) {
	dir := writeCfg(t, ExtProverFileName, "[[WdPost]]\nWeight = 2\n")
	cfg, err := LoadExtProver(dir)
	if err != nil {
		t.Fatal(err)
	}
	live := NewLiveExtProver(dir, cfg)
	if err := os.WriteFile(filepath.Join(dir, ExtProverFileName), []byte("[[WdPost]]\nWeight = 3\n[[WinPost]]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := live.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := live.Get(); got.WdPost[0].Weight != 3 || len(got.WinPost) != 1 {
		t.Errorf("after reload %+v", got)
	}
	if err := os.WriteFile(filepath.Join(dir, ExtProverFileName), []byte("[[WdPost]]\nWieght = 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := live.Reload(); err == nil {
		t.Error("reload of a file with an unknown key succeeded")
	}
	if got := live.Get(); got.WdPost[0].Weight != 3 {
		t.Errorf("failed reload changed the config: %+v", got)
	}
}
