package topologytest

import (
	"testing"

	"github.com/squall-stream/squall/topology"
)

// Component ids of the topology BoltContext builds.
const (
	// UpstreamID is the spout that feeds the bolt under test.
	UpstreamID = "upstream"
	// BoltID is the bolt under test.
	BoltID = "bolt"
)

// Context returns the TopologyContext of the first task of component in
// topo, as a runtime running topo under the zero topology.Config would hand
// it to Open or Prepare (TopologyName, RunID and MessageTimeout are the
// Config's defaults), for a test that drives the component directly. Its
// Done channel closes when the test ends. Set its fields (Settings,
// MessageTimeout, Logger) before Open or Prepare to test other settings.
func Context(t testing.TB, topo *topology.Topology, component string) *topology.TopologyContext {
	t.Helper()
	tasks := topo.Tasks(component)
	if len(tasks) == 0 {
		t.Fatalf("topologytest: the topology has no component %q", component)
	}
	conf := topology.Config{}.Defaults()
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	tc := topology.NewTopologyContext(conf.Name, topo, component, tasks[0], conf.Settings, done)
	tc.RunID, tc.MessageTimeout = conf.RunID, conf.MessageTimeout
	return tc
}

// BoltContext builds a topology in which a bolt made by bolt (BoltID) reads,
// with a shuffle grouping, the default stream of an [Upstream] spout
// (UpstreamID) that declares fields, and returns the Context of the bolt's
// task. A Build error fails the test, so a bolt's own validation and its
// checks of its inputs at Prepare can be tested against fields.
func BoltContext(t testing.TB, bolt func() topology.Bolt, fields topology.Fields) *topology.TopologyContext {
	t.Helper()
	b := topology.NewBuilder()
	b.SetSpout(UpstreamID, Upstream(fields), 1)
	b.SetBolt(BoltID, bolt, 1).ShuffleGrouping(UpstreamID)
	topo, err := b.Build()
	if err != nil {
		t.Fatalf("topologytest: %v", err)
	}
	return Context(t, topo, BoltID)
}

// Upstream returns a factory of spouts that declare fields on the default
// stream and never emit: what feeds a bolt under test in a topology built
// only to check the bolt's declarations, or to give it a context.
func Upstream(fields topology.Fields) func() topology.Spout {
	return func() topology.Spout { return upstream{fields} }
}

type upstream struct{ fields topology.Fields }

func (s upstream) DeclareOutputFields(d *topology.OutputDeclarer)                    { d.Declare(s.fields) }
func (upstream) Open(*topology.TopologyContext, topology.SpoutOutputCollector) error { return nil }
func (upstream) NextTuple()                                                          {}
func (upstream) Ack(any)                                                             {}
func (upstream) Fail(any)                                                            {}
func (upstream) Close() error                                                        { return nil }
