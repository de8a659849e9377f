package proto

import (
	"math"
	"reflect"
	"testing"
	"time"

	gproto "google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// TestAppendValueMatchesTheGeneratedCodec: the fast path and the generated
// code read each other's bytes.
func TestAppendValueMatchesTheGeneratedCodec(t *testing.T) {
	at := time.Date(2026, 11, 11, 20, 15, 7, 123456789, time.UTC)
	for _, v := range []any{nil, "", "华为 Mate 60", "\xff", int64(0), int64(-7), int64(math.MaxInt64), 12, 0.0, -2.5, math.Inf(1),
		true, false, []byte{}, []byte{1, 2}, at, time.Unix(0, 0).UTC(), time.Unix(5, 0).UTC(), wrapperspb.String("x"), point{1, 2}} {
		fast, err := AppendValue(nil, v)
		if err != nil {
			t.Fatalf("AppendValue(%T): %v", v, err)
		}
		var msg Value
		if err := gproto.Unmarshal(fast, &msg); err != nil {
			t.Fatalf("generated decoder cannot read AppendValue(%T %v): %v", v, v, err)
		}
		want, _ := EncodeValue(v)
		if !gproto.Equal(&msg, want) {
			t.Fatalf("AppendValue(%T %v) = %v, EncodeValue gives %v", v, v, &msg, want)
		}
		slow, _ := gproto.Marshal(want)
		for _, wire := range [][]byte{fast, slow} {
			got, err := ConsumeValue(wire)
			if err != nil {
				t.Fatalf("ConsumeValue(%T): %v", v, err)
			}
			exp, _ := DecodeValue(want)
			if m, ok := exp.(gproto.Message); ok {
				if !gproto.Equal(got.(gproto.Message), m) {
					t.Fatalf("message %v read back as %v", exp, got)
				}
				continue
			}
			if !reflect.DeepEqual(got, exp) {
				t.Fatalf("%T %v read back as %T %v, want %T %v", v, v, got, got, exp, exp)
			}
		}
	}
	if _, err := AppendValue(nil, make(chan int)); err == nil {
		t.Fatal("appended a channel")
	}
	if _, err := AppendValue(nil, time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)); err == nil {
		t.Fatal("appended a time past year 9999")
	}
	if _, err := ConsumeValue([]byte{0xff}); err == nil {
		t.Fatal("consumed garbage")
	}
}

func BenchmarkAppendConsumeOrderValues(b *testing.B) {
	vals := []any{"O202611110001", int64(2), 6999.0, "广东"}
	buf := make([]byte, 0, 256)
	for i := 0; i < b.N; i++ {
		buf = buf[:0]
		for _, v := range vals {
			buf, _ = AppendValue(buf, v)
			if _, err := ConsumeValue(buf); err != nil {
				b.Fatal(err)
			}
			buf = buf[:0]
		}
	}
}
