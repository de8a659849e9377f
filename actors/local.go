package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/squall-stream/squall/internal/refusal"
	"github.com/squall-stream/squall/topology"
)

// ErrStopped is returned by operations on a topology that has shut down.
var ErrStopped = errors.New("topology stopped")

// LocalTopology is a topology running in this process (Storm's LocalCluster
// with one topology submitted).
type LocalTopology struct {
	rt         *topologyRuntime
	supervisor *actor.PID
	spouts     []*actor.PID
	stopTimers chan struct{}
	timers     sync.WaitGroup
	done       chan struct{}
	once       sync.Once
	window     metricsWindow
	bolts      []*boltTask
	spoutTasks []*spoutTask
	ownSystem  bool // RunLocal's own actor system, shut down with the topology
}

// taskSpawn is one actor for the supervisor to spawn.
type taskSpawn struct {
	name  string
	props *actor.Props
	pid   **actor.PID
}

// supervisorActor is the parent of every task of a topology; its
// strategy restarts a crashed child with backoff.
type supervisorActor struct{}

func (supervisorActor) Receive(c actor.Context) {
	if m, ok := c.Message().(*spawnTasks); ok {
		for _, s := range m.specs {
			pid, err := c.SpawnNamed(s.props, s.name)
			if err != nil {
				m.reply <- fmt.Errorf("spawn %s: %w", s.name, err)
				return
			}
			*s.pid = pid
		}
		m.reply <- nil
	}
}

// RunLocal starts the topology in this process and returns once every task
// is spawned and the spouts are active. The topology runs until ctx is done,
// Kill or Shutdown is called; then every spout is closed and every bolt
// cleaned up.
func RunLocal(ctx context.Context, topo *topology.Topology, conf topology.Config) (*LocalTopology, error) {
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler) // squall logs crashes itself, with component and task
	}))
	l, err := start(ctx, system, topo, conf, Placement{}, true)
	if err != nil {
		system.Shutdown()
		return nil, err
	}
	return l, nil
}

// RunOn starts this node's share of a topology in an actor system with
// protoactor remote started at placement.Self; the other nodes run the rest
// with the same placement. Tuples, acks and credits to tasks on other nodes
// travel in their wire form (package proto). The returned handle's Activate,
// Deactivate, Kill and Metrics act on this node's tasks only.
func RunOn(ctx context.Context, system *actor.ActorSystem, topo *topology.Topology, conf topology.Config, placement Placement) (*LocalTopology, error) {
	if placement.Self == "" {
		return nil, errors.New("actors.RunOn: placement has no Self address")
	}
	return start(ctx, system, topo, conf, placement, false)
}

func start(ctx context.Context, system *actor.ActorSystem, topo *topology.Topology, conf topology.Config, placement Placement, ownSystem bool) (*LocalTopology, error) {
	if topo == nil {
		return nil, errors.New("actors: nil topology")
	}
	conf = conf.Defaults()
	// The name names the topology's actors, and its tasks' PIDs on other
	// nodes ("<name>/<component>-<task>").
	if err := topology.ValidateName(topology.TopologyName, conf.Name); err != nil {
		return nil, fmt.Errorf("start topology: %w", err)
	}
	if topo.NumTasks() > maxTasks {
		return nil, fmt.Errorf("start topology %q: %d tasks, more than the %d a tree's root id can name", conf.Name, topo.NumTasks(), maxTasks)
	}
	rt := newRuntime(system, topo, conf, placement)
	l := &LocalTopology{rt: rt, stopTimers: make(chan struct{}), done: make(chan struct{}), ownSystem: ownSystem}
	l.window.at = time.Now()

	// Backoff grows with each crash inside the window and starts over after
	// a quiet window.
	strategy := actor.NewExponentialBackoffStrategy(10*conf.RestartBackoff, conf.RestartBackoff)
	supervisor, err := system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return supervisorActor{} }, actor.WithSupervisor(strategy)), conf.Name)
	if err != nil {
		return nil, fmt.Errorf("start topology %q: %w", conf.Name, err)
	}
	l.supervisor = supervisor

	var specs []taskSpawn
	for _, c := range topo.Components() {
		for _, id := range topo.Tasks(c.ID) {
			if rt.remote[id] {
				continue
			}
			name := fmt.Sprintf("%s-%d", c.ID, id)
			var props *actor.Props
			if c.IsSpout() {
				t, err := newSpoutTask(rt, id, c)
				if err != nil {
					system.Root.Stop(supervisor)
					return nil, err
				}
				l.spoutTasks = append(l.spoutTasks, t)
				rt.tasks[id] = t.executor
				props = actor.PropsFromProducer(func() actor.Actor { return &spoutActor{t: t} }, actor.WithMailbox(t.mailboxProducer))
			} else {
				t, err := newBoltTask(rt, id, c)
				if err != nil {
					system.Root.Stop(supervisor)
					return nil, err
				}
				l.bolts = append(l.bolts, t)
				rt.tasks[id] = t.executor
				props = actor.PropsFromProducer(func() actor.Actor { return &boltActor{t: t} }, actor.WithMailbox(t.mailboxProducer))
			}
			specs = append(specs, taskSpawn{name: name, props: props, pid: &rt.pids[id]})
		}
	}
	reply := make(chan error, 1)
	system.Root.Send(l.supervisor, &spawnTasks{specs: specs, reply: reply})
	if err := <-reply; err != nil {
		l.Shutdown()
		return nil, err
	}
	for _, t := range l.spoutTasks {
		l.spouts = append(l.spouts, rt.pids[t.id])
	}
	l.startTimers()
	l.Activate()
	go func() {
		select {
		case <-ctx.Done():
			l.Shutdown()
		case <-l.done:
		}
	}()
	return l, nil
}

// newRuntime makes what the tasks of a topology share; conf has its
// defaults. The PIDs of tasks on other nodes are known before any local task
// is made: a task's outbox treats batches for other nodes apart.
func newRuntime(system *actor.ActorSystem, topo *topology.Topology, conf topology.Config, placement Placement) *topologyRuntime {
	n := topo.NumTasks() + 1
	rt := &topologyRuntime{
		conf:   conf,
		topo:   topo,
		system: system,
		log:    conf.Logger.With("topology", conf.Name),
		pids:   make([]*actor.PID, n),
		tasks:  make([]*executor, n),
		remote: make([]bool, n),
		pooled: make([]bool, n),
		cycles: findCycleEdges(topo),
		local:  func(task int) bool { return placement.isLocal(placement.taskAddr(task)) },
		peers:  make(map[string]bool),
	}
	rt.refusals = &refusal.Log{Logger: rt.log}
	for _, c := range topo.Components() {
		for _, id := range topo.Tasks(c.ID) {
			if addr := placement.taskAddr(id); !placement.isLocal(addr) {
				rt.pids[id], rt.remote[id] = pidOf(addr, conf.Name, fmt.Sprintf("%s-%d", c.ID, id)), true
				rt.peers[addr] = true
			}
			rt.pooled[id] = rt.remote[id] || releasesInput(c)
		}
	}
	return rt
}

// startTimers sends tick tuples at each bolt's frequency and sweeps for
// timed-out trees.
func (l *LocalTopology) startTimers() {
	rt := l.rt
	every := func(d time.Duration, pids func() []*actor.PID, msg any) {
		l.timers.Add(1)
		go func() {
			defer l.timers.Done()
			tk := time.NewTicker(d)
			defer tk.Stop()
			for {
				select {
				case <-tk.C:
					for _, p := range pids() {
						rt.send(p, msg)
					}
				case <-l.stopTimers:
					return
				}
			}
		}()
	}
	ticks := make(map[time.Duration][]*actor.PID)
	for _, c := range rt.topo.Components() {
		freq := c.TickFrequency
		if freq == 0 {
			freq = rt.conf.TickFrequency
		}
		if c.IsSpout() || freq <= 0 {
			continue
		}
		for _, id := range rt.topo.Tasks(c.ID) {
			if !rt.remote[id] {
				ticks[freq] = append(ticks[freq], rt.pids[id])
			}
		}
	}
	for freq, pids := range ticks {
		every(freq, func() []*actor.PID { return pids }, tick{})
	}
	if !rt.conf.DisableAcking {
		// Sweeping a quarter of the timeout fails a tree at most 25% late.
		interval := min(rt.conf.MessageTimeout/4, time.Second)
		every(interval, func() []*actor.PID { return l.spouts }, sweep{})
	}
}

// Activate makes the spouts call NextTuple (again).
func (l *LocalTopology) Activate() {
	for _, p := range l.spouts {
		l.rt.send(p, activate{})
	}
}

// Deactivate stops the spouts' NextTuple calls; trees in flight still
// complete and are acked.
func (l *LocalTopology) Deactivate() {
	for _, p := range l.spouts {
		l.rt.send(p, deactivate{})
	}
}

// Kill deactivates the spouts, waits until no tree is pending or ctx is
// done, and shuts the topology down.
func (l *LocalTopology) Kill(ctx context.Context) error {
	select {
	case <-l.done:
		return ErrStopped
	default:
	}
	l.Deactivate()
	tk := time.NewTicker(10 * time.Millisecond)
	defer tk.Stop()
	var err error
wait:
	for l.pending() > 0 {
		select {
		case <-ctx.Done():
			err = fmt.Errorf("kill %s: %d trees still pending: %w", l.rt.conf.Name, l.pending(), ctx.Err())
			break wait
		case <-tk.C:
		}
	}
	l.Shutdown()
	return err
}

func (l *LocalTopology) pending() int64 {
	var n int64
	for _, t := range l.spoutTasks {
		n += t.counters.pending.Load()
	}
	return n
}

// Shutdown stops every task at once, closing spouts and cleaning up bolts.
// Trees in flight are not waited for; their spouts replay them from their
// source on the next run. It is safe to call more than once.
func (l *LocalTopology) Shutdown() {
	l.once.Do(func() {
		close(l.stopTimers)
		l.timers.Wait()
		if err := l.rt.system.Root.StopFuture(l.supervisor).Wait(); err != nil {
			l.rt.log.Warn("stopping the topology timed out", "err", err)
		}
		if l.ownSystem {
			l.rt.system.Shutdown()
		}
		close(l.done)
	})
}

// Done is closed when the topology has shut down.
func (l *LocalTopology) Done() <-chan struct{} { return l.done }

// Metrics returns per-component metrics, components in id order. Capacity is
// measured over windows of at least CapacityWindow.
func (l *LocalTopology) Metrics() []ComponentMetrics {
	now := time.Now()
	var tasks []TaskMetrics
	busy := make(map[int]int64)
	add := func(e *executor) {
		c := &e.counters
		executed, completed := c.executed.Load(), c.completed.Load()
		m := TaskMetrics{
			Component:       e.comp.ID,
			Task:            e.id,
			Executed:        executed,
			Acked:           c.acked.Load(),
			Failed:          c.failed.Load(),
			ExecuteLatency:  meanDuration(c.busyNanos.Load(), executed),
			ProcessLatency:  meanDuration(c.processNanos.Load(), c.processed.Load()),
			CompleteLatency: meanDuration(c.completeNanos.Load(), completed),
			QueueDepth:      c.queued.Load(),
			Pending:         c.pending.Load(),
			Restarts:        c.restarts.Load(),
			Errors:          c.errors.Load(),
		}
		if last := c.lastError.Load(); last != nil {
			m.LastError, m.LastErrorAt = last.msg, last.at
		}
		for _, r := range e.streams {
			s := StreamMetrics{Stream: r.origin.Stream, Emitted: r.published.emitted.Load(), Transferred: r.published.transferred.Load()}
			m.Streams = append(m.Streams, s)
			m.Emitted += s.Emitted
			m.Transferred += s.Transferred
		}
		busy[e.id] = c.busyNanos.Load()
		tasks = append(tasks, m)
	}
	for _, t := range l.spoutTasks {
		add(t.executor)
	}
	for _, t := range l.bolts {
		add(t.executor)
	}
	caps := l.window.capacities(now, busy)
	byComp := make(map[string]*ComponentMetrics)
	var out []ComponentMetrics
	for _, c := range l.rt.topo.Components() {
		out = append(out, ComponentMetrics{Component: c.ID, Spout: c.IsSpout()})
	}
	for i := range out {
		byComp[out[i].Component] = &out[i]
	}
	for _, m := range tasks {
		m.Capacity = caps[m.Task]
		c := byComp[m.Component]
		if c.Spout {
			m.ExecuteLatency = 0
		}
		c.Tasks = append(c.Tasks, m)
	}
	for i := range out {
		out[i].TaskMetrics.Component = out[i].Component
		sumComponent(&out[i])
	}
	return out
}

// Component returns one component's metrics, or false.
func (l *LocalTopology) Component(id string) (ComponentMetrics, bool) {
	for _, c := range l.Metrics() {
		if c.Component == id {
			return c, true
		}
	}
	return ComponentMetrics{}, false
}
