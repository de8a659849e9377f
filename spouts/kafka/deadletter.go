package kafka

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/IBM/sarama"
)

// Headers of a dead-lettered message, beside the original's own headers.
const (
	HeaderTopology  = "squall-topology"
	HeaderSpout     = "squall-spout"
	HeaderTopic     = "squall-topic"
	HeaderPartition = "squall-partition"
	HeaderOffset    = "squall-offset"
	HeaderAttempts  = "squall-attempts"
	HeaderError     = "squall-error"
)

// ErrDeadLettered is what the spout reports, wrapped with the message's
// place and last error, for every message it sends to the dead-letter
// topic; it is counted with the task's errors.
var ErrDeadLettered = errors.New("message dead-lettered after its retries")

// deadLetter produces a message that exhausted its retries to the
// dead-letter topic, retrying until Kafka has it (or the spout closes: the
// message is then not committed, and the next run retries it). The task
// hears of success by an event and only then counts the message done.
func (m *manager) deadLetter(msg *message) {
	rec := msg.rec
	out := &sarama.ProducerMessage{
		Topic: m.conf.DeadLetterTopic,
		Value: sarama.ByteEncoder(rec.Value),
		Headers: []sarama.RecordHeader{
			{Key: []byte(HeaderTopology), Value: []byte(m.topo)},
			{Key: []byte(HeaderSpout), Value: []byte(m.spout)},
			{Key: []byte(HeaderTopic), Value: []byte(rec.Topic)},
			{Key: []byte(HeaderPartition), Value: []byte(strconv.Itoa(int(rec.Partition)))},
			{Key: []byte(HeaderOffset), Value: []byte(strconv.FormatInt(rec.Offset, 10))},
			{Key: []byte(HeaderAttempts), Value: []byte(strconv.Itoa(msg.attempts))},
			{Key: []byte(HeaderError), Value: []byte(msg.lastErr)},
		},
	}
	if rec.Key != nil {
		out.Key = sarama.ByteEncoder(rec.Key)
	}
	for _, h := range rec.Headers {
		if h != nil {
			out.Headers = append(out.Headers, *h)
		}
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		backoff := m.conf.ReconnectBackoff
		for {
			err := m.produce(out)
			if err == nil {
				m.push(event{deadLettered: msg})
				m.wake()
				return
			}
			m.log.Warn("kafka spout cannot write to the dead-letter topic; retrying",
				"dead_letter_topic", m.conf.DeadLetterTopic, "topic", rec.Topic, "partition", rec.Partition, "offset", rec.Offset, "err", err)
			if !m.sleep(backoff) {
				return
			}
			backoff = min(2*backoff, m.conf.ReconnectBackoffMax)
		}
	}()
}

func (m *manager) produce(msg *sarama.ProducerMessage) error {
	m.mu.Lock()
	p := m.producer
	if p == nil {
		var err error
		if p, err = sarama.NewSyncProducerFromClient(m.client); err != nil {
			m.mu.Unlock()
			return fmt.Errorf("dead-letter producer: %w", err)
		}
		m.producer = p
	}
	m.mu.Unlock()
	if _, _, err := p.SendMessage(msg); err != nil {
		return fmt.Errorf("produce to %q: %w", msg.Topic, err)
	}
	return nil
}
