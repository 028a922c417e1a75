package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const wantExtProverText = `# Default config:
#[[WdPost]]
#Bin = "/path/to/custom/bin"
#Args = ["args1", "args2", "args3"]
#Concurrent = 1
#Weight = 1
#ReadyTimeoutSecs = 5
#[WdPost.Envs]
#ENV_KEY = "ENV_VAL"
#
#[[WinPost]]
#Bin = "/path/to/custom/bin"
#Args = ["args1", "args2", "args3"]
#Concurrent = 1
#Weight = 1
#ReadyTimeoutSecs = 5
#[WinPost.Envs]
#ENV_KEY = "ENV_VAL"
#`

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestInitHomeWritesTheOriginalText(t *testing.T) {
	home := filepath.Join(t.TempDir(), "vsm")
	if err := InitHome(home); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(home); err != nil || !st.IsDir() {
		t.Fatalf("home: %v", err)
	}
	golden := readFile(t, filepath.Join("testdata", "sector-manager.cfg.golden"))
	if got := readFile(t, filepath.Join(home, FileName)); got != golden {
		t.Errorf("sector-manager.cfg differs from testdata/sector-manager.cfg.golden:\n%s", got)
	}
	if got := readFile(t, filepath.Join(home, ExtProverFileName)); got != wantExtProverText {
		t.Errorf("ext-prover.cfg:\n%s", got)
	}
	st, err := os.Stat(filepath.Join(home, FileName))
	if err != nil || st.Mode().Perm()&0o600 != 0o600 {
		t.Errorf("sector-manager.cfg mode %v, %v", st.Mode(), err)
	}
}

func TestInitHomeRefusesExistingFiles(t *testing.T) {
	home := t.TempDir()
	if err := InitHome(home); err != nil {
		t.Fatal(err)
	}
	wantErr(t, InitHome(home), filepath.Join(home, FileName)+" already exits")

	// ext-prover.cfg alone is enough to refuse, and then nothing is written.
	home2 := t.TempDir()
	extPath := filepath.Join(home2, ExtProverFileName)
	if err := os.WriteFile(extPath, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	wantErr(t, InitHome(home2), extPath+" already exits")
	if _, err := os.Stat(filepath.Join(home2, FileName)); !os.IsNotExist(err) {
		t.Errorf("sector-manager.cfg was written although init failed: %v", err)
	}
	if got := readFile(t, extPath); got != "mine" {
		t.Errorf("existing ext-prover.cfg changed to %q", got)
	}
}

// The unedited init file keeps the original's quirk: the array headers are live.
func TestUneditedInitFileQuirk(t *testing.T) {
	home := t.TempDir()
	if err := InitHome(home); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(home)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Common.PieceStores) != 1 || cfg.Common.PieceStores[0].Path != "" {
		t.Errorf("PieceStores = %+v, want one entry with empty Path", cfg.Common.PieceStores)
	}
	if len(cfg.Common.PersistStores) != 1 || cfg.Common.PersistStores[0].Path != "" {
		t.Errorf("PersistStores = %+v, want one entry with empty Path", cfg.Common.PersistStores)
	}
	if len(cfg.Miners) != 1 || cfg.Miners[0].Actor != 0 {
		t.Fatalf("Miners = %+v, want one entry with Actor 0", cfg.Miners)
	}
	want := DefaultMinerConfig()
	if mustEncode(t, &Config{Miners: cfg.Miners}) != mustEncode(t, &Config{Miners: []MinerConfig{want}}) {
		t.Error("the unedited miner entry is not the defaults")
	}
	wantErr(t, cfg.Validate(), "sector-manager.cfg: [[Miners]] #1 Actor = 0: set the miner's actor id (1000 for t01000)")

	ext, err := LoadExtProver(home)
	if err != nil {
		t.Fatal(err)
	}
	if len(ext.WdPost) != 0 || len(ext.WinPost) != 0 {
		t.Errorf("unedited ext-prover.cfg declares processors: %+v", ext)
	}
}

// uncomment removes the '#' of every line but the banner, as a user enabling every example would.
func uncomment(text string) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines[1:] {
		lines[i+1] = strings.TrimPrefix(l, "#")
	}
	return strings.Join(lines, "\n")
}

// Every key of the examples must be a key Load accepts, and must read back as written.
func TestExamplesUncommentedLoadBack(t *testing.T) {
	text, err := ExampleConfigText()
	if err != nil {
		t.Fatal(err)
	}
	dir := writeCfg(t, FileName, uncomment(text))
	cfg, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	example := exampleConfig()
	if got, want := mustEncode(t, cfg), mustEncode(t, &example); got != want {
		t.Errorf("uncommented example reads back as\n%s\nwant\n%s", got, want)
	}
	if cfg.Miners[0].Commitment.Pre.Sender.Std() != exampleSenderAddress().Std() {
		t.Errorf("Pre.Sender = %v", cfg.Miners[0].Commitment.Pre.Sender)
	}

	extText, err := ExampleExtProverText()
	if err != nil {
		t.Fatal(err)
	}
	extDir := writeCfg(t, ExtProverFileName, uncomment(extText))
	ext, err := LoadExtProver(extDir)
	if err != nil {
		t.Fatal(err)
	}
	if want := exampleExtProverConfig(); !reflect.DeepEqual(*ext, want) {
		t.Errorf("uncommented ext-prover example = %+v, want %+v", *ext, want)
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	example := exampleConfig()
	text := mustEncode(t, &example)
	for _, line := range []string{
		"[Common.API]\nChain = \"/ip4/{api_host}/tcp/{api_port}\"\n",
		"GasFeeCap = \"5 nanoFIL\"\n",
		"[[Miners]]\nActor = 10086\n",
		"[Miners.Commitment.Terminate.Batch]\nEnabled = false\nThreshold = 5\n",
	} {
		if !strings.Contains(text, line) {
			t.Errorf("Encode output lacks %q", line)
		}
	}
	dir := writeCfg(t, FileName, text)
	cfg, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if again := mustEncode(t, cfg); again != text {
		t.Errorf("Encode(Load(Encode(x))) differs:\n%s", again)
	}
	if _, err := Encode(nil); err == nil || err.Error() != "encode config: no config" {
		t.Errorf("Encode(nil) err = %v", err)
	}
}
