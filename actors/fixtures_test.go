package actors

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/squall-stream/squall/internal/check"
	"github.com/squall-stream/squall/topology"
	"github.com/squall-stream/squall/topology/topologytest"
)

// idFields are the fields of the ids the tests' spouts emit.
var idFields = topology.NewFields("id", "key")

// newLedger returns a ledger of n ids whose spouts emit
// Values{id, "k<id%100>"}.
func newLedger(n int) *topologytest.Ledger { return newKeyedLedger(n, 100) }

// newKeyedLedger returns a ledger of n ids whose spouts emit
// Values{id, "k<id%keys>"}.
func newKeyedLedger(n, keys int) *topologytest.Ledger {
	return topologytest.NewLedger(n, idFields, func(id int) topology.Values {
		return topology.Values{int64(id), keyOf(id % keys)}
	})
}

func keyOf(i int) string { return "k" + strconv.Itoa(i) }

// ackAll is the execute of a bolt that acks every tuple and emits nothing.
func ackAll(*topology.Tuple, topology.BasicOutputCollector) error { return nil }

// streamBolt is a basic bolt made of a function, as topologytest.BasicFunc's,
// that emits on named streams of fields, which BasicFunc's bolts, declaring
// only the default stream, cannot.
type streamBolt struct {
	fields  topology.Fields
	streams []string
	exec    func(*topology.Tuple, topology.BasicOutputCollector) error
}

// streamFunc returns a factory of streamBolts.
func streamFunc(fields topology.Fields, exec func(*topology.Tuple, topology.BasicOutputCollector) error, streams ...string) func() topology.Bolt {
	return topology.Basic(func() topology.BasicBolt { return &streamBolt{fields: fields, streams: streams, exec: exec} })
}

func (b *streamBolt) DeclareOutputFields(d *topology.OutputDeclarer) {
	for _, s := range b.streams {
		d.DeclareStream(s, b.fields)
	}
}
func (b *streamBolt) Prepare(*topology.TopologyContext) error { return nil }
func (b *streamBolt) Execute(t *topology.Tuple, out topology.BasicOutputCollector) error {
	return b.exec(t, out)
}
func (b *streamBolt) Cleanup() error { return nil }

// streamSpout is a ledger's spout whose tuples go out as emit sends them,
// on the streams declare declares, rather than on the default stream, the
// only one a topologytest.Ledger's spouts emit on.
type streamSpout struct {
	topology.Spout
	declare func(d *topology.OutputDeclarer)
	emit    func(tc *topology.TopologyContext, out topology.SpoutOutputCollector, values topology.Values, msgID any) error
}

func (s *streamSpout) DeclareOutputFields(d *topology.OutputDeclarer) { s.declare(d) }

func (s *streamSpout) Open(tc *topology.TopologyContext, out topology.SpoutOutputCollector) error {
	return s.Spout.Open(tc, emitFunc{out, func(values topology.Values, msgID any) error {
		return s.emit(tc, out, values, msgID)
	}})
}

// emitFunc is a spout's collector whose Emit runs a function.
type emitFunc struct {
	topology.SpoutOutputCollector
	emit func(values topology.Values, msgID any) error
}

func (c emitFunc) Emit(values topology.Values, msgID any) error { return c.emit(values, msgID) }

// run starts a topology and shuts it down when the test ends.
func run(t *testing.T, b *topology.Builder, conf topology.Config) *LocalTopology {
	t.Helper()
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	if conf.Logger == nil {
		conf.Logger = quietLogger()
	}
	l, err := RunLocal(context.Background(), topo, conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Shutdown)
	return l
}

// checkNothingPending fails unless, within 5 s, no spout has a tree in
// flight.
func checkNothingPending(t *testing.T, l *LocalTopology) {
	t.Helper()
	check.For(t, 5*time.Second, func() error {
		if n := l.pending(); n != 0 {
			return fmt.Errorf("%d trees pending", n)
		}
		return nil
	})
}

// quietLogger drops the runtime's logs; crash logs are expected in tests.
func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
