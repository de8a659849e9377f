package main

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/squall-stream/squall/actors"
	"github.com/squall-stream/squall/topology"
)

// The reference workload for the core runtime: a spout emits (id, key)
// tuples; bolt "a" (shuffle grouping) passes each on; bolt "b" (fields
// grouping on key) counts per key. The baseline does the same work with
// goroutines and channels of batches, the practical limit of Go here.

const numKeys = 1024

var keys = func() []string {
	k := make([]string, numKeys)
	for i := range k {
		k[i] = fmt.Sprintf("key-%d", i)
	}
	return k
}()

func topologySuite(d time.Duration) ([]result, error) {
	base := channelPipeline(d)
	perTuple := channelPerTuplePipeline(d)
	atLeastOnce := channelAtLeastOncePipeline(d)
	acked, err := squallPipeline(d, false)
	if err != nil {
		return nil, err
	}
	unacked, err := squallPipeline(d, true)
	if err != nil {
		return nil, err
	}
	perTree, err := heapPerPendingTree()
	if err != nil {
		return nil, err
	}
	// The target is against the channel pipeline that does the same work
	// as the acking topology, delivery tracking included; the others show
	// what tracking and batching cost a hand-written pipeline.
	return []result{
		{name: "channels-batched", value: base, unit: "tuples/s"},
		{name: "channels-per-tuple", value: perTuple, unit: "tuples/s"},
		{name: "channels-at-least-once", value: atLeastOnce, unit: "tuples/s"},
		{name: "topology-acking", value: acked, unit: "tuples/s", baseline: "channels-at-least-once", target: 0.5},
		{name: "acking-vs-batched-channels", value: acked, unit: "tuples/s", baseline: "channels-batched"},
		{name: "acking-vs-per-tuple-channels", value: acked, unit: "tuples/s", baseline: "channels-per-tuple"},
		{name: "topology-no-acking", value: unacked, unit: "tuples/s", baseline: "channels-batched"},
		{name: "acking-vs-no-acking", value: acked, unit: "tuples/s", baseline: "topology-no-acking", target: 0.6},
		{name: "heap-per-pending-tree", value: perTree, unit: "bytes"},
	}, nil
}

// channelPipeline: generator → stage a (round robin over 2 goroutines) →
// stage b (key hash over 2 goroutines, counting), batches of 256.
func channelPipeline(d time.Duration) float64 {
	type item struct {
		id  int64
		key string
	}
	const batch, width = 256, 2
	aIn := make([]chan []item, width)
	bIn := make([]chan []item, width)
	for i := range aIn {
		aIn[i] = make(chan []item, 8)
		bIn[i] = make(chan []item, 8)
	}
	var done atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	// stage b
	for i := 0; i < width; i++ {
		wg.Add(1)
		go func(in chan []item) {
			defer wg.Done()
			counts := make(map[string]int64)
			for b := range in {
				for _, it := range b {
					counts[it.key]++
				}
				done.Add(int64(len(b)))
			}
		}(bIn[i])
	}
	// stage a
	var aWG sync.WaitGroup
	for i := 0; i < width; i++ {
		aWG.Add(1)
		go func(in chan []item) {
			defer aWG.Done()
			out := make([][]item, width)
			for b := range in {
				for _, it := range b {
					j := fnv(it.key) % width
					out[j] = append(out[j], it)
					if len(out[j]) == batch {
						bIn[j] <- out[j]
						out[j] = make([]item, 0, batch)
					}
				}
			}
			for j, o := range out {
				if len(o) > 0 {
					bIn[j] <- o
				}
			}
		}(aIn[i])
	}
	go func() {
		var id int64
		next := 0
		for {
			b := make([]item, batch)
			for i := range b {
				id++
				b[i] = item{id: id, key: keys[id%numKeys]}
			}
			select {
			case aIn[next] <- b:
			case <-stop:
				closeAll(aIn)
				return
			}
			next = (next + 1) % width
		}
	}()
	rate := measureRate(d, &done)
	close(stop)
	aWG.Wait()
	closeAll(bIn)
	wg.Wait()
	return rate
}

// channelAtLeastOncePipeline is channelPipeline with the guarantee the
// acking topology gives, written by hand as a Go engineer would without
// squall: the generator keeps each item in flight (to send it again if it
// were lost) and at most maxPending of them, like MaxSpoutPending; stage b
// reports the ids it finished, a batch at a time, on a completion channel;
// the generator forgets an item when its id comes back. Batches a stage
// holds are flushed when its input runs dry, or the bound would stall them.
func channelAtLeastOncePipeline(d time.Duration) float64 {
	type item struct {
		id  int64
		key string
	}
	const batch, width, maxPending = 256, 2, 4096
	aIn := make([]chan []item, width)
	bIn := make([]chan []item, width)
	for i := range aIn {
		aIn[i] = make(chan []item, 8)
		bIn[i] = make(chan []item, 8)
	}
	completed := make(chan []int64, 2*width)
	var acked atomic.Int64
	var aWG, bWG sync.WaitGroup
	stop := make(chan struct{})
	for i := 0; i < width; i++ {
		bWG.Add(1)
		go func(in chan []item) {
			defer bWG.Done()
			counts := make(map[string]int64)
			for b := range in {
				ids := make([]int64, len(b))
				for j, it := range b {
					counts[it.key]++
					ids[j] = it.id
				}
				completed <- ids
			}
		}(bIn[i])
		aWG.Add(1)
		go func(in chan []item) {
			defer aWG.Done()
			out := make([][]item, width)
			flush := func() {
				for j, o := range out {
					if len(o) > 0 {
						bIn[j] <- o
						out[j] = make([]item, 0, batch)
					}
				}
			}
			for {
				var b []item
				var ok bool
				select {
				case b, ok = <-in:
				default:
					flush()
					b, ok = <-in
				}
				if !ok {
					flush()
					return
				}
				for _, it := range b {
					j := fnv(it.key) % width
					out[j] = append(out[j], it)
					if len(out[j]) == batch {
						bIn[j] <- out[j]
						out[j] = make([]item, 0, batch)
					}
				}
			}
		}(aIn[i])
	}
	go func() {
		pending := make(map[int64]item, maxPending)
		var id int64
		var next []item // built, not yet sent
		to := 0
		for {
			if next == nil && len(pending)+batch <= maxPending {
				next = make([]item, batch)
				for i := range next {
					id++
					next[i] = item{id: id, key: keys[id%numKeys]}
					pending[id] = next[i]
				}
			}
			var send chan []item
			if next != nil {
				send = aIn[to]
			}
			select {
			case send <- next:
				next, to = nil, (to+1)%width
			case ids := <-completed:
				for _, id := range ids {
					delete(pending, id)
				}
				acked.Add(int64(len(ids)))
			case <-stop:
				closeAll(aIn)
				return
			}
		}
	}()
	rate := measureRate(d, &acked)
	close(stop)
	drained := make(chan struct{})
	go func() {
		for range completed {
		}
		close(drained)
	}()
	aWG.Wait()
	closeAll(bIn)
	bWG.Wait()
	close(completed)
	<-drained
	return rate
}

// channelPipeline's shape with one channel send per tuple: how a
// goroutine-and-channel pipeline is usually written by hand.
func channelPerTuplePipeline(d time.Duration) float64 {
	type item struct {
		id  int64
		key string
	}
	const width = 2
	aIn := make([]chan item, width)
	bIn := make([]chan item, width)
	for i := range aIn {
		aIn[i] = make(chan item, 1024)
		bIn[i] = make(chan item, 1024)
	}
	var done atomic.Int64
	var wg, aWG sync.WaitGroup
	stop := make(chan struct{})
	for i := 0; i < width; i++ {
		wg.Add(1)
		go func(in chan item) {
			defer wg.Done()
			counts := make(map[string]int64)
			for it := range in {
				counts[it.key]++
				done.Add(1)
			}
		}(bIn[i])
		aWG.Add(1)
		go func(in chan item) {
			defer aWG.Done()
			for it := range in {
				bIn[fnv(it.key)%width] <- it
			}
		}(aIn[i])
	}
	go func() {
		var id int64
		for {
			id++
			select {
			case aIn[id%width] <- item{id: id, key: keys[id%numKeys]}:
			case <-stop:
				closeAll(aIn)
				return
			}
		}
	}()
	rate := measureRate(d, &done)
	close(stop)
	aWG.Wait()
	closeAll(bIn)
	wg.Wait()
	return rate
}

// measureRate warms up for d/5, then returns how fast count grew over d.
func measureRate(d time.Duration, count *atomic.Int64) float64 {
	time.Sleep(d / 5)
	start, n0 := time.Now(), count.Load()
	time.Sleep(d)
	return float64(count.Load()-n0) / time.Since(start).Seconds()
}

func closeAll[T any](chans []chan T) {
	for _, c := range chans {
		close(c)
	}
}

func fnv(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// genSpout emits (id, key) with the id as message id.
type genSpout struct {
	out   topology.SpoutOutputCollector
	id    int64
	acked *atomic.Int64
}

func (s *genSpout) DeclareOutputFields(d *topology.OutputDeclarer) {
	d.Declare(topology.NewFields("id", "key"))
}
func (s *genSpout) Open(_ *topology.TopologyContext, out topology.SpoutOutputCollector) error {
	s.out = out
	return nil
}
func (s *genSpout) NextTuple() {
	s.id++
	_ = s.out.Emit(topology.Values{s.id, keys[s.id%numKeys]}, s.id)
}
func (s *genSpout) Ack(any)      { s.acked.Add(1) }
func (s *genSpout) Fail(any)     {}
func (s *genSpout) Close() error { return nil }

type passBolt struct{}

func (passBolt) DeclareOutputFields(d *topology.OutputDeclarer) {
	d.Declare(topology.NewFields("id", "key"))
}
func (passBolt) Prepare(*topology.TopologyContext) error { return nil }
func (passBolt) Execute(t *topology.Tuple, out topology.BasicOutputCollector) error {
	return out.Emit(t.Values())
}
func (passBolt) Cleanup() error { return nil }

type countBolt struct {
	counts map[string]int64
	done   *atomic.Int64
}

func (*countBolt) DeclareOutputFields(*topology.OutputDeclarer) {}
func (b *countBolt) Prepare(*topology.TopologyContext) error {
	b.counts = make(map[string]int64)
	return nil
}
func (b *countBolt) Execute(t *topology.Tuple, _ topology.BasicOutputCollector) error {
	b.counts[t.StringByField("key")]++
	b.done.Add(1)
	return nil
}
func (*countBolt) Cleanup() error { return nil }

func squallPipeline(d time.Duration, noAcking bool) (float64, error) {
	var acked, counted atomic.Int64
	b := topology.NewBuilder()
	b.SetSpout("spout", func() topology.Spout { return &genSpout{acked: &acked} }, 1)
	b.SetBolt("a", topology.Basic(func() topology.BasicBolt { return passBolt{} }), 2).ShuffleGrouping("spout")
	b.SetBolt("b", topology.Basic(func() topology.BasicBolt { return &countBolt{done: &counted} }), 2).FieldsGrouping("a", "key")
	topo, err := b.Build()
	if err != nil {
		return 0, err
	}
	lt, err := actors.RunLocal(context.Background(), topo, topology.Config{
		DisableAcking: noAcking,
		Logger:        slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return 0, err
	}
	defer lt.Shutdown()
	done := &acked
	if noAcking {
		done = &counted
	}
	return measureRate(d, done), nil
}

// swallowBolt never acks, so every tree it gets stays pending.
type swallowBolt struct{}

func (swallowBolt) DeclareOutputFields(*topology.OutputDeclarer)                      {}
func (swallowBolt) Prepare(*topology.TopologyContext, topology.OutputCollector) error { return nil }
func (swallowBolt) Execute(*topology.Tuple)                                           {}
func (swallowBolt) Cleanup() error                                                    { return nil }

// heapPerPendingTree fills MaxSpoutPending with trees that never complete
// and divides the heap growth by their number: the spout task's pending
// entry (message id, start time, XOR) and the tuple held by the bolt.
func heapPerPendingTree() (float64, error) {
	const pending = 200000
	var acked atomic.Int64
	b := topology.NewBuilder()
	b.SetSpout("spout", func() topology.Spout { return &genSpout{acked: &acked} }, 1)
	b.SetBolt("swallow", func() topology.Bolt { return swallowBolt{} }, 1).ShuffleGrouping("spout")
	topo, err := b.Build()
	if err != nil {
		return 0, err
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	lt, err := actors.RunLocal(context.Background(), topo, topology.Config{
		MaxSpoutPending: pending,
		MessageTimeout:  time.Hour,
		Logger:          slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return 0, err
	}
	defer lt.Shutdown()
	deadline := time.Now().Add(time.Minute)
	for {
		m, _ := lt.Component("spout")
		q, _ := lt.Component("swallow")
		if m.Pending == pending && q.QueueDepth == 0 {
			break
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("pending trees stuck at %d of %d", m.Pending, pending)
		}
		time.Sleep(10 * time.Millisecond)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	return float64(after.HeapAlloc-before.HeapAlloc) / pending, nil
}
