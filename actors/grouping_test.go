package actors

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/squall-stream/squall/internal/check"
	"github.com/squall-stream/squall/topology"
)

// receipts records which task received which ids.
type receipts struct {
	mu     sync.Mutex
	byTask map[int][]int64
	n      int
}

func (r *receipts) record(task int, id int64) {
	r.mu.Lock()
	if r.byTask == nil {
		r.byTask = map[int][]int64{}
	}
	r.byTask[task] = append(r.byTask[task], id)
	r.n++
	r.mu.Unlock()
}

func (r *receipts) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// recorder is a bolt that records the ids it executes under its task id.
type recorder struct {
	r    *receipts
	task int
	out  topology.OutputCollector
}

func (b *recorder) DeclareOutputFields(*topology.OutputDeclarer) {}
func (b *recorder) Prepare(tc *topology.TopologyContext, out topology.OutputCollector) error {
	b.task, b.out = tc.TaskID, out
	return nil
}
func (b *recorder) Execute(t *topology.Tuple) {
	b.r.record(b.task, t.Int64ByField("id"))
	b.out.Ack(t)
}
func (b *recorder) Cleanup() error { return nil }

// groupingRun sends n ids with keys k0..k9 from one spout task through the
// grouping to a 4-task recorder and returns what each task received.
func groupingRun(t *testing.T, n int, subscribe func(d *topology.BoltDeclarer)) (*receipts, []int) {
	t.Helper()
	l := newKeyedLedger(n, 10)
	r := &receipts{}
	b := topology.NewBuilder()
	b.SetSpout("spout", l.Spout, 1)
	subscribe(b.SetBolt("rec", func() topology.Bolt { return &recorder{r: r} }, 4))
	lt := run(t, b, topology.Config{})
	check.For(t, 10*time.Second, l.AllAcked)
	return r, lt.rt.topo.Tasks("rec")
}

func TestShuffleGroupingSpreadsEvenly(t *testing.T) {
	r, tasks := groupingRun(t, 4000, func(d *topology.BoltDeclarer) { d.ShuffleGrouping("spout") })
	for _, task := range tasks {
		if got := len(r.byTask[task]); got != 1000 {
			t.Errorf("task %d got %d tuples, want 1000 (round robin from one sender)", task, got)
		}
	}
}

func TestFieldsGroupingSendsEqualKeysToOneTask(t *testing.T) {
	r, _ := groupingRun(t, 2000, func(d *topology.BoltDeclarer) { d.FieldsGrouping("spout", "key") })
	owner := map[int64]int{} // key number → task
	for task, ids := range r.byTask {
		for _, id := range ids {
			k := id % 10
			if o, ok := owner[k]; ok && o != task {
				t.Fatalf("key k%d went to tasks %d and %d", k, o, task)
			}
			owner[k] = task
		}
	}
	if len(r.byTask) < 2 {
		t.Errorf("10 keys all went to one task: %v", owner)
	}
	// The same keys land on the same tasks in a second run: the hash is
	// fixed, not seeded per process.
	r2, _ := groupingRun(t, 2000, func(d *topology.BoltDeclarer) { d.FieldsGrouping("spout", "key") })
	for task, ids := range r2.byTask {
		for _, id := range ids {
			if owner[id%10] != task {
				t.Fatalf("key k%d went to task %d in the second run, %d in the first", id%10, task, owner[id%10])
			}
		}
	}
}

func TestFieldsGroupingHashIsStable(t *testing.T) {
	// Pinned values: changing the hash would move keys between tasks of a
	// running cluster.
	idx := []int{0}
	if h := keyHash(topology.Values{"user-42"}, idx, fnvOffset); h%7 != keyHash(topology.Values{"user-42"}, idx, fnvOffset)%7 {
		t.Fatal("hash not deterministic")
	}
	if keyHash(topology.Values{int64(5)}, idx, fnvOffset) != keyHash(topology.Values{5}, idx, fnvOffset) {
		t.Fatal("int and int64 of equal value hash differently")
	}
	if got, want := keyHash(topology.Values{"order"}, idx, fnvOffset), uint64(0xc17173e67c526e80); got != want {
		t.Fatalf("keyHash(order) = %#x, want %#x", got, want)
	}
}

func TestAllGroupingSendsEveryTupleToEveryTask(t *testing.T) {
	r, tasks := groupingRun(t, 500, func(d *topology.BoltDeclarer) { d.AllGrouping("spout") })
	for _, task := range tasks {
		if got := len(r.byTask[task]); got != 500 {
			t.Errorf("task %d got %d tuples, want 500", task, got)
		}
	}
}

func TestGlobalGroupingSendsAllToLowestTask(t *testing.T) {
	r, tasks := groupingRun(t, 500, func(d *topology.BoltDeclarer) { d.GlobalGrouping("spout") })
	if got := len(r.byTask[tasks[0]]); got != 500 || len(r.byTask) != 1 {
		t.Fatalf("lowest task %d got %d of 500; tasks that got tuples: %d", tasks[0], got, len(r.byTask))
	}
}

func TestNoneAndLocalOrShuffleGroupingsDeliverEverything(t *testing.T) {
	for name, sub := range map[string]func(d *topology.BoltDeclarer){
		"none":             func(d *topology.BoltDeclarer) { d.NoneGrouping("spout") },
		"local-or-shuffle": func(d *topology.BoltDeclarer) { d.LocalOrShuffleGrouping("spout") },
	} {
		t.Run(name, func(t *testing.T) {
			r, tasks := groupingRun(t, 800, sub)
			for _, task := range tasks {
				if len(r.byTask[task]) == 0 {
					t.Errorf("task %d got nothing", task)
				}
			}
			if r.count() != 800 {
				t.Errorf("got %d tuples, want 800", r.count())
			}
		})
	}
}

func TestPartialKeyGroupingUsesAtMostTwoTasksPerKey(t *testing.T) {
	r, _ := groupingRun(t, 4000, func(d *topology.BoltDeclarer) { d.PartialKeyGrouping("spout", "key") })
	tasksOf := map[int64]map[int]bool{}
	for task, ids := range r.byTask {
		for _, id := range ids {
			if tasksOf[id%10] == nil {
				tasksOf[id%10] = map[int]bool{}
			}
			tasksOf[id%10][task] = true
		}
	}
	split := 0
	for k, ts := range tasksOf {
		if len(ts) > 2 {
			t.Fatalf("key k%d went to %d tasks", k, len(ts))
		}
		if len(ts) == 2 {
			split++
		}
	}
	if split == 0 {
		t.Error("no key was split between two tasks")
	}
}

// modGrouping sends id to target[id % len(targets)].
type modGrouping struct{ targets []int }

func (g *modGrouping) Prepare(_ *topology.TopologyContext, _ string, targets []int) {
	g.targets = targets
}
func (g *modGrouping) ChooseTasks(v topology.Values) []int {
	return []int{g.targets[int(v[0].(int64))%len(g.targets)]}
}

func TestCustomGroupingChoosesTasks(t *testing.T) {
	r, tasks := groupingRun(t, 400, func(d *topology.BoltDeclarer) {
		d.CustomGrouping("spout", func() topology.CustomGrouping { return &modGrouping{} })
	})
	for i, task := range tasks {
		for _, id := range r.byTask[task] {
			if int(id)%4 != i {
				t.Fatalf("id %d went to task %d (index %d)", id, task, i)
			}
		}
	}
}

func TestDirectGroupingOnNamedStream(t *testing.T) {
	l := newLedger(400)
	r := &receipts{}
	b := topology.NewBuilder()
	// Each id goes on a direct stream to the task id%4 of "rec".
	b.SetSpout("spout", func() topology.Spout {
		return &streamSpout{Spout: l.Spout(),
			declare: func(d *topology.OutputDeclarer) { d.DeclareDirectStream("direct", idFields) },
			emit: func(tc *topology.TopologyContext, out topology.SpoutOutputCollector, values topology.Values, msgID any) error {
				return out.EmitDirect(tc.ComponentTasks("rec")[msgID.(int)%4], "direct", values, msgID)
			}}
	}, 1)
	b.SetBolt("rec", func() topology.Bolt { return &recorder{r: r} }, 4).DirectGrouping("spout", "direct")
	lt := run(t, b, topology.Config{})
	check.For(t, 10*time.Second, l.AllAcked)
	for i, task := range lt.rt.topo.Tasks("rec") {
		if len(r.byTask[task]) != 100 {
			t.Errorf("task %d got %d, want 100", task, len(r.byTask[task]))
		}
		for _, id := range r.byTask[task] {
			if int(id)%4 != i {
				t.Fatalf("id %d went to task %d", id, task)
			}
		}
	}
}

func TestGroupingsOnNamedStreams(t *testing.T) {
	l := newLedger(1000)
	odd, all := &receipts{}, &receipts{}
	b := topology.NewBuilder()
	// Even ids go on "even", odd ones on "odd".
	b.SetSpout("spout", func() topology.Spout {
		return &streamSpout{Spout: l.Spout(),
			declare: func(d *topology.OutputDeclarer) {
				d.DeclareStream("even", topology.NewFields("id"))
				d.DeclareStream("odd", topology.NewFields("id"))
			},
			emit: func(_ *topology.TopologyContext, out topology.SpoutOutputCollector, values topology.Values, msgID any) error {
				stream := "even"
				if msgID.(int)%2 == 1 {
					stream = "odd"
				}
				return out.EmitTo(stream, values[:1], msgID)
			}}
	}, 1)
	b.SetBolt("odd", func() topology.Bolt { return &recorder{r: odd} }, 2).
		Grouping("spout", "odd", topology.Grouping{Kind: topology.GroupingFields, Fields: topology.NewFields("id")})
	b.SetBolt("all", func() topology.Bolt { return &recorder{r: all} }, 2).
		Grouping("spout", "odd", topology.Grouping{Kind: topology.GroupingAll}).
		Grouping("spout", "even", topology.Grouping{Kind: topology.GroupingShuffle})
	run(t, b, topology.Config{})
	check.For(t, 10*time.Second, l.AllAcked)
	check.For(t, 5*time.Second, func() error {
		if o, a := odd.count(), all.count(); o != 500 || a != 1500 {
			return fmt.Errorf("odd got %d of 500 tuples, all %d of 1500", o, a)
		}
		return nil
	})
	for _, ids := range odd.byTask {
		for _, id := range ids {
			if id%2 != 1 {
				t.Fatalf("bolt subscribed to odd got %d", id)
			}
		}
	}
}

func TestCustomGroupingFactoryReturningNilIsAnError(t *testing.T) {
	b := topology.NewBuilder()
	b.SetSpout("spout", newLedger(1).Spout, 1)
	b.SetBolt("rec", func() topology.Bolt { return &recorder{r: &receipts{}} }, 1).
		CustomGrouping("spout", func() topology.CustomGrouping { return nil })
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := RunLocal(context.Background(), topo, topology.Config{Logger: quietLogger()}); err == nil || !strings.Contains(err.Error(), "factory returned nil") {
		t.Fatalf("RunLocal = %v, want an error about the nil custom grouping", err)
	}
}
