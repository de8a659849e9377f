package kafka

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/IBM/sarama"
	"github.com/squall-stream/squall/topology"
	"github.com/squall-stream/squall/zkstore"
)

// Defaults of Config's zero values.
const (
	DefaultCommitInterval        = 2 * time.Second
	DefaultMaxUncommittedOffsets = 10000
	DefaultRetryInitial          = 100 * time.Millisecond
	DefaultRetryMultiplier       = 2.0
	DefaultRetryMax              = 10 * time.Second
	DefaultPartitionRefresh      = 10 * time.Second
	DefaultReconnectBackoff      = 500 * time.Millisecond
	DefaultReconnectBackoffMax   = 10 * time.Second
	DefaultMaxEmitPerCall        = 256
	DefaultClientID              = "squall-spout"
)

// Config configures a Kafka spout. The zero value of each field but
// Brokers, Topics and Offsets means its documented default.
type Config struct {
	// Brokers are the Kafka bootstrap addresses (host:port). Required.
	Brokers []string
	// Topics are consumed together. Required.
	Topics []string
	// Mapping turns a record into a tuple. Default DefaultMapping.
	Mapping Mapping
	// Stream is the stream tuples are emitted on. Default topology.DefaultStream.
	Stream string

	// FirstPoll says where a partition is read from when the topology is
	// deployed. Default Committed.
	FirstPoll FirstPoll
	// Offsets says where offsets are stored. Default, on a cluster: in the
	// ZooKeeper the node lends its tasks (zkstore.ClusterOptions);
	// elsewhere one of its ways is required.
	Offsets OffsetStorage
	// CommitInterval is how often the acked offsets are stored; they are
	// also stored on Deactivate and Close. Default DefaultCommitInterval.
	CommitInterval time.Duration
	// MaxUncommittedOffsets bounds, per partition, the messages emitted or
	// waiting for a retry but not yet committable. Reading a partition
	// pauses at the bound, which also bounds the memory of cached messages.
	// Default DefaultMaxUncommittedOffsets.
	MaxUncommittedOffsets int

	// Retry is the backoff before a failed message is emitted again.
	Retry Backoff
	// MaxRetries is how many times a failed message is retried before it
	// goes to DeadLetterTopic. Default 0: retried for ever, as Storm does.
	// A positive MaxRetries needs a DeadLetterTopic: no message is dropped.
	MaxRetries int
	// DeadLetterTopic receives messages that failed MaxRetries times, with
	// headers naming the topology, spout, source topic, partition and
	// offset and the last error (see the Header constants).
	DeadLetterTopic string

	// PartitionRefresh is how often the topics' partitions are listed, so
	// that added partitions are picked up. Default DefaultPartitionRefresh.
	PartitionRefresh time.Duration
	// ReconnectBackoff is the first wait before trying Kafka or the offset
	// store again after a failure; it doubles up to ReconnectBackoffMax.
	ReconnectBackoff    time.Duration
	ReconnectBackoffMax time.Duration
	// MaxEmitPerCall bounds the tuples one NextTuple call emits, so that
	// the task also gets to acks. Default DefaultMaxEmitPerCall.
	MaxEmitPerCall int
	// ClientID names the spout to the brokers. Default DefaultClientID.
	ClientID string
	// KafkaVersion is the protocol version to speak, such as "3.6.0".
	// Default sarama's.
	KafkaVersion string
	// Sarama, if set, adjusts the client's configuration last, for what
	// Config does not cover (TLS, SASL, fetch sizes). The spout fetches 4 MB
	// per partition and buffers 16384 fetched messages per partition;
	// lower ChannelBufferSize when messages are large.
	Sarama func(*sarama.Config)
	// Logger receives connection trouble and dead-lettering, with the
	// task's topology, component and task attached. Default: the task's
	// logger (TopologyContext.Logger), which on a cluster node names the
	// node too.
	Logger *slog.Logger

	// abandonOnClose makes Close store nothing, as if the process died:
	// tests of crash recovery set it.
	abandonOnClose bool
}

// FirstPoll is where a partition is read from on a topology's first start.
// A task that restarts after a crash, or moves in a rebalance, always
// resumes from the stored offset (the same deployment wrote it), and an
// offset set with `squall offsets set` is always honoured.
type FirstPoll struct {
	kind firstPollKind
	at   time.Time
}

type firstPollKind int

const (
	pollCommitted firstPollKind = iota
	pollEarliest
	pollLatest
	pollTimestamp
)

// The first poll strategies.
var (
	// Committed resumes from the stored offset, or from the earliest
	// message where none is stored. The default.
	Committed = FirstPoll{kind: pollCommitted}
	// Earliest reads every partition from its first message, whatever is
	// stored.
	Earliest = FirstPoll{kind: pollEarliest}
	// Latest reads only messages produced after the start.
	Latest = FirstPoll{kind: pollLatest}
)

// Timestamp reads from the first message whose timestamp is at or after t.
func Timestamp(t time.Time) FirstPoll { return FirstPoll{kind: pollTimestamp, at: t} }

func (f FirstPoll) String() string {
	switch f.kind {
	case pollEarliest:
		return "earliest"
	case pollLatest:
		return "latest"
	case pollTimestamp:
		return "timestamp " + f.at.Format(time.RFC3339)
	default:
		return "committed"
	}
}

// OffsetStorage says where a spout stores its offsets. Set exactly one way.
type OffsetStorage struct {
	// ZooKeeper stores offsets at
	// <Root>/offsets/<topology>/<spout>/<topic>/<partition>, where
	// `squall offsets` reads and rewrites them. The way of a cluster.
	// Without a Logger of its own it logs as the spout does.
	ZooKeeper *zkstore.Options
	// KafkaGroup stores offsets as this consumer group's committed offsets
	// in Kafka (no group membership is used: the spout's tasks split the
	// partitions themselves).
	KafkaGroup string
	// File stores offsets in a JSON file, for a topology run in one
	// process without ZooKeeper (the demo).
	File string
}

// Backoff is an exponential backoff.
type Backoff struct {
	// Initial is the first wait. Default DefaultRetryInitial.
	Initial time.Duration
	// Multiplier grows the wait after each failure. Default 2.
	Multiplier float64
	// Max caps the wait. Default DefaultRetryMax.
	Max time.Duration
}

// after returns the wait before the attempt-th retry (from 1).
func (b Backoff) after(attempt int) time.Duration {
	d := float64(b.Initial)
	for i := 1; i < attempt && d < float64(b.Max); i++ {
		d *= b.Multiplier
	}
	return min(time.Duration(d), b.Max)
}

// Configuration errors New returns, wrapped with the field at fault.
var (
	// ErrNoBrokers means Config.Brokers is empty.
	ErrNoBrokers = errors.New("no Kafka brokers")
	// ErrNoTopics means Config.Topics is empty or has an empty name.
	ErrNoTopics = errors.New("no topics")
	// ErrOffsetStorage means Config.Offsets sets more than one way, or none
	// for a spout that does not run on a cluster.
	ErrOffsetStorage = errors.New("offset storage needs exactly one of ZooKeeper, KafkaGroup, File")
	// ErrNoDeadLetterTopic means MaxRetries is positive without a
	// dead-letter topic: exhausted messages would have nowhere to go.
	ErrNoDeadLetterTopic = errors.New("MaxRetries needs a DeadLetterTopic")
	// ErrBadSetting means a negative duration or size, a multiplier below
	// 1, a mapping without fields, or an unknown Kafka version.
	ErrBadSetting = errors.New("bad setting")
)

func (c Config) withDefaults() (Config, error) {
	if len(c.Brokers) == 0 {
		return c, fmt.Errorf("kafka spout: Brokers: %w", ErrNoBrokers)
	}
	if len(c.Topics) == 0 {
		return c, fmt.Errorf("kafka spout: Topics: %w", ErrNoTopics)
	}
	for i, t := range c.Topics {
		if t == "" {
			return c, fmt.Errorf("kafka spout: Topics[%d]: %w", i, ErrNoTopics)
		}
	}
	ways := 0
	if c.Offsets.ZooKeeper != nil {
		ways++
	}
	if c.Offsets.KafkaGroup != "" {
		ways++
	}
	if c.Offsets.File != "" {
		ways++
	}
	if ways > 1 {
		return c, fmt.Errorf("kafka spout: Offsets: %w", ErrOffsetStorage)
	}
	if c.MaxRetries > 0 && c.DeadLetterTopic == "" {
		return c, fmt.Errorf("kafka spout: MaxRetries %d: %w", c.MaxRetries, ErrNoDeadLetterTopic)
	}
	for name, v := range map[string]int64{
		"CommitInterval": int64(c.CommitInterval), "MaxUncommittedOffsets": int64(c.MaxUncommittedOffsets),
		"Retry.Initial": int64(c.Retry.Initial), "Retry.Max": int64(c.Retry.Max), "MaxRetries": int64(c.MaxRetries),
		"PartitionRefresh": int64(c.PartitionRefresh), "ReconnectBackoff": int64(c.ReconnectBackoff),
		"ReconnectBackoffMax": int64(c.ReconnectBackoffMax), "MaxEmitPerCall": int64(c.MaxEmitPerCall),
	} {
		if v < 0 {
			return c, fmt.Errorf("kafka spout: %s is negative: %w", name, ErrBadSetting)
		}
	}
	if c.Retry.Multiplier != 0 && c.Retry.Multiplier < 1 {
		return c, fmt.Errorf("kafka spout: Retry.Multiplier %v is below 1: %w", c.Retry.Multiplier, ErrBadSetting)
	}
	if c.KafkaVersion != "" {
		if _, err := sarama.ParseKafkaVersion(c.KafkaVersion); err != nil {
			return c, fmt.Errorf("kafka spout: KafkaVersion %q: %w", c.KafkaVersion, ErrBadSetting)
		}
	}
	if c.Mapping.Map == nil {
		c.Mapping = DefaultMapping
	}
	if len(c.Mapping.Fields) == 0 {
		return c, fmt.Errorf("kafka spout: Mapping has no Fields: %w", ErrBadSetting)
	}
	if c.Stream == "" {
		c.Stream = topology.DefaultStream
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	defDur(&c.CommitInterval, DefaultCommitInterval)
	defDur(&c.Retry.Initial, DefaultRetryInitial)
	defDur(&c.Retry.Max, DefaultRetryMax)
	defDur(&c.PartitionRefresh, DefaultPartitionRefresh)
	defDur(&c.ReconnectBackoff, DefaultReconnectBackoff)
	defDur(&c.ReconnectBackoffMax, DefaultReconnectBackoffMax)
	if c.Retry.Multiplier == 0 {
		c.Retry.Multiplier = DefaultRetryMultiplier
	}
	c.Retry.Max = max(c.Retry.Max, c.Retry.Initial)
	c.ReconnectBackoffMax = max(c.ReconnectBackoffMax, c.ReconnectBackoff)
	if c.MaxUncommittedOffsets == 0 {
		c.MaxUncommittedOffsets = DefaultMaxUncommittedOffsets
	}
	if c.MaxEmitPerCall == 0 {
		c.MaxEmitPerCall = DefaultMaxEmitPerCall
	}
	if c.ClientID == "" {
		c.ClientID = DefaultClientID
	}
	return c, nil
}

// saramaConfig is the client configuration of the spout's consumer and
// dead-letter producer.
func (c Config) saramaConfig() *sarama.Config {
	sc := sarama.NewConfig()
	sc.ClientID = c.ClientID
	if c.KafkaVersion != "" {
		sc.Version, _ = sarama.ParseKafkaVersion(c.KafkaVersion)
	}
	// Errors are logged by the spout with its component and task.
	sc.Consumer.Return.Errors = true
	sc.Consumer.Offsets.AutoCommit.Enable = false
	// The spout takes messages in bursts between acks; a deep buffer per
	// partition keeps it from finding the buffer empty and idling while a
	// fetch is under way. It holds up to that many fetched messages per
	// partition besides the MaxUncommittedOffsets in flight: with large
	// messages, lower it through Config.Sarama.
	sc.ChannelBufferSize = 16384
	sc.Consumer.Fetch.Default = 4 << 20
	sc.Producer.RequiredAcks = sarama.WaitForAll
	sc.Producer.Return.Successes = true
	sc.Producer.Idempotent = true
	sc.Net.MaxOpenRequests = 1
	sc.Producer.Retry.Max = 10
	sc.Metadata.Retry.Backoff = c.ReconnectBackoff
	if c.Sarama != nil {
		c.Sarama(sc)
	}
	return sc
}
