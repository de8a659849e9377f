package actors

import (
	"testing"
	"time"

	"github.com/squall-stream/squall/topology"
)

func TestSpoutBoltBoltAcksEveryMessage(t *testing.T) {
	l := newLedger(20000)
	b := topology.NewBuilder()
	b.SetSpout("spout", func() topology.Spout { return &ledgerSpout{l: l} }, 2)
	pass := func(t *topology.Tuple, out topology.BasicOutputCollector) error { return out.Emit(t.Values()) }
	b.SetBolt("a", basic(topology.NewFields("id", "key"), pass), 3).ShuffleGrouping("spout")
	b.SetBolt("b", basic(nil, func(*topology.Tuple, topology.BasicOutputCollector) error { return nil }), 2).FieldsGrouping("a", "key")
	lt := run(t, b, topology.Config{})
	wait(t, 20*time.Second, "all acked", func() bool { return l.ackedCount() == l.total })
	l.checkExactlyOnceAcks(t)
	checkNothingPending(t, lt)
}
