package proto

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	gproto "google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// point is a user type sent with a registered codec.
type point struct{ X, Y int32 }

func init() {
	if err := RegisterCodec("test.point",
		func(p point) ([]byte, error) { return fmt.Appendf(nil, "%d,%d", p.X, p.Y), nil },
		func(b []byte) (point, error) {
			var p point
			_, err := fmt.Sscanf(string(b), "%d,%d", &p.X, &p.Y)
			return p, err
		}); err != nil {
		panic(err)
	}
}

func roundTrip(t *testing.T, v any) any {
	t.Helper()
	if err := CheckValue(v); err != nil {
		t.Fatalf("CheckValue(%T): %v", v, err)
	}
	e, err := EncodeValue(v)
	if err != nil {
		t.Fatalf("EncodeValue(%T %v): %v", v, v, err)
	}
	wire, err := gproto.Marshal(e)
	if err != nil {
		t.Fatalf("marshal %T: %v", v, err)
	}
	var back Value
	if err := gproto.Unmarshal(wire, &back); err != nil {
		t.Fatal(err)
	}
	d, err := DecodeValue(&back)
	if err != nil {
		t.Fatalf("DecodeValue(%T): %v", v, err)
	}
	return d
}

func TestValuesRoundTrip(t *testing.T) {
	shanghai := time.FixedZone("CST", 8*3600)
	at := time.Date(2026, 11, 11, 20, 15, 7, 123456789, shanghai)
	cases := []struct {
		in, want any
	}{
		{nil, nil},
		{"", ""},
		{"华为 Mate 60 Pro 手机", "华为 Mate 60 Pro 手机"},
		{"\xff\xfe not utf-8", "\xff\xfe not utf-8"},
		{int64(math.MaxInt64), int64(math.MaxInt64)},
		{int64(math.MinInt64), int64(math.MinInt64)},
		{42, int64(42)},
		{3.25, 3.25},
		{math.Inf(1), math.Inf(1)},
		{math.Inf(-1), math.Inf(-1)},
		{true, true},
		{false, false},
		{[]byte{0, 1, 2}, []byte{0, 1, 2}},
		{[]byte{}, []byte{}},
		{[]byte(nil), []byte{}},
		{at, at.UTC()},
		{time.Time{}, time.Time{}.UTC()},
		{point{3, -4}, point{3, -4}},
	}
	for _, c := range cases {
		got := roundTrip(t, c.in)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%T %v round-tripped to %T %v, want %T %v", c.in, c.in, got, got, c.want, c.want)
		}
	}
	if got := roundTrip(t, math.NaN()).(float64); !math.IsNaN(got) {
		t.Errorf("NaN round-tripped to %v", got)
	}
	if got := roundTrip(t, at).(time.Time); !got.Equal(at) || got.Location() != time.UTC {
		t.Errorf("time %v round-tripped to %v", at, got)
	}
	msg := wrapperspb.String("订单")
	if got := roundTrip(t, msg); !gproto.Equal(got.(gproto.Message), msg) {
		t.Errorf("message round-tripped to %v", got)
	}
}

func TestUnsupportedValuesAreClearErrors(t *testing.T) {
	for _, v := range []any{make(chan int), struct{ A int }{1}, map[string]int{}, int32(1), []string{"a"}} {
		err := CheckValue(v)
		if !errors.Is(err, ErrUnsupportedType) {
			t.Fatalf("CheckValue(%T) = %v, want ErrUnsupportedType", v, err)
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("%T", v)) || !strings.Contains(err.Error(), "RegisterCodec") {
			t.Errorf("error %q should name %T and say how to fix it", err, v)
		}
		if _, err := EncodeValue(v); !errors.Is(err, ErrUnsupportedType) {
			t.Errorf("EncodeValue(%T) = %v", v, err)
		}
	}
}

func TestDecodeErrorsNameTheType(t *testing.T) {
	_, err := DecodeValue(&Value{Kind: &Value_CustomValue{CustomValue: &Custom{Codec: "nobody.registered"}}})
	if !errors.Is(err, ErrUnknownCodec) || !strings.Contains(err.Error(), "nobody.registered") {
		t.Errorf("unknown codec: %v", err)
	}
	e, _ := EncodeValue(wrapperspb.Int64(1))
	e.GetMessageValue().TypeUrl = "type.googleapis.com/shop.NotLinked"
	_, err = DecodeValue(e)
	if !errors.Is(err, ErrUnknownMessageType) || !strings.Contains(err.Error(), "shop.NotLinked") {
		t.Errorf("unknown message: %v", err)
	}
	if _, err := DecodeValue(&Value{}); !errors.Is(err, ErrEmptyValue) {
		t.Errorf("empty value: %v", err)
	}
	if _, err := DecodeValues([]*Value{{Kind: &Value_IntValue{IntValue: 1}}, {}}); err == nil || !strings.Contains(err.Error(), "value 1") {
		t.Errorf("DecodeValues should name the position: %v", err)
	}
}

func TestRegisterCodecRefusesDuplicates(t *testing.T) {
	enc := func(p point) ([]byte, error) { return nil, nil }
	dec := func([]byte) (point, error) { return point{}, nil }
	if err := RegisterCodec("test.point", enc, dec); !errors.Is(err, ErrDuplicateCodec) {
		t.Errorf("same name: %v", err)
	}
	if err := RegisterCodec("test.point2", enc, dec); !errors.Is(err, ErrDuplicateCodec) {
		t.Errorf("same type: %v", err)
	}
	if err := RegisterCodec("", enc, dec); err == nil {
		t.Error("empty name accepted")
	}
}

type concurrentType struct{ n int }

func TestRegisterWhileEncoding(t *testing.T) {
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 1000; j++ {
				if _, err := EncodeValue(point{1, 2}); err != nil {
					t.Error(err)
					return
				}
				_ = CheckValue(concurrentType{})
			}
		}()
	}
	err := RegisterCodec("test.concurrent",
		func(c concurrentType) ([]byte, error) { return []byte{byte(c.n)}, nil },
		func(b []byte) (concurrentType, error) { return concurrentType{int(b[0])}, nil })
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if got := roundTrip(t, concurrentType{7}); got != (concurrentType{7}) {
		t.Fatalf("got %v", got)
	}
}

func TestCheckValueDoesNotAllocate(t *testing.T) {
	vals := []any{"s", int64(1), 2.5, true, []byte("b"), time.Now(), nil}
	allocs := testing.AllocsPerRun(1000, func() {
		for _, v := range vals {
			_ = CheckValue(v)
		}
	})
	if allocs != 0 {
		t.Fatalf("CheckValue allocates %v times per run", allocs)
	}
}

func TestTupleBatchMarshalsWithMixedValues(t *testing.T) {
	vals, err := EncodeValues([]any{"O1", int64(3), 299.5, time.Unix(1700000000, 5).UTC(), nil, point{1, 1}})
	if err != nil {
		t.Fatal(err)
	}
	batch := &TupleBatch{Topology: "orders", DestTask: 4, SenderTask: 2, Seq: 9, Tuples: []*Tuple{{
		Stream: "default", SourceTask: 2, SourceComponent: "parse",
		Anchors: []*Anchor{{Root: math.MaxUint64, Edge: 12345}},
		Values:  vals,
	}}}
	wire, err := gproto.Marshal(batch)
	if err != nil {
		t.Fatal(err)
	}
	var back TupleBatch
	if err := gproto.Unmarshal(wire, &back); err != nil {
		t.Fatal(err)
	}
	if !gproto.Equal(batch, &back) {
		t.Fatalf("batch changed on the wire:\n%v\n%v", batch, &back)
	}
	got, err := DecodeValues(back.Tuples[0].Values)
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != "O1" || got[1] != int64(3) || got[5] != (point{1, 1}) {
		t.Fatalf("decoded %v", got)
	}
}

// FuzzValueRoundTrip feeds arbitrary bytes as a Value: decoding must fail
// cleanly or give a value that encodes again, stably.
func FuzzValueRoundTrip(f *testing.F) {
	for _, v := range []any{nil, "s", "订单", int64(-1), 1.5, true, []byte{1}, time.Unix(1, 2), wrapperspb.Bool(true), point{1, 2}} {
		e, err := EncodeValue(v)
		if err != nil {
			f.Fatal(err)
		}
		b, err := gproto.Marshal(e)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	det := gproto.MarshalOptions{Deterministic: true}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v Value
		if err := gproto.Unmarshal(data, &v); err != nil {
			return
		}
		x, err := DecodeValue(&v)
		if err != nil {
			return
		}
		e1, err := EncodeValue(x)
		if err != nil {
			t.Fatalf("decoded %T %v does not encode: %v", x, x, err)
		}
		x2, err := DecodeValue(e1)
		if err != nil {
			t.Fatalf("re-encoded value does not decode: %v", err)
		}
		e2, err := EncodeValue(x2)
		if err != nil {
			t.Fatal(err)
		}
		b1, err1 := det.Marshal(e1)
		b2, err2 := det.Marshal(e2)
		if err1 != nil || err2 != nil || !bytes.Equal(b1, b2) {
			t.Fatalf("not stable after one round trip: %v %v\n%x\n%x", err1, err2, b1, b2)
		}
	})
}

func BenchmarkEncodeDecodeOrderTuple(b *testing.B) {
	vals := []any{"O202611110001", int64(2), 6999.0, time.Now()}
	for i := 0; i < b.N; i++ {
		e, err := EncodeValues(vals)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := DecodeValues(e); err != nil {
			b.Fatal(err)
		}
	}
}
