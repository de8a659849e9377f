package cluster

import (
	"fmt"
	"sort"
	"sync"

	"github.com/squall-stream/squall/topology"
)

// Factory builds a registered topology for a submission's settings. Every
// node runs the same binary with the same registrations: Go has no jar to
// ship, so topologies are compiled in and started by name.
type Factory func(settings map[string]string) (*topology.Topology, topology.Config, error)

var (
	registryMu sync.RWMutex
	registry   = map[string]Factory{}
)

// Register makes a topology submittable by name. It panics on a duplicate
// name or one outside the name rule (topology.ValidateName), like
// http.Handle: either is a programming error.
func Register(name string, f Factory) {
	if err := topology.ValidateName(topology.TopologyName, name); err != nil {
		panic(fmt.Sprintf("cluster.Register: %v", err))
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[name]; dup {
		panic(fmt.Sprintf("cluster.Register: topology %q registered twice", name))
	}
	registry[name] = f
}

// Registered lists the registered topology names.
func Registered() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ErrNotRegistered means a topology name this binary does not know.
var ErrNotRegistered = fmt.Errorf("topology not registered in this binary")

// build makes a submitted topology with its parallelism overrides.
func build(rec *TopologyRecord) (*topology.Topology, topology.Config, error) {
	registryMu.RLock()
	f, ok := registry[rec.Name]
	registryMu.RUnlock()
	if !ok {
		return nil, topology.Config{}, fmt.Errorf("%q: %w (registered: %v)", rec.Name, ErrNotRegistered, Registered())
	}
	topo, conf, err := f(rec.Settings)
	if err != nil {
		return nil, conf, fmt.Errorf("build topology %q: %w", rec.Name, err)
	}
	if len(rec.Parallelism) > 0 {
		if topo, err = topo.WithParallelism(rec.Parallelism); err != nil {
			return nil, conf, fmt.Errorf("rebalance topology %q: %w", rec.Name, err)
		}
	}
	// Settings given at submit time (Storm's names, topology.*) override what
	// the topology's code chose, as Storm's -c does.
	if conf, err = conf.ApplySettings(rec.Settings); err != nil {
		return nil, conf, fmt.Errorf("topology %q: %w", rec.Name, err)
	}
	conf.Name = rec.Name
	conf.RunID = fmt.Sprintf("%s@%d", rec.Name, rec.Submitted.UnixNano())
	merged := make(map[string]string, len(conf.Settings)+len(rec.Settings))
	for k, v := range conf.Settings {
		merged[k] = v
	}
	for k, v := range rec.Settings {
		merged[k] = v
	}
	conf.Settings = merged
	return topo, conf, nil
}
