package testinfra

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/go-zookeeper/zk"
	goredis "github.com/redis/go-redis/v9"
	"github.com/squall-stream/squall/internal/check"
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
	var data []byte
	check.For(t, 20*time.Second, func() error {
		data, _, err = conn.Get("/squall")
		return err
	})
	if string(data) != "x" {
		t.Fatalf("data after restart: %q", data)
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

// sarama's defaults (its Version included) work against kfake for a
// consumer group; the group needs nothing beyond Consumer.Offsets.Initial
// to read what was produced before it joined.
func TestKafkaSaramaConsumerGroup(t *testing.T) {
	k := StartKafka(t, kfake.SeedTopics(4, "orders"))
	const n = 200
	produce(t, k, "orders", n, sarama.NewConfig())

	conf := sarama.NewConfig()
	conf.Consumer.Offsets.Initial = sarama.OffsetOldest
	g, err := sarama.NewConsumerGroup(k.Brokers(), "readers", conf)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	h := &countingHandler{got: make(chan string, n)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			if err := g.Consume(ctx, []string{"orders"}, h); err != nil && ctx.Err() == nil {
				t.Errorf("consume: %v", err)
				return
			}
		}
	}()
	seen := map[string]bool{}
	timeout := time.After(30 * time.Second)
	for len(seen) < n {
		select {
		case v := <-h.got:
			seen[v] = true
		case <-timeout:
			t.Fatalf("consumer group got %d of %d messages", len(seen), n)
		}
	}
}

// An idempotent producer with acks=all keeps producing across a broker
// restart: kfake persists producer ids and sequences in its data dir.
func TestKafkaIdempotentProducerAcrossRestart(t *testing.T) {
	k := StartKafka(t, kfake.SeedTopics(1, "orders"))
	conf := sarama.NewConfig()
	conf.Producer.Return.Successes = true
	conf.Producer.RequiredAcks = sarama.WaitForAll
	conf.Producer.Idempotent = true
	conf.Net.MaxOpenRequests = 1
	conf.Producer.Retry.Max = 1000
	conf.Producer.Retry.Backoff = 100 * time.Millisecond
	p, err := sarama.NewSyncProducer(k.Brokers(), conf)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	send := func(v string) {
		t.Helper()
		if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: "orders", Value: sarama.StringEncoder(v)}); err != nil {
			t.Fatalf("send %s: %v", v, err)
		}
	}
	send("before")
	k.Stop()
	restarted := make(chan struct{})
	go func() {
		time.Sleep(time.Second) // the broker stays down while the send below retries
		k.Start()
		close(restarted)
	}()
	send("during")
	<-restarted
	send("after")

	c, err := sarama.NewConsumer(k.Brokers(), sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pc, err := c.ConsumePartition("orders", 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	var got []string
	for len(got) < 3 {
		select {
		case m := <-pc.Messages():
			got = append(got, string(m.Value))
		case <-time.After(10 * time.Second):
			t.Fatalf("got %v, want [before during after]", got)
		}
	}
	if strings.Join(got, ",") != "before,during,after" {
		t.Fatalf("got %v, want [before during after]", got)
	}
}

func produce(t *testing.T, k *Kafka, topic string, n int, conf *sarama.Config) {
	t.Helper()
	conf.Producer.Return.Successes = true
	p, err := sarama.NewSyncProducer(k.Brokers(), conf)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	msgs := make([]*sarama.ProducerMessage, n)
	for i := range msgs {
		msgs[i] = &sarama.ProducerMessage{Topic: topic, Value: sarama.StringEncoder(strconv.Itoa(i))}
	}
	if err := p.SendMessages(msgs); err != nil {
		t.Fatal(err)
	}
}

type countingHandler struct{ got chan string }

func (h *countingHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *countingHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h *countingHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for m := range c.Messages() {
		h.got <- string(m.Value)
		s.MarkMessage(m, "")
	}
	return nil
}
