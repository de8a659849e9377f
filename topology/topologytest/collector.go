package topologytest

import (
	"slices"
	"sync"

	"github.com/squall-stream/squall/topology"
)

// Emitted is one tuple a component emitted through a recording collector.
type Emitted struct {
	// Stream is the stream the tuple was emitted on: topology.DefaultStream
	// for Emit.
	Stream string
	// Task is the task an EmitDirect named; -1 for the other emits.
	Task int
	// Values are the tuple's values, as emitted.
	Values topology.Values
	// Anchors are the input tuples a bolt anchored the tuple to (a copy of
	// the argument, which callers may reuse); nil for a spout's emits.
	Anchors []*topology.Tuple
	// MsgID is the message id a spout emitted the tuple with; nil for an
	// untracked tuple and for a bolt's emits.
	MsgID any
}

// recording is what both collectors record: emits and reported errors.
// A mutex guards it, so that a test may read what a component's own
// goroutines (a background flush, say) did while they run.
type recording struct {
	mu      sync.Mutex
	emitted []Emitted
	errs    []error
}

func (r *recording) emit(e Emitted) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.emitted = append(r.emitted, e)
	return nil
}

// ReportError records err.
func (r *recording) ReportError(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, err)
}

// Emitted returns the tuples emitted so far, in emit order.
func (r *recording) Emitted() []Emitted {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.emitted)
}

// Errors returns the errors reported so far, in order.
func (r *recording) Errors() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.errs)
}

// Collector is a topology.OutputCollector that records what a bolt emits,
// acks, fails and reports, for a test that prepares the bolt with it and
// calls Execute itself. Its emits always succeed. The zero value is ready to
// use; it is safe for concurrent use.
type Collector struct {
	recording
	acked, failed []*topology.Tuple
}

// Emit records an emit on the default stream.
func (c *Collector) Emit(values topology.Values, anchors ...*topology.Tuple) error {
	return c.EmitTo(topology.DefaultStream, values, anchors...)
}

// EmitTo records an emit on stream.
func (c *Collector) EmitTo(stream string, values topology.Values, anchors ...*topology.Tuple) error {
	return c.EmitDirect(-1, stream, values, anchors...)
}

// EmitDirect records an emit to task on stream.
func (c *Collector) EmitDirect(task int, stream string, values topology.Values, anchors ...*topology.Tuple) error {
	return c.emit(Emitted{Stream: stream, Task: task, Values: values, Anchors: slices.Clone(anchors)})
}

// Ack records that t was acked.
func (c *Collector) Ack(t *topology.Tuple) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.acked = append(c.acked, t)
}

// Fail records that t was failed.
func (c *Collector) Fail(t *topology.Tuple) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failed = append(c.failed, t)
}

// Acked returns the tuples acked so far, in ack order.
func (c *Collector) Acked() []*topology.Tuple {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.acked)
}

// Failed returns the tuples failed so far, in order.
func (c *Collector) Failed() []*topology.Tuple {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.failed)
}

// SpoutCollector is a topology.SpoutOutputCollector that records what a
// spout emits and reports, for a test that opens the spout with it and calls
// NextTuple, Ack and Fail itself. Its emits always succeed. The zero value is
// ready to use; it is safe for concurrent use.
type SpoutCollector struct {
	recording
}

// Emit records an emit on the default stream.
func (c *SpoutCollector) Emit(values topology.Values, msgID any) error {
	return c.EmitTo(topology.DefaultStream, values, msgID)
}

// EmitTo records an emit on stream.
func (c *SpoutCollector) EmitTo(stream string, values topology.Values, msgID any) error {
	return c.EmitDirect(-1, stream, values, msgID)
}

// EmitDirect records an emit to task on stream.
func (c *SpoutCollector) EmitDirect(task int, stream string, values topology.Values, msgID any) error {
	return c.emit(Emitted{Stream: stream, Task: task, Values: values, MsgID: msgID})
}
