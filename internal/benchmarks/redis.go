package main

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/squall-stream/squall/actors"
	"github.com/squall-stream/squall/bolts/redis"
	"github.com/squall-stream/squall/internal/testinfra"
	"github.com/squall-stream/squall/topology"
)

// redisSuite measures the Redis writer against a plain go-redis pipeline
// loop sending the same HINCRBY commands to the same server, and the
// idempotent mode against the plain one. The server comes from testinfra:
// testing.Benchmark provides the testing.TB it needs, and a body that runs
// longer than a second is run once.
func redisSuite(d time.Duration) ([]result, error) {
	var rows []result
	var err error
	testing.Benchmark(func(b *testing.B) {
		r := testinfra.StartRedis(b)
		rc := goredis.NewClient(&goredis.Options{Addr: r.Addr()})
		defer rc.Close()
		base := pipelineLoop(d, rc)
		var plain, idem float64
		if plain, err = writerRate(d, rc, nil); err != nil {
			return
		}
		if idem, err = writerRate(d, rc, &redis.Idempotence{EventField: "id"}); err != nil {
			return
		}
		rows = []result{
			{name: "redis-pipeline-baseline", value: base, unit: "cmds/s"},
			{name: "redis-writer", value: plain, unit: "tuples/s", baseline: "redis-pipeline-baseline", target: 0.6},
			{name: "redis-writer-idempotent", value: idem, unit: "tuples/s", baseline: "redis-writer"},
		}
	})
	if err == nil && rows == nil {
		err = errors.New("redis benchmark did not run (is redis-server installed? run make deps)")
	}
	return rows, err
}

// pipelineLoop sends HINCRBY key-N field 1 in pipelines of 256, as fast as
// one goroutine can.
func pipelineLoop(d time.Duration, rc *goredis.Client) float64 {
	ctx := context.Background()
	var done atomic.Int64
	stop := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var i int64
		for {
			select {
			case <-stop:
				return
			default:
			}
			pipe := rc.Pipeline()
			for j := 0; j < 256; j++ {
				i++
				pipe.HIncrBy(ctx, "bench:base", keys[i%numKeys], 1)
			}
			if _, err := pipe.Exec(ctx); err == nil {
				done.Add(256)
			}
		}
	}()
	rate := measureRate(d, &done)
	close(stop)
	<-finished
	return rate
}

// writerRate runs spout → Redis writer (one HINCRBY per tuple) and returns
// acked tuples per second.
func writerRate(d time.Duration, rc *goredis.Client, idem *redis.Idempotence) (float64, error) {
	var acked atomic.Int64
	b := topology.NewBuilder()
	b.SetSpout("spout", func() topology.Spout { return &idSpout{genSpout: genSpout{acked: &acked}} }, 1)
	b.SetBolt("writer", redis.NewWriter(redis.WriterConfig{
		Client: rc, Idempotent: idem, Logger: slog.New(slog.DiscardHandler),
		Mapper: redis.HashIncrement{Key: redis.Key{Name: "bench:writer"}, FieldField: "key"},
	}), 2).ShuffleGrouping("spout")
	topo, err := b.Build()
	if err != nil {
		return 0, err
	}
	lt, err := actors.RunLocal(context.Background(), topo, topology.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return 0, err
	}
	defer lt.Shutdown()
	return measureRate(d, &acked), nil
}

// idSpout is genSpout with a string event id, for idempotent mode.
type idSpout struct{ genSpout }

func (s *idSpout) NextTuple() {
	s.id++
	_ = s.out.Emit(topology.Values{"E" + strconv.FormatInt(s.id, 10), keys[s.id%numKeys]}, s.id)
}
