package topology

import (
	"fmt"
	"time"
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

// Anchor is a tuple's place in one ack tree: the tree's root id and the id of
// the edge that created the tuple (an XOR of edge ids when the tuple was
// anchored to several parents of the same tree).
//
// Root ids are never 0: runtimes draw them at random from the other values.
type Anchor struct {
	Root uint64
	Edge uint64
}

// Origin is one stream of one task: where a tuple comes from and the names of
// its fields. Runtimes make one per stream and task and share it between the
// tuples of that stream, so a tuple carries one pointer for both.
type Origin struct {
	Source Source
	Fields Fields
}

// Tuple is one message on a stream: values with the field names of the stream
// they travel on. Bolts read tuples; they do not build them (except in tests,
// with [NewTuple]).
//
// A Tuple belongs to the task that received it and must not be used from
// other goroutines.
type Tuple struct {
	origin *Origin
	values Values
	// one is the place of a tuple in a single tree, the common case, kept
	// inline: a tuple is 64 bytes and setting one writes no pointer, which
	// matters because runtimes fill millions a second in slabs the garbage
	// collector scans. Its Root is 0 for an untracked tuple.
	one [1]Anchor
	// many holds the places of a tuple anchored in several trees; nil
	// otherwise.
	many   *[]Anchor
	ackVal uint64
}

// NewTuple makes a tuple. Tests use it to feed a bolt directly. anchors may
// be nil (an untracked tuple).
func NewTuple(src Source, fields Fields, values Values, anchors []Anchor) *Tuple {
	t := &Tuple{}
	t.Init(&Origin{Source: src, Fields: fields}, values, anchors)
	return t
}

// Init sets a tuple in place, so a runtime can allocate tuples in slabs.
// anchors is copied.
func (t *Tuple) Init(o *Origin, values Values, anchors []Anchor) {
	t.origin, t.values, t.ackVal = o, values, 0
	switch len(anchors) {
	case 0:
		t.one[0], t.many = Anchor{}, nil
	case 1:
		t.one[0], t.many = anchors[0], nil
	default:
		many := append([]Anchor(nil), anchors...)
		t.one[0], t.many = Anchor{}, &many
	}
}

// InitAnchored is Init for a tuple in a single tree, without a slice.
func (t *Tuple) InitAnchored(o *Origin, values Values, root, edge uint64) {
	t.origin, t.values, t.ackVal = o, values, 0
	t.one[0], t.many = Anchor{Root: root, Edge: edge}, nil
}

// Source returns where the tuple came from.
func (t *Tuple) Source() Source { return t.origin.Source }

// SourceComponent is the id of the component that emitted the tuple.
func (t *Tuple) SourceComponent() string { return t.origin.Source.Component }

// SourceStream is the stream the tuple was emitted on.
func (t *Tuple) SourceStream() string { return t.origin.Source.Stream }

// SourceTask is the task id that emitted the tuple.
func (t *Tuple) SourceTask() int { return t.origin.Source.Task }

// IsTick reports whether this is a tick tuple made by the runtime at the
// component's tick frequency.
func (t *Tuple) IsTick() bool {
	return t.origin.Source.Component == SystemComponent && t.origin.Source.Stream == TickStream
}

// Fields returns the field names of the tuple's stream.
func (t *Tuple) Fields() Fields { return t.origin.Fields }

// Values returns the tuple's values. The slice must not be modified.
func (t *Tuple) Values() Values { return t.values }

// Len returns the number of values.
func (t *Tuple) Len() int { return len(t.values) }

// Value returns the i-th value, or nil when i is out of range.
func (t *Tuple) Value(i int) any {
	if i < 0 || i >= len(t.values) {
		return nil
	}
	return t.values[i]
}

// ValueByField returns the value of the named field, or nil when the stream
// declares no such field.
func (t *Tuple) ValueByField(name string) any { return t.Value(t.origin.Fields.Index(name)) }

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

// Anchors returns the tuple's places in the ack trees it belongs to; empty
// for an untracked tuple. Runtimes use it to ack the tuple.
func (t *Tuple) Anchors() []Anchor {
	switch {
	case t.many != nil:
		return *t.many
	case t.one[0].Root != 0:
		return t.one[:]
	}
	return nil
}

// AckVal is the XOR of the edge ids of the children anchored to this tuple so
// far (Storm's ackVal). Runtimes send it with the tuple's ack.
func (t *Tuple) AckVal() uint64 { return t.ackVal }

// AddEdge records that a child was anchored to this tuple over the given
// edge. Runtimes call it when a bolt emits with this tuple as anchor.
func (t *Tuple) AddEdge(edge uint64) { t.ackVal ^= edge }

// String formats the tuple for logs.
func (t *Tuple) String() string {
	return fmt.Sprintf("source: %s:%d, stream: %s, values: %v", t.origin.Source.Component, t.origin.Source.Task, t.origin.Source.Stream, t.values)
}
