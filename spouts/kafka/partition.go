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
// emitted and not yet done, the retries waiting for their backoff, and the
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
	// inflight holds, by offset, the messages read and not yet done
	// (acked, or dead-lettered). Its size is what MaxUncommittedOffsets
	// bounds.
	inflight map[int64]*message
	// order lists the offsets read, ascending; order[head:] may still be
	// in flight, everything before head is done.
	order []int64
	head  int
	// retries are failed messages waiting for their backoff.
	retries []*message
	// saved is the offset last stored; a commit is due when it differs.
	saved int64
}

// message is a message in flight, cached so that a retry needs no seek.
type message struct {
	rec      *Record
	attempts int // failures so far
	retryAt  time.Time
	lastErr  string
	// deadLettering is set while the message is being produced to the
	// dead-letter topic; it is done once Kafka has it.
	deadLettering bool
}

// msgID is the message id of a spout tuple: the partition state (so that a
// late ack of a partition given up is recognised) and the offset.
type msgID struct {
	p      *partition
	offset int64
}

func newPartition(key partitionKey, pc sarama.PartitionConsumer, start int64) *partition {
	return &partition{key: key, pc: pc, next: start, saved: -1, inflight: map[int64]*message{}}
}

// add records a message read from Kafka.
func (p *partition) add(rec *Record) *message {
	m := &message{rec: rec}
	p.inflight[rec.Offset] = m
	p.order = append(p.order, rec.Offset)
	p.next = rec.Offset + 1
	return m
}

// done forgets a message that needs no more processing and moves the
// committable offset over the done prefix.
func (p *partition) done(offset int64) {
	delete(p.inflight, offset)
	for p.head < len(p.order) {
		if _, ok := p.inflight[p.order[p.head]]; ok {
			break
		}
		p.head++
	}
	// Compact once the done prefix dominates, so memory follows what is in
	// flight, not all that was ever read.
	if p.head > 1024 && p.head > len(p.order)/2 {
		n := copy(p.order, p.order[p.head:])
		p.order, p.head = p.order[:n], 0
	}
}

// committable is one past the highest offset below which every message is
// done: the offset to store.
func (p *partition) committable() int64 {
	if p.head < len(p.order) {
		return p.order[p.head]
	}
	return p.next
}

// full reports whether reading must pause: MaxUncommittedOffsets messages
// are in flight.
func (p *partition) full(maxUncommitted int) bool { return len(p.inflight) >= maxUncommitted }
