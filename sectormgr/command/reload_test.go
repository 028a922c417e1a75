package command

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/config"
)

// SIGUSR1's reload swaps in ext-prover.cfg when it reads, keeps the previous one when it does
// not, and reloads sector-manager.cfg beside it either way.
func TestReloadConfigsSwapsExtProverCfg(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	if err := config.InitHome(home); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(home)
	if err != nil {
		t.Fatal(err)
	}
	live := config.NewLive(home, cfg)
	extPath := filepath.Join(home, config.ExtProverFileName)
	write := func(text string) {
		if err := os.WriteFile(extPath, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("[[WinPost]]\n")
	first, err := config.LoadExtProver(home)
	if err != nil {
		t.Fatal(err)
	}
	ext := config.NewLiveExtProver(home, first)

	write("[[WinPost]]\n[[WdPost]]\nConcurrent = 2\n[[WdPost]]\n")
	reloadConfigs(live, ext)
	if got := ext.Get(); len(got.WdPost) != 2 || got.WdPost[0].Concurrent != 2 || len(got.WinPost) != 1 {
		t.Fatalf("after a reload: %+v", got)
	}

	write("[[WdPost]]\nNoSuchKey = 1\n")
	before := ext.Get()
	reloadConfigs(live, ext)
	if ext.Get() != before {
		t.Fatal("a file with an unknown key replaced the config in use")
	}
	reloadConfigs(live, nil) // without --ext-prover only sector-manager.cfg is read
}
