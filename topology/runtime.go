package topology

import "github.com/squall-stream/squall/internal/topologyinternal"

// The runtime reaches what a ComponentSpec keeps from users through these
// hooks (see package topologyinternal).
func init() {
	topologyinternal.NewSpout = func(c *ComponentSpec) Spout { return c.spout() }
	topologyinternal.NewBolt = func(c *ComponentSpec) Bolt { return c.bolt() }
	topologyinternal.ReleasesInput = func(c *ComponentSpec) bool { return c.releasesInput }
}
