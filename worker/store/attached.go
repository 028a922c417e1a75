package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// Attached is a persist store: a directory (usually a network mount) finished sectors are copied
// to. Name is the instance name sector-manager knows it by.
type Attached struct {
	Name     string
	Root     string
	ReadOnly bool
}

// OpenAttached opens the persist store at location. An empty name means the canonical path.
func OpenAttached(location, name string, readonly bool) (*Attached, error) {
	root, err := canonicalize(location)
	if err != nil {
		return nil, fmt.Errorf("attached store %q: %w; run `venus-worker store file-init -l %s` first", location, err, location)
	}
	if err := RequireDir(root, "attached store"); err != nil {
		return nil, err
	}
	if name == "" {
		name = root
	}
	return &Attached{Name: name, Root: root, ReadOnly: readonly}, nil
}

// URI maps a path relative to the store (e.g. sealed/s-t010000-1) to its absolute path.
func (a *Attached) URI(rel string) (string, error) {
	if strings.HasPrefix(rel, ".") {
		return "", fmt.Errorf("invalid relative path %q for store %s: must not start with '.'", rel, a.Name)
	}
	trimmed := strings.TrimPrefix(rel, "/")
	if strings.HasPrefix(trimmed, "/") {
		return "", fmt.Errorf("invalid relative path %q for store %s: must be relative", rel, a.Name)
	}
	// Stricter than the original: a ".." anywhere would let the path escape the store.
	if slices.Contains(strings.Split(filepath.ToSlash(trimmed), "/"), "..") {
		return "", fmt.Errorf("invalid relative path %q for store %s: must not contain '..'", rel, a.Name)
	}
	return filepath.Join(a.Root, trimmed), nil
}

// AttachedSet is the worker's persist stores, by instance name.
type AttachedSet struct {
	stores []*Attached
	byName map[string]*Attached
}

// NewAttachedSet checks the configured stores: at least one, at least one writable, and no two
// with the same instance name.
func NewAttachedSet(stores []*Attached) (*AttachedSet, error) {
	if len(stores) == 0 {
		return nil, errors.New("no attached store available")
	}
	set := &AttachedSet{byName: make(map[string]*Attached, len(stores))}
	writable := false
	for _, s := range stores {
		if prev, ok := set.byName[s.Name]; ok {
			return nil, fmt.Errorf("duplicate attached store instance name %q (locations %s and %s); give each [[attached]] a distinct name", s.Name, prev.Root, s.Root)
		}
		set.byName[s.Name] = s
		set.stores = append(set.stores, s)
		writable = writable || !s.ReadOnly
	}
	if !writable {
		return nil, errors.New("no attached store available for writing")
	}
	return set, nil
}

// Get returns the store with the given instance name.
func (s *AttachedSet) Get(name string) (*Attached, bool) {
	a, ok := s.byName[name]
	return a, ok
}

// Writable returns the instance names of the stores a sector may be persisted to, in config
// order: the candidates of Venus.StoreReserveSpace.
func (s *AttachedSet) Writable() []string {
	var names []string
	for _, a := range s.stores {
		if !a.ReadOnly {
			names = append(names, a.Name)
		}
	}
	return names
}

// All returns every store in config order.
func (s *AttachedSet) All() []*Attached {
	return slices.Clone(s.stores)
}
