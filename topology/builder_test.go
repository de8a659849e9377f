package topology

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/squall-stream/squall/internal/topologyinternal"
)

type testSpout struct{ streams map[string]Fields }

func (s *testSpout) DeclareOutputFields(d *OutputDeclarer) {
	for id, f := range s.streams {
		if id == "direct" {
			d.DeclareDirectStream(id, f)
			continue
		}
		d.DeclareStream(id, f)
	}
}
func (s *testSpout) Open(*TopologyContext, SpoutOutputCollector) error { return nil }
func (s *testSpout) NextTuple()                                        {}
func (s *testSpout) Ack(any)                                           {}
func (s *testSpout) Fail(any)                                          {}
func (s *testSpout) Close() error                                      { return nil }

type testBolt struct{ fields Fields }

func (b *testBolt) DeclareOutputFields(d *OutputDeclarer) {
	if b.fields != nil {
		d.Declare(b.fields)
	}
}
func (b *testBolt) Prepare(*TopologyContext, OutputCollector) error { return nil }
func (b *testBolt) Execute(*Tuple)                                  {}
func (b *testBolt) Cleanup() error                                  { return nil }

func spout() Spout {
	return &testSpout{streams: map[string]Fields{DefaultStream: NewFields("user", "amount"), "direct": NewFields("x")}}
}
func bolt() Bolt { return &testBolt{fields: NewFields("user", "total")} }

func TestBuildAcceptsAValidTopologyAndNumbersTasks(t *testing.T) {
	b := NewBuilder()
	b.SetSpout("orders", spout, 2)
	b.SetBolt("totals", bolt, 3).FieldsGrouping("orders", "user")
	b.SetBolt("audit", bolt, 1).DirectGrouping("orders", "direct").ShuffleGrouping("totals")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	// Storm numbers tasks from 1 in component id order.
	for comp, want := range map[string][]int{"audit": {1}, "orders": {2, 3}, "totals": {4, 5, 6}} {
		got := topo.Tasks(comp)
		if len(got) != len(want) || got[0] != want[0] || got[len(got)-1] != want[len(want)-1] {
			t.Errorf("tasks of %s = %v, want %v", comp, got, want)
		}
	}
	if topo.TaskComponent(5) != "totals" || topo.NumTasks() != 6 {
		t.Errorf("task 5 is %q, %d tasks", topo.TaskComponent(5), topo.NumTasks())
	}
	if subs := topo.Subscribers("orders", DefaultStream); len(subs) != 1 || subs[0].Component != "totals" {
		t.Errorf("subscribers of orders: %+v", subs)
	}
	re, err := topo.WithParallelism(map[string]int{"totals": 5})
	if err != nil || len(re.Tasks("totals")) != 5 || len(topo.Tasks("totals")) != 3 {
		t.Errorf("WithParallelism: %v, %v (original %v)", err, re.Tasks("totals"), topo.Tasks("totals"))
	}
}

func TestBuildRejectsBadTopologiesNamingTheCulprit(t *testing.T) {
	cases := []struct {
		name   string
		build  func(b *Builder)
		want   error
		naming []string // what the message must name
	}{
		{"unknown source", func(b *Builder) {
			b.SetSpout("orders", spout, 1)
			b.SetBolt("totals", bolt, 1).ShuffleGrouping("ordrs")
		}, ErrUnknownSource, []string{`"totals"`, `"ordrs"`}},
		{"undeclared stream", func(b *Builder) {
			b.SetSpout("orders", spout, 1)
			b.SetBolt("totals", bolt, 1).Grouping("orders", "refunds", Grouping{Kind: GroupingShuffle})
		}, ErrUnknownStream, []string{`"totals"`, `"refunds"`}},
		{"undeclared field", func(b *Builder) {
			b.SetSpout("orders", spout, 1)
			b.SetBolt("totals", bolt, 1).FieldsGrouping("orders", "usr")
		}, ErrUnknownField, []string{`"totals"`, `"usr"`, "[user amount]"}},
		{"partial key on undeclared field", func(b *Builder) {
			b.SetSpout("orders", spout, 1)
			b.SetBolt("totals", bolt, 1).PartialKeyGrouping("orders", "city")
		}, ErrUnknownField, []string{`"city"`}},
		{"fields grouping without fields", func(b *Builder) {
			b.SetSpout("orders", spout, 1)
			b.SetBolt("totals", bolt, 1).FieldsGrouping("orders")
		}, ErrBadGrouping, []string{`"totals"`}},
		{"duplicate id", func(b *Builder) {
			b.SetSpout("orders", spout, 1)
			b.SetBolt("orders", bolt, 1).ShuffleGrouping("orders")
		}, ErrDuplicateID, []string{`"orders"`}},
		{"parallelism 0", func(b *Builder) {
			b.SetSpout("orders", spout, 0)
		}, ErrBadParallelism, []string{`"orders"`, "got 0"}},
		{"negative parallelism", func(b *Builder) {
			b.SetSpout("orders", spout, 1)
			b.SetBolt("totals", bolt, -2).ShuffleGrouping("orders")
		}, ErrBadParallelism, []string{`"totals"`, "got -2"}},
		{"direct grouping on a plain stream", func(b *Builder) {
			b.SetSpout("orders", spout, 1)
			b.SetBolt("totals", bolt, 1).DirectGrouping("orders", DefaultStream)
		}, ErrDirectMismatch, []string{`"totals"`}},
		{"shuffle on a direct stream", func(b *Builder) {
			b.SetSpout("orders", spout, 1)
			b.SetBolt("totals", bolt, 1).Grouping("orders", "direct", Grouping{Kind: GroupingShuffle})
		}, ErrDirectMismatch, []string{`"direct"`}},
		{"no spouts", func(b *Builder) {}, ErrNoSpouts, nil},
		{"nil factory", func(b *Builder) { b.SetSpout("orders", nil, 1) }, ErrNoFactory, []string{`"orders"`}},
		{"reserved id", func(b *Builder) { b.SetSpout("__system", spout, 1) }, ErrBadID, []string{`"__system"`}},
		{"empty id", func(b *Builder) { b.SetSpout("", spout, 1) }, ErrBadName, []string{"component id", "empty"}},
		{"id that is a path", func(b *Builder) {
			b.SetSpout("orders", spout, 1)
			b.SetBolt("../nodes/x", bolt, 1).ShuffleGrouping("orders")
		}, ErrBadName, []string{`"../nodes/x"`, "component id"}},
		{"id with a slash", func(b *Builder) { b.SetSpout("a/b", spout, 1) }, ErrBadName, []string{`"a/b"`}},
		{"stream id with a slash", func(b *Builder) {
			b.SetSpout("orders", func() Spout { return &testSpout{streams: map[string]Fields{"per/city": NewFields("a")}} }, 1)
		}, ErrBadName, []string{`"orders"`, `stream "per/city"`, "stream id"}},
		{"custom grouping without factory", func(b *Builder) {
			b.SetSpout("orders", spout, 1)
			b.SetBolt("totals", bolt, 1).CustomGrouping("orders", nil)
		}, ErrBadGrouping, []string{"custom"}},
		{"duplicate field", func(b *Builder) {
			b.SetSpout("orders", func() Spout { return &testSpout{streams: map[string]Fields{DefaultStream: NewFields("a", "a")}} }, 1)
		}, ErrDuplicateField, []string{`"a"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := NewBuilder()
			c.build(b)
			_, err := b.Build()
			if !errors.Is(err, c.want) {
				t.Fatalf("Build() = %v, want %v", err, c.want)
			}
			for _, s := range c.naming {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not name %s", err, s)
				}
			}
			var ve *ValidationError
			if c.want != ErrNoSpouts && !errors.As(err, &ve) {
				t.Errorf("%v is not a *ValidationError", err)
			}
		})
	}
}

func TestBuildReportsEveryProblem(t *testing.T) {
	b := NewBuilder()
	b.SetSpout("orders", spout, 0)
	b.SetBolt("a", bolt, 1).ShuffleGrouping("nope")
	b.SetBolt("b", bolt, 1).FieldsGrouping("orders", "nofield")
	_, err := b.Build()
	for _, want := range []error{ErrBadParallelism, ErrUnknownSource, ErrUnknownField} {
		if !errors.Is(err, want) {
			t.Errorf("joined error %v misses %v", err, want)
		}
	}
}

func TestContextInputsAndRequiredFields(t *testing.T) {
	b := NewBuilder()
	b.SetSpout("orders", spout, 1)
	b.SetBolt("sum", bolt, 2).FieldsGrouping("orders", "user")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	tc := NewTopologyContext("t", topo, "sum", topo.Tasks("sum")[1], nil, nil)
	in := tc.Inputs()
	if len(in) != 1 || in[0].Component != "orders" || in[0].Stream != DefaultStream || !in[0].Fields.Contains("amount") {
		t.Fatalf("inputs %+v", in)
	}
	if err := tc.RequireInputFields("user", "amount"); err != nil {
		t.Fatalf("declared fields: %v", err)
	}
	if err := tc.RequireInputFields("user", "city"); !errors.Is(err, ErrUnknownField) || !strings.Contains(err.Error(), `"city"`) {
		t.Fatalf("a missing field: %v, want ErrUnknownField naming it", err)
	}
}

// A component's own logger still says which task wrote; without one it
// gets the task's Logger, and a Logger set to nil does not crash it.
func TestTaskLoggerSaysWhichTask(t *testing.T) {
	b := NewBuilder()
	b.SetSpout("orders", spout, 2)
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	task := topo.Tasks("orders")[1]
	tc := NewTopologyContext("t", topo, "orders", task, nil, nil)
	var buf bytes.Buffer
	tc.TaskLogger(slog.New(slog.NewTextHandler(&buf, nil)).With("node", "n1")).Info("hello")
	if want := fmt.Sprintf("node=n1 topology=t component=orders task=%d", task); !strings.Contains(buf.String(), want) {
		t.Errorf("own logger wrote %q, want it to say %q", buf.String(), want)
	}
	if tc.TaskLogger(nil) != tc.Logger {
		t.Error("without a logger of its own, a component does not get the task's Logger")
	}
	tc.Logger = nil
	if tc.TaskLogger(nil) == nil {
		t.Error("no logger when the task's Logger is nil")
	}
}

// releasingBolt is a rich bolt that says it keeps no input tuple.
type releasingBolt struct{ testBolt }

func (releasingBolt) ReleasesInput() bool { return true }

type quietBasic struct{}

func (quietBasic) DeclareOutputFields(*OutputDeclarer)        {}
func (quietBasic) Prepare(*TopologyContext) error             { return nil }
func (quietBasic) Execute(*Tuple, BasicOutputCollector) error { return nil }
func (quietBasic) Cleanup() error                             { return nil }

// Build records which bolts keep no input tuple, for the runtime to reuse
// their tuples' memory: basic bolts, and rich ones that say so.
func TestBuildRecordsWhichBoltsReleaseTheirInput(t *testing.T) {
	b := NewBuilder()
	b.SetSpout("orders", spout, 1)
	b.SetBolt("rich", bolt, 1).ShuffleGrouping("orders")
	b.SetBolt("releasing", func() Bolt { return &releasingBolt{} }, 1).ShuffleGrouping("orders")
	b.SetBolt("basic", Basic(func() BasicBolt { return quietBasic{} }), 1).ShuffleGrouping("orders")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	releasesInput := topologyinternal.ReleasesInput.(func(*ComponentSpec) bool)
	for id, want := range map[string]bool{"rich": false, "releasing": true, "basic": true} {
		if got := releasesInput(topo.Component(id)); got != want {
			t.Errorf("%s: ReleasesInput %v, want %v", id, got, want)
		}
	}
}

// A Topology is shared by the runtime and whoever reads it: what its methods
// return is the caller's, and the slices a user gave the Builder are not the
// Topology's either.
func TestTopologyReturnsCopies(t *testing.T) {
	b := NewBuilder()
	b.SetSpout("orders", spout, 2)
	keys := []string{"user"}
	b.SetBolt("totals", bolt, 3).FieldsGrouping("orders", keys...)
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	keys[0] = "amount"
	c := topo.Component("totals")
	c.Parallelism = 9
	c.Inputs[0].Grouping.Fields[0] = "amount"
	c.Inputs = nil
	c.Streams[DefaultStream].Fields[0] = "x"
	delete(c.Streams, DefaultStream)
	topo.Components()[1].Inputs[0].Component = "nobody"
	topo.Tasks("totals")[0] = 99
	topo.Subscribers("orders", DefaultStream)[0].Grouping.Fields[0] = "amount"

	got := topo.Component("totals")
	if got.Parallelism != 3 || len(got.Inputs) != 1 || got.Inputs[0].Component != "orders" || !slices.Equal(got.Inputs[0].Grouping.Fields, Fields{"user"}) {
		t.Errorf("component changed through a copy: %+v", got)
	}
	if def, ok := got.Streams[DefaultStream]; !ok || !slices.Equal(def.Fields, Fields{"user", "total"}) {
		t.Errorf("streams changed through a copy: %+v", got.Streams)
	}
	if tasks := topo.Tasks("totals"); !slices.Equal(tasks, []int{3, 4, 5}) {
		t.Errorf("tasks changed through a copy: %v", tasks)
	}
	if subs := topo.Subscribers("orders", DefaultStream); !slices.Equal(subs[0].Grouping.Fields, Fields{"user"}) {
		t.Errorf("subscribers changed through a copy: %+v", subs)
	}
	if topo.Component("nobody") != nil {
		t.Error("Component of an unknown id is not nil")
	}
}
