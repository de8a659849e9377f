package actors

import (
	"time"

	"github.com/squall-stream/squall/topology"
)

// Process latency is Storm's: the time from a bolt taking a tuple up to its
// ack. A bolt that acks later than Execute returns (a pipelined writer, a
// window) has a process latency far above its execute latency. Like Storm's
// (topology.stats.sample.rate), it is measured on a sample of the tuples, so
// that an ack costs a short scan at most.
const (
	// processSampleEvery is one tuple in how many that is timed.
	processSampleEvery = 20
	// processSamples is how many timed tuples may await their ack at once;
	// a new sample replaces the oldest, whose ack may never come.
	processSamples = 32
)

// processSampler times a sample of a bolt task's tuples from Execute to ack.
type processSampler struct {
	tuples [processSamples]*topology.Tuple
	since  [processSamples]int64 // UnixNano when Execute took the tuple up
	next   int                   // the slot the next sample takes
	skip   int                   // tuples until the next sample
	live   int                   // slots holding a tuple
}

// executing notes that the task takes tp up now.
func (s *processSampler) executing(tp *topology.Tuple) {
	if s.skip > 0 {
		s.skip--
		return
	}
	s.skip = processSampleEvery - 1
	if s.tuples[s.next] == nil {
		s.live++
	}
	s.tuples[s.next], s.since[s.next] = tp, time.Now().UnixNano()
	s.next = (s.next + 1) % processSamples
}

// acked returns how long ago tp was taken up if it was sampled, and stops
// timing it.
func (s *processSampler) acked(tp *topology.Tuple) (time.Duration, bool) {
	if s.live == 0 {
		return 0, false
	}
	for i, t := range s.tuples {
		if t == tp {
			s.tuples[i] = nil
			s.live--
			return time.Duration(time.Now().UnixNano() - s.since[i]), true
		}
	}
	return 0, false
}
