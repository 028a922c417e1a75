package config

import (
	"path/filepath"
	"reflect"
	"testing"
)

func TestLoadExtProverDefaults(t *testing.T) {
	dir := writeCfg(t, ExtProverFileName, `
[[WdPost]]
Bin = "/usr/local/bin/wdpost"
Args = ["--gpu", "0"]
Weight = 3
[WdPost.Envs]
CUDA_VISIBLE_DEVICES = "0"

[[WdPost]]

[[WinPost]]
concurrent = 2
`)
	cfg, err := LoadExtProver(dir)
	if err != nil {
		t.Fatal(err)
	}
	bin := "/usr/local/bin/wdpost"
	want := ExtProverConfig{
		WdPost: []ExtProcessorConfig{
			{Bin: &bin, Args: []string{"--gpu", "0"}, Envs: map[string]string{"CUDA_VISIBLE_DEVICES": "0"}, Concurrent: 1, Weight: 3, ReadyTimeoutSecs: 5},
			{Args: []string{}, Envs: map[string]string{}, Concurrent: 1, Weight: 1, ReadyTimeoutSecs: 5},
		},
		WinPost: []ExtProcessorConfig{
			{Args: []string{}, Envs: map[string]string{}, Concurrent: 2, Weight: 1, ReadyTimeoutSecs: 5},
		},
	}
	if !reflect.DeepEqual(*cfg, want) {
		t.Errorf("got %+v\nwant %+v", *cfg, want)
	}
}

func TestLoadExtProverErrors(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"[[WdPost]]\nBinary = \"/x\"\n", `unknown key "WdPost.Binary" (check the spelling; see daemon init's example)`},
		{"[[WinPost]]\n[[WinPost]]\nWeight = -1\n", `WinPost[1].Weight: -1 is negative; this key takes a whole number >= 0`},
		{"[[WdPost]]\nArgs = \"--gpu\"\n", `WdPost[0].Args: incompatible types: TOML value has type string; destination has type slice`},
	} {
		dir := writeCfg(t, ExtProverFileName, c.text)
		_, err := LoadExtProver(dir)
		wantErr(t, err, filepath.Join(dir, ExtProverFileName)+": "+c.want)
	}
}
