package filter

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/squall-stream/squall/actors"
	"github.com/squall-stream/squall/topology"
)

var orderFields = topology.NewFields("n", "province")

// orderSpout emits n tuples (n, province) with n as message id.
type orderSpout struct {
	out   topology.SpoutOutputCollector
	next  int
	total int
	acked *sync.Map
}

func (s *orderSpout) DeclareOutputFields(d *topology.OutputDeclarer) { d.Declare(orderFields) }
func (s *orderSpout) Open(_ *topology.TopologyContext, out topology.SpoutOutputCollector) error {
	s.out = out
	return nil
}
func (s *orderSpout) NextTuple() {
	if s.next < s.total {
		province := []string{"浙江", "广东"}[s.next%2]
		_ = s.out.Emit(topology.Values{int64(s.next), province}, s.next)
		s.next++
	}
}
func (s *orderSpout) Ack(id any)   { s.acked.Store(id, true) }
func (s *orderSpout) Fail(any)     {}
func (s *orderSpout) Close() error { return nil }

// collectBolt records the n of every tuple it gets.
type collectBolt struct {
	mu  *sync.Mutex
	got *[]int64
}

func (b collectBolt) DeclareOutputFields(*topology.OutputDeclarer) {}
func (b collectBolt) Prepare(*topology.TopologyContext) error      { return nil }
func (b collectBolt) Cleanup() error                               { return nil }
func (b collectBolt) Execute(t *topology.Tuple, _ topology.BasicOutputCollector) error {
	b.mu.Lock()
	*b.got = append(*b.got, t.Int64ByField("n"))
	b.mu.Unlock()
	return nil
}

func TestFilterPassesWhatItKeepsAndAcksEverything(t *testing.T) {
	const total = 1000
	var acked sync.Map
	var mu sync.Mutex
	var got []int64
	b := topology.NewBuilder()
	b.SetSpout("orders", func() topology.Spout { return &orderSpout{total: total, acked: &acked} }, 1)
	b.SetBolt("zhejiang", New(orderFields, func(t *topology.Tuple) (bool, error) {
		return t.StringByField("province") == "浙江", nil
	}), 2).ShuffleGrouping("orders")
	b.SetBolt("collect", topology.Basic(func() topology.BasicBolt { return collectBolt{mu: &mu, got: &got} }), 1).ShuffleGrouping("zhejiang")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	lt, err := actors.RunLocal(context.Background(), topo, topology.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer lt.Shutdown()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		n := 0
		acked.Range(func(any, any) bool { n++; return true })
		if n == total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d orders acked", n, total)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(got)
	for i, n := range got {
		if n != int64(2*i) {
			t.Fatalf("passed %v…, want the even orders only", got[:min(len(got), i+1)])
		}
	}
	if len(got) != total/2 {
		t.Fatalf("passed %d orders, want %d", len(got), total/2)
	}
}

func TestFilterErrorFailsTheTuple(t *testing.T) {
	boom := errors.New("boom")
	bolt := New(orderFields, func(*topology.Tuple) (bool, error) { return false, boom })()
	out := &failRecorder{}
	topo := buildWith(t, New(orderFields, nil))
	if err := bolt.Prepare(topology.NewTopologyContext("t", topo, "f", topo.Tasks("f")[0], nil, nil), out); err != nil {
		t.Fatal(err)
	}
	bolt.Execute(topology.NewTuple(topology.Source{Component: "orders"}, orderFields, topology.Values{int64(1), "浙江"}))
	if out.failed != 1 || !errors.Is(out.err, boom) {
		t.Fatalf("failed %d, reported %v; want the tuple failed and boom reported", out.failed, out.err)
	}
}

func TestFilterRefusesAStreamOfOtherFields(t *testing.T) {
	topo := buildWith(t, New(topology.NewFields("n"), nil))
	err := New(topology.NewFields("n"), nil)().Prepare(topology.NewTopologyContext("t", topo, "f", topo.Tasks("f")[0], nil, nil), &failRecorder{})
	if err == nil || !strings.Contains(err.Error(), "[n province]") {
		t.Fatalf("Prepare: %v, want an error naming the stream's fields", err)
	}
}

func buildWith(t *testing.T, bolt func() topology.Bolt) *topology.Topology {
	t.Helper()
	b := topology.NewBuilder()
	b.SetSpout("orders", func() topology.Spout { return &orderSpout{} }, 1)
	b.SetBolt("f", bolt, 1).ShuffleGrouping("orders")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// failRecorder is an OutputCollector that counts fails and keeps the last
// reported error.
type failRecorder struct {
	failed int
	err    error
}

func (r *failRecorder) Emit(topology.Values, ...*topology.Tuple) error           { return nil }
func (r *failRecorder) EmitTo(string, topology.Values, ...*topology.Tuple) error { return nil }
func (r *failRecorder) EmitDirect(int, string, topology.Values, ...*topology.Tuple) error {
	return nil
}
func (r *failRecorder) Ack(*topology.Tuple)   {}
func (r *failRecorder) Fail(*topology.Tuple)  { r.failed++ }
func (r *failRecorder) ReportError(err error) { r.err = err }
