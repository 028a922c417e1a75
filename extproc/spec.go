package extproc

import (
	"context"
	"fmt"
	"time"
)

// DefaultStableWait is how long a child has to print its ready line when the entry does not say.
const DefaultStableWait = 5 * time.Second

// Spec is one external processor entry: the worker's [[processors.<stage>]] table, or an entry
// of the manager's ext-prover.cfg.
type Spec struct {
	// Key names the entry in its config file, for errors (processors.<stage>[<i>] when empty).
	Key           string
	Stage         string
	Bin           string   // empty: the running executable
	Args          []string // ["processor", "<stage>"] unless written
	StableWait    time.Duration
	CGroup        CGroup
	Envs          map[string]string
	NUMAPreferred *int  // nil: no preference
	Concurrent    *uint // nil: unlimited; never 0
	Locks         []string
	Weight        uint16 // ≥ 1
}

// CGroup is the cgroup an external processor runs in.
type CGroup struct {
	GroupName string // parent cgroup
	CPUSet    string // empty: no cpuset, no cgroup is made
}

// key is how errors name the entry.
func (s Spec) key(stage string, index int) string {
	if s.Key != "" {
		return s.Key
	}
	return fmt.Sprintf("processors.%s[%d]", stage, index)
}

// Processor is a stage's implementation: what a consumer serves and what a producer is.
type Processor[I, O any] interface {
	Process(ctx context.Context, task I) (O, error)
}

// Locks are the named locks children of a stage share (the worker's ext_locks).
type Locks interface {
	Acquire(ctx context.Context, name string) (release func(), err error)
	TryAcquire(name string) (release func(), ok bool)
}
