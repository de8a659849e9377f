package topology

import "testing"

func TestTupleAccessors(t *testing.T) {
	tp := NewTuple(Source{Component: "c", Stream: "s", Task: 3}, NewFields("s", "i", "f", "b"), Values{"x", 7, 1.5, true})
	if tp.StringByField("s") != "x" || tp.Int64ByField("i") != 7 || tp.Float64ByField("f") != 1.5 || !tp.BoolByField("b") {
		t.Fatalf("accessors: %v", tp)
	}
	if tp.ValueByField("missing") != nil || tp.Value(9) != nil || tp.StringByField("i") != "" {
		t.Fatal("missing fields must read as zero values")
	}
	if tp.Source() != (Source{Component: "c", Stream: "s", Task: 3}) || tp.SourceComponent() != "c" || tp.SourceStream() != "s" || tp.SourceTask() != 3 || tp.IsTick() {
		t.Fatalf("source: %+v", tp.Source())
	}
	if tp.Len() != 4 || tp.String() != "source: c:3, stream: s, values: [x 7 1.5 true]" {
		t.Fatalf("len %d, string %q", tp.Len(), tp.String())
	}
}
