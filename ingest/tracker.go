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
	mu          sync.Mutex
	gen         uint64
	pending     []pendingLine // in send order; pending[:head] are acknowledged
	head        int
	first       uint64 // sequence number of pending[0]
	nextSeq     uint64
	acked       int64 // every line ending at or before it is acknowledged
	outstanding int   // lines of any generation sent and not yet answered
	failure     error // first produce error of this generation
}

type pendingLine struct {
	end  int64 // offset just past the line's newline
	done bool
}

// newTracker starts at offset, the acknowledged offset loaded from the
// position file (or 0).
func newTracker(offset int64) *tracker {
	return &tracker{acked: offset}
}

// sent registers a line ending at end and returns its generation and
// sequence number for the acknowledgement.
func (t *tracker) sent(end int64) (gen, seq uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.head == len(t.pending) {
		t.pending, t.head = t.pending[:0], 0
		t.first = t.nextSeq
	}
	t.pending = append(t.pending, pendingLine{end: end})
	t.outstanding++
	seq = t.nextSeq
	t.nextSeq++
	return t.gen, seq
}

// skipped registers an over-long line ending at end, which is not sent but
// must not hold the acknowledged offset back once the lines before it are
// acknowledged.
func (t *tracker) skipped(end int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.head == len(t.pending) {
		t.acked = end
		return
	}
	t.pending = append(t.pending, pendingLine{end: end, done: true})
	t.nextSeq++
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
	for _, r := range runs {
		for seq := r.from; seq < r.to; seq++ {
			t.pending[seq-t.first].done = true
		}
	}
	for t.head < len(t.pending) && t.pending[t.head].done {
		t.acked = t.pending[t.head].end
		t.head++
	}
	// Compact once the popped prefix dominates, so memory follows the lines
	// in flight rather than all lines ever sent.
	if t.head > 1024 && t.head > len(t.pending)/2 {
		n := copy(t.pending, t.pending[t.head:])
		t.pending = t.pending[:n]
		t.first += uint64(t.head)
		t.head = 0
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
	t.pending, t.head = t.pending[:0], 0
	t.first = t.nextSeq
	t.failure = nil
	if to >= 0 {
		t.acked = to
	}
	return t.acked
}
