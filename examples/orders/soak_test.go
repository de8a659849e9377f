package orders

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/squall-stream/squall/actors"
	"github.com/squall-stream/squall/cluster"
	"github.com/squall-stream/squall/ingest"
	"github.com/squall-stream/squall/internal/testinfra"
	"github.com/squall-stream/squall/spouts/kafka"
	"github.com/squall-stream/squall/topology"
	"github.com/twmb/franz-go/pkg/kfake"
)

// soakRate is the order lines written per second during a soak.
const soakRate = 3000

// TestSoakPipeline runs the whole pipeline (order log with rename
// rotation, tail agent, Kafka, the analysis topology, Redis) for
// SQUALL_SOAK_DURATION (default 10m) while, every half minute or so, the
// agent or the topology is killed and restarted or Kafka is stopped for
// 5 s. At the end Redis must equal the truth, and the goroutines must not
// have piled up over the restarts (at most half again as many as after the
// first minute, plus 50). The heap is reported, not checked: the in-process
// broker keeps the whole topic in it. Run it with `make soak`.
func TestSoakPipeline(t *testing.T) {
	if os.Getenv("SQUALL_SOAK") == "" {
		t.Skip("a soak run: set SQUALL_SOAK=1 (make soak)")
	}
	duration := 10 * time.Minute
	if s := os.Getenv("SQUALL_SOAK_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("SQUALL_SOAK_DURATION=%q: %v", s, err)
		}
		duration = d
	}
	k := testinfra.StartKafka(t, kfake.SeedTopics(4, "orders"))
	zk := testinfra.StartZooKeeper(t)
	r := testinfra.StartRedis(t)
	rc := goredis.NewClient(&goredis.Options{Addr: r.Addr()})
	defer rc.Close()
	quiet := slog.New(slog.DiscardHandler)
	dir := t.TempDir()
	logPath := filepath.Join(dir, "orders.log")
	keys := Keys{Prefix: DefaultPrefix}

	// The order server: rotates its log by rename every 100k lines.
	truth := NewTruth()
	writeCtx, stopWriting := context.WithCancel(context.Background())
	written := make(chan error, 1)
	go func() {
		for seed := uint64(1); ; seed++ {
			f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
			if err != nil {
				written <- err
				return
			}
			n, err := WriteOrders(writeCtx, f, LogOptions{Count: 100_000, Rate: soakRate, Malformed: 0.01, Seed: seed, Truth: truth})
			f.Close()
			if err != nil || n < 100_000 {
				written <- err
				return
			}
			if err := os.Rename(logPath, fmt.Sprintf("%s.%d", logPath, seed)); err != nil {
				written <- err
				return
			}
		}
	}()

	startAgent := func() (*ingest.Agent, context.CancelFunc) {
		ctx, cancel := context.WithCancel(context.Background())
		a, err := ingest.Start(ctx, ingest.Config{
			Brokers: k.Brokers(), Positions: filepath.Join(dir, "positions.json"), Logger: quiet,
			Groups: []ingest.FileGroup{{Topic: "orders", Globs: []string{filepath.Join(dir, "orders.log*")}, KeyField: "orderId"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return a, cancel
	}
	conf := AnalysisConfig{
		Kafka: kafka.Config{
			Brokers: k.Brokers(), Topics: []string{"orders"}, Logger: quiet,
			Offsets: kafka.OffsetStorage{ZooKeeper: &cluster.ZKOptions{Servers: []string{zk.Addr()}, Logger: quiet}},
		},
		Redis: rc, Logger: quiet, WindowEvery: time.Second,
	}
	startTopology := func() (*actors.LocalTopology, context.CancelFunc) {
		topo, err := AnalysisTopology(conf)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		lt, err := actors.RunLocal(ctx, topo, topology.Config{Name: "orders", Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		return lt, cancel
	}
	agent, killAgent := startAgent()
	lt, killTopology := startTopology()

	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	}
	var warmHeap, peakHeap uint64
	var warmGoroutines int
	chaos := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0))
	end := time.Now().Add(duration)
	started := time.Now()
	for kills := 0; time.Now().Before(end); kills++ {
		time.Sleep(min(time.Until(end), time.Duration(20+chaos.IntN(20))*time.Second))
		if warmHeap == 0 && time.Since(started) > time.Minute {
			warmHeap, warmGoroutines = heap(), runtime.NumGoroutine()
		}
		switch chaos.IntN(3) {
		case 0:
			killAgent() // as a crash: nothing flushed, positions as last saved
			_ = agent.Wait()
			agent, killAgent = startAgent()
			t.Logf("%v: tail agent killed and restarted", time.Since(started).Round(time.Second))
		case 1:
			killTopology()
			<-lt.Done()
			lt, killTopology = startTopology()
			t.Logf("%v: topology killed and restarted", time.Since(started).Round(time.Second))
		case 2:
			k.Stop()
			time.Sleep(5 * time.Second)
			k.Start()
			t.Logf("%v: Kafka stopped for 5 s", time.Since(started).Round(time.Second))
		}
		peakHeap = max(peakHeap, heap())
	}
	stopWriting()
	if err := <-written; err != nil {
		t.Fatal(err)
	}
	var diffs []string
	waitFor(t, 5*time.Minute, "Redis to match the truth", func() bool {
		var err error
		if diffs, err = truth.Diff(context.Background(), rc, keys); err != nil {
			t.Fatal(err)
		}
		return len(diffs) == 0
	})
	finalHeap, finalGoroutines := heap(), runtime.NumGoroutine()
	t.Logf("soak %v: %d orders, %d malformed lines, Redis equals the truth; heap in use %d MB after the first minute, peak %d MB, at the end %d MB (the broker's topic included); goroutines %d after the first minute, %d at the end",
		duration, truth.Orders, truth.Malformed, warmHeap>>20, peakHeap>>20, finalHeap>>20, warmGoroutines, finalGoroutines)
	if warmGoroutines > 0 && finalGoroutines > warmGoroutines*3/2+50 {
		t.Fatalf("goroutines grew from %d to %d over the restarts", warmGoroutines, finalGoroutines)
	}
	killTopology()
	<-lt.Done()
	if err := agent.Stop(); err != nil {
		t.Fatal(err)
	}
	killAgent()
}
