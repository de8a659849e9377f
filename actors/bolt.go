package actors

import (
	"fmt"
	"runtime/debug"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/squall-stream/squall/internal/topologyinternal"
	"github.com/squall-stream/squall/proto"
	"github.com/squall-stream/squall/topology"
)

// boltTask is the state of one bolt task that outlives its actor instances:
// input not yet executed, the position in the current batch, the outbox.
type boltTask struct {
	*executor
	bolt    topology.Bolt
	flusher topology.Flusher
	inbox   []*tupleBatch
	pos     int             // next tuple of inbox[0]
	current *topology.Tuple // the tuple in Execute, failed if Execute panics
	process processSampler
	tick    *topologyinternal.Origin
	// tickQueued is true while a tick waits in the inbox: a blocked bolt
	// gets one tick when it resumes, not one per missed period.
	tickQueued bool
}

func newBoltTask(rt *topologyRuntime, id int, comp *topology.ComponentSpec) (*boltTask, error) {
	e, err := newExecutor(rt, id, comp)
	if err != nil {
		return nil, err
	}
	return &boltTask{
		executor: e,
		tick:     &topologyinternal.Origin{Component: topology.SystemComponent, Stream: topology.TickStream},
	}, nil
}

// boltActor is one incarnation of a bolt task; a restart makes a new one.
type boltActor struct{ t *boltTask }

func (a *boltActor) Receive(c actor.Context) {
	t := a.t
	switch m := c.Message().(type) {
	case *actor.Started:
		t.prepare()
	case *tupleBatch:
		t.inbox = append(t.inbox, m)
	case *proto.TupleFrame:
		if b, ok := t.wireBatch(peerOf(c), m); ok {
			t.inbox = append(t.inbox, b)
		}
	case *credit:
		t.out.credit(m.from, m.n)
	case *proto.Credit:
		t.wireCredit(peerOf(c), m)
	case tick:
		if !t.tickQueued {
			t.tickQueued = true
			b := &tupleBatch{tuples: make([]topology.Tuple, 1)}
			rep(&b.tuples[0]).Init(t.tick, nil, nil)
			t.inbox = append(t.inbox, b)
		}
	case *actor.Stopping:
		t.cleanup()
		return
	case *actor.Restarting:
		t.bolt, t.flusher = nil, nil
		return
	default:
		return
	}
	t.drain()
	t.afterMessage()
}

// prepare makes a fresh bolt and prepares it. A failure panics, so that the
// supervisor retries with backoff.
func (t *boltTask) prepare() {
	b := newBolt(t.comp)
	if err := b.Prepare(t.tc, &boltCollector{t: t}); err != nil {
		t.noteCrash(fmt.Sprintf("prepare failed: %v", err))
		t.log.Error("prepare failed; restarting the task", "err", err)
		panic(fmt.Errorf("%s[%d] prepare: %w", t.comp.ID, t.id, err))
	}
	t.bolt = b
	t.flusher, _ = b.(topology.Flusher)
}

// drain executes queued input while the outbox has credit.
func (t *boltTask) drain() {
	if t.bolt == nil {
		return
	}
	defer t.recoverCrash()
	for len(t.inbox) > 0 && !t.out.blocked() {
		b := t.inbox[0]
		start := time.Now()
		for t.pos < len(b.tuples) {
			tp := &b.tuples[t.pos]
			t.pos++
			t.current = tp
			t.process.executing(tp)
			t.bolt.Execute(tp)
			t.current = nil
		}
		from, n := b.from, len(b.tuples)
		t.local.executed += int64(n)
		t.local.busyNanos += int64(time.Since(start))
		t.inbox[0] = nil
		t.inbox = t.inbox[1:]
		t.pos = 0
		b.release()
		if from != 0 {
			t.counters.queued.Add(-int64(n))
			t.rt.sendCredit(from, &credit{from: t.id, n: 1})
		} else {
			t.tickQueued = false
		}
		t.publish()
	}
	if len(t.inbox) == 0 {
		t.inbox = nil
	}
}

// recoverCrash fails the tuple whose Execute panicked, logs the crash and
// panics on, so that protoactor restarts the task with a fresh bolt. The
// rest of the batch is executed by the new instance.
func (t *boltTask) recoverCrash() {
	r := recover()
	if r == nil {
		return
	}
	if t.current != nil {
		t.fail(t.current)
		t.current = nil
	}
	t.out.flush(crashed)
	t.publish()
	t.noteCrash(fmt.Sprintf("bolt crashed: %v", r))
	t.log.Error("bolt crashed; failing its tuple and restarting the task", "panic", fmt.Sprint(r))
	t.log.Debug("bolt crash stack", "stack", string(debug.Stack()))
	if b := t.bolt; b != nil {
		t.closeCrashed("bolt", b.Cleanup)
	}
	t.bolt, t.flusher = nil, nil
	panic(r)
}

// afterMessage tells the outbox whether more input waits, once a message is
// handled. A task whose mailbox ran dry also has its bolt flush, if it is a
// Flusher and has executed all its input.
func (t *boltTask) afterMessage() {
	if !t.idle() {
		t.out.flush(moreInput)
		return
	}
	if len(t.inbox) == 0 && t.flusher != nil {
		t.flushBolt()
	}
	t.out.flush(inputDry)
	t.publish()
}

func (t *boltTask) flushBolt() {
	defer t.recoverCrash()
	t.flusher.Flush()
}

func (t *boltTask) cleanup() {
	defer close(t.done)
	if t.bolt == nil {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			t.log.Error("bolt cleanup panicked", "panic", fmt.Sprint(r))
		}
	}()
	if t.flusher != nil {
		t.flusher.Flush()
	}
	t.out.flush(stopping)
	if err := t.bolt.Cleanup(); err != nil {
		t.log.Error("bolt cleanup failed", "err", err)
	}
}

func (t *boltTask) emit(stream string, values topology.Values, direct int, anchors []*topology.Tuple) error {
	r, targets, err := t.targets(stream, values, direct)
	if err != nil {
		return err
	}
	tracked := false
	if !t.rt.conf.DisableAcking {
		for _, a := range anchors {
			if a == nil {
				err := &EmitError{Component: t.comp.ID, Task: t.id, Stream: stream, Err: ErrNilAnchor}
				t.noteError(err)
				return err
			}
			if len(rep(a).Anchors()) > 0 {
				tracked = true
			}
		}
	}
	for _, target := range targets {
		slot := rep(t.out.slot(target))
		switch {
		case !tracked:
			slot.Init(r.origin, values, nil)
		case len(anchors) == 1 && len(rep(anchors[0]).Anchors()) == 1:
			// The common case, one anchor in one tree, without allocating.
			edge := t.ids.next()
			parent := rep(anchors[0])
			parent.AddEdge(edge)
			slot.InitAnchored(r.origin, values, parent.Anchors()[0].Root, edge)
		default:
			slot.Init(r.origin, values, childAnchors(anchors, &t.ids))
		}
	}
	r.counted(len(targets))
	return nil
}

// childAnchors makes a new edge from each tracked anchor and returns the
// child's places in the anchors' trees, as Storm does: one edge per anchor,
// XORed into every root that anchor belongs to.
func childAnchors(anchors []*topology.Tuple, ids *idSource) []topologyinternal.Anchor {
	var out []topologyinternal.Anchor
	for _, anchor := range anchors {
		a := rep(anchor)
		if len(a.Anchors()) == 0 {
			continue
		}
		edge := ids.next()
		a.AddEdge(edge)
	roots:
		for _, an := range a.Anchors() {
			for i := range out {
				if out[i].Root == an.Root {
					out[i].Edge ^= edge
					continue roots
				}
			}
			out = append(out, topologyinternal.Anchor{Root: an.Root, Edge: edge})
		}
	}
	return out
}

func (t *boltTask) ack(tp *topology.Tuple) {
	if tp.IsTick() {
		return
	}
	t.local.acked++
	t.timeProcess(tp)
	r := rep(tp)
	for _, a := range r.Anchors() {
		t.out.ack(ackOp{kind: opAck, root: a.Root, val: a.Edge ^ r.AckVal()})
	}
}

func (t *boltTask) fail(tp *topology.Tuple) {
	if tp.IsTick() {
		return
	}
	t.local.failed++
	t.timeProcess(tp)
	for _, a := range rep(tp).Anchors() {
		t.out.ack(ackOp{kind: opFail, root: a.Root})
	}
}

// timeProcess adds tp's process latency if it was sampled.
func (t *boltTask) timeProcess(tp *topology.Tuple) {
	if d, ok := t.process.acked(tp); ok {
		t.local.processNanos += int64(d)
		t.local.processed++
	}
}

// boltCollector is the OutputCollector a bolt gets in Prepare.
type boltCollector struct{ t *boltTask }

func (c *boltCollector) Emit(values topology.Values, anchors ...*topology.Tuple) error {
	return c.t.emit(topology.DefaultStream, values, -1, anchors)
}

func (c *boltCollector) EmitTo(stream string, values topology.Values, anchors ...*topology.Tuple) error {
	return c.t.emit(stream, values, -1, anchors)
}

func (c *boltCollector) EmitDirect(task int, stream string, values topology.Values, anchors ...*topology.Tuple) error {
	if task < 0 {
		task = 0 // never a task id; reported as not subscribed
	}
	return c.t.emit(stream, values, task, anchors)
}

func (c *boltCollector) Ack(t *topology.Tuple)  { c.t.ack(t) }
func (c *boltCollector) Fail(t *topology.Tuple) { c.t.fail(t) }
func (c *boltCollector) ReportError(err error)  { c.t.reportError(err) }
