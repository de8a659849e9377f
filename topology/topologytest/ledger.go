package topologytest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/squall-stream/squall/topology"
)

// Ledger hands out the ids 0..n-1 to the spouts that [Ledger.Spout] makes,
// and records what became of them: the acks, the fails, and an emit that
// failed. One ledger serves every task of a spout and every instance a
// restart makes, so that a test sees the whole run, and checks at the end
// that every id was acked exactly once ([Ledger.CheckExactlyOnce]). Its
// methods are safe for concurrent use.
type Ledger struct {
	n      int
	fields topology.Fields
	values func(id int) topology.Values
	lease  time.Duration

	mu      sync.Mutex
	next    int   // the next fresh id
	replay  []int // failed ids, emitted again before fresh ones
	acks    []int32
	acked   int // ids acked at least once
	fails   int
	emitErr error
	// With a lease: the ids out (emitted, not yet acked or failed) and until
	// when, and in emit order, so that the first to expire is found first.
	out   map[int]time.Time
	order []leased
}

type leased struct {
	id    int
	until time.Time
}

// NewLedger returns a ledger of n ids whose spouts declare fields on the
// default stream and emit values(id) with id, an int, as message id.
func NewLedger(n int, fields topology.Fields, values func(id int) topology.Values) *Ledger {
	return &Ledger{n: n, fields: fields, values: values}
}

// ReplayUnfinished has an id that was emitted but neither acked nor failed
// within lease emitted again: the stand-in for a spout that resumes from
// committed offsets when the node that read an id dies, whose trees no spout
// hears of again. Such an id may be acked twice (its first tree may still
// complete), so check [Ledger.AllAcked] rather than CheckExactlyOnce. Call it
// before the spouts run; it returns l.
func (l *Ledger) ReplayUnfinished(lease time.Duration) *Ledger {
	l.lease, l.out = lease, map[int]time.Time{}
	return l
}

// Spout makes one of the ledger's spouts; l.Spout is a factory for SetSpout.
// Each call of its NextTuple emits one id: a failed or (with a lease)
// expired one first, else the next fresh one, else nothing.
func (l *Ledger) Spout() topology.Spout { return &ledgerSpout{l: l} }

// take returns the id to emit next, if any.
func (l *Ledger) take() (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	id, ok := l.pick()
	if ok && l.lease > 0 {
		until := time.Now().Add(l.lease)
		l.out[id] = until
		l.order = append(l.order, leased{id, until})
	}
	return id, ok
}

func (l *Ledger) pick() (int, bool) {
	if len(l.replay) > 0 {
		id := l.replay[0]
		l.replay = l.replay[1:]
		return id, true
	}
	for len(l.order) > 0 {
		first := l.order[0]
		if until, ok := l.out[first.id]; ok && until.Equal(first.until) {
			if time.Now().Before(until) {
				break
			}
			l.order = l.order[1:]
			return first.id, true
		}
		// Acked, failed or emitted again since: a stale entry.
		l.order = l.order[1:]
	}
	if l.next >= l.n {
		return 0, false
	}
	l.next++
	l.acks = append(l.acks, 0)
	return l.next - 1, true
}

func (l *Ledger) ack(id int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.out, id)
	if l.acks[id]++; l.acks[id] == 1 {
		l.acked++
	}
}

func (l *Ledger) fail(id int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.out, id)
	l.fails++
	l.replay = append(l.replay, id)
}

func (l *Ledger) emitFailed(id int, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.emitErr == nil {
		l.emitErr = fmt.Errorf("topologytest: emit of id %d: %w", id, err)
	}
}

// Acked returns how many ids have been acked, each counted once.
func (l *Ledger) Acked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.acked
}

// Failed returns how many times the spouts were told of a failed tree.
func (l *Ledger) Failed() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.fails
}

// AllAcked returns nil once every id has been acked, else an error saying
// how many have been, or why a spout could not emit: a condition to wait
// for.
func (l *Ledger) AllAcked() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.emitErr != nil {
		return l.emitErr
	}
	if l.acked < l.n {
		return fmt.Errorf("%d of %d ids acked, %d fails", l.acked, l.n, l.fails)
	}
	return nil
}

// CheckExactlyOnce fails the test unless every id has been acked exactly
// once; call it once the run is over, or after waiting for AllAcked.
func (l *Ledger) CheckExactlyOnce(t testing.TB) {
	t.Helper()
	if err := l.exactlyOnce(); err != nil {
		t.Fatal(err)
	}
}

func (l *Ledger) exactlyOnce() error {
	if err := l.AllAcked(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, n := range l.acks {
		if n != 1 {
			return fmt.Errorf("id %d acked %d times", id, n)
		}
	}
	return nil
}

// ledgerSpout emits the ids its ledger hands out.
type ledgerSpout struct {
	l   *Ledger
	out topology.SpoutOutputCollector
}

func (s *ledgerSpout) DeclareOutputFields(d *topology.OutputDeclarer) { d.Declare(s.l.fields) }

func (s *ledgerSpout) Open(_ *topology.TopologyContext, out topology.SpoutOutputCollector) error {
	s.out = out
	return nil
}

func (s *ledgerSpout) NextTuple() {
	id, ok := s.l.take()
	if !ok {
		return
	}
	if err := s.out.Emit(s.l.values(id), id); err != nil {
		// The values do not fit the fields: replaying cannot help, so the
		// ledger keeps the error for AllAcked to report.
		s.l.emitFailed(id, err)
	}
}

func (s *ledgerSpout) Ack(msgID any)  { s.l.ack(msgID.(int)) }
func (s *ledgerSpout) Fail(msgID any) { s.l.fail(msgID.(int)) }
func (s *ledgerSpout) Close() error   { return nil }
