package topologytest

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/squall-stream/squall/topology"
)

var (
	_ topology.OutputCollector      = (*Collector)(nil)
	_ topology.SpoutOutputCollector = (*SpoutCollector)(nil)
)

func tuple(n int64) *topology.Tuple {
	return topology.NewTuple(topology.Source{Component: UpstreamID}, topology.NewFields("n"), topology.Values{n})
}

func TestCollectorRecordsWhatABoltDid(t *testing.T) {
	c := &Collector{}
	in1, in2 := tuple(1), tuple(2)
	anchors := []*topology.Tuple{in1, in2}
	_ = c.Emit(topology.Values{"a"}, anchors...)
	anchors[0] = in2 // a caller may reuse its anchors slice
	_ = c.EmitTo("late", topology.Values{"b"})
	_ = c.EmitDirect(7, "direct", topology.Values{"c"}, in1)
	c.Ack(in1)
	c.Fail(in2)
	boom := errors.New("boom")
	c.ReportError(boom)

	want := []Emitted{
		{Stream: topology.DefaultStream, Task: -1, Values: topology.Values{"a"}, Anchors: []*topology.Tuple{in1, in2}},
		{Stream: "late", Task: -1, Values: topology.Values{"b"}},
		{Stream: "direct", Task: 7, Values: topology.Values{"c"}, Anchors: []*topology.Tuple{in1}},
	}
	got := c.Emitted()
	if !slices.EqualFunc(got, want, equalEmits) {
		t.Fatalf("emitted %+v, want %+v", got, want)
	}
	if a, f := c.Acked(), c.Failed(); !slices.Equal(a, []*topology.Tuple{in1}) || !slices.Equal(f, []*topology.Tuple{in2}) {
		t.Fatalf("acked %v, failed %v", a, f)
	}
	if errs := c.Errors(); len(errs) != 1 || errs[0] != boom {
		t.Fatalf("errors %v, want [boom]", errs)
	}
	got[0].Stream = "changed"
	if c.Emitted()[0].Stream != topology.DefaultStream {
		t.Fatal("Emitted returned the collector's own slice")
	}
}

func TestSpoutCollectorRecordsMessageIDs(t *testing.T) {
	c := &SpoutCollector{}
	_ = c.Emit(topology.Values{"a"}, 1)
	_ = c.EmitTo("late", topology.Values{"b"}, nil)
	_ = c.EmitDirect(3, "direct", topology.Values{"c"}, "x")
	want := []Emitted{
		{Stream: topology.DefaultStream, Task: -1, Values: topology.Values{"a"}, MsgID: 1},
		{Stream: "late", Task: -1, Values: topology.Values{"b"}},
		{Stream: "direct", Task: 3, Values: topology.Values{"c"}, MsgID: "x"},
	}
	if got := c.Emitted(); !slices.EqualFunc(got, want, equalEmits) {
		t.Fatalf("emitted %+v, want %+v", got, want)
	}
}

// A component's own goroutines may emit and report while the test reads.
func TestCollectorIsSafeForConcurrentUse(t *testing.T) {
	c := &Collector{}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			in := tuple(int64(i))
			for range 100 {
				_ = c.Emit(topology.Values{i}, in)
				c.Ack(in)
				_ = len(c.Emitted())
			}
		})
	}
	wg.Wait()
	if e, a := len(c.Emitted()), len(c.Acked()); e != 800 || a != 800 {
		t.Fatalf("%d emits and %d acks recorded, want 800 each", e, a)
	}
}

func equalEmits(a, b Emitted) bool {
	return a.Stream == b.Stream && a.Task == b.Task && a.MsgID == b.MsgID &&
		slices.Equal(a.Values, b.Values) && slices.Equal(a.Anchors, b.Anchors)
}
