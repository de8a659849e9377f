package cluster

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/squall-stream/squall/zkstore"
)

// The offset admin calls: the Go API behind `squall offsets show|set`.
// They read and rewrite the Kafka spouts' offsets in ZooKeeper and ask
// Kafka for the partitions' log ends, so they live beside Admin rather than
// in the spout.

// ErrTopologyActive means stored offsets were to be rewritten while the
// topology's spouts are emitting: they would overwrite the new offsets with
// their own at the next commit.
var ErrTopologyActive = errors.New("topology is active; deactivate or kill it first")

// PartitionLag is a partition's stored offset against its log end: what
// `squall offsets show` prints.
type PartitionLag struct {
	zkstore.SpoutOffset
	// End is the partition's log end offset; -1 when Kafka was not asked
	// or did not answer.
	End int64
	// Lag is End - Offset: the messages not processed yet; -1 when End is.
	Lag int64
}

// ShowOffsets returns the offsets stored in ZooKeeper for every Kafka
// spout of a topology, with each partition's lag when brokers are given.
func ShowOffsets(zk zkstore.Options, brokers []string, topology string) ([]PartitionLag, error) {
	o, list, err := openStored(zk, topology)
	if err != nil {
		return nil, err
	}
	defer o.Close()
	var client sarama.Client
	if len(brokers) > 0 && len(list) > 0 {
		if client, err = sarama.NewClient(brokers, sarama.NewConfig()); err != nil {
			return nil, fmt.Errorf("kafka at %v: %w", brokers, err)
		}
		defer client.Close()
	}
	out := make([]PartitionLag, len(list))
	for i, so := range list {
		out[i] = PartitionLag{SpoutOffset: so, End: -1, Lag: -1}
		if client == nil {
			continue
		}
		end, err := client.GetOffset(so.Topic, so.Partition, sarama.OffsetNewest)
		if err != nil {
			return nil, fmt.Errorf("log end of %s/%d: %w", so.Topic, so.Partition, err)
		}
		out[i].End, out[i].Lag = end, end-so.Offset
	}
	return out, nil
}

// openStored connects to ZooKeeper and lists a topology's stored offsets;
// the caller closes the connection.
func openStored(zk zkstore.Options, topology string) (*zkstore.Offsets, []zkstore.SpoutOffset, error) {
	o, err := zkstore.OpenOffsets(zk)
	if err != nil {
		return nil, nil, err
	}
	list, err := o.List(topology)
	if err != nil {
		o.Close()
		return nil, nil, err
	}
	return o, list, nil
}

// OffsetTarget is where `squall offsets set` moves a spout's partitions,
// as ParseOffsetTarget reads it.
type OffsetTarget struct {
	kind     targetKind
	at       time.Time
	explicit map[int32]int64
}

type targetKind int

const (
	targetExplicit targetKind = iota
	targetEarliest
	targetLatest
	targetTimestamp
)

// ErrBadOffsetTarget means an offsets target that is none of earliest,
// latest, an RFC 3339 time, or partition=offset pairs.
var ErrBadOffsetTarget = errors.New("offsets target must be earliest, latest, an RFC 3339 time, or partition=offset,…")

// ParseOffsetTarget reads "earliest", "latest", an RFC 3339 time, or
// "<partition>=<offset>,…".
func ParseOffsetTarget(s string) (OffsetTarget, error) {
	switch s {
	case "earliest":
		return OffsetTarget{kind: targetEarliest}, nil
	case "latest":
		return OffsetTarget{kind: targetLatest}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return OffsetTarget{kind: targetTimestamp, at: t}, nil
	}
	if !strings.Contains(s, "=") {
		return OffsetTarget{}, fmt.Errorf("%q: %w", s, ErrBadOffsetTarget)
	}
	explicit := map[int32]int64{}
	for _, pair := range strings.Split(s, ",") {
		ps, os, ok := strings.Cut(strings.TrimSpace(pair), "=")
		p, perr := strconv.ParseInt(ps, 10, 32)
		off, oerr := strconv.ParseInt(os, 10, 64)
		if !ok || perr != nil || oerr != nil || p < 0 || off < 0 {
			return OffsetTarget{}, fmt.Errorf("%q in %q: %w", pair, s, ErrBadOffsetTarget)
		}
		explicit[int32(p)] = off
	}
	return OffsetTarget{kind: targetExplicit, explicit: explicit}, nil
}

// ErrNoPartitions means `offsets set` found nothing to set: no offsets are
// stored for the spout and no topic was named.
var ErrNoPartitions = errors.New("no partitions to set")

// topicPartition names a partition of a topic.
type topicPartition struct {
	topic     string
	partition int32
}

// SetOffsets rewrites the stored offsets of a spout of a topology that is
// not active (ErrTopologyActive otherwise): for every partition with a
// stored offset, and every partition of topics. earliest, latest and times
// need brokers; explicit offsets do not. It returns what it stored. A
// deactivated topology's spouts read the new offsets when activated again,
// and a killed or local topology's at their next start.
func SetOffsets(zk zkstore.Options, brokers []string, topology, spout string, topics []string, to OffsetTarget) ([]zkstore.SpoutOffset, error) {
	o, list, err := openStored(zk, topology)
	if err != nil {
		return nil, err
	}
	defer o.Close()
	keys := map[topicPartition]bool{}
	for _, so := range list {
		if so.Spout == spout {
			keys[topicPartition{so.Topic, so.Partition}] = true
		}
	}
	var client sarama.Client
	if len(brokers) > 0 {
		if client, err = sarama.NewClient(brokers, sarama.NewConfig()); err != nil {
			return nil, fmt.Errorf("kafka at %v: %w", brokers, err)
		}
		defer client.Close()
		for _, topic := range topics {
			ps, err := client.Partitions(topic)
			if err != nil {
				return nil, fmt.Errorf("partitions of %q: %w", topic, err)
			}
			for _, p := range ps {
				keys[topicPartition{topic, p}] = true
			}
		}
	} else if len(topics) > 0 {
		return nil, fmt.Errorf("listing the partitions of %v needs the Kafka brokers", topics)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("spout %q of topology %q: %w (none stored; name the topic)", spout, topology, ErrNoPartitions)
	}
	if to.kind != targetExplicit && client == nil {
		return nil, fmt.Errorf("offsets set --to %s needs the Kafka brokers", to.kindName())
	}
	var out []zkstore.SpoutOffset
	for k := range keys {
		so := zkstore.SpoutOffset{Spout: spout, Topic: k.topic, Partition: k.partition}
		switch to.kind {
		case targetExplicit:
			off, ok := to.explicit[k.partition]
			if !ok {
				continue
			}
			so.Offset = off
		case targetEarliest:
			so.Offset, err = client.GetOffset(k.topic, k.partition, sarama.OffsetOldest)
		case targetLatest:
			so.Offset, err = client.GetOffset(k.topic, k.partition, sarama.OffsetNewest)
		default:
			so.Offset, err = client.GetOffset(k.topic, k.partition, to.at.UnixMilli())
			if err == nil && so.Offset < 0 {
				so.Offset, err = client.GetOffset(k.topic, k.partition, sarama.OffsetNewest)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("offset of %s/%d: %w", k.topic, k.partition, err)
		}
		out = append(out, so)
	}
	for p := range to.explicit {
		found := false
		for k := range keys {
			found = found || k.partition == p
		}
		if !found {
			return nil, fmt.Errorf("partition %d: no offset stored for it and not among the named topics' partitions: %w", p, ErrNoPartitions)
		}
	}
	if err := rewrite(o, topology, out); err != nil {
		return nil, err
	}
	return out, nil
}

// rewrite stores offsets set by an operator, refusing with
// ErrTopologyActive while the topology is submitted and active.
func rewrite(o *zkstore.Offsets, topology string, offsets []zkstore.SpoutOffset) error {
	s := o.Session()
	p, err := s.Layout().Topology(topology)
	if err != nil {
		return fmt.Errorf("rewrite offsets: %w", err)
	}
	var rec TopologyRecord
	_, ok, err := s.GetJSON(p, &rec)
	if err != nil {
		return err
	}
	if ok && rec.Status == StatusActive {
		return fmt.Errorf("rewrite offsets of %q: %w", topology, ErrTopologyActive)
	}
	now := time.Now().UTC()
	for i := range offsets {
		offsets[i].Time, offsets[i].Task, offsets[i].Run = now, zkstore.OperatorTask, ""
	}
	return o.Put(topology, offsets)
}

func (t OffsetTarget) kindName() string {
	switch t.kind {
	case targetEarliest:
		return "earliest"
	case targetLatest:
		return "latest"
	default:
		return t.at.Format(time.RFC3339)
	}
}
