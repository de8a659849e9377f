package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/squall-stream/squall/actors"
	"github.com/squall-stream/squall/examples/orders"
	"github.com/squall-stream/squall/ingest"
	"github.com/squall-stream/squall/internal/testinfra"
	"github.com/squall-stream/squall/spouts/kafka"
	"github.com/squall-stream/squall/topology"
	"github.com/twmb/franz-go/pkg/kfake"
)

// pipelineSuite measures the order pipeline end to end, log file → tail
// agent → Kafka → analysis topology → Redis, against the topology alone
// reading the same orders from a filled topic; then the latency from a line
// written to its order counted in Redis, at half the end-to-end rate.
func pipelineSuite(d time.Duration) ([]result, error) {
	var rows []result
	var err error
	testing.Benchmark(func(b *testing.B) {
		k := testinfra.StartKafka(b, kfake.SeedTopics(4, "alone", "e2e", "latency"))
		r := testinfra.StartRedis(b)
		rc := goredis.NewClient(&goredis.Options{Addr: r.Addr()})
		defer rc.Close()
		n := int(100_000 * d.Seconds() / 5)
		dir := b.TempDir()

		// The topology alone: the orders are in Kafka before it starts.
		log := filepath.Join(dir, "alone", "orders.log")
		if err = writeOrders(log, n, 0, 1); err != nil {
			return
		}
		var shipped *ingest.Agent
		if shipped, err = startAgent(k.Brokers(), "alone", filepath.Dir(log)); err != nil {
			return
		}
		err = waitShipped(shipped, n)
		shipped.Stop()
		if err != nil {
			return
		}
		var alone, e2e float64
		if alone, err = pipelineRate(rc, k.Brokers(), "alone", "bench:alone:", dir, n, nil); err != nil {
			return
		}
		// End to end: the log is written before the start; the agent and
		// the topology run together.
		log = filepath.Join(dir, "e2e", "orders.log")
		if err = writeOrders(log, n, 0, 2); err != nil {
			return
		}
		if e2e, err = pipelineRate(rc, k.Brokers(), "e2e", "bench:e2e:", dir, n, []string{filepath.Dir(log)}); err != nil {
			return
		}
		var p50, p99 time.Duration
		if p50, p99, err = pipelineLatency(rc, k.Brokers(), dir, int(e2e/2), d); err != nil {
			return
		}
		half := fmt.Sprintf("@%.0f/s", e2e/2)
		rows = []result{
			{name: "pipeline-topology-alone", value: alone, unit: "orders/s"},
			{name: "pipeline-end-to-end", value: e2e, unit: "orders/s", baseline: "pipeline-topology-alone"},
			{name: "pipeline-latency-p50" + half, value: float64(p50.Microseconds()) / 1000, unit: "ms"},
			{name: "pipeline-latency-p99" + half, value: float64(p99.Microseconds()) / 1000, unit: "ms"},
		}
	})
	if err == nil && rows == nil {
		err = errors.New("pipeline benchmark did not run (is redis-server installed? run make deps)")
	}
	return rows, err
}

// writeOrders writes n valid order lines to path at rate (0: at once).
func writeOrders(path string, n, rate int, seed uint64) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = orders.WriteOrders(context.Background(), f, orders.LogOptions{Count: n, Rate: rate, Seed: seed})
	return err
}

func startAgent(brokers []string, topic, logs string) (*ingest.Agent, error) {
	return ingest.Start(context.Background(), ingest.Config{
		Brokers: brokers, Positions: filepath.Join(logs, "positions.json"), Logger: slog.New(slog.DiscardHandler),
		Groups: []ingest.FileGroup{{Topic: topic, Globs: []string{filepath.Join(logs, "*.log")}, KeyField: "orderId"}},
	})
}

func waitShipped(a *ingest.Agent, n int) error {
	deadline := time.Now().Add(5 * time.Minute)
	for a.Metrics().LinesAcked < int64(n) {
		if time.Now().After(deadline) {
			return fmt.Errorf("tail agent shipped %d of %d lines", a.Metrics().LinesAcked, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

func startAnalysis(rc *goredis.Client, brokers []string, topic, prefix, dir string) (*actors.LocalTopology, error) {
	quiet := slog.New(slog.DiscardHandler)
	topo, err := orders.AnalysisTopology(orders.AnalysisConfig{
		Kafka: kafka.Config{Brokers: brokers, Topics: []string{topic}, Logger: quiet,
			Offsets: kafka.OffsetStorage{File: filepath.Join(dir, topic+"-offsets.json")}},
		Redis: rc, Keys: orders.Keys{Prefix: prefix}, Logger: quiet,
	})
	if err != nil {
		return nil, err
	}
	return actors.RunLocal(context.Background(), topo, topology.Config{Name: "bench-" + topic, Logger: quiet})
}

// pipelineRate runs the analysis (and an agent following the logs dirs,
// when given) until Redis counts n orders, and returns orders/s.
func pipelineRate(rc *goredis.Client, brokers []string, topic, prefix, dir string, n int, logs []string) (float64, error) {
	start := time.Now()
	for _, l := range logs {
		a, err := startAgent(brokers, topic, l)
		if err != nil {
			return 0, err
		}
		defer a.Stop()
	}
	lt, err := startAnalysis(rc, brokers, topic, prefix, dir)
	if err != nil {
		return 0, err
	}
	defer lt.Shutdown()
	keys := orders.Keys{Prefix: prefix}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		got, _ := rc.HGet(context.Background(), keys.Totals(), "orders").Int64()
		if got >= int64(n) {
			return float64(n) / time.Since(start).Seconds(), nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%s: Redis counts %d of %d orders", topic, got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// pipelineLatency writes orders at rate for d while the agent and the
// analysis run, and measures for every 100th line the time from its write
// until Redis counts as many orders as had been written with it.
func pipelineLatency(rc *goredis.Client, brokers []string, dir string, rate int, d time.Duration) (p50, p99 time.Duration, err error) {
	logs := filepath.Join(dir, "latency")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return 0, 0, err
	}
	a, err := startAgent(brokers, "latency", logs)
	if err != nil {
		return 0, 0, err
	}
	defer a.Stop()
	lt, err := startAnalysis(rc, brokers, "latency", "bench:latency:", dir)
	if err != nil {
		return 0, 0, err
	}
	defer lt.Shutdown()

	f, err := os.Create(filepath.Join(logs, "orders.log"))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	keys := orders.Keys{Prefix: "bench:latency:"}
	// The agent finds the file at its next look, and the spout opens its
	// partitions on its own goroutine after the topology starts: orders
	// written before that wait, which is start-up, not latency. A tenth of
	// a second's worth goes through first.
	warm := max(rate/10, 100)
	if _, err := orders.WriteOrders(context.Background(), f, orders.LogOptions{Count: warm, Seed: 4}); err != nil {
		return 0, 0, err
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Millisecond) {
		if got, _ := rc.HGet(context.Background(), keys.Totals(), "orders").Int64(); got >= int64(warm) {
			break
		}
		if time.Now().After(deadline) {
			return 0, 0, fmt.Errorf("latency run: warm-up orders not counted in a minute")
		}
	}
	var mu sync.Mutex
	var written []time.Time // write time of line 100, 200, ...
	probe := &probeWriter{f: f, mark: func(lines int) {
		mu.Lock()
		for len(written) < lines/100 {
			written = append(written, time.Now())
		}
		mu.Unlock()
	}}
	n := int(float64(rate) * d.Seconds())
	werr := make(chan error, 1)
	go func() {
		_, err := orders.WriteOrders(context.Background(), probe, orders.LogOptions{Count: n, Rate: rate, Seed: 3})
		werr <- err
	}()
	var lat []time.Duration
	deadline := time.Now().Add(d + time.Minute)
	for len(lat) < n/100 && time.Now().Before(deadline) {
		got, _ := rc.HGet(context.Background(), keys.Totals(), "orders").Int64()
		got -= int64(warm)
		now := time.Now()
		mu.Lock()
		for len(lat) < len(written) && int64(len(lat)+1)*100 <= got {
			lat = append(lat, now.Sub(written[len(lat)]))
		}
		mu.Unlock()
		time.Sleep(time.Millisecond)
	}
	if err := <-werr; err != nil {
		return 0, 0, err
	}
	if len(lat) < n/100 || len(lat) == 0 {
		return 0, 0, fmt.Errorf("latency run: %d of %d probes arrived", len(lat), n/100)
	}
	slices.Sort(lat)
	return lat[len(lat)/2], lat[len(lat)*99/100], nil
}

// probeWriter counts the lines written through it and marks when each
// write has made them visible in the file.
type probeWriter struct {
	f     *os.File
	lines int
	mark  func(lines int)
}

func (p *probeWriter) Write(b []byte) (int, error) {
	n, err := p.f.Write(b)
	for _, c := range b[:n] {
		if c == '\n' {
			p.lines++
		}
	}
	p.mark(p.lines)
	return n, err
}
