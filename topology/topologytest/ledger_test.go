package topologytest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/squall-stream/squall/internal/check"
	"github.com/squall-stream/squall/topology"
)

func idValues(id int) topology.Values { return topology.Values{int64(id)} }

// openLedgerSpout opens one of l's spouts with out.
func openLedgerSpout(t *testing.T, l *Ledger, out topology.SpoutOutputCollector) topology.Spout {
	t.Helper()
	b := topology.NewBuilder()
	b.SetSpout("ids", l.Spout, 1)
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	s := l.Spout()
	if err := s.Open(Context(t, topo, "ids"), out); err != nil {
		t.Fatal(err)
	}
	return s
}

func msgIDs(c *SpoutCollector) []any {
	var ids []any
	for _, e := range c.Emitted() {
		ids = append(ids, e.MsgID)
	}
	return ids
}

func TestLedgerServesEverySpoutOnce(t *testing.T) {
	l := NewLedger(4, topology.NewFields("id"), idValues)
	out := &SpoutCollector{}
	// Two tasks, or an instance and the one a restart made.
	a, b := openLedgerSpout(t, l, out), openLedgerSpout(t, l, out)
	for range 3 {
		a.NextTuple()
		b.NextTuple()
	}
	if got := msgIDs(out); !slices.Equal(got, []any{0, 1, 2, 3}) {
		t.Fatalf("emitted ids %v, want each of 0..3 once", got)
	}
	a.Ack(0)
	b.Fail(1)
	a.Ack(2)
	b.Ack(3)
	a.NextTuple()
	b.Ack(1)
	if got := msgIDs(out); got[len(got)-1] != 1 {
		t.Fatalf("emitted %v: the failed id was not emitted again", got)
	}
	if err := l.exactlyOnce(); err != nil || l.Acked() != 4 || l.Failed() != 1 {
		t.Fatalf("exactly once: %v; %d acked, %d fails; want nil, 4 and 1", err, l.Acked(), l.Failed())
	}
}

func TestExactlyOnceNamesWhatIsWrong(t *testing.T) {
	l := NewLedger(2, topology.NewFields("id"), idValues)
	s := openLedgerSpout(t, l, &SpoutCollector{})
	s.NextTuple()
	s.NextTuple()
	s.Ack(1)
	if err := l.exactlyOnce(); err == nil || err.Error() != "1 of 2 ids acked, 0 fails" {
		t.Fatalf("one of two ids acked: %v", err)
	}
	s.Ack(0)
	s.Ack(1)
	if err := l.exactlyOnce(); err == nil || err.Error() != "id 1 acked 2 times" {
		t.Fatalf("an id acked twice: %v", err)
	}
}

// refusing is a collector whose emits fail, as a runtime's do for values
// that do not fit the declared fields.
type refusing struct{ SpoutCollector }

func (*refusing) Emit(topology.Values, any) error { return errors.New("2 values for 1 field") }

func TestLedgerReportsAnEmitThatFailed(t *testing.T) {
	l := NewLedger(1, topology.NewFields("id"), idValues)
	openLedgerSpout(t, l, &refusing{}).NextTuple()
	if err := l.AllAcked(); err == nil || err.Error() != "topologytest: emit of id 0: 2 values for 1 field" {
		t.Fatalf("AllAcked after a refused emit: %v", err)
	}
}

func TestReplayUnfinishedEmitsIdsAgainAfterTheLease(t *testing.T) {
	l := NewLedger(2, topology.NewFields("id"), idValues).ReplayUnfinished(50 * time.Millisecond)
	out := &SpoutCollector{}
	s := openLedgerSpout(t, l, out)
	s.NextTuple()
	s.NextTuple()
	s.Ack(1)
	s.NextTuple() // 0 is out, and its lease runs
	if got := msgIDs(out); !slices.Equal(got, []any{0, 1}) {
		t.Fatalf("emitted %v within the lease, want [0 1]", got)
	}
	check.For(t, 5*time.Second, func() error {
		s.NextTuple()
		if got := msgIDs(out); !slices.Equal(got, []any{0, 1, 0}) {
			return fmt.Errorf("emitted %v, want [0 1 0]", got)
		}
		return nil
	})
	s.Ack(0)
	s.Ack(0) // the first tree completed after all
	if err := l.AllAcked(); err != nil {
		t.Fatal(err)
	}
	if err := l.exactlyOnce(); err == nil {
		t.Fatal("an id acked twice passed as exactly once")
	}
}
