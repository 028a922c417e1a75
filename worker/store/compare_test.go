package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestCompareExisting(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	src := write("src", "sealed bytes of sector 1")
	cases := []struct {
		name string
		dst  string
		want Existing
	}{
		{"missing", filepath.Join(dir, "absent"), NoFile},
		{"same", write("same", "sealed bytes of sector 1"), SameContent},
		{"itself", src, SameContent},
		{"interrupted copy", write("prefix", "sealed bytes"), PartialContent},
		{"empty", write("empty", ""), PartialContent},
		{"other, same size", write("other", "sealed bytes of sector 2"), OtherContent},
		{"other, shorter", write("short", "other"), OtherContent},
		{"longer", write("long", "sealed bytes of sector 1 and more"), OtherContent},
		{"directory", dir, OtherContent},
	}
	for _, c := range cases {
		got, err := CompareExisting(context.Background(), src, c.dst)
		if err != nil || got != c.want {
			t.Errorf("%s: CompareExisting = %d, %v; want %d", c.name, got, err, c.want)
		}
	}
	if _, err := CompareExisting(context.Background(), filepath.Join(dir, "nosrc"), src); err == nil {
		t.Error("a missing source compared without error")
	}
}
