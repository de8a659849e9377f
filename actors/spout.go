package actors

import (
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/squall-stream/squall/proto"
	"github.com/squall-stream/squall/topology"
)

// A spout task keeps the ack trees of the tuples it emits (as Heron's
// stream manager does next to its spout, where Storm has acker tasks): it
// holds each tree's XOR of edge ids and applies the acks and fails that
// bolts send it. That is one table entry and one hop per tree fewer than a
// separate acker, and a spout task's trees live and die with it anyway.
//
// A root id names its spout task in its high bits, so that a bolt knows
// where to send an ack; its low rootSeqBits bits count the task's trees from
// a random start. A count, unlike random bits, is never reused while an ack
// for an older tree of the same number may still be on its way.
const (
	rootSeqBits = 40
	rootSeqMask = 1<<rootSeqBits - 1
	// maxTasks bounds the task ids a root can name.
	maxTasks = 1<<(64-rootSeqBits) - 1
)

// spoutTaskOf returns the task that keeps the tree of root.
func spoutTaskOf(root uint64) int { return int(root >> rootSeqBits) }

// pendingTree is a spout tuple whose tree is in flight.
type pendingTree struct {
	msgID   any
	emitted int64  // UnixNano
	val     uint64 // Storm's ackVal: XOR of the edge ids created and acked
}

// spoutTask is the state of one spout task that outlives its actor
// instances: the trees in flight and the outbox.
type spoutTask struct {
	*executor
	spout     topology.Spout
	pending   *idMap[pendingTree]
	orphans   []any // message ids of trees pending when the spout crashed
	active    bool
	scheduled bool   // a spoutNext message or timer is on its way
	now       int64  // UnixNano at the start of the current NextTuple round
	emits     int    // emits in the current NextTuple call
	acked     []any  // message ids to ack after NextTuple: untracked, or a tree with no edges
	seq       uint64 // the count in the last root id
	self      *actor.PID
}

func newSpoutTask(rt *topologyRuntime, id int, comp *topology.ComponentSpec) (*spoutTask, error) {
	e, err := newExecutor(rt, id, comp)
	if err != nil {
		return nil, err
	}
	return &spoutTask{executor: e, pending: newIDMap[pendingTree](), seq: rand.Uint64() & rootSeqMask}, nil
}

// spoutActor is one incarnation of a spout task; a restart makes a new one.
type spoutActor struct{ t *spoutTask }

func (a *spoutActor) Receive(c actor.Context) {
	t := a.t
	defer t.recoverCrash()
	dry := false
	switch m := c.Message().(type) {
	case *actor.Started:
		t.self = c.Self()
		t.open()
	case spoutNext:
		t.scheduled = false
		dry = t.round()
	case *ackBatch:
		t.applyAcks(m)
	case *proto.AckBatch:
		if b, ok := t.wireAcks(peerOf(c), m); ok {
			t.applyAcks(b)
		}
	case *credit:
		t.out.credit(m.from, m.n)
	case *proto.Credit:
		t.wireCredit(peerOf(c), m)
	case sweep:
		t.expire()
	case activate:
		if !t.active && t.spout != nil {
			if a, ok := t.spout.(topology.Activator); ok {
				a.Activate()
			}
		}
		t.active = true
	case deactivate:
		if t.active && t.spout != nil {
			if a, ok := t.spout.(topology.Activator); ok {
				a.Deactivate()
			}
		}
		t.active = false
	case *actor.Stopping:
		t.close()
		return
	case *actor.Restarting:
		t.spout = nil
		return
	default:
		return
	}
	t.counters.pending.Store(int64(t.pending.Len()))
	t.publish()
	t.out.flush(t.flushCause(dry))
	t.schedule(dry)
}

// flushCause tells the outbox what comes next for the task, dry if its
// round just found nothing to emit. It is asked before the next round is:
// that round's message would make the mailbox look busy.
func (t *spoutTask) flushCause(dry bool) flushCause {
	switch {
	case dry:
		return spoutDry
	case !t.scheduled && !t.canEmit():
		return noRound
	case t.idle():
		return inputDry
	}
	return moreInput
}

// open makes a fresh spout and opens it. A failure panics, so that the
// supervisor retries with backoff. Trees left pending by a crashed instance
// are failed to the new one, which may replay them by message id.
func (t *spoutTask) open() {
	s := newSpout(t.comp)
	if err := s.Open(t.tc, &spoutCollector{t: t}); err != nil {
		panic(fmt.Errorf("%s[%d] open: %w", t.comp.ID, t.id, err))
	}
	t.spout = s
	if t.active {
		if a, ok := s.(topology.Activator); ok {
			a.Activate()
		}
	}
	orphans := t.orphans
	t.orphans = nil
	for _, id := range orphans {
		t.local.failed++
		s.Fail(id)
	}
}

// canEmit reports whether NextTuple may be called now.
func (t *spoutTask) canEmit() bool {
	return t.active && t.spout != nil && !t.out.blocked() &&
		(t.rt.conf.DisableAcking || t.pending.Len() < t.rt.conf.MaxSpoutPending)
}

// schedule makes sure a NextTuple round follows when one may run: at once,
// or SpoutWait later when the last round was dry (found nothing to emit).
func (t *spoutTask) schedule(dry bool) {
	if t.scheduled || !t.canEmit() {
		return
	}
	t.scheduled = true
	if !dry {
		t.rt.send(t.self, spoutNext{})
		return
	}
	self, send := t.self, t.rt.send
	time.AfterFunc(t.rt.conf.SpoutWait, func() { send(self, spoutNext{}) })
}

// round calls NextTuple until the spout has nothing to emit, a batch's worth
// of calls was made, or flow control says stop, and reports whether it ran
// dry: a NextTuple call emitted nothing. Acks and other messages are handled
// between rounds.
func (t *spoutTask) round() (dry bool) {
	start := time.Now()
	t.now = start.UnixNano()
	for i := 0; i < t.rt.conf.BatchSize && t.canEmit(); i++ {
		t.emits = 0
		t.spout.NextTuple()
		t.ackUntracked()
		if t.emits == 0 {
			dry = true
			break
		}
	}
	t.local.busyNanos += int64(time.Since(start))
	return dry
}

// ackUntracked acks, after NextTuple returned, what was emitted with a
// message id while acking is disabled, as Storm does, and trees that have
// no edges (their stream has no subscriber).
func (t *spoutTask) ackUntracked() {
	for i, id := range t.acked {
		t.acked[i] = nil
		t.local.acked++
		t.spout.Ack(id)
	}
	t.acked = t.acked[:0]
}

func (t *spoutTask) emit(stream string, values topology.Values, direct int, msgID any) error {
	r, targets, err := t.targets(stream, values, direct)
	if err != nil {
		return err
	}
	t.emits++
	r.counted(len(targets))
	if msgID == nil || t.rt.conf.DisableAcking || len(targets) == 0 {
		for _, target := range targets {
			rep(t.out.slot(target)).Init(r.origin, values, nil)
		}
		if msgID != nil {
			t.acked = append(t.acked, msgID)
		}
		return nil
	}
	t.seq = (t.seq + 1) & rootSeqMask
	root := uint64(t.id)<<rootSeqBits | t.seq
	var val uint64
	for _, target := range targets {
		edge := t.ids.next()
		val ^= edge
		rep(t.out.slot(target)).InitAnchored(r.origin, values, root, edge)
	}
	p, _ := t.pending.Put(root)
	*p = pendingTree{msgID: msgID, emitted: t.now, val: val}
	return nil
}

// applyAcks applies the ack-tree operations of a batch from the bolts. An
// operation on a tree that is no longer pending (it failed, timed out, or
// belonged to a crashed instance) is ignored.
func (t *spoutTask) applyAcks(b *ackBatch) {
	now := time.Now().UnixNano()
	for _, op := range b.ops {
		p, ok := t.pending.Get(op.root)
		if !ok {
			continue
		}
		if op.kind == opFail {
			t.treeDone(op.root, p, true, now)
			continue
		}
		if p.val ^= op.val; p.val == 0 {
			t.treeDone(op.root, p, false, now)
		}
	}
	b.release()
}

// treeDone hands a finished tree, pending at pp, to the spout.
func (t *spoutTask) treeDone(root uint64, pp *pendingTree, failed bool, now int64) {
	p := *pp
	t.pending.Delete(root)
	if t.spout == nil {
		t.orphans = append(t.orphans, p.msgID)
		return
	}
	if failed {
		t.local.failed++
		t.spout.Fail(p.msgID)
		return
	}
	t.local.acked++
	t.local.completed++
	t.local.completeNanos += now - p.emitted
	t.spout.Ack(p.msgID)
}

// expire fails the trees older than the message timeout.
func (t *spoutTask) expire() {
	now := time.Now()
	deadline := now.Add(-t.rt.conf.MessageTimeout).UnixNano()
	var expired []uint64
	t.pending.Range(func(root uint64, p *pendingTree) bool {
		if p.emitted < deadline {
			expired = append(expired, root)
		}
		return true
	})
	for _, root := range expired {
		if p, ok := t.pending.Get(root); ok {
			t.treeDone(root, p, true, now.UnixNano())
		}
	}
}

// recoverCrash logs a panic in the spout and panics on, so that protoactor
// restarts the task with a fresh spout. Its pending trees are failed to the
// new instance.
func (t *spoutTask) recoverCrash() {
	r := recover()
	if r == nil {
		return
	}
	t.out.flush(crashed)
	t.pending.Range(func(_ uint64, p *pendingTree) bool {
		t.orphans = append(t.orphans, p.msgID)
		return true
	})
	t.pending = newIDMap[pendingTree]()
	t.acked = t.acked[:0]
	t.publish()
	t.noteCrash(fmt.Sprintf("spout crashed: %v", r))
	t.log.Error("spout crashed; restarting the task", "panic", fmt.Sprint(r))
	t.log.Debug("spout crash stack", "stack", string(debug.Stack()))
	if s := t.spout; s != nil {
		t.closeCrashed("spout", s.Close)
	}
	t.spout = nil
	panic(r)
}

func (t *spoutTask) close() {
	defer close(t.done)
	if t.spout == nil {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			t.log.Error("spout close panicked", "panic", fmt.Sprint(r))
		}
	}()
	t.out.flush(stopping)
	if err := t.spout.Close(); err != nil {
		t.log.Error("spout close failed", "err", err)
	}
}

// spoutCollector is the SpoutOutputCollector a spout gets in Open.
type spoutCollector struct{ t *spoutTask }

func (c *spoutCollector) Emit(values topology.Values, msgID any) error {
	return c.t.emit(topology.DefaultStream, values, -1, msgID)
}

func (c *spoutCollector) EmitTo(stream string, values topology.Values, msgID any) error {
	return c.t.emit(stream, values, -1, msgID)
}

func (c *spoutCollector) EmitDirect(task int, stream string, values topology.Values, msgID any) error {
	if task < 0 {
		task = 0
	}
	return c.t.emit(stream, values, task, msgID)
}

func (c *spoutCollector) ReportError(err error) { c.t.reportError(err) }
