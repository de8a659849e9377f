package zkstore

import (
	"errors"
	"log/slog"
	"time"

	"github.com/squall-stream/squall/topology"
)

// DefaultRoot is the ZooKeeper path everything squall keeps lives under.
const DefaultRoot = "/squall"

// Options say how to reach ZooKeeper.
type Options struct {
	// Servers are host:port addresses.
	Servers []string
	// Root is the path squall keeps everything under. Default DefaultRoot.
	Root string
	// SessionTimeout bounds how long a dead node keeps its tasks. Default 6s.
	SessionTimeout time.Duration
	// Auth, as "user:password", authenticates with ZooKeeper's digest scheme;
	// znodes squall creates are then readable and writable by that user only,
	// and squall refuses to work under a root others can change (ErrOpenACL).
	Auth string
	// Logger receives connection events. Default slog.Default().
	Logger *slog.Logger
}

// Defaults returns the options with every zero field set to its default.
func (o Options) Defaults() Options {
	if o.Root == "" {
		o.Root = DefaultRoot
	}
	if o.SessionTimeout <= 0 {
		o.SessionTimeout = 6 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// ErrNoZooKeeper means no ZooKeeper server could be reached in time.
var ErrNoZooKeeper = errors.New("cannot reach ZooKeeper")

// ClusterOptions is the ZooKeeper a cluster node runs on, which it lends
// every task it starts, so that components keep state there without being
// told where it is (the Kafka spout's offsets, by default). The Options
// lent have no Logger: a task's connection logs as the task does. A task
// run outside a cluster is lent none.
var ClusterOptions = topology.NewResource[Options]("the cluster's ZooKeeper")
