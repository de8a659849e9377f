package actors

import (
	"fmt"

	"github.com/squall-stream/squall/proto"
	"github.com/squall-stream/squall/topology"
)

// The wire form of the runtime's messages, for tasks on other nodes. Inside
// one process messages travel as Go values and none of this runs.

// encodeTupleBatch turns a batch into its wire form. Values were checked at
// emit time, so an error here means a registered codec failed.
func encodeTupleBatch(topo string, dest int, b *tupleBatch) (*proto.TupleBatch, error) {
	out := &proto.TupleBatch{Topology: topo, DestTask: int32(dest), SenderTask: int32(b.from), Tuples: make([]*proto.Tuple, len(b.tuples))}
	for i := range b.tuples {
		t := &b.tuples[i]
		vals, err := proto.EncodeValues(t.Values())
		if err != nil {
			return nil, fmt.Errorf("tuple from %s[%d] on stream %q: %w", t.SourceComponent(), t.SourceTask(), t.SourceStream(), err)
		}
		wt := &proto.Tuple{Stream: t.SourceStream(), SourceTask: int32(t.SourceTask()), SourceComponent: t.SourceComponent(), Values: vals}
		for _, a := range t.Anchors() {
			wt.Anchors = append(wt.Anchors, &proto.Anchor{Root: a.Root, Edge: a.Edge})
		}
		out.Tuples[i] = wt
	}
	return out, nil
}

// originTable finds the shared Origin of decoded tuples by source task and
// stream, so a decoded batch allocates no Origin per tuple.
type originTable struct {
	topo    *topology.Topology
	origins map[originKey]*topology.Origin
}

type originKey struct {
	task   int
	stream string
}

func newOriginTable(topo *topology.Topology) *originTable {
	return &originTable{topo: topo, origins: make(map[originKey]*topology.Origin)}
}

// origin returns the Origin of a tuple from task on stream, checking that
// the task's component declares the stream.
func (o *originTable) origin(task int, stream string) (*topology.Origin, error) {
	k := originKey{task, stream}
	if org, ok := o.origins[k]; ok {
		return org, nil
	}
	comp := o.topo.TaskComponent(task)
	if comp == "" {
		return nil, fmt.Errorf("unknown source task %d", task)
	}
	def, ok := o.topo.Component(comp).Streams[stream]
	if !ok {
		return nil, fmt.Errorf("source %s[%d] declares no stream %q", comp, task, stream)
	}
	org := &topology.Origin{Source: topology.Source{Component: comp, Stream: stream, Task: task}, Fields: def.Fields}
	o.origins[k] = org
	return org, nil
}

// decodeTupleBatch turns a wire batch back into an in-process batch. The
// receiving task's origin table gives tuples their field names from the
// topology, not from the wire.
func decodeTupleBatch(w *proto.TupleBatch, origins *originTable) (*tupleBatch, error) {
	b := &tupleBatch{from: int(w.GetSenderTask()), tuples: make([]topology.Tuple, len(w.GetTuples()))}
	var anchors []topology.Anchor
	for i, wt := range w.GetTuples() {
		org, err := origins.origin(int(wt.GetSourceTask()), wt.GetStream())
		if err != nil {
			return nil, err
		}
		vals, err := proto.DecodeValues(wt.GetValues())
		if err != nil {
			return nil, fmt.Errorf("tuple from %s[%d] on stream %q: %w", org.Source.Component, org.Source.Task, org.Source.Stream, err)
		}
		if len(vals) != len(org.Fields) {
			return nil, fmt.Errorf("tuple from %s[%d] on stream %q: %d values for fields %v", org.Source.Component, org.Source.Task, org.Source.Stream, len(vals), org.Fields)
		}
		anchors = anchors[:0]
		for _, a := range wt.GetAnchors() {
			anchors = append(anchors, topology.Anchor{Root: a.GetRoot(), Edge: a.GetEdge()})
		}
		b.tuples[i].Init(org, vals, anchors)
	}
	return b, nil
}

var (
	toWireKind   = map[uint8]proto.AckOp_Kind{opInit: proto.AckOp_INIT, opAck: proto.AckOp_ACK, opFail: proto.AckOp_FAIL}
	fromWireKind = map[proto.AckOp_Kind]uint8{proto.AckOp_INIT: opInit, proto.AckOp_ACK: opAck, proto.AckOp_FAIL: opFail}
)

func encodeCredit(topo string, target int, c *credit) *proto.Credit {
	return &proto.Credit{Topology: topo, FromTask: int32(c.from), ToTask: int32(target), Batches: int32(c.n)}
}

func encodeAckBatch(topo string, acker int, b *ackBatch) *proto.AckBatch {
	out := &proto.AckBatch{Topology: topo, AckerTask: int32(acker), Ops: make([]*proto.AckOp, len(b.ops))}
	for i, op := range b.ops {
		out.Ops[i] = &proto.AckOp{Kind: toWireKind[op.kind], Root: op.root, Value: op.val, SpoutTask: op.spoutTask}
	}
	return out
}

func decodeAckBatch(w *proto.AckBatch) (*ackBatch, error) {
	b := getAckBatch()
	for _, op := range w.GetOps() {
		kind, ok := fromWireKind[op.GetKind()]
		if !ok {
			putAckBatch(b)
			return nil, fmt.Errorf("ack op of unknown kind %v", op.GetKind())
		}
		b.ops = append(b.ops, ackOp{kind: kind, root: op.GetRoot(), val: op.GetValue(), spoutTask: op.GetSpoutTask()})
	}
	return b, nil
}

func encodeTreeDoneBatch(topo string, spoutTask int, b *treeDoneBatch) *proto.TreeDoneBatch {
	out := &proto.TreeDoneBatch{Topology: topo, SpoutTask: int32(spoutTask), Done: make([]*proto.TreeDone, len(b.done))}
	for i, d := range b.done {
		out.Done[i] = &proto.TreeDone{Root: d.root, Failed: d.failed}
	}
	return out
}

func decodeTreeDoneBatch(w *proto.TreeDoneBatch) *treeDoneBatch {
	b := getTreeDoneBatch()
	for _, d := range w.GetDone() {
		b.done = append(b.done, treeDone{root: d.GetRoot(), failed: d.GetFailed()})
	}
	return b
}
