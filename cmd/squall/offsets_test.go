package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/squall-stream/squall/cluster"
	"github.com/squall-stream/squall/internal/testinfra"
	"github.com/squall-stream/squall/zkstore"
	"github.com/twmb/franz-go/pkg/kfake"
)

// offsets show prints what is stored with the lag; offsets set rewrites it,
// and is refused while the topology is active.
func TestOffsetsShowAndSet(t *testing.T) {
	k := testinfra.StartKafka(t, kfake.SeedTopics(2, "orders"))
	zk := testinfra.StartZooKeeper(t)
	conf := sarama.NewConfig()
	conf.Producer.Return.Successes = true
	conf.Producer.Partitioner = sarama.NewManualPartitioner
	p, err := sarama.NewSyncProducer(k.Brokers(), conf)
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: "orders", Partition: 0, Value: sarama.StringEncoder("x")}); err != nil {
			t.Fatal(err)
		}
	}
	p.Close()
	opts := zkstore.Options{Servers: []string{zk.Addr()}}
	o, err := zkstore.OpenOffsets(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if err := o.Put("orders-count", []zkstore.SpoutOffset{{Spout: "kafka", Topic: "orders", Partition: 0, Offset: 4, Task: 1, Time: time.Now()}}); err != nil {
		t.Fatal(err)
	}

	out, err := runSquall(t, "offsets", "show", "--zk", zk.Addr(), "--topology", "orders-count", "--brokers", k.Brokers()[0])
	if err != nil {
		t.Fatal(err)
	}
	// kafka  orders  0  4  10  6 ...: stored 4 of 10, lag 6.
	if !strings.Contains(strings.Join(strings.Fields(out), " "), "kafka orders 0 4 10 6") {
		t.Fatalf("offsets show:\n%s", out)
	}

	out, err = runSquall(t, "offsets", "set", "--zk", zk.Addr(), "--topology", "orders-count", "--spout", "kafka",
		"--brokers", k.Brokers()[0], "--topic", "orders", "--to", "earliest")
	if err != nil {
		t.Fatalf("offsets set: %v\n%s", err, out)
	}
	for _, part := range []int32{0, 1} {
		so, ok, err := o.Get("orders-count", "kafka", "orders", part)
		if err != nil || !ok || so.Offset != 0 || so.Task != -1 {
			t.Fatalf("partition %d after set --to earliest: %+v %v %v", part, so, ok, err)
		}
	}
	if _, err := runSquall(t, "offsets", "set", "--zk", zk.Addr(), "--topology", "orders-count", "--spout", "kafka", "--to", "0=7"); err != nil {
		t.Fatal(err)
	}
	if so, _, _ := o.Get("orders-count", "kafka", "orders", 0); so.Offset != 7 {
		t.Fatalf("partition 0 after set --to 0=7: %+v", so)
	}

	admin, err := cluster.NewAdmin(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.Submit("orders-count", cluster.SubmitOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = runSquall(t, "offsets", "set", "--zk", zk.Addr(), "--topology", "orders-count", "--spout", "kafka", "--to", "0=1")
	if !errors.Is(err, cluster.ErrTopologyActive) {
		t.Fatalf("offsets set on an active topology: %v, want ErrTopologyActive", err)
	}
	if so, _, _ := o.Get("orders-count", "kafka", "orders", 0); so.Offset != 7 {
		t.Fatalf("a refused set changed the offset: %+v", so)
	}
}

func TestOffsetsRejectsBadInput(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"offsets", "show", "--zk", "127.0.0.1:1"}, "--topology is required"},
		{[]string{"offsets", "set", "--zk", "127.0.0.1:1", "--topology", "t", "--to", "earliest"}, "--spout is required"},
		{[]string{"offsets", "set", "--zk", "127.0.0.1:1", "--topology", "t", "--spout", "s", "--to", "yesterday"}, "--to: \"yesterday\": offsets target must be"},
		{[]string{"offsets", "set", "--zk", "127.0.0.1:1", "--topology", "t", "--spout", "s", "--to", "0=x"}, "\"0=x\" in \"0=x\""},
		{[]string{"offsets", "set", "--topology", "t", "--spout", "s", "--to", "earliest"}, "--zk is required"},
	} {
		_, err := runSquall(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("squall %s: %v, want an error with %q", strings.Join(c.args, " "), err, c.want)
		}
	}
}
