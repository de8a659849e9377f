package topologytest

import (
	"errors"
	"slices"
	"testing"

	"github.com/squall-stream/squall/topology"
)

func TestBoltContextIsWhatATaskGets(t *testing.T) {
	fields := topology.NewFields("orderId", "province")
	var tc *topology.TopologyContext
	t.Run("driving", func(t *testing.T) {
		tc = BoltContext(t, BasicFunc(nil, nil), fields)
		in := tc.Inputs()
		if tc.ComponentID != BoltID || len(in) != 1 || in[0].Component != UpstreamID || !slices.Equal(in[0].Fields, fields) {
			t.Fatalf("component %q reads %+v, want %s reading %s's %v", tc.ComponentID, in, BoltID, UpstreamID, fields)
		}
		if err := tc.RequireInputFields("province", "city"); !errors.Is(err, topology.ErrUnknownField) {
			t.Fatalf("RequireInputFields of a field upstream lacks: %v", err)
		}
		def := topology.Config{}.Defaults()
		if tc.TopologyName != def.Name || tc.MessageTimeout != def.MessageTimeout || tc.RunID == "" || tc.Logger == nil {
			t.Fatalf("context %+v, want the default config's", tc)
		}
		select {
		case <-tc.Done():
			t.Fatal("Done closed while the test runs")
		default:
		}
	})
	select {
	case <-tc.Done():
	default:
		t.Fatal("Done still open after the test ended")
	}
}
