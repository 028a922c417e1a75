package sealing

import (
	"errors"
	"fmt"
)

// Level is how bad a failed step is, and so what the thread does next (spec/worker.md §5.2).
type Level int

const (
	// Temporary failures are retried in place, up to max_retries.
	Temporary Level = iota
	// Permanent failures pause the thread until an operator resumes it.
	Permanent
	// Abort drops the sector: the manager is told, local data is wiped, the thread moves on.
	Abort
	// Critical failures are local faults (disk, database, invalid transitions): pause.
	Critical
)

// Levels are the names of every Level.
func Levels() []string {
	return []string{Temporary.String(), Permanent.String(), Abort.String(), Critical.String()}
}

func (l Level) String() string {
	return [...]string{"Temporary", "Permanent", "Abort", "Critical"}[l]
}

// prefix is how last_error starts: "permanent: ...".
func (l Level) prefix() string {
	return [...]string{"temporary", "permanent", "abort", "critical"}[l]
}

// Failure is a step's error with its level.
type Failure struct {
	Level Level
	Err   error
	// interrupt marks a pause or shutdown observed at a check point: the thread stops without
	// recording an error.
	interrupt bool
	// unreadable marks a job record the thread cannot run (openJob), which a resume in Aborted
	// clears.
	unreadable bool
}

func (f *Failure) Error() string { return f.Level.prefix() + ": " + f.Err.Error() }
func (f *Failure) Unwrap() error { return f.Err }

func fail(l Level, format string, args ...any) *Failure {
	return &Failure{Level: l, Err: fmt.Errorf(format, args...)}
}

func temp(format string, args ...any) *Failure  { return fail(Temporary, format, args...) }
func perm(format string, args ...any) *Failure  { return fail(Permanent, format, args...) }
func abort(format string, args ...any) *Failure { return fail(Abort, format, args...) }
func crit(format string, args ...any) *Failure  { return fail(Critical, format, args...) }

var errInterrupted = errors.New("interrupted")

func interrupted() *Failure {
	return &Failure{Level: Permanent, Err: errInterrupted, interrupt: true}
}

// asFailure gives any error a level; untyped errors are critical because they come from local code.
func asFailure(err error) *Failure {
	var f *Failure
	if errors.As(err, &f) {
		return f
	}
	return &Failure{Level: Critical, Err: err}
}
