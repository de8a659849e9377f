package actors

import (
	"sync"

	"github.com/squall-stream/squall/topology"
)

// In-process messages between the actors of one topology. Tuples travel as Go
// values; the proto package has their wire form for crossing nodes.

// tupleBatch carries up to Config.BatchSize tuples from one task to another.
// Tuples are held by value: one allocation per batch, not per tuple. A bolt
// that keeps a tuple keeps its batch alive.
type tupleBatch struct {
	from   int // sending task; 0 for the runtime's own tuples (ticks)
	tuples []topology.Tuple
	// pooled marks a batch of tupleBatchPool, which its last holder
	// returns: the receiving task once a bolt that keeps no input
	// (releasesInput) has executed it, or the sender once it
	// has encoded it for another node.
	pooled bool
}

// credit returns flow-control credit: the receiver executed n batches of the
// sender's.
type credit struct {
	from int // the receiving task that executed the batches
	n    int
}

// Kinds of ack-tree operations.
const (
	opAck  uint8 = iota + 1 // a tuple of the tree was acked
	opFail                  // a tuple of the tree failed
)

type ackOp struct {
	root uint64
	val  uint64
	kind uint8
}

// ackBatch carries ack-tree operations to the spout task that keeps their
// trees.
type ackBatch struct{ ops []ackOp }

// spoutNext asks a spout task to call NextTuple again.
type spoutNext struct{}

// tick asks a bolt task to execute a tick tuple.
type tick struct{}

// sweep asks a spout task to fail its trees older than the message timeout.
type sweep struct{}

// activate and deactivate switch a spout task's NextTuple calls on and off.
type (
	activate   struct{}
	deactivate struct{}
)

// spawnTasks asks the topology supervisor to spawn the task actors.
type spawnTasks struct {
	specs []taskSpawn
	reply chan error
}

// Ack batches are recycled: their receivers never keep them, and they are
// the runtime's largest allocations after the tuples.
var ackBatchPool = sync.Pool{New: func() any { return &ackBatch{ops: make([]ackOp, 0, 64)} }}

func getAckBatch() *ackBatch { return ackBatchPool.Get().(*ackBatch) }

func putAckBatch(b *ackBatch) {
	b.ops = b.ops[:0]
	ackBatchPool.Put(b)
}

// tupleBatchPool recycles tuple batches: the tuple slabs are most of what a
// topology allocates, and a garbage collection that runs often also slows
// every pointer write while it marks.
var tupleBatchPool sync.Pool

// newBatchCap bounds the room a new pooled batch is made with. A batch
// grows past it as its sender fills it (and keeps that room in the pool),
// so a large BatchSize costs memory only where batches do fill: a task
// holds a filling batch for each of its targets.
const newBatchCap = 256

// getTupleBatch returns an empty pooled batch, with room for size tuples
// when it is new.
func getTupleBatch(size int) *tupleBatch {
	if b, ok := tupleBatchPool.Get().(*tupleBatch); ok {
		return b
	}
	return &tupleBatch{tuples: make([]topology.Tuple, 0, min(size, newBatchCap)), pooled: true}
}

// putTupleBatch returns a pooled batch; what its tuples point to is let go.
func putTupleBatch(b *tupleBatch) {
	clear(b.tuples)
	b.tuples = b.tuples[:0]
	tupleBatchPool.Put(b)
}
