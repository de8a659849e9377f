package kafka

import (
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"github.com/squall-stream/squall/topology"
)

// Record is a message read from Kafka, as a Mapping sees it. The spout
// hands every mapping call the same Record, set anew for each message: a
// mapping may keep the bytes of the key, value and headers, but not the
// Record or its Headers slice.
type Record struct {
	Topic     string
	Partition int32
	Offset    int64
	// Key and Value are nil when the message has none.
	Key, Value []byte
	// Headers are the message's headers, in the order they were produced.
	Headers []Header
	// Timestamp is the message's timestamp: when it was produced, or when
	// the broker appended it, as the topic is configured.
	Timestamp time.Time
}

// Header is one of a record's headers.
type Header struct {
	Key, Value []byte
}

// set makes r the record of msg, reusing r's headers slice.
func (r *Record) set(msg *sarama.ConsumerMessage) {
	headers := r.Headers[:0]
	for _, h := range msg.Headers {
		if h != nil {
			headers = append(headers, Header{Key: h.Key, Value: h.Value})
		}
	}
	*r = Record{Topic: msg.Topic, Partition: msg.Partition, Offset: msg.Offset, Key: msg.Key, Value: msg.Value, Headers: headers, Timestamp: msg.Timestamp}
}

// Mapping turns a record into a tuple.
type Mapping struct {
	// Fields are the tuple's field names.
	Fields []string
	// Map returns the tuple's values, one per field. An error (a value
	// that does not parse) fails the message: it is retried after backoff
	// and, after MaxRetries, dead-lettered with the error.
	Map func(r *Record) (topology.Values, error)
}

// Part is one or more fields taken from a record, for Parts.
type Part struct {
	fields []string
	take   func(r *Record, vs topology.Values) (topology.Values, error)
}

// Parts maps a record to the fields of the parts, in order.
func Parts(parts ...Part) Mapping {
	var fields []string
	for _, p := range parts {
		fields = append(fields, p.fields...)
	}
	return Mapping{Fields: fields, Map: func(r *Record) (topology.Values, error) {
		vs := make(topology.Values, 0, len(fields))
		var err error
		for _, p := range parts {
			if vs, err = p.take(r, vs); err != nil {
				return nil, err
			}
		}
		return vs, nil
	}}
}

func single(name string, get func(r *Record) any) Part {
	return Part{fields: []string{name}, take: func(r *Record, vs topology.Values) (topology.Values, error) {
		return append(vs, get(r)), nil
	}}
}

// FieldTopic is the record's topic, a string.
func FieldTopic(name string) Part { return single(name, func(r *Record) any { return r.Topic }) }

// FieldPartition is the record's partition, an int64.
func FieldPartition(name string) Part {
	return single(name, func(r *Record) any { return int64(r.Partition) })
}

// FieldOffset is the record's offset, an int64.
func FieldOffset(name string) Part { return single(name, func(r *Record) any { return r.Offset }) }

// FieldKey is the record's key, a []byte (empty when the record has none).
func FieldKey(name string) Part { return single(name, func(r *Record) any { return nonNil(r.Key) }) }

// FieldKeyString is the record's key, a string.
func FieldKeyString(name string) Part {
	return single(name, func(r *Record) any { return string(r.Key) })
}

// FieldValue is the record's value, a []byte.
func FieldValue(name string) Part {
	return single(name, func(r *Record) any { return nonNil(r.Value) })
}

// FieldValueString is the record's value, a string.
func FieldValueString(name string) Part {
	return single(name, func(r *Record) any { return string(r.Value) })
}

// FieldTimestamp is the record's timestamp, a time.Time.
func FieldTimestamp(name string) Part {
	return single(name, func(r *Record) any { return r.Timestamp })
}

// FieldHeader is the value of the record's last header with the given key, a
// []byte (empty when absent).
func FieldHeader(name, key string) Part {
	return single(name, func(r *Record) any {
		var v []byte
		for _, h := range r.Headers {
			if string(h.Key) == key {
				v = h.Value
			}
		}
		return nonNil(v)
	})
}

// FieldsParsed are the fields a user function makes of the record's value. An
// error fails the message (see Mapping.Map).
func FieldsParsed(fields []string, parse func(value []byte) (topology.Values, error)) Part {
	return Part{fields: fields, take: func(r *Record, vs topology.Values) (topology.Values, error) {
		got, err := parse(r.Value)
		if err != nil {
			return nil, err
		}
		if len(got) != len(fields) {
			return nil, fmt.Errorf("parse of %s/%d@%d gave %d values for fields %v", r.Topic, r.Partition, r.Offset, len(got), fields)
		}
		return append(vs, got...), nil
	}}
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// DefaultMapping emits the fields topic, partition, offset, key, value
// (key and value as []byte), as Storm's default record translator does, and
// timestamp.
var DefaultMapping = Parts(FieldTopic("topic"), FieldPartition("partition"), FieldOffset("offset"), FieldKey("key"), FieldValue("value"), FieldTimestamp("timestamp"))
