package orders

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/squall-stream/squall/bolts/redis"
	"github.com/squall-stream/squall/spouts/kafka"
	"github.com/squall-stream/squall/topology"
)

// The order stream's fields, as the parse bolt emits them. Amounts are in
// fen (分, int64) so that sums stay exact; minute is createdAt's minute
// (200601021504, UTC), the per-minute analysis's grouping key.
var orderFields = topology.NewFields("orderId", "userId", "productName", "category", "province", "payment", "amount", "createdAt", "minute")

// ErrorStream carries malformed lines: an id (a hash of the line, so that a
// line the tail agent shipped twice counts once), the line, and the error.
const ErrorStream = "errors"

var errorFields = topology.NewFields("errorId", "line", "error")

// AnalysisConfig says where the analysis topology reads and writes. Zero
// fields take the defaults given.
type AnalysisConfig struct {
	// Kafka is the spout's configuration: Brokers, Topics, Offsets and any
	// tuning. Its Mapping is the topology's own (the line as "line").
	Kafka kafka.Config
	// Redis receives the results. Required.
	Redis goredis.UniversalClient
	// Keys is the Redis layout. Default Keys{DefaultPrefix}.
	Keys Keys
	// SpoutTasks, ParseTasks and WriterTasks are the parallelism of the
	// spout, the parse bolt and each writer bolt. Defaults 1, 2, 2.
	SpoutTasks, ParseTasks, WriterTasks int
	// WindowEvery is how often the five-minute window is recomputed.
	// Default 1s.
	WindowEvery time.Duration
	// Logger receives the Redis bolts' errors. Default: each task's logger
	// (TopologyContext.Logger), which on a cluster node names the node too.
	Logger *slog.Logger
}

// AnalysisTopology is the reference order analysis: Kafka spout → parse
// and validate (malformed lines to ErrorStream) → one Redis writer bolt per
// analysis, each in idempotent mode keyed by order id, with the grouping
// that keeps a key on one task:
//
//	totals        orders and GMV                     shuffle
//	by-province   orders and GMV per province        fields(province)
//	by-category   orders and GMV per category        fields(category)
//	top-products  sales per product (sorted set)     fields(productName)
//	buyers        unique buyers per day (HLL)        fields(userId)
//	per-minute    orders and GMV per minute          fields(minute)
//	payments      orders per payment method          fields(payment)
//	errors        malformed count and recent lines   shuffle, on ErrorStream
//	window-5m     GMV and orders of the last 5 min   global, on ticks
//
// The Redis layout is Keys; the dashboard reads the same.
func AnalysisTopology(c AnalysisConfig) (*topology.Topology, error) {
	if c.Redis == nil {
		return nil, errors.New("orders: AnalysisConfig.Redis is required")
	}
	if c.Keys.Prefix == "" {
		c.Keys.Prefix = DefaultPrefix
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.SpoutTasks, 1)
	def(&c.ParseTasks, 2)
	def(&c.WriterTasks, 2)
	if c.WindowEvery <= 0 {
		c.WindowEvery = time.Second
	}
	kc := c.Kafka
	kc.Mapping = kafka.Parts(kafka.FieldValue("line"))
	spout, err := kafka.New(kc)
	if err != nil {
		return nil, err
	}
	p := c.Keys.Prefix
	writer := func(name string, event string, m ...redis.Mapper) func() topology.Bolt {
		return redis.NewWriter(redis.WriterConfig{
			Client: c.Redis, Mapper: redis.Mappers(m...), Logger: c.Logger,
			Idempotent: &redis.Idempotence{EventField: event, IDPrefix: p + "applied:" + name + ":", TTL: 7 * 24 * time.Hour},
		})
	}
	counts := func(name, field string) []redis.Mapper {
		return []redis.Mapper{
			redis.HashIncrement{Key: redis.Key{Prefix: p, Name: name + ":orders"}, FieldField: field},
			redis.HashIncrement{Key: redis.Key{Prefix: p, Name: name + ":gmv"}, FieldField: field, AmountField: "amount"},
		}
	}
	b := topology.NewBuilder()
	b.SetSpout("orders", spout, c.SpoutTasks)
	b.SetBolt("parse", topology.Basic(func() topology.BasicBolt { return OrderParseBolt{} }), c.ParseTasks).ShuffleGrouping("orders")
	b.SetBolt("totals", writer("totals", "orderId",
		redis.HashIncrement{Key: redis.Key{Prefix: p, Name: "totals"}, Field: "orders"},
		redis.HashIncrement{Key: redis.Key{Prefix: p, Name: "totals"}, Field: "gmv", AmountField: "amount"},
	), c.WriterTasks).ShuffleGrouping("parse")
	b.SetBolt("by-province", writer("province", "orderId", counts("province", "province")...), c.WriterTasks).FieldsGrouping("parse", "province")
	b.SetBolt("by-category", writer("category", "orderId", counts("category", "category")...), c.WriterTasks).FieldsGrouping("parse", "category")
	b.SetBolt("top-products", writer("products", "orderId",
		redis.SortedSetIncrement{Key: redis.Key{Prefix: p, Name: "top:products"}, MemberField: "productName", ScoreField: "amount"},
	), c.WriterTasks).FieldsGrouping("parse", "productName")
	b.SetBolt("buyers", writer("buyers", "orderId",
		redis.UniqueCount{Key: redis.Key{Prefix: p, Name: "buyers", TimeField: "createdAt", Bucket: 24 * time.Hour}, MemberField: "userId", TTL: 8 * 24 * time.Hour},
	), c.WriterTasks).FieldsGrouping("parse", "userId")
	b.SetBolt("per-minute", writer("minute", "orderId",
		redis.HashIncrement{Key: redis.Key{Prefix: p, Name: "minute", TimeField: "createdAt", Bucket: time.Minute}, Field: "orders", TTL: 48 * time.Hour},
		redis.HashIncrement{Key: redis.Key{Prefix: p, Name: "minute", TimeField: "createdAt", Bucket: time.Minute}, Field: "gmv", AmountField: "amount", TTL: 48 * time.Hour},
	), c.WriterTasks).FieldsGrouping("parse", "minute")
	b.SetBolt("payments", writer("payments", "orderId",
		redis.HashIncrement{Key: redis.Key{Prefix: p, Name: "payment:orders"}, FieldField: "payment"},
	), c.WriterTasks).FieldsGrouping("parse", "payment")
	b.SetBolt("errors", writer("errors", "errorId",
		redis.HashIncrement{Key: redis.Key{Prefix: p, Name: "errors"}, Field: "malformed"},
		redis.ListPush{Key: redis.Key{Prefix: p, Name: "errors:recent"}, ValueField: "line", MaxLen: 100},
	), 1).Grouping("parse", ErrorStream, topology.Grouping{Kind: topology.GroupingShuffle})
	b.SetBolt("window-5m", topology.Basic(func() topology.BasicBolt { return &WindowBolt{Redis: c.Redis, Keys: c.Keys} }), 1).
		GlobalGrouping("parse").TickFrequency(c.WindowEvery)
	return b.Build()
}

// OrderParseBolt parses and validates order lines from the Kafka spout.
// A malformed line goes to ErrorStream; it never fails the tuple (a replay
// would not parse better) and never crashes the task.
type OrderParseBolt struct{}

// DeclareOutputFields declares the order stream and ErrorStream.
func (OrderParseBolt) DeclareOutputFields(d *topology.OutputDeclarer) {
	d.Declare(orderFields)
	d.DeclareStream(ErrorStream, errorFields)
}

// Prepare does nothing.
func (OrderParseBolt) Prepare(*topology.TopologyContext) error { return nil }

// Execute parses one line.
func (OrderParseBolt) Execute(t *topology.Tuple, out topology.BasicOutputCollector) error {
	line := t.BytesByField("line")
	o, err := ParseOrder(line)
	if err != nil {
		h := fnv.New64a()
		h.Write(line)
		return out.EmitTo(ErrorStream, topology.Values{strconv.FormatUint(h.Sum64(), 16), string(line), err.Error()})
	}
	return out.Emit(topology.Values{o.OrderID, o.UserID, o.ProductName, o.Category, o.Province, o.Payment, Fen(o.Amount), o.CreatedAt, redis.BucketOf(o.CreatedAt, time.Minute)})
}

// Cleanup does nothing.
func (OrderParseBolt) Cleanup() error { return nil }

// Fen converts yuan to fen, rounding to the nearest.
func Fen(yuan float64) int64 { return int64(math.Round(yuan * 100)) }

// WindowBolt keeps the sliding five-minute window (Keys.Window5m): on each
// tick it sums the per-minute hashes of the five minutes up to the newest
// order time seen. Reading the minutes the idempotent writers keep makes
// the window exact under replays and restarts, with no state of its own to
// lose.
type WindowBolt struct {
	Redis  goredis.UniversalClient
	Keys   Keys
	latest time.Time
}

// DeclareOutputFields declares nothing: the window goes to Redis.
func (w *WindowBolt) DeclareOutputFields(*topology.OutputDeclarer) {}

// Prepare does nothing.
func (w *WindowBolt) Prepare(*topology.TopologyContext) error { return nil }

// Execute notes an order's time, or recomputes the window on a tick.
func (w *WindowBolt) Execute(t *topology.Tuple, _ topology.BasicOutputCollector) error {
	if !t.IsTick() {
		if at := t.TimeByField("createdAt"); at.After(w.latest) {
			w.latest = at
		}
		return nil
	}
	if w.latest.IsZero() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	end := w.latest.UTC().Truncate(time.Minute)
	pipe := w.Redis.Pipeline()
	cmds := make([]*goredis.SliceCmd, 5)
	for i := range cmds {
		cmds[i] = pipe.HMGet(ctx, w.Keys.Minute(end.Add(-time.Duration(i)*time.Minute)), "orders", "gmv")
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, goredis.Nil) {
		return fmt.Errorf("read the minutes of the 5-minute window: %w", err)
	}
	var orders, gmv int64
	for _, c := range cmds {
		vs := c.Val()
		orders += parseInt(vs[0])
		gmv += parseInt(vs[1])
	}
	err := w.Redis.HSet(ctx, w.Keys.Window5m(), "orders", orders, "gmv", gmv,
		"from", end.Add(-4*time.Minute).Format(time.RFC3339), "to", end.Add(time.Minute).Format(time.RFC3339)).Err()
	if err != nil {
		return fmt.Errorf("write the 5-minute window: %w", err)
	}
	return nil
}

// Cleanup does nothing.
func (w *WindowBolt) Cleanup() error { return nil }

func parseInt(v any) int64 {
	s, _ := v.(string)
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}
