package actors

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/squall-stream/squall/internal/topologyinternal"
	"github.com/squall-stream/squall/topology"
)

// Errors returned by emits.
var (
	// ErrUndeclaredStream means an emit on a stream the component did not declare.
	ErrUndeclaredStream = errors.New("stream not declared")
	// ErrFieldCount means an emit whose number of values differs from the
	// stream's declared fields.
	ErrFieldCount = errors.New("number of values does not match the declared fields")
	// ErrDirect means EmitDirect on a non-direct stream, Emit on a direct one,
	// or EmitDirect to a task that is not subscribed to the stream.
	ErrDirect = errors.New("bad direct emit")
	// ErrNilAnchor means a nil anchor tuple.
	ErrNilAnchor = errors.New("nil anchor tuple")
)

// EmitError is an emit that was refused. Nothing was sent.
type EmitError struct {
	Component string
	Task      int
	Stream    string
	Err       error
}

func (e *EmitError) Error() string {
	return fmt.Sprintf("%s[%d] emit on stream %q: %v", e.Component, e.Task, e.Stream, e.Err)
}

func (e *EmitError) Unwrap() error { return e.Err }

// route is where one output stream of a task goes.
type route struct {
	def       topology.StreamDef
	origin    *topologyinternal.Origin // shared by every tuple the task emits on the stream
	selectors []selector
	direct    map[int]bool // tasks subscribed to a direct stream
	// emitted and transferred count the task's tuples on the stream since
	// the last publish, on the task's goroutine; published holds the
	// totals for Metrics.
	emitted, transferred int64
	published            struct{ emitted, transferred atomic.Int64 }
}

// executor is what spout and bolt tasks share: identity, routing, the
// outbox, counters. It lives outside the actor instance so that it survives
// a restart of the task.
type executor struct {
	rt      *topologyRuntime
	id      int
	comp    *topology.ComponentSpec
	tc      *topology.TopologyContext
	log     *slog.Logger
	done    chan struct{}
	mailbox actor.Mailbox
	routes  map[string]*route
	streams []*route // routes by stream id, for publishing and Metrics
	// lastStream and lastRoute skip the routes lookup for a run of emits
	// on one stream, the usual case: it was a few percent of an emit.
	lastStream string
	lastRoute  *route
	out        *outbox
	counters   taskCounters
	local      localCounts
	scratch    []int
	origins    *originTable // made on the first batch from another node
	ids        idSource
}

func newExecutor(rt *topologyRuntime, id int, comp *topology.ComponentSpec) (*executor, error) {
	e := &executor{
		rt:   rt,
		id:   id,
		comp: comp,
		log:  rt.log.With("component", comp.ID, "task", id),
		done: make(chan struct{}),
		ids:  newIDSource(),
	}
	e.tc = topology.NewTopologyContext(rt.conf.Name, rt.topo, comp.ID, id, rt.conf.Settings, e.done)
	e.tc.RunID = rt.conf.RunID
	e.tc.Resources = rt.conf.Resources
	e.tc.Logger = e.log
	if !rt.conf.DisableAcking {
		e.tc.MessageTimeout = rt.conf.MessageTimeout
	}
	blocks := make([]bool, rt.topo.NumTasks()+1)
	e.routes = make(map[string]*route, len(comp.Streams))
	for sid, def := range comp.Streams {
		r := &route{def: def, origin: &topologyinternal.Origin{Component: comp.ID, Stream: sid, Task: id, Fields: def.Fields}}
		for _, sub := range rt.topo.Subscribers(comp.ID, sid) {
			tasks := rt.topo.Tasks(sub.Component)
			for _, t := range tasks {
				blocks[t] = !rt.closesCycle(comp.ID, sub.Component)
			}
			if def.Direct {
				if r.direct == nil {
					r.direct = make(map[int]bool)
				}
				for _, t := range tasks {
					r.direct[t] = true
				}
				continue
			}
			s, err := newSelector(sub.Grouping, def.Fields, tasks, e.tc, sid, rt.local)
			if err != nil {
				return nil, err
			}
			r.selectors = append(r.selectors, s)
		}
		e.routes[sid] = r
		e.streams = append(e.streams, r)
	}
	slices.SortFunc(e.streams, func(a, b *route) int { return strings.Compare(a.origin.Stream, b.origin.Stream) })
	e.out = newOutbox(rt, id, blocks)
	return e, nil
}

// mailboxProducer records the task's mailbox so the task can tell when its
// input ran dry.
func (e *executor) mailboxProducer() actor.Mailbox {
	e.mailbox = actor.Unbounded()()
	return e.mailbox
}

// targets checks an emit and resolves its target tasks; direct < 0 means a
// grouped emit.
func (e *executor) targets(stream string, values topology.Values, direct int) (*route, []int, error) {
	r := e.lastRoute
	if r == nil || stream != e.lastStream {
		r = e.routes[stream]
		e.lastStream, e.lastRoute = stream, r
	}
	fail := func(err error) (*route, []int, error) {
		err = &EmitError{Component: e.comp.ID, Task: e.id, Stream: stream, Err: err}
		e.noteError(err)
		return nil, nil, err
	}
	if r == nil {
		return fail(ErrUndeclaredStream)
	}
	if len(values) != len(r.def.Fields) {
		return fail(fmt.Errorf("%w: %d values for fields %v", ErrFieldCount, len(values), r.def.Fields))
	}
	if err := checkValues(values, r.def.Fields); err != nil {
		return fail(err)
	}
	if direct >= 0 {
		if !r.def.Direct {
			return fail(fmt.Errorf("%w: EmitDirect on a stream not declared direct", ErrDirect))
		}
		if !r.direct[direct] {
			return fail(fmt.Errorf("%w: task %d is not subscribed to the stream", ErrDirect, direct))
		}
		e.scratch = append(e.scratch[:0], direct)
		return r, e.scratch, nil
	}
	if r.def.Direct {
		return fail(fmt.Errorf("%w: the stream is direct, use EmitDirect", ErrDirect))
	}
	dst := e.scratch[:0]
	for _, s := range r.selectors {
		var err error
		if dst, err = s.choose(values, dst); err != nil {
			return fail(err)
		}
	}
	e.scratch = dst
	return r, dst, nil
}

// publish makes the task's counts since the last call visible to Metrics.
func (e *executor) publish() {
	e.counters.publish(&e.local)
	for _, r := range e.streams {
		if r.emitted != 0 {
			r.published.emitted.Add(r.emitted)
			r.published.transferred.Add(r.transferred)
			r.emitted, r.transferred = 0, 0
		}
	}
}

// counted counts an emit on the route to n target tasks.
func (r *route) counted(n int) {
	r.emitted++
	r.transferred += int64(n)
}

func (e *executor) reportError(err error) {
	e.noteError(err)
	e.log.Error("task reported an error", "err", err)
}

// noteError counts an error of the task and keeps it as its last.
func (e *executor) noteError(err error) {
	e.counters.errors.Add(1)
	e.counters.lastError.Store(&taskError{msg: err.Error(), at: time.Now()})
}

// noteCrash counts a restart of the task and keeps its cause as its last
// error.
func (e *executor) noteCrash(cause string) {
	e.counters.restarts.Add(1)
	e.counters.lastError.Store(&taskError{msg: cause, at: time.Now()})
}

// idle reports whether no message waits in the task's mailbox.
func (e *executor) idle() bool { return e.mailbox == nil || e.mailbox.UserMessageCount() == 0 }

// idSource draws the random non-zero 64-bit ids of tree roots and edges:
// a task draws one or two a tuple, and math/rand/v2's generator, safe for
// concurrent use, cost a tenth of a spout's time. It is SplitMix64 (a
// Weyl sequence through a 64-bit mixer) from a random seed per task: two
// tasks' sequences meet only after some 2^63 draws on average.
type idSource struct{ state uint64 }

func newIDSource() idSource { return idSource{state: rand.Uint64()} }

// next returns the next id; the task's goroutine alone calls it.
func (s *idSource) next() uint64 {
	for {
		s.state += 0x9e3779b97f4a7c15
		if id := mix64(s.state); id != 0 {
			return id
		}
	}
}

// closeCrashed closes the instance of a task that panicked, so that what it
// holds (connections, goroutines) is released before a fresh instance
// starts. Its state may be broken: a panic or error here is logged only.
func (e *executor) closeCrashed(kind string, closeFn func() error) {
	defer func() {
		if r := recover(); r != nil {
			e.log.Warn("closing the crashed "+kind+" panicked too", "panic", fmt.Sprint(r))
		}
	}()
	if err := closeFn(); err != nil {
		e.log.Warn("closing the crashed "+kind+" failed", "err", err)
	}
}
