package proto

import (
	"errors"
	"fmt"
	"math"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	gproto "google.golang.org/protobuf/proto"
)

// The fast path of the codec: AppendValue writes a Value's wire bytes
// straight into a buffer and ConsumeValue reads them back, without a Value
// object in between. Their bytes are a Value message exactly as
// EncodeValue and proto.Marshal would make it (field order aside), so a
// generated decoder reads them too. Messages and custom codecs take the
// general path inside.

// Field numbers of Value's oneof, as in squall.proto.
const (
	valueNull    protowire.Number = 1
	valueString  protowire.Number = 2
	valueInt     protowire.Number = 3
	valueDouble  protowire.Number = 4
	valueBool    protowire.Number = 5
	valueBytes   protowire.Number = 6
	valueTime    protowire.Number = 7
	valueMessage protowire.Number = 8
	valueCustom  protowire.Number = 9
)

// ErrBadWire means bytes that are not a Value.
var ErrBadWire = errors.New("malformed value on the wire")

// AppendValue appends the wire bytes of v as a Value message's content.
func AppendValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		b = protowire.AppendTag(b, valueNull, protowire.VarintType)
		return protowire.AppendVarint(b, 1), nil
	case string:
		b = protowire.AppendTag(b, valueString, protowire.BytesType)
		return protowire.AppendString(b, x), nil
	case int64:
		b = protowire.AppendTag(b, valueInt, protowire.VarintType)
		return protowire.AppendVarint(b, uint64(x)), nil
	case int:
		b = protowire.AppendTag(b, valueInt, protowire.VarintType)
		return protowire.AppendVarint(b, uint64(int64(x))), nil
	case float64:
		b = protowire.AppendTag(b, valueDouble, protowire.Fixed64Type)
		return protowire.AppendFixed64(b, math.Float64bits(x)), nil
	case bool:
		b = protowire.AppendTag(b, valueBool, protowire.VarintType)
		return protowire.AppendVarint(b, protowire.EncodeBool(x)), nil
	case []byte:
		b = protowire.AppendTag(b, valueBytes, protowire.BytesType)
		return protowire.AppendBytes(b, x), nil
	case time.Time:
		secs, nanos := x.Unix(), int64(x.Nanosecond())
		if secs < minTimestampSeconds || secs > maxTimestampSeconds {
			return b, &ValueError{Type: "time.Time", Err: fmt.Errorf("%v: %w", x, ErrTimeOutOfRange)}
		}
		var ts []byte
		if secs != 0 {
			ts = protowire.AppendTag(ts, 1, protowire.VarintType)
			ts = protowire.AppendVarint(ts, uint64(secs))
		}
		if nanos != 0 {
			ts = protowire.AppendTag(ts, 2, protowire.VarintType)
			ts = protowire.AppendVarint(ts, uint64(nanos))
		}
		b = protowire.AppendTag(b, valueTime, protowire.BytesType)
		return protowire.AppendBytes(b, ts), nil
	}
	e, err := EncodeValue(v)
	if err != nil {
		return b, err
	}
	return gproto.MarshalOptions{}.MarshalAppend(b, e)
}

// ConsumeValue reads a Value message's content written by AppendValue (or
// by proto.Marshal of a Value).
func ConsumeValue(b []byte) (any, error) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 {
		return nil, fmt.Errorf("%w: %v", ErrBadWire, protowire.ParseError(n))
	}
	rest := b[n:]
	var v any
	switch {
	case num == valueString && typ == protowire.BytesType:
		s, m := protowire.ConsumeBytes(rest)
		v, n = string(s), m
	case num == valueInt && typ == protowire.VarintType:
		x, m := protowire.ConsumeVarint(rest)
		v, n = int64(x), m
	case num == valueDouble && typ == protowire.Fixed64Type:
		x, m := protowire.ConsumeFixed64(rest)
		v, n = math.Float64frombits(x), m
	case num == valueBool && typ == protowire.VarintType:
		x, m := protowire.ConsumeVarint(rest)
		v, n = protowire.DecodeBool(x), m
	case num == valueBytes && typ == protowire.BytesType:
		x, m := protowire.ConsumeBytes(rest)
		v, n = append([]byte{}, x...), m
	case num == valueNull && typ == protowire.VarintType:
		_, m := protowire.ConsumeVarint(rest)
		v, n = nil, m
	default:
		// Times, messages, custom values, and anything written in another
		// order: the generated decoder.
		var msg Value
		if err := gproto.Unmarshal(b, &msg); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadWire, err)
		}
		return DecodeValue(&msg)
	}
	if n < 0 {
		return nil, fmt.Errorf("%w: %v", ErrBadWire, protowire.ParseError(n))
	}
	if len(rest) != n {
		// A second field in one Value: not what AppendValue writes.
		var msg Value
		if err := gproto.Unmarshal(b, &msg); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadWire, err)
		}
		return DecodeValue(&msg)
	}
	return v, nil
}
