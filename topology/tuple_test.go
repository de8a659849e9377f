package topology

import (
	"slices"
	"testing"
	"unsafe"
)

func TestTupleAccessors(t *testing.T) {
	tp := NewTuple(Source{Component: "c", Stream: "s", Task: 3}, NewFields("s", "i", "f", "b"), Values{"x", 7, 1.5, true}, nil)
	if tp.StringByField("s") != "x" || tp.Int64ByField("i") != 7 || tp.Float64ByField("f") != 1.5 || !tp.BoolByField("b") {
		t.Fatalf("accessors: %v", tp)
	}
	if tp.ValueByField("missing") != nil || tp.Value(9) != nil || tp.StringByField("i") != "" {
		t.Fatal("missing fields must read as zero values")
	}
	if tp.SourceComponent() != "c" || tp.SourceStream() != "s" || tp.SourceTask() != 3 || tp.IsTick() {
		t.Fatalf("source: %+v", tp.Source())
	}
}

func TestTupleAnchors(t *testing.T) {
	src, fields := Source{Component: "c"}, NewFields("v")
	if got := NewTuple(src, fields, Values{1}, nil).Anchors(); got != nil {
		t.Fatalf("untracked tuple has anchors %v", got)
	}
	one := []Anchor{{Root: 5, Edge: 6}}
	if got := NewTuple(src, fields, Values{1}, one).Anchors(); !slices.Equal(got, one) {
		t.Fatalf("single anchor: %v", got)
	}
	many := []Anchor{{Root: 1, Edge: 2}, {Root: 3, Edge: 4}}
	tp := NewTuple(src, fields, Values{1}, many)
	many[0].Root = 9 // Init copies
	if got := tp.Anchors(); !slices.Equal(got, []Anchor{{Root: 1, Edge: 2}, {Root: 3, Edge: 4}}) {
		t.Fatalf("several anchors: %v", got)
	}
	tp.InitAnchored(tp.origin, Values{2}, 7, 8)
	if got := tp.Anchors(); !slices.Equal(got, []Anchor{{Root: 7, Edge: 8}}) {
		t.Fatalf("re-initialised tuple keeps old anchors: %v", got)
	}
	// Runtimes fill tuples by the million in slabs the collector scans.
	if size := unsafe.Sizeof(Tuple{}); size != 64 {
		t.Fatalf("a Tuple is %d bytes; keep it at 64", size)
	}
}
