package proto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	gproto "google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// point is a user type sent with a registered codec. Its codec is strict
// (exactly 8 bytes), so a decoded point re-encodes to the same bytes.
type point struct{ X, Y int32 }

func encodePoint(p point) ([]byte, error) {
	b := binary.BigEndian.AppendUint32(nil, uint32(p.X))
	return binary.BigEndian.AppendUint32(b, uint32(p.Y)), nil
}

func decodePoint(b []byte) (point, error) {
	if len(b) != 8 {
		return point{}, fmt.Errorf("point needs 8 bytes, got %d", len(b))
	}
	return point{int32(binary.BigEndian.Uint32(b)), int32(binary.BigEndian.Uint32(b[4:]))}, nil
}

// fragile has a codec that panics, as a buggy user codec would.
type fragile struct{ n int }

func init() {
	if err := RegisterCodec("test.point", encodePoint, decodePoint); err != nil {
		panic(err)
	}
	if err := RegisterCodec("test.fragile",
		func(f fragile) ([]byte, error) { return []byte{byte(100 / f.n)}, nil },
		func(b []byte) (fragile, error) { return fragile{int(b[0])}, nil }); err != nil {
		panic(err)
	}
}

// roundTrip checks v, encodes it, sends it through the wire format and
// decodes it, as a value crossing to another node.
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
		{int64(0), int64(0)},
		{int64(math.MaxInt64), int64(math.MaxInt64)},
		{int64(math.MinInt64), int64(math.MinInt64)},
		{42, int64(42)},
		{math.MinInt, int64(math.MinInt)},
		{3.25, 3.25},
		{math.Copysign(0, -1), math.Copysign(0, -1)},
		{math.SmallestNonzeroFloat64, math.SmallestNonzeroFloat64},
		{math.MaxFloat64, math.MaxFloat64},
		{math.Inf(1), math.Inf(1)},
		{math.Inf(-1), math.Inf(-1)},
		{true, true},
		{false, false},
		{[]byte{0, 1, 2}, []byte{0, 1, 2}},
		{[]byte{}, []byte{}},
		{[]byte(nil), []byte{}},
		{at, at.UTC()},
		{time.Time{}, time.Time{}},
		{time.Unix(0, 1), time.Unix(0, 1).UTC()},
		{time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
		{point{3, -4}, point{3, -4}},
		{point{math.MinInt32, math.MaxInt32}, point{math.MinInt32, math.MaxInt32}},
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
	if got := roundTrip(t, math.Copysign(0, -1)).(float64); !math.Signbit(got) {
		t.Errorf("-0 lost its sign: %v", got)
	}
	got := roundTrip(t, at).(time.Time)
	if !got.Equal(at) || got.Location() != time.UTC || got.Nanosecond() != 123456789 {
		t.Errorf("time %v round-tripped to %v (location %v)", at, got, got.Location())
	}
	if got := roundTrip(t, time.Now()).(time.Time); got.Location() != time.UTC {
		t.Errorf("local time decoded in %v, want UTC", got.Location())
	}
	for _, msg := range []gproto.Message{wrapperspb.String("订单"), timestamppb.New(at), &Tuple{Stream: "s", Values: []*Value{{Kind: &Value_IntValue{IntValue: 1}}}}} {
		got := roundTrip(t, msg)
		if reflect.TypeOf(got) != reflect.TypeOf(msg) || !gproto.Equal(got.(gproto.Message), msg) {
			t.Errorf("message %T %v round-tripped to %T %v", msg, msg, got, got)
		}
	}
}

func TestUnsupportedValuesAreClearErrors(t *testing.T) {
	type price float64
	for _, v := range []any{make(chan int), struct{ A int }{1}, map[string]int{}, int32(1), uint64(1), float32(1), price(1), []string{"a"}, &point{}} {
		err := CheckValue(v)
		var ve *ValueError
		if !errors.Is(err, ErrUnsupportedType) || !errors.As(err, &ve) || ve.Type != fmt.Sprintf("%T", v) {
			t.Fatalf("CheckValue(%T) = %v, want a *ValueError wrapping ErrUnsupportedType", v, err)
		}
		want := fmt.Sprintf("value of type %T: unsupported type; register a codec with proto.RegisterCodec", v)
		if err.Error() != want {
			t.Errorf("error %q, want %q", err, want)
		}
		if _, err := EncodeValue(v); !errors.Is(err, ErrUnsupportedType) {
			t.Errorf("EncodeValue(%T) = %v", v, err)
		}
	}
	_, err := EncodeValues([]any{"ok", make(chan int)})
	if !errors.Is(err, ErrUnsupportedType) || !strings.HasPrefix(err.Error(), "value 1: value of type chan int") {
		t.Errorf("EncodeValues should name the position and type: %v", err)
	}
}

func TestTimesOutsideTimestampRangeAreRefused(t *testing.T) {
	for _, at := range []time.Time{
		time.Date(0, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Time{}.Add(-time.Nanosecond),
	} {
		if err := CheckValue(at); !errors.Is(err, ErrTimeOutOfRange) || !strings.Contains(err.Error(), "time.Time") {
			t.Errorf("CheckValue(%v) = %v, want ErrTimeOutOfRange", at, err)
		}
		if _, err := EncodeValue(at); !errors.Is(err, ErrTimeOutOfRange) {
			t.Errorf("EncodeValue(%v) = %v, want ErrTimeOutOfRange", at, err)
		}
	}
}

func TestDecodeErrorsNameTheType(t *testing.T) {
	_, err := DecodeValue(&Value{Kind: &Value_CustomValue{CustomValue: &Custom{Codec: "nobody.registered"}}})
	if !errors.Is(err, ErrUnknownCodec) || !strings.Contains(err.Error(), "nobody.registered") {
		t.Errorf("unknown codec: %v", err)
	}
	_, err = DecodeValue(&Value{Kind: &Value_CustomValue{CustomValue: &Custom{Codec: "test.point", Data: []byte{1}}}})
	if err == nil || !strings.Contains(err.Error(), `custom "test.point"`) || !strings.Contains(err.Error(), "8 bytes") {
		t.Errorf("codec error should name the codec and keep its cause: %v", err)
	}

	e, err := EncodeValue(wrapperspb.Int64(1))
	if err != nil {
		t.Fatal(err)
	}
	e.GetMessageValue().TypeUrl = "type.googleapis.com/shop.NotLinked"
	_, err = DecodeValue(e)
	if !errors.Is(err, ErrUnknownMessageType) || !strings.Contains(err.Error(), "type.googleapis.com/shop.NotLinked") {
		t.Errorf("unknown message: %v", err)
	}
	e, _ = EncodeValue(wrapperspb.String("x"))
	e.GetMessageValue().Value = []byte{0x0a, 0x05, 'x'} // length runs past the end
	if _, err := DecodeValue(e); err == nil || errors.Is(err, ErrUnknownMessageType) || !strings.Contains(err.Error(), "google.protobuf.StringValue") {
		t.Errorf("a linked message with bad bytes should be a decode error naming it, not ErrUnknownMessageType: %v", err)
	}

	for name, v := range map[string]*Value{
		"nil":          nil,
		"no kind":      {},
		"null false":   {Kind: &Value_Null{}},
		"nil time":     {Kind: &Value_TimeValue{}},
		"bad nanos":    {Kind: &Value_TimeValue{TimeValue: &timestamppb.Timestamp{Nanos: 1e9}}},
		"year 10000":   {Kind: &Value_TimeValue{TimeValue: &timestamppb.Timestamp{Seconds: maxTimestampSeconds + 1}}},
		"nil message":  {Kind: &Value_MessageValue{}},
		"nil custom":   {Kind: &Value_CustomValue{}},
		"custom panic": {Kind: &Value_CustomValue{CustomValue: &Custom{Codec: "test.fragile"}}},
	} {
		if x, err := DecodeValue(v); err == nil {
			t.Errorf("%s: decoded to %v, want an error", name, x)
		}
	}
	if _, err := DecodeValue(&Value{}); !errors.Is(err, ErrMalformedValue) {
		t.Errorf("empty value: %v", err)
	}
	if _, err := DecodeValues([]*Value{{Kind: &Value_IntValue{IntValue: 1}}, {}}); err == nil || !strings.Contains(err.Error(), "value 1") {
		t.Errorf("DecodeValues should name the position: %v", err)
	}
}

func TestCodecPanicsBecomeErrors(t *testing.T) {
	_, err := EncodeValue(fragile{0})
	if err == nil || !strings.Contains(err.Error(), `codec "test.fragile" panicked in encode`) {
		t.Errorf("encode panic: %v", err)
	}
	_, err = DecodeValue(&Value{Kind: &Value_CustomValue{CustomValue: &Custom{Codec: "test.fragile"}}})
	if err == nil || !strings.Contains(err.Error(), `codec "test.fragile" panicked in decode`) {
		t.Errorf("decode panic: %v", err)
	}
}

func TestRegisterCodecRefusesDuplicatesAndBuiltins(t *testing.T) {
	enc := func(p point) ([]byte, error) { return nil, nil }
	dec := func([]byte) (point, error) { return point{}, nil }
	if err := RegisterCodec("test.point", enc, dec); !errors.Is(err, ErrDuplicateCodec) || !strings.Contains(err.Error(), "test.point") {
		t.Errorf("same name: %v", err)
	}
	if err := RegisterCodec("test.point2", enc, dec); !errors.Is(err, ErrDuplicateCodec) || !strings.Contains(err.Error(), "proto.point") {
		t.Errorf("same type: %v", err)
	}
	if err := RegisterCodec("", enc, dec); err == nil || !strings.Contains(err.Error(), "empty codec name") {
		t.Errorf("empty name: %v", err)
	}
	if err := RegisterCodec[point]("test.nil", nil, dec); err == nil {
		t.Error("nil encode accepted")
	}
	refused := map[string]error{
		"string":  RegisterCodec("test.string", func(string) ([]byte, error) { return nil, nil }, func([]byte) (string, error) { return "", nil }),
		"time":    RegisterCodec("test.time", func(time.Time) ([]byte, error) { return nil, nil }, func([]byte) (time.Time, error) { return time.Time{}, nil }),
		"any":     RegisterCodec("test.any", func(any) ([]byte, error) { return nil, nil }, func([]byte) (any, error) { return nil, nil }),
		"message": RegisterCodec("test.msg", func(*wrapperspb.StringValue) ([]byte, error) { return nil, nil }, func([]byte) (*wrapperspb.StringValue, error) { return nil, nil }),
	}
	for what, err := range refused {
		if err == nil {
			t.Errorf("codec for %s accepted; it would never be used", what)
		}
	}
	if _, ok := registry.Load().byName["test.string"]; ok {
		t.Error("a refused codec was registered")
	}
}

type concurrentA struct{ n byte }
type concurrentB struct{ n byte }

func registerByte[T ~struct{ n byte }](t *testing.T, name string) {
	err := RegisterCodec(name,
		func(v T) ([]byte, error) { return []byte{struct{ n byte }(v).n}, nil },
		func(b []byte) (T, error) {
			if len(b) != 1 {
				return T{}, fmt.Errorf("want 1 byte, got %d", len(b))
			}
			return T{n: b[0]}, nil
		})
	if err != nil {
		t.Error(err)
	}
}

// TestRegisterWhileEncoding runs under -race: registration swaps the
// registry while other goroutines encode and decode with it.
func TestRegisterWhileEncoding(t *testing.T) {
	wire, err := EncodeValue(point{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 1000 {
				if _, err := EncodeValue(point{1, 2}); err != nil {
					t.Error(err)
					return
				}
				if _, err := DecodeValue(wire); err != nil {
					t.Error(err)
					return
				}
				_ = CheckValue(concurrentA{})
				_, _ = EncodeValue(concurrentB{})
			}
		})
	}
	wg.Go(func() { registerByte[concurrentA](t, "test.concurrentA") })
	wg.Go(func() { registerByte[concurrentB](t, "test.concurrentB") })
	wg.Wait()
	if got := roundTrip(t, concurrentA{7}); got != (concurrentA{7}) {
		t.Errorf("got %v", got)
	}
	if got := roundTrip(t, concurrentB{8}); got != (concurrentB{8}) {
		t.Errorf("got %v", got)
	}
}

func TestCheckValueDoesNotAllocate(t *testing.T) {
	vals := []any{"s", int64(1), 7, 2.5, true, []byte("b"), time.Now(), nil, wrapperspb.Bool(true), point{1, 2}}
	allocs := testing.AllocsPerRun(1000, func() {
		for _, v := range vals {
			if err := CheckValue(v); err != nil {
				t.Fatal(err)
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("CheckValue allocates %v times per run", allocs)
	}
}

func TestTupleBatchMarshalsWithMixedValues(t *testing.T) {
	at := time.Unix(1700000000, 5).UTC()
	in := []any{"O1", int64(3), 299.5, at, nil, true, []byte("raw"), point{1, 1}, wrapperspb.String("sku")}
	vals, err := EncodeValues(in)
	if err != nil {
		t.Fatal(err)
	}
	batch := &TupleBatch{Topology: "orders", DestTask: 4, SenderTask: 2, Tuples: []*Tuple{
		{
			Stream: "default", SourceTask: 2, SourceComponent: "parse",
			Anchors: []*Anchor{{Root: math.MaxUint64, Edge: 12345}, {Root: 1, Edge: 0}},
			Values:  vals,
		},
		{Stream: "late", SourceTask: 2, SourceComponent: "parse"},
	}}
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
	if len(got) != len(in) {
		t.Fatalf("decoded %d values, want %d", len(got), len(in))
	}
	for i := range in {
		if m, ok := in[i].(gproto.Message); ok {
			if !gproto.Equal(m, got[i].(gproto.Message)) {
				t.Errorf("value %d: %v, want %v", i, got[i], in[i])
			}
		} else if !reflect.DeepEqual(got[i], in[i]) {
			t.Errorf("value %d: %T %v, want %T %v", i, got[i], got[i], in[i], in[i])
		}
	}
}

// FuzzValueRoundTrip feeds arbitrary bytes as a Value: decoding must fail
// cleanly, or give a value that encodes back to an equal Value. Unknown
// fields are dropped on the way in, as a receiver would ignore them.
func FuzzValueRoundTrip(f *testing.F) {
	for _, v := range []any{
		nil, "", "s", "订单", "\xff", int64(-1), int64(math.MinInt64), 1.5, math.NaN(), math.Inf(-1), true, false,
		[]byte{}, []byte{1}, time.Time{}, time.Unix(1, 2), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		wrapperspb.Bool(true), timestamppb.New(time.Unix(3, 4)), &Value{Kind: &Value_IntValue{IntValue: 5}},
		point{1, 2}, point{},
	} {
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
	unmarshal := gproto.UnmarshalOptions{DiscardUnknown: true}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v Value
		if err := unmarshal.Unmarshal(data, &v); err != nil {
			return
		}
		x, err := DecodeValue(&v)
		if err != nil {
			return
		}
		if err := CheckValue(x); err != nil {
			t.Fatalf("decoded %T %v fails CheckValue: %v", x, x, err)
		}
		e, err := EncodeValue(x)
		if err != nil {
			t.Fatalf("decoded %T %v does not encode: %v", x, x, err)
		}
		if _, ok := v.Kind.(*Value_MessageValue); !ok {
			if !gproto.Equal(&v, e) {
				t.Fatalf("%T %v re-encoded differently:\n in %v\nout %v", x, x, &v, e)
			}
			return
		}
		// A message's type URL prefix and field order are not canonical on
		// the wire: compare the messages themselves.
		x2, err := DecodeValue(e)
		if err != nil {
			t.Fatalf("re-encoded message does not decode: %v", err)
		}
		if !gproto.Equal(x.(gproto.Message), x2.(gproto.Message)) {
			t.Fatalf("message changed on re-encoding:\n%v\n%v", x, x2)
		}
	})
}

// BenchmarkOrderTuple encodes and decodes a typical order tuple (id,
// quantity, amount, time), and marshals it inside a one-tuple batch.
func BenchmarkOrderTuple(b *testing.B) {
	vals := []any{"O202611110001", int64(2), 6999.0, time.Now()}
	b.Run("check", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, v := range vals {
				if err := CheckValue(v); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := EncodeValues(vals); err != nil {
				b.Fatal(err)
			}
		}
	})
	enc, err := EncodeValues(vals)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeValues(enc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode+marshal+unmarshal+decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			e, err := EncodeValues(vals)
			if err != nil {
				b.Fatal(err)
			}
			wire, err := gproto.Marshal(&TupleBatch{Tuples: []*Tuple{{Stream: "default", Values: e}}})
			if err != nil {
				b.Fatal(err)
			}
			var back TupleBatch
			if err := gproto.Unmarshal(wire, &back); err != nil {
				b.Fatal(err)
			}
			if _, err := DecodeValues(back.Tuples[0].Values); err != nil {
				b.Fatal(err)
			}
		}
	})
}
