package actors

import (
	"time"

	"github.com/squall-stream/squall/topology"
)

// outbox batches a task's outgoing tuples per target task and its ack-tree
// operations per acker, and enforces credit-based flow control.
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

	bufs        []*tupleBatch // by target task; nil when empty
	nextCap     []int         // by target task: the capacity of its next batch
	remote      []bool        // by target task: it runs on another node
	dirty       []int         // targets whose buffer may be non-empty
	outstanding []int         // by target task: batches sent, not yet credited
	waiting     [][]*tupleBatch
	nWaiting    int    // targets with waiting batches
	blocks      []bool // by target task: false across a cycle-closing edge
	firstAt     time.Time

	acks     []*ackBatch // by acker; nil when empty
	ackDirty bool
}

// minBatchCap is the smallest batch made: a sender that flushes single
// tuples when idle grows to full batches in a few steps under load.
const minBatchCap = 8

func newOutbox(rt *topologyRuntime, self int, blocks []bool) *outbox {
	n := rt.topo.NumTasks() + 1
	remote := make([]bool, n)
	for task := 1; task < n; task++ {
		remote[task] = !rt.local(task)
	}
	return &outbox{
		remote:      remote,
		rt:          rt,
		self:        self,
		size:        rt.conf.BatchSize,
		maxPending:  rt.conf.MaxPendingBatches,
		linger:      rt.conf.BatchLinger,
		bufs:        make([]*tupleBatch, n),
		nextCap:     make([]int, n),
		outstanding: make([]int, n),
		waiting:     make([][]*tupleBatch, n),
		blocks:      blocks,
		acks:        make([]*ackBatch, len(rt.ackers)),
	}
}

// slot returns the next free tuple of the batch for a target task, for the
// caller to fill in place; the pointer is valid until the next slot call. A
// full batch is shipped first.
//
// Tuple slabs are most of what the runtime allocates, and growing one by
// append allocates and copies it about twice over. So a batch to a task in
// this process never grows: it is shipped when full at its capacity, and
// the next one is made from what the last one held (see ship), which stays
// steady under a steady load. A batch to another node grows up to
// BatchSize instead: a frame on the wire costs far more than a local send,
// and flow control counts batches, so small ones would throttle the link.
func (o *outbox) slot(target int) *topology.Tuple {
	b := o.bufs[target]
	if b != nil && (len(b.tuples) == o.size || len(b.tuples) == cap(b.tuples) && !o.remote[target]) {
		o.ship(target)
		b = nil
	}
	if b == nil {
		b = &tupleBatch{from: o.self, tuples: make([]topology.Tuple, 0, max(o.nextCap[target], minBatchCap))}
		o.bufs[target] = b
		o.dirty = append(o.dirty, target)
		if o.firstAt.IsZero() {
			o.firstAt = time.Now()
		}
	}
	b.tuples = append(b.tuples, topology.Tuple{})
	return &b.tuples[len(b.tuples)-1]
}

func (o *outbox) ship(target int) {
	b := o.bufs[target]
	o.bufs[target] = nil
	if n := len(b.tuples); n == cap(b.tuples) {
		o.nextCap[target] = min(2*n, o.size) // filled up: the load grew
	} else {
		o.nextCap[target] = min(n+n/2, o.size) // flushed part full: room for some growth
	}
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
// what was waiting for that credit.
func (o *outbox) credit(target, n int) {
	o.outstanding[target] -= n
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

// ack queues an ack-tree operation for the acker of its root.
func (o *outbox) ack(op ackOp) {
	i := o.rt.ackerFor(op.root)
	b := o.acks[i]
	if b == nil {
		b = getAckBatch()
		o.acks[i] = b
	}
	b.ops = append(b.ops, op)
	o.ackDirty = true
	if o.firstAt.IsZero() {
		o.firstAt = time.Now()
	}
	if len(b.ops) >= o.size {
		o.shipAcks(i)
	}
}

func (o *outbox) shipAcks(i int) {
	o.rt.sendAcks(i, o.acks[i])
	o.acks[i] = nil
}

// flush ships every partly filled batch.
func (o *outbox) flush() {
	for _, target := range o.dirty {
		if o.bufs[target] != nil {
			o.ship(target)
		}
	}
	o.dirty = o.dirty[:0]
	if o.ackDirty {
		for i, b := range o.acks {
			if b != nil {
				o.shipAcks(i)
			}
		}
		o.ackDirty = false
	}
	o.firstAt = time.Time{}
}

// flushIfLingered flushes when the oldest buffered item has waited longer
// than the linger time.
func (o *outbox) flushIfLingered() {
	if !o.firstAt.IsZero() && time.Since(o.firstAt) >= o.linger {
		o.flush()
	}
}
