package window

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/squall-stream/squall/topology"
	"github.com/squall-stream/squall/topology/topologytest"
)

var nKey = topology.NewFields("n", "key")

// ns returns the "n" of each tuple.
func ns(ts []*topology.Tuple) []int {
	out := make([]int, len(ts))
	for i, t := range ts {
		out[i] = int(t.Int64ByField("n"))
	}
	return out
}

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
	out   *topologytest.Collector
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
	h := &harness{t: t, inner: &seen{}, out: &topologytest.Collector{}, clock: epoch}
	b := New(func() Bolt { return h.inner }, conf)().(*windowedBolt)
	b.now = func() time.Time { return h.clock }
	tc := topologytest.BoltContext(t, New(func() Bolt { return &seen{} }, conf), nKey)
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
	h.bolt.Execute(topology.NewTuple(topology.Source{Component: "spout"}, nKey,
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
	if !slices.Equal(ns(h.out.Acked()), []int{1, 2}) {
		t.Fatalf("acked %v, want [1 2]", ns(h.out.Acked()))
	}
	h.at(1200).send(3)
	h.at(2300).ticks() // late tick: the window (1s, 2s] still closes once
	h.wantWindows(
		seenWindow{ms(0), ms(1000), []int{1, 2}, []int{1, 2}, []int{}},
		seenWindow{ms(1000), ms(2000), []int{3}, []int{3}, []int{1, 2}},
	)
	h.at(3000).ticks() // the empty window (2s, 3s] is skipped
	if !slices.Equal(ns(h.out.Acked()), []int{1, 2, 3}) || len(h.inner.windows) != 2 {
		t.Fatalf("acked %v after %d windows, want [1 2 3] after 2", ns(h.out.Acked()), len(h.inner.windows))
	}
	// Results are anchored to every tuple of their window.
	if got := h.out.Emitted(); len(got) != 2 || !slices.Equal(ns(got[0].Anchors), []int{1, 2}) || got[0].Values[0] != int64(3) {
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
	if !slices.Equal(ns(h.out.Acked()), []int{1, 2, 3}) {
		t.Fatalf("acked %v, want [1 2 3]", ns(h.out.Acked()))
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
	if !slices.Equal(ns(h.out.Acked()), []int{1, 2, 3, 4, 5}) {
		t.Fatalf("acked %v, want [1 2 3 4 5]", ns(h.out.Acked()))
	}
}

// Tuples held past MessageTimeout were failed and replay: the bolt forgets
// them, so that their replays are not counted with them.
func TestTimedOutTuplesAreForgotten(t *testing.T) {
	h := newHarnessTimeout(t, Config{LengthCount: 3}, time.Second)
	h.at(0).send(1).send(2)
	h.at(1500).send(3).send(4).send(5)
	h.wantWindows(seenWindow{ms(1500), ms(1500), []int{3, 4, 5}, []int{3, 4, 5}, []int{}})
	if !slices.Equal(ns(h.out.Acked()), []int{3, 4, 5}) || len(ns(h.out.Failed())) != 0 {
		t.Fatalf("acked %v, failed %v; want [3 4 5] and none (1 and 2 timed out)", ns(h.out.Acked()), ns(h.out.Failed()))
	}
}

func TestFailedWindowFailsItsTuplesOnce(t *testing.T) {
	h := newHarness(t, Config{Length: time.Second})
	h.inner.fail = true
	h.at(100).send(1).send(2).at(1000).ticks()
	if !slices.Equal(ns(h.out.Failed()), []int{1, 2}) || len(h.out.Errors()) != 1 {
		t.Fatalf("failed %v, errors %v; want [1 2] and one error", ns(h.out.Failed()), h.out.Errors())
	}
	h.inner.fail = false
	h.at(1500).send(3).at(3000).ticks()
	// The failed tuples are forgotten (their spout replays them): never
	// acked, never in a later window.
	if !slices.Equal(ns(h.out.Acked()), []int{3}) {
		t.Fatalf("acked %v, want [3]", ns(h.out.Acked()))
	}
	if w := h.inner.windows[len(h.inner.windows)-1]; !slices.Equal(w.tuples, []int{3}) || len(w.expire) != 0 {
		t.Fatalf("window after the failure: %+v", w)
	}
}

func TestCountPerKeyAnchorsToTheKeysTuples(t *testing.T) {
	out := &topologytest.Collector{}
	b := New(Count("key"), Config{LengthCount: 5})().(*windowedBolt)
	b.now = func() time.Time { return epoch }
	if err := b.Prepare(topologytest.BoltContext(t, New(Count("key"), Config{LengthCount: 5}), nKey), out); err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 5; n++ {
		b.Execute(topology.NewTuple(topology.Source{Component: "spout"}, nKey,
			topology.Values{int64(n), fmt.Sprint("k", n%2)}))
	}
	want := []struct {
		values  topology.Values
		anchors []int
	}{
		{topology.Values{"k1", epoch, epoch, int64(3)}, []int{1, 3, 5}},
		{topology.Values{"k0", epoch, epoch, int64(2)}, []int{2, 4}},
	}
	got := out.Emitted()
	if len(got) != len(want) {
		t.Fatalf("emitted %+v, want %+v", got, want)
	}
	for i, w := range want {
		g := got[i]
		if !slices.EqualFunc(g.Values, w.values, func(a, b any) bool { return fmt.Sprint(a) == fmt.Sprint(b) }) || !slices.Equal(ns(g.Anchors), w.anchors) {
			t.Fatalf("emit %d = %+v, want %+v", i, g, w)
		}
	}
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
		b.SetSpout("spout", topologytest.Upstream(nKey), 1)
		b.SetBolt("per-minute", New(Count("key"), conf), 1).ShuffleGrouping("spout")
		_, err := b.Build()
		var ve *topology.ValidationError
		if !errors.Is(err, ErrBadConfig) || !errors.As(err, &ve) || ve.Component != "per-minute" {
			t.Errorf("config %+v: Build error %v, want ErrBadConfig on per-minute", conf, err)
		}
	}
}

func TestTimeWindowsAskForTicks(t *testing.T) {
	tickFrequency := func(conf Config) time.Duration {
		tc := topologytest.BoltContext(t, New(Count("key"), conf), nKey)
		return tc.Topology().Component(tc.ComponentID).TickFrequency
	}
	if got := tickFrequency(Config{Length: time.Minute, Slide: 10 * time.Second}); got != 2500*time.Millisecond {
		t.Fatalf("tick frequency %v, want a quarter of the slide", got)
	}
	if got := tickFrequency(Config{LengthCount: 10}); got != 0 {
		t.Fatalf("count windows ask for ticks every %v", got)
	}
	b := topology.NewBuilder()
	b.SetSpout("spout", topologytest.Upstream(nKey), 1)
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
	tc := topologytest.BoltContext(t, New(Count("key"), Config{Length: time.Minute}), nKey)
	b := New(Count("key"), Config{Length: 20 * time.Second, Slide: 10 * time.Second})()
	tc.MessageTimeout = 30 * time.Second
	if err := b.Prepare(tc, &topologytest.Collector{}); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("Prepare with length+slide = MessageTimeout: %v, want ErrBadConfig", err)
	}
	tc.MessageTimeout = 31 * time.Second
	if err := b.Prepare(tc, &topologytest.Collector{}); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
}

func TestCountRefusesAMissingKeyField(t *testing.T) {
	b := New(Count("province"), Config{LengthCount: 3})
	err := b().Prepare(topologytest.BoltContext(t, b, nKey), &topologytest.Collector{})
	if err == nil || !strings.Contains(err.Error(), `"province"`) {
		t.Fatalf("Prepare: %v, want an error naming the missing field", err)
	}
}
