package topology

import (
	"fmt"
	"time"

	"github.com/squall-stream/squall/internal/topologyinternal"
)

// System identifiers for tuples the runtime makes itself.
const (
	// SystemComponent is the source component of tick tuples.
	SystemComponent = "__system"
	// TickStream is the stream of tick tuples.
	TickStream = "__tick"
)

// Source says where a tuple came from.
type Source struct {
	Component string
	Stream    string
	Task      int
}

// Tuple is one message on a stream: values with the field names of the stream
// they travel on. Bolts read tuples; they do not build them (except in tests,
// with [NewTuple]).
//
// A Tuple belongs to the task that received it and must not be used from
// other goroutines. Its representation is the runtime's: the runtime fills
// tuples in place and keeps their places in the ack trees in them, which no
// method here shows.
type Tuple topologyinternal.Tuple

// NewTuple makes an untracked tuple (one in no ack tree). Tests use it to
// feed a bolt directly.
func NewTuple(src Source, fields Fields, values Values) *Tuple {
	t := &Tuple{}
	t.rep().Init(&topologyinternal.Origin{Component: src.Component, Stream: src.Stream, Task: src.Task, Fields: fields}, values, nil)
	return t
}

// rep is the tuple as the runtime sees it.
func (t *Tuple) rep() *topologyinternal.Tuple { return (*topologyinternal.Tuple)(t) }

// Source returns where the tuple came from.
func (t *Tuple) Source() Source {
	o := t.rep().Origin()
	return Source{Component: o.Component, Stream: o.Stream, Task: o.Task}
}

// SourceComponent is the id of the component that emitted the tuple.
func (t *Tuple) SourceComponent() string { return t.rep().Origin().Component }

// SourceStream is the stream the tuple was emitted on.
func (t *Tuple) SourceStream() string { return t.rep().Origin().Stream }

// SourceTask is the task id that emitted the tuple.
func (t *Tuple) SourceTask() int { return t.rep().Origin().Task }

// IsTick reports whether this is a tick tuple made by the runtime at the
// component's tick frequency.
func (t *Tuple) IsTick() bool {
	o := t.rep().Origin()
	return o.Component == SystemComponent && o.Stream == TickStream
}

// Fields returns the field names of the tuple's stream.
func (t *Tuple) Fields() Fields { return t.rep().Origin().Fields }

// Values returns the tuple's values. The slice must not be modified.
func (t *Tuple) Values() Values { return t.rep().Values() }

// Len returns the number of values.
func (t *Tuple) Len() int { return len(t.rep().Values()) }

// Value returns the i-th value, or nil when i is out of range.
func (t *Tuple) Value(i int) any {
	values := t.rep().Values()
	if i < 0 || i >= len(values) {
		return nil
	}
	return values[i]
}

// ValueByField returns the value of the named field, or nil when the stream
// declares no such field.
func (t *Tuple) ValueByField(name string) any { return t.Value(t.Fields().Index(name)) }

// StringByField returns the named field as a string; "" when it is missing or
// not a string. Use [Tuple.ValueByField] to tell the two apart.
func (t *Tuple) StringByField(name string) string {
	s, _ := t.ValueByField(name).(string)
	return s
}

// Int64ByField returns the named field as an int64, accepting int too; 0 when
// it is missing or not an integer.
func (t *Tuple) Int64ByField(name string) int64 {
	switch v := t.ValueByField(name).(type) {
	case int64:
		return v
	case int:
		return int64(v)
	}
	return 0
}

// Float64ByField returns the named field as a float64; 0 when it is missing
// or not a float64.
func (t *Tuple) Float64ByField(name string) float64 {
	f, _ := t.ValueByField(name).(float64)
	return f
}

// BoolByField returns the named field as a bool; false when it is missing or
// not a bool.
func (t *Tuple) BoolByField(name string) bool {
	b, _ := t.ValueByField(name).(bool)
	return b
}

// BytesByField returns the named field as []byte; nil when it is missing or
// not a []byte.
func (t *Tuple) BytesByField(name string) []byte {
	b, _ := t.ValueByField(name).([]byte)
	return b
}

// TimeByField returns the named field as a time.Time; the zero time when it
// is missing or not a time.Time.
func (t *Tuple) TimeByField(name string) time.Time {
	v, _ := t.ValueByField(name).(time.Time)
	return v
}

// String formats the tuple for logs.
func (t *Tuple) String() string {
	o := t.rep().Origin()
	return fmt.Sprintf("source: %s:%d, stream: %s, values: %v", o.Component, o.Task, o.Stream, t.rep().Values())
}
