package config

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/filecoin-project/go-state-types/abi"
)

// writeCfg writes text as <tmp>/sector-manager.cfg and returns the directory.
func writeCfg(t *testing.T, name, text string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func loadText(t *testing.T, text string) (*Config, error, string) {
	t.Helper()
	dir := writeCfg(t, FileName, text)
	cfg, err := Load(dir)
	return cfg, err, filepath.Join(dir, FileName)
}

func wantErr(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", want)
	}
	if err.Error() != want {
		t.Fatalf("error:\n got %s\nwant %s", err, want)
	}
}

func TestLoadMinerDecodedOverDefaults(t *testing.T) {
	cfg, err, _ := loadText(t, `
[Common.API]
Chain = "/ip4/127.0.0.1/tcp/1234"

[[Miners]]
Actor = 1000
[Miners.Sector]
MaxNumber = 5000
[Miners.Commitment.Pre]
Sender = "t01001"
GasFeeCap = "2 nanoFIL"
[Miners.Commitment.Pre.Batch]
Threshold = 8

[[Miners]]
Actor = 2000
`)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Miners) != 2 {
		t.Fatalf("%d miners, want 2", len(cfg.Miners))
	}
	if cfg.Common.API.Chain != "/ip4/127.0.0.1/tcp/1234" || cfg.Common.API.ChainEventInterval.Std() != time.Minute {
		t.Errorf("API = %+v, want Chain set and ChainEventInterval 1m", cfg.Common.API)
	}

	m := cfg.Miners[0]
	if m.Actor != 1000 || m.Sector.MaxNumber == nil || *m.Sector.MaxNumber != 5000 || m.Sector.MinNumber != nil {
		t.Errorf("Sector = %+v", m.Sector)
	}
	if !m.Sector.Enabled || m.Sector.LifetimeDays != 540 {
		t.Errorf("missing Sector keys lost their defaults: %+v", m.Sector)
	}
	pre := m.Commitment.Pre
	if pre.Sender.String() != "f01001" || !pre.SendFund || pre.GasFeeCap.String() != "2 nanoFIL" || pre.GasOverEstimation != 1.2 {
		t.Errorf("Pre = Sender %q SendFund %v GasFeeCap %q GasOverEstimation %v", pre.Sender, pre.SendFund, pre.GasFeeCap, pre.GasOverEstimation)
	}
	if pre.Batch.Threshold != 8 || pre.Batch.MaxWait.Std() != time.Hour || pre.Batch.GasFeeCap.String() != "5 nanoFIL" {
		t.Errorf("Pre.Batch = Threshold %d MaxWait %v GasFeeCap %q", pre.Batch.Threshold, pre.Batch.MaxWait, pre.Batch.GasFeeCap)
	}
	if m.Commitment.Terminate.Batch.Threshold != 5 || m.Commitment.Prove.Batch.Threshold != 16 {
		t.Errorf("Terminate/Prove thresholds = %d/%d, want 5/16", m.Commitment.Terminate.Batch.Threshold, m.Commitment.Prove.Batch.Threshold)
	}

	// An entry with only Actor is exactly the defaults: entries do not leak into each other.
	want := DefaultMinerConfig()
	want.Actor = 2000
	if got, _ := Encode(&Config{Miners: []MinerConfig{cfg.Miners[1]}}); got != mustEncode(t, &Config{Miners: []MinerConfig{want}}) {
		t.Errorf("second miner differs from the defaults:\n%s", got)
	}
	if got, ok := cfg.Miner(2000); !ok || got.Actor != 2000 {
		t.Errorf("Miner(2000) = %v, %v", got.Actor, ok)
	}
	if _, ok := cfg.Miner(3000); ok {
		t.Error("Miner(3000) found, want not found")
	}
}

func mustEncode(t *testing.T, cfg *Config) string {
	t.Helper()
	s, err := Encode(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLoadKeysAreCaseInsensitive(t *testing.T) {
	// TOML itself is case-sensitive, so one file spells each table one way throughout.
	cfg, err, _ := loadText(t, `
[[Miners]]
actor = 1000
[Miners.Post]
Enabled = false
confidence = 3
[Miners.snapup.retry]
maxattempts = 4
`)
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.Miners[0]
	if m.Actor != 1000 || m.PoSt.Enabled || m.PoSt.Confidence != 3 || !m.PoSt.StrictCheck {
		t.Errorf("PoSt = %+v, Actor %d", m.PoSt, m.Actor)
	}
	if m.SnapUp.Retry.MaxAttempts == nil || *m.SnapUp.Retry.MaxAttempts != 4 {
		t.Errorf("SnapUp.Retry.MaxAttempts = %v, want 4", m.SnapUp.Retry.MaxAttempts)
	}
}

func TestLoadCommonStores(t *testing.T) {
	cfg, err, _ := loadText(t, `
[[Common.PieceStores]]
Name = "pieces"
Path = "/data/pieces"
[Common.PieceStores.Meta]
Region = "eu"

[[Common.PersistStores]]
Path = "/data/a"
Weight = 2
AllowMiners = [1000]

[[Common.PersistStores]]
Name = "b"
Path = "/data/b"
ReadOnly = true
`)
	if err != nil {
		t.Fatal(err)
	}
	wantPieces := []PieceStoreConfig{{Name: "pieces", Path: "/data/pieces", Meta: map[string]string{"Region": "eu"}}}
	if !reflect.DeepEqual(cfg.Common.PieceStores, wantPieces) {
		t.Errorf("PieceStores = %+v", cfg.Common.PieceStores)
	}
	wantPersist := []PersistStoreConfig{
		{Path: "/data/a", Weight: 2, AllowMiners: []abi.ActorID{1000}},
		{Name: "b", Path: "/data/b", ReadOnly: true},
	}
	if !reflect.DeepEqual(cfg.Common.PersistStores, wantPersist) {
		t.Errorf("PersistStores = %+v", cfg.Common.PersistStores)
	}
	if cfg.Miners != nil {
		t.Errorf("Miners = %v, want none", cfg.Miners)
	}
}

func TestLoadUnknownKey(t *testing.T) {
	_, err, path := loadText(t, `
[[Miners]]
Actor = 1000
[Miners.Commitment.Pre]
Sendr = "t01000"
`)
	wantErr(t, err, path+`: unknown key "Miners.Commitment.Pre.Sendr" (check the spelling; see daemon init's example)`)
}

func TestLoadUnknownTableNamedOnce(t *testing.T) {
	_, err, path := loadText(t, `
Foo = 1
[Common.Api]
Chain = "/ip4/127.0.0.1/tcp/1234"
[Common.Proving]
ParallelCheckLimit = 128
SingleCheckTimeout = "10m"
`)
	wantErr(t, err, path+`: unknown keys "Foo", "Common.Proving" (check the spelling; see daemon init's example)`)
}

func TestLoadUnknownKeyInStore(t *testing.T) {
	_, err, path := loadText(t, `
[[Common.PersistStores]]
Path = "/data/a"
Wieght = 2
`)
	wantErr(t, err, path+`: unknown key "Common.PersistStores.Wieght" (check the spelling; see daemon init's example)`)
}

func TestLoadBadValueNamesKey(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"[[Miners]]\nActor = 1\n[[Miners]]\nActor = 2\n[Miners.Commitment.Pre]\nSender = \"xyz\"\n",
			`Miners[1].Commitment.Pre.Sender: invalid address "xyz": unknown address network`},
		{"[[miners]]\n[miners.commitment.pre]\nsender = \"xyz\"\n",
			`Miners[0].commitment.pre.sender: invalid address "xyz": unknown address network`},
		{"[[Miners]]\n[Miners.Commitment.Pre.Batch]\nMaxWait = \"1 hour\"\n",
			`Miners[0].Commitment.Pre.Batch.MaxWait: invalid duration "1 hour": write a Go duration such as "30s", "3m0s" or "1h0m0s"`},
		{"[[Miners]]\n[Miners.SnapUp]\nGasFeeCap = \"5 mfil\"\n",
			`Miners[0].SnapUp.GasFeeCap: invalid FIL amount "5 mfil": unknown unit "mfil" (use FIL, nanoFIL or attoFIL, e.g. "5 nanoFIL")`},
		{"[[Miners]]\nActor = \"t01000\"\n",
			`Miners[0].Actor: incompatible types: TOML value has type string; destination has type integer`},
		{"[[Miners]]\n[Miners.Commitment.Pre]\nSender = 1000\n",
			`Miners[0].Commitment.Pre.Sender: invalid address "1000": unknown address network`},
		{"[Common.API]\nChainEventInterval = \"soon\"\n",
			`Common.API.ChainEventInterval: invalid duration "soon": write a Go duration such as "30s", "3m0s" or "1h0m0s"`},
		{"[[Common.PersistStores]]\nPath = \"/a\"\n[[Common.PersistStores]]\nWeight = \"heavy\"\n",
			`Common.PersistStores[1].Weight: incompatible types: TOML value has type string; destination has type integer`},
		{"[[Miners]]\nActor = -1\n",
			`Miners[0].Actor: -1 is negative; this key takes a whole number >= 0`},
		{"[[Common.PersistStores]]\nPath = \"/a\"\nDenyMiners = [3, -4]\n",
			`Common.PersistStores[0].DenyMiners[1]: -4 is negative; this key takes a whole number >= 0`},
		{"[[Miners]]\n[Miners.Sector\n",
			`line 3: expected '.' or ']' to end table name, but got '\n' instead`},
	} {
		_, err, path := loadText(t, c.text)
		wantErr(t, err, path+": "+c.want)
	}
}

func TestLoadMissingFile(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(dir)
	wantErr(t, err, filepath.Join(dir, FileName)+": file not found (run `venus-sector-manager daemon init` to create it, or point --conf-dir at its directory)")
}

func TestLoadEmptyFile(t *testing.T) {
	cfg, err, _ := loadText(t, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := mustEncode(t, cfg), mustEncode(t, &Config{Common: DefaultCommonConfig()}); got != want {
		t.Errorf("empty file:\n%s\nwant\n%s", got, want)
	}
}

func TestDefaultMinerConfig(t *testing.T) {
	want := `Actor = 0

[Sector]
InitNumber = 0
Enabled = true
EnableDeals = false
LifetimeDays = 540
Verbose = false

[SnapUp]
Enabled = false
Sender = ""
SendFund = true
GasOverEstimation = 1.2
GasOverPremium = 0.0
MaxFee = ""
GasFeeCap = "5 nanoFIL"
MaxFeeCap = ""
MessageConfidential = 15
ReleaseCondidential = 30
[SnapUp.Retry]
PollInterval = "3m0s"
APIFailureWait = "3m0s"
LocalFailureWait = "3m0s"

[Commitment]
Confidence = 10
[Commitment.Pre]
Sender = ""
SendFund = true
GasOverEstimation = 1.2
GasOverPremium = 0.0
MaxFee = ""
GasFeeCap = "5 nanoFIL"
MaxFeeCap = ""
[Commitment.Pre.Batch]
Enabled = false
Threshold = 16
MaxWait = "1h0m0s"
CheckInterval = "1m0s"
GasOverEstimation = 1.2
GasOverPremium = 0.0
MaxFee = ""
GasFeeCap = "5 nanoFIL"
MaxFeeCap = ""
[Commitment.Prove]
Sender = ""
SendFund = true
GasOverEstimation = 1.2
GasOverPremium = 0.0
MaxFee = ""
GasFeeCap = "5 nanoFIL"
MaxFeeCap = ""
[Commitment.Prove.Batch]
Enabled = false
Threshold = 16
MaxWait = "1h0m0s"
CheckInterval = "1m0s"
GasOverEstimation = 1.2
GasOverPremium = 0.0
MaxFee = ""
GasFeeCap = "5 nanoFIL"
MaxFeeCap = ""
[Commitment.Terminate]
Sender = ""
SendFund = true
GasOverEstimation = 1.2
GasOverPremium = 0.0
MaxFee = ""
GasFeeCap = "5 nanoFIL"
MaxFeeCap = ""
[Commitment.Terminate.Batch]
Enabled = false
Threshold = 5
MaxWait = "1h0m0s"
CheckInterval = "1m0s"
GasOverEstimation = 1.2
GasOverPremium = 0.0
MaxFee = ""
GasFeeCap = "5 nanoFIL"
MaxFeeCap = ""

[PoSt]
Sender = ""
Enabled = true
StrictCheck = true
GasOverEstimation = 1.2
GasOverPremium = 0.0
MaxFee = ""
GasFeeCap = "5 nanoFIL"
MaxFeeCap = ""
Confidence = 10
ChallengeConfidence = 10
MaxPartitionsPerPoStMessage = 0
MaxPartitionsPerRecoveryMessage = 0

[Proof]
Enabled = false
`
	var buf bytes.Buffer
	if err := encodeTOML(&buf, DefaultMinerConfig()); err != nil {
		t.Fatal(err)
	}
	if buf.String() != want {
		t.Errorf("DefaultMinerConfig:\n%s", buf.String())
	}
}
