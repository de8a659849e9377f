package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
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
	return []result{
		{name: "one-node-acking", value: local, unit: "tuples/s"},
		{name: "two-nodes-acking", value: remote, unit: "tuples/s", baseline: "one-node-acking"},
	}, nil
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
	var acked, counted atomic.Int64
	build := func() (*topology.Topology, error) {
		bl := topology.NewBuilder()
		bl.SetSpout("spout", func() topology.Spout { return &genSpout{acked: &acked} }, 1)
		bl.SetBolt("count", topology.Basic(func() topology.BasicBolt { return &countBolt{done: &counted} }), 1).ShuffleGrouping("spout")
		return bl.Build()
	}
	// Tasks: count 1, spout 2. Split: the spout and the acker on A, the
	// bolt on B, so every tuple crosses and every ack comes back.
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
		topo, err := build()
		if err != nil {
			return 0, err
		}
		if t == b && !split {
			continue
		}
		r, err := actors.RunOn(context.Background(), t.System, topo, conf, actors.Placement{Self: t.Addr, Tasks: where, Ackers: []string{a.Addr}})
		if err != nil {
			return 0, fmt.Errorf("run on %s: %w", t.Addr, err)
		}
		runs = append(runs, r)
	}
	return measureRate(d, &acked), nil
}
