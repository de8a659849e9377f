package actors

import (
	"errors"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/squall-stream/squall/proto"
)

// What a task accepts from other nodes. The node's transport (package
// cluster) checks who a peer is and names it as the sender of everything it
// delivers (PeerPID); here a message is checked against the placement: a
// peer speaks only for the tasks placed on it, to tasks of this topology
// that those tasks feed. A refused message is dropped and logged (once per
// peer and reason a minute); what it carried times out and replays.

// peerActorID is the actor id of the sender PIDs the transport gives
// messages from other nodes; no actor has it.
const peerActorID = "$squall-peer"

// PeerPID is the sender a node's transport gives every message from the
// peer at addr, once it has checked that the peer is the node at addr. The
// runtime accepts messages from other nodes only with such a sender.
func PeerPID(addr string) *actor.PID { return actor.NewPID(addr, peerActorID) }

// peerOf returns the checked address of the node that sent the current
// message, or "" when no transport vouched for it.
func peerOf(c actor.Context) string {
	if s := c.Sender(); s != nil && s.Id == peerActorID {
		return s.Address
	}
	return ""
}

// errNoPeer means a message from another node that no transport vouched for.
var errNoPeer = errors.New("no checked sender: remote messages must come through squall's transport (cluster.StartTransport)")

// placedAt reports whether task runs on the node at peer.
func (rt *topologyRuntime) placedAt(task int, peer string) bool {
	return task > 0 && task < len(rt.pids) && rt.remote[task] && rt.pids[task].Address == peer
}

// hasPeer reports whether any task of the topology runs on the node at peer.
func (rt *topologyRuntime) hasPeer(peer string) bool { return rt.peers[peer] }

// refuse notes a refused message from peer as the task's error and logs it.
// why is one of a few fixed phrases: the log keys on it.
func (e *executor) refuse(peer, why string, err error) {
	e.noteError(fmt.Errorf("refused from %s: %s: %w", peer, why, err))
	e.rt.refusals.Refuse(peer, why, "component", e.comp.ID, "task", e.id, "err", err)
}

// wireBatch decodes a tuple batch from a task on another node, refusing one
// that is not for this topology and task, that comes from a task not placed
// on its sender's node, or whose tuples do not fit the topology.
func (e *executor) wireBatch(peer string, f *proto.TupleFrame) (*tupleBatch, bool) {
	topo, dest, sender, err := frameHeader(f.GetBatch())
	switch {
	case err != nil:
	case peer == "":
		err = errNoPeer
	case topo != e.rt.conf.Name || dest != e.id:
		err = fmt.Errorf("a batch for task %d of topology %q", dest, topo)
	case !e.rt.placedAt(sender, peer):
		err = fmt.Errorf("a batch from task %d, which does not run there", sender)
	}
	if err != nil {
		e.refuse(peer, "tuple batch", err)
		return nil, false
	}
	if e.origins == nil {
		e.origins = newOriginTable(e.rt.topo, e.comp.ID)
	}
	var into *tupleBatch
	if e.rt.pooled[e.id] {
		into = getTupleBatch(e.rt.conf.BatchSize)
	}
	b, err := decodeFrame(f.GetBatch(), sender, e.origins, into)
	if err != nil {
		e.refuse(peer, "tuple batch that does not fit the topology", fmt.Errorf("from task %d: %w", sender, err))
		return nil, false
	}
	e.counters.queued.Add(int64(len(b.tuples)))
	return b, true
}

// wireCredit checks a credit from a task on another node: the receiver of
// this task's batches, placed on the sender's node, returning at least one
// batch. A credit for more batches than are outstanding (one sent before a
// rebalance restarted this task) is applied up to what is outstanding by
// the outbox.
func (e *executor) wireCredit(peer string, m *proto.Credit) {
	from, n := int(m.GetFromTask()), int(m.GetBatches())
	var err error
	switch {
	case peer == "":
		err = errNoPeer
	case m.GetTopology() != e.rt.conf.Name || int(m.GetToTask()) != e.id:
		err = fmt.Errorf("a credit for task %d of topology %q", m.GetToTask(), m.GetTopology())
	case !e.rt.placedAt(from, peer):
		err = fmt.Errorf("a credit from task %d, which does not run there", from)
	case n < 1:
		err = fmt.Errorf("a credit of %d batches", n)
	}
	if err != nil {
		e.refuse(peer, "credit", err)
		return
	}
	e.out.credit(from, n)
}

// wireAcks decodes an ack batch from bolts on another node: for this
// topology and spout task, from a node that runs some of its tasks.
func (t *spoutTask) wireAcks(peer string, m *proto.AckBatch) (*ackBatch, bool) {
	var err error
	switch {
	case peer == "":
		err = errNoPeer
	case m.GetTopology() != t.rt.conf.Name || int(m.GetSpoutTask()) != t.id:
		err = fmt.Errorf("an ack batch for task %d of topology %q", m.GetSpoutTask(), m.GetTopology())
	case !t.rt.hasPeer(peer):
		err = errors.New("an ack batch from a node that runs none of the topology's tasks")
	}
	if err != nil {
		t.refuse(peer, "ack batch", err)
		return nil, false
	}
	b, err := decodeAckBatch(m)
	if err != nil {
		t.refuse(peer, "ack batch", err)
		return nil, false
	}
	return b, true
}
