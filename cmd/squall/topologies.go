package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/squall-stream/squall/cluster"
	"github.com/squall-stream/squall/examples/orders"
	"github.com/squall-stream/squall/spouts/kafka"
	"github.com/squall-stream/squall/topology"
)

// The topologies compiled into this binary, submittable by name: the
// examples'. The cluster commands run whatever is registered here and know
// none of them.
func init() {
	cluster.Register("orders-count", func(settings map[string]string) (*topology.Topology, topology.Config, error) {
		rate := 1000
		if s, ok := settings["rate"]; ok {
			r, err := strconv.Atoi(s)
			if err != nil || r < 1 {
				return nil, topology.Config{}, fmt.Errorf("setting rate=%q: want a positive number of orders per second", s)
			}
			rate = r
		}
		topo, err := orders.CountTopology(rate, 10*time.Second, os.Stdout)
		return topo, topology.Config{}, err
	})
	cluster.Register("orders", ordersAnalysis)
}

// redisClients shares one client (one connection pool) per Redis address
// among the topologies this process builds: a node rebuilds its share on
// every assignment change.
var redisClients sync.Map // addr → *goredis.Client

// ordersAnalysis builds the order analysis (examples/orders) from the
// submission's settings: brokers and redis are required; topic (default
// orders), spouts, parsers and writers (tasks of each), and timeout (the
// message timeout) are optional. The Kafka spout keeps its offsets in the
// cluster's ZooKeeper.
func ordersAnalysis(settings map[string]string) (*topology.Topology, topology.Config, error) {
	for _, key := range []string{"brokers", "redis"} {
		if settings[key] == "" {
			return nil, topology.Config{}, fmt.Errorf("setting %s is required (--set brokers=host:port --set redis=host:port)", key)
		}
	}
	conf := orders.AnalysisConfig{}
	for key, dst := range map[string]*int{"spouts": &conf.SpoutTasks, "parsers": &conf.ParseTasks, "writers": &conf.WriterTasks} {
		if v, ok := settings[key]; ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return nil, topology.Config{}, fmt.Errorf("setting %s=%q: want a positive number of tasks", key, v)
			}
			*dst = n
		}
	}
	topic := settings["topic"]
	if topic == "" {
		topic = "orders"
	}
	rc, ok := redisClients.Load(settings["redis"])
	if !ok {
		rc, _ = redisClients.LoadOrStore(settings["redis"], goredis.NewClient(&goredis.Options{Addr: settings["redis"]}))
	}
	conf.Redis = rc.(*goredis.Client)
	conf.Kafka = kafka.Config{Brokers: splitList(settings["brokers"]), Topics: []string{topic}}
	topo, err := orders.AnalysisTopology(conf)
	return topo, topology.Config{}, err
}
