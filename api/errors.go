package api

import (
	"errors"
	"fmt"

	"github.com/filecoin-project/go-jsonrpc"
)

// JSON-RPC error codes both daemons rely on.
const (
	// ErrCodeSectorStateNotFound tells a worker that the manager no longer knows the sector: abort it.
	ErrCodeSectorStateNotFound = 11001
	ErrCodeInvalidParams       = -32602
	ErrCodeInternal            = -32603
	ErrCodeLogic               = 1
)

// CodedError is an application error with an explicit JSON-RPC code; go-jsonrpc sends Code and
// Message as they are.
type CodedError struct {
	Code    int
	Message string
}

func (e *CodedError) Error() string { return e.Message }

func (e *CodedError) ToJSONRPCError() (jsonrpc.JSONRPCError, error) {
	return jsonrpc.JSONRPCError{Code: jsonrpc.ErrorCode(e.Code), Message: e.Message}, nil
}

func (e *CodedError) FromJSONRPCError(j jsonrpc.JSONRPCError) error {
	e.Code, e.Message = int(j.Code), j.Message
	return nil
}

// ErrSectorStateNotFound is what the manager answers for a sector that is not online.
func ErrSectorStateNotFound() error {
	return &CodedError{Code: ErrCodeSectorStateNotFound, Message: fmt.Sprintf("error code %d: sector state not found", ErrCodeSectorStateNotFound)}
}

// InvalidParams builds a -32602 error with the given message.
func InvalidParams(format string, args ...any) error {
	return &CodedError{Code: ErrCodeInvalidParams, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode extracts the JSON-RPC code of an error returned by a client call; ok is false for
// transport errors (no JSON-RPC error object came back).
func ErrorCode(err error) (code int, ok bool) {
	var coded *CodedError
	if errors.As(err, &coded) {
		return coded.Code, true
	}
	var j *jsonrpc.JSONRPCError
	if errors.As(err, &j) {
		return int(j.Code), true
	}
	return 0, false
}

// IsSectorStateNotFound reports whether a manager call failed with code 11001.
func IsSectorStateNotFound(err error) bool {
	code, ok := ErrorCode(err)
	return ok && code == ErrCodeSectorStateNotFound
}
