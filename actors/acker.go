package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/squall-stream/squall/proto"
)

// ackerEntry is the acker's state for one pending tree: Storm's ackVal, the
// spout task to tell, and whether the spout's init arrived (acks may come
// first, since they travel on other paths).
type ackerEntry struct {
	val       uint64
	spoutTask int32
	gen       uint32
	inited    bool
	failed    bool
}

// ackerState is one acker shard; it outlives actor restarts.
type ackerState struct {
	rt      *topologyRuntime
	index   int
	trees   *idMap[ackerEntry]
	gen     uint32 // advanced by each sweep; entries older than two are dropped
	out     map[int32]*treeDoneBatch
	mailbox actor.Mailbox
	flushAt time.Time
}

func newAckerState(rt *topologyRuntime, index int) *ackerState {
	return &ackerState{rt: rt, index: index, trees: newIDMap[ackerEntry](), out: make(map[int32]*treeDoneBatch)}
}

func (a *ackerState) mailboxProducer() actor.Mailbox {
	a.mailbox = actor.Unbounded()()
	return a.mailbox
}

// ackerActor is one incarnation of an acker.
type ackerActor struct{ s *ackerState }

func (a *ackerActor) Receive(c actor.Context) {
	s := a.s
	switch m := c.Message().(type) {
	case *ackBatch:
		for _, op := range m.ops {
			s.apply(op)
		}
		putAckBatch(m)
	case *proto.AckBatch:
		b, err := decodeAckBatch(m)
		if err != nil {
			s.rt.log.Error("refused an ack batch", "acker", s.index, "err", err)
			return
		}
		for _, op := range b.ops {
			s.apply(op)
		}
		putAckBatch(b)
	case sweep:
		s.sweep()
	case probe:
		m.reply <- s.trees.Len()
		return
	default:
		return
	}
	if s.mailbox.UserMessageCount() == 0 || time.Since(s.flushAt) >= s.rt.conf.BatchLinger {
		s.flush()
	}
}

func (a *ackerState) apply(op ackOp) {
	e, inserted := a.trees.Put(op.root)
	if inserted {
		e.gen = a.gen
	}
	switch op.kind {
	case opInit:
		e.val ^= op.val
		e.spoutTask = op.spoutTask
		e.inited = true
	case opAck:
		e.val ^= op.val
	case opFail:
		e.failed = true
	}
	switch {
	case e.inited && e.failed:
		a.done(op.root, e.spoutTask, true)
	case e.inited && e.val == 0:
		a.done(op.root, e.spoutTask, false)
	}
}

func (a *ackerState) done(root uint64, spoutTask int32, failed bool) {
	a.trees.Delete(root)
	b := a.out[spoutTask]
	if b == nil {
		b = getTreeDoneBatch()
		a.out[spoutTask] = b
	}
	b.done = append(b.done, treeDone{root: root, failed: failed})
	if len(b.done) >= a.rt.conf.BatchSize {
		a.ship(spoutTask)
	}
}

func (a *ackerState) ship(spoutTask int32) {
	a.rt.sendDone(int(spoutTask), a.out[spoutTask])
	delete(a.out, spoutTask)
}

func (a *ackerState) flush() {
	for task := range a.out {
		a.ship(task)
	}
	a.flushAt = time.Now()
}

// sweep drops trees older than two sweeps. The spout times trees out itself
// and fails them; this only bounds the acker's memory when a tree's last
// messages never come.
func (a *ackerState) sweep() {
	a.gen++
	var old []uint64
	a.trees.Range(func(root uint64, e *ackerEntry) bool {
		if a.gen-e.gen > 2 {
			old = append(old, root)
		}
		return true
	})
	for _, root := range old {
		a.trees.Delete(root)
	}
}

// probe asks an acker how many trees it holds; tests use it.
type probe struct{ reply chan int }
