package topologyinternal

import (
	"slices"
	"testing"
	"unsafe"
)

func TestTupleAnchors(t *testing.T) {
	o := &Origin{Component: "c", Fields: []string{"v"}}
	var tp Tuple
	if tp.Init(o, []any{1}, nil); tp.Anchors() != nil {
		t.Fatalf("untracked tuple has anchors %v", tp.Anchors())
	}
	one := []Anchor{{Root: 5, Edge: 6}}
	if tp.Init(o, []any{1}, one); !slices.Equal(tp.Anchors(), one) {
		t.Fatalf("single anchor: %v", tp.Anchors())
	}
	many := []Anchor{{Root: 1, Edge: 2}, {Root: 3, Edge: 4}}
	tp.Init(o, []any{1}, many)
	many[0].Root = 9 // Init copies
	if got := tp.Anchors(); !slices.Equal(got, []Anchor{{Root: 1, Edge: 2}, {Root: 3, Edge: 4}}) {
		t.Fatalf("several anchors: %v", got)
	}
	tp.AddEdge(3)
	tp.AddEdge(5)
	if tp.AckVal() != 3^5 {
		t.Fatalf("ackVal %d after edges 3 and 5", tp.AckVal())
	}
	tp.InitAnchored(o, []any{2}, 7, 8)
	if got := tp.Anchors(); !slices.Equal(got, []Anchor{{Root: 7, Edge: 8}}) || tp.AckVal() != 0 {
		t.Fatalf("re-initialised tuple keeps old anchors %v or ackVal %d", got, tp.AckVal())
	}
	// The runtime fills tuples by the million in slabs the collector scans.
	if size := unsafe.Sizeof(Tuple{}); size != 64 {
		t.Fatalf("a Tuple is %d bytes; keep it at 64", size)
	}
}
