package kafka

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/squall-stream/squall/cluster"
)

// PartitionLag is a partition's stored offset against its log end: what
// `squall offsets show` prints.
type PartitionLag struct {
	StoredOffset
	// End is the partition's log end offset; -1 when Kafka was not asked
	// or did not answer.
	End int64
	// Lag is End - Offset: the messages not processed yet; -1 when End is.
	Lag int64
}

// ShowOffsets returns the offsets stored in ZooKeeper for every Kafka
// spout of a topology, with each partition's lag when brokers are given.
func ShowOffsets(zk cluster.ZKOptions, brokers []string, topology string) ([]PartitionLag, error) {
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
		out[i] = PartitionLag{StoredOffset: so, End: -1, Lag: -1}
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
func openStored(zk cluster.ZKOptions, topology string) (*cluster.Offsets, []StoredOffset, error) {
	o, err := cluster.OpenOffsets(zk)
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

// Target is where `squall offsets set` moves a spout's partitions.
type Target struct {
	kind     firstPollKind // pollEarliest, pollLatest, pollTimestamp; pollCommitted for explicit
	at       time.Time
	explicit map[int32]int64
}

// ErrBadTarget means an offsets target that is none of earliest, latest, an
// RFC 3339 time, or partition=offset pairs.
var ErrBadTarget = errors.New("offsets target must be earliest, latest, an RFC 3339 time, or partition=offset,…")

// ParseTarget reads "earliest", "latest", an RFC 3339 time, or
// "<partition>=<offset>,…".
func ParseTarget(s string) (Target, error) {
	switch s {
	case "earliest":
		return Target{kind: pollEarliest}, nil
	case "latest":
		return Target{kind: pollLatest}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return Target{kind: pollTimestamp, at: t}, nil
	}
	if !strings.Contains(s, "=") {
		return Target{}, fmt.Errorf("%q: %w", s, ErrBadTarget)
	}
	explicit := map[int32]int64{}
	for _, pair := range strings.Split(s, ",") {
		ps, os, ok := strings.Cut(strings.TrimSpace(pair), "=")
		p, perr := strconv.ParseInt(ps, 10, 32)
		off, oerr := strconv.ParseInt(os, 10, 64)
		if !ok || perr != nil || oerr != nil || p < 0 || off < 0 {
			return Target{}, fmt.Errorf("%q in %q: %w", pair, s, ErrBadTarget)
		}
		explicit[int32(p)] = off
	}
	return Target{explicit: explicit}, nil
}

// ErrNoPartitions means `offsets set` found nothing to set: no offsets are
// stored for the spout and no topic was named.
var ErrNoPartitions = errors.New("no partitions to set")

// SetOffsets rewrites the stored offsets of a spout of a topology that is
// not active (cluster.ErrTopologyActive otherwise): for every partition
// with a stored offset, and every partition of topics. earliest, latest
// and times need brokers; explicit offsets do not. It returns what it
// stored.
func SetOffsets(zk cluster.ZKOptions, brokers []string, topology, spout string, topics []string, to Target) ([]StoredOffset, error) {
	o, list, err := openStored(zk, topology)
	if err != nil {
		return nil, err
	}
	defer o.Close()
	keys := map[partitionKey]bool{}
	for _, so := range list {
		if so.Spout == spout {
			keys[partitionKey{so.Topic, so.Partition}] = true
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
				keys[partitionKey{topic, p}] = true
			}
		}
	} else if len(topics) > 0 {
		return nil, fmt.Errorf("listing the partitions of %v needs the Kafka brokers", topics)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("spout %q of topology %q: %w (none stored; name the topic)", spout, topology, ErrNoPartitions)
	}
	if to.explicit == nil && client == nil {
		return nil, fmt.Errorf("offsets set --to %s needs the Kafka brokers", to.kindName())
	}
	var out []StoredOffset
	for k := range keys {
		so := StoredOffset{Spout: spout, Topic: k.topic, Partition: k.partition}
		switch {
		case to.explicit != nil:
			off, ok := to.explicit[k.partition]
			if !ok {
				continue
			}
			so.Offset = off
		case to.kind == pollEarliest:
			so.Offset, err = client.GetOffset(k.topic, k.partition, sarama.OffsetOldest)
		case to.kind == pollLatest:
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
	if to.explicit != nil {
		for p := range to.explicit {
			found := false
			for k := range keys {
				found = found || k.partition == p
			}
			if !found {
				return nil, fmt.Errorf("partition %d: no offset stored for it and not among the named topics' partitions: %w", p, ErrNoPartitions)
			}
		}
	}
	if err := o.Rewrite(topology, out); err != nil {
		return nil, err
	}
	return out, nil
}

func (t Target) kindName() string {
	switch t.kind {
	case pollEarliest:
		return "earliest"
	case pollLatest:
		return "latest"
	default:
		return t.at.Format(time.RFC3339)
	}
}
