package actors

import (
	"time"

	"github.com/squall-stream/squall/topology"
)

// When batches leave a task, and who hands pooled batches back.
//
// Flushing. A task's outbox alone ships its batches. A full batch goes when
// the next tuple needs its room (slot), a full ack batch at once (ack): that
// is the batch size, not a choice. Whether batches that are not full go is
// decided in one place, outbox.flush, which tasks call with what just
// happened, a flushCause:
//
//   - moreInput: the task handled a message and more wait in its mailbox
//     (and for a spout, its next round is asked for at once). The batches
//     keep filling; they go only once the oldest item has waited
//     BatchLinger, so a busy task still ships within the linger.
//   - inputDry: the task's mailbox is empty. Nothing would come to fill the
//     batches or to ship them: they go now (DESIGN §4, "when the sender
//     goes idle").
//   - spoutDry: NextTuple emitted nothing; the next round is SpoutWait away.
//   - noRound: a spout task that may not emit (deactivated, at
//     MaxSpoutPending, or out of credit): no round is coming, and its
//     pending trees may be waiting for the very tuples buffered. Left there,
//     they would wait for the timeout, and Kill for ever.
//   - crashed: the instance panicked. What it emitted and acked before goes
//     before the fresh instance starts, so those trees go on.
//   - stopping: the task stops; its last output goes before Close or
//     Cleanup.
//
// Every message after which a task may hold output ends in one of the
// first four (the end of spoutActor.Receive, boltTask.afterMessage), so no
// path leaves output buffered with nothing coming to ship it; the other two
// come from recoverCrash, and from close or cleanup.
//
// Releasing. A batch from a pool (tupleBatch.pooled, and every ackBatch)
// goes back only through its release method, called by its last holder:
//
//   - a tuple batch for a task on another node: the sending task once it
//     has encoded it (topologyRuntime.sendBatch);
//   - a tuple batch for a bolt that keeps no input (ReleasesInput), made
//     here or decoded from another node: the bolt task once every tuple is
//     executed (boltTask.drain), which the bolt promised to keep none of;
//   - an ack batch: the spout task once it has applied it
//     (spoutTask.applyAcks), or the sending task once it has encoded it for
//     another node (topologyRuntime.sendAcks).
//
// Which batches are pooled is decided once per runtime
// (topologyRuntime.pooled: by target task, for the batches a task fills and
// for those a bolt decodes from another node) and travels as the batch's
// pooled flag, so the holders above call release on every batch and it
// skips those that are not pooled: a bolt that keeps its input keeps its
// batch, and a tick's batch is made apart. A batch something else still
// holds must never be released: it would be handed to two tasks at once. A
// pooled batch that never comes back costs only an allocation, so batches
// dropped on a rare path (a refused message from another node being
// decoded, a task stopping with batches queued) are left to the garbage
// collector.

// outbox batches a task's outgoing tuples per target task and its ack-tree
// operations per spout task, and enforces credit-based flow control.
//
// A target task may have at most maxPending of this task's batches that it
// has not executed yet. A full batch for a target out of credit waits here;
// while any batch waits, the task is blocked and takes no new input (a bolt)
// or stops calling NextTuple (a spout). Targets across an edge that closes a
// cycle never block, so a cycle cannot deadlock.
//
// An outbox belongs to one task and is used only from that task's goroutine.
type outbox struct {
	rt         *topologyRuntime
	self       int
	size       int
	maxPending int
	linger     time.Duration

	// open holds, by target task, the tuples of its next batch.
	//
	// For a target whose batches are recycled (pooled: one on another
	// node, or a bolt that keeps no input), open is the tuples of a pooled
	// batch, filling, shipped as it is.
	//
	// For any other target it is reused: shipping copies the tuples into a
	// batch of their exact number, since tuple slabs are most of what the
	// runtime allocates and a batch sized by guess (or grown by append)
	// wastes a third or more. Each grows to the largest batch its target
	// got, not to BatchSize, so a task with many targets holds little.
	open        [][]topology.Tuple
	filling     []*tupleBatch // by pooled target: the batch open belongs to
	dirty       []int         // targets whose open tuples may be non-empty
	outstanding []int         // by target task: batches sent, not yet credited
	waiting     [][]*tupleBatch
	nWaiting    int    // targets with waiting batches
	blocks      []bool // by target task: false across a cycle-closing edge
	firstAt     time.Time

	acks     []*ackBatch // by spout task; nil when empty
	ackDirty []int       // spout tasks with an ack batch
}

func newOutbox(rt *topologyRuntime, self int, blocks []bool) *outbox {
	n := rt.topo.NumTasks() + 1
	return &outbox{
		rt:          rt,
		self:        self,
		size:        rt.conf.BatchSize,
		maxPending:  rt.conf.MaxPendingBatches,
		linger:      rt.conf.BatchLinger,
		open:        make([][]topology.Tuple, n),
		filling:     make([]*tupleBatch, n),
		outstanding: make([]int, n),
		waiting:     make([][]*tupleBatch, n),
		blocks:      blocks,
		acks:        make([]*ackBatch, n),
	}
}

// slot returns the next free tuple of the batch for a target task, for the
// caller to fill in place with Init or InitAnchored; the pointer is valid
// until the next slot call. A full batch is shipped first.
func (o *outbox) slot(target int) *topology.Tuple {
	open := o.open[target]
	if len(open) == o.size {
		o.ship(target)
		open = o.open[target]
	}
	if len(open) == 0 {
		o.dirty = append(o.dirty, target)
		if o.firstAt.IsZero() {
			o.firstAt = time.Now()
		}
		if o.rt.pooled[target] && o.filling[target] == nil {
			o.filling[target] = getTupleBatch(o.size)
			open = o.filling[target].tuples
		}
	}
	open = append(open, topology.Tuple{})
	o.open[target] = open
	return &open[len(open)-1]
}

// ship sends the open tuples of a target as a batch, or queues the batch
// while the target is out of credit.
func (o *outbox) ship(target int) {
	open := o.open[target]
	var b *tupleBatch
	if o.rt.pooled[target] {
		b, o.filling[target], o.open[target] = o.filling[target], nil, nil
		b.tuples = open
	} else {
		b = &tupleBatch{tuples: make([]topology.Tuple, len(open))}
		copy(b.tuples, open)
		clear(open) // what the tuples point to belongs to the batch now
		o.open[target] = open[:0]
	}
	b.from = o.self
	if len(o.waiting[target]) > 0 || (o.blocks[target] && o.outstanding[target] >= o.maxPending) {
		if len(o.waiting[target]) == 0 {
			o.nWaiting++
		}
		o.waiting[target] = append(o.waiting[target], b)
		return
	}
	o.send(target, b)
}

func (o *outbox) send(target int, b *tupleBatch) {
	o.outstanding[target]++
	o.rt.sendBatch(target, b)
}

// credit records that target executed n of this task's batches and sends
// what was waiting for that credit. Credit beyond the outstanding batches
// (from a task on another node whose batches were sent before a rebalance
// restarted this one) is ignored: it would let this task send without bound.
func (o *outbox) credit(target, n int) {
	o.outstanding[target] -= min(n, o.outstanding[target])
	w := o.waiting[target]
	for len(w) > 0 && o.outstanding[target] < o.maxPending {
		o.send(target, w[0])
		w[0] = nil
		w = w[1:]
	}
	if len(w) == 0 {
		if len(o.waiting[target]) > 0 {
			o.nWaiting--
		}
		w = nil
	}
	o.waiting[target] = w
}

// blocked reports whether a batch waits for credit: the task must not take
// more input until it clears.
func (o *outbox) blocked() bool { return o.nWaiting > 0 }

// ack queues an ack-tree operation for the spout task that keeps its tree.
// A root naming no task came in a corrupt batch from another node; the
// operation is dropped and its tree, if there is one, times out.
func (o *outbox) ack(op ackOp) {
	task := spoutTaskOf(op.root)
	if task <= 0 || task >= len(o.acks) {
		return
	}
	b := o.acks[task]
	if b == nil {
		b = getAckBatch()
		o.acks[task] = b
		o.ackDirty = append(o.ackDirty, task)
		if o.firstAt.IsZero() {
			o.firstAt = time.Now()
		}
	}
	b.ops = append(b.ops, op)
	if len(b.ops) >= o.size {
		o.shipAcks(task)
	}
}

func (o *outbox) shipAcks(task int) {
	o.rt.sendAcks(task, o.acks[task])
	o.acks[task] = nil
}

// A flushCause is what just happened to a task when it offers its outbox
// to ship the batches it is filling; see the top of this file for each.
type flushCause uint8

const (
	moreInput flushCause = iota
	inputDry
	spoutDry
	noRound
	crashed
	stopping
)

// flush decides whether the batches being filled, full or not, go now: on
// moreInput only once the oldest buffered item has waited BatchLinger, on
// any other cause at once. It is the only place that ships batches that
// are not full.
func (o *outbox) flush(why flushCause) {
	if why == moreInput && (o.firstAt.IsZero() || time.Since(o.firstAt) < o.linger) {
		return
	}
	for _, target := range o.dirty {
		if len(o.open[target]) > 0 {
			o.ship(target)
		}
	}
	o.dirty = o.dirty[:0]
	for _, task := range o.ackDirty {
		if o.acks[task] != nil {
			o.shipAcks(task)
		}
	}
	o.ackDirty = o.ackDirty[:0]
	o.firstAt = time.Time{}
}
