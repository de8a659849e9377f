package orders

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/squall-stream/squall/actors"
	"github.com/squall-stream/squall/ingest"
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
	r := newPipelineRig(t, time.Second)
	logPath := filepath.Join(r.dir, "orders.log")

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
		return r.startAgent(ctx, "orders.log*"), cancel
	}
	startTopology := func() (*actors.LocalTopology, context.CancelFunc) {
		ctx, cancel := context.WithCancel(context.Background())
		return r.runAnalysis(ctx), cancel
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
			r.k.Stop()
			time.Sleep(5 * time.Second)
			r.k.Start()
			t.Logf("%v: Kafka stopped for 5 s", time.Since(started).Round(time.Second))
		}
		peakHeap = max(peakHeap, heap())
	}
	stopWriting()
	if err := <-written; err != nil {
		t.Fatal(err)
	}
	r.waitForTruth(truth, 5*time.Minute)
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
