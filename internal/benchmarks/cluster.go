package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/squall-stream/squall/actors"
	"github.com/squall-stream/squall/cluster"
	"github.com/squall-stream/squall/topology"
)

// clusterSuite measures the remote transport: spout → count bolt with every
// tuple crossing from one node to the other (two actor systems with
// protoactor remote on loopback, in this process), against the same
// topology in one node.
func clusterSuite(d time.Duration) ([]result, error) {
	local, err := crossNodes(d, false)
	if err != nil {
		return nil, err
	}
	remote, err := crossNodes(d, true)
	if err != nil {
		return nil, err
	}
	procs, err := crossProcesses(d)
	if err != nil {
		return nil, err
	}
	return []result{
		{name: "one-node-acking", value: local, unit: "tuples/s"},
		{name: "two-nodes-acking", value: remote, unit: "tuples/s", baseline: "one-node-acking"},
		{name: "two-processes-acking", value: procs, unit: "tuples/s", baseline: "one-node-acking"},
	}, nil
}

// benchNodeEnv makes this binary, started by crossProcesses, run the other
// node of the two-process benchmark.
const benchNodeEnv = "SQUALL_BENCH_NODE"

func crossTopology(acked *atomic.Int64) (*topology.Topology, error) {
	var counted atomic.Int64
	bl := topology.NewBuilder()
	bl.SetSpout("spout", func() topology.Spout { return &genSpout{acked: acked} }, 1)
	bl.SetBolt("count", topology.Basic(func() topology.BasicBolt { return &countBolt{done: &counted} }), 1).ShuffleGrouping("spout")
	return bl.Build()
}

// crossProcesses runs the spout here and the bolt in a child
// process (this binary again), so that every tuple and every ack crosses
// between two processes, and returns acked tuples/s.
func crossProcesses(d time.Duration) (float64, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	a, err := cluster.StartTransport(cluster.TransportOptions{Listen: "127.0.0.1:0"})
	if err != nil {
		return 0, err
	}
	defer a.Stop()
	child := exec.Command(self)
	child.Env = append(os.Environ(), benchNodeEnv+"="+a.Addr)
	child.Stderr = os.Stderr
	child.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := child.StdinPipe()
	if err != nil {
		return 0, err
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := child.Start(); err != nil {
		return 0, fmt.Errorf("start the second node: %w", err)
	}
	defer func() {
		stdin.Close() // the child stops when its stdin closes
		_ = child.Wait()
	}()
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return 0, fmt.Errorf("the second node did not start: %w", err)
	}
	var acked atomic.Int64
	topo, err := crossTopology(&acked)
	if err != nil {
		return 0, err
	}
	where := map[int]string{1: strings.TrimSpace(addr), 2: a.Addr}
	conf := topology.Config{Name: "bench", Logger: slog.New(slog.DiscardHandler)}
	r, err := actors.RunOn(context.Background(), a.System, topo, conf, actors.Placement{Self: a.Addr, Tasks: where})
	if err != nil {
		return 0, err
	}
	defer r.Shutdown()
	return measureRate(d, &acked), nil
}

// runBenchNode is the child of crossProcesses: it runs the bolt, prints
// its address, and stops when its stdin closes.
func runBenchNode(parent string) error {
	t, err := cluster.StartTransport(cluster.TransportOptions{Listen: "127.0.0.1:0"})
	if err != nil {
		return err
	}
	defer t.Stop()
	var acked atomic.Int64
	topo, err := crossTopology(&acked)
	if err != nil {
		return err
	}
	conf := topology.Config{Name: "bench", Logger: slog.New(slog.DiscardHandler)}
	r, err := actors.RunOn(context.Background(), t.System, topo, conf, actors.Placement{Self: t.Addr, Tasks: map[int]string{1: t.Addr, 2: parent}})
	if err != nil {
		return err
	}
	defer r.Shutdown()
	fmt.Println(t.Addr)
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}

func crossNodes(d time.Duration, split bool) (float64, error) {
	a, err := cluster.StartTransport(cluster.TransportOptions{Listen: "127.0.0.1:0"})
	if err != nil {
		return 0, err
	}
	defer a.Stop()
	b, err := cluster.StartTransport(cluster.TransportOptions{Listen: "127.0.0.1:0"})
	if err != nil {
		return 0, err
	}
	defer b.Stop()
	var acked atomic.Int64
	// Tasks: count 1, spout 2. Split: the spout on A, the bolt on B, so
	// every tuple crosses and every ack comes back.
	where := map[int]string{1: a.Addr, 2: a.Addr}
	if split {
		where[1] = b.Addr
	}
	conf := topology.Config{Name: "bench", Logger: slog.New(slog.DiscardHandler)}
	var runs []*actors.LocalTopology
	defer func() {
		for _, r := range runs {
			r.Shutdown()
		}
	}()
	for _, t := range []*cluster.Transport{b, a} {
		topo, err := crossTopology(&acked)
		if err != nil {
			return 0, err
		}
		if t == b && !split {
			continue
		}
		r, err := actors.RunOn(context.Background(), t.System, topo, conf, actors.Placement{Self: t.Addr, Tasks: where})
		if err != nil {
			return 0, fmt.Errorf("run on %s: %w", t.Addr, err)
		}
		runs = append(runs, r)
	}
	return measureRate(d, &acked), nil
}
