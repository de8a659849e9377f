package redis

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/squall-stream/squall/internal/testinfra"
	"github.com/squall-stream/squall/topology"
	"github.com/squall-stream/squall/topology/topologytest"
)

var orderFields = topology.NewFields("orderId", "userId", "province", "product", "amount", "qty", "at", "line")

func order(id, user, province, product string, amount float64, qty int64, at time.Time) *topology.Tuple {
	return topology.NewTuple(topology.Source{Component: "parse"}, orderFields,
		topology.Values{id, user, province, product, amount, qty, at, `{"orderId":"` + id + `"}`})
}

// prepared returns a bolt prepared, as the task of a topology in which it
// reads orderFields, with a recording collector.
func prepared(t *testing.T, factory func() topology.Bolt) (topology.Bolt, *topologytest.Collector) {
	t.Helper()
	b := factory()
	c := &topologytest.Collector{}
	if err := b.Prepare(topologytest.BoltContext(t, factory, orderFields), c); err != nil {
		t.Fatal(err)
	}
	return b, c
}

// emitted returns the values c recorded, in emit order.
func emitted(c *topologytest.Collector) []topology.Values {
	var vs []topology.Values
	for _, e := range c.Emitted() {
		vs = append(vs, e.Values)
	}
	return vs
}

func client(t *testing.T, r *testinfra.Redis) *goredis.Client {
	c := goredis.NewClient(&goredis.Options{Addr: r.Addr()})
	t.Cleanup(func() { c.Close() })
	return c
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestMappersWriteWhatTheyClaim(t *testing.T) {
	r := testinfra.StartRedis(t)
	rc := client(t, r)
	ctx := context.Background()
	at := time.Date(2026, 11, 11, 20, 15, 7, 0, time.UTC)
	p := "t:"
	mapper := Mappers(
		HashIncrement{Key: Key{Prefix: p, Name: "gmv"}, FieldField: "province", AmountField: "amount"},
		HashIncrement{Key: Key{Prefix: p, Name: "qty"}, FieldField: "province", AmountField: "qty"},
		HashIncrement{Key: Key{Prefix: p, Name: "minute", TimeField: "at", Bucket: time.Minute}, Field: "orders", TTL: time.Hour},
		SortedSetIncrement{Key: Key{Prefix: p, Name: "top"}, MemberField: "product", ScoreField: "amount", KeepTop: 2},
		Store{Key: Key{Prefix: p, Name: "last", KeyField: "userId"}, ValueField: "orderId", TTL: time.Minute},
		Store{Key: Key{Prefix: p, Name: "orders"}, FieldField: "orderId", ValueField: "at"},
		ListPush{Key: Key{Prefix: p, Name: "recent"}, ValueField: "orderId", MaxLen: 2},
		StreamAdd{Key: Key{Prefix: p, Name: "stream"}, Fields: []string{"orderId", "amount"}, MaxLen: 100},
		UniqueCount{Key: Key{Prefix: p, Name: "buyers", TimeField: "at", Bucket: 24 * time.Hour}, MemberField: "userId", TTL: 48 * time.Hour},
	)
	w, c := prepared(t, NewWriter(WriterConfig{Client: rc, Mapper: mapper, Logger: quiet()}))
	w.Execute(order("O1", "U1", "广东", "手机", 100.5, 2, at))
	w.Execute(order("O2", "U2", "广东", "电脑", 200, 1, at))
	w.Execute(order("O3", "U1", "北京", "耳机", 50, 3, at))
	w.(topology.Flusher).Flush()
	if len(c.Acked()) != 3 || len(c.Failed()) != 0 {
		t.Fatalf("acked %d failed %d: %v", len(c.Acked()), len(c.Failed()), c.Errors())
	}
	check := func(what string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	check("gmv 广东", rc.HGet(ctx, p+"gmv", "广东").Val(), "300.5")
	check("qty 北京", rc.HGet(ctx, p+"qty", "北京").Val(), "3")
	check("minute orders", rc.HGet(ctx, p+"minute:202611112015", "orders").Val(), "3")
	if ttl := rc.PTTL(ctx, p+"minute:202611112015").Val(); ttl <= 0 || ttl > time.Hour {
		t.Errorf("minute bucket TTL %v", ttl)
	}
	top := rc.ZRevRangeWithScores(ctx, p+"top", 0, -1).Val()
	if len(top) != 2 || top[0].Member != "电脑" || top[1].Member != "手机" {
		t.Errorf("top-2 = %v", top)
	}
	check("last order of U1", rc.Get(ctx, p+"last:U1").Val(), "O3")
	check("order time", rc.HGet(ctx, p+"orders", "O2").Val(), "2026-11-11T20:15:07Z")
	if l := rc.LRange(ctx, p+"recent", 0, -1).Val(); len(l) != 2 || l[0] != "O3" {
		t.Errorf("recent = %v", l)
	}
	if n := rc.XLen(ctx, p+"stream").Val(); n != 3 {
		t.Errorf("stream length %d", n)
	}
	check("unique buyers", rc.PFCount(ctx, p+"buyers:20261111").Val(), int64(2))
}

func TestWrongTypeFailsTheTupleNamingTheKey(t *testing.T) {
	r := testinfra.StartRedis(t)
	rc := client(t, r)
	rc.Set(context.Background(), "t:gmv", "a string", 0)
	for _, idem := range []*Idempotence{nil, {EventField: "orderId"}} {
		w, c := prepared(t, NewWriter(WriterConfig{Client: rc, Logger: quiet(), Idempotent: idem,
			Mapper: HashIncrement{Key: Key{Prefix: "t:", Name: "gmv"}, FieldField: "province", AmountField: "amount"}}))
		w.Execute(order("O1", "U1", "广东", "手机", 1, 1, time.Now()))
		w.(topology.Flusher).Flush()
		if len(c.Failed()) != 1 || len(c.Acked()) != 0 {
			t.Fatalf("idempotent %v: acked %d failed %d", idem != nil, len(c.Acked()), len(c.Failed()))
		}
	}
	// The error that is logged names the key and the problem.
	err := tupleError([]string{"t:gmv"}, errors.New("WRONGTYPE Operation against a key holding the wrong kind of value"))
	if !strings.Contains(err.Error(), "t:gmv") || !strings.Contains(err.Error(), "WRONGTYPE") {
		t.Fatal(err)
	}
	// Nothing was applied or remembered by the idempotent attempt.
	if n := rc.Exists(context.Background(), "squall:applied:O1").Val(); n != 0 {
		t.Fatal("the failed idempotent write marked its event as applied")
	}
}

// One script call carries a chunk of tuples: each is applied once, a
// repeated event id is skipped, and a tuple on a wrong-type key fails alone
// with nothing of it applied.
func TestIdempotentChunkAppliesEachTupleOnItsOwn(t *testing.T) {
	r := testinfra.StartRedis(t)
	rc := client(t, r)
	ctx := context.Background()
	rc.Set(ctx, "t:gmv:bad", "a string", 0)
	w, c := prepared(t, NewWriter(WriterConfig{Client: rc, Logger: quiet(), Idempotent: &Idempotence{EventField: "orderId"},
		Mapper: Mappers(
			HashIncrement{Key: Key{Prefix: "t:", Name: "gmv", KeyField: "product"}, FieldField: "province", AmountField: "qty"},
			HashIncrement{Key: Key{Prefix: "t:", Name: "orders"}, Field: "n"},
		)}))
	now := time.Now()
	for i, o := range []*topology.Tuple{
		order("O1", "U1", "广东", "phone", 1, 2, now),
		order("O2", "U1", "广东", "phone", 1, 3, now),
		order("O3", "U1", "广东", "bad", 1, 5, now),   // t:gmv:bad is a string
		order("O1", "U1", "广东", "phone", 1, 2, now), // a replay in the same chunk
		order("O4", "U1", "北京", "phone", 1, 7, now),
	} {
		w.Execute(o)
		if i == 4 {
			w.(topology.Flusher).Flush()
		}
	}
	if len(c.Acked()) != 4 || len(c.Failed()) != 1 || c.Failed()[0].StringByField("orderId") != "O3" {
		t.Fatalf("acked %d, failed %v", len(c.Acked()), c.Failed())
	}
	got := rc.HGetAll(ctx, "t:gmv:phone").Val()
	if got["广东"] != "5" || got["北京"] != "7" {
		t.Fatalf("t:gmv:phone = %v, want 广东 5 (O1 once, O2) and 北京 7", got)
	}
	if n := rc.HGet(ctx, "t:orders", "n").Val(); n != "3" {
		t.Fatalf("t:orders n = %s, want 3 (O3 applied nothing)", n)
	}
}

func TestLookupAndFilter(t *testing.T) {
	r := testinfra.StartRedis(t)
	rc := client(t, r)
	ctx := context.Background()
	rc.HSet(ctx, "user:U1", "level", "gold", "city", "深圳")
	rc.Set(ctx, "name:U1", "小明", 0)
	rc.SAdd(ctx, "vip", "U1")

	l, c := prepared(t, NewLookup(LookupConfig{Client: rc, Key: Key{Name: "user", KeyField: "userId"},
		HashFields: []string{"level", "city"}, InputFields: []string{"orderId", "userId"}, Logger: quiet()}))
	l.Execute(order("O1", "U1", "广东", "手机", 1, 1, time.Now()))
	l.Execute(order("O2", "U9", "广东", "手机", 1, 1, time.Now()))
	l.(topology.Flusher).Flush()
	if got := emitted(c); len(got) != 2 || got[0][2] != "gold" || got[0][3] != "深圳" || got[1][2] != "" || len(c.Acked()) != 2 {
		t.Fatalf("lookup emitted %v, acked %d", got, len(c.Acked()))
	}
	g, c2 := prepared(t, NewLookup(LookupConfig{Client: rc, Key: Key{Name: "name", KeyField: "userId"}, InputFields: []string{"userId"}, Logger: quiet()}))
	g.Execute(order("O1", "U1", "广东", "手机", 1, 1, time.Now()))
	g.(topology.Flusher).Flush()
	if got := emitted(c2); len(got) != 1 || got[0][1] != "小明" {
		t.Fatalf("GET lookup emitted %v", got)
	}

	f, c3 := prepared(t, NewFilter(FilterConfig{Client: rc, Key: Key{Name: "vip"}, MemberField: "userId", Fields: orderFields, Logger: quiet()}))
	f.Execute(order("O1", "U1", "广东", "手机", 1, 1, time.Now()))
	f.Execute(order("O2", "U2", "广东", "手机", 1, 1, time.Now()))
	f.(topology.Flusher).Flush()
	if got := emitted(c3); len(got) != 1 || got[0][1] != "U1" || len(c3.Acked()) != 2 {
		t.Fatalf("filter emitted %v, acked %d", got, len(c3.Acked()))
	}

	// Redis down: lookups fail (and replay), nothing is emitted.
	r.Stop()
	l.Execute(order("O3", "U1", "广东", "手机", 1, 1, time.Now()))
	l.(topology.Flusher).Flush()
	if len(c.Failed()) != 1 || len(c.Emitted()) != 2 {
		t.Fatalf("with Redis down: failed %d, emitted %d", len(c.Failed()), len(c.Emitted()))
	}
}

// An incomplete config fails Build, naming the bolt, rather than every
// task's Prepare over and over.
func TestIncompleteConfigFailsBuild(t *testing.T) {
	rc := goredis.NewClient(&goredis.Options{})
	t.Cleanup(func() { rc.Close() })
	build := func(bolt func() topology.Bolt) error {
		b := topology.NewBuilder()
		b.SetSpout("spout", topologytest.Upstream(orderFields), 1)
		b.SetBolt("sink", bolt, 1).ShuffleGrouping("spout")
		_, err := b.Build()
		return err
	}
	for _, c := range []struct {
		name string
		bolt func() topology.Bolt
		want string // "" when the config is complete
		is   error
	}{
		{"writer", NewWriter(WriterConfig{Client: rc, Mapper: Mappers()}), "", nil},
		{"writer without client", NewWriter(WriterConfig{Mapper: Mappers()}), "no client", ErrNoClient},
		{"writer without mapper", NewWriter(WriterConfig{Client: rc}), "no mapper", ErrNoMapper},
		{"lookup", NewLookup(LookupConfig{Client: rc, Key: Key{Name: "user"}, HashFields: []string{"name"}}), "", nil},
		{"lookup without client", NewLookup(LookupConfig{Key: Key{Name: "user"}}), "no client", ErrNoClient},
		{"lookup with outputs for other hash fields", NewLookup(LookupConfig{Client: rc, Key: Key{Name: "user"},
			HashFields: []string{"name", "level"}, Output: []string{"name"}}), "1 output fields for 2 hash fields", nil},
		{"filter", NewFilter(FilterConfig{Client: rc, Key: Key{Name: "vip"}, Fields: orderFields}), "", nil},
		{"filter without client", NewFilter(FilterConfig{Key: Key{Name: "vip"}, Fields: orderFields}), "no client", ErrNoClient},
	} {
		err := build(c.bolt)
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		var v *topology.ValidationError
		if !errors.As(err, &v) || v.Component != "sink" || !strings.Contains(err.Error(), c.want) || (c.is != nil && !errors.Is(err, c.is)) {
			t.Errorf("%s: Build: %v, want an error against sink saying %q", c.name, err, c.want)
		}
	}
}
