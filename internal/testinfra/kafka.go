package testinfra

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"
)

// Kafka is an in-process Kafka broker (franz-go's kfake) on a free port of
// 127.0.0.1. Its log lives in the test's temp dir, so Stop and Start act
// like a broker going down and coming back with its data.
type Kafka struct {
	t       testing.TB
	port    int
	dataDir string
	opts    []kfake.Opt

	mu      sync.Mutex
	cluster *kfake.Cluster
}

// StartKafka starts a one-broker cluster. opts are passed to kfake after
// squall's (one broker, the port, the data dir); kfake.SeedTopics(n, topics...)
// creates topics up front.
func StartKafka(t testing.TB, opts ...kfake.Opt) *Kafka {
	t.Helper()
	skipShort(t, "the in-process Kafka broker")
	k := &Kafka{t: t, port: freePort(t), dataDir: t.TempDir(), opts: opts}
	k.Start()
	t.Cleanup(k.Stop)
	return k
}

// Brokers returns the bootstrap addresses for clients.
func (k *Kafka) Brokers() []string { return []string{addr(k.port)} }

// Cluster returns the running kfake cluster, for tests that intercept its
// requests (kfake's ControlKey); Stop and Start replace it.
func (k *Kafka) Cluster() *kfake.Cluster {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.cluster
}

// Start starts the broker after Stop, on the same port, with its data.
func (k *Kafka) Start() {
	k.t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cluster != nil {
		return
	}
	opts := append([]kfake.Opt{kfake.NumBrokers(1), kfake.Ports(k.port), kfake.DataDir(k.dataDir)}, k.opts...)
	var err error
	// The port was free a moment ago; a restart may race the old listener's
	// close, so retry briefly.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if k.cluster, err = kfake.NewCluster(opts...); err == nil {
			return
		}
		if time.Now().After(deadline) {
			k.t.Fatalf("kafka (kfake) on port %d: %v", k.port, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop closes the broker: clients see it unreachable until Start.
func (k *Kafka) Stop() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cluster != nil {
		k.cluster.Close()
		k.cluster = nil
	}
}

// CreateTopic creates a topic with the given number of partitions, through
// sarama's admin client as any user would.
func (k *Kafka) CreateTopic(topic string, partitions int32) error {
	conf := sarama.NewConfig()
	conf.Admin.Timeout = 10 * time.Second
	admin, err := sarama.NewClusterAdmin(k.Brokers(), conf)
	if err != nil {
		return fmt.Errorf("create topic %q: %w", topic, err)
	}
	defer admin.Close()
	if err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: 1}, false); err != nil {
		return fmt.Errorf("create topic %q: %w", topic, err)
	}
	return nil
}
