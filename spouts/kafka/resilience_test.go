package kafka

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/squall-stream/squall/actors"
	"github.com/squall-stream/squall/internal/check"
	"github.com/squall-stream/squall/internal/testinfra"
	"github.com/squall-stream/squall/topology"
	"github.com/squall-stream/squall/zkstore"
	"github.com/twmb/franz-go/pkg/kfake"
)

// A spout started while Kafka is down keeps retrying and reads everything
// once Kafka is up.
func TestKafkaUnreachableAtStart(t *testing.T) {
	k := testinfra.StartKafka(t, kfake.SeedTopics(2, "orders"))
	zk := testinfra.StartZooKeeper(t)
	produce(t, k.Brokers(), "orders", 0, 1000)
	k.Stop()
	l := newLedger()
	conf := baseConfig(k, zk, "orders")
	conf.ReconnectBackoff = 20 * time.Millisecond
	conf.ReconnectBackoffMax = 200 * time.Millisecond
	lt := run(t, context.Background(), "unreachable", conf, 2, l, 0)
	defer lt.Shutdown()
	if got, _ := lt.Component("orders"); got.Restarts != 0 {
		t.Fatalf("the spout crashed %d times", got.Restarts)
	}
	k.Start()
	check.For(t, 30*time.Second, l.hasProcessed(1000))
}

// With no Logger of its own, a spout logs through its task's logger, as do
// its offsets' ZooKeeper options without one: the runtime's logger, with
// the fields a node gives it, and the topology, component and task.
func TestSpoutLogsThroughItsTasksLogger(t *testing.T) {
	k := testinfra.StartKafka(t, kfake.SeedTopics(1, "orders"))
	for _, c := range []struct {
		name string
		conf Config
		msg  string
	}{
		{"kafka", Config{Brokers: []string{"127.0.0.1:1"}, Offsets: OffsetStorage{File: filepath.Join(t.TempDir(), "offsets.json")}},
			"kafka spout cannot connect; retrying"},
		{"zookeeper", Config{Brokers: k.Brokers(), Offsets: OffsetStorage{ZooKeeper: &zkstore.Options{Servers: []string{"127.0.0.1:1"}, SessionTimeout: time.Second}}},
			"failed to connect to 127.0.0.1:1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.conf.Topics = []string{"orders"}
			factory, err := New(c.conf)
			if err != nil {
				t.Fatal(err)
			}
			b := topology.NewBuilder()
			b.SetSpout("orders", factory, 1)
			topo, err := b.Build()
			if err != nil {
				t.Fatal(err)
			}
			var logs testinfra.Logs
			lt, err := actors.RunLocal(context.Background(), topo, topology.Config{Name: "logged", Logger: logs.Logger("node", "n1")})
			if err != nil {
				t.Fatal(err)
			}
			defer lt.Shutdown()
			var rec map[string]any
			check.For(t, 10*time.Second, func() error {
				if rec = logs.Record(c.msg); rec == nil {
					return fmt.Errorf("the spout has not logged %q", c.msg)
				}
				return nil
			})
			if rec["node"] != "n1" || rec["topology"] != "logged" || rec["component"] != "orders" || rec["task"] != float64(topo.Tasks("orders")[0]) {
				t.Fatalf("the spout's line does not say where it was written: %v", rec)
			}
		})
	}
}

// Partitions added to a topic while the spout runs are picked up and read
// from their start.
func TestAddedPartitionsPickedUp(t *testing.T) {
	k := testinfra.StartKafka(t, kfake.SeedTopics(2, "orders"))
	zk := testinfra.StartZooKeeper(t)
	l := newLedger()
	conf := baseConfig(k, zk, "orders")
	conf.PartitionRefresh = 100 * time.Millisecond
	conf.FirstPoll = Latest // new partitions are still read whole
	lt := run(t, context.Background(), "grown", conf, 2, l, 0)
	defer lt.Shutdown()
	zo := zkstore.Options{Servers: []string{zk.Addr()}, Logger: quiet}
	check.For(t, 10*time.Second, func() error {
		if got := stored(t, zo, "grown"); len(got) != 2 {
			return fmt.Errorf("offsets stored for partitions %v, want the first 2 opened", got)
		}
		return nil
	})

	admin, err := sarama.NewClusterAdmin(k.Brokers(), sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.CreatePartitions("orders", 4, nil, false); err != nil {
		t.Fatal(err)
	}
	conf2 := sarama.NewConfig()
	conf2.Producer.Return.Successes = true
	conf2.Producer.Partitioner = sarama.NewManualPartitioner
	p, err := sarama.NewSyncProducer(k.Brokers(), conf2)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, part := range []int32{2, 3} {
		if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: "orders", Partition: part, Value: sarama.StringEncoder("new-" + string(rune('0'+part)))}); err != nil {
			t.Fatal(err)
		}
	}
	check.For(t, 30*time.Second, l.hasProcessed(2)) // the messages of the added partitions
}

// Deactivate, rewrite the offsets, activate: the spout resumes from the
// rewritten offsets without a restart.
func TestActivateAfterOffsetsSet(t *testing.T) {
	k := testinfra.StartKafka(t, kfake.SeedTopics(2, "orders"))
	zk := testinfra.StartZooKeeper(t)
	zo := zkstore.Options{Servers: []string{zk.Addr()}, Logger: quiet}
	produce(t, k.Brokers(), "orders", 0, 2000)
	l := newLedger()
	lt := run(t, context.Background(), "rewound", baseConfig(k, zk, "orders"), 2, l, 0)
	defer lt.Shutdown()
	// Every message acked at the spout, so the commit on deactivation
	// covers them all.
	check.For(t, 30*time.Second, l.hasAcked(2000))
	lt.Deactivate()
	ends := endOffsets(t, k.Brokers(), "orders")
	check.For(t, 10*time.Second, storedAt(t, zo, "rewound", ends))
	setByOperator(t, zo, "rewound", "orders", "orders", map[int32]int64{0: 0, 1: 0}) // earliest
	lt.Activate()
	check.For(t, 30*time.Second, func() error {
		l.mu.Lock()
		defer l.mu.Unlock()
		for v, times := range l.processed {
			if times < 2 {
				return fmt.Errorf("%s processed %d times, want again in the second pass", v, times)
			}
		}
		return nil
	})
}

// The Kafka group and file stores keep the place across runs too.
func TestOtherOffsetStores(t *testing.T) {
	k := testinfra.StartKafka(t, kfake.SeedTopics(2, "orders"))
	for _, c := range []struct {
		name    string
		storage OffsetStorage
	}{
		{"kafka-group", OffsetStorage{KafkaGroup: "squall-test"}},
		{"file", OffsetStorage{File: filepath.Join(t.TempDir(), "offsets.json")}},
	} {
		t.Run(c.name, func(t *testing.T) {
			topic := "orders-" + c.name
			if err := k.CreateTopic(topic, 2); err != nil {
				t.Fatal(err)
			}
			conf := Config{Brokers: k.Brokers(), Topics: []string{topic}, Offsets: c.storage, CommitInterval: 50 * time.Millisecond, Logger: quiet}
			produce(t, k.Brokers(), topic, 0, 500)
			first := newLedger()
			lt := run(t, context.Background(), c.name, conf, 2, first, 0)
			check.For(t, 30*time.Second, first.hasAcked(500))
			lt.Shutdown()

			produce(t, k.Brokers(), topic, 500, 10)
			second := newLedger()
			lt = run(t, context.Background(), c.name, conf, 2, second, 0)
			defer lt.Shutdown()
			check.For(t, 30*time.Second, func() error {
				if p, _ := second.counts(); p < 10 {
					return fmt.Errorf("%d of the 10 new messages processed", p)
				}
				return nil
			})
			if p, _ := second.counts(); p != 10 {
				t.Fatalf("the second run processed %d messages, want only the 10 new ones", p)
			}
		})
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	good := Config{Brokers: []string{"127.0.0.1:9092"}, Topics: []string{"orders"}, Offsets: OffsetStorage{File: "x.json"}}
	for _, c := range []struct {
		change func(*Config)
		want   error
		field  string
	}{
		{func(c *Config) { c.Brokers = nil }, ErrNoBrokers, "Brokers"},
		{func(c *Config) { c.Topics = []string{""} }, ErrNoTopics, "Topics[0]"},
		{func(c *Config) { c.Offsets.KafkaGroup = "g" }, ErrOffsetStorage, "Offsets"},
		{func(c *Config) { c.MaxRetries = 3 }, ErrNoDeadLetterTopic, "MaxRetries 3"},
		{func(c *Config) { c.CommitInterval = -time.Second }, ErrBadSetting, "CommitInterval"},
		{func(c *Config) { c.Retry.Multiplier = 0.5 }, ErrBadSetting, "Retry.Multiplier"},
		{func(c *Config) { c.KafkaVersion = "banana" }, ErrBadSetting, "KafkaVersion"},
		{func(c *Config) { c.Mapping = Mapping{Map: DefaultMapping.Map} }, ErrBadSetting, "Mapping"},
	} {
		conf := good
		c.change(&conf)
		_, err := New(conf)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.field) {
			t.Errorf("got %v, want %v naming %s", err, c.want, c.field)
		}
	}
	if _, err := New(good); err != nil {
		t.Fatal(err)
	}
}

func TestBackoffGrowsToItsMax(t *testing.T) {
	b := Backoff{Initial: 100 * time.Millisecond, Multiplier: 2, Max: time.Second}
	for attempt, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 5: time.Second, 50: time.Second} {
		if got := b.after(attempt); got != want {
			t.Errorf("attempt %d: %v, want %v", attempt, got, want)
		}
	}
}

// Without Offsets, a spout uses the cluster's ZooKeeper, which a node lends
// its tasks; outside a cluster that is a clear error.
func TestOffsetsDefaultToTheClusterZooKeeper(t *testing.T) {
	factory, err := New(Config{Brokers: []string{"127.0.0.1:1"}, Topics: []string{"orders"}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	b := topology.NewBuilder()
	b.SetSpout("orders", factory, 1)
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	task := topo.Tasks("orders")[0]
	alone := factory()
	err = alone.Open(topology.NewTopologyContext("t", topo, "orders", task, nil, nil), nil)
	if !errors.Is(err, ErrOffsetStorage) || !strings.Contains(err.Error(), "not running on a cluster") {
		t.Fatalf("Open outside a cluster: %v", err)
	}
	onCluster := factory().(*Spout)
	tc := topology.NewTopologyContext("t", topo, "orders", task, nil, nil)
	tc.Resources = zkstore.ClusterOptions.Lend(tc.Resources, zkstore.Options{Servers: []string{"127.0.0.1:2181"}, Root: "/squall"})
	if err := onCluster.Open(tc, nil); err != nil {
		t.Fatal(err)
	}
	defer onCluster.Close()
	if zk := onCluster.conf.Offsets.ZooKeeper; zk == nil || zk.Servers[0] != "127.0.0.1:2181" {
		t.Fatalf("offsets on a cluster: %+v", onCluster.conf.Offsets)
	}
}
