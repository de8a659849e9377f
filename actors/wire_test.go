package actors

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/squall-stream/squall/internal/topologyinternal"
	"github.com/squall-stream/squall/proto"
	"github.com/squall-stream/squall/topology"
	gproto "google.golang.org/protobuf/proto"
)

func wireTopology(t testing.TB) *topology.Topology {
	t.Helper()
	b := topology.NewBuilder()
	b.SetSpout("spout", newLedger(0).Spout, 2)
	b.SetBolt("sink", func() topology.Bolt { return &swallower{} }, 2).FieldsGrouping("spout", "key")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

func TestTupleBatchSurvivesTheWire(t *testing.T) {
	topo := wireTopology(t)
	spoutTask := topo.Tasks("spout")[1]
	org := &topologyinternal.Origin{Component: "spout", Stream: topology.DefaultStream, Task: spoutTask, Fields: topology.NewFields("id", "key")}
	in := &tupleBatch{from: spoutTask, tuples: make([]topology.Tuple, 3)}
	rep(&in.tuples[0]).Init(org, topology.Values{int64(1), "北京"}, nil)
	rep(&in.tuples[1]).InitAnchored(org, topology.Values{int64(2), "k"}, 11, 22)
	rep(&in.tuples[2]).Init(org, topology.Values{int64(3), "k"}, []topologyinternal.Anchor{{Root: 1, Edge: 2}, {Root: 3, Edge: 4}})
	dest := topo.Tasks("sink")[0]

	frame, err := tupleFrame("orders", dest, in)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := gproto.Marshal(frame)
	if err != nil {
		t.Fatal(err)
	}
	var back proto.TupleFrame
	if err := gproto.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	name, gotDest, sender, err := frameHeader(back.GetBatch())
	if err != nil || name != "orders" || gotDest != dest || sender != spoutTask {
		t.Fatalf("header: %q %d %d %v", name, gotDest, sender, err)
	}
	out, err := decodeFrame(back.GetBatch(), sender, newOriginTable(topo, "sink"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if out.from != spoutTask || len(out.tuples) != 3 {
		t.Fatalf("decoded batch from %d with %d tuples", out.from, len(out.tuples))
	}
	for i := range in.tuples {
		a, b := &in.tuples[i], &out.tuples[i]
		if !reflect.DeepEqual(a.Values(), b.Values()) || a.Source() != b.Source() || !reflect.DeepEqual(a.Fields(), b.Fields()) {
			t.Errorf("tuple %d: %v became %v", i, a, b)
		}
		if len(rep(a).Anchors()) != len(rep(b).Anchors()) || (len(rep(a).Anchors()) > 0 && !reflect.DeepEqual(rep(a).Anchors(), rep(b).Anchors())) {
			t.Errorf("tuple %d anchors %v became %v", i, rep(a).Anchors(), rep(b).Anchors())
		}
	}

	// The frame holds a TupleBatch: the generated decoder reads it.
	var gen proto.TupleBatch
	if err := gproto.Unmarshal(back.GetBatch(), &gen); err != nil {
		t.Fatalf("generated decoder: %v", err)
	}
	if gen.GetTopology() != "orders" || len(gen.GetTuples()) != 3 || len(gen.GetTuples()[2].GetAnchors()) != 2 {
		t.Fatalf("generated decoder read %v", &gen)
	}
	if v, err := proto.DecodeValues(gen.GetTuples()[0].GetValues()); err != nil || v[1] != "北京" {
		t.Fatalf("generated decoder values: %v %v", v, err)
	}
}

// frameOf marshals a TupleBatch made with the generated code.
func frameOf(t *testing.T, b *proto.TupleBatch) []byte {
	t.Helper()
	raw, err := gproto.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestDecodingRefusesBatchesThatDoNotFitTheTopology(t *testing.T) {
	topo := wireTopology(t)
	origins := newOriginTable(topo, "sink")
	vals, _ := proto.EncodeValues([]any{int64(1), "k"})
	for name, c := range map[string]struct {
		w    *proto.TupleBatch
		want string
	}{
		"unknown task":   {&proto.TupleBatch{Tuples: []*proto.Tuple{{SourceTask: 99, Stream: "default", Values: vals}}}, "unknown source task 99"},
		"unknown stream": {&proto.TupleBatch{Tuples: []*proto.Tuple{{SourceTask: int32(topo.Tasks("spout")[0]), Stream: "nope", Values: vals}}}, `no stream "nope"`},
		"field count":    {&proto.TupleBatch{Tuples: []*proto.Tuple{{SourceTask: int32(topo.Tasks("spout")[0]), Stream: "default", Values: vals[:1]}}}, "1 values for fields"},
	} {
		sender := int(c.w.GetTuples()[0].GetSourceTask())
		if _, err := decodeFrame(frameOf(t, c.w), sender, origins, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", name, err, c.want)
		}
	}
	spout := topo.Tasks("spout")[0]
	if _, err := newOriginTable(topo, "spout").origin(spout, "default"); err == nil || !strings.Contains(err.Error(), `spout does not subscribe to stream "default" of spout`) {
		t.Errorf("a stream the receiver does not subscribe to: %v", err)
	}
	other := &proto.TupleBatch{Tuples: []*proto.Tuple{{SourceTask: int32(spout), Stream: "default", Values: vals}}}
	if _, err := decodeFrame(frameOf(t, other), topo.Tasks("spout")[1], origins, nil); err == nil || !strings.Contains(err.Error(), "in a batch from task") {
		t.Errorf("a tuple of another task than the batch's sender: %v", err)
	}
	if _, err := decodeFrame([]byte{0x22, 0xff}, 1, origins, nil); err == nil {
		t.Error("decoded a truncated frame")
	}
	if _, _, _, err := frameHeader([]byte{0xff}); err == nil {
		t.Error("read the header of garbage")
	}
}

func TestAckBatchesSurviveTheWire(t *testing.T) {
	in := &ackBatch{ops: []ackOp{{kind: opAck, root: 4, val: 5}, {kind: opFail, root: 6}}}
	out, err := decodeAckBatch(encodeAckBatch("t", 3, in))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in.ops, out.ops) {
		t.Fatalf("ack ops %v became %v", in.ops, out.ops)
	}
	if _, err := decodeAckBatch(&proto.AckBatch{Kinds: []proto.AckKind{proto.AckKind_ACK_ACK}, Roots: []uint64{1}}); err == nil {
		t.Error("an ack batch with columns of different lengths decoded")
	}
	if _, err := decodeAckBatch(&proto.AckBatch{Kinds: []proto.AckKind{proto.AckKind_ACK_KIND_UNSPECIFIED}, Roots: []uint64{1}, Values: []uint64{1}}); err == nil {
		t.Fatal("an ack op of no kind decoded")
	}
}

func BenchmarkTupleBatchWireRoundTrip(b *testing.B) {
	b.ReportAllocs()
	topo := wireTopology(b)
	task := topo.Tasks("spout")[0]
	org := &topologyinternal.Origin{Component: "spout", Stream: topology.DefaultStream, Task: task, Fields: topology.NewFields("id", "key")}
	in := &tupleBatch{from: task, tuples: make([]topology.Tuple, 256)}
	for i := range in.tuples {
		rep(&in.tuples[i]).InitAnchored(org, topology.Values{int64(i), "key-" + strconv.Itoa(i%1024)}, uint64(i+1), uint64(i+7))
	}
	origins := newOriginTable(topo, "sink")
	start := time.Now()
	for i := 0; i < b.N; i++ {
		f, err := tupleFrame("t", 1, in)
		if err != nil {
			b.Fatal(err)
		}
		raw, err := gproto.Marshal(f)
		if err != nil {
			b.Fatal(err)
		}
		var back proto.TupleFrame
		if err := gproto.Unmarshal(raw, &back); err != nil {
			b.Fatal(err)
		}
		if _, err := decodeFrame(back.GetBatch(), task, origins, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*256)/time.Since(start).Seconds(), "tuples/s")
}
