package topology

import "testing"

// What a runtime lends reaches the task typed; lending more leaves the
// Resources lent before as they were; two resources of one type and name
// are still two.
func TestResourcesLentReachTheTask(t *testing.T) {
	addr := NewResource[string]("address")
	other := NewResource[string]("address")
	tc := &TopologyContext{}
	if v, ok := addr.From(tc); ok || v != "" {
		t.Fatalf("a context lent nothing gave %q, %v", v, ok)
	}
	first := addr.Lend(Resources{}, "127.0.0.1:2181")
	tc.Resources = other.Lend(first, "127.0.0.2:2181")
	if v, ok := addr.From(tc); !ok || v != "127.0.0.1:2181" {
		t.Fatalf("addr: %q, %v", v, ok)
	}
	if v, ok := other.From(tc); !ok || v != "127.0.0.2:2181" {
		t.Fatalf("other: %q, %v", v, ok)
	}
	if _, ok := other.From(&TopologyContext{Resources: first}); ok {
		t.Fatal("lending other changed the Resources it was lent next to")
	}
	tc.Resources = addr.Lend(tc.Resources, "127.0.0.3:2181")
	if v, _ := addr.From(tc); v != "127.0.0.3:2181" {
		t.Fatalf("addr lent again: %q", v)
	}
}
