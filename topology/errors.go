package topology

import (
	"errors"
	"fmt"
)

// Errors returned by Build, each wrapped in a *ValidationError that names the
// component and, where it applies, the stream and field.
var (
	// ErrDuplicateID means two components share an id.
	ErrDuplicateID = errors.New("duplicate component id")
	// ErrBadParallelism means a parallelism below 1.
	ErrBadParallelism = errors.New("parallelism must be at least 1")
	// ErrUnknownSource means a bolt subscribes to a component that does not exist.
	ErrUnknownSource = errors.New("unknown source component")
	// ErrUnknownStream means a bolt subscribes to a stream its source does not declare.
	ErrUnknownStream = errors.New("stream not declared by source")
	// ErrUnknownField means a grouping names a field the stream does not declare.
	ErrUnknownField = errors.New("field not declared by stream")
	// ErrDirectMismatch means a direct grouping on a non-direct stream, or
	// another grouping on a direct stream.
	ErrDirectMismatch = errors.New("direct grouping and direct stream must go together")
	// ErrBadID means a component id reserved for the runtime; an id outside
	// the name rule is ErrBadName.
	ErrBadID = errors.New("bad component id")
	// ErrNoFactory means a nil factory.
	ErrNoFactory = errors.New("nil factory")
	// ErrNoSpouts means a topology without spouts.
	ErrNoSpouts = errors.New("topology has no spouts")
	// ErrBadGrouping means a grouping that is incomplete (no fields, no custom factory).
	ErrBadGrouping = errors.New("bad grouping")
	// ErrDuplicateStream means a component declares the same stream twice.
	ErrDuplicateStream = errors.New("stream declared twice")
	// ErrDuplicateField means a stream declares the same field twice.
	ErrDuplicateField = errors.New("field declared twice")
)

// ValidationError is an error in a topology found by Build. It names the
// component, and the stream and field where they apply.
type ValidationError struct {
	Component string
	Stream    string
	Field     string
	Err       error
}

func (e *ValidationError) Error() string {
	msg := fmt.Sprintf("component %q", e.Component)
	if e.Stream != "" {
		msg += fmt.Sprintf(", stream %q", e.Stream)
	}
	if e.Field != "" {
		msg += fmt.Sprintf(", field %q", e.Field)
	}
	return msg + ": " + e.Err.Error()
}

func (e *ValidationError) Unwrap() error { return e.Err }
