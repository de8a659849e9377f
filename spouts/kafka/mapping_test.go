package kafka

import (
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// A mapping sees the message sarama read as a Record: every field, the
// headers in order (a nil one dropped), no key as an empty one; the spout
// sets the one Record it hands mappings anew for each message.
func TestMappingsReadTheRecord(t *testing.T) {
	at := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	var rec Record
	rec.set(&sarama.ConsumerMessage{
		Topic: "orders", Partition: 3, Offset: 42, Value: []byte(`{"id":1}`), Timestamp: at,
		Headers: []*sarama.RecordHeader{{Key: []byte("trace"), Value: []byte("a")}, nil, {Key: []byte("trace"), Value: []byte("b")}},
	})
	vs, err := DefaultMapping.Map(&rec)
	if err != nil {
		t.Fatal(err)
	}
	if key := vs[3].([]byte); vs[0] != "orders" || vs[1] != int64(3) || vs[2] != int64(42) || key == nil || len(key) != 0 ||
		string(vs[4].([]byte)) != `{"id":1}` || !vs[5].(time.Time).Equal(at) {
		t.Fatalf("default mapping: %v", vs)
	}
	vs, err = Parts(FieldHeader("trace", "trace"), FieldHeader("missing", "nope")).Map(&rec)
	if err != nil {
		t.Fatal(err)
	}
	if missing := vs[1].([]byte); string(vs[0].([]byte)) != "b" || missing == nil || len(missing) != 0 {
		t.Fatalf("headers: %q, want the last trace header and an empty value", vs)
	}
	if len(rec.Headers) != 2 {
		t.Fatalf("headers kept: %v, want the two that are not nil", rec.Headers)
	}
	// The next message, set into the same Record, keeps nothing of this one.
	rec.set(&sarama.ConsumerMessage{Topic: "orders", Partition: 1, Offset: 7, Key: []byte("k")})
	if rec.Offset != 7 || string(rec.Key) != "k" || rec.Value != nil || len(rec.Headers) != 0 || !rec.Timestamp.IsZero() {
		t.Fatalf("record set again: %+v", rec)
	}
}
