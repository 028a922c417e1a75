package config

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// Load reads <dir>/sector-manager.cfg. [Common] is decoded over DefaultCommonConfig and each
// [[Miners]] entry over DefaultMinerConfig, so a missing key keeps its default. Keys match
// case-insensitively, as in the original ([Miners.Post] sets PoSt).
//
// Unlike the original, which ignored them, an unknown key is an error: a misspelt key would
// otherwise silently leave a default in place on a production miner.
func Load(dir string) (*Config, error) {
	path := filepath.Join(dir, FileName)
	data, err := readConfigFile(path)
	if err != nil {
		return nil, err
	}
	cfg, err := decodeConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

func readConfigFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: file not found (run `venus-sector-manager daemon init` to create it, or point --conf-dir at its directory)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return data, nil
}

// rawConfig and rawCommon hold the array-of-tables entries undecoded, so that each entry
// is decoded over its own defaults and its errors can name its index.
type rawConfig struct {
	Common toml.Primitive
	Miners []toml.Primitive
}

type rawCommon struct {
	API           APIConfig
	PieceStores   []toml.Primitive
	PersistStores []toml.Primitive
}

func decodeConfig(data []byte) (*Config, error) {
	var raw rawConfig
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&raw)
	if err != nil {
		return nil, describeSyntaxError(err)
	}

	common, err := decodeCommon(&md, raw.Common)
	if err != nil {
		return nil, err
	}
	miners, err := decodeEntries(&md, raw.Miners, "Miners", DefaultMinerConfig)
	if err != nil {
		return nil, err
	}
	if err := checkUndecoded(md); err != nil {
		return nil, err
	}
	cfg := &Config{Common: common, Miners: miners}
	if err := checkNoNegativeUnsigned(data, reflect.TypeOf(*cfg)); err != nil {
		return nil, err
	}
	return cfg, nil
}

func decodeCommon(md *toml.MetaData, prim toml.Primitive) (CommonConfig, error) {
	defaults := DefaultCommonConfig()
	raw := rawCommon{API: defaults.API}
	if err := md.PrimitiveDecode(prim, &raw); err != nil {
		return CommonConfig{}, describeDecodeError(err, nil)
	}
	pieces, err := decodeEntries(md, raw.PieceStores, "Common.PieceStores", func() PieceStoreConfig { return PieceStoreConfig{} })
	if err != nil {
		return CommonConfig{}, err
	}
	persists, err := decodeEntries(md, raw.PersistStores, "Common.PersistStores", func() PersistStoreConfig { return PersistStoreConfig{} })
	if err != nil {
		return CommonConfig{}, err
	}
	return CommonConfig{API: raw.API, PieceStores: pieces, PersistStores: persists}, nil
}

// decodeEntries decodes each entry of an array of tables over a fresh default value.
func decodeEntries[T any](md *toml.MetaData, prims []toml.Primitive, arrayKey string, fresh func() T) ([]T, error) {
	if len(prims) == 0 {
		return nil, nil
	}
	out := make([]T, 0, len(prims))
	for i, prim := range prims {
		entry := fresh()
		if err := md.PrimitiveDecode(prim, &entry); err != nil {
			return nil, describeDecodeError(err, func(key string) string { return indexKey(key, arrayKey, i) })
		}
		out = append(out, entry)
	}
	return out, nil
}

// indexKey turns "Miners.Commitment.Pre.Sender" into "Miners[0].Commitment.Pre.Sender".
// The file may spell the array key in any case; the canonical spelling is printed.
func indexKey(key, arrayKey string, index int) string {
	if len(key) < len(arrayKey) || !strings.EqualFold(key[:len(arrayKey)], arrayKey) {
		return key
	}
	rest := key[len(arrayKey):]
	if rest != "" && rest[0] != '.' {
		return key
	}
	return fmt.Sprintf("%s[%d]%s", arrayKey, index, rest)
}

// describeSyntaxError formats an error of the first pass over the file, which is mostly
// TOML syntax: the line is what helps there.
func describeSyntaxError(err error) error {
	key, line, msg := splitTOMLError(err)
	switch {
	case line > 0:
		return fmt.Errorf("line %d: %s", line, msg)
	case key != "":
		return errors.New(key + ": " + msg)
	default:
		return errors.New(msg)
	}
}

// describeDecodeError formats a value error as "<key>: <problem>". The line toml gives is
// left out: with several [[Miners]] it may point into another entry.
func describeDecodeError(err error, renameKey func(string) string) error {
	key, line, msg := splitTOMLError(err)
	if key == "" {
		if line > 0 {
			return fmt.Errorf("line %d: %s", line, msg)
		}
		return errors.New(msg)
	}
	if renameKey != nil {
		key = renameKey(key)
	}
	return errors.New(key + ": " + msg)
}

// splitTOMLError takes a toml error apart. toml reports value errors either as a
// ParseError or as a plain error `toml: line N (last key "K"): msg`; both are handled.
func splitTOMLError(err error) (key string, line int, msg string) {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return pe.LastKey, pe.Position.Line, pe.Message
	}
	return splitPlainTOMLError(err.Error())
}

// splitPlainTOMLError parses `toml: line N (last key "K"): msg` and its variants without
// the line or the key.
func splitPlainTOMLError(s string) (key string, line int, msg string) {
	rest, ok := strings.CutPrefix(s, "toml: ")
	if !ok {
		return "", 0, s
	}
	if after, found := strings.CutPrefix(rest, "line "); found {
		end := strings.IndexAny(after, " :")
		if end > 0 {
			if n, err := strconv.Atoi(after[:end]); err == nil {
				line = n
				rest = strings.TrimPrefix(after[end:], " ")
				rest = strings.TrimPrefix(rest, ": ")
			}
		}
	}
	if after, found := strings.CutPrefix(rest, "(last key "); found {
		quoted, err := strconv.QuotedPrefix(after)
		if err == nil {
			if k, err := strconv.Unquote(quoted); err == nil {
				key = k
				rest = strings.TrimPrefix(after[len(quoted):], "): ")
			}
		}
	}
	return key, line, rest
}

// checkUndecoded reports keys of the file that no field took. Only the outermost unknown
// key is named: an unknown table's own keys are unknown by consequence.
func checkUndecoded(md toml.MetaData) error {
	undecoded := md.Undecoded()
	if len(undecoded) == 0 {
		return nil
	}
	unknown := map[string]bool{}
	for _, k := range undecoded {
		unknown[k.String()] = true
	}
	var names []string
	for _, k := range undecoded {
		if !hasUnknownParent(k, unknown) {
			names = append(names, strconv.Quote(k.String()))
		}
	}
	noun := "key"
	if len(names) > 1 {
		noun = "keys"
	}
	return fmt.Errorf("unknown %s %s (check the spelling; see daemon init's example)", noun, strings.Join(names, ", "))
}

func hasUnknownParent(k toml.Key, unknown map[string]bool) bool {
	for n := len(k) - 1; n > 0; n-- {
		if unknown[k[:n].String()] {
			return true
		}
	}
	return false
}

var textUnmarshalerType = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()

// checkNoNegativeUnsigned refuses a negative number for an unsigned key: toml stores it
// wrapped around (Actor = -1 would become actor 18446744073709551615).
func checkNoNegativeUnsigned(data []byte, t reflect.Type) error {
	var tree map[string]any
	if _, err := toml.Decode(string(data), &tree); err != nil {
		return describeSyntaxError(err)
	}
	return walkUnsigned(tree, t, "")
}

func walkUnsigned(data any, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return nil
	}
	switch t.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n, ok := data.(int64); ok && n < 0 {
			return fmt.Errorf("%s: %d is negative; this key takes a whole number >= 0", path, n)
		}
	case reflect.Struct:
		return walkStructUnsigned(data, t, path)
	case reflect.Slice, reflect.Array:
		return walkSliceUnsigned(data, t, path)
	case reflect.Map:
		if m, ok := data.(map[string]any); ok {
			for k, v := range m {
				if err := walkUnsigned(v, t.Elem(), joinKey(path, k)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func walkStructUnsigned(data any, t reflect.Type, path string) error {
	m, ok := data.(map[string]any)
	if !ok {
		return nil
	}
	fields := flatFields(t)
	for k, v := range m {
		f, ok := matchField(fields, k)
		if !ok {
			continue
		}
		if err := walkUnsigned(v, f.Type, joinKey(path, f.Name)); err != nil {
			return err
		}
	}
	return nil
}

func walkSliceUnsigned(data any, t reflect.Type, path string) error {
	elem := t.Elem()
	switch items := data.(type) {
	case []map[string]any:
		for i, item := range items {
			if err := walkUnsigned(item, elem, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case []any:
		for i, item := range items {
			if err := walkUnsigned(item, elem, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// flatFields lists the exported fields of t with embedded structs flattened, as toml sees them.
func flatFields(t reflect.Type) []reflect.StructField {
	var out []reflect.StructField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			out = append(out, flatFields(f.Type)...)
			continue
		}
		if f.IsExported() {
			out = append(out, f)
		}
	}
	return out
}

// matchField finds the field a TOML key sets: the exact name first, then ignoring case.
func matchField(fields []reflect.StructField, key string) (reflect.StructField, bool) {
	for _, f := range fields {
		if f.Name == key {
			return f, true
		}
	}
	for _, f := range fields {
		if strings.EqualFold(f.Name, key) {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
