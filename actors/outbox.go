package actors

import (
	"time"

	"github.com/squall-stream/squall/topology"
)

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

// flush ships every partly filled batch.
func (o *outbox) flush() {
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

// flushIfLingered flushes when the oldest buffered item has waited longer
// than the linger time.
func (o *outbox) flushIfLingered() {
	if !o.firstAt.IsZero() && time.Since(o.firstAt) >= o.linger {
		o.flush()
	}
}
