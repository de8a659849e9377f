package window

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/squall-stream/squall/topology"
)

// recorder is an OutputCollector that records what a bolt did.
type recorder struct {
	emitted []emitted
	acked   []int // the "n" value of acked tuples, in ack order
	failed  []int
	errs    []error
}

type emitted struct {
	values  topology.Values
	anchors []int // "n" of each anchor
}

func ns(ts []*topology.Tuple) []int {
	out := make([]int, len(ts))
	for i, t := range ts {
		out[i] = int(t.Int64ByField("n"))
	}
	return out
}

func (r *recorder) Emit(values topology.Values, anchors ...*topology.Tuple) error {
	return r.EmitTo(topology.DefaultStream, values, anchors...)
}
func (r *recorder) EmitTo(_ string, values topology.Values, anchors ...*topology.Tuple) error {
	r.emitted = append(r.emitted, emitted{values: values, anchors: ns(anchors)})
	return nil
}
func (r *recorder) EmitDirect(_ int, stream string, values topology.Values, anchors ...*topology.Tuple) error {
	return r.EmitTo(stream, values, anchors...)
}
func (r *recorder) Ack(t *topology.Tuple)  { r.acked = append(r.acked, int(t.Int64ByField("n"))) }
func (r *recorder) Fail(t *topology.Tuple) { r.failed = append(r.failed, int(t.Int64ByField("n"))) }
func (r *recorder) ReportError(err error)  { r.errs = append(r.errs, err) }

// seen is a windowed bolt that records each window it gets.
type seen struct {
	windows []seenWindow
	fail    bool
}

type seenWindow struct {
	start, end          time.Time
	tuples, new, expire []int
}

func (s *seen) DeclareOutputFields(d *topology.OutputDeclarer) { d.Declare(topology.NewFields("sum")) }
func (s *seen) Prepare(*topology.TopologyContext) error        { return nil }
func (s *seen) Cleanup() error                                 { return nil }
func (s *seen) Execute(w *Window, out Collector) error {
	s.windows = append(s.windows, seenWindow{w.Start, w.End, ns(w.Tuples), ns(w.New), ns(w.Expired)})
	if s.fail {
		return errors.New("boom")
	}
	sum := 0
	for _, n := range ns(w.Tuples) {
		sum += n
	}
	return out.Emit(topology.Values{int64(sum)})
}

// harness drives a windowed bolt directly on a fake clock.
type harness struct {
	t     *testing.T
	bolt  *windowedBolt
	inner *seen
	out   *recorder
	clock time.Time
	tick  *topology.Tuple
}

var epoch = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func newHarness(t *testing.T, conf Config) *harness {
	t.Helper()
	return newHarnessTimeout(t, conf, time.Hour)
}

// newHarnessTimeout is newHarness with the topology's MessageTimeout.
func newHarnessTimeout(t *testing.T, conf Config, timeout time.Duration) *harness {
	t.Helper()
	h := &harness{t: t, inner: &seen{}, out: &recorder{}, clock: epoch}
	b := New(func() Bolt { return h.inner }, conf)().(*windowedBolt)
	b.now = func() time.Time { return h.clock }
	topo := buildTopology(t, func() Bolt { return &seen{} }, conf)
	tc := topology.NewTopologyContext("t", topo, "count", topo.Tasks("count")[0], nil, nil)
	tc.MessageTimeout = timeout
	if err := b.Prepare(tc, h.out); err != nil {
		t.Fatal(err)
	}
	h.bolt = b
	h.tick = topology.NewTuple(topology.Source{Component: topology.SystemComponent, Stream: topology.TickStream}, nil, nil)
	return h
}

// at moves the clock to ms milliseconds after the epoch.
func (h *harness) at(ms int) *harness {
	h.clock = epoch.Add(time.Duration(ms) * time.Millisecond)
	return h
}

func (h *harness) send(n int) *harness {
	h.bolt.Execute(topology.NewTuple(topology.Source{Component: "spout"}, topology.NewFields("n", "key"),
		topology.Values{int64(n), fmt.Sprint("k", n%2)}))
	return h
}

func (h *harness) ticks() *harness {
	h.bolt.Execute(h.tick)
	return h
}

func (h *harness) wantWindows(want ...seenWindow) {
	h.t.Helper()
	if len(h.inner.windows) != len(want) {
		h.t.Fatalf("got %d windows %+v, want %d %+v", len(h.inner.windows), h.inner.windows, len(want), want)
	}
	for i, w := range want {
		g := h.inner.windows[i]
		if !g.start.Equal(w.start) || !g.end.Equal(w.end) || !slices.Equal(g.tuples, w.tuples) ||
			!slices.Equal(g.new, w.new) || !slices.Equal(g.expire, w.expire) {
			h.t.Fatalf("window %d = %+v, want %+v", i, g, w)
		}
	}
}

func ms(n int) time.Time { return epoch.Add(time.Duration(n) * time.Millisecond) }

func TestTumblingTimeWindows(t *testing.T) {
	h := newHarness(t, Config{Length: time.Second})
	h.at(100).send(1).at(500).send(2).at(999).ticks()
	h.wantWindows()
	h.at(1000).ticks()
	// A tumbling window's tuples are in no later window: acked at once.
	if !slices.Equal(h.out.acked, []int{1, 2}) {
		t.Fatalf("acked %v, want [1 2]", h.out.acked)
	}
	h.at(1200).send(3)
	h.at(2300).ticks() // late tick: the window (1s, 2s] still closes once
	h.wantWindows(
		seenWindow{ms(0), ms(1000), []int{1, 2}, []int{1, 2}, []int{}},
		seenWindow{ms(1000), ms(2000), []int{3}, []int{3}, []int{1, 2}},
	)
	h.at(3000).ticks() // the empty window (2s, 3s] is skipped
	if !slices.Equal(h.out.acked, []int{1, 2, 3}) || len(h.inner.windows) != 2 {
		t.Fatalf("acked %v after %d windows, want [1 2 3] after 2", h.out.acked, len(h.inner.windows))
	}
	// Results are anchored to every tuple of their window.
	if got := h.out.emitted; len(got) != 2 || !slices.Equal(got[0].anchors, []int{1, 2}) || got[0].values[0] != int64(3) {
		t.Fatalf("emitted %+v", got)
	}
}

func TestSlidingTimeWindows(t *testing.T) {
	h := newHarness(t, Config{Length: 3 * time.Second, Slide: time.Second})
	h.at(500).send(1).at(1000).ticks().at(1500).send(2).at(2000).ticks().at(2500).send(3)
	for s := 3; s <= 5; s++ {
		h.at(s * 1000).ticks()
	}
	h.wantWindows(
		seenWindow{ms(-2000), ms(1000), []int{1}, []int{1}, []int{}},
		seenWindow{ms(-1000), ms(2000), []int{1, 2}, []int{2}, []int{}},
		seenWindow{ms(0), ms(3000), []int{1, 2, 3}, []int{3}, []int{}},
		seenWindow{ms(1000), ms(4000), []int{2, 3}, []int{}, []int{1}},
		seenWindow{ms(2000), ms(5000), []int{3}, []int{}, []int{2}},
	)
	// Each tuple is acked once, after the last window that holds it.
	if !slices.Equal(h.out.acked, []int{1, 2, 3}) {
		t.Fatalf("acked %v, want [1 2 3]", h.out.acked)
	}
}

func TestCountWindows(t *testing.T) {
	h := newHarness(t, Config{LengthCount: 3, SlideCount: 2})
	for n := 1; n <= 6; n++ {
		h.at(n).send(n)
	}
	h.wantWindows(
		seenWindow{ms(1), ms(2), []int{1, 2}, []int{1, 2}, []int{}},
		seenWindow{ms(2), ms(4), []int{2, 3, 4}, []int{3, 4}, []int{1}},
		seenWindow{ms(4), ms(6), []int{4, 5, 6}, []int{5, 6}, []int{2, 3}},
	)
	// A tuple is acked once no later window can hold it: 1 is not in the
	// window of the next two arrivals, 2 and 3 not in the one after.
	if !slices.Equal(h.out.acked, []int{1, 2, 3, 4, 5}) {
		t.Fatalf("acked %v, want [1 2 3 4 5]", h.out.acked)
	}
}

// Tuples held past MessageTimeout were failed and replay: the bolt forgets
// them, so that their replays are not counted with them.
func TestTimedOutTuplesAreForgotten(t *testing.T) {
	h := newHarnessTimeout(t, Config{LengthCount: 3}, time.Second)
	h.at(0).send(1).send(2)
	h.at(1500).send(3).send(4).send(5)
	h.wantWindows(seenWindow{ms(1500), ms(1500), []int{3, 4, 5}, []int{3, 4, 5}, []int{}})
	if !slices.Equal(h.out.acked, []int{3, 4, 5}) || len(h.out.failed) != 0 {
		t.Fatalf("acked %v, failed %v; want [3 4 5] and none (1 and 2 timed out)", h.out.acked, h.out.failed)
	}
}

func TestFailedWindowFailsItsTuplesOnce(t *testing.T) {
	h := newHarness(t, Config{Length: time.Second})
	h.inner.fail = true
	h.at(100).send(1).send(2).at(1000).ticks()
	if !slices.Equal(h.out.failed, []int{1, 2}) || len(h.out.errs) != 1 {
		t.Fatalf("failed %v, errors %v; want [1 2] and one error", h.out.failed, h.out.errs)
	}
	h.inner.fail = false
	h.at(1500).send(3).at(3000).ticks()
	// The failed tuples are forgotten (their spout replays them): never
	// acked, never in a later window.
	if !slices.Equal(h.out.acked, []int{3}) {
		t.Fatalf("acked %v, want [3]", h.out.acked)
	}
	if w := h.inner.windows[len(h.inner.windows)-1]; !slices.Equal(w.tuples, []int{3}) || len(w.expire) != 0 {
		t.Fatalf("window after the failure: %+v", w)
	}
}

func TestCountPerKeyAnchorsToTheKeysTuples(t *testing.T) {
	out := &recorder{}
	b := New(Count("key"), Config{LengthCount: 5})().(*windowedBolt)
	b.now = func() time.Time { return epoch }
	topo := buildTopology(t, Count("key"), Config{LengthCount: 5})
	if err := b.Prepare(topology.NewTopologyContext("t", topo, "count", topo.Tasks("count")[0], nil, nil), out); err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 5; n++ {
		b.Execute(topology.NewTuple(topology.Source{Component: "spout"}, topology.NewFields("n", "key"),
			topology.Values{int64(n), fmt.Sprint("k", n%2)}))
	}
	want := []emitted{
		{topology.Values{"k1", epoch, epoch, int64(3)}, []int{1, 3, 5}},
		{topology.Values{"k0", epoch, epoch, int64(2)}, []int{2, 4}},
	}
	if len(out.emitted) != len(want) {
		t.Fatalf("emitted %+v, want %+v", out.emitted, want)
	}
	for i, w := range want {
		g := out.emitted[i]
		if !slices.EqualFunc(g.values, w.values, func(a, b any) bool { return fmt.Sprint(a) == fmt.Sprint(b) }) || !slices.Equal(g.anchors, w.anchors) {
			t.Fatalf("emit %d = %+v, want %+v", i, g, w)
		}
	}
}

// genSpout declares (n, key); buildTopology only needs its declarations.
type genSpout struct{}

func (genSpout) DeclareOutputFields(d *topology.OutputDeclarer) {
	d.Declare(topology.NewFields("n", "key"))
}
func (genSpout) Open(*topology.TopologyContext, topology.SpoutOutputCollector) error { return nil }
func (genSpout) NextTuple()                                                          {}
func (genSpout) Ack(any)                                                             {}
func (genSpout) Fail(any)                                                            {}
func (genSpout) Close() error                                                        { return nil }

func buildTopology(t *testing.T, bolt func() Bolt, conf Config) *topology.Topology {
	t.Helper()
	b := topology.NewBuilder()
	b.SetSpout("spout", func() topology.Spout { return genSpout{} }, 1)
	b.SetBolt("count", New(bolt, conf), 1).ShuffleGrouping("spout")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

func TestBadConfigsFailBuildNamingTheComponent(t *testing.T) {
	for _, conf := range []Config{
		{},
		{Length: time.Second, LengthCount: 3},
		{Slide: time.Second},
		{SlideCount: 2},
		{Length: -time.Second},
	} {
		b := topology.NewBuilder()
		b.SetSpout("spout", func() topology.Spout { return genSpout{} }, 1)
		b.SetBolt("per-minute", New(Count("key"), conf), 1).ShuffleGrouping("spout")
		_, err := b.Build()
		var ve *topology.ValidationError
		if !errors.Is(err, ErrBadConfig) || !errors.As(err, &ve) || ve.Component != "per-minute" {
			t.Errorf("config %+v: Build error %v, want ErrBadConfig on per-minute", conf, err)
		}
	}
}

func TestTimeWindowsAskForTicks(t *testing.T) {
	topo := buildTopology(t, Count("key"), Config{Length: time.Minute, Slide: 10 * time.Second})
	if got := topo.Component("count").TickFrequency; got != 2500*time.Millisecond {
		t.Fatalf("tick frequency %v, want a quarter of the slide", got)
	}
	if got := buildTopology(t, Count("key"), Config{LengthCount: 10}).Component("count").TickFrequency; got != 0 {
		t.Fatalf("count windows ask for ticks every %v", got)
	}
	b := topology.NewBuilder()
	b.SetSpout("spout", func() topology.Spout { return genSpout{} }, 1)
	b.SetBolt("count", New(Count("key"), Config{Length: time.Minute}), 1).ShuffleGrouping("spout").TickFrequency(time.Second)
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	if got := topo.Component("count").TickFrequency; got != time.Second {
		t.Fatalf("tick frequency %v, want the declarer's 1s", got)
	}
}

func TestPrepareRefusesWindowsLongerThanTheMessageTimeout(t *testing.T) {
	topo := buildTopology(t, Count("key"), Config{Length: time.Minute})
	b := New(Count("key"), Config{Length: 20 * time.Second, Slide: 10 * time.Second})()
	tc := topology.NewTopologyContext("t", topo, "count", topo.Tasks("count")[0], nil, nil)
	tc.MessageTimeout = 30 * time.Second
	if err := b.Prepare(tc, &recorder{}); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("Prepare with length+slide = MessageTimeout: %v, want ErrBadConfig", err)
	}
	tc.MessageTimeout = 31 * time.Second
	if err := b.Prepare(tc, &recorder{}); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
}

func TestCountRefusesAMissingKeyField(t *testing.T) {
	topo := buildTopology(t, Count("province"), Config{LengthCount: 3})
	b := New(Count("province"), Config{LengthCount: 3})()
	err := b.Prepare(topology.NewTopologyContext("t", topo, "count", topo.Tasks("count")[0], nil, nil), &recorder{})
	if err == nil || !strings.Contains(err.Error(), `"province"`) {
		t.Fatalf("Prepare: %v, want an error naming the missing field", err)
	}
}
