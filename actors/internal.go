package actors

import (
	"github.com/squall-stream/squall/internal/topologyinternal"
	"github.com/squall-stream/squall/topology"
)

// What package topology shows only the runtime (see package
// topologyinternal).

// rep is a tuple as the runtime fills it and keeps its ack trees.
func rep(t *topology.Tuple) *topologyinternal.Tuple { return (*topologyinternal.Tuple)(t) }

var (
	// newSpout and newBolt make an instance of a component with its factory.
	newSpout = topologyinternal.NewSpout.(func(*topology.ComponentSpec) topology.Spout)
	newBolt  = topologyinternal.NewBolt.(func(*topology.ComponentSpec) topology.Bolt)
	// releasesInput reports whether a bolt keeps no input tuple once
	// Execute returns, so that its input batches can be reused.
	releasesInput = topologyinternal.ReleasesInput.(func(*topology.ComponentSpec) bool)
)
