package topology

import (
	"fmt"
	"log/slog"
	"time"
)

// Spout is a source of tuples (Storm's ISpout). The runtime calls its methods
// from one goroutine at a time, the task's own, so a spout needs no locks for
// its own state.
type Spout interface {
	// DeclareOutputFields declares the streams the spout emits and their fields.
	DeclareOutputFields(d *OutputDeclarer)
	// Open is called once when the task starts, and again on a fresh instance
	// after a crash. An error stops the task from starting; the runtime logs
	// it and retries with backoff.
	Open(tc *TopologyContext, out SpoutOutputCollector) error
	// NextTuple emits zero or more tuples. It must not block for long: when
	// there is nothing to emit it returns, and the runtime waits a little
	// before calling again.
	NextTuple()
	// Ack is called once the tree of the tuple emitted with msgID is complete.
	Ack(msgID any)
	// Fail is called when a tuple of the tree failed or the tree timed out.
	// The spout decides whether to replay.
	Fail(msgID any)
	// Close is called when the task stops cleanly, and on an instance that
	// panicked, before a fresh one opens, so that it releases what it holds
	// (its state may be broken then: Close should not panic on it).
	Close() error
}

// Activator is implemented by spouts that want to know when the topology is
// deactivated (NextTuple is no longer called) and activated again.
type Activator interface {
	Activate()
	Deactivate()
}

// Bolt is a processing step (Storm's IRichBolt). The bolt acks or fails every
// tracked input tuple through its [OutputCollector]; use [Basic] to have that
// done automatically. The runtime calls its methods from one goroutine at a
// time, the task's own.
type Bolt interface {
	// DeclareOutputFields declares the streams the bolt emits and their fields.
	DeclareOutputFields(d *OutputDeclarer)
	// Prepare is called once when the task starts, and again on a fresh
	// instance after a crash. An error stops the task from starting; the
	// runtime logs it and retries with backoff.
	Prepare(tc *TopologyContext, out OutputCollector) error
	// Execute processes one tuple. A panic fails the tuple and restarts the task.
	Execute(t *Tuple)
	// Cleanup is called when the task stops cleanly, and on an instance
	// that panicked, before a fresh one is prepared.
	Cleanup() error
}

// Flusher is implemented by bolts that buffer work across tuples (a pipelined
// writer, say). The runtime calls Flush whenever the task's input queue runs
// empty, so buffered work waits at most until the task goes idle.
type Flusher interface {
	Flush()
}

// TickRequester is implemented by bolts that need tick tuples at a rate of
// their own, as a windowed bolt does to close its windows on time (Storm's
// topology.tick.tuple.freq.secs in a component's configuration). Build reads
// it from the instance it makes to read the declarations; TickFrequency on
// the declarer overrides it.
type TickRequester interface {
	TickFrequency() time.Duration
}

// InputReleaser is implemented by bolts that keep no input *Tuple once
// Execute has returned: they ack or fail it within Execute and keep at most
// its values. The runtime then reuses the memory of their input tuples,
// which spares the garbage collector most of what a topology allocates.
// Bolts made with [Basic] are InputReleasers. Build reads it from the
// instance it makes to read the declarations.
type InputReleaser interface {
	ReleasesInput() bool
}

// Validator is implemented by components whose own settings can be wrong (a
// window longer than it may be, say). Build calls Validate on the instance it
// makes to read the declarations and reports an error against the component,
// so that a bad setting fails the submit instead of every task's start.
type Validator interface {
	Validate() error
}

// SpoutOutputCollector is how a spout emits. A nil msgID emits an untracked
// tuple: it is never acked or failed back to the spout.
//
// Emit returns an error, and sends nothing, when the stream is not declared,
// the number of values does not match its fields, or a value cannot be
// serialized.
type SpoutOutputCollector interface {
	Emit(values Values, msgID any) error
	EmitTo(stream string, values Values, msgID any) error
	// EmitDirect sends to one task of a component that subscribed to the
	// direct stream with DirectGrouping.
	EmitDirect(task int, stream string, values Values, msgID any) error
	// ReportError counts and logs an error against the task without failing it.
	ReportError(err error)
}

// OutputCollector is how a bolt emits, acks and fails. Tuples emitted with
// anchors join the anchors' ack trees; tuples emitted with none are untracked.
// Every tracked input must be acked or failed exactly once. An
// implementation must not keep the anchors slice past the call: callers such
// as [Basic] reuse it.
type OutputCollector interface {
	Emit(values Values, anchors ...*Tuple) error
	EmitTo(stream string, values Values, anchors ...*Tuple) error
	EmitDirect(task int, stream string, values Values, anchors ...*Tuple) error
	Ack(t *Tuple)
	Fail(t *Tuple)
	ReportError(err error)
}

// TopologyContext tells a task where it runs (Storm's TopologyContext).
type TopologyContext struct {
	// TopologyName is the name the topology was started under.
	TopologyName string
	// ComponentID is the id of this task's component.
	ComponentID string
	// TaskID is this task's id, unique in the topology.
	TaskID int
	// TaskIndex is this task's position among its component's tasks, from 0.
	TaskIndex int
	// Settings are the topology's user settings (Config.Settings).
	Settings map[string]string
	// RunID identifies this deployment of the topology (Config.RunID).
	RunID string
	// MessageTimeout is Config.MessageTimeout: how long a tuple tree may
	// take before it is failed; 0 when acking is disabled. A bolt that holds
	// tuples before acking them must hold them for less.
	MessageTimeout time.Duration
	// Logger is the task's logger: the runtime's (Config.Logger) with the
	// topology, component and task attached, so that a component's lines
	// say which task wrote them (on a cluster node, and which node).
	// NewTopologyContext sets slog.Default() with those fields, which the
	// runtime replaces with its own.
	Logger *slog.Logger
	// Resources are what the runtime lends the task (Config.Resources); a
	// task takes one with Resource.From. NewTopologyContext sets none.
	Resources Resources

	topo *Topology
	done <-chan struct{}
}

// NewTopologyContext is used by runtimes, and by tests that drive a component
// directly. done is closed when the task stops.
func NewTopologyContext(name string, topo *Topology, component string, taskID int, settings map[string]string, done <-chan struct{}) *TopologyContext {
	tc := &TopologyContext{TopologyName: name, ComponentID: component, TaskID: taskID, Settings: settings, topo: topo, done: done}
	tc.Logger = slog.Default().With(tc.logFields()...)
	for i, id := range topo.Tasks(component) {
		if id == taskID {
			tc.TaskIndex = i
		}
	}
	return tc
}

func (tc *TopologyContext) logFields() []any {
	return []any{"topology", tc.TopologyName, "component", tc.ComponentID, "task", tc.TaskID}
}

// TaskLogger is the logger of a component whose configuration may name one
// of its own (own, or nil): own with the task's topology, component and task
// attached, so that a user's logger still says which task wrote; else
// Logger, or slog.Default() with those fields if Logger was set to nil.
func (tc *TopologyContext) TaskLogger(own *slog.Logger) *slog.Logger {
	if own == nil {
		if tc.Logger != nil {
			return tc.Logger
		}
		own = slog.Default()
	}
	return own.With(tc.logFields()...)
}

// Topology returns the topology the task belongs to.
func (tc *TopologyContext) Topology() *Topology { return tc.topo }

// ComponentTasks returns the task ids of a component, ascending.
func (tc *TopologyContext) ComponentTasks(component string) []int { return tc.topo.Tasks(component) }

// InputStream is a stream a component subscribes to, with its fields.
type InputStream struct {
	Component string
	Stream    string
	Fields    Fields
}

// Inputs returns the streams this task's component subscribes to, with
// their fields (Storm's getThisSources and getComponentOutputFields).
func (tc *TopologyContext) Inputs() []InputStream {
	var out []InputStream
	for _, in := range tc.topo.Component(tc.ComponentID).Inputs {
		out = append(out, InputStream{Component: in.Component, Stream: in.Stream, Fields: tc.topo.Component(in.Component).Streams[in.Stream].Fields})
	}
	return out
}

// RequireInputFields reports, wrapping ErrUnknownField, the first of names
// that a stream this task's component subscribes to does not declare: a
// bolt that reads fields by name checks in Prepare that it will find them.
func (tc *TopologyContext) RequireInputFields(names ...string) error {
	for _, in := range tc.Inputs() {
		for _, name := range names {
			if !in.Fields.Contains(name) {
				return fmt.Errorf("%s reads stream %q of %s, which has no field %q (its fields: %v): %w",
					tc.ComponentID, in.Stream, in.Component, name, in.Fields, ErrUnknownField)
			}
		}
	}
	return nil
}

// Done is closed when the task stops, so that a component blocking in
// Open/Prepare or a background goroutine of its own can give up.
func (tc *TopologyContext) Done() <-chan struct{} { return tc.done }
