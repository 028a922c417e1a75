package config

import (
	"bytes"
	"fmt"
	"path/filepath"
	"reflect"

	"github.com/BurntSushi/toml"
)

// ExtProverConfig is ext-prover.cfg: the external WindowPoSt and WinningPoSt processors
// that `daemon run --ext-prover` starts.
type ExtProverConfig struct {
	WdPost  []ExtProcessorConfig
	WinPost []ExtProcessorConfig
}

// ExtProcessorConfig is one [[WdPost]] or [[WinPost]] entry: a child process speaking the
// vc-processors protocol. A nil Bin means venus-worker beside the manager's binary, run as
// `venus-worker processor window_post` (or winning_post); with Bin, Args are its arguments.
type ExtProcessorConfig struct {
	Bin              *string
	Args             []string
	Envs             map[string]string
	Concurrent       uint
	Weight           uint
	ReadyTimeoutSecs uint
}

// DefaultExtProcessorConfig is what a missing key of an entry reads as.
func DefaultExtProcessorConfig() ExtProcessorConfig {
	return ExtProcessorConfig{
		Args:             []string{},
		Envs:             map[string]string{},
		Concurrent:       1,
		Weight:           1,
		ReadyTimeoutSecs: 5,
	}
}

type rawExtProver struct {
	WdPost  []toml.Primitive
	WinPost []toml.Primitive
}

// LoadExtProver reads <dir>/ext-prover.cfg, each entry over DefaultExtProcessorConfig. As
// with Load, an unknown key is an error.
func LoadExtProver(dir string) (*ExtProverConfig, error) {
	path := filepath.Join(dir, ExtProverFileName)
	data, err := readConfigFile(path)
	if err != nil {
		return nil, err
	}
	cfg, err := decodeExtProver(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

func decodeExtProver(data []byte) (*ExtProverConfig, error) {
	var raw rawExtProver
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&raw)
	if err != nil {
		return nil, describeSyntaxError(err)
	}
	wd, err := decodeEntries(&md, raw.WdPost, "WdPost", DefaultExtProcessorConfig)
	if err != nil {
		return nil, err
	}
	win, err := decodeEntries(&md, raw.WinPost, "WinPost", DefaultExtProcessorConfig)
	if err != nil {
		return nil, err
	}
	if err := checkUndecoded(md); err != nil {
		return nil, err
	}
	cfg := &ExtProverConfig{WdPost: wd, WinPost: win}
	if err := checkNoNegativeUnsigned(data, reflect.TypeOf(*cfg)); err != nil {
		return nil, err
	}
	return cfg, nil
}
