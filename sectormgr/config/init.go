package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-state-types/abi"
)

// exampleSender is the placeholder sender of the original example.
const exampleSender = "t1abjxfbp274xpdqcpuaykwkfb43omjotacm2p3za"

// InitHome is `daemon init`: it creates home (0755) and writes the example
// sector-manager.cfg and ext-prover.cfg. If either file exists, nothing is written and the
// error is the original's `<path> already exits` (sic).
func InitHome(home string) error {
	if err := os.MkdirAll(home, 0o755); err != nil {
		return fmt.Errorf("create home %s: %w", home, err)
	}
	mainText, err := ExampleConfigText()
	if err != nil {
		return err
	}
	extText, err := ExampleExtProverText()
	if err != nil {
		return err
	}
	files := []struct {
		path string
		text string
	}{
		{filepath.Join(home, FileName), mainText},
		{filepath.Join(home, ExtProverFileName), extText},
	}
	for _, f := range files {
		if err := refuseExisting(f.path); err != nil {
			return err
		}
	}
	var written []string
	for _, f := range files {
		if err := writeFileSynced(f.path, f.text); err != nil {
			removeAll(written)
			return err
		}
		written = append(written, f.path)
	}
	if err := syncDir(home); err != nil {
		return err
	}
	log.Infow("initialized", "home", home)
	return nil
}

func refuseExisting(path string) error {
	_, err := os.Lstat(path)
	if err == nil {
		return fmt.Errorf("%s already exits", path)
	}
	if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("stat file %s: %w", path, err)
	}
	return nil
}

// writeFileSynced creates path (failing if it appeared meanwhile) and fsyncs it, so an
// init followed by a crash never leaves a truncated config behind.
func writeFileSynced(path, text string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s already exits", path)
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if _, err := f.WriteString(text); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return nil
}

// syncDir makes the new directory entries durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

func removeAll(paths []string) {
	for _, p := range paths {
		if err := os.Remove(p); err != nil {
			log.Warnw("remove partly initialized file", "path", p, "err", err)
		}
	}
}

// ExampleConfigText is the sector-manager.cfg that `daemon init` writes: the example config
// in TOML with every line commented except the table headers. Leaving the headers is the
// original's quirk: the unedited file has one PieceStores, one PersistStores (empty Path)
// and one Miners entry (Actor 0), which Validate refuses.
func ExampleConfigText() (string, error) {
	text, err := commentedExample(exampleConfig(), false)
	if err != nil {
		return "", err
	}
	// The text is a contract and the original printed the placeholder sender in its
	// testnet form; go-address prints the prefix of address.CurrentNetwork (f by default).
	return strings.ReplaceAll(text, strconv.Quote(exampleSenderAddress().String()), strconv.Quote(exampleSender)), nil
}

// ExampleExtProverText is the ext-prover.cfg that `daemon init` writes: every line
// commented, headers included, so the unedited file declares no processor.
func ExampleExtProverText() (string, error) {
	return commentedExample(exampleExtProverConfig(), true)
}

func commentedExample(v any, commentHeaders bool) (string, error) {
	var buf bytes.Buffer
	buf.WriteString("# Default config:\n")
	if err := encodeTOML(&buf, v); err != nil {
		return "", fmt.Errorf("render example config: %w", err)
	}
	b := bytes.ReplaceAll(buf.Bytes(), []byte("\n"), []byte("\n#"))
	if !commentHeaders {
		b = bytes.ReplaceAll(b, []byte("#["), []byte("["))
	}
	return string(b), nil
}

// Encode renders the effective config as TOML, for the `Sector-manager initial cfg:` log line.
func Encode(cfg *Config) (string, error) {
	if cfg == nil {
		return "", errors.New("encode config: no config")
	}
	var buf bytes.Buffer
	if err := encodeTOML(&buf, cfg); err != nil {
		return "", fmt.Errorf("encode config: %w", err)
	}
	return buf.String(), nil
}

func encodeTOML(buf *bytes.Buffer, v any) error {
	enc := toml.NewEncoder(buf)
	enc.Indent = ""
	return enc.Encode(v)
}

func exampleConfig() Config {
	endpoint := "/ip4/{api_host}/tcp/{api_port}"
	meta := map[string]string{"SomeKey": "SomeValue"}
	return Config{
		Common: CommonConfig{
			API: APIConfig{
				Chain:              endpoint,
				Messager:           endpoint,
				Market:             endpoint,
				Gateway:            []string{endpoint},
				Token:              "{some token}",
				ChainEventInterval: Duration(time.Minute),
			},
			PieceStores: []PieceStoreConfig{{
				Name:   "{store_name}",
				Path:   "{store_path}",
				Meta:   meta,
				Plugin: "path/to/objstore-plugin",
			}},
			PersistStores: []PersistStoreConfig{{
				Name:        "{store_name}",
				Path:        "{store_path}",
				Plugin:      "path/to/objstore-plugin",
				AllowMiners: []abi.ActorID{1, 2},
				DenyMiners:  []abi.ActorID{3, 4},
				Meta:        meta,
			}},
		},
		Miners: []MinerConfig{exampleMinerConfig()},
	}
}

func exampleMinerConfig() MinerConfig {
	sender := exampleSenderAddress()
	minNumber, maxNumber, maxAttempts := uint64(10), uint64(1_000_000), 10

	m := DefaultMinerConfig()
	m.Actor = 10086
	m.Sector.MinNumber = &minNumber
	m.Sector.MaxNumber = &maxNumber
	m.SnapUp.Sender = sender
	m.SnapUp.Retry.MaxAttempts = &maxAttempts
	m.Commitment.Pre.Sender = sender
	m.Commitment.Prove.Sender = sender
	m.Commitment.Terminate.Sender = sender
	m.PoSt.Sender = sender
	return m
}

// exampleSenderAddress parses the placeholder sender.
func exampleSenderAddress() MustAddress {
	var ma MustAddress
	if err := ma.UnmarshalText([]byte(exampleSender)); err != nil {
		// The literal is a valid address; reaching here means go-address changed.
		log.Errorw("example sender address", "err", err)
		return MustAddress(address.Undef)
	}
	return ma
}

func exampleExtProverConfig() ExtProverConfig {
	bin := "/path/to/custom/bin"
	example := DefaultExtProcessorConfig()
	example.Bin = &bin
	example.Args = []string{"args1", "args2", "args3"}
	example.Envs = map[string]string{"ENV_KEY": "ENV_VAL"}
	return ExtProverConfig{
		WdPost:  []ExtProcessorConfig{example},
		WinPost: []ExtProcessorConfig{example},
	}
}
