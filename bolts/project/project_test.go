package project

import (
	"slices"
	"strings"
	"testing"

	"github.com/squall-stream/squall/topology"
)

var parsed = topology.NewFields("orderId", "province", "amount")

type parseSpout struct{}

func (parseSpout) DeclareOutputFields(d *topology.OutputDeclarer)                      { d.Declare(parsed) }
func (parseSpout) Open(*topology.TopologyContext, topology.SpoutOutputCollector) error { return nil }
func (parseSpout) NextTuple()                                                          {}
func (parseSpout) Ack(any)                                                             {}
func (parseSpout) Fail(any)                                                            {}
func (parseSpout) Close() error                                                        { return nil }

// emitRecorder is an OutputCollector that keeps what was emitted and acked.
type emitRecorder struct {
	emitted []topology.Values
	anchors [][]*topology.Tuple
	acked   int
}

func (r *emitRecorder) Emit(v topology.Values, a ...*topology.Tuple) error {
	r.emitted, r.anchors = append(r.emitted, v), append(r.anchors, slices.Clone(a))
	return nil
}
func (r *emitRecorder) EmitTo(_ string, v topology.Values, a ...*topology.Tuple) error {
	return r.Emit(v, a...)
}
func (r *emitRecorder) EmitDirect(_ int, _ string, v topology.Values, a ...*topology.Tuple) error {
	return r.Emit(v, a...)
}
func (r *emitRecorder) Ack(*topology.Tuple)  { r.acked++ }
func (r *emitRecorder) Fail(*topology.Tuple) {}
func (r *emitRecorder) ReportError(error)    {}

func prepared(t *testing.T, fields ...string) (topology.Bolt, *emitRecorder, error) {
	t.Helper()
	b := topology.NewBuilder()
	b.SetSpout("parse", func() topology.Spout { return parseSpout{} }, 1)
	b.SetBolt("p", New(fields...), 1).ShuffleGrouping("parse")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	bolt, out := New(fields...)(), &emitRecorder{}
	return bolt, out, bolt.Prepare(topology.NewTopologyContext("t", topo, "p", topo.Tasks("p")[0], nil, nil), out)
}

func TestProjectKeepsFieldsInTheGivenOrder(t *testing.T) {
	bolt, out, err := prepared(t, "amount", "province")
	if err != nil {
		t.Fatal(err)
	}
	in := topology.NewTuple(topology.Source{Component: "parse"}, parsed, topology.Values{"O1", "浙江", int64(9900)})
	bolt.Execute(in)
	if len(out.emitted) != 1 || !slices.Equal(out.emitted[0], topology.Values{int64(9900), "浙江"}) {
		t.Fatalf("emitted %v, want [[9900 浙江]]", out.emitted)
	}
	if len(out.anchors[0]) != 1 || out.anchors[0][0] != in || out.acked != 1 {
		t.Fatalf("anchors %v, acked %d: want the output anchored to the input, and the input acked", out.anchors, out.acked)
	}
}

func TestProjectRefusesAMissingField(t *testing.T) {
	_, _, err := prepared(t, "province", "city")
	if err == nil || !strings.Contains(err.Error(), `"city"`) {
		t.Fatalf("Prepare: %v, want an error naming the missing field", err)
	}
}
