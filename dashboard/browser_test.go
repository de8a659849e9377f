package dashboard

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/squall-stream/squall/actors"
	"github.com/squall-stream/squall/internal/browsertest"
	"github.com/squall-stream/squall/topology"
)

func TestBrowserShowsTheTopologyPage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts chromium")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	// The spout emits 1000 tuples between two reads of its metrics.
	now := time.Now()
	var reads atomic.Int64
	metrics := func() []actors.ComponentMetrics {
		emitted := 1234 + 1000*reads.Add(1)
		return []actors.ComponentMetrics{
			{Component: "kafka-orders", Spout: true, Tasks: make([]actors.TaskMetrics, 2),
				TaskMetrics: actors.TaskMetrics{Emitted: emitted, Acked: emitted - 4, Failed: 4, CompleteLatency: 3 * time.Millisecond,
					Streams: []actors.StreamMetrics{{Stream: "default", Emitted: emitted, Transferred: emitted}}}},
			{Component: "aggregate-redis", Tasks: make([]actors.TaskMetrics, 4),
				TaskMetrics: actors.TaskMetrics{Executed: 1234, Acked: 1234, ExecuteLatency: 250 * time.Microsecond, Capacity: 0.42,
					Errors: 1, LastError: "redis: dial <b>127.0.0.1:6379</b>: connection refused", LastErrorAt: now}},
		}
	}
	// httptest binds 127.0.0.1 on a free port. Every is short so the page
	// sees the rates soon.
	actions := &fakeActions{}
	srv := httptest.NewServer(New(Options{Topologies: withLostTopology(InProcess("orders", drawnTopology(t), metrics), drawnTopology(t)), Actions: actions,
		Every: 100 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}).Handler())
	defer srv.Close()
	b := browsertest.Start(t, ctx)
	defer b.Close()

	b.Navigate(t, srv.URL+"/topology")
	b.WaitFor(t, "the topology's panel",
		`() => [...document.querySelectorAll("#topologies h2")].some((h) => h.textContent === "orders")`,
		`() => document.getElementById("topologies").innerText`)
	b.WaitFor(t, "the component rows",
		`(...ids) => ids.every((id) => [...document.querySelectorAll("#topologies tbody tr td:first-child")].some((td) => td.textContent === id))`,
		`() => document.getElementById("topologies").innerText`, "kafka-orders", "aggregate-redis")
	b.WaitFor(t, "the component's last error, escaped",
		`() => [...document.querySelectorAll("#topologies table.components .lasterr")].some((e) => e.textContent.endsWith("redis: dial <b>127.0.0.1:6379</b>: connection refused"))`,
		`() => document.getElementById("topologies").innerText`)
	b.WaitFor(t, "the drawing: a box per component and the stream between them",
		`() => document.querySelectorAll("#topologies svg.dag g.node").length === 2 &&
			[...document.querySelectorAll("#topologies svg.dag g.edge text")].some((e) => e.textContent.startsWith("fields(province)"))`,
		`() => document.querySelector("#topologies svg.dag")?.outerHTML ?? "no drawing"`)
	b.WaitFor(t, "a row per task in the tasks table",
		`() => document.querySelectorAll("#topologies table.tasks tbody tr").length === 6`,
		`() => document.querySelectorAll("#topologies table.tasks tbody tr").length`)
	b.WaitFor(t, "the stream's rate on its edge",
		`() => [...document.querySelectorAll("#topologies svg.dag g.edge text")].some((e) => /^fields\(province\) · [1-9][0-9,]*\/s$/.test(e.textContent))`,
		`() => [...document.querySelectorAll("#topologies svg.dag g.edge text")].map((e) => e.textContent).join(" | ")`)
	b.WaitFor(t, "the spout's rate, tuples/s between updates",
		`() => { const row = [...document.querySelectorAll("#topologies table.components tbody tr")].find((r) => r.cells[0].textContent === "kafka-orders");
			return row && Number(row.cells[3].textContent.replace(/,/g, "")) > 0; }`,
		`() => document.querySelector("#topologies table.components").innerText`)
	// Storm UI's actions: a button posts the action, the page says it was done.
	b.Do(t, `document.querySelector('#topologies button[data-act="deactivate"]').click()`)
	b.WaitFor(t, "the page to report the deactivation",
		`() => document.getElementById("action").textContent === "deactivate orders"`,
		`() => document.getElementById("action").textContent`)
	if got := actions.done(); !slices.Equal(got, []string{"deactivate orders"}) {
		t.Fatalf("actions done: %v", got)
	}
	// The page redraws at every update; a tasks table the user opened stays open.
	b.Do(t, `document.querySelector("#topologies details summary").click()`)
	b.Do(t, `window.redraws = 0; new MutationObserver(() => window.redraws++).observe(document.getElementById("topologies"), {childList: true})`)
	b.WaitFor(t, "the tasks table still open after two redraws",
		`() => window.redraws >= 2 && document.querySelector("#topologies details[open]") !== null`,
		`() => "redraws " + window.redraws + ", open " + (document.querySelector("#topologies details[open]") !== null)`)

	b.CheckProblems(t)
}

// drawnTopology is the shape of the metrics the browser test shows: a spout
// and a bolt fed by fields grouping.
func drawnTopology(t *testing.T) *topology.Topology {
	b := topology.NewBuilder()
	b.SetSpout("kafka-orders", func() topology.Spout { return provinceSpout{} }, 2)
	b.SetBolt("aggregate-redis", topology.Basic(func() topology.BasicBolt { return sinkBolt{} }), 4).FieldsGrouping("kafka-orders", "province")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

type provinceSpout struct{}

func (provinceSpout) DeclareOutputFields(d *topology.OutputDeclarer) {
	d.Declare(topology.NewFields("province"))
}
func (provinceSpout) Open(*topology.TopologyContext, topology.SpoutOutputCollector) error { return nil }
func (provinceSpout) NextTuple()                                                          {}
func (provinceSpout) Ack(any)                                                             {}
func (provinceSpout) Fail(any)                                                            {}
func (provinceSpout) Close() error                                                        { return nil }

type sinkBolt struct{}

func (sinkBolt) DeclareOutputFields(*topology.OutputDeclarer)                 {}
func (sinkBolt) Prepare(*topology.TopologyContext) error                      { return nil }
func (sinkBolt) Execute(*topology.Tuple, topology.BasicOutputCollector) error { return nil }
func (sinkBolt) Cleanup() error                                               { return nil }

// withLostTopology adds to topologies one whose every node failed to answer:
// it has streams to draw but no component figures.
func withLostTopology(topologies func(context.Context) ([]Topology, error), topo *topology.Topology) func(context.Context) ([]Topology, error) {
	return func(ctx context.Context) ([]Topology, error) {
		tops, err := topologies(ctx)
		return append(tops, Topology{Name: "lost", Status: "active", Unreachable: []string{"node-3"}, Topology: topo}), err
	}
}
