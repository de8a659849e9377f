package actors

import (
	"errors"
	"fmt"
	"slices"

	"github.com/squall-stream/squall/internal/topologyinternal"
	"github.com/squall-stream/squall/proto"
	"github.com/squall-stream/squall/topology"
	"google.golang.org/protobuf/encoding/protowire"
)

// The wire form of the runtime's messages, for tasks on other nodes. Inside
// one process messages travel as Go values and none of this runs.

// Field numbers of TupleBatch, Tuple and Anchor, as in squall.proto.
const (
	batchTopology   protowire.Number = 1
	batchDestTask   protowire.Number = 2
	batchSenderTask protowire.Number = 3
	batchTuples     protowire.Number = 4
	tupleStream     protowire.Number = 1
	tupleSourceTask protowire.Number = 2
	tupleSourceComp protowire.Number = 3
	tupleAnchors    protowire.Number = 4
	tupleValues     protowire.Number = 5
	anchorRoot      protowire.Number = 1
	anchorEdge      protowire.Number = 2
)

// tupleFrame turns a batch into a TupleFrame: the TupleBatch wire format
// written directly, one tuple and value at a time, without a message object
// per tuple. Values were checked at emit time, so an error here means a
// registered codec failed.
func tupleFrame(topo string, dest int, b *tupleBatch) (*proto.TupleFrame, error) {
	out := make([]byte, 0, 64)
	out = protowire.AppendTag(out, batchTopology, protowire.BytesType)
	out = protowire.AppendString(out, topo)
	out = protowire.AppendTag(out, batchDestTask, protowire.VarintType)
	out = protowire.AppendVarint(out, uint64(dest))
	out = protowire.AppendTag(out, batchSenderTask, protowire.VarintType)
	out = protowire.AppendVarint(out, uint64(b.from))
	var tup, val []byte
	for i := range b.tuples {
		t := &b.tuples[i]
		tup = protowire.AppendTag(tup[:0], tupleStream, protowire.BytesType)
		tup = protowire.AppendString(tup, t.SourceStream())
		tup = protowire.AppendTag(tup, tupleSourceTask, protowire.VarintType)
		tup = protowire.AppendVarint(tup, uint64(t.SourceTask()))
		tup = protowire.AppendTag(tup, tupleSourceComp, protowire.BytesType)
		tup = protowire.AppendString(tup, t.SourceComponent())
		for _, a := range rep(t).Anchors() {
			tup = protowire.AppendTag(tup, tupleAnchors, protowire.BytesType)
			tup = protowire.AppendVarint(tup, 18) // two tagged fixed64s
			tup = protowire.AppendTag(tup, anchorRoot, protowire.Fixed64Type)
			tup = protowire.AppendFixed64(tup, a.Root)
			tup = protowire.AppendTag(tup, anchorEdge, protowire.Fixed64Type)
			tup = protowire.AppendFixed64(tup, a.Edge)
		}
		for _, v := range t.Values() {
			var err error
			if val, err = proto.AppendValue(val[:0], v); err != nil {
				return nil, fmt.Errorf("tuple from %s[%d] on stream %q: %w", t.SourceComponent(), t.SourceTask(), t.SourceStream(), err)
			}
			tup = protowire.AppendTag(tup, tupleValues, protowire.BytesType)
			tup = protowire.AppendBytes(tup, val)
		}
		if i == 0 {
			// Tuples of a batch are alike: size the frame by the first.
			out = slices.Grow(out, (len(tup)+8)*len(b.tuples))
		}
		out = protowire.AppendTag(out, batchTuples, protowire.BytesType)
		out = protowire.AppendBytes(out, tup)
	}
	return &proto.TupleFrame{Batch: out}, nil
}

// originTable finds the shared Origin of decoded tuples by source task and
// stream, so a decoded batch allocates no Origin per tuple.
type originTable struct {
	topo    *topology.Topology
	self    string // the receiving component
	origins map[originKey]*topologyinternal.Origin
}

type originKey struct {
	task   int
	stream string
}

func newOriginTable(topo *topology.Topology, self string) *originTable {
	return &originTable{topo: topo, self: self, origins: make(map[originKey]*topologyinternal.Origin)}
}

// origin returns the Origin of a tuple from task on stream, checking that
// the task's component declares the stream and the receiving component
// subscribes to it.
func (o *originTable) origin(task int, stream string) (*topologyinternal.Origin, error) {
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
	if !slices.ContainsFunc(o.topo.Component(o.self).Inputs, func(in topology.Input) bool {
		return in.Component == comp && in.Stream == stream
	}) {
		return nil, fmt.Errorf("%s does not subscribe to stream %q of %s", o.self, stream, comp)
	}
	org := &topologyinternal.Origin{Component: comp, Stream: stream, Task: task, Fields: def.Fields}
	o.origins[k] = org
	return org, nil
}

// errBadFrame means bytes that are not a TupleBatch.
var errBadFrame = errors.New("malformed tuple batch")

// frameHeader reads a TupleFrame's topology and task ids, so a batch for
// another topology or task is refused before its tuples are read.
func frameHeader(data []byte) (topo string, dest, sender int, err error) {
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return "", 0, 0, errBadFrame
		}
		data = data[n:]
		switch {
		case num == batchTopology && typ == protowire.BytesType:
			s, m := protowire.ConsumeString(data)
			topo, n = s, m
		case num == batchDestTask && typ == protowire.VarintType:
			v, m := protowire.ConsumeVarint(data)
			dest, n = int(int32(v)), m
		case num == batchSenderTask && typ == protowire.VarintType:
			v, m := protowire.ConsumeVarint(data)
			sender, n = int(int32(v)), m
		default:
			n = protowire.ConsumeFieldValue(num, typ, data)
		}
		if n < 0 {
			return "", 0, 0, errBadFrame
		}
		data = data[n:]
	}
	return topo, dest, sender, nil
}

// decodeFrame reads a TupleFrame's tuples into an in-process batch: into,
// when it is not nil (a pooled batch), else a new one. The receiving task's
// origin table gives tuples their field names from the topology, not from
// the wire.
func decodeFrame(data []byte, sender int, origins *originTable, into *tupleBatch) (*tupleBatch, error) {
	// Size the batch and one backing array for all its values up front:
	// growing them by append was half of what decoding allocated.
	count := countTuples(data)
	b := into
	if b == nil {
		b = &tupleBatch{}
	}
	if cap(b.tuples) < count {
		b.tuples = make([]topology.Tuple, 0, count)
	}
	b.from = sender
	var arena, vals []any
	var anchors []topologyinternal.Anchor
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return nil, errBadFrame
		}
		data = data[n:]
		if num != batchTuples || typ != protowire.BytesType {
			if n = protowire.ConsumeFieldValue(num, typ, data); n < 0 {
				return nil, errBadFrame
			}
			data = data[n:]
			continue
		}
		tup, m := protowire.ConsumeBytes(data)
		if m < 0 {
			return nil, errBadFrame
		}
		data = data[m:]
		var stream string
		task := 0
		start := len(arena)
		anchors = anchors[:0]
		for len(tup) > 0 {
			num, typ, n := protowire.ConsumeTag(tup)
			if n < 0 {
				return nil, errBadFrame
			}
			tup = tup[n:]
			switch {
			case num == tupleStream && typ == protowire.BytesType:
				stream, n = protowire.ConsumeString(tup)
			case num == tupleSourceTask && typ == protowire.VarintType:
				var v uint64
				v, n = protowire.ConsumeVarint(tup)
				task = int(int32(v))
			case num == tupleAnchors && typ == protowire.BytesType:
				var ab []byte
				if ab, n = protowire.ConsumeBytes(tup); n >= 0 {
					a, err := consumeAnchor(ab)
					if err != nil {
						return nil, err
					}
					anchors = append(anchors, a)
				}
			case num == tupleValues && typ == protowire.BytesType:
				var vb []byte
				if vb, n = protowire.ConsumeBytes(tup); n >= 0 {
					v, err := proto.ConsumeValue(vb)
					if err != nil {
						return nil, fmt.Errorf("tuple from task %d on stream %q: %w", task, stream, err)
					}
					if arena == nil {
						arena = make([]any, 0, 4*count)
					}
					arena = append(arena, v)
				}
			default:
				n = protowire.ConsumeFieldValue(num, typ, tup)
			}
			if n < 0 {
				return nil, errBadFrame
			}
			tup = tup[n:]
		}
		// A full cap, so that a bolt appending to a tuple's values cannot
		// write over the next tuple's.
		vals = arena[start:len(arena):len(arena)]
		if task != sender {
			return nil, fmt.Errorf("a tuple from task %d in a batch from task %d", task, sender)
		}
		org, err := origins.origin(task, stream)
		if err != nil {
			return nil, err
		}
		if len(vals) != len(org.Fields) {
			return nil, fmt.Errorf("tuple from %s[%d] on stream %q: %d values for fields %v", org.Component, task, stream, len(vals), org.Fields)
		}
		b.tuples = append(b.tuples, topology.Tuple{})
		rep(&b.tuples[len(b.tuples)-1]).Init(org, vals, anchors)
	}
	return b, nil
}

// countTuples counts the tuples of a frame (for sizing; a malformed frame
// is caught by the decoding proper).
func countTuples(data []byte) int {
	count := 0
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return count
		}
		m := protowire.ConsumeFieldValue(num, typ, data[n:])
		if m < 0 {
			return count
		}
		if num == batchTuples && typ == protowire.BytesType {
			count++
		}
		data = data[n+m:]
	}
	return count
}

func consumeAnchor(b []byte) (topologyinternal.Anchor, error) {
	var a topologyinternal.Anchor
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || typ != protowire.Fixed64Type {
			return a, errBadFrame
		}
		v, m := protowire.ConsumeFixed64(b[n:])
		if m < 0 {
			return a, errBadFrame
		}
		switch num {
		case anchorRoot:
			a.Root = v
		case anchorEdge:
			a.Edge = v
		}
		b = b[n+m:]
	}
	return a, nil
}

var (
	toWireKind   = [...]proto.AckKind{opAck: proto.AckKind_ACK_ACK, opFail: proto.AckKind_ACK_FAIL}
	fromWireKind = map[proto.AckKind]uint8{proto.AckKind_ACK_ACK: opAck, proto.AckKind_ACK_FAIL: opFail}
)

func encodeCredit(topo string, target int, c *credit) *proto.Credit {
	return &proto.Credit{Topology: topo, FromTask: int32(c.from), ToTask: int32(target), Batches: int32(c.n)}
}

func encodeAckBatch(topo string, spoutTask int, b *ackBatch) *proto.AckBatch {
	n := len(b.ops)
	out := &proto.AckBatch{Topology: topo, SpoutTask: int32(spoutTask),
		Kinds: make([]proto.AckKind, n), Roots: make([]uint64, n), Values: make([]uint64, n)}
	for i, op := range b.ops {
		out.Kinds[i], out.Roots[i], out.Values[i] = toWireKind[op.kind], op.root, op.val
	}
	return out
}

func decodeAckBatch(w *proto.AckBatch) (*ackBatch, error) {
	kinds, roots, vals := w.GetKinds(), w.GetRoots(), w.GetValues()
	if len(roots) != len(kinds) || len(vals) != len(kinds) {
		return nil, fmt.Errorf("ack batch with %d kinds, %d roots, %d values", len(kinds), len(roots), len(vals))
	}
	b := getAckBatch()
	for i, k := range kinds {
		kind, ok := fromWireKind[k]
		if !ok {
			return nil, fmt.Errorf("ack op of unknown kind %v", k)
		}
		b.ops = append(b.ops, ackOp{kind: kind, root: roots[i], val: vals[i]})
	}
	return b, nil
}
