package simchain

import (
	"fmt"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/big"
	"github.com/filecoin-project/go-state-types/builtin"
	"github.com/filecoin-project/go-state-types/builtin/v16/miner"
	"github.com/filecoin-project/go-state-types/exitcode"
	"github.com/filecoin-project/go-state-types/network"

	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
)

// actor.go (dispatch), precommit.go and provecommit.go are the storage-miner actor: the rules
// of builtin-actors v16 (actors/miner/src/lib.rs) for the onboarding methods, with the actor's
// exit codes and error texts. What they leave out: power and reward (deposits and pledges are fixed per size), deadlines and
// partitions (a sector is proven once activated), verified-registry claims and data-consumer
// notifications of ProveCommitSectors3 (pieces are only checked against the CommD).

// expiredPreCommitCleanUpDelay is the actor policy's EXPIRED_PRE_COMMIT_CLEAN_UP_DELAY (8 hours).
const expiredPreCommitCleanUpDelay = 8 * builtin.EpochsInHour

// maxProveCommitDuration is the actor's max_prove_commit_duration for V1_1 seal proofs: 30
// days plus the pre-commit challenge delay.
func (c *Chain) maxProveCommitDuration() abi.ChainEpoch {
	return 30*builtin.EpochsInDay + c.opts.PreCommitChallengeDelay
}

type actorError struct {
	code exitcode.ExitCode
	msg  string
}

func (e *actorError) Error() string { return fmt.Sprintf("exit %d: %s", e.code, e.msg) }

func fail(code exitcode.ExitCode, format string, args ...any) *actorError {
	return &actorError{code: code, msg: fmt.Sprintf(format, args...)}
}

func illegalArgument(format string, args ...any) *actorError {
	return fail(exitcode.ErrIllegalArgument, format, args...)
}

// exec is one message's execution on a miner actor.
type exec struct {
	c      *Chain
	m      *minerState
	h      abi.ChainEpoch
	nv     network.Version
	value  abi.TokenAmount
	caller address.Address // the sender's ID address
}

// applyLocked executes a message at height h and gives its exit code, return and, on failure,
// the actor's reason.
func (c *Chain) applyLocked(msg *chain.Message, h abi.ChainEpoch) (exitcode.ExitCode, []byte, string) {
	id, err := address.IDFromAddress(msg.To)
	m := c.st.miners[abi.ActorID(id)]
	if err != nil || m == nil {
		return exitcode.Ok, nil, "" // not a miner: nothing here keeps its state
	}
	x := &exec{c: c, m: m, h: h, nv: c.opts.NetworkVersion, value: msg.Value, caller: mustID(c.st.keyToID[msg.From])}
	if x.value.Nil() {
		x.value = big.Zero()
	}
	ret, aerr := x.run(msg.Method, msg.Params)
	if aerr != nil {
		return aerr.code, nil, aerr.msg
	}
	return exitcode.Ok, ret, ""
}

func (x *exec) run(method abi.MethodNum, raw []byte) ([]byte, *actorError) {
	if !methodExists(method, x.nv) {
		return nil, fail(exitcode.ErrUnhandledMessage, "miner actor at network version %d has no method %d", x.nv, method)
	}
	if method == methodSend {
		x.m.balance = big.Add(x.m.balance, x.value)
		return nil, nil
	}
	params, err := decodeParams(method, raw)
	if err != nil {
		return nil, fail(exitcode.ErrSerialization, "failed to decode params of method %d: %v", method, err)
	}
	switch p := params.(type) {
	case *miner.PreCommitSectorBatchParams2:
		return nil, x.preCommit(p.Sectors, true)
	case *miner.PreCommitSectorBatchParams:
		return nil, x.legacyPreCommit(p.Sectors)
	case *miner.PreCommitSectorParams:
		return nil, x.legacyPreCommit([]miner.PreCommitSectorParams{*p})
	case *miner.ProveCommitSectors3Params:
		return x.proveCommitSectors3(p)
	case *miner.ProveCommitAggregateParams:
		return nil, x.proveCommitAggregate(p)
	case *miner.ProveCommitSectorParams:
		return nil, x.proveCommitSector(p)
	case *miner.SubmitWindowedPoStParams:
		return nil, x.submitWindowedPoSt(p)
	case *miner.DeclareFaultsParams:
		return nil, x.declareFaults(p)
	case *miner.DeclareFaultsRecoveredParams:
		return nil, x.declareFaultsRecovered(p)
	}
	return nil, fail(exitcode.ErrUnhandledMessage, "method %d not handled", method)
}

// checkCaller is the actor's validate_immediate_caller_is(controls, worker, owner).
func (x *exec) checkCaller() *actorError {
	keys := append([]address.Address{x.m.owner, x.m.worker}, x.m.controls...)
	for _, k := range keys {
		if mustID(x.c.st.keyToID[k]) == x.caller {
			return nil
		}
	}
	return fail(exitcode.ErrForbidden, "caller %s is not one of supported", x.caller)
}

func (x *exec) minerAddress() address.Address { return mustID(x.m.actor) }
