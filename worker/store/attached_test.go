package store

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestOpenAttachedDefaultsNameToCanonicalPath(t *testing.T) {
	root := t.TempDir()
	link := filepath.Join(t.TempDir(), "persist")
	if err := os.Symlink(root, link); err != nil {
		t.Fatal(err)
	}
	a, err := OpenAttached(link, "", false)
	if err != nil {
		t.Fatal(err)
	}
	canonical, _ := filepath.EvalSymlinks(root)
	if a.Root != canonical || a.Name != canonical || a.ReadOnly {
		t.Fatalf("got %+v, want root and name %s", a, canonical)
	}

	named, err := OpenAttached(root, "persist-1", true)
	if err != nil {
		t.Fatal(err)
	}
	if named.Name != "persist-1" || !named.ReadOnly {
		t.Fatalf("got %+v", named)
	}
}

func TestOpenAttachedErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	_, err := OpenAttached(missing, "", false)
	requireErrContains(t, err, missing, "venus-worker store file-init -l "+missing)

	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = OpenAttached(file, "", false)
	requireErrContains(t, err, file, "is not a dir")
}

func TestURI(t *testing.T) {
	a := &Attached{Name: "p", Root: "/mnt/persist"}
	for rel, want := range map[string]string{
		"sealed/s-t010000-1":        "/mnt/persist/sealed/s-t010000-1",
		"/sealed/s-t010000-1":       "/mnt/persist/sealed/s-t010000-1",
		"cache/s-t010000-1/p_aux":   "/mnt/persist/cache/s-t010000-1/p_aux",
		"cache/s-t010000-1/.hidden": "/mnt/persist/cache/s-t010000-1/.hidden",
	} {
		got, err := a.URI(rel)
		if err != nil || got != want {
			t.Errorf("URI(%q) = %q, %v; want %q", rel, got, err, want)
		}
	}
	for _, bad := range []string{".", "./sealed", "../etc", ".hidden", "//etc/passwd", "sealed/../../etc"} {
		if got, err := a.URI(bad); err == nil {
			t.Errorf("URI(%q) accepted: %q", bad, got)
		} else {
			requireErrContains(t, err, bad)
		}
	}
}

func TestAttachedSet(t *testing.T) {
	a := &Attached{Name: "a", Root: "/a"}
	b := &Attached{Name: "b", Root: "/b", ReadOnly: true}
	c := &Attached{Name: "c", Root: "/c"}
	set, err := NewAttachedSet([]*Attached{a, b, c})
	if err != nil {
		t.Fatal(err)
	}
	if got := set.Writable(); !reflect.DeepEqual(got, []string{"a", "c"}) {
		t.Fatalf("writable %v", got)
	}
	if got, ok := set.Get("b"); !ok || got != b {
		t.Fatalf("get b: %v %v", got, ok)
	}
	if _, ok := set.Get("z"); ok {
		t.Fatal("get of unknown store succeeded")
	}
	all := set.All()
	if !reflect.DeepEqual(all, []*Attached{a, b, c}) {
		t.Fatalf("all %v", all)
	}
	all[0] = nil
	if set.All()[0] != a {
		t.Fatal("All exposes the set's own slice")
	}
}

func TestAttachedSetErrors(t *testing.T) {
	_, err := NewAttachedSet(nil)
	if err == nil || err.Error() != "no attached store available" {
		t.Fatalf("empty: %v", err)
	}
	_, err = NewAttachedSet([]*Attached{{Name: "a", Root: "/a", ReadOnly: true}})
	if err == nil || err.Error() != "no attached store available for writing" {
		t.Fatalf("read-only: %v", err)
	}
	_, err = NewAttachedSet([]*Attached{{Name: "a", Root: "/x"}, {Name: "a", Root: "/y"}})
	requireErrContains(t, err, `duplicate attached store instance name "a"`, "/x", "/y")
}
