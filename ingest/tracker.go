package ingest

import "sync"

// tracker follows the lines of one file between being sent and being
// acknowledged by Kafka, and knows the offset below which every line was
// acknowledged: the only offset the position file may record. Kafka may
// acknowledge lines out of order (they go to different partitions), so it
// keeps the in-flight lines in send order and advances over the acknowledged
// prefix.
//
// A generation tags each send. Rewinding (after a produce error, a crash of
// the file's actor, or a truncation) starts a new generation; answers for
// older generations still release their buffer space but no longer move the
// offset, since those lines are sent again.
type tracker struct {
	// mu guards the rest. Lock order (locksordering.txt): a leaf, taken
	// under Agent.mu, under topic.mu, or alone.
	mu  sync.Mutex
	gen uint64
	// pending is a ring of the lines in flight, in send order, from head;
	// n of them. It grows (by doubling) to the most lines ever in flight
	// and is never copied otherwise: a line costs one slot, not a share of
	// a growing slice.
	pending     []pendingLine
	head, n     int
	first       uint64 // sequence number of the line at head
	acked       int64  // every line ending at or before it is acknowledged
	outstanding int    // lines of any generation sent and not yet answered
	failure     error  // first produce error of this generation
}

type pendingLine struct {
	end  int64 // offset just past the line's newline
	done bool
}

// newTracker starts at offset, the acknowledged offset loaded from the
// position file (or 0).
func newTracker(offset int64) *tracker {
	return &tracker{acked: offset, pending: make([]pendingLine, 64)}
}

// push appends a line to the ring and returns its sequence number. Under
// t.mu.
func (t *tracker) push(l pendingLine) uint64 {
	if t.n == len(t.pending) {
		grown := make([]pendingLine, 2*len(t.pending))
		k := copy(grown, t.pending[t.head:])
		copy(grown[k:], t.pending[:t.head])
		t.pending, t.head = grown, 0
	}
	t.pending[(t.head+t.n)&(len(t.pending)-1)] = l
	t.n++
	return t.first + uint64(t.n-1)
}

// sent registers a line ending at end and returns its generation and
// sequence number for the acknowledgement; ok is false, and nothing is
// registered, once a line of the generation was refused.
func (t *tracker) sent(end int64) (gen, seq uint64, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.failure != nil {
		// Kafka refused a line of this generation: the file is read again
		// from the acknowledged offset, and a line sent now would reach
		// Kafka before the refused ones do.
		return 0, 0, false
	}
	t.outstanding++
	return t.gen, t.push(pendingLine{end: end}), true
}

// skipped registers an over-long line ending at end, which is not sent but
// must not hold the acknowledged offset back once the lines before it are
// acknowledged.
func (t *tracker) skipped(end int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n == 0 {
		t.acked = end
		return
	}
	t.push(pendingLine{end: end, done: true})
}

// ack records Kafka's acknowledgement of lines of generation gen: the runs
// of sequence numbers of one batch, lines in all.
func (t *tracker) ack(gen uint64, lines int, runs []seqRun) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.outstanding -= lines
	if gen != t.gen {
		return
	}
	mask := len(t.pending) - 1
	for _, r := range runs {
		for seq := r.from; seq < r.to; seq++ {
			t.pending[(t.head+int(seq-t.first))&mask].done = true
		}
	}
	for t.n > 0 && t.pending[t.head].done {
		t.acked = t.pending[t.head].end
		t.head = (t.head + 1) & mask
		t.n--
		t.first++
	}
}

// fail records that Kafka refused lines of generation gen for good. The
// file's actor rewinds once every line in flight is answered.
func (t *tracker) fail(gen uint64, lines int, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.outstanding -= lines
	if gen == t.gen && t.failure == nil {
		t.failure = err
	}
}

// state returns the acknowledged offset, the lines in flight (any
// generation) and the pending failure of this generation.
func (t *tracker) state() (acked int64, outstanding int, failure error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.acked, t.outstanding, t.failure
}

// offset returns the acknowledged offset.
func (t *tracker) offset() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.acked
}

// rewind starts a new generation at the acknowledged offset (or at to, if
// to >= 0: 0 after a truncation), forgetting the lines in flight, and
// returns the offset to read from.
func (t *tracker) rewind(to int64) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.gen++
	t.first += uint64(t.n)
	t.head, t.n = 0, 0
	t.failure = nil
	if to >= 0 {
		t.acked = to
	}
	return t.acked
}
