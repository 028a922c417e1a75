// Package sealing runs the sealing threads: one goroutine per [[sealing_thread]] takes a sector
// through the plan's state machine, persisting the job after every transition so that a restart
// resumes where it stopped, and obeys pause/resume from the admin API.
package sealing

import (
	"encoding/json"
	"fmt"
)

// State is a job's position in its plan. The numeric values are persisted in the job record and
// must never be reordered (spec/worker.md §6.1).
type State uint64

const (
	Empty State = iota
	Allocated
	DealsAcquired
	PieceAdded
	TreeDBuilt
	TicketAssigned
	PC1Done
	PC2Done
	PCSubmitted
	PCLanded
	Persisted
	PersistanceSubmitted
	SeedAssigned
	C1Done
	C2Done
	ProofSubmitted
	Finished
	Aborted
	SnapEncoded
	SnapProved
)

var stateNames = [...]string{
	"Empty", "Allocated", "DealsAcquired", "PieceAdded", "TreeDBuilt", "TicketAssigned",
	"PC1Done", "PC2Done", "PCSubmitted", "PCLanded", "Persisted", "PersistanceSubmitted",
	"SeedAssigned", "C1Done", "C2Done", "ProofSubmitted", "Finished", "Aborted",
	"SnapEncoded", "SnapProved",
}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", uint64(s))
}

// stateAliases are names operators type that are not state names; the docs say "Abort".
var stateAliases = map[string]State{"Abort": Aborted}

// ParseState maps an exact, case-sensitive state name to its State.
func ParseState(name string) (State, error) {
	for i, n := range stateNames {
		if n == name {
			return State(i), nil
		}
	}
	if s, ok := stateAliases[name]; ok {
		return s, nil
	}
	return 0, fmt.Errorf("invalid state %s", name)
}

func (s *State) UnmarshalJSON(b []byte) error {
	var n uint64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("state must be an ordinal: %w", err)
	}
	if n >= uint64(len(stateNames)) {
		return fmt.Errorf("unknown state ordinal %d", n)
	}
	*s = State(n)
	return nil
}

// EventKind names what happened in a step; the plan's table maps (state, event) to the next state.
type EventKind int

const (
	EvSetState EventKind = iota
	EvRetry
	EvAllocate
	EvAcquireDeals
	EvAddPiece
	EvBuildTreeD
	EvAssignTicket
	EvPC1
	EvPC2
	EvSubmitPC
	EvCheckPC
	EvReSubmitPC
	EvPersist
	EvSubmitPersistance
	EvAssignSeed
	EvC1
	EvC2
	EvSubmitProof
	EvReSubmitProof
	EvFinish
	EvAllocatedSnapUpSector
	EvSnapEncode
	EvSnapProve
	EvRePersist
)

var eventNames = [...]string{
	"SetState", "Retry", "Allocate", "AcquireDeals", "AddPiece", "BuildTreeD", "AssignTicket",
	"PC1", "PC2", "SubmitPC", "CheckPC", "ReSubmitPC", "Persist", "SubmitPersistance",
	"AssignSeed", "C1", "C2", "SubmitProof", "ReSubmitProof", "Finish", "AllocatedSnapUpSector",
	"SnapEncode", "SnapProve", "RePersist",
}

func (k EventKind) String() string {
	if int(k) < len(eventNames) {
		return eventNames[k]
	}
	return fmt.Sprintf("Event(%d)", int(k))
}
