package topology

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"time"
)

// Config is how a topology runs. The zero value of each field means its
// default, given in the field's comment; Defaults fills them in.
type Config struct {
	// Name names the topology in logs, metrics and the cluster, under the
	// name rule (ValidateName). Default "topology".
	Name string
	// DisableAcking turns ack tracking off: spout tuples are acked as soon as
	// they are emitted (Storm's topology.acker.executors = 0).
	DisableAcking bool
	// MessageTimeout fails a tree that is not complete in time. Default 30s.
	MessageTimeout time.Duration
	// MaxSpoutPending bounds the tracked trees in flight per spout task: the
	// spout's NextTuple is not called while that many are pending.
	// Default 4096.
	MaxSpoutPending int
	// TickFrequency sends every bolt a tick tuple at this interval, unless
	// the bolt sets its own. Default 0: no ticks.
	TickFrequency time.Duration
	// BatchSize is the number of tuples one transfer between two tasks
	// carries at most. Default 256.
	BatchSize int
	// BatchLinger is how long a partly filled batch may wait for more tuples
	// while its sender stays busy. A sender that goes idle flushes at once.
	// Default 1ms.
	BatchLinger time.Duration
	// MaxPendingBatches is how many batches a task may have sent to another
	// task that the receiver has not executed yet; past that the sender stops
	// taking input (backpressure). Default 8.
	MaxPendingBatches int
	// SpoutWait is how long a spout task waits before calling NextTuple
	// again after a call that emitted nothing. Default 1ms.
	SpoutWait time.Duration
	// RestartBackoff is the delay before a crashed task restarts; repeated
	// crashes wait longer. Default 100ms.
	RestartBackoff time.Duration
	// RunID identifies one deployment of the topology: it stays the same
	// when tasks restart after a crash or move in a rebalance, and changes
	// when the topology is submitted or started anew. Spouts use it to tell
	// a first start (apply the first poll strategy) from a resumption.
	// Default: a random id per RunLocal or RunOn call; a cluster derives it
	// from the topology's submission.
	RunID string
	// Settings are user settings handed to every task (Storm's topology
	// conf; `squall submit --set key=value`).
	Settings map[string]string
	// Resources are lent to every task (TopologyContext.Resources) by the
	// runtime that runs it: a cluster node lends the ZooKeeper it runs on
	// (zkstore.ClusterOptions). Default none.
	Resources Resources
	// Logger receives the runtime's logs and, with the topology, component
	// and task attached, each task's (TopologyContext.Logger). Default
	// slog.Default().
	Logger *slog.Logger
}

// Defaults returns the config with every zero field set to its default.
func (c Config) Defaults() Config {
	if c.Name == "" {
		c.Name = "topology"
	}
	if c.MessageTimeout <= 0 {
		c.MessageTimeout = 30 * time.Second
	}
	if c.MaxSpoutPending <= 0 {
		c.MaxSpoutPending = 4096
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 256
	}
	if c.BatchLinger <= 0 {
		c.BatchLinger = time.Millisecond
	}
	if c.MaxPendingBatches <= 0 {
		c.MaxPendingBatches = 8
	}
	if c.SpoutWait <= 0 {
		c.SpoutWait = time.Millisecond
	}
	if c.RestartBackoff <= 0 {
		c.RestartBackoff = 100 * time.Millisecond
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.RunID == "" {
		var b [8]byte
		rand.Read(b[:])
		c.RunID = hex.EncodeToString(b[:])
	}
	return c
}
