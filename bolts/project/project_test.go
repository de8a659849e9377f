package project

import (
	"slices"
	"strings"
	"testing"

	"github.com/squall-stream/squall/topology"
	"github.com/squall-stream/squall/topology/topologytest"
)

var parsed = topology.NewFields("orderId", "province", "amount")

// prepared returns a projection of fields prepared to read parsed orders,
// with a recording collector, and what Prepare returned.
func prepared(t *testing.T, fields ...string) (topology.Bolt, *topologytest.Collector, error) {
	t.Helper()
	bolt, out := New(fields...)(), &topologytest.Collector{}
	return bolt, out, bolt.Prepare(topologytest.BoltContext(t, New(fields...), parsed), out)
}

func TestProjectKeepsFieldsInTheGivenOrder(t *testing.T) {
	bolt, out, err := prepared(t, "amount", "province")
	if err != nil {
		t.Fatal(err)
	}
	in := topology.NewTuple(topology.Source{Component: "parse"}, parsed, topology.Values{"O1", "浙江", int64(9900)})
	bolt.Execute(in)
	emitted := out.Emitted()
	if len(emitted) != 1 || !slices.Equal(emitted[0].Values, topology.Values{int64(9900), "浙江"}) {
		t.Fatalf("emitted %v, want [[9900 浙江]]", emitted)
	}
	if !slices.Equal(emitted[0].Anchors, []*topology.Tuple{in}) || !slices.Equal(out.Acked(), []*topology.Tuple{in}) {
		t.Fatalf("anchors %v, acked %v: want the output anchored to the input, and the input acked", emitted[0].Anchors, out.Acked())
	}
}

func TestProjectRefusesAMissingField(t *testing.T) {
	_, _, err := prepared(t, "province", "city")
	if err == nil || !strings.Contains(err.Error(), `"city"`) {
		t.Fatalf("Prepare: %v, want an error naming the missing field", err)
	}
}
