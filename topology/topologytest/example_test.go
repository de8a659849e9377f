package topologytest_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/squall-stream/squall/topology"
	"github.com/squall-stream/squall/topology/topologytest"
)

// newSplitter is the bolt under test: it splits sentences into words.
func newSplitter() topology.Bolt {
	return topologytest.BasicFunc(topology.NewFields("word"), func(t *topology.Tuple, out topology.BasicOutputCollector) error {
		sentence := t.StringByField("sentence")
		if sentence == "" {
			return errors.New("an empty sentence")
		}
		for _, w := range strings.Fields(sentence) {
			if err := out.Emit(topology.Values{w}); err != nil {
				return err
			}
		}
		return nil
	})()
}

// A bolt driven directly: prepared with a context and a recording
// collector, fed tuples by the test.
func Example() {
	t := &testing.T{} // in a test, the test's own t
	sentences := topology.NewFields("sentence")
	tc := topologytest.BoltContext(t, newSplitter, sentences)
	out := &topologytest.Collector{}
	bolt := newSplitter()
	if err := bolt.Prepare(tc, out); err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range []string{"白菜 萝卜", ""} {
		bolt.Execute(topology.NewTuple(topology.Source{Component: topologytest.UpstreamID}, sentences,
			topology.Values{s}))
	}
	for _, e := range out.Emitted() {
		fmt.Println("emitted", e.Values, "anchored to", e.Anchors[0].Values())
	}
	fmt.Println("acked", len(out.Acked()), "failed", len(out.Failed()), "errors", out.Errors())
	// Output:
	// emitted [白菜] anchored to [白菜 萝卜]
	// emitted [萝卜] anchored to [白菜 萝卜]
	// acked 1 failed 1 errors [an empty sentence]
}

// A ledger's spout driven by hand, as a runtime would drive it: failed ids
// come again, and the ledger knows when each id is acked.
func ExampleLedger() {
	t := &testing.T{} // in a test, the test's own t
	ledger := topologytest.NewLedger(3, topology.NewFields("id"), func(id int) topology.Values { return topology.Values{int64(id)} })
	b := topology.NewBuilder()
	b.SetSpout("ids", ledger.Spout, 1)
	topo, err := b.Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	spout, out := ledger.Spout(), &topologytest.SpoutCollector{}
	if err := spout.Open(topologytest.Context(t, topo, "ids"), out); err != nil {
		fmt.Println(err)
		return
	}
	spout.NextTuple()
	spout.NextTuple()
	spout.Fail(1)
	spout.NextTuple() // 1 again, before 2
	spout.NextTuple()
	var ids []any
	for _, e := range out.Emitted() {
		ids = append(ids, e.MsgID)
	}
	fmt.Println("emitted", ids)
	spout.Ack(0)
	spout.Ack(1)
	fmt.Println(ledger.AllAcked())
	spout.Ack(2)
	fmt.Println(ledger.AllAcked())
	ledger.CheckExactlyOnce(t)
	// Output:
	// emitted [0 1 1 2]
	// 2 of 3 ids acked, 1 fails
	// <nil>
}
