package actors

import (
	"fmt"

	"github.com/squall-stream/squall/proto"
	"github.com/squall-stream/squall/topology"
)

// checkValues refuses values that could not cross to another node, so a
// topology that runs in one process also runs on a cluster.
func checkValues(values topology.Values, fields topology.Fields) error {
	for i, v := range values {
		if err := proto.CheckValue(v); err != nil {
			return fmt.Errorf("field %q: %w", fields[i], err)
		}
	}
	return nil
}
