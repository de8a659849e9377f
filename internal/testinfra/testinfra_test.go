package testinfra

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/go-zookeeper/zk"
	goredis "github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kfake"
)

func TestRedisServesAndRestarts(t *testing.T) {
	r := StartRedis(t)
	ctx := context.Background()
	c := goredis.NewClient(&goredis.Options{Addr: r.Addr(), MaxRetries: -1})
	defer c.Close()
	if err := c.Set(ctx, "k", "订单", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Get(ctx, "k").Result(); err != nil || v != "订单" {
		t.Fatalf("GET = %q, %v", v, err)
	}
	r.Stop()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("PING succeeded with the server stopped")
	}
	r.Start()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING after restart: %v", err)
	}
}

func TestZooKeeperServesAndKeepsDataAcrossRestart(t *testing.T) {
	z := StartZooKeeper(t)
	conn, _, err := zk.Connect([]string{z.Addr()}, 5*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Create("/squall", []byte("x"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	z.Stop()
	z.Start()
	deadline := time.Now().Add(20 * time.Second)
	for {
		data, _, err := conn.Get("/squall")
		if err == nil {
			if string(data) != "x" {
				t.Fatalf("data after restart: %q", data)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("znode not readable after restart: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestKafkaWithSaramaAndKcat(t *testing.T) {
	k := StartKafka(t, kfake.SeedTopics(3, "orders"))
	conf := sarama.NewConfig()
	conf.Producer.Return.Successes = true
	p, err := sarama.NewSyncProducer(k.Brokers(), conf)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: "orders", Partition: 0, Value: sarama.StringEncoder("first")}); err != nil {
		t.Fatal(err)
	}
	p.Close()

	// Down and back with its data.
	k.Stop()
	k.Start()
	if err := k.CreateTopic("refunds", 2); err != nil {
		t.Fatal(err)
	}
	c, err := sarama.NewConsumer(k.Brokers(), sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	parts, err := c.Partitions("refunds")
	if err != nil || len(parts) != 2 {
		t.Fatalf("refunds partitions %v, %v", parts, err)
	}
	found := false
	for _, part := range []int32{0, 1, 2} {
		pc, err := c.ConsumePartition("orders", part, sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-pc.Messages():
			found = found || string(m.Value) == "first"
		case <-time.After(500 * time.Millisecond):
		}
		pc.Close()
	}
	if !found {
		t.Fatal("the message produced before the restart is gone")
	}

	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatalf("kcat: %v; run `make deps`", err)
	}
	out, err := exec.Command(kcat, "-b", k.Brokers()[0], "-L").CombinedOutput()
	if err != nil || !strings.Contains(string(out), `topic "orders"`) {
		t.Fatalf("kcat -L: %v\n%s", err, out)
	}
}
