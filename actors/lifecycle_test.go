package actors

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/squall-stream/squall/internal/check"
	"github.com/squall-stream/squall/topology"
	"github.com/squall-stream/squall/topology/topologytest"
)

// lifecycleSpout is a ledger's spout that counts its lifecycle calls, and
// the trees it has out: emitted, neither acked nor failed yet.
type lifecycleSpout struct {
	topology.Spout
	opened, closed, activated, deactivated *atomic.Int64
	out                                    *atomic.Int64
}

func (s *lifecycleSpout) Open(tc *topology.TopologyContext, out topology.SpoutOutputCollector) error {
	s.opened.Add(1)
	return s.Spout.Open(tc, emitFunc{out, func(values topology.Values, msgID any) error {
		err := out.Emit(values, msgID)
		if err == nil {
			s.out.Add(1)
		}
		return err
	}})
}
func (s *lifecycleSpout) Ack(msgID any)  { s.out.Add(-1); s.Spout.Ack(msgID) }
func (s *lifecycleSpout) Fail(msgID any) { s.out.Add(-1); s.Spout.Fail(msgID) }
func (s *lifecycleSpout) Close() error   { s.closed.Add(1); return s.Spout.Close() }
func (s *lifecycleSpout) Activate()      { s.activated.Add(1) }
func (s *lifecycleSpout) Deactivate()    { s.deactivated.Add(1) }

// lifecycleBolt is a basic bolt that counts its Prepare and Cleanup calls,
// fails the first failPrepares Prepares, and runs exec (when set) before it
// acks a tuple: topologytest.BasicFunc's bolts have no hooks into their
// lifecycle.
type lifecycleBolt struct {
	prepared, cleaned *atomic.Int64
	failPrepares      int64
	exec              func()
}

func (b *lifecycleBolt) DeclareOutputFields(*topology.OutputDeclarer) {}
func (b *lifecycleBolt) Prepare(*topology.TopologyContext) error {
	if b.prepared.Add(1) <= b.failPrepares {
		return errors.New("database not ready")
	}
	return nil
}
func (b *lifecycleBolt) Execute(*topology.Tuple, topology.BasicOutputCollector) error {
	if b.exec != nil {
		b.exec()
	}
	return nil
}
func (b *lifecycleBolt) Cleanup() error { b.cleaned.Add(1); return nil }

// lifecycleBolts returns a factory of lifecycleBolts that count on prepared
// and cleaned.
func lifecycleBolts(prepared, cleaned *atomic.Int64, failPrepares int64, exec func()) func() topology.Bolt {
	return topology.Basic(func() topology.BasicBolt {
		return &lifecycleBolt{prepared: prepared, cleaned: cleaned, failPrepares: failPrepares, exec: exec}
	})
}

func TestDeactivateStopsSpoutsAndKillClosesEverything(t *testing.T) {
	l := newLedger(1 << 30)
	var opened, closed, activated, deactivated, out, prepared, cleaned atomic.Int64
	b := topology.NewBuilder()
	b.SetSpout("spout", func() topology.Spout {
		return &lifecycleSpout{l.Spout(), &opened, &closed, &activated, &deactivated, &out}
	}, 2)
	b.SetBolt("sink", lifecycleBolts(&prepared, &cleaned, 0, nil), 3).ShuffleGrouping("spout")
	lt := run(t, b, topology.Config{})
	check.For(t, 5*time.Second, func() error {
		if a, n := activated.Load(), l.Acked(); a != 2 || n <= 100 {
			return fmt.Errorf("%d of 2 spouts activated, %d ids acked, want over 100", a, n)
		}
		return nil
	})

	lt.Deactivate()
	check.For(t, 5*time.Second, func() error {
		if d := deactivated.Load(); d != 2 {
			return fmt.Errorf("%d of 2 spouts deactivated", d)
		}
		return nil
	})
	checkNothingPending(t, lt)
	before := l.Acked()
	time.Sleep(50 * time.Millisecond) // a window in which an active spout would emit thousands
	if after := l.Acked(); after != before {
		t.Fatalf("deactivated spouts kept emitting: %d → %d acked", before, after)
	}
	lt.Activate()
	check.For(t, 5*time.Second, func() error {
		if n := l.Acked(); n <= before+100 {
			return fmt.Errorf("%d ids acked since activation, want over 100", n-before)
		}
		return nil
	})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := lt.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-lt.Done():
	default:
		t.Fatal("Done not closed after Kill")
	}
	if opened.Load() != 2 || closed.Load() != 2 || cleaned.Load() != 3 {
		t.Fatalf("opened %d closed %d (want 2, 2), cleaned up %d (want 3)", opened.Load(), closed.Load(), cleaned.Load())
	}
	if err := lt.Kill(ctx); !errors.Is(err, ErrStopped) {
		t.Fatalf("second Kill: %v, want ErrStopped", err)
	}
	// Every tree emitted before Kill completed: Kill waits for them.
	if n := out.Load(); n != 0 {
		t.Fatalf("%d trees emitted, never acked or failed", n)
	}
}

func TestCancelledContextShutsTheTopologyDown(t *testing.T) {
	var closed atomic.Int64
	var o, a, d, out atomic.Int64
	l := newLedger(10)
	b := topology.NewBuilder()
	b.SetSpout("spout", func() topology.Spout {
		return &lifecycleSpout{l.Spout(), &o, &closed, &a, &d, &out}
	}, 1)
	b.SetBolt("sink", topologytest.BasicFunc(nil, ackAll), 1).ShuffleGrouping("spout")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	lt, err := RunLocal(ctx, topo, topology.Config{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-lt.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("topology still running 10s after its context was cancelled")
	}
	if closed.Load() != 1 {
		t.Fatalf("spout closed %d times, want 1", closed.Load())
	}
}

func TestTickTuplesArriveAtTheirFrequency(t *testing.T) {
	var ticks atomic.Int64
	b := topology.NewBuilder()
	b.SetSpout("spout", newLedger(0).Spout, 1)
	b.SetBolt("ticked", topologytest.BasicFunc(nil, func(tp *topology.Tuple, _ topology.BasicOutputCollector) error {
		if tp.IsTick() {
			ticks.Add(1)
		}
		return nil
	}), 2).ShuffleGrouping("spout").TickFrequency(10 * time.Millisecond)
	start := time.Now()
	run(t, b, topology.Config{})
	check.For(t, 5*time.Second, func() error {
		if n := ticks.Load(); n < 10 {
			return fmt.Errorf("%d of 10 ticks on both tasks", n)
		}
		return nil
	})
	// 10 ticks over two tasks take at least 5 periods.
	if d := time.Since(start); d < 40*time.Millisecond {
		t.Fatalf("10 ticks after %v: faster than the frequency", d)
	}
}

func TestPrepareErrorIsRetriedWithBackoff(t *testing.T) {
	l := newLedger(100)
	var calls, cleaned atomic.Int64
	b := topology.NewBuilder()
	b.SetSpout("spout", l.Spout, 1)
	b.SetBolt("late", lifecycleBolts(&calls, &cleaned, 2, nil), 1).ShuffleGrouping("spout")
	lt := run(t, b, topology.Config{RestartBackoff: 5 * time.Millisecond, MessageTimeout: time.Minute})
	check.For(t, 10*time.Second, l.AllAcked)
	if calls.Load() != 3 {
		t.Fatalf("Prepare called %d times, want 3", calls.Load())
	}
	m, _ := lt.Component("late")
	if m.Restarts != 2 {
		t.Fatalf("restarts = %d, want 2", m.Restarts)
	}
	if !strings.Contains(m.LastError, "database not ready") {
		t.Fatalf("last error %q does not say why the task restarted", m.LastError)
	}
}

func TestBadEmitsAreClearErrors(t *testing.T) {
	errs := make(chan error, 10)
	b := topology.NewBuilder()
	b.SetSpout("spout", newLedger(1).Spout, 1)
	b.SetBolt("bad", topologytest.BasicFunc(topology.NewFields("a", "b"), func(tp *topology.Tuple, out topology.BasicOutputCollector) error {
		errs <- out.EmitTo("nope", topology.Values{1, 2})
		errs <- out.Emit(topology.Values{1})
		errs <- out.EmitDirect(1, topology.DefaultStream, topology.Values{1, 2})
		errs <- out.Emit(topology.Values{"ok", make(chan int)})
		return nil
	}), 1).ShuffleGrouping("spout")
	lt := run(t, b, topology.Config{})
	want := []error{ErrUndeclaredStream, ErrFieldCount, ErrDirect, nil}
	var last error
	for i, w := range want {
		var err error
		select {
		case err = <-errs:
		case <-time.After(5 * time.Second):
			t.Fatal("bolt did not run")
		}
		var ee *EmitError
		if !errors.As(err, &ee) || ee.Component != "bad" {
			t.Fatalf("emit %d: %v is not an EmitError naming the component", i, err)
		}
		if w != nil && !errors.Is(err, w) {
			t.Fatalf("emit %d: %v, want %v", i, err, w)
		}
		t.Log(err)
		last = err
	}
	check.For(t, time.Second, func() error {
		if m, _ := lt.Component("bad"); m.Errors != 4 {
			return fmt.Errorf("%d of 4 errors counted", m.Errors)
		}
		return nil
	})
	// As Storm UI's "Last error": the latest, with its time.
	m, _ := lt.Component("bad")
	if m.LastError != last.Error() || time.Since(m.LastErrorAt) > time.Minute || m.Tasks[0].LastError != last.Error() {
		t.Fatalf("last error %q at %v, want %q now", m.LastError, m.LastErrorAt, last)
	}
}

// The topology's name names its actors and becomes a path segment of its
// tasks' PIDs, so it is held to the name rule.
func TestRunRefusesATopologyNameOutsideTheRule(t *testing.T) {
	b := topology.NewBuilder()
	b.SetSpout("spout", newLedger(0).Spout, 1)
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"../nodes/x", "a/b", "."} {
		lt, err := RunLocal(context.Background(), topo, topology.Config{Name: name, Logger: quietLogger()})
		if !errors.Is(err, topology.ErrBadName) || !strings.Contains(err.Error(), `topology name "`+name+`"`) {
			if lt != nil {
				lt.Shutdown()
			}
			t.Errorf("RunLocal named %q: %v, want ErrBadName naming it", name, err)
		}
	}
}

func TestMetricsCountWhatHappened(t *testing.T) {
	const n = 3000
	l := newLedger(n)
	b := topology.NewBuilder()
	b.SetSpout("spout", l.Spout, 1)
	b.SetBolt("double", topologytest.BasicFunc(idFields, fanOut(2)), 2).ShuffleGrouping("spout")
	b.SetBolt("sink", topologytest.BasicFunc(nil, ackAll), 2).AllGrouping("double")
	lt := run(t, b, topology.Config{})
	check.For(t, 10*time.Second, l.AllAcked)
	check.For(t, 2*time.Second, func() error {
		if m, _ := lt.Component("sink"); m.Executed != 4*n {
			return fmt.Errorf("the sink's metrics say %d of %d executed", m.Executed, 4*n)
		}
		return nil
	})
	spout, _ := lt.Component("spout")
	double, _ := lt.Component("double")
	sink, _ := lt.Component("sink")
	if spout.Emitted != n || spout.Acked != n || spout.Failed != 0 || spout.CompleteLatency <= 0 {
		t.Errorf("spout: %+v", spout.TaskMetrics)
	}
	if double.Executed != n || double.Acked != n || double.Emitted != 2*n || double.Transferred != 4*n {
		t.Errorf("double: %+v", double.TaskMetrics)
	}
	if sink.Executed != 4*n || len(sink.Tasks) != 2 || sink.ExecuteLatency <= 0 {
		t.Errorf("sink: %+v", sink.TaskMetrics)
	}
	if sink.QueueDepth != 0 {
		t.Errorf("sink queue depth %d after draining", sink.QueueDepth)
	}

	// Read in two halves (as from two nodes) and merged, the sums are the same.
	var first, second []ComponentMetrics
	for _, c := range lt.Metrics() {
		half := len(c.Tasks) / 2
		a, b := c, c
		a.Tasks, b.Tasks = c.Tasks[:half], c.Tasks[half:]
		first, second = append(first, a), append(second, b)
	}
	for _, c := range MergeComponents(first, second) {
		want, _ := lt.Component(c.Component)
		if c.Emitted != want.Emitted || c.Executed != want.Executed || c.Acked != want.Acked || len(c.Tasks) != len(want.Tasks) || c.Spout != want.Spout {
			t.Errorf("merged %s: %+v, want %+v", c.Component, c.TaskMetrics, want.TaskMetrics)
		}
	}
}

// lateAckBolt holds its tuples and acks them on the next tick.
type lateAckBolt struct {
	out  topology.OutputCollector
	held []*topology.Tuple
}

func (b *lateAckBolt) DeclareOutputFields(*topology.OutputDeclarer) {}
func (b *lateAckBolt) Prepare(_ *topology.TopologyContext, out topology.OutputCollector) error {
	b.out = out
	return nil
}
func (b *lateAckBolt) Execute(t *topology.Tuple) {
	if !t.IsTick() {
		b.held = append(b.held, t)
		return
	}
	for _, h := range b.held {
		b.out.Ack(h)
	}
	b.held = b.held[:0]
}
func (b *lateAckBolt) Cleanup() error { return nil }

// Process latency runs from Execute to the ack: for a bolt that acks on
// ticks 50 ms apart it is tens of milliseconds, while Execute takes
// microseconds.
func TestProcessLatencyCoversLateAcks(t *testing.T) {
	const n = 2000
	l := newLedger(n)
	b := topology.NewBuilder()
	b.SetSpout("spout", l.Spout, 1)
	b.SetBolt("late", func() topology.Bolt { return &lateAckBolt{} }, 1).ShuffleGrouping("spout").TickFrequency(50 * time.Millisecond)
	lt := run(t, b, topology.Config{})
	check.For(t, 20*time.Second, l.AllAcked)
	late, _ := lt.Component("late")
	if late.ProcessLatency < 5*time.Millisecond || late.ProcessLatency <= late.ExecuteLatency || late.ProcessLatency > time.Second {
		t.Fatalf("process latency %v, execute latency %v: want tens of milliseconds, above execute", late.ProcessLatency, late.ExecuteLatency)
	}
}

// crashOnceSpout is a lifecycleSpout that panics on its first NextTuple,
// once for the whole test.
type crashOnceSpout struct {
	lifecycleSpout
	crashed *atomic.Bool
}

func (s *crashOnceSpout) NextTuple() {
	if s.crashed.CompareAndSwap(false, true) {
		panic("first call")
	}
	s.lifecycleSpout.NextTuple()
}

// A crashed instance is closed (cleaned up, for a bolt) before its fresh
// successor opens, so it releases what it holds.
func TestCrashedInstancesAreClosed(t *testing.T) {
	l := newLedger(100)
	var opened, closed, activated, deactivated, out, prepared, cleaned atomic.Int64
	var spoutCrashed, boltCrashed atomic.Bool
	b := topology.NewBuilder()
	b.SetSpout("spout", func() topology.Spout {
		return &crashOnceSpout{lifecycleSpout{l.Spout(), &opened, &closed, &activated, &deactivated, &out}, &spoutCrashed}
	}, 1)
	b.SetBolt("sink", lifecycleBolts(&prepared, &cleaned, 0, func() {
		if boltCrashed.CompareAndSwap(false, true) {
			panic("first tuple")
		}
	}), 1).ShuffleGrouping("spout")
	lt := run(t, b, topology.Config{RestartBackoff: time.Millisecond})
	check.For(t, 10*time.Second, l.AllAcked)
	if opened.Load() != 2 || closed.Load() != 1 || cleaned.Load() != 1 {
		t.Fatalf("before shutdown: spout opened %d, closed %d; bolt cleaned up %d; want 2, 1, 1", opened.Load(), closed.Load(), cleaned.Load())
	}
	lt.Shutdown()
	if closed.Load() != 2 || cleaned.Load() != 2 {
		t.Fatalf("after shutdown: spout closed %d, bolt cleaned up %d; want 2 and 2", closed.Load(), cleaned.Load())
	}
}
