package actors

import (
	"testing"
	"time"

	"github.com/squall-stream/squall/internal/check"
	"github.com/squall-stream/squall/topology"
	"github.com/squall-stream/squall/topology/topologytest"
)

func TestSpoutBoltBoltAcksEveryMessage(t *testing.T) {
	l := newLedger(20000)
	b := topology.NewBuilder()
	b.SetSpout("spout", l.Spout, 2)
	pass := func(t *topology.Tuple, out topology.BasicOutputCollector) error { return out.Emit(t.Values()) }
	b.SetBolt("a", topologytest.BasicFunc(idFields, pass), 3).ShuffleGrouping("spout")
	b.SetBolt("b", topologytest.BasicFunc(nil, ackAll), 2).FieldsGrouping("a", "key")
	lt := run(t, b, topology.Config{})
	check.For(t, 20*time.Second, l.AllAcked)
	l.CheckExactlyOnce(t)
	checkNothingPending(t, lt)
}
