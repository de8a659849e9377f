package kafka

import (
	"time"

	"github.com/IBM/sarama"
)

// partitionKey names a partition of a topic.
type partitionKey struct {
	topic     string
	partition int32
}

// partition is the task-side state of one owned partition: the messages
// read and not yet done, the retries waiting for their backoff, and the
// offset that may be committed. Only the task goroutine touches it.
type partition struct {
	key partitionKey
	pc  sarama.PartitionConsumer
	// closed is set when the partition is given up (rewound, lost, or the
	// spout closes); acks of its messages are ignored from then on.
	closed bool
	// next is the offset after the last message read from pc: where a
	// partition with nothing in flight is committed.
	next int64
	// window holds the messages read, in order, from the first one not
	// done; a done message is nil until the window's front passes it.
	// window[i] has sequence number first+i.
	window []*message
	first  uint64
	// live counts the messages in the window not done: what
	// MaxUncommittedOffsets bounds.
	live int
	// retries are failed messages waiting for their backoff.
	retries []*message
	// saved is the offset last stored; a commit is due when it differs.
	saved int64
}

// message is a message in flight, cached so that a retry needs no seek. A
// *message is the spout tuple's message id: converting a pointer to an
// interface allocates nothing, and it leads back to its partition.
type message struct {
	rec      *sarama.ConsumerMessage
	p        *partition
	seq      uint64
	attempts int // failures so far
	retryAt  time.Time
	lastErr  string
	done     bool
	// deadLettering is set while the message is being produced to the
	// dead-letter topic; it is done once Kafka has it.
	deadLettering bool
}

func newPartition(key partitionKey, pc sarama.PartitionConsumer, start int64) *partition {
	return &partition{key: key, pc: pc, next: start, saved: -1}
}

// add records a message read from Kafka.
func (p *partition) add(rec *sarama.ConsumerMessage) *message {
	m := &message{rec: rec, p: p, seq: p.first + uint64(len(p.window))}
	p.window = append(p.window, m)
	p.live++
	p.next = rec.Offset + 1
	return m
}

// finish marks a message done and moves the committable offset over the
// done prefix.
func (p *partition) finish(m *message) {
	if m.done || m.p != p {
		return
	}
	m.done = true
	p.live--
	p.window[m.seq-p.first] = nil
	n := 0
	for n < len(p.window) && p.window[n] == nil {
		n++
	}
	if n == 0 {
		return
	}
	p.first += uint64(n)
	p.window = p.window[n:]
	// Move the window back to the front of its array once the passed part
	// dominates, so memory follows what is in flight.
	if cap(p.window) > 2048 && len(p.window) < cap(p.window)/4 {
		p.window = append(make([]*message, 0, 2*len(p.window)+64), p.window...)
	}
}

// committable is one past the highest offset below which every message is
// done: the offset to store.
func (p *partition) committable() int64 {
	if len(p.window) > 0 {
		return p.window[0].rec.Offset
	}
	return p.next
}

// full reports whether reading must pause: MaxUncommittedOffsets messages
// are in flight.
func (p *partition) full(maxUncommitted int) bool { return p.live >= maxUncommitted }
